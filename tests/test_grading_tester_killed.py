"""A test process killed mid-submission leaves no student files behind, and grading goes on.

``python -m autograder autograde`` grades a small course (``--jobs 1``) with its own TMPDIR.
While the first submission sleeps in a cell (a ``sleep`` whose argument marks it), the test
kills the grader's test process (``python -m dlcourse_grader._tester_main``, found by its
command line among the grader's children) with SIGKILL. The grader must record that submission as
ungradable (a grader fault), start a new test process, grade the next submission normally,
and leave nothing in TMPDIR but the slot locks (the killed process's ``dlcourse-tester-*``
folder, which holds the students' ``dlcourse-grade-*`` working folders, is removed when the
grader closes it) and no process of the killed submission running.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from dlcourse_grader.course import Course

from .procs import scaled, stop

pytestmark = [pytest.mark.grading, pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "slot"
CELL_TIMEOUT = 30  # seconds per cell: far more than the honest cells need


def _meta(grade_id, *, locked=False, solution=False, grade=False, points=0):
    m = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
         "solution": solution, "task": False}  # fmt: skip
    if grade:
        m["points"] = points
    return {"nbgrader": m}


def _notebook(prefix: str = ""):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["autograder"] = {"mode": "isolated"}
    answer = "def work():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION"
    nb.cells = [
        nbformat.v4.new_code_cell("import os", metadata=_meta("setup", locked=True)),
        nbformat.v4.new_code_cell(prefix + answer, metadata=_meta("work", solution=True)),
        nbformat.v4.new_code_cell(
            "assert work() == 42", metadata=_meta("test_work", grade=True, points=3)
        ),
    ]
    return nb


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").glob("[0-9]*")]


def _with(marker: bytes) -> list[int]:
    return [pid for pid in _pids() if marker in _cmdline(pid)]


def _wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"gave up after {seconds:.0f} s waiting for {what}")


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc (Linux)")
def test_killed_test_process_leaves_no_student_files_and_grading_goes_on(tmp_path):
    mark = f"{CELL_TIMEOUT * 10}.{secrets.randbelow(10**9)}"  # a `sleep` argument, unique
    try:
        _kill_the_test_process_mid_submission(tmp_path, mark)
    finally:  # whatever failed, no sleep of ours outlives the test
        for pid in _with(mark.encode()):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _kill_the_test_process_mid_submission(tmp_path: Path, mark: str) -> None:
    root = tmp_path / "course"
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    nbformat.write(_notebook(), root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    Course(root, timeout=CELL_TIMEOUT).release(ASSIGNMENT)
    sleeping = f"import subprocess\n\nsubprocess.run(['sleep', {mark!r}])\n\n"
    for student, nb in [("a_killed", _notebook(sleeping)), ("b_honest", _notebook())]:
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    own_tmp = tmp_path / "tmpdir"
    own_tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(own_tmp), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "dlcourse_grader", "autograde", ASSIGNMENT, "--course", str(root)]
    cmd += ["--jobs", "1", "--timeout", str(CELL_TIMEOUT)]
    log = (tmp_path / "grader.log").open("wb")
    grader = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        sleepers = _wait_for(lambda: _with(mark.encode()), scaled(90), "the submission's sleep")
        in_tmp = sorted(p.name for p in own_tmp.iterdir())
        assert any(n.startswith("dlcourse-tester-") for n in in_tmp), (
            f"the test process keeps its folder elsewhere than TMPDIR ({in_tmp})"
        )
        testers = [
            pid
            for pid in _pids()
            if _parent(pid) == grader.pid and b"dlcourse_grader._tester_main" in _cmdline(pid)
        ]
        assert len(testers) == 1, f"expected one test process of this grader, got {testers}"
        os.kill(testers[0], signal.SIGKILL)
        grader.wait(timeout=scaled(120))
    finally:
        stop(grader)
        log.close()
    output = (tmp_path / "grader.log").read_text(errors="replace")
    assert grader.returncode == 0, output[-3000:]
    # the slot locks (empty files in one folder, shared by every grader) may stay
    locks = own_tmp / "dlcourse-sandbox-slots"
    left = sorted(
        str(p.relative_to(own_tmp))
        for p in own_tmp.rglob("*")
        if p != locks and not (p.parent == locks and p.suffix == ".lock" and p.is_file())
    )
    assert left == [], f"the killed test process left files in TMPDIR: {left[:20]}"
    gone = _wait_for(lambda: not _with(mark.encode()) or None, scaled(10), "the sleep to die")
    assert gone and sleepers
    results = {r.student: r for r in Course(root, timeout=CELL_TIMEOUT).results(ASSIGNMENT)}
    killed, honest = results["a_killed"], results["b_honest"]
    assert (killed.status, killed.reason) == (
        "ungradable",
        "grader fault: the test process died (exit status -9)",
    ), killed
    assert (honest.status, honest.score, honest.reason) == ("graded", 3.0, ""), honest
