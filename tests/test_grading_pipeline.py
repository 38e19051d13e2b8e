"""The grading loop is pipelined: a thread hands the next submission to its test process before
it writes the previous one's grades, records everything it graded, and leaves no lease renewed
and no submission counted in flight when it stops, normally or on an error.

The test process, the ledger and the gradebook are stand-ins that log what the loop does.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dlcourse_grader import grader
from dlcourse_grader.ledger import Claim

pytestmark = pytest.mark.timeout(60)


class _Tester:
    log: list = []

    def __init__(self, log_path):
        pass

    def send(self, job):
        self.log.append(("send", job["student"]))

    def receive(self, budget):
        self.log.append(("receive",))
        return {"status": "graded", "tests": []}

    def close(self):
        self.log.append(("close",))


class _Ledger:
    def __init__(self, students):
        self.waiting = list(students)
        self.beats = 0

    def claim(self, assignment, grader_id, lease, students=None):
        if not self.waiting:
            return None
        return Claim(assignment, self.waiting.pop(0), "f", "t", 1, grader_id)

    def heartbeat(self, claim, lease):
        self.beats += 1
        return True

    def remaining(self, assignment, students=None):
        return 0


class _Bar:
    def update(self, n):
        pass


def _run(monkeypatch, students, record):
    log: list = []
    monkeypatch.setattr(_Tester, "log", log)
    monkeypatch.setattr(grader, "TesterProcess", _Tester)
    run = grader.AutogradeRun.__new__(grader.AutogradeRun)
    run.assignment, run.grader_id, run.lease, run.only = "a", "g", 600.0, None
    run.count_lock, run.stop, run.errors = threading.Lock(), threading.Event(), []
    run.in_flight, run.testers, run.budget, run.bar = 0, {}, 60.0, _Bar()
    run.course = type("Course", (), {"root": Path("/nonexistent")})()
    run.ledger = _Ledger(students)
    run.job = lambda student, slot: {"student": student}
    run.record = lambda claim, result: record(log, claim)
    run.worker(0)
    return run, log


def test_the_next_submission_is_sent_before_the_previous_one_is_recorded(monkeypatch):
    run, log = _run(
        monkeypatch, ["s0", "s1", "s2"], lambda log, c: log.append(("record", c.student))
    )
    assert log == [
        ("send", "s0"), ("receive",),
        ("send", "s1"), ("record", "s0"), ("receive",),
        ("send", "s2"), ("record", "s1"), ("receive",),
        ("record", "s2"),
        ("close",),
    ]  # fmt: skip
    assert run.in_flight == 0 and not run.errors


def test_a_failure_to_record_stops_the_loop_and_leaves_nothing_in_flight(monkeypatch):
    def record(log, claim):
        if claim.student == "s1":
            raise RuntimeError("the database went away")
        log.append(("record", claim.student))

    run, log = _run(monkeypatch, ["s0", "s1", "s2", "s3"], record)
    assert [e for e in log if e[0] == "record"] == [("record", "s0")]
    assert ("send", "s3") not in log  # stopped at the error
    assert run.in_flight == 0 and isinstance(run.errors[0], RuntimeError)
    # every heartbeat thread was told to stop: none is left renewing a lease
    for t in threading.enumerate():
        if isinstance(t, grader._Heartbeat):
            t.join(5)
            assert not t.is_alive()
