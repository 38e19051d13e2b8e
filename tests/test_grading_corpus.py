"""Grade the corpus of broken and hostile submissions (tests/grading_corpus.py), in both modes.

The ``run`` fixture copies the course, releases the assignment, plants a canary file, a victim
submission and a loopback listener, builds every case into ``submitted/``, autogrades once with
two jobs in the assignment's declared (isolated) mode, exports the CSV and writes the feedback.
The ``run_compatible`` fixture does the same in a second course copy with the cases of
``COMPATIBLE`` (the mode-independent, sandbox-level ones and the integrity ones; about two
minutes more on two idle cores) and ``Course.autograde(..., mode="compatible")``. Per case,
``test_case`` and ``test_case_compatible`` check the outcome (score, failing tests, reason,
events, flags), the CSV row, the feedback page and that no hidden test material reaches the
student; the outcome and CSV checks of a case in ``PROBE_GAPS`` are strict expected failures,
by the missing flag only. For each run, the tests then check that no secret leaked, nothing
outside the sandbox changed, nothing reached the network, no student process (orphans, busy
hogs) outlived the run and no kernel key or mount of the hostile cases is left.

``GRADING_CORPUS=safe`` leaves out the cases that are harmless only under a sandboxing grader;
``GRADING_CORPUS=name,name`` keeps only those cases (and the victim), in both runs. When only
per-case tests are selected (``-k some_case``, ``-k "test_case and not compatible"``), only
their cases are graded, and only in the runs they use. Cases that need a sandbox are skipped,
loudly (failed under ``CI=true``), where the grader cannot isolate student code. The course
copies live in pytest's temporary folder, outside the project: ``project_sources`` checks that
the project's own ``course/source`` stays out of reach from there.
"""

from __future__ import annotations

import ast
import copy
import csv
import hashlib
import html
import io
import json
import os
import re
import signal
import socket
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from dlcourse_grader.course import Course
from dlcourse_grader.submission import hidden_line_range, merge, read_submission

from .grading_corpus import (
    ASSIGNMENT,
    CELL_TIMEOUT,
    COMPATIBLE,
    CORPUS,
    FLAGGED,
    PROBE_GAPS,
    SECRET_ENV,
    VICTIM,
    Case,
    Expect,
    compatible_expect,
    expected_failures,
    expected_score,
    hog_marker,
    keyring_name,
    make_context,
    mount_marker,
    outside_targets,
    sleeper_marker,
)
from .nbtasks import autograded_ids, copy_course, meta, total_points

pytestmark = [pytest.mark.grading, pytest.mark.slow]

