"""The grading ledger: resumable, idempotent, exactly-once grading on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from dlcourse_grader.ledger import Claim, Ledger

from .conftest import ROOT
from .procs import scaled, stop

pytestmark = pytest.mark.grading

A = "training"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> str:
    """A fresh database: an SQLite file, or a new database on a private PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gradebook.db'}"
    return request.getfixturevalue("postgres_db_url")


@pytest.fixture
def ledger(db_url):
    with Ledger(db_url) as led:
        yield led


def fingerprints(n: int, version: str = "v1") -> dict[str, str]:
    return {f"student{i:02d}": f"{version}-{i}" for i in range(n)}


def grade_all(ledger: Ledger, grader: str = "g") -> None:
    while (claim := ledger.claim(A, grader, 60)) is not None:
        assert ledger.finish(claim, "graded", 7.0, 10.0, "", "{}")


def test_sync_is_idempotent(ledger):
    assert ledger.sync(A, fingerprints(3)) == {"new": 3, "changed": 0, "unchanged": 0}
    assert [r["status"] for r in ledger.rows(A)] == ["pending"] * 3
    before = ledger.rows()
    assert ledger.sync(A, fingerprints(3)) == {"new": 0, "changed": 0, "unchanged": 3}
    assert ledger.rows() == before

    grade_all(ledger)
    graded = ledger.rows()
    assert ledger.sync(A, fingerprints(3)) == {"new": 0, "changed": 0, "unchanged": 3}
    assert ledger.rows() == graded  # finished rows stay finished: a re-run grades nothing
    assert ledger.claim(A, "g", 60) is None
    assert ledger.remaining(A) == 0


def test_changed_fingerprint_is_requeued(ledger):
    ledger.sync(A, fingerprints(3))
    grade_all(ledger)
    resubmitted = {**fingerprints(3), "student01": "v2-1"}
    assert ledger.sync(A, resubmitted) == {"new": 0, "changed": 1, "unchanged": 2}
    row = ledger.get(A, "student01")
    assert row["status"] == "pending"
    assert row["fingerprint"] == "v2-1"
    assert row["attempt"] == 0 and row["score"] is None and row["token"] is None
    assert [ledger.get(A, s)["status"] for s in ("student00", "student02")] == ["graded"] * 2
    assert ledger.remaining(A) == 1
    claim = ledger.claim(A, "g", 60)
    assert (claim.student, claim.fingerprint, claim.attempt) == ("student01", "v2-1", 1)


def test_resubmission_revokes_an_inflight_claim(ledger):
    ledger.sync(A, {"alice": "v1"})
    stale = ledger.claim(A, "g1", 60)
    assert ledger.sync(A, {"alice": "v2"})["changed"] == 1
    assert not ledger.finish(stale, "graded", 1.0, 1.0, "", "{}")
    assert ledger.claim(A, "g2", 60).fingerprint == "v2"


def test_force_requeues_every_listed_submission(ledger):
    ledger.sync(A, fingerprints(4))
    grade_all(ledger)
    ledger.sync("other", {"bob": "x"})
    assert ledger.sync(A, fingerprints(3), force=True) == {"new": 0, "changed": 0, "unchanged": 3}
    assert [r["status"] for r in ledger.rows(A)] == ["pending"] * 3 + ["graded"]
    assert ledger.get("other", "bob")["status"] == "pending"
    assert ledger.remaining(A) == 3


def test_finish_records_the_outcome_and_a_log_row(ledger):
    ledger.sync(A, {"alice": "f1"})
    claim = ledger.claim(A, "g1", 60)
    assert claim == Claim(A, "alice", "f1", claim.token, 1, "g1")
    detail = json.dumps({"log": "x" * 100_000, "cells": [1, 2, 3]})
    assert ledger.finish(claim, "ungradable", None, 10.0, "timeout in cell 3", detail)
    row = ledger.get(A, "alice")
    assert row["status"] == "ungradable" and row["reason"] == "timeout in cell 3"
    assert row["score"] is None and row["max_score"] == 10.0
    assert json.loads(row["detail"]) == json.loads(detail)
    assert not ledger.finish(claim, "graded", 1.0, 10.0, "", "{}")  # finished once only
    assert [(e["student"], e["grader"], e["token"], e["status"]) for e in ledger.log(A)] == [
        ("alice", "g1", claim.token, "ungradable")
    ]
    assert ledger.get(A, "nobody") is None


