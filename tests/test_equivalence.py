"""Equivalence with nbgrader: the corpus in ``tests/equivalence/course`` graded by plain
``nbgrader autograde`` and by our tool in compatible mode must give every cell the same score.

The corpus is an ordinary nbgrader course: nbgrader's documentation course ``ps1`` (students
``bitdiddle`` and ``hacker``), nbgrader's own autograde test notebooks (``nbg_*``) and
assignments written here for each pattern of issue 17 part 2 (``pat_*``, see
``tests/equivalence/build_corpus.py``) with a ``correct`` and a ``wrong`` submission. Two more
students are made here from the generated files: ``solution`` (the source notebooks as
submitted work) and ``blank`` (the release, unchanged).

Plain nbgrader runs once per session (module-scoped fixture) on one copy of the course; our tool
runs on another copy, then a second time (``force``) to check that regrading is stable. The
expected totals under plain nbgrader are asserted too, so the corpus itself is checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Bounded by each nbgrader command's subprocess timeout (COMMAND_TIMEOUT), the tools' per-cell
# timeouts, and conftest's HEAVY_TIMEOUT for grading+slow tests (which pay for the fixtures).
pytestmark = [pytest.mark.grading, pytest.mark.slow]

CORPUS = Path(__file__).resolve().parent / "equivalence" / "course"
BIN = Path(sys.executable).parent

# Per-cell timeout (seconds) for both tools: nbgrader's default, and a short one for the
# assignment whose point is a timeout (a 5 s sleep and an infinite loop).
TIMEOUT = 30
TIMEOUTS = {"nbg_timeout": 2}
# Bound on one plain-nbgrader command (the test has no pytest timeout of its own).
COMMAND_TIMEOUT = 900

ASSIGNMENTS = sorted(p.name for p in (CORPUS / "source").iterdir() if p.is_dir())
# Assignments that also get the `solution` and `blank` students (for nbgrader's test notebooks
# other than test-hidden-tests, the committed students already are the source and the release).
EXTRA_STUDENTS = {a for a in ASSIGNMENTS if a == "ps1" or a.startswith("pat_")} | {"nbg_hidden"}

# (assignment, student) -> (score, max_score, needs_manual_grade) under plain nbgrader 0.9.6.
EXPECTED = {
    # nbgrader's documentation course (the totals shown in its "autograding" docs page)
    ("ps1", "bitdiddle"): (1.5, 13.0, True),
    ("ps1", "hacker"): (3.0, 13.0, True),
    ("ps1", "solution"): (3.0, 13.0, True),  # 10 points are written answers
    ("ps1", "blank"): (0.0, 13.0, True),
    # nbgrader's test_showtraceback_exploit: 1, 2, 1, 1 of 7
    ("nbg_tests", "foo"): (1.0, 7.0, False),  # its answer cell is unchanged
    ("nbg_tests", "bar"): (2.0, 7.0, True),
    ("nbg_tests", "spam"): (1.0, 7.0, True),
    ("nbg_tests", "eggs"): (1.0, 7.0, True),
    # submitted-grade-cell-changed / -locked-cell-changed: nbgrader restores the cells
    ("nbg_tests", "gradeedit"): (1.0, 7.0, False),
    ("nbg_tests", "lockedit"): (1.0, 7.0, False),
    # test_grade_autotest, _hashed_, _complex_, test_hidden_tests_autotest, as one assignment
    ("nbg_autotest", "foo"): (0.0, 7.0, False),
    ("nbg_autotest", "bar"): (6.0, 7.0, False),
    ("nbg_autotest", "baz"): (5.0, 7.0, False),
    # test_hidden_tests_single_notebook: code that passes the visible tests and fails the hidden
    # ones scores 1.5 (there, as the release; here the release's default code stub raises)
    ("nbg_hidden", "blank"): (0.0, 3.0, False),
    ("nbg_hidden", "solution"): (1.5, 3.0, False),
    ("nbg_files", "foo"): (10.0, 10.0, False),
    # test_autograde_timeout with --Execute.timeout=2: 0
    ("nbg_timeout", "foo"): (0.0, 1.0, False),
    # ours: correct = everything autograded (the stderr cell scores 0 under nbgrader: 14 of 15
    # in pat_effects); wrong = 0 but for the cells noted in build_corpus; blank = 0
    ("pat_multi", "correct"): (15.0, 15.0, False),
    ("pat_multi", "solution"): (15.0, 15.0, False),
    ("pat_multi", "wrong"): (1.0, 15.0, False),  # test_squares: its squares is right
    ("pat_multi", "blank"): (0.0, 15.0, False),
    ("pat_manual", "correct"): (5.0, 12.0, True),  # 7 points for manual grading
    ("pat_manual", "solution"): (5.0, 12.0, True),
    ("pat_manual", "wrong"): (0.0, 12.0, True),
    ("pat_manual", "blank"): (0.0, 12.0, True),  # the task cell is always for a human
    ("pat_effects", "correct"): (14.0, 15.0, False),
    ("pat_effects", "solution"): (14.0, 15.0, False),
    ("pat_effects", "wrong"): (1.0, 15.0, False),  # partial credit: 1 of 3
    ("pat_effects", "blank"): (0.0, 15.0, False),
}


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    return env


def _nbgrader(root: Path, *args: str) -> str:
    cmd = [str(BIN / "nbgrader"), *args]
    proc = subprocess.run(
        cmd,
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def _timeout_args(assignment: str) -> list[str]:
    return [f"--Execute.timeout={TIMEOUTS.get(assignment, TIMEOUT)}"]


def _db_url(root: Path) -> str:
    return "sqlite:///" + str(root / "gradebook.db")


def cell_scores(db_url: str) -> tuple[dict, dict]:
    """Per grade cell ``(assignment, student, notebook, grade_id) -> (auto_score, max_score,
    needs_manual_grade)`` and per submission ``(assignment, student) -> (score, max_score,
    needs_manual_grade)`` from an nbgrader gradebook."""
    from nbgrader.api import Gradebook

    cells, totals = {}, {}
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = str(BIN) + os.pathsep + path  # nbgrader runs `alembic` from PATH
    try:
        gb = Gradebook(db_url)
    finally:
        os.environ["PATH"] = path
    with gb:
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                key = (assignment.name, sub.student.id)
                totals[key] = (sub.score, sub.max_score, sub.needs_manual_grade)
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        cells[(*key, nb.name, grade.name)] = (
                            grade.auto_score,
                            grade.max_score,
                            grade.needs_manual_grade,
                        )
    return cells, totals


def _table(rows: list[tuple], left: str = "nbgrader", right: str = "ours") -> str:
    head = ("assignment", "student", "notebook", "grade_id", left, right)
    rows = [head, *[tuple(str(x) for x in r) for r in rows]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def compare(left: tuple[dict, dict], right: tuple[dict, dict]) -> list[tuple]:
    """Rows (assignment, student, notebook, grade_id, left, right) where two ``cell_scores``
    results differ, cell by cell and in the submission totals (notebook ``(total)``)."""
    missing = "missing"
    rows = []
    for which, (lhs, rhs) in enumerate(zip(left, right, strict=True)):
        for key in sorted(set(lhs) | set(rhs)):
            lv, rv = lhs.get(key, missing), rhs.get(key, missing)
            if lv != rv:
                key = key if which == 0 else (*key, "(total)", "-")
                rows.append((*key, lv, rv))
    return rows


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The corpus copied twice: ``A`` with every assignment generated by plain nbgrader (and
    its gradebook), ``B`` bare; both with the ``solution`` and ``blank`` students added."""
    top = tmp_path_factory.mktemp("equivalence")
    a, b = top / "nbgrader", top / "ours"
    ignore = shutil.ignore_patterns("ruff.toml", "NOTICE.md", "LICENSE.*")
    shutil.copytree(CORPUS, a, ignore=ignore)
    shutil.copytree(CORPUS, b, ignore=ignore)
    started = time.monotonic()
    for assignment in ASSIGNMENTS:
        _nbgrader(a, "generate_assignment", assignment, "--force")
    generate_s = time.monotonic() - started
    for assignment in sorted(EXTRA_STUDENTS):
        for root in (a, b):
            shutil.copytree(a / "source" / assignment, root / "submitted" / "solution" / assignment)
            shutil.copytree(a / "release" / assignment, root / "submitted" / "blank" / assignment)
    return {"A": a, "B": b, "generate_s": generate_s}


