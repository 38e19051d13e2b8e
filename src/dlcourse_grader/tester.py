"""Grading one submission: student cells in a sandboxed process, tests in this (trusted) one.

The grader starts a long-lived process per parallel slot that runs :func:`main`
(``python -m dlcourse_grader._tester_main``) and sends it one job per line on stdin; it answers
one result per line on stdout. For each submission:

1. the submitted notebook is read and merged with the source (:mod:`dlcourse_grader.submission`);
2. a fresh student process (``_worker.py``) starts in the sandbox, and runs the student's cells
   and the locked setup cells in order;
3. each test cell runs **here**, in a namespace where the locked cells' helpers and modules are
   this process's own copies, and the names the answer cells define are fetched from the student
   process through :mod:`dlcourse_grader._wire` (plain data by value, other objects as proxies);
4. a cell that runs past the time limit, or kills the student process, costs only itself: the
   process is restarted, the cells that completed before are run again, and grading goes on.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import types
from pathlib import Path

import nbformat

from . import _wire
from ._wire import clean_text
from .modes import (
    answer_imports,
    bound_names,
    helper_names,
    seeding_statements,
    shared_globals,
    uses_files,
)
from .release import off_limits
from .sandbox import copy_inputs
from .similarity import copied_from
from .submission import (
    Plan,
    Ungradable,
    hidden_line_range,
    merge,
    read_submission,
    strip_hidden_tests,
    student_names,
)

WORKER = Path(__file__).with_name("_worker.py")
WIRE = Path(__file__).with_name("_wire.py")
MAX_DEATHS = 5  # then the remaining cells are not run
OUTPUT_SHOWN = 20_000  # characters of a cell's output kept in the graded notebook
NOTEBOOK_OUTPUT = 1_000_000  # characters of output kept in a whole graded notebook


class _Timeout(_wire.Deadline):
    pass


def _on_alarm(signum, frame):
    raise _Timeout()


#: Where the slot locks live: one folder for the whole machine, whatever TMPDIR a grader has
#: (two graders with different TMPDIRs once took the same slot, and the start of one killed
#: the other's student processes, which run as the same uid).
SLOT_LOCKS = Path(os.environ.get("DLCOURSE_SLOT_LOCKS", "/tmp")) / "dlcourse-sandbox-slots"


def acquire_slot(preferred: int = 0) -> tuple[int, int]:
    """Reserve a sandbox slot (its own unprivileged uid) machine-wide; returns (slot, lock fd).

    Every process killed at the end of a submission is found by its uid, so two graders (or a
    grader and the test suite) must never share a slot: the lock is held until this process
    exits.
    """
    import fcntl

    from .sandbox import MAX_SLOTS as slots

    folder = SLOT_LOCKS
    folder.mkdir(mode=0o755, exist_ok=True)
    for i in range(slots):
        slot = (preferred + i) % slots
        fd = os.open(folder / f"{slot}.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return slot, fd
    raise RuntimeError(f"all {slots} sandbox slots are in use")


def describe_exit(code: int | None) -> str:
    """'exit code N' or 'signal SIGSEGV' (bwrap reports a child killed by S as 128 + S)."""
    from .sandbox import Sandbox

    if code is None:
        return "still running"
    sig = Sandbox.signal_of(code)
    if sig is None:
        return f"exit code {code}"
    try:
        return f"signal {signal.Signals(sig).name}"
    except ValueError:
        return f"signal {sig}"


_FILES_GUARD: dict[str, str | None] = {"cwd": None}


def _guard_files(event: str, args) -> None:
    """Audit hook: while a test reads the student's folder, no path in it may go through a
    symbolic link (the student's links would resolve against this process's root)."""
    cwd = _FILES_GUARD["cwd"]
    if cwd is None or event != "open" or not args or isinstance(args[0], int):
        return
    path = os.fsdecode(args[0])
    full = os.path.normpath(os.path.join(cwd, path))  # an absolute path stays as it is
    if not (full == cwd or full.startswith(cwd + os.sep)):
        if not os.path.isabs(path):  # '..' out of the folder
            raise PermissionError(f"{path!r} leads out of the submission's folder")
        return
    step = cwd
    for part in os.path.relpath(full, cwd).split(os.sep):
        step = os.path.join(step, part)
        if os.path.islink(step):
            raise PermissionError(f"{path!r} goes through a symbolic link")


sys.addaudithook(_guard_files)


class _FakeIPython:
    """Stands in for ``get_ipython()`` when locked cells run in the test process."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class TrustedNamespace(dict):
    """Globals of the test cells: own names first, then the student's through the pipe."""

    def __init__(self, session: Session, from_student: set[str]):
        super().__init__()
        self._session = session
        self._from_student = from_student
        self["__builtins__"] = builtins
        self["__name__"] = "__main__"
        self["get_ipython"] = _FakeIPython

    def __missing__(self, name):
        imported = self._session.imports.get(name)
        if imported is not None:  # the tests' own copy of what an answer cell imported
            module, attr = imported
            try:
                value = importlib.import_module(module)
                value = getattr(value, attr) if attr else value
            except (ImportError, AttributeError):
                pass  # a module only the student's process has: use theirs
            else:
                super().__setitem__(name, value)
                return value
        if name not in self._from_student and hasattr(builtins, name):
            raise KeyError(name)  # Python then looks in builtins
        return self._session.student_value(name)

    def __setitem__(self, name, value):
        """A test cell that sets a global the student's functions read sends it across."""
        super().__setitem__(name, value)
        if self._session.sharing and name in self._session.shared:
            self._session.share(name, value)