def _claim_concurrently(url: str, n_threads: int) -> list[Claim]:
    start = threading.Barrier(n_threads, timeout=60)  # a thread that dies early breaks it
    claims: list[Claim] = []
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            with Ledger(url) as own:  # own engine and connections, like another process
                start.wait()
                while (claim := own.claim(A, name, 60)) is not None:
                    claims.append(claim)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [
        threading.Thread(target=worker, args=(f"g{i}",), daemon=True) for i in range(n_threads)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not [t for t in threads if t.is_alive()], "a worker thread is stuck"
    assert not errors, errors
    return claims


def test_claims_are_exclusive_under_concurrency(ledger, db_url):
    ledger.sync(A, fingerprints(50))
    claims = _claim_concurrently(db_url, 4)
    counts = Counter(c.student for c in claims)
    assert sorted(counts) == sorted(fingerprints(50))
    assert set(counts.values()) == {1}, [s for s, n in counts.items() if n > 1]
    assert len({c.token for c in claims}) == 50
    assert all(ledger.finish(c, "graded", 1.0, 1.0, "", "{}") for c in claims)
    assert ledger.remaining(A) == 0
    assert Counter(e["student"] for e in ledger.log(A)) == dict.fromkeys(fingerprints(50), 1)


def test_an_expired_lease_is_taken_over(ledger):
    ledger.sync(A, {"alice": "f1"})
    dead = ledger.claim(A, "g1", lease_seconds=0.3)
    assert ledger.claim(A, "g2", 60) is None  # leased: not claimable yet
    assert ledger.remaining(A) == 1
    time.sleep(0.5)
    taken = ledger.claim(A, "g2", 60)
    assert (taken.student, taken.grader, taken.attempt) == ("alice", "g2", 2)
    assert taken.token != dead.token
    before = ledger.get(A, "alice")
    assert not ledger.finish(dead, "graded", 1.0, 1.0, "late", "{}")
    assert not ledger.heartbeat(dead, 60)
    assert not ledger.unclaim(dead)
    assert ledger.get(A, "alice") == before
    assert ledger.finish(taken, "graded", 2.0, 2.0, "", "{}")
    assert ledger.get(A, "alice")["grader"] == "g2"
    assert [e["token"] for e in ledger.log(A)] == [taken.token]


def test_heartbeat_keeps_a_claim_alive(ledger):
    ledger.sync(A, {"alice": "f1"})
    claim = ledger.claim(A, "g1", lease_seconds=0.5)
    deadline = time.monotonic() + 0.8  # longer than the original lease
    while time.monotonic() < deadline:
        time.sleep(0.1)
        assert ledger.heartbeat(claim, 0.5)
        assert ledger.claim(A, "g2", 60) is None
    assert ledger.get(A, "alice")["token"] == claim.token
    time.sleep(0.7)  # no heartbeat: now it expires
    assert ledger.claim(A, "g2", 60).student == "alice"
    assert not ledger.heartbeat(claim, 0.5)


def test_repeated_crashes_make_a_submission_ungradable(db_url):
    with Ledger(db_url, max_attempts=2) as ledger:
        ledger.sync(A, {"crasher": "f1"})
        for attempt in (1, 2):
            claim = ledger.claim(A, f"g{attempt}", lease_seconds=0.1)
            assert (claim.student, claim.attempt) == ("crasher", attempt)
            time.sleep(0.2)  # the grader died: its lease runs out
        ledger.sync(A, {"crasher": "f1", "other": "f2"})
        assert ledger.claim(A, "g3", 60).student == "other"
        row = ledger.get(A, "crasher")
        assert row["status"] == "ungradable"
        assert row["reason"] == "grading crashed 2 times (the grader process died while grading it)"
        assert ledger.remaining(A) == 1
        assert [(e["student"], e["status"]) for e in ledger.log(A)] == [("crasher", "ungradable")]
        assert not ledger.finish(claim, "graded", 1.0, 1.0, "", "{}")
        ledger.sync(A, {"crasher": "f1"}, force=True)  # an instructor may retry it
        assert ledger.claim(A, "g3", 60).attempt == 1


def test_unclaim_gives_the_submission_back(ledger):
    ledger.sync(A, {"alice": "f1"})
    claim = ledger.claim(A, "g1", 600)
    assert ledger.unclaim(claim)
    row = ledger.get(A, "alice")
    assert (row["status"], row["token"], row["attempt"]) == ("pending", None, 0)
    again = ledger.claim(A, "g2", 600)  # at once, without waiting for the lease
    assert (again.student, again.attempt) == ("alice", 1)
    assert not ledger.finish(claim, "graded", 1.0, 1.0, "", "{}")
    assert ledger.get(A, "alice")["token"] == again.token


def test_tables_can_be_created_by_several_processes_at_once(db_url):
    errors: list[BaseException] = []
    start = threading.Barrier(4, timeout=60)

    def create() -> None:
        try:
            start.wait()
            Ledger(db_url).close()
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=create, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not [t for t in threads if t.is_alive()], "a worker thread is stuck"
    assert not errors, errors
    with Ledger(db_url) as ledger:
        assert ledger.sync(A, {"alice": "f1"})["new"] == 1


def test_bad_arguments_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match="max_attempts"):
        Ledger(f"sqlite:///{tmp_path / 'x.db'}", max_attempts=0)
    ledger = Ledger(f"sqlite:///{tmp_path / 'gradebook.db'}")
    ledger.sync(A, {"alice": "f1"})
    claim = ledger.claim(A, "g1", 60)
    bad_calls = {
        "lease_seconds": [
            lambda: ledger.claim(A, "g1", 0),
            lambda: ledger.claim(A, "g1", -1),
            lambda: ledger.claim(A, "g1", float("nan")),
            lambda: ledger.heartbeat(claim, 0),
        ],
        "status": [lambda: ledger.finish(claim, "pending", 1.0, 1.0, "", "{}")],
        "score": [lambda: ledger.finish(claim, "graded", float("inf"), 1.0, "", "{}")],
        "detail": [lambda: ledger.finish(claim, "graded", 1.0, 1.0, "", {"not": "text"})],
        "grader": [lambda: ledger.claim(A, "", 60)],
        "assignment": [lambda: ledger.sync("", {"alice": "f1"})],
        "fingerprints": [lambda: ledger.sync(A, ["alice"])],
        "fingerprint of 'bob'": [lambda: ledger.sync(A, {"bob": None})],
        "Claim": [lambda: ledger.unclaim(("training", "alice"))],
    }
    for message, calls in bad_calls.items():
        for call in calls:
            with pytest.raises(ValueError, match=message):
                call()
    assert ledger.get(A, "alice")["token"] == claim.token  # nothing was changed
    ledger.close()