JOBS = 2
MARKERS = [("BEGIN SOLUTION", "END SOLUTION"), ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads such a cell as a formula
INVALID_ON_PURPOSE = {"invalid_cell_metadata"}  # graded cases whose notebook nbformat rejects


def _selected() -> list[Case]:
    choice = os.environ.get("GRADING_CORPUS", "").strip()
    if choice in ("", "all"):
        return CORPUS
    if choice == "safe":
        return [c for c in CORPUS if not c.needs_sandbox]
    names = {n.strip() for n in choice.split(",") if n.strip()}
    unknown = names - {c.name for c in CORPUS}
    assert not unknown, f"GRADING_CORPUS names unknown cases: {sorted(unknown)}"
    return [c for c in CORPUS if c.name in names or c.name == VICTIM]


CASES = _selected()
COMPATIBLE_CASES = [c for c in CASES if c.name in COMPATIBLE]
# the tests of the whole run, once per run
RUNS = pytest.mark.parametrize("which", ["run", "run_compatible"])


def _unconfined() -> str:
    """Why student code would run unconfined on this machine ("" when it is sandboxed)."""
    try:
        from dlcourse_grader.sandbox import Sandbox
    except ImportError:
        return "the grader has no sandbox module"
    try:
        Sandbox.detect(policy="strict")
    except RuntimeError as exc:
        return str(exc).splitlines()[0]
    return ""


# -- fixtures -------------------------------------------------------------------------------------
@dataclass
class Released:
    root: Path
    tool: Course
    source: nbformat.NotebookNode
    release: nbformat.NotebookNode
    release_path: Path


@dataclass
class Run:
    root: Path
    ctx: dict
    source: nbformat.NotebookNode
    release: nbformat.NotebookNode
    results: dict
    csv_text: str
    accepted: int  # connections the loopback listener accepted
    changed: list[str]  # watched files whose content changed during grading
    created: list[Path]  # outside targets that exist after grading
    sleepers: list[int]  # pids of the orphan case's `sleep`, alive after grading
    not_run: dict[str, str]  # cases left out of the run, with the reason
    kernel: list[str]  # keys and mounts of the hostile cases, visible after grading
    mode: str  # "isolated" (the assignment's declared mode) or "compatible"


class _Listener:
    """A loopback TCP server that counts the connections it accepts."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> int:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
        return self.accepted


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _processes_with(marker: str) -> list[int]:
    """Pids whose command line contains ``marker`` (empty where there is no /proc)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _needed(request, fixture: str, cases: list[Case]) -> list[Case]:
    """The cases the selected tests using ``fixture`` look at: all of ``cases`` if a test of the
    whole run is selected, else those of the selected per-case tests (so that ``-k <case>``
    grades one case), and the victim."""
    names = set()
    for item in request.session.items:
        # items of other kinds (nbval's notebook cells) have no module or fixtures
        if getattr(item, "module", None) is not request.module:
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("which") == fixture:  # a test of that whole run
            return cases
        if fixture not in getattr(item, "fixturenames", ()):
            continue
        case = params.get("case")
        if case is None:
            return cases
        names.add(case.name)
    return [c for c in cases if c.name in names or c.name == VICTIM]


def _release(root: Path) -> Released:
    copy_course(root)
    tool = Course(root, timeout=CELL_TIMEOUT)
    release_path = tool.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    return Released(
        root=root,
        tool=tool,
        source=nbformat.read(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4),
        release=nbformat.read(release_path, as_version=4),
        release_path=release_path,
    )


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Released:
    return _release((tmp_path_factory.mktemp("corpus") / "course").resolve())


def _kernel_keys(name: str) -> list[str]:
    """Lines of /proc/keys (keys this process may view) that name ``name``."""
    try:
        with open("/proc/keys") as f:
            return [line.strip() for line in f if name in line]
    except OSError:
        return []


def _mounts_naming(name: str) -> list[str]:
    try:
        with open("/proc/self/mountinfo") as f:
            return [line.strip() for line in f if name in line]
    except OSError:
        return []


def _grade(released: Released, cases: list[Case], mode: str | None):
    """Build ``cases`` into the course, autograde them in ``mode`` and collect what the tests
    check; a generator: the code after its yield removes what the run left on the machine."""
    root, tool = released.root, released.tool
    unconfined = _unconfined() if any(c.needs_sandbox for c in cases) else ""
    not_run = {
        c.name: f"needs a sandbox, and student code would run unconfined here: {unconfined}"
        for c in cases
        if c.needs_sandbox and unconfined
    }
    listener = _Listener()
    ctx = make_context(root, listener.port)
    ctx["canary_path"].write_text(ctx["canary"] + "\n")
    for case in cases:
        if case.name in not_run:
            continue
        folder = root / "submitted" / case.name / ASSIGNMENT
        folder.mkdir(parents=True)
        case.build(copy.deepcopy(released.source), copy.deepcopy(released.release), folder, ctx)
    watched = [
        root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        released.release_path,
        root / "nbgrader_config.py",
        ctx["canary_path"],
        ctx["victim_path"],
    ]
    before = {p: _digest(p) for p in watched}
    saved_env = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = ctx["canary"]  # a secret of the grader's environment
    try:
        results = tool.autograde(ASSIGNMENT, jobs=JOBS, mode=mode)
    finally:
        if saved_env is None:
            os.environ.pop(SECRET_ENV, None)
        else:
            os.environ[SECRET_ENV] = saved_env
    sleepers = _processes_with(sleeper_marker(ctx)) + _processes_with(hog_marker(ctx))
    csv_text = tool.export_csv()
    tool.feedback(ASSIGNMENT)
    created = [p for p in outside_targets(ctx) if p.exists() or p.is_symlink()]
    yield Run(
        root=root,
        ctx=ctx,
        source=released.source,
        release=released.release,
        results={r.student: r for r in results},
        csv_text=csv_text,
        accepted=listener.close(),
        changed=[str(p) for p in watched if _digest(p) != before[p]],
        created=created,
        sleepers=sleepers,
        not_run=not_run,
        kernel=_kernel_keys(keyring_name(ctx)) + _mounts_naming(mount_marker(ctx)),
        mode=mode or "isolated",
    )
    # leave the machine as we found it: the files a naive grader let students create outside
    # the course copy, and the processes the orphan and hog cases started
    for path in created:
        if not path.is_relative_to(root):
            path.unlink(missing_ok=True)
    for pid in _processes_with(sleeper_marker(ctx)) + _processes_with(hog_marker(ctx)):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.fixture(scope="module")
def run(request, released):
    yield from _grade(released, _needed(request, "run", CASES), None)


@pytest.fixture(scope="module")
def run_compatible(request, tmp_path_factory):
    """The cases of :data:`COMPATIBLE_CASES`, graded in compatible mode in a second copy."""
    released = _release((tmp_path_factory.mktemp("corpus-compatible") / "course").resolve())
    yield from _grade(released, _needed(request, "run_compatible", COMPATIBLE_CASES), "compatible")


def _skip_if_not_run(run, case) -> None:
    if case.name in run.not_run:
        reason = f"SKIPPED LOUDLY: {case.name} {run.not_run[case.name]}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)


def _describe(r) -> str:
    failed = [f"{t['grade_id']}: {t['message'][:300]}" for t in r.tests if not t["passed"]]
    return (
        f"{r.student}: {r.status}, score {r.score} of {r.max_score}, reason {r.reason!r}\n"
        f"events: {r.events}\nfailed tests:\n  " + "\n  ".join(failed)
    )


def _source_points(source) -> dict[str, float]:
    ids = set(autograded_ids(source))
    return {
        meta(c)["grade_id"]: float(meta(c).get("points", 0))
        for c in source.cells
        if meta(c).get("grade_id") in ids
    }


# -- one test per case ----------------------------------------------------------------------------
def _want(run, case) -> Expect:
    return compatible_expect(case) if run.mode == "compatible" else case.expect


class NotFlagged(AssertionError):
    """Compatible mode's integrity probe missed tampering it should flag (see PROBE_GAPS)."""


def check_outcome(run, case):
    _skip_if_not_run(run, case)
    r = run.results.get(case.name)
    assert r is not None, f"no GradeResult for {case.name} ({case.doc})"
    want, info = _want(run, case), _describe(r)
    assert r.assignment == ASSIGNMENT, info
    assert r.mode == run.mode, info
    assert r.status == want.status, f"{case.doc}\n{info}"
    for entry in want.events:
        parts = (entry,) if isinstance(entry, str) else entry
        assert any(all(p.lower() in e.lower() for p in parts) for e in r.events), (
            f"no event mentions {' and '.join(map(repr, parts))}\n{info}"
        )
    if want.clean:
        assert r.reason == "" and not r.events, f"expected a clean result\n{info}"
    if want.status != "graded":
        assert not r.tests, info
    else:
        _check_tests(run, r, want, info)
    if want.flagged and not r.flags:
        raise NotFlagged(f"the integrity probe did not flag {case.name}\n{info}")
    assert bool(r.flags) == want.flagged, f"flags: {r.flags}; want {want.flagged}\n{info}"
    for part in want.reason:
        assert part.lower() in r.reason.lower(), f"reason lacks {part!r}\n{info}"


def _check_tests(run, r, want, info):
    assert r.score == pytest.approx(expected_score(want.score, run.source)), f"{r.student}\n{info}"
    assert r.max_score == pytest.approx(total_points(run.source)), info
    points = _source_points(run.source)
    assert sorted(t["grade_id"] for t in r.tests) == sorted(points), (
        f"the results must hold every test cell of the source, once\n{info}"
    )
    for t in r.tests:
        assert t["max_points"] == pytest.approx(points[t["grade_id"]]), info
        assert t["points"] == pytest.approx(t["max_points"] if t["passed"] else 0.0), info
    assert sum(t["points"] for t in r.tests) == pytest.approx(r.score), info
    must_fail = expected_failures(want.score, run.source)
    if must_fail is not None:
        assert {t["grade_id"] for t in r.tests if not t["passed"]} == must_fail, info


def check_csv_row(run, case):
    _skip_if_not_run(run, case)
    shown = "'" + case.name if case.name.startswith(FORMULA_START) else case.name
    rows = [
        row
        for row in csv.DictReader(io.StringIO(run.csv_text))
        if row["assignment"] == ASSIGNMENT and row["student_id"] == shown
    ]
    assert len(rows) == 1, f"expected one CSV row for {case.name}, got {rows}"
    row, want = rows[0], _want(run, case)
    assert row["status"] == want.status, row
    if want.status == "graded":
        assert float(row["score"]) == pytest.approx(expected_score(want.score, run.source)), row
        assert float(row["max_score"]) == pytest.approx(total_points(run.source)), row
    for part in want.reason:
        if part == FLAGGED and part not in row["reason"].lower():
            raise NotFlagged(f"the CSV does not say {case.name} is flagged: {row}")
        assert part.lower() in row["reason"].lower(), row


def check_feedback_states_the_outcome(run, case):
    _skip_if_not_run(run, case)
    path = run.root / "feedback" / case.name / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert path.is_file(), f"no feedback for {case.name}"
    text = html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(errors="replace"))).lower()
    want = _want(run, case)
    if want.status == "graded":
        score = expected_score(want.score, run.source)
        assert "score" in text and f"{score:g}" in text, f"{path} does not state the score"
    else:
        assert "ungradable" in text, f"{path} does not say the submission was ungradable"
        for part in want.reason:
            assert part.lower() in text, f"{path} does not give the reason {part!r}"