class Session:
    """The grading of one submission (one student process at a time, restarted when it dies)."""

    def __init__(self, job: dict, plan: Plan, sandbox, source_nb):
        self.job = job
        self.plan = plan
        self.sandbox = sandbox
        self.timeout = float(job["timeout"])
        self.events = list(plan.events)
        self.completed: list[int] = []  # plan indices of student/setup cells that finished
        self.deaths = 0  # student processes lost to a crash or a timeout
        self.starts = 0
        self.round_trips = 0  # over the pipe, all student processes of this notebook together
        self.proc = None
        self.ep = None
        self.log = None
        self.work: Path | None = None
        answer_sources = [
            c.source
            for c in source_nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
        ]
        self.shared = shared_globals(answer_sources)
        self.sharing = False  # True while a test cell runs
        self.pushed: dict[str, object] = {}  # globals sent across, sent again after a restart
        self.imports = {
            name: where
            for name, where in answer_imports(answer_sources).items()
            if importlib.util.find_spec(where[0].split(".")[0]) is not None
        }
        self.ns = TrustedNamespace(self, student_names(answer_sources) - set(self.imports))
        self.flags: list[str] = []  # what a person should look at (the grade stands)
        # modules the student's code may not import (the source's metadata, not the student's)
        self.off_limits = off_limits(source_nb)
        # in the folder of this test process, which the grader removes whenever it stops it
        folder = os.environ.get("DLCOURSE_GRADER_TMP")
        self.base = Path(tempfile.mkdtemp(prefix="dlcourse-grade-", dir=folder or None))
        os.chmod(self.base, 0o711)

    # ---- the student process
    def _start(self) -> None:
        self.starts += 1
        work = self.work = self.base / f"work{self.starts}"
        work.mkdir()
        release = Path(self.job["release_dir"])
        # the student's files, then the assignment's (which win); regular files and folders
        # only: links, FIFOs and device nodes are left out, and there is a cap on the total
        events = copy_inputs(
            [Path(self.job["submission"]), release],
            work,
            exclude=lambda name: name.endswith(".ipynb") or name.startswith("."),
        )
        if self.starts == 1:
            self.events += events
        self.sandbox.prepare(work, slot=self.job["slot"])
        r1, w1 = os.pipe()  # test process -> student
        r2, w2 = os.pipe()  # student -> test process
        self.log = open(self.base / f"worker{self.starts}.log", "wb")  # noqa: SIM115
        try:
            self.proc = self.sandbox.popen(
                [sys.executable, "-I", str(WORKER), str(r1), str(w2)],
                workdir=work,
                readable=[WORKER.parent],
                forbidden=[self.job["course_root"]],
                slot=self.job["slot"],
                limits=self.job["limits"],
                pass_fds=(r1, w2),
                stdin=subprocess.DEVNULL,
                stdout=self.log,
                stderr=self.log,
            )
        finally:
            os.close(r1)
            os.close(w2)
        self.ep = _wire.Endpoint(r2, w1, "t", self._serve_student)
        self.ep.proxy_class = _wire.StudentObject
        self.ep.export_filter = lambda obj: callable(obj) and not isinstance(obj, type)
        if self.off_limits:
            self.ep.deadline = time.monotonic() + self.timeout
            try:
                self.ep.request("off_limits", modules=self.off_limits)
            finally:
                self.ep.deadline = None

    def _stop(self) -> None:
        if self.proc is not None:
            self.sandbox.kill(self.proc)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.ep is not None:
            self.round_trips += self.ep.round_trips
            for fd in (self.ep.rfd, self.ep.wfd):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.ep.rfd = self.ep.wfd = -1
        if self.log is not None:
            self.log.close()
        self.proc = self.ep = self.log = None

    def close(self) -> None:
        self._stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def _exit_status(self) -> str:
        if self.proc is None:
            return "not running"
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.sandbox.kill(self.proc)
            self.proc.wait(timeout=5)
        return describe_exit(self.proc.returncode)

    def _died(self, where: str, why: str, report: bool = True) -> None:
        """Count a lost student process (a crash or a timeout kill) and clean up after it."""
        self.deaths += 1
        if report:
            self.events.append(f"the student's Python process died {where} ({why})")
        self._stop()

    def alive(self) -> bool:
        """Make sure a student process is running with every completed cell re-run."""
        while self.ep is None:
            if self.deaths >= MAX_DEATHS:
                return False
            self._start()
            for idx in list(self.completed):
                cell = self.plan.cells[idx]
                status = self._run_in_student(cell, replay=True)
                if status == "died":
                    self.completed.remove(idx)
                    break
            for name, value in list(self.pushed.items()) if self.ep is not None else []:
                try:
                    self.share(name, value)
                except (_wire.ProtocolError, _wire.Deadline, ValueError, TypeError):
                    pass
        return True

    def _serve_student(self, ep, msg):
        if msg.get("op") != "callback":
            raise PermissionError("the student process may only call functions it was given")
        fn = ep.decode(msg.get("fn"))
        if isinstance(fn, _wire._ProxyBase) or not callable(fn):
            raise PermissionError("not a function the tests passed in")
        return fn(*ep.decode(msg.get("args")), **ep.decode(msg.get("kwargs")))

    def student_files(self) -> Path | None:
        """The student's working folder, live, for a test that reads files (``None`` once
        the student's process has ended).

        The folder lives in the sandbox (a tmpfs only its processes see): the grader reads it
        through ``/proc/PID/root`` (:meth:`Sandbox.workdir_view`). While the test runs,
        :func:`_guard_files` refuses to open a path under it that goes through a symbolic link
        (the student's links would resolve in the grader's filesystem).
        """
        if self.proc is None or self.work is None:
            return None
        return self.sandbox.workdir_view(self.proc, self.work)

    def share(self, name: str, value) -> None:
        """Set global ``name`` in the student's process (by value, or as a callable)."""
        if self.ep is None:
            return
        try:
            encoded = self.ep.encode(value)
        except (ValueError, TypeError):
            return  # a value that cannot cross (a module): the student's code does without
        self.pushed[name] = value
        self.ep.request("setname", name=name, value=encoded)

    def seed_student(self, cell) -> None:
        """Seed the student's generators as the test cell seeds its own (``np.random.seed``),
        so that code drawing from them gives the same values at every regrade."""
        for target, method, args in seeding_statements(cell.source):
            try:
                module = eval(target, self.ns)  # noqa: S307 - the instructor's test code
            except Exception:  # noqa: BLE001 - not a module the test can name: leave it
                continue
            if isinstance(module, types.ModuleType):
                load = f"__import__('importlib').import_module({module.__name__!r})"
                self.ep.request("run_cell", source=f"{load}.{method}({args})", trusted=True)

    def student_value(self, name: str):
        if not self.alive():
            raise NameError(
                f"name {name!r} is not available: the student's process died {self.deaths} times"
            )
        return self.ep.request("getname", name=name)

    # ---- cells
    def _run_in_student(self, cell, replay: bool = False, split: bool = False):
        """Run a cell in the student process: 'ok', 'error', 'timeout' or 'died'.

        With ``split`` (a test cell in compatible mode), the worker's reply itself on success
        (stdout, stderr, error and result apart); its output is left to the caller.
        """
        label = f"in cell {cell.grade_id!r}" if cell.grade_id else f"in cell {cell.index + 1}"
        self.ep.deadline = time.monotonic() + self.timeout
        try:
            reply = self.ep.request(
                "run_cell", source=cell.source, split=split, trusted=cell.kind != "student"
            )
        except _wire.Deadline:
            self.events.append(
                f"cell {cell.grade_id or cell.index + 1} timed out after {self.timeout:g} s"
                + (" (while re-running it after a restart)" if replay else "")
            )
            self._died(label, "killed after the time limit", report=False)
            if not replay:
                self._error_output(cell, "CellTimeout", f"timed out after {self.timeout:g} s")
            return "timeout" if not replay else "died"
        except _wire.ProtocolError as exc:
            why = self._exit_status() if isinstance(exc, _wire.PeerDied) else str(exc)
            self._died(label + (" while re-running it after a restart" if replay else ""), why)
            if not replay:
                self._error_output(
                    cell, "ProcessDied", f"the Python process died ({why}); it was restarted"
                )
            return "died"
        finally:
            if self.ep is not None:
                self.ep.deadline = None
        if split:
            return reply if isinstance(reply, dict) else {"ok": False, "error": None}
        if not replay:
            self._record_output(cell, reply)
            self._note_off_limits(cell, reply)
        ok = isinstance(reply, dict) and reply.get("ok") is True
        return "ok" if ok else "error"

    def _note_off_limits(self, cell, reply) -> None:
        """An answer that imported an off-limits module: say so in the events and flags."""
        err = reply.get("error") if isinstance(reply, dict) else None
        if isinstance(err, dict) and err.get("type") == "OffLimitsError":
            where = cell.grade_id or f"cell {cell.index + 1}"
            note = f"{where}: {str(err.get('msg', ''))[:300]}"
            self.events.append(note)
            self.flags.append(f"off limits: {note}")

    def _error_output(self, cell, ename: str, evalue: str) -> None:
        self.plan.notebook.cells[cell.index].outputs.append(
            nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])
        )

    def _record_output(self, cell, reply) -> None:
        nbcell = self.plan.notebook.cells[cell.index]
        if not isinstance(reply, dict):
            return
        out = reply.get("output") if isinstance(reply.get("output"), dict) else {}
        text, chars = str(out.get("text", "")), int(out.get("chars", 0) or 0)
        if chars > len(text) or len(text) > OUTPUT_SHOWN:
            self.events.append(
                f"output of cell {cell.grade_id or cell.index + 1} truncated "
                f"({chars / 1e6:.1f} million characters printed)"
            )
            text = text[:OUTPUT_SHOWN] + "\n[... output truncated ...]\n"
        if text:
            nbcell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text))
        err = reply.get("error")
        if isinstance(err, dict):
            nbcell.outputs.append(
                nbformat.v4.new_output(
                    "error",
                    ename=str(err.get("type", "Error"))[:100],
                    evalue=str(err.get("msg", ""))[:2000],
                    traceback=[str(err.get("tb", ""))[-4000:]],
                )
            )

    def _run_trusted(self, cell) -> None:
        """A locked setup cell: define the instructor's helpers in the test process too."""
        from IPython.core.inputtransformer2 import TransformerManager

        try:
            code = compile(
                TransformerManager().transform_cell(cell.source), f"<cell {cell.grade_id}>", "exec"
            )
            if self.ep is not None:  # its look-ups of student names wait no longer than it
                self.ep.deadline = time.monotonic() + self.timeout
            self._with_alarm(lambda: exec(code, self.ns))
        except BaseException as exc:  # noqa: BLE001 - reported, grading goes on
            self.events.append(
                f"locked cell {cell.grade_id!r} failed in the test process: "
                f"{type(exc).__name__}: {str(exc)[:200]}"
            )
        finally:
            if self.ep is not None:
                self.ep.deadline = None
        for name in self.ns._from_student:
            self.ns.pop(name, None)

    def _with_alarm(self, fn):
        old = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, self.timeout + 1.0)
        try:
            return fn()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

    @staticmethod
    def _new_outcome(cell) -> dict:
        return {
            "grade_id": cell.grade_id,
            "max_points": cell.points,
            "points": 0.0,
            "passed": False,
            "message": "",
            "hidden": hidden_line_range(cell.source) is not None,
        }

    def _run_test(self, cell) -> dict:
        """Run a test cell here, against the student's values; its outcome (points, message)."""
        outcome = self._new_outcome(cell)
        if not self.alive():
            outcome["message"] = (
                f"not run: the student's Python process died {self.deaths} times before this test"
            )
            return outcome
        failed_line = self._execute_test(cell, outcome)
        shown_output = self._take_output(cell)
        self._report_test(cell, outcome, failed_line, shown_output)
        return outcome

    def _execute_test(self, cell, outcome: dict) -> int | None:
        """Execute the test cell in the trusted namespace; the line where it failed, if known."""
        filename = f"<test {cell.grade_id}>"
        self.ep.deadline = time.monotonic() + self.timeout
        cwd = os.getcwd()
        try:
            code = compile(cell.source, filename, "exec")
            self.seed_student(cell)
            self.sharing = True
            folder = self.student_files() if uses_files(cell.source) else None
            if folder is not None:
                os.chdir(folder)  # relative paths see the student's files
                _FILES_GUARD["cwd"] = str(folder)
            self._with_alarm(lambda: exec(code, self.ns))
            outcome.update(points=cell.points, passed=True)
        except _wire.Deadline:
            outcome["message"] = f"timed out after {self.timeout:g} s"
            self.events.append(f"test {cell.grade_id} timed out after {self.timeout:g} s")
            self._died(f"in test {cell.grade_id!r}", "killed after the time limit", report=False)
        except _wire.PeerDied:
            why = self._exit_status()
            outcome["message"] = f"your code crashed the Python process ({why})"
            self._died(f"in test {cell.grade_id!r}", why)
        except _wire.ProtocolError as exc:
            outcome["message"] = f"your code broke the grader's connection ({exc})"
            self._died(f"in test {cell.grade_id!r}", str(exc))
        except BaseException as exc:  # noqa: BLE001 - any failure of a test is a failed test
            lines = [n for f, n in traceback.walk_tb(exc.__traceback__)
                     if f.f_code.co_filename == filename]  # fmt: skip
            try:
                text = f"{type(exc).__name__}: {exc}"
            except Exception:  # noqa: BLE001
                text = type(exc).__name__
            outcome["message"] = clean_text(text)[:2000]
            outcome["failed_line"] = lines[-1] if lines else None
            return outcome["failed_line"]
        finally:
            self.sharing = False
            _FILES_GUARD["cwd"] = None
            os.chdir(cwd)
        return None

    def _take_output(self, cell) -> str:
        """What the student's code printed while the test ran."""
        if self.ep is None:
            return ""
        self.ep.deadline = time.monotonic() + 10
        try:
            out = self.ep.request("output")
            return (
                clean_text(str(out.get("text", "")))[:OUTPUT_SHOWN] if isinstance(out, dict) else ""
            )
        except (_wire.ProtocolError, _wire.Deadline):
            self._died(f"after test {cell.grade_id!r}", "did not answer")
            return ""
        finally:
            if self.ep is not None:
                self.ep.deadline = None

    def _report_test(self, cell, outcome: dict, failed_line, shown_output: str) -> None:
        """Hide what a hidden test must not show; put the outcome in the graded notebook."""
        hidden = hidden_line_range(cell.source)
        in_hidden = hidden is not None and (
            failed_line is None or hidden[0] <= failed_line <= hidden[1]
        )
        outcome["failed_in_hidden"] = (not outcome["passed"]) and in_hidden
        show = self.job.get("show_hidden", False)
        nbcell = self.plan.notebook.cells[cell.index]
        if hidden is not None and not show and not outcome["passed"] and in_hidden:
            timed_out = "timed out" in outcome["message"]
            outcome["message"] = "a hidden test failed" + (
                f" ({outcome['message']})" if timed_out else ""
            )
        if shown_output and (hidden is None or show):
            nbcell.outputs.append(
                nbformat.v4.new_output("stream", name="stdout", text=shown_output)
            )
        if outcome["passed"]:
            nbcell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text="passed\n"))
        else:
            nbcell.outputs.append(
                nbformat.v4.new_output(
                    "error", ename="TestFailed", evalue=outcome["message"], traceback=[]
                )
            )

    def _run_code_cell(self, cell) -> None:
        """Run a student or locked setup cell; a setup cell gets one more try in a fresh process.

        A locked setup cell is the instructor's code (imports, data, helpers) that every later
        cell needs: when it times out or its process dies (a machine that is busy for a moment,
        a cold start), every task of the submission would fail. So it is run once more after
        the restart, with the same time limit and the student's earlier cells replayed first.
        """
        outputs = self.plan.notebook.cells[cell.index].outputs
        for attempt in range(2 if cell.kind == "setup" else 1):
            if not self.alive():
                outputs.append(
                    nbformat.v4.new_output(
                        "stream", name="stderr", text="not run: the process died too often\n"
                    )
                )
                return
            if attempt:
                self.events.append(f"locked cell {cell.grade_id!r} run again in a fresh process")
                outputs.clear()
            if self._run_in_student(cell) in ("ok", "error"):
                self.completed.append(cell.index)
                return

    def _after_setup(self, cell) -> None:
        self._run_trusted(cell)  # the instructor's helpers, in the test process too

    def flag_copies(self) -> None:
        """Flag answers whose code is mostly that of an off-limits module (points kept)."""
        for cell in self.plan.cells:
            if cell.kind != "student" or not self.off_limits:
                continue
            source = self.plan.notebook.cells[cell.index].source
            for module, share in copied_from(source, self.off_limits):
                where = cell.grade_id or f"cell {cell.index + 1}"
                self.flags.append(
                    f"similar: answer {where} shares {share:.0%} of its code with {module} "
                    "(copied from the reference implementation?)"
                )

    def run(self) -> list[dict]:
        """Run the plan's cells in order; the outcome of each test cell."""
        self.flag_copies()
        tests = []
        for cell in self.plan.cells:
            if cell.kind in ("student", "setup"):
                self._run_code_cell(cell)
                if cell.kind == "setup":
                    self._after_setup(cell)
            elif cell.kind == "test":
                tests.append(self._run_test(cell))
        return tests


