"""Autograding a class: parallel, resumable, exactly once, and never stopped by one submission.

``run_autograde`` registers every submission in the ledger (:mod:`.ledger`, a table in the
gradebook's database), then ``jobs`` threads each drive one long-lived test process
(:mod:`.tester`) and loop: claim a submission, grade it, write its grades to nbgrader's gradebook
and its outcome to the ledger. Claims are leases renewed while grading, so a grader process that
dies (here or on another machine sharing a PostgreSQL gradebook) loses only its current claims,
which another grader takes over when the lease expires.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import nbformat

from .submission import fingerprint

GRADING_MARGIN = 120.0  # seconds a test process may take beyond its cells' time limits


class TesterFailed(Exception):
    """The test process died or hung (a grader fault, not a student's)."""


class TesterProcess:
    """A long-lived ``python -m autograder.tester`` that grades one job at a time."""

    def __init__(self, log_path: Path):
        self.proc: subprocess.Popen | None = None
        self.log_path = log_path
        self._buf = b""

    def _start(self) -> None:
        env = dict(os.environ)
        pkg_parent = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")
        # one thread per grading job (the jobs are the parallelism): idle OpenMP threads spin,
        # and would take the cores the other jobs need
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = "1"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "autograder.tester"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        self._buf = b""

    def grade(self, job: dict, budget: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.close()
            raise TesterFailed("the test process could not be started") from None
        deadline = time.monotonic() + budget
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                self.close()
                raise TesterFailed(f"grading took longer than {budget:.0f} s and was stopped")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                code = self.proc.wait()
                self.close()
                raise TesterFailed(f"the test process died (exit status {code})")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            self.proc = None


class _Heartbeat(threading.Thread):
    """Renews a claim's lease every third of it while the submission is being graded."""

    def __init__(self, ledger, claim, lease: float):
        super().__init__(daemon=True)
        self.ledger, self.claim, self.lease = ledger, claim, lease
        self.stopped = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self.stopped.wait(self.lease / 3):
            try:
                if not self.ledger.heartbeat(self.claim, self.lease):
                    self.lost = True
                    return
            except Exception:  # noqa: BLE001 - a database hiccup: try again next beat
                continue


def _grade_cells(source_nb) -> tuple[set[str], set[str]]:
    """grade_ids of the autograded test cells and of the manually graded answer cells."""
    tests, manual = set(), set()
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            if meta.get("solution") or cell.cell_type != "code":
                manual.add(meta["grade_id"])
            else:
                tests.add(meta["grade_id"])
    return tests, manual


def run_autograde(
    course,
    assignment: str,
    students=None,
    jobs=1,
    force=False,
    progress=False,
    sandbox="auto",
    limits=None,
    show_hidden=False,
    lease_seconds=120.0,
):
    from tqdm.auto import tqdm

    from .course import GradeResult
    from .sandbox import Sandbox

    box = Sandbox.detect(sandbox)  # here, so that a warning or a refusal reaches the instructor
    if progress:
        print(
            f"sandbox: {box.mode}" + (f" ({box.problem})" if box.problem else ""), file=sys.stderr
        )
    nb_name = course.notebook_name(assignment)
    source_path = course.root / "source" / assignment / nb_name
    source_nb = nbformat.read(source_path, as_version=4)
    test_ids, manual_ids = _grade_cells(source_nb)
    n_code = sum(c.cell_type == "code" for c in source_nb.cells)
    budget = n_code * (course.timeout + 5) + GRADING_MARGIN

    submitted = course.submitted_students(assignment)
    chosen = list(students) if students else submitted
    missing = [s for s in chosen if s not in submitted]
    present = [s for s in chosen if s in submitted]
    folder = {s: course.root / "submitted" / s / assignment for s in present}
    ledger = course.ledger()
    ledger.sync(
        assignment, {s: fingerprint(folder[s]) for s in present}, force=force or bool(students)
    )
    only = set(present) if students else None
    grader_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    gb_lock = threading.Lock()
    stop = threading.Event()
    bar = tqdm(
        total=ledger.remaining(assignment),
        disable=not progress,
        unit="submission",
        desc=f"grading {assignment}",
        file=sys.stderr,
    )
    errors: list[BaseException] = []
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []

    def record(claim, result: dict) -> None:
        student = claim.student
        points = {t["grade_id"]: float(t.get("points", 0.0)) for t in result.get("tests", [])}
        answered = result.get("answered", {})
        with gb_lock:  # one open gradebook (opening one costs ~0.6 s), one writer at a time
            gb.update_or_create_student(student)
            sub = gb.update_or_create_submission(assignment, student)
            for nb in sub.notebooks:
                for grade in nb.grades:
                    if grade.name in test_ids:
                        auto = points.get(grade.name, 0.0)
                    elif grade.name in manual_ids:
                        auto = None if answered.get(grade.name) else 0.0
                    else:
                        auto = 0.0
                    grade.auto_score = auto
                    grade.needs_manual_grade = grade.manual_score is not None or auto is None
            gb.db.commit()
            score, max_score = float(sub.score), float(sub.max_score)
        if result.get("notebook"):
            out = course.root / "autograded" / student / assignment
            out.mkdir(parents=True, exist_ok=True)
            (out / nb_name).write_text(result["notebook"], encoding="utf-8")
        detail = {k: result.get(k) for k in ("events", "tests", "answered", "elapsed", "log")}
        ledger.finish(
            claim,
            result["status"],
            score,
            max_score,
            result.get("reason", "")[:1000],
            json.dumps(detail),
        )

    in_flight, in_flight_lock = [0], threading.Lock()
    testers = {}

    def worker(slot: int) -> None:
        tester = testers[slot] = TesterProcess(course.root / ".grading-logs" / f"tester-{slot}.log")
        try:
            while not stop.is_set():
                claim = ledger.claim(assignment, grader_id, lease_seconds, students=only)
                if claim is None:
                    # what is left is being graded: by our other threads (then we are done)
                    # or by other graders, which may have died (wait for their leases)
                    with in_flight_lock:
                        ours = in_flight[0]
                    if ledger.remaining(assignment, students=only) <= ours:
                        return
                    time.sleep(min(5.0, lease_seconds / 4))
                    continue
                with in_flight_lock:
                    in_flight[0] += 1
                try:
                    grade_one(claim, slot)
                finally:
                    with in_flight_lock:
                        in_flight[0] -= 1
        except BaseException as exc:  # noqa: BLE001 - surfaced after the other threads stop
            errors.append(exc)
            stop.set()
        finally:
            tester.close()

    def grade_one(claim, slot: int) -> None:
        beat = _Heartbeat(ledger, claim, lease_seconds)
        beat.start()
        job = {
            "submission": str(course.root / "submitted" / claim.student / assignment),
            "source": str(source_path),
            "release": str(course.root / "release" / assignment / nb_name),
            "release_dir": str(course.root / "release" / assignment),
            "course_root": str(course.root),
            "timeout": course.timeout,
            "slot": slot,
            "limits": limits or {},
            "sandbox": sandbox,
            "show_hidden": show_hidden,
            "cpu": cpus[slot] if 1 < jobs <= len(cpus) else None,
        }
        try:
            result = testers[slot].grade(job, budget)
        except TesterFailed as exc:
            result = {"status": "ungradable", "reason": f"grader fault: {exc}"}
        finally:
            beat.stopped.set()
        if beat.lost:
            return  # another grader took it over; its result counts
        record(claim, result)
        bar.update(1)

    gb = course.gradebook()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(jobs)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.5)
    except KeyboardInterrupt:
        stop.set()
        raise
    finally:
        bar.close()
        gb.close()
    if errors:
        raise RuntimeError(f"grading stopped: {errors[0]!r}") from errors[0]
    results = {r.student: r for r in course.results(assignment, present)}
    out = [GradeResult(s, assignment, "ungradable", reason="no submission folder") for s in missing]
    out += [results[s] for s in present if s in results]
    return out
