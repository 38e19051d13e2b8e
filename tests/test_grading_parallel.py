"""Parallel, resumable and shared grading, end to end with the real command line.

- ``--jobs 2`` gives the same grades as ``--jobs 1``, once per student, in a sound gradebook;
- running ``autograde`` again grades nothing and changes nothing; a resubmission is regraded;
- a grading run killed half-way loses nothing already graded and the next run finishes the rest;
- two grader processes sharing a PostgreSQL gradebook split the class, one of them is killed
  while it holds a submission, and every submission still ends graded exactly once.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from dlcourse_grader.course import Course

from .nbtasks import auto_points, copy_course
from .procs import scaled

pytestmark = [pytest.mark.grading, pytest.mark.slow]

ASSIGNMENT = "training"
# per-cell limit: generous and stretched by the measured load (no test waits for it to expire)
TIMEOUT = int(scaled(60, cap=5))


def _course(base: Path, n: int, db_url: str | None = None) -> tuple[Course, dict[str, float]]:
    """A course copy with ``n`` submissions alternating solution / blank; returns expected."""
    course = base / "course"
    copy_course(course)
    tool = Course(course, timeout=TIMEOUT, db_url=db_url)
    tool.release(ASSIGNMENT)
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    expected = {}
    for k in range(n):
        student = f"s{k:02d}"
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nb = source if k % 2 == 0 else release
        nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
        expected[student] = auto_points(source) if k % 2 == 0 else 0.0
    return tool, expected


def _cli(course: Path, *args: str, db_url: str | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "dlcourse_grader", "--course", str(course)]
    if db_url:
        cmd += ["--db-url", db_url]
    cmd += ["autograde", ASSIGNMENT, "--timeout", str(TIMEOUT), *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting until {what}")


def _check_exactly_once(tool: Course, expected: dict[str, float]) -> None:
    ledger = tool.ledger()
    rows = {r["student"]: r for r in ledger.rows(ASSIGNMENT)}
    assert set(rows) == set(expected)
    for student, score in expected.items():
        assert rows[student]["status"] == "graded", (student, rows[student]["reason"])
        assert rows[student]["score"] == pytest.approx(score), student
    finished = [r["student"] for r in ledger.log(ASSIGNMENT)]
    assert sorted(finished) == sorted(expected), "some submission was recorded twice or never"
    with tool.gradebook() as gb:
        for student, score in expected.items():
            assert gb.find_submission(ASSIGNMENT, student).score == pytest.approx(score)


def test_two_jobs_match_one_job_and_rerun_is_idempotent(tmp_path):
    one, expected = _course(tmp_path / "one", 4)
    two, _ = _course(tmp_path / "two", 4)
    r1 = {r.student: (r.status, r.score) for r in one.autograde(ASSIGNMENT, jobs=1)}
    r2 = {r.student: (r.status, r.score) for r in two.autograde(ASSIGNMENT, jobs=2)}
    assert r1 == r2 == {s: ("graded", pytest.approx(v + 0.0)) for s, v in expected.items()}
    _check_exactly_once(two, expected)

    # a second run grades nothing (same results, no new log rows) ...
    start = time.monotonic()
    again = {r.student: (r.status, r.score) for r in two.autograde(ASSIGNMENT, jobs=2)}
    assert again == r2 and time.monotonic() - start < 20
    _check_exactly_once(two, expected)
    # ... until a student resubmits: only that one is graded again
    source = two.root / "submitted" / "s00" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    shutil.copy(two.root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", source)
    after = {r.student: r.score for r in two.autograde(ASSIGNMENT, jobs=2)}
    assert after["s00"] == 0.0 and after["s02"] == expected["s02"]
    assert [r["student"] for r in two.ledger().log(ASSIGNMENT)].count("s00") == 2
    assert [r["student"] for r in two.ledger().log(ASSIGNMENT)].count("s02") == 1


def test_killed_run_resumes_without_losing_grades(tmp_path):
    tool, expected = _course(tmp_path, 4)
    first = _cli(tool.root, "--jobs", "1", "--lease", "3")
    ledger = tool.ledger()
    try:
        _wait_for(
            lambda: any(r["status"] == "graded" for r in ledger.rows(ASSIGNMENT)),
            240,
            "the first submission is graded",
        )
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    done_before = {
        r["student"]: r["score"] for r in ledger.rows(ASSIGNMENT) if r["status"] == "graded"
    }
    assert 1 <= len(done_before) < len(expected), "kill the run half-way, not before or after"
    second = _cli(tool.root, "--jobs", "2", "--lease", "3")
    out, _ = second.communicate(timeout=600)
    assert second.returncode == 0, out[-3000:]
    _check_exactly_once(tool, expected)
    log = ledger.log(ASSIGNMENT)
    for student in done_before:  # graded once, before the kill, and not again
        assert [r["student"] for r in log].count(student) == 1


def test_two_graders_share_a_postgresql_gradebook_and_survive_a_kill(tmp_path, postgres_db_url):
    tool, expected = _course(tmp_path, 8, db_url=postgres_db_url)
    a = _cli(tool.root, "--lease", "4", db_url=postgres_db_url)
    b = _cli(tool.root, "--lease", "4", db_url=postgres_db_url)
    ledger = tool.ledger()
    try:
        # kill grader A while it holds a claim, after it has graded at least one submission
        def a_holds_claim_after_grading() -> bool:
            rows = ledger.rows(ASSIGNMENT)
            mine = [r for r in rows if r["grader"] and f":{a.pid}:" in r["grader"]]
            return any(r["status"] == "graded" for r in mine) and any(
                r["status"] == "claimed" for r in mine
            )

        _wait_for(a_holds_claim_after_grading, 300, "grader A has graded one and holds another")
        a.send_signal(signal.SIGSTOP)  # frozen: it cannot finish what it holds
        held = [
            r["student"]
            for r in ledger.rows(ASSIGNMENT)
            if r["status"] == "claimed" and f":{a.pid}:" in (r["grader"] or "")
        ]
        a.send_signal(signal.SIGKILL)
        a.wait(30)
        out, _ = b.communicate(timeout=600)
        assert b.returncode == 0, out[-3000:]
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.kill()
    _check_exactly_once(tool, expected)
    rows = {r["student"]: r for r in ledger.rows(ASSIGNMENT)}
    graders = {r["grader"].split(":")[1] for r in ledger.log(ASSIGNMENT)}
    assert graders == {str(a.pid), str(b.pid)}, "both graders should have graded some"
    for student in held:  # what A held when it died was taken over by B
        assert f":{b.pid}:" in rows[student]["grader"]
        assert rows[student]["attempt"] >= 2