def _number(output) -> bool:
    """Whether an execute_result is a number (nbgrader's partial credit); other results of a
    test cell with hidden tests are not shown."""
    try:
        float(str(output.get("data", {}).get("text/plain", "")))
    except ValueError:
        return False
    return True


class CompatibleSession(Session):
    """Compatible mode: every cell, tests included, runs in the student's process, in order.

    These are nbgrader's semantics (one kernel per notebook, test cells that set globals,
    mock, capture output, read the working directory, seed NumPy's generator), inside the same
    sandbox and limits as isolated mode. A test cell is scored as nbgrader scores it
    (:func:`nbgrader.utils.determine_grade`): an error or any stderr scores 0 (after the
    course's ``IgnorePattern``), a number as the cell's result is partial credit. The hidden
    tests reach the student's process (they run there), but never the graded notebook or the
    feedback. After each test cell an integrity probe checks that builtins and assertion
    helpers are the ones the process started with; tampering flags the submission for review.
    """

    def __init__(self, job: dict, plan: Plan, sandbox, source_nb):
        super().__init__(job, plan, sandbox, source_nb)
        pattern = job.get("ignore_pattern") or ""
        self.ignore = re.compile(pattern) if pattern else None
        # names the instructor's test cells bind: they may redefine a locked cell's helpers
        self.rebound = set().union(*(bound_names(c.source) for c in plan.cells if c.kind == "test"))

    def _start(self) -> None:
        super()._start()
        self._ask("watch", self.timeout, preload=True)  # a broken start shows at the first cell

    def _ask(self, op: str, seconds: float, **fields):
        """The student process's answer to a request of the probe's, or None when it gives
        none within ``seconds`` (a process that died is noticed at the next cell)."""
        if self.ep is None:
            return None
        self.ep.deadline = time.monotonic() + seconds
        try:
            return self.ep.request(op, **fields)
        except (_wire.ProtocolError, _wire.Deadline):
            return None
        finally:
            if self.ep is not None:
                self.ep.deadline = None

    def _probe(self, after: str) -> None:
        found = self._ask("probe", 10)
        for what in found if isinstance(found, list) else []:
            what = clean_text(str(what))[:200]
            if not any(flag.startswith(f"integrity: {what} ") for flag in self.flags):
                flag = f"integrity: {what} (noticed after {after})"
                self.flags.append(flag)
                self.events.append(flag + "; flagged for review")
            if len(self.flags) >= 20:
                break

    def _after_setup(self, cell) -> None:
        self._watch(cell)  # the setup cell ran in the student's process only

    def _watch(self, cell) -> None:
        """Have the probe remember the helpers the locked cell defined, and its imports."""
        self._ask("watch", self.timeout, names=sorted(helper_names(cell.source) - self.rebound))

    def _run_test(self, cell) -> dict:
        """Run a test cell in the student's process and score it as nbgrader would."""
        outcome = self._new_outcome(cell)
        nbcell = self.plan.notebook.cells[cell.index]
        if not self.alive():
            outcome["message"] = (
                f"not run: the student's Python process died {self.deaths} times before this test"
            )
            nbcell.outputs.append(
                nbformat.v4.new_output("error", ename="TestFailed", evalue=outcome["message"])
            )
            return outcome
        reply = self._run_in_student(cell, split=True)
        if reply in ("timeout", "died"):
            outcome["message"] = (
                f"timed out after {self.timeout:g} s"
                if reply == "timeout"
                else "your code crashed the Python process"
            )
            return outcome
        self.completed.append(cell.index)
        outputs = self._outputs(reply)
        points = self._score(cell, outputs)
        outcome.update(points=points, passed=points >= cell.points)
        outcome["message"] = self._message(cell, outputs, points)
        failed_line = reply.get("failed_line")
        nbcell.outputs = self._shown(cell, outcome, outputs, failed_line)
        self._probe(f"test {cell.grade_id!r}")
        return outcome

    def _outputs(self, reply: dict) -> list:
        """The cell's outputs as a kernel would record them (stderr after the course's
        ``IgnorePattern``), from what the student's process reported."""
        stdout = clean_text((reply.get("output") or {}).get("text", ""))
        stderr = clean_text((reply.get("stderr") or {}).get("text", ""))
        err = reply.get("error") if isinstance(reply.get("error"), dict) else None
        result = reply.get("result")
        outputs = []
        if stdout:
            outputs.append(nbformat.v4.new_output("stream", name="stdout", text=stdout))
        if stderr and not (self.ignore and self.ignore.search(stderr)):
            outputs.append(nbformat.v4.new_output("stream", name="stderr", text=stderr))
        if err is not None:
            outputs.append(
                nbformat.v4.new_output(
                    "error",
                    ename=clean_text(err.get("type", "Error"))[:100],
                    evalue=clean_text(err.get("msg", ""))[:2000],
                    traceback=[clean_text(err.get("tb", ""))[-4000:]],
                )
            )
        elif isinstance(result, str):
            data = {"text/plain": clean_text(result)}
            outputs.append(
                nbformat.v4.new_output("execute_result", data=data, execution_count=None)
            )
        return outputs

    @staticmethod
    def _score(cell, outputs: list) -> float:
        """nbgrader's score of a test cell with these outputs (its own ``determine_grade``)."""
        from nbgrader.utils import determine_grade

        meta = {"nbgrader": {"grade": True, "solution": False, "points": cell.points,
                             "grade_id": cell.grade_id}}  # fmt: skip
        scored = nbformat.v4.new_code_cell(cell.source, metadata=meta)
        scored.outputs = outputs
        try:
            points, _ = determine_grade(scored)
        except Exception:  # noqa: BLE001 - e.g. a malformed result: nbgrader would fail the cell
            return 0.0
        return float(points or 0.0)

    @staticmethod
    def _message(cell, outputs: list, points: float) -> str:
        errors = [o for o in outputs if o.output_type == "error"]
        if errors:
            return f"{errors[-1].ename}: {errors[-1].evalue}"[:2000]
        if points < cell.points:
            if any(o.get("name") == "stderr" for o in outputs):
                return "the cell wrote to stderr"
            return f"partial credit: {points:g} of {cell.points:g}"
        return ""

    def _shown(self, cell, outcome: dict, outputs: list, failed_line) -> list:
        """The outputs the graded notebook keeps: none of a hidden test's, only its score."""
        hidden = hidden_line_range(cell.source)
        failed_line = failed_line if isinstance(failed_line, int) else None
        in_hidden = hidden is not None and (
            failed_line is None or hidden[0] <= failed_line <= hidden[1]
        )
        outcome["failed_in_hidden"] = (not outcome["passed"]) and in_hidden
        if hidden is None or self.job.get("show_hidden", False):
            return outputs
        if not outcome["passed"]:
            # where it failed is the student process's word: the message could quote the
            # hidden test, so a cell with hidden tests only says that it failed
            outcome["message"] = (
                "a hidden test failed" if in_hidden else "a test of this cell failed"
            ) + " (the cell has hidden tests: its message is not shown)"
        shown = [o for o in outputs if o.output_type == "execute_result" and _number(o)]
        if any(o.output_type == "error" for o in outputs):
            shown.append(
                nbformat.v4.new_output(
                    "error", ename="TestFailed", evalue=outcome["message"], traceback=[]
                )
            )
        return shown