def _hidden_fragments(source, release) -> set[str]:
    """Texts that only the hidden tests hold: string constants (f-string parts included) of at
    least 16 characters on hidden lines, that the release does not show anywhere."""
    public = "\n".join(c.source for c in release.cells)
    found = set()
    for cell in source.cells:
        lines = hidden_line_range(cell.source) if cell.cell_type == "code" else None
        if lines is None:
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value.strip()
                if lines[0] <= node.lineno <= lines[1] and len(text) >= 16 and text not in public:
                    found.add(text)
    return found


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def _student_view(run, case) -> str:
    """What a student gets back: the graded notebook's text and the feedback page's."""
    parts = []
    graded = run.root / "autograded" / case.name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    if graded.is_file():
        parts += _strings(json.loads(graded.read_text(errors="replace")))
    page = run.root / "feedback" / case.name / ASSIGNMENT / f"{ASSIGNMENT}.html"
    if page.is_file():
        parts.append(html.unescape(page.read_text(errors="replace")))
    return "\n".join(parts)


def check_hidden_material_stays_hidden(run, case):
    """No text of a hidden test (its messages, through checks the student redefined or errors
    of the functions it passes in) and nothing the case names as ``absent`` reaches the
    student's graded notebook or feedback."""
    _skip_if_not_run(run, case)
    view = _student_view(run, case)
    leaked = sorted(t for t in _hidden_fragments(run.source, run.release) if t in view)
    leaked += [t for t in _want(run, case).absent if t in view]
    assert not leaked, f"{case.name}: hidden test material reached the student: {leaked[:10]}"


