"""An instructor's term, end to end, in the commands the README lists.

An LMS zip of submissions (Canvas's names; Moodle's folders) is collected against a roster,
graded, the written answers are graded by hand (one by one on the command line, resumably),
feedback is written, and the grades go out as a wide CSV for the LMS, with a late penalty.
Along the way: a regrade keeps the manual scores, ``needs_manual_grading`` is true exactly while
a written answer waits, nothing collected is overwritten silently, an off-limits import costs
its task with a clear reason, and nbgrader's own autograde and feedback refuse to run on a
course that uses this tool.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import warnings
import zipfile

import nbformat
import pytest

from dlcourse_grader.cli import main as cli_main
from dlcourse_grader.manual import grade_interactively, written_answers
from dlcourse_grader.nbgrader_guard import REFUSAL

from .nbtasks import cell_meta, tiny_course
from .procs import scaled

pytestmark = [pytest.mark.grading, pytest.mark.slow, pytest.mark.timeout(1200)]

A = "ps1"
DUE = dt.datetime(2026, 10, 8, 23, 59, tzinfo=dt.timezone.utc)
ROSTER = [
    ("ada", "Ada Lovelace", "ada@uni.example", "1001"),
    ("bob", "Bob Bell", "bob@uni.example", "1002"),
    ("cy", "Cy Young", "cy@uni.example", "1003"),
    ("dee", "Dee Dee", "dee@uni.example", "1004"),
    ("eve", "=Eve", "eve@uni.example", "1005"),  # a name a spreadsheet would run
    ("fay", "Fay Wray", "fay@uni.example", "1006"),  # never submits
]
ANSWER = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"


def source_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["autograder"] = {"mode": "isolated", "off_limits": ["dlcourse.sparse"]}
    nb.cells = [
        nbformat.v4.new_code_cell("import math", metadata=cell_meta("setup", locked=True)),
        nbformat.v4.new_code_cell(ANSWER, metadata=cell_meta("double", solution=True)),
        nbformat.v4.new_code_cell(
            "assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(-3) == -6\n"
            "### END HIDDEN TESTS",
            metadata=cell_meta("test_double", grade=True, locked=True, points=2),
        ),
        nbformat.v4.new_markdown_cell(
            "### BEGIN SOLUTION\nIt is linear.\n### END SOLUTION",
            metadata=cell_meta("why", solution=True, grade=True, points=3),
        ),
    ]
    return nb


def submission(kind: str):
    """A student's copy: the release with the answers filled in as ``kind`` says."""
    nb = source_notebook()
    answer, written = nb.cells[1], nb.cells[3]
    answer.source = {
        "right": "def double(x):\n    return 2 * x\n",
        "wrong": "def double(x):\n    return x + 2\n",
        "cheat": "from dlcourse.sparse import soft_threshold\n\ndef double(x):\n    return 2 * x\n",
        "blank": "def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n",
    }[kind]
    written.source = "YOUR ANSWER HERE" if kind == "blank" else f"My answer ({kind})."
    nb.cells[2].source = "assert double(2) == 4"
    for i, cell in enumerate(nb.cells):  # the same bytes for the same answers
        cell["id"] = f"cell-{i}"
    return nbformat.writes(nb).encode()