REDACTED = "[output removed: it quoted the hidden tests]"


def hidden_lines(plan: Plan) -> set[str]:
    """The lines of the plan's hidden tests that are long enough to recognise in an output and
    appear nowhere else in the instructor's cells (a line the student sees is no secret)."""
    lines, visible = set(), set()
    for cell in plan.cells:
        if cell.kind not in ("test", "setup", "text"):
            continue
        span = hidden_line_range(cell.source) if cell.kind == "test" else None
        for number, line in enumerate(cell.source.splitlines(), start=1):
            inside = span is not None and span[0] < number < span[1]
            (lines if inside else visible).add(line.strip())
    return {line for line in lines - visible if len(line) >= 12}


def redact_hidden(nb, lines: set[str]) -> int:
    """Replace every output of ``nb`` that quotes a hidden-test line; how many were replaced.

    Student code can see the hidden tests in compatible mode (they run in its process), and
    could print them in a later cell: what it prints must not carry them to the feedback.
    """
    if not lines:
        return 0
    replaced = 0
    for cell in nb.cells:
        for i, out in enumerate(cell.get("outputs", [])):
            text = json.dumps(out, ensure_ascii=False)
            if any(line in text or json.dumps(line)[1:-1] in text for line in lines):
                kind = "stream" if out.get("output_type") != "error" else "error"
                cell.outputs[i] = (
                    nbformat.v4.new_output("stream", name="stdout", text=REDACTED + "\n")
                    if kind == "stream"
                    else nbformat.v4.new_output("error", ename="Error", evalue=REDACTED)
                )
                replaced += 1
    return replaced