PER_CASE = [check_outcome, check_csv_row, check_feedback_states_the_outcome]
PER_CASE.append(check_hidden_material_stays_hidden)


@pytest.mark.parametrize("check", PER_CASE, ids=lambda f: f.__name__[len("check_") :])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case(run, case, check):
    """Each case's expected outcome, graded in the assignment's own (isolated) mode."""
    check(run, case)


def _compatible_params() -> list:
    """(case, check) pairs; the outcome and CSV checks of a case in PROBE_GAPS are strict
    expected failures, by NotFlagged only (the probe misses its tampering; the score and
    everything else checked before the flag must hold)."""
    params = []
    for case in COMPATIBLE_CASES:
        for check in PER_CASE:
            gap = PROBE_GAPS.get(case.name) if check in (check_outcome, check_csv_row) else None
            xfail = pytest.mark.xfail(strict=True, raises=NotFlagged, reason=gap)
            marks = [xfail] if gap else []
            name = f"{case.name}-{check.__name__[len('check_') :]}"
            params.append(pytest.param(case, check, id=name, marks=marks))
    return params


@pytest.mark.parametrize(("case", "check"), _compatible_params())
def test_case_compatible(run_compatible, case, check):
    """The cases of :data:`COMPATIBLE`, graded in compatible mode."""
    check(run_compatible, case)