@pytest.fixture(scope="module")
def nbgrader_results(prepared):
    """Plain ``nbgrader autograde`` of every assignment of copy A (once per session)."""
    a = prepared["A"]
    started = time.monotonic()
    for assignment in ASSIGNMENTS:
        _nbgrader(a, "autograde", assignment, "--force", *_timeout_args(assignment))
    autograde_s = time.monotonic() - started
    print(
        f"\nplain nbgrader: generate_assignment {prepared['generate_s']:.1f} s, "
        f"autograde {autograde_s:.1f} s for {len(ASSIGNMENTS)} assignments"
    )
    return cell_scores(_db_url(a))


def _ours(root: Path, force: bool) -> tuple[dict, dict, dict]:
    from dlcourse_grader.course import Course

    outcomes = {}
    for assignment in ASSIGNMENTS:
        course = Course(root, timeout=TIMEOUTS.get(assignment, TIMEOUT))
        results = course.autograde(assignment, mode="compatible", sandbox="auto", force=force)
        outcomes.update({(assignment, r.student): (r.status, r.reason) for r in results})
    cells, totals = cell_scores(Course(root).db_url)
    return cells, totals, outcomes


@pytest.fixture(scope="module")
def ours_results(prepared):
    """Our tool in compatible mode on copy B, then a forced regrade of the same copy."""
    b = prepared["B"]
    started = time.monotonic()
    first = _ours(b, force=False)
    first_s = time.monotonic() - started
    started = time.monotonic()
    second = _ours(b, force=True)
    print(
        f"\nours (compatible): {first_s:.1f} s, regrade {time.monotonic() - started:.1f} s "
        f"for {len(ASSIGNMENTS)} assignments"
    )
    return first, second


def test_corpus_scores_under_plain_nbgrader(nbgrader_results):
    """The corpus is what we think it is: nbgrader's totals are the predicted ones."""
    _, totals = nbgrader_results
    diff = compare(({}, EXPECTED), ({}, totals))
    assert not diff, "plain nbgrader's totals differ from the predicted ones:\n" + _table(
        diff, "predicted", "nbgrader"
    )


def test_compatible_mode_matches_nbgrader_cell_by_cell(nbgrader_results, ours_results):
    (cells, totals, outcomes), _ = ours_results
    ungradable = {k: v for k, v in outcomes.items() if v[0] != "graded"}
    diff = compare(nbgrader_results, (cells, totals))
    assert not diff and not ungradable, (
        f"{len(diff)} grade cells or totals differ from plain nbgrader "
        "(auto_score, max_score, needs_manual_grade):\n"
        + _table(diff)
        + (f"\nnot graded: {ungradable}" if ungradable else "")
    )


def test_compatible_mode_regrade_is_stable(ours_results):
    (cells, totals, _), (cells2, totals2, _) = ours_results
    diff = compare((cells, totals), (cells2, totals2))
    assert not diff, "a forced regrade changed these cells:\n" + _table(diff, "first", "regrade")