def cap_outputs(nb, limit: int = NOTEBOOK_OUTPUT) -> int:
    """Keep at most ``limit`` characters of output in the whole notebook (each cell is capped
    already; this stops many capped cells from making a graded notebook of many megabytes).
    Returns how many outputs were cut."""
    used, cut = 0, 0
    for cell in nb.cells:
        kept = []
        for out in cell.get("outputs", []):
            size = len(json.dumps(out, ensure_ascii=False))
            if used + size > limit:
                cut += 1
                continue
            used += size
            kept.append(out)
        if len(kept) != len(cell.get("outputs", [])):
            note = "[output removed: the notebook's outputs reached the size limit]\n"
            cell.outputs = [*kept, nbformat.v4.new_output("stream", name="stdout", text=note)]
    return cut


def _notebooks(job: dict) -> list[dict]:
    """The notebooks of the job's assignment: dicts with name, source and release paths."""
    if job.get("notebooks"):
        return list(job["notebooks"])
    return [{"name": Path(job["source"]).name, "source": job["source"], "release": job["release"]}]


def grade_notebook(job: dict, sandbox, spec: dict, several: bool) -> dict:
    """Grade one notebook of a submission; raises :class:`Ungradable` for a missing notebook."""
    source_nb = nbformat.read(spec["source"], as_version=4)
    release_nb = nbformat.read(spec["release"], as_version=4)
    folder = Path(job["submission"])
    if several and not (folder / spec["name"]).is_file():
        # with several notebooks a renamed one cannot be told apart: nbgrader scores it 0
        raise Ungradable(f"no notebook {spec['name']!r} in the submission")
    student_nb, events = read_submission(folder, spec["name"])
    plan = merge(source_nb, release_nb, student_nb)
    plan.events[:0] = events
    kind = CompatibleSession if job.get("mode") == "compatible" else Session
    session = kind(job, plan, sandbox, source_nb)
    try:
        tests = session.run()
    finally:
        session.close()
    if not job.get("show_hidden", False):  # the stored notebook is what feedback shows
        for cell in plan.cells:
            if cell.kind == "test":
                plan.notebook.cells[cell.index].source = strip_hidden_tests(cell.source)
        if redact_hidden(plan.notebook, hidden_lines(plan)):
            session.events.append("outputs that quoted the hidden tests were removed")
    if cap_outputs(plan.notebook):
        session.events.append(
            f"outputs past {NOTEBOOK_OUTPUT // 1000} kB in all were left out of the graded notebook"
        )
    prefix = f"{spec['name']}: " if several else ""
    return {
        "tests": [dict(t, notebook=spec["name"]) for t in tests],
        "events": [prefix + e for e in session.events],
        "answered": plan.answered,
        "notebook": nbformat.writes(plan.notebook),
        "flags": session.flags,
        "round_trips": session.round_trips,
    }