# -- the run as a whole ---------------------------------------------------------------------------
@RUNS
def test_every_submission_has_a_result(request, which):
    run = request.getfixturevalue(which)
    cases = COMPATIBLE_CASES if run.mode == "compatible" else CASES
    assert sorted(run.results) == sorted(c.name for c in cases if c.name not in run.not_run)


@RUNS
def test_no_secret_leaks(request, which):
    run = request.getfixturevalue(which)
    """The canary reaches no result, export or file of the course; the victim's secret reaches
    no other student's result or folder. Links are not followed; a link out of a student's
    folder in autograded/ or feedback/ counts as a leak."""
    canary, secret = run.ctx["canary"], run.ctx["victim_secret"]
    hits = []
    for student, r in run.results.items():
        blob = json.dumps([r.reason, r.events, r.tests, r.log], default=str)
        if canary in blob:
            hits.append(f"the GradeResult of {student}")
        if secret in blob and student != VICTIM:
            hits.append(f"the GradeResult of {student} (victim's secret)")
        hits += [
            f"a test message of {student} names the course folder"
            for t in r.tests
            if str(run.root) in t["message"]
        ]
    if canary in run.csv_text or secret in run.csv_text:
        hits.append("the CSV export")
    for dirpath, dirnames, filenames in os.walk(run.root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            parts = path.relative_to(run.root).parts
            if path == run.ctx["canary_path"] or parts[0] == "source":
                continue
            owner = parts[1] if len(parts) > 1 else ""
            if path.is_symlink():
                target = path.resolve()
                if parts[0] in ("autograded", "feedback") and not target.is_relative_to(
                    run.root / parts[0] / owner
                ):
                    hits.append(f"{path} is a symlink to {target}")
                continue
            if not path.is_file():
                continue
            data = path.read_bytes()
            if canary.encode() in data:
                hits.append(str(path))
            per_student = parts[0] in ("submitted", "autograded", "feedback")
            if secret.encode() in data and per_student and owner != VICTIM:
                hits.append(f"{path} (victim's secret)")
    assert not hits, "secrets leaked into:\n" + "\n".join(hits)


@RUNS
def test_nothing_outside_the_sandbox_changed(request, which):
    run = request.getfixturevalue(which)
    assert not run.changed, f"student code changed: {run.changed}"
    assert not run.created, f"student code created: {[str(p) for p in run.created]}"
    gradebook = run.root / "gradebook.db"
    if gradebook.exists():
        with sqlite3.connect(gradebook) as con:
            assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
            assert con.execute("select count(*) from sqlite_master").fetchone()[0] > 0


@RUNS
def test_no_network(request, which):
    run = request.getfixturevalue(which)
    assert run.accepted == 0, f"student code opened {run.accepted} connection(s) to the listener"


@RUNS
def test_no_student_process_outlives_grading(request, which):
    run = request.getfixturevalue(which)
    assert not run.sleepers, f"processes left running by student code: {run.sleepers}"


@RUNS
def test_nothing_left_in_the_kernel(request, which):
    """No key the keyring cases stored is left in a keyring, no mount names the namespace
    case's mount point (in the harness's own mount namespace)."""
    run = request.getfixturevalue(which)
    assert not run.kernel, f"left behind: {run.kernel}"


# -- the corpus and the release themselves (no grading needed) ------------------------------------
def test_corpus_is_large_and_well_named():
    names = [c.name for c in CORPUS]
    assert len(CORPUS) >= 25
    assert len(set(names)) == len(names), "duplicate case names"
    assert all(re.fullmatch(r"[=+@-]?[a-z0-9_+]+", n) for n in names), names
    assert all(c.doc for c in CORPUS)


def test_expected_scores_resolve(released):
    full = expected_score("full", released.source)
    assert 0 < full <= total_points(released.source)
    for case in CORPUS:
        if case.expect.status == "graded":
            assert 0 <= expected_score(case.expect.score, released.source) <= full, case.name
        else:
            assert case.expect.status == "ungradable" and case.expect.reason, case.name
    assert 0 < expected_score("first-half", released.source) < full
    assert 0 < expected_score("full-minus-last-task", released.source) < full


def _uncompilable(nb) -> list[int]:
    bad = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            try:
                ast.parse(cell.source)
            except SyntaxError:
                bad.append(i)
    return bad


def test_builders_write_what_they_promise(released, tmp_path):
    """Graded cases hold valid notebooks whose code cells compile (unless meant not to)."""
    ctx = make_context(released.root, port=9)
    for case in CORPUS:
        folder = tmp_path / case.name / ASSIGNMENT
        folder.mkdir(parents=True)
        case.build(copy.deepcopy(released.source), copy.deepcopy(released.release), folder, ctx)
        assert any(folder.iterdir()), f"{case.name} wrote nothing"
        if case.expect.status != "graded":
            continue
        notebooks = sorted(folder.glob("*.ipynb"))
        assert notebooks, f"{case.name}: no notebook"
        for path in notebooks:
            text = path.read_bytes().decode("utf-8", errors="replace")
            nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
            if case.name in INVALID_ON_PURPOSE:
                with pytest.raises(nbformat.ValidationError):
                    nbformat.validate(nb)
            else:
                nbformat.validate(nb)
            bad = _uncompilable(nbformat.convert(nb, 4))
            if case.name == "syntax_error_in_last_task":
                assert len(bad) == 1, f"{case.name}: cells {bad} do not compile"
            else:
                assert not bad, f"{case.name}: cells {bad} of {path.name} do not compile"


@pytest.mark.parametrize(
    "name",
    [
        "setup_moved_after_tests",
        "locked_cells_moved_after_tests",
        "setup_deleted_predecessor_moved",
        "metadata_tampering",
        "answers_moved_to_plain_cells",
    ],
)
def test_merge_keeps_the_source_order(released, tmp_path, name):
    """Whatever order a submission uses, the merged notebook has every locked and test cell of
    the source where the source has it, and each added cell after the known cell before it."""
    case = next(c for c in CORPUS if c.name == name)
    ctx = make_context(released.root, port=9)
    case.build(copy.deepcopy(released.source), copy.deepcopy(released.release), tmp_path, ctx)
    submitted, _ = read_submission(tmp_path, f"{ASSIGNMENT}.ipynb")
    plan = merge(released.source, released.release, submitted)
    known = [meta(c).get("grade_id") for c in released.source.cells if meta(c).get("grade_id")]
    got = [c.grade_id for c in plan.cells if c.grade_id in known]
    assert got == [g for g in known if g in got], f"{name}: known cells out of the source order"
    kept = {meta(c)["grade_id"] for c in released.source.cells if meta(c).get("locked")}
    assert kept <= set(got), f"{name}: locked or test cells missing: {sorted(kept - set(got))}"
    seen_ids = [meta(c).get("grade_id") for c in submitted.cells]
    for i, cell in enumerate(plan.cells):
        if cell.grade_id is None and i > 0:  # an added cell: after its predecessor there
            before = next(
                (c.grade_id for c in reversed(plan.cells[:i]) if c.grade_id is not None), None
            )
            src = [j for j, c in enumerate(submitted.cells) if c.source == cell.source]
            if before is not None and src and before in seen_ids:
                assert seen_ids.index(before) < src[0], f"{name}: added cell {i} misplaced"


def _split_marked(text: str) -> tuple[set[str], set[str]]:
    """(stripped lines inside marked blocks, stripped lines outside them), markers excluded."""
    inside, outside, depth = set(), set(), 0
    for line in text.splitlines():
        if any(begin in line for begin, _ in MARKERS):
            depth += 1
        elif any(end in line for _, end in MARKERS):
            depth -= 1
        else:
            (inside if depth > 0 else outside).add(line.strip())
    return inside, outside


def test_release_holds_no_solution_and_no_hidden_tests(released):
    """No line that only the marked blocks of the source hold, and no marker, is released."""
    released_text = released.release_path.read_text()
    for begin, end in MARKERS:
        assert begin not in released_text and end not in released_text
    secret, public = set(), set()
    for cell in released.source.cells:
        inside, outside = _split_marked(cell.source)
        secret |= inside
        public |= outside
    secret -= public | {""}
    assert secret, "the source marks no solution or hidden test"
    shown = {ln.strip() for c in released.release.cells for ln in c.source.splitlines()}
    leaked = sorted(secret & shown)
    assert not leaked, (
        f"the release shows {len(leaked)} line(s) of solutions or hidden tests:\n"
        + ("\n".join(leaked[:20]))
    )