def canvas_zip(path, entries):
    """entries: (lms id, late, file name, data, time)."""
    with zipfile.ZipFile(path, "w") as z:
        for i, (lms_id, late, name, data, when) in enumerate(entries):
            prefix = f"student{lms_id}" + ("_LATE" if late else "")
            info = zipfile.ZipInfo(f"{prefix}_{lms_id}_{5000 + i}_{name}", when.timetuple()[:6])
            z.writestr(info, data)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    parent = tmp_path_factory.mktemp("workflow")
    tool = tiny_course(parent, A, {f"{A}.ipynb": source_notebook()}, timeout=int(scaled(60)))
    config = tool.root / "nbgrader_config.py"
    config.write_text(
        config.read_text()
        + f'c.Grades.due = {{"{A}": "{DUE:%Y-%m-%d %H:%M:%S} UTC"}}\n'
        + "c.Grades.late_penalty = 0.25\nc.Grades.late_limit_days = 3\n"
        + "from dlcourse_grader.nbgrader_guard import refuse\n"
        + "c.Autograde.pre_convert_hook = refuse\nc.GenerateFeedback.pre_convert_hook = refuse\n"
    )
    with open(tool.root / "roster.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "email", "lms_id"])
        w.writerows(ROSTER)
    on_time = DUE - dt.timedelta(hours=5)
    late = DUE + dt.timedelta(days=1, hours=2)  # 2 started days late: 50 % off
    zip_path = parent / "canvas.zip"
    canvas_zip(
        zip_path,
        [
            ("1001", False, f"{A}.ipynb", submission("right"), on_time),
            ("1002", False, f"{A}.ipynb", submission("blank"), on_time),
            ("1003", True, f"{A}.ipynb", submission("right"), late),
            # renamed notebook, an extra file, and a resubmission that replaces the first try
            ("1004", False, "my copy of ps1.ipynb", submission("wrong"), on_time),
            ("1004", False, "my copy of ps1-1.ipynb", submission("right"), on_time),
            ("1004", False, "notes.txt", b"my notes", on_time),
            ("1005", False, f"{A}.ipynb", submission("cheat"), on_time),
            ("9999", False, f"{A}.ipynb", submission("right"), on_time),  # not in the roster
        ],
    )
    return {"tool": tool, "root": tool.root, "zip": zip_path, "parent": parent}


def run(capsys, *argv) -> tuple[int, str]:
    code = cli_main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_collect_places_each_submission_and_reports_the_rest(course, capsys):
    root = course["root"]
    code, out = run(capsys, "collect", A, str(course["zip"]), "--course", str(root))
    assert code == 0, out
    assert "9999 is not in the roster" in out
    for student in ("ada", "bob", "cy", "dee", "eve"):
        assert (root / "submitted" / student / A / "timestamp.txt").is_file(), student
    dee = root / "submitted" / "dee" / A
    assert sorted(p.name for p in dee.iterdir()) == ["my copy of ps1.ipynb", "notes.txt",
                                                     "timestamp.txt"]  # fmt: skip
    assert "right" in (dee / "my copy of ps1.ipynb").read_text(), "the resubmission must win"
    assert "LATE" in out.split("cy:")[1].splitlines()[0]
    # the same zip again: nothing changes
    code, out = run(capsys, "collect", A, str(course["zip"]), "--course", str(root))
    assert code == 0 and "placed" not in out and "unchanged (already collected): 5" in out


def test_collect_never_overwrites_silently(course, capsys, tmp_path):
    root = course["root"]
    other = tmp_path / "again.zip"
    when = DUE - dt.timedelta(hours=1)
    canvas_zip(other, [("1002", False, f"{A}.ipynb", submission("wrong"), when)])
    code, out = run(capsys, "collect", A, str(other), "--course", str(root))
    assert "NOT replaced" in out and "blank" not in out
    before = (root / "submitted" / "bob" / A / f"{A}.ipynb").read_bytes()
    assert b"YOUR CODE HERE" in before, "bob's collected submission changed without --force"
    # with --force it is replaced, and the replaced copy is kept aside
    code, out = run(capsys, "collect", A, str(other), "--course", str(root), "--force")
    assert "replaced" in out
    assert b"x + 2" in (root / "submitted" / "bob" / A / f"{A}.ipynb").read_bytes()
    (aside,) = (root / "submitted" / ".replaced" / "bob").iterdir()
    assert (aside / f"{A}.ipynb").read_bytes() == before
    # the first zip's copy again, forced back; the same zip once more changes nothing
    canvas_zip(other, [("1002", False, f"{A}.ipynb", submission("blank"), when)])
    run(capsys, "collect", A, str(other), "--course", str(root), "--force")
    code, out = run(capsys, "collect", A, str(other), "--course", str(root))
    assert "unchanged" in out and "NOT" not in out


def test_moodle_folders_and_a_custom_pattern(course, tmp_path):
    from dlcourse_grader.lms import collect

    root = course["root"]
    moodle = tmp_path / "moodle.zip"
    with zipfile.ZipFile(moodle, "w") as z:
        z.writestr(f"Fay Wray_1006_assignsubmission_file_/{A}.ipynb", submission("right"))
    report = collect(course["tool"], A, moodle, lms="moodle")
    assert [p.split(":")[0] for p in report.placed] == ["fay"]
    custom = tmp_path / "custom.zip"
    with zipfile.ZipFile(custom, "w") as z:
        z.writestr(f"submissions/fay/{A}.ipynb", submission("right"))
    report = collect(
        course["tool"], A, custom, pattern=r"submissions/(?P<student>\w+)/(?P<file>.+)"
    )
    assert report.unchanged and not report.placed
    with pytest.raises(ValueError, match="named groups"):
        collect(course["tool"], A, custom, pattern=r"(?P<file>.+)")
    # fay's Moodle copy is not part of the term below
    import shutil

    shutil.rmtree(root / "submitted" / "fay")


@pytest.fixture(scope="module")
def graded(course):
    tool = course["tool"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = {r.student: r for r in tool.autograde(A)}
    return dict(course, results=results, warnings=[str(w.message) for w in caught])


def test_autograde_shows_no_sqlalchemy_warnings(graded):
    """nbgrader's gradebook makes SQLAlchemy warn for each new submission; harmless, hidden."""
    assert not [w for w in graded["warnings"] if "not in session" in w], graded["warnings"]


def test_autograde_scores_and_the_off_limits_import(graded):
    r = graded["results"]
    assert {s: r[s].score for s in r} == {"ada": 2, "bob": 0, "cy": 2, "dee": 2, "eve": 0}
    assert "dlcourse.sparse is off limits in this assignment" in r["eve"].reason
    assert any(f.startswith("off limits") for f in r["eve"].flags)


def needs_manual(tool) -> dict[str, bool]:
    with tool.gradebook() as gb:
        return {s.student.id: bool(s.needs_manual_grade) for s in gb.find_assignment(A).submissions}


def test_manual_grading_survives_a_regrade(graded, capsys):
    tool, root = graded["tool"], graded["root"]
    # blank (bob) left the written answer as released: nothing to grade by hand
    assert needs_manual(tool) == {"ada": True, "bob": False, "cy": True, "dee": True, "eve": True}
    code, out = run(capsys, "grade-manually", A, "--list", "--course", str(root))
    assert code == 0 and "4 of 5 written answers still to grade" in out
    comment = "Say why it is linear."
    code, out = run(capsys, "grade-manually", A, "--course", str(root), "--student", "ada",
                    "--cell", "why", "--score", "2.5", "--comment", comment)  # fmt: skip
    assert code == 0, out
    code, out = run(capsys, "grade-manually", A, "--course", str(root), "--student", "ada",
                    "--cell", "why", "--score", "4")  # fmt: skip
    assert code == 2 and "between 0 and 3" in out
    # interactively: cy gets 3, dee is skipped, then quit; a second session finds dee and eve
    replies = iter(["3", "Good.", "s", "q"])
    assert grade_interactively(tool, A, ask=lambda _: next(replies), out=lambda *_: None) == 1
    left = [(a.student, a.to_grade) for a in written_answers(tool, A) if a.to_grade]
    assert left == [("dee", True), ("eve", True)]
    replies = iter(["1", "", "0", "Copied."])
    assert grade_interactively(tool, A, ask=lambda _: next(replies), out=lambda *_: None) == 2
    assert needs_manual(tool) == {s: False for s in ("ada", "bob", "cy", "dee", "eve")}
    assert cli_main(["--course", str(root), "feedback", A]) == 0
    before = {s: (root / "feedback" / s / A / f"{A}.html").read_bytes() for s in graded["results"]}
    # a full regrade: the manual scores and comments stay, and so does the feedback
    again = {r.student: r for r in tool.autograde(A, force=True)}
    assert {s: again[s].score for s in again} == {"ada": 4.5, "bob": 0, "cy": 5, "dee": 3, "eve": 0}
    assert needs_manual(tool) == {s: False for s in ("ada", "bob", "cy", "dee", "eve")}
    assert cli_main(["--course", str(root), "feedback", A]) == 0
    for s, page in before.items():
        assert (root / "feedback" / s / A / f"{A}.html").read_bytes() == page, s
    ada = before["ada"].decode()
    assert "4.5 / 5" in ada and "Say why it is linear." in ada and "still to be graded" not in ada
    assert "double(-3)" not in ada, "a hidden test reached the feedback"


def test_feedback_says_what_is_still_to_be_graded(tmp_path):
    tool = tiny_course(tmp_path, A, {f"{A}.ipynb": source_notebook()}, timeout=int(scaled(60)))
    folder = tool.root / "submitted" / "ann" / A
    folder.mkdir(parents=True)
    (folder / f"{A}.ipynb").write_bytes(submission("right"))
    (result,) = tool.autograde(A)
    assert result.score == 2 and result.pending_points == 3
    assert cli_main(["--course", str(tool.root), "feedback", A]) == 0
    page = (tool.root / "feedback" / "ann" / A / f"{A}.html").read_text()
    assert "2 / 5 (3 points still to be graded by hand)" in page
    assert "to be graded by hand" in page


def test_wide_export_for_the_lms(graded, capsys, tmp_path):
    root = graded["root"]
    out = tmp_path / "lms.csv"
    code, text = run(capsys, "--course", str(root), "export", "--format", "wide",
                     "--output", str(out))  # fmt: skip
    assert code == 0, text
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["student_id"] for r in rows] == [s for s, *_ in ROSTER]
    column = f"{A} (5)"
    got = {r["student_id"]: r[column] for r in rows}
    # cy: 5 points, two started days late at 25 % a day; fay: missing, 0
    assert got == {"ada": "4.5", "bob": "0.0", "cy": "2.5", "dee": "3.0", "eve": "0.0",
                   "fay": "0.0"}  # fmt: skip
    assert rows[4]["name"] == "'=Eve", "a formula-like name must stay text"
    long = list(csv.DictReader(io.StringIO(graded["tool"].export_csv("long"))))
    cy = next(r for r in long if r["student_id"] == "cy")
    assert (cy["days_late"], cy["penalty"], cy["final_score"]) == ("2", "0.5", "2.5")
    assert cy["submitted_at"].startswith("2026-10-10T01:59")
    config = root / "nbgrader_config.py"
    config.write_text(config.read_text() + 'c.Grades.missing = "blank"\n')
    rows = list(csv.DictReader(io.StringIO(graded["tool"].export_csv("wide"))))
    assert rows[-1][column] == "" and rows[-1]["student_id"] == "fay"


def test_nbgraders_own_autograde_and_feedback_refuse(graded):
    """formgrader's Autograde and Generate Feedback buttons call these with force=True."""
    from nbgrader.apps import NbGraderAPI

    tool, root = graded["tool"], graded["root"]
    before = {r["student_id"]: (r["score"], r["needs_manual_grading"]) for r in tool.grades()}
    api = NbGraderAPI(config=tool._config())
    for result in (api.generate_feedback(A, "eve", force=True),
                   api.autograde(A, "eve", force=True, create=True)):  # fmt: skip
        assert not result["success"]
        assert REFUSAL[:60] in str(result.get("error")), result
    # no student code ran, no grade changed, and no feedback with hidden tests was written
    after = {r["student_id"]: (r["score"], r["needs_manual_grading"]) for r in tool.grades()}
    assert after == before
    assert not (root / "feedback" / "eve" / A / f"{A}.html").exists()
    # the tool writes back what nbgrader deleted before the hook stopped it
    assert cli_main(["--course", str(root), "autograde", A, "--student", "eve", "--force"]) == 0
    assert cli_main(["--course", str(root), "feedback", A, "--student", "eve"]) == 0
    page = (root / "feedback" / "eve" / A / f"{A}.html").read_text()
    assert "double(-3)" not in page and "Copied." in page


def _one_submission(tmp_path, answer: str, mode: str = "isolated"):
    source = source_notebook()
    source.metadata["autograder"]["mode"] = mode
    tool = tiny_course(tmp_path, A, {f"{A}.ipynb": source}, timeout=int(scaled(60)))
    nb = nbformat.reads(submission("right").decode(), as_version=4)
    nb.cells[1].source = answer
    folder = tool.root / "submitted" / "gus" / A
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{A}.ipynb")
    (result,) = tool.autograde(A)
    return result


def test_pasted_reference_code_is_flagged_and_keeps_its_points(tmp_path):
    import inspect

    from dlcourse.sparse import prox

    # (double first: the pasted function's annotations may name what the cell lacks)
    pasted = "def double(x):\n    return 2 * x\n\n\n" + inspect.getsource(prox.soft_threshold)
    result = _one_submission(tmp_path, pasted)
    assert result.score == 2, result
    assert any(f.startswith("similar: answer double") and "dlcourse.sparse" in f
               for f in result.flags), result.flags  # fmt: skip
    assert "dlcourse.sparse" in result.reason


@pytest.mark.parametrize("mode", ["isolated", "compatible"])
def test_off_limits_import_scores_zero_in_either_mode(tmp_path, mode):
    answer = "import dlcourse.sparse.prox as p\n\ndef double(x):\n    return 2 * x\n"
    result = _one_submission(tmp_path, answer, mode)
    assert result.mode == mode and result.score == 0
    assert "dlcourse.sparse is off limits in this assignment" in result.reason