def grade(job: dict, sandbox) -> dict:
    """Grade one submission described by ``job``; never raises for a student's fault.

    An assignment may have several notebooks (nbgrader's ``ps1``): each is merged and run in a
    fresh student process of its own, as nbgrader runs each in its own kernel. A notebook
    missing from a submission of several scores 0 (an event says so); a submission with no
    usable notebook at all is ungradable.
    """
    started = time.monotonic()
    specs = _notebooks(job)
    several = len(specs) > 1
    result = {
        "status": "graded",
        "reason": "",
        "events": [],
        "tests": [],
        "answered": {},
        "notebooks": {},
        "flags": [],
        "mode": job.get("mode", "isolated"),
        "round_trips": 0,
    }
    missing = []
    for spec in specs:
        try:
            part = grade_notebook(job, sandbox, spec, several)
        except Ungradable as exc:
            missing.append(f"{spec['name']}: {exc}" if several else str(exc))
            continue
        result["tests"] += part["tests"]
        result["events"] += part["events"]
        result["answered"][spec["name"]] = part["answered"]
        result["notebooks"][spec["name"]] = part["notebook"]
        result["flags"] += part["flags"]
        result["round_trips"] += part["round_trips"]
    if not result["notebooks"]:
        result.update(status="ungradable", reason="; ".join(missing)[:1000])
        return result
    result["events"][:0] = [f"{m} (scored 0)" for m in missing]
    faults = [e for e in result["events"] if "timed out" in e or "died" in e]
    faults += missing
    if any(flag.startswith("integrity:") for flag in result["flags"]):
        faults.append("flagged for review: the test environment was tampered with")
    faults += [f for f in result["flags"] if not f.startswith("integrity:")]
    result["reason"] = clean_text("; ".join(faults))[:1000]
    result["elapsed"] = time.monotonic() - started
    return result


