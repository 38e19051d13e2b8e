"""A locked setup cell that times out once (a busy machine, a cold start) costs no points.

Every task of an assignment needs its setup cell (imports, data, the fixed model); when that
cell hit the time limit the whole submission used to score 0. The grader now runs a timed-out
setup cell once more in a fresh process. These tests grade a tiny two-task assignment whose
setup cell stalls only in the first student process (its working folder is ``work1``), and one
whose setup cell always stalls: there the retry is bounded and grading still finishes.

The same tiny assignment, with an answer that never returns, shows that a hang costs only its
own task: its own short cell limit keeps the timeout test fast (the per-assignment grading
tests use a generous, load-scaled limit that no test waits for).
"""

from __future__ import annotations

import nbformat
import pytest

from dlcourse_grader.course import Course

from .nbtasks import cell_meta, copy_course, submit

pytestmark = [pytest.mark.grading, pytest.mark.slow, pytest.mark.timeout(600)]

TIMEOUT = 3  # seconds per cell


def _assignment(setup_stall: str, answer_prefix: str = "") -> nbformat.NotebookNode:
    cells = [
        nbformat.v4.new_code_cell(
            f"import os\nimport time\n\nSTALL = {setup_stall}\nif STALL:\n    time.sleep(60)\n"
            "SCALE = 2\n",
            metadata=cell_meta("setup", locked=True),
        ),
        nbformat.v4.new_code_cell(
            answer_prefix + "def double(x):\n    ### BEGIN SOLUTION\n    return SCALE * x\n"
            "    ### END SOLUTION\n",
            metadata=cell_meta("double", solution=True),
        ),
        nbformat.v4.new_code_cell(
            "assert double(3) == 6", metadata=cell_meta("test_double", grade=True, points=2)
        ),
        nbformat.v4.new_code_cell(
            "def triple(x):\n    ### BEGIN SOLUTION\n    return (SCALE + 1) * x\n"
            "    ### END SOLUTION\n",
            metadata=cell_meta("triple", solution=True),
        ),
        nbformat.v4.new_code_cell(
            "assert triple(3) == 9", metadata=cell_meta("test_triple", grade=True, points=3)
        ),
    ]
    return nbformat.v4.new_notebook(cells=cells)


def _grade(tmp_path, name: str, setup_stall: str, answer_prefix: str = ""):
    course = copy_course(tmp_path / "course")
    (course / "source" / name).mkdir()
    nbformat.write(_assignment(setup_stall), course / "source" / name / f"{name}.ipynb")
    tool = Course(course, timeout=TIMEOUT)
    tool.release(name)
    submit(course, "student", name, _assignment(setup_stall, answer_prefix))
    (result,) = tool.autograde(name)
    return result


def test_setup_cell_that_stalls_once_is_run_again_and_nothing_is_lost(tmp_path):
    r = _grade(tmp_path, "stallonce", "os.path.basename(os.getcwd()) == 'work1'")
    assert r.status == "graded", r.reason
    assert r.score == pytest.approx(5.0), (r.events, [t["message"] for t in r.tests])
    assert any("setup" in e and "timed out" in e for e in r.events), r.events
    assert any("run again" in e for e in r.events), r.events


def test_setup_cell_that_always_stalls_is_tried_twice_then_grading_goes_on(tmp_path):
    r = _grade(tmp_path, "stallalways", "True")
    assert r.status == "graded", r.reason
    assert r.score == pytest.approx(0.0)
    timeouts = [e for e in r.events if "setup" in e and "timed out" in e]
    assert len(timeouts) == 2, r.events  # one retry, not more
    assert {t["grade_id"] for t in r.tests} == {"test_double", "test_triple"}


def test_an_answer_that_never_returns_costs_only_its_own_task(tmp_path):
    r = _grade(tmp_path, "hang", "False", answer_prefix="while True:\n    pass\n")
    assert r.status == "graded", r.reason
    # double (2 points) times out; the process is restarted and triple (3 points) still passes
    assert r.score == pytest.approx(3.0), (r.events, [t["message"] for t in r.tests])
    assert any("timed out" in e for e in r.events), r.events
    nb = nbformat.read(tmp_path / "course" / "autograded" / "student" / "hang" / "hang.ipynb", 4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in errors if o.output_type == "error"]
    assert any(
        "Timeout" in o.ename or "Interrupt" in o.ename or "Timeout" in "".join(o.traceback)
        for o in errors
    ), "the hanging cell did not end in a timeout error"
