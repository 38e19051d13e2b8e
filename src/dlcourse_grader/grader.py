"""Autograding a class: parallel, resumable, exactly once, and never stopped by one submission.

:class:`AutogradeRun` registers every submission in the ledger (:mod:`.ledger`, a table in the
gradebook's database), then ``jobs`` threads each drive one long-lived test process
(:mod:`.tester`) and loop: claim a submission, grade it, write its grades to nbgrader's gradebook
and its outcome to the ledger. Claims are leases renewed while grading, so a grader process that
dies (here or on another machine sharing a PostgreSQL gradebook) loses only its current claims,
which another grader takes over when the lease expires.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ._wire import _clean_tree, wait_for
from .result import GradeResult
from .submission import fingerprint

__all__ = ["AutogradeRun", "TesterFailed", "TesterProcess", "run_autograde"]

GRADING_MARGIN = 120.0  # seconds a test process may take beyond its cells' time limits


class TesterFailed(Exception):
    """The test process died or hung (a grader fault, not a student's)."""


# what SQLAlchemy says of nbgrader's new submissions (see AutogradeRun.quiet_gradebook)
NBGRADER_AUTOFLUSH_WARNING = r"Object of type <Submitted(Assignment|Notebook)> not in session"


class TesterProcess:
    """A long-lived test process (``python -m dlcourse_grader._tester_main``), one job at a time.

    Its temporary files (the students' working folders) live in a folder of its own, removed
    whenever the process is closed, so a test process that is killed mid-submission leaves
    nothing behind.
    """

    def __init__(self, log_path: Path):
        self.proc: subprocess.Popen | None = None
        self.log_path = log_path
        self.tmp: str | None = None
        self._buf = b""
        self.sent_at = 0.0

    def _start(self) -> None:
        env = dict(os.environ)
        pkg_parent = str(Path(__file__).resolve().parent.parent)
        if pkg_parent not in {os.path.realpath(p) for p in sys.path if p}:
            # not installed (run from a copy of the source): let the test process find us.
            # When installed, PYTHONPATH stays as it is: the sandbox treats its entries as
            # the grader's and hides them from students, and that folder holds dlcourse too.
            env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")
        # one thread per grading job (the jobs are the parallelism): idle OpenMP threads spin,
        # and would take the cores the other jobs need
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = "1"
        self.tmp = tempfile.mkdtemp(prefix="dlcourse-tester-")
        os.chmod(self.tmp, 0o711)
        env["DLCOURSE_GRADER_TMP"] = self.tmp  # the students' working folders go here
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dlcourse_grader._tester_main"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        self._buf = b""

    def grade(self, job: dict, budget: float) -> dict:
        """Send ``job``, wait at most ``budget`` seconds for its result."""
        self.send(job)
        return self.receive(budget)

    def send(self, job: dict) -> None:
        """Hand ``job`` to the test process (started if need be), which starts on it at once."""
        if self.proc is None or self.proc.poll() is not None:
            self.close()
            self._start()
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.close()
            raise TesterFailed("the test process could not be started") from None
        self.sent_at = time.monotonic()

    def receive(self, budget: float) -> dict:
        """The result of the job sent last, at most ``budget`` seconds after it was sent."""
        return json.loads(self._read_line(budget - (time.monotonic() - self.sent_at)))

    def _read_line(self, budget: float) -> bytes:
        deadline = time.monotonic() + budget
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not wait_for(fd, left):
                self.close()
                raise TesterFailed(f"grading took longer than {budget:.0f} s and was stopped")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                code = self.proc.wait()
                self.close()
                raise TesterFailed(f"the test process died (exit status {code})")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line

    def close(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            self.proc = None
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


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


@dataclass
class NotebookCells:
    """The graded cells of one notebook of an assignment, by grade_id."""

    tests: set[str] = field(default_factory=set)  # autograded test cells
    answers: set[str] = field(default_factory=set)  # manually graded answer cells
    tasks: set[str] = field(default_factory=set)  # manually graded task cells (no answer cell)

    @classmethod
    def of(cls, nb) -> NotebookCells:
        cells = cls()
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            gid = meta.get("grade_id")
            if meta.get("task"):
                cells.tasks.add(gid)
            elif meta.get("grade"):
                if meta.get("solution") or cell.cell_type != "code":
                    cells.answers.add(gid)
                else:
                    cells.tests.add(gid)
        return cells

    def auto_score(self, gid: str, points: dict, answered: dict, graded: bool) -> float | None:
        """What nbgrader's autograder records for cell ``gid`` (None: to be graded by hand)."""
        if gid in self.tests:
            return points.get(gid, 0.0) if graded else 0.0
        if gid in self.answers:
            return None if graded and answered.get(gid) else 0.0
        return None  # a task cell, or a cell the source no longer has: a person decides


class AutogradeRun:
    """One ``autograde`` of an assignment: prepare, register, grade in parallel, report.

    Parameters are those of :meth:`dlcourse_grader.course.Course.autograde`.
    """

    def __init__(
        self,
        course,
        assignment: str,
        students=None,
        jobs: int = 1,
        force: bool = False,
        progress: bool = False,
        sandbox: str = "auto",
        limits: dict | None = None,
        show_hidden: bool = False,
        lease_seconds: float = 120.0,
        mode: str = "isolated",
    ):
        self.course, self.assignment = course, assignment
        self.students, self.jobs, self.force = students, jobs, force
        self.progress, self.sandbox, self.limits = progress, sandbox, limits or {}
        self.show_hidden, self.lease, self.mode = show_hidden, lease_seconds, mode
        self.grader_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.gb_lock = threading.Lock()
        self.count_lock = threading.Lock()
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.in_flight = 0
        self.testers: dict[int, TesterProcess] = {}

    # ---- steps
    def run(self) -> list[GradeResult]:
        """Grade every submission that needs it; the results of the chosen students."""
        self.check_sandbox()
        self.prepare()
        self.register()
        self.grade_all()
        return self.report()

    def check_sandbox(self) -> None:
        """Detect the sandbox here, so that a warning or a refusal reaches the instructor."""
        from .sandbox import Sandbox

        box = Sandbox.detect(self.sandbox)
        if self.progress:
            problem = f" ({box.problem})" if box.problem else ""
            print(f"sandbox: {box.mode}{problem}; mode: {self.mode}", file=sys.stderr)

    def prepare(self) -> None:
        """The notebooks to grade, each as nbgrader's gradebook has it, and their cells."""
        self.notebooks = self.course.graded_sources(self.assignment)
        self.cells: dict[str, NotebookCells] = {}
        n_code = 0
        for spec in self.notebooks:
            nb = nbformat.read(spec["source"], as_version=4)
            self.cells[spec["name"]] = NotebookCells.of(nb)
            n_code += sum(c.cell_type == "code" for c in nb.cells)
        self.budget = n_code * (self.course.timeout + 5) + GRADING_MARGIN * len(self.notebooks)
        config = self.course._config()
        enabled = config.IgnorePattern.get("enabled", False)
        self.ignore_pattern = str(config.IgnorePattern.get("pattern", "")) if enabled else ""

    def register(self) -> None:
        """Put every chosen submission in the ledger (changed ones are graded again)."""
        submitted = self.course.submitted_students(self.assignment)
        chosen = list(self.students) if self.students else submitted
        self.missing = [s for s in chosen if s not in submitted]
        self.present = [s for s in chosen if s in submitted]
        self.ledger = self.course.ledger()
        folders = {s: self.course.submission_folder(self.assignment, s) for s in self.present}
        self.ledger.sync(
            self.assignment,
            {s: fingerprint(f) for s, f in folders.items()},
            force=self.force or bool(self.students),
        )
        self.only = set(self.present) if self.students else None

    def grade_all(self) -> None:
        """``jobs`` threads, each with its own test process, until nothing is left."""
        from tqdm.auto import tqdm

        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.cpus = cpus if 1 < self.jobs <= len(cpus) else []
        self.bar = tqdm(
            total=self.ledger.remaining(self.assignment),
            disable=not self.progress,
            unit="submission",
            desc=f"grading {self.assignment}",
            file=sys.stderr,
        )
        self.gb = self.course.gradebook()
        self.quiet_gradebook()
        threads = [
            threading.Thread(target=self.worker, args=(i,), daemon=True) for i in range(self.jobs)
        ]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.5)
        except KeyboardInterrupt:
            self.stop.set()
            raise
        finally:
            self.bar.close()
            self.gb.close()
        if self.errors:
            raise RuntimeError(f"grading stopped: {self.errors[0]!r}") from self.errors[0]

    @staticmethod
    def quiet_gradebook() -> None:
        """Silence SQLAlchemy's warning about nbgrader's new submissions.

        ``Gradebook.add_submission`` reads a new submission's notebooks before the submission
        is in its session, and SQLAlchemy warns that it will not add it "along" those relations
        (three warnings per new submission, which plain ``nbgrader autograde`` prints too, as
        its documentation shows); the submission is added right after, with all its grades.
        """
        from sqlalchemy.exc import SAWarning

        warnings.filterwarnings("ignore", NBGRADER_AUTOFLUSH_WARNING, SAWarning)

    def report(self) -> list[GradeResult]:
        results = {r.student: r for r in self.course.results(self.assignment, self.present)}
        out = [
            GradeResult(s, self.assignment, "ungradable", reason="no submission folder")
            for s in self.missing
        ]
        return out + [results[s] for s in self.present if s in results]

    # ---- one thread
    def worker(self, slot: int) -> None:
        """Claim, grade, record, until nothing is left. Pipelined: the next submission is
        claimed and handed to the test process before the previous one's grades are written,
        so the test process does not wait while the gradebook is updated."""
        log = self.course.root / ".grading-logs" / f"tester-{slot}.log"
        tester = self.testers[slot] = TesterProcess(log)
        graded = None  # (claim, heartbeat, result) graded but not yet recorded
        current = None  # (claim, heartbeat) handed to the test process, no result yet
        try:
            while not self.stop.is_set():
                claim = self.ledger.claim(
                    self.assignment, self.grader_id, self.lease, students=self.only
                )
                if claim is None:
                    if graded is not None:
                        done, graded = graded, None
                        self.finish_one(*done)
                        continue
                    if self.nothing_left():
                        return
                    time.sleep(min(5.0, self.lease / 4))
                    continue
                with self.count_lock:
                    self.in_flight += 1
                beat = _Heartbeat(self.ledger, claim, self.lease)
                beat.start()
                current = (claim, beat)
                sent = self.send_one(claim, slot)
                if graded is not None:
                    done, graded = graded, None
                    self.finish_one(*done)
                graded, current = (claim, beat, self.receive_one(slot, sent)), None
            if graded is not None:  # stopped: what is graded is still recorded
                done, graded = graded, None
                self.finish_one(*done)
        except BaseException as exc:  # noqa: BLE001 - surfaced after the other threads stop
            self.errors.append(exc)
            self.stop.set()
        finally:
            for left in (graded, current):  # not recorded: the lease expires, it is graded again
                if left is not None:
                    left[1].stopped.set()
                    with self.count_lock:
                        self.in_flight -= 1
            tester.close()

    def nothing_left(self) -> bool:
        """What is left is being graded by our other threads (done) or by other graders,
        which may have died (then wait for their leases to expire)."""
        with self.count_lock:
            ours = self.in_flight
        return self.ledger.remaining(self.assignment, students=self.only) <= ours

    def job(self, student: str, slot: int) -> dict:
        """What the test process needs to grade one submission."""
        return {
            "submission": str(self.course.submission_folder(self.assignment, student)),
            "notebooks": self.notebooks,
            "release_dir": str(self.course.root / "release" / self.assignment),
            "course_root": str(self.course.root),
            "timeout": self.course.timeout,
            "slot": slot,
            "limits": self.limits,
            "sandbox": self.sandbox,
            "show_hidden": self.show_hidden,
            "mode": self.mode,
            "ignore_pattern": self.ignore_pattern,
            "cpu": self.cpus[slot] if self.cpus else None,
        }

    def send_one(self, claim, slot: int) -> dict | None:
        """Hand a claimed submission to the slot's test process; a failure as a result."""
        try:
            self.testers[slot].send(self.job(claim.student, slot))
        except TesterFailed as exc:
            return {"status": "ungradable", "reason": f"grader fault: {exc}"}
        return None

    def receive_one(self, slot: int, failed: dict | None) -> dict:
        """The result of what :meth:`send_one` handed over (or its failure)."""
        if failed is not None:
            return failed
        try:
            return self.testers[slot].receive(self.budget)
        except TesterFailed as exc:
            return {"status": "ungradable", "reason": f"grader fault: {exc}"}

    def finish_one(self, claim, beat: _Heartbeat, result: dict) -> None:
        """Record a graded submission (its lease renewed until then), unless another grader
        took it over meanwhile (its result counts)."""
        try:
            if not beat.lost:
                self.record(claim, _clean_tree(result))  # no lone surrogate reaches a file
                self.bar.update(1)
        finally:
            beat.stopped.set()
            with self.count_lock:
                self.in_flight -= 1

    def record(self, claim, result: dict) -> None:
        """Write one submission's grades to the gradebook, its notebooks and its outcome."""
        student = claim.student
        graded = result.get("status") == "graded"
        points: dict[str, dict[str, float]] = {}
        for t in result.get("tests", []):
            nb = t.get("notebook") or self.notebooks[0]["name"]
            points.setdefault(nb, {})[t["grade_id"]] = float(t.get("points", 0.0))
        answered = result.get("answered", {})
        notebooks = result.get("notebooks", {})
        with self.gb_lock:  # one open gradebook (opening one costs ~0.6 s), one writer at a time
            self.gb.update_or_create_student(student)
            sub = self.gb.update_or_create_submission(self.assignment, student)
            for nb in sub.notebooks:
                name = nb.name + ".ipynb"
                cells = self.cells.get(name, NotebookCells())
                present = graded and name in notebooks
                for grade in nb.grades:
                    auto = cells.auto_score(
                        grade.name, points.get(name, {}), answered.get(name, {}), present
                    )
                    grade.auto_score = auto  # a person's manual_score is never touched
                    # waiting for a person exactly while answered and not graded by hand
                    grade.needs_manual_grade = auto is None and grade.manual_score is None
            self.gb.db.commit()
            score, max_score = float(sub.score), float(sub.max_score)
        out = self.course.root / "autograded" / student / self.assignment
        for name, text in notebooks.items():
            out.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(text, encoding="utf-8")
        keys = ("events", "tests", "answered", "elapsed", "log", "flags", "mode", "round_trips")
        detail = {k: result.get(k) for k in keys}
        self.ledger.finish(
            claim,
            result["status"],
            score,
            max_score,
            result.get("reason", "")[:1000],
            json.dumps(detail),
        )


def run_autograde(course, assignment: str, **options) -> list[GradeResult]:
    """Grade ``assignment`` (see :class:`AutogradeRun`); the function form of the class."""
    return AutogradeRun(course, assignment, **options).run()