def main() -> None:
    """Serve jobs: one JSON object per line on stdin, one result per line on stdout."""
    from .sandbox import Limits, Sandbox

    if sys.platform.startswith("linux"):  # die with the grader that started us
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            return
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # whatever test code prints must not corrupt the result stream
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    sandboxes: dict[str, object] = {}
    slot = None
    for line in sys.stdin:
        job = json.loads(line)
        if slot is None:
            slot, _lock = acquire_slot(100 + int(job.get("slot", 0)))
            if job.get("cpu") is not None and hasattr(os, "sched_setaffinity"):
                # One core per grading job, shared by this process and the student's (which
                # inherits it): their many short round trips are cheapest on one core (no
                # cross-CPU wake-ups), and the jobs do not disturb each other.
                os.sched_setaffinity(0, {int(job["cpu"])})
        job["slot"] = slot
        policy = job.get("sandbox", "auto")
        if policy not in sandboxes:
            sandboxes[policy] = Sandbox.detect(policy=policy)
        job["limits"] = Limits(**job.get("limits", {}))
        try:
            result = grade(job, sandboxes[policy])
        except Exception:  # noqa: BLE001 - a grader bug: reported for this student only
            result = {
                "status": "ungradable",
                "reason": "internal grader error (see the grading log)",
                "events": [],
                "tests": [],
                "log": traceback.format_exc()[-4000:],
            }
        out.write(json.dumps(result) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