def test_coexists_with_nbgrader_gradebook(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    # nbgrader runs the `alembic` command of its environment when it creates a gradebook
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment(A)
        gb.add_student("alice")
    with Ledger(url) as ledger:
        ledger.sync(A, {"alice": "f1"})
        claim = ledger.claim(A, "g1", 60)
        with Gradebook(url) as gb:  # nbgrader writes while the ledger holds a claim
            gb.add_student("bob")
        assert ledger.finish(claim, "graded", 3.0, 4.0, "", "{}")
    with Gradebook(url) as gb:
        assert [s.id for s in gb.students] == ["alice", "bob"]
        assert [a.name for a in gb.assignments] == [A]
    tables = set(sa.inspect(sa.create_engine(url)).get_table_names())
    assert {"dlcourse_grading", "dlcourse_grading_log", "student", "alembic_version"} <= tables
    with Ledger(url) as ledger:
        assert ledger.get(A, "alice")["score"] == 3.0


GRADER = """
import sys, time
from dlcourse_grader.ledger import Ledger

url, assignment, name, stall_at = sys.argv[1:]
ledger = Ledger(url)
claims = 0
while True:
    claim = ledger.claim(assignment, name, lease_seconds=2)
    if claim is None:
        if ledger.remaining(assignment) == 0:
            break
        time.sleep(0.1)  # others hold leases that may still come back
        continue
    claims += 1
    print("claimed", claim.student, claim.token, flush=True)
    while claims == int(stall_at):  # a long notebook: grade (and heartbeat) until killed
        time.sleep(0.1)
        ledger.heartbeat(claim, 2)
    time.sleep(0.1)
    if not ledger.heartbeat(claim, 2):
        continue
    time.sleep(0.1)
    ok = ledger.finish(claim, "graded", 1.0, 1.0, "", '{"by": "%s"}' % name)
    print("finished" if ok else "refused", claim.student, flush=True)
"""


def _grader(url: str, name: str, stall_at: int = 0) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", GRADER, url, A, name, str(stall_at)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )


def _read_line(proc: subprocess.Popen, deadline: float) -> str:
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([proc.stdout], [], [], max(deadline - time.monotonic(), 0))
        chunk = proc.stdout.read(1) if ready else b""
        if not chunk:  # kill it first: reading a live grader's stderr to EOF would block
            _, err = stop(proc)
            raise AssertionError(f"grader said nothing more in time; stderr: {err!r}")
        line += chunk
    return line.decode()


def test_two_grader_processes_one_killed_grade_each_submission_exactly_once(ledger, db_url):
    n = 30
    ledger.sync(A, fingerprints(n))
    victim, survivor = _grader(db_url, "victim", stall_at=10), _grader(db_url, "survivor")
    try:
        deadline = time.monotonic() + scaled(20)
        claimed = 0
        while claimed < 10:  # kill the victim while it grades its tenth submission
            words = _read_line(victim, deadline).split()
            claimed += words[0] == "claimed"
        time.sleep(0.2)  # a few heartbeats, for realism
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        held, dead_token = words[1], words[2]
        row = ledger.get(A, held)
        assert (row["status"], row["token"]) == ("claimed", dead_token)

        out, err = survivor.communicate(timeout=scaled(30))
        assert survivor.returncode == 0, err.decode()
    finally:
        for proc in (victim, survivor):
            stop(proc)

    assert f"claimed {held} ".encode() in out  # the survivor took the dead grader's claim over
    rows = ledger.rows(A)
    assert [r["status"] for r in rows] == ["graded"] * n
    assert (ledger.get(A, held)["grader"], ledger.get(A, held)["attempt"]) == ("survivor", 2)
    log = ledger.log(A)
    assert Counter(e["student"] for e in log) == dict.fromkeys(fingerprints(n), 1)
    assert dead_token not in {e["token"] for e in log}
    assert {e["grader"] for e in log} == {"victim", "survivor"}
    assert ledger.remaining(A) == 0
