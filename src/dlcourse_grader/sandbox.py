"""Run one untrusted process (a student's code) isolated from the rest of the machine.

Three modes, picked by :meth:`Sandbox.detect`:

``bwrap+setpriv`` (running as root, bubblewrap works)
    ``bwrap`` without a user namespace builds a private mount/PID/network/IPC/UTS namespace with
    a minimal read-only filesystem, an allow-list (system libraries, the Python installation,
    the package directories of editable installs, the paths the caller lists), plus the work
    directory; inside, a small init (:data:`_INIT`, run by the sandbox's Python) mounts a tmpfs
    capped in bytes and files over the work directory, copies the prepared files into it,
    drops to the unprivileged uid ``60000 + slot`` with no capabilities and ``no_new_privs``,
    sets the seccomp filter of :mod:`dlcourse_grader.seccomp` and execs the command. (The mode keeps
    its name from when ``setpriv`` did the dropping.)
``bwrap-userns`` (not root, unprivileged user namespaces work)
    The same namespaces inside a user namespace; the student keeps the instructor's uid. bwrap
    mounts the work directory's tmpfs (capped in bytes only) when the init cannot.
``rlimits-only`` (no working bubblewrap, or ``policy="off"``)
    Only resource limits: no filesystem, network or process isolation.

Resource limits (:class:`Limits`) are rlimits set in the child before ``exec``; they are
inherited through ``bwrap`` and the init. Wall time is the caller's job (kill on timeout with
:meth:`Sandbox.kill`, which also makes sure that no process of the slot survives).
:func:`copy_inputs` copies a submission's files into a work directory safely.

Example::

    sb = Sandbox.detect(policy="auto")
    sb.prepare(workdir, slot=0)
    proc = sb.popen([sys.executable, "worker.py"], workdir=workdir, readable=[worker],
                    forbidden=[course_root], slot=0, limits=Limits(memory_mb=4096))
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from . import seccomp

__all__ = ["BASE_UID", "MAX_SLOTS", "Limits", "Sandbox", "copy_inputs", "default_readable"]

logger = logging.getLogger("dlcourse_grader")

BWRAP_ROOT = "bwrap+setpriv"
BWRAP_USERNS = "bwrap-userns"
RLIMITS_ONLY = "rlimits-only"
MODES = (BWRAP_ROOT, BWRAP_USERNS, RLIMITS_ONLY)
POLICIES = ("auto", "strict", "off")

#: Slot ``n`` runs as uid/gid ``BASE_UID + n`` in the ``bwrap+setpriv`` mode.
BASE_UID = 60000
MAX_SLOTS = 1000
#: Environment variable naming the bwrap binary (tests point it at a missing file).
BWRAP_ENV = "DLCOURSE_SANDBOX_BWRAP"

_MB = 1024 * 1024
#: Feature: the workdir is a tmpfs capped at ``Limits.disk_mb`` and ``Limits.disk_files``,
#: mounted by the sandbox's init (a kernel that lets it: root, or a user namespace it owns).
TMPFS_WORKDIR = "tmpfs-workdir"
#: Feature: the workdir is a tmpfs capped at ``Limits.disk_mb`` only, mounted by bwrap
#: (``--size``), when the init cannot mount (bwrap run by a user nests a second user namespace).
SIZED_WORKDIR = "sized-workdir"
#: Where the prepared workdir is visible, read-only, for the init to copy it (SIZED_WORKDIR).
_INPUT_DIR = "/run/dlcourse-input"
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone")
_POPEN_RESERVED = frozenset(
    {"preexec_fn", "start_new_session", "process_group", "cwd", "user", "group", "extra_groups"}
)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed process tree (rlimits, inherited by its children).

    Parameters
    ----------
    cpu_seconds : int
        CPU time per process (RLIMIT_CPU): SIGXCPU, then SIGKILL one second later.
    memory_mb : int
        Address space per process (RLIMIT_AS): allocations beyond it raise ``MemoryError``.
    processes : int
        Processes and threads of the sandbox (RLIMIT_NPROC); enforced per sandbox only with a
        dedicated uid (``bwrap+setpriv``) or inside a user namespace (``bwrap-userns``).
    file_size_mb : int
        Largest file the process may write (RLIMIT_FSIZE): larger writes fail with EFBIG.
    open_files : int
        Open file descriptors per process (RLIMIT_NOFILE).
    disk_mb : int
        Total size of the files in the workdir, all processes together: the workdir is a tmpfs
        of that size (in RAM), writes beyond it fail with ENOSPC. Bubblewrap modes only.
    disk_files : int
        Files and folders in the workdir (the tmpfs's inodes): beyond it, ENOSPC.
    """

    cpu_seconds: int = 600
    memory_mb: int = 4096
    processes: int = 64
    file_size_mb: int = 64
    open_files: int = 256
    disk_mb: int = 512
    disk_files: int = 20_000

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{f.name} must be a positive integer, got {value!r}")

    def rlimits(self) -> dict[int, tuple[int, int]]:
        """The ``resource.setrlimit`` arguments, ``{resource: (soft, hard)}``."""
        return {
            resource.RLIMIT_CPU: (self.cpu_seconds, self.cpu_seconds + 1),
            resource.RLIMIT_AS: (self.memory_mb * _MB,) * 2,
            resource.RLIMIT_NPROC: (self.processes,) * 2,
            resource.RLIMIT_FSIZE: (self.file_size_mb * _MB,) * 2,
            resource.RLIMIT_NOFILE: (self.open_files,) * 2,
        }


# --- paths -------------------------------------------------------------------------------------


def _forms(path: str | os.PathLike) -> set[Path]:
    """``path`` as given (absolute, normalised) and with every symlink resolved."""
    absolute = Path(os.path.abspath(path))
    return {absolute, Path(os.path.realpath(absolute))}


def _overlap(path: str | os.PathLike, forbidden: Iterable[str | os.PathLike]) -> Path | None:
    """The first forbidden path that ``path`` is inside of or contains, else ``None``."""
    mine = _forms(path)
    for bad in forbidden:
        for b in _forms(bad):
            if any(p == b or p.is_relative_to(b) or b.is_relative_to(p) for p in mine):
                return Path(bad)
    return None


def _editable_dirs() -> list[str]:
    """Package directories of setuptools editable installs (not on ``sys.path`` themselves)."""
    dirs = []
    for finder in sys.meta_path:
        module = sys.modules.get(getattr(finder, "__module__", "") or "")
        if module is not None and module.__name__.startswith("__editable__"):
            mapping = getattr(module, "MAPPING", None)
            if isinstance(mapping, dict):
                dirs += [str(d) for d in mapping.values()]
    return dirs


_IMPORTABLE_SUFFIXES = (".py", ".pyc", ".so", ".pth", ".dist-info", ".egg-info")


def _importable_children(root: str) -> list[str]:
    """What Python can import from ``root``: its packages, modules and their metadata.

    A package is a directory with an ``__init__.py``; namespace packages and anything else in
    ``root`` (a project's course folder, its tests, its notes) are left out.
    """
    found = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return found
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False) and entry.name.endswith(_IMPORTABLE_SUFFIXES):
                found.append(entry.path)  # *.dist-info, *.egg-info
            elif entry.is_dir(follow_symlinks=False):
                if os.path.isfile(os.path.join(entry.path, "__init__.py")):
                    found.append(entry.path)
            elif entry.is_file(follow_symlinks=False) and entry.name.endswith(_IMPORTABLE_SUFFIXES):
                found.append(entry.path)
        except OSError:
            pass
    return found


def _installation() -> list[str]:
    """The Python installation: its prefixes and the directory of the real interpreter."""
    return [
        sys.base_prefix,
        sys.prefix,
        sys.base_exec_prefix,
        sys.exec_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
    ]


def default_readable(forbidden: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """The allow-list of what the sandboxed Python may read (besides the system directories).

    That is the Python installation (``sys.base_prefix``, ``sys.prefix``, their ``exec``
    forms and the directory of the real interpreter binary: the standard library and
    ``site-packages``), the package directories of editable installs (``src/dlcourse``, never
    the project folder around it), and, for an import path outside the installation (a ``.pth``
    entry of a legacy editable install), only what can be imported from it: its packages
    (directories with an ``__init__.py``), modules and package metadata. ``PYTHONPATH`` entries
    and the script directory or working directory that Python put first on ``sys.path`` are
    the grader's, not the student's: the sandbox scrubs ``PYTHONPATH``, so they are left out.
    So are world-writable directories such as ``/tmp`` and, as a second line of defence,
    anything inside a forbidden path or containing one.

    Parameters
    ----------
    forbidden : iterable of path-like
        Paths the student must not see, e.g. the course root.

    Returns
    -------
    list of Path
        Sorted absolute paths, none inside another.
    """
    forbidden = list(forbidden)
    install = _installation()
    install_forms = {f for p in install if p and os.path.isabs(p) for f in _forms(p)}
    path = sys.path
    if path and not (sys.flags.safe_path or sys.flags.isolated):
        path = path[1:]  # the script's directory or the cwd: the grader's, not the student's
    grader_only = {
        f
        for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep)
        if entry and os.path.isabs(entry)
        for f in _forms(entry)
    }
    candidates = [*install, *_editable_dirs()]
    for entry in path:
        if not entry or not os.path.isabs(entry) or _forms(entry) & grader_only:
            continue
        if any(f == r or f.is_relative_to(r) for f in _forms(entry) for r in install_forms):
            candidates.append(entry)
        else:
            candidates += _importable_children(entry)
    kept = set()
    for c in candidates:
        if not c or not os.path.isabs(c) or not os.path.exists(c):
            continue
        if (bad := _overlap(c, forbidden)) is not None:
            logger.debug("sandbox: not binding %s (overlaps forbidden %s)", c, bad)
        elif os.stat(c).st_mode & 0o002:
            logger.debug("sandbox: not binding world-writable %s", c)
        else:
            kept |= _forms(c)
    return _outermost(kept)


def _outermost(paths: Iterable[Path]) -> list[Path]:
    result: list[Path] = []
    for p in sorted(set(paths)):
        if not any(p.is_relative_to(q) for q in result):
            result.append(p)
    return result


def _bind_dest(path: Path) -> Path:
    """Where to mount ``path`` in the sandbox: its parents resolved, its own name kept."""
    return Path(os.path.realpath(path.parent)) / path.name


# --- the first process inside bwrap ----------------------------------------------------------

#: Run by the sandbox's Python as ``python -I -S -c _INIT CONFIG ARGV...`` inside bwrap, before
#: the student's command: mounts the size- and inode-capped tmpfs over the workdir and copies the
#: prepared files into it (through a descriptor opened before the mount hid them), drops to the
#: slot's uid (root mode), drops every capability, sets ``no_new_privs``, the process limit
#: (user-namespace mode) and the seccomp filter, and execs ``ARGV``. Exit status 125: it failed.
_INIT = r"""
import ctypes, json, os, resource, stat, sys
cfg = json.loads(sys.argv[1])
argv = sys.argv[2:]
libc = ctypes.CDLL(None, use_errno=True)
def fail(what, err=None):
    err = err if err is not None else ctypes.get_errno()
    os.write(2, ("sandbox init: %s: %s\n" % (what, os.strerror(err))).encode())
    os._exit(125)
work = cfg["workdir"]
src = os.open(cfg["input"], os.O_RDONLY | os.O_DIRECTORY) if cfg["input"] else None
if cfg["disk"]:
    src = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
    opts = "size=%d,nr_inodes=%d,mode=0700" % (cfg["disk"], cfg["inodes"])
    if libc.mount(b"tmpfs", work.encode(), b"tmpfs", 2 | 4, opts.encode()) != 0:
        fail("cannot mount the workdir's tmpfs")  # MS_NOSUID | MS_NODEV
if src is not None and cfg["uid"] is not None:
    os.chown(work, cfg["uid"], cfg["gid"])  # the fresh tmpfs is root's
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_SET_SECCOMP = 38, 24, 47, 22
last = int(open("/proc/sys/kernel/cap_last_cap").read())
dropped = all(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0 for cap in range(last + 1))
if not dropped and 0 in (cfg["uid"], os.geteuid()):
    fail("cannot empty the capability bounding set")  # root would regain them at exec
if cfg["uid"] is not None:
    os.setgroups([])
    os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
    os.setresuid(cfg["uid"], cfg["uid"], cfg["uid"])
def copy(dfd, dst):
    for name in os.listdir(dfd):
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        target = os.path.join(dst, name)
        if stat.S_ISDIR(st.st_mode):
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dfd)
            try:
                os.mkdir(target, 0o700)
                copy(sub, target)
                os.chmod(target, stat.S_IMODE(st.st_mode) & 0o777)
            finally:
                os.close(sub)
        elif stat.S_ISREG(st.st_mode):
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dfd)
            try:
                out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    while chunk := os.read(fd, 1 << 20):
                        os.write(out, chunk)
                    os.fchmod(out, stat.S_IMODE(st.st_mode) & 0o777)
                except OSError:
                    os.unlink(target)  # no truncated file
                    raise
                finally:
                    os.close(out)
            finally:
                os.close(fd)
if src is not None:
    try:
        copy(src, work)
    except OSError as e:  # the workdir is full: the student's code runs with what fitted
        msg = "sandbox init: not every prepared file was copied into the workdir: %s\n"
        os.write(2, (msg % os.strerror(e.errno or 0)).encode())
    os.close(src)
libc.prctl(PR_CAP_AMBIENT, 4, 0, 0, 0)  # PR_CAP_AMBIENT_CLEAR_ALL
header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
if libc.syscall(126 if os.uname().machine == "x86_64" else 91, header, (ctypes.c_uint32 * 6)()):
    fail("cannot drop capabilities")  # capset
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
    fail("cannot set no_new_privs")
if cfg["nproc"]:
    resource.setrlimit(resource.RLIMIT_NPROC, (cfg["nproc"], cfg["nproc"]))
if cfg["seccomp"]:
    prog = bytes.fromhex(cfg["seccomp"])
    buf = ctypes.create_string_buffer(prog, len(prog))
    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    fprog = Prog(len(prog) // 8, ctypes.addressof(buf))
    if libc.prctl(PR_SET_SECCOMP, 2, ctypes.byref(fprog), 0, 0) != 0:
        fail("cannot set the seccomp filter")
os.chdir(work)
try:
    os.execvp(argv[0], argv)
except OSError as e:
    fail("cannot run " + argv[0], e.errno)
"""


# --- copying a submission's files ------------------------------------------------------------

_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}
_MAX_DEPTH = 64
_MAX_EVENTS = 20


def _shown(rel: str) -> str:
    """``rel`` printable whatever bytes the student put in the name (no lone surrogates)."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


def copy_inputs(
    src_dirs: Iterable[str | os.PathLike],
    dst: str | os.PathLike,
    *,
    max_files: int = 5_000,
    max_bytes: int = 256 * _MB,
    exclude: Callable[[str], bool] | None = None,
) -> list[str]:
    """Copy the regular files and folders of ``src_dirs`` into ``dst``, and nothing else.

    The submission is the student's: it may hold symbolic links (to the course, to ``/etc``),
    FIFOs (a reader blocks forever), sockets and device nodes (``/dev/zero`` reads forever).
    Only regular files and directories are copied, every one opened relative to its parent's
    descriptor with ``O_NOFOLLOW | O_NONBLOCK`` and checked with ``fstat`` after opening (a
    path swapped for a link or a FIFO in between is caught); everything else is left out with
    an event. Copying stops, with an event, at ``max_files`` entries or ``max_bytes`` bytes.
    Later folders win: a file of the second folder replaces the first one's.

    Parameters
    ----------
    src_dirs : iterable of path-like
        Folders whose *contents* are copied, e.g. the submission, then the release.
    dst : path-like
        The destination folder (created if missing).
    max_files : int
        Most files and folders copied, all folders together (below ``Limits.disk_files``,
        so that the student can still write).
    max_bytes : int
        Most bytes copied, all files together (below ``Limits.disk_mb``); a file that would
        cross it is left out.
    exclude : callable, optional
        ``exclude(name)`` is true for the top-level names not to copy (e.g. notebooks).

    Returns
    -------
    list of str
        Events, one line each: what was left out and why (at most 20, then a count).
    """
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    copier = _Copier(max_files, max_bytes, exclude)
    for src in src_dirs:
        if copier.stopped:
            break
        try:
            top = os.open(src, os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK)
        except OSError as exc:
            copier.event(f"could not read {_shown(os.fspath(src))} ({exc.strerror})")
            continue
        try:
            copier.copy_dir(top, dst, "", 0)
        finally:
            os.close(top)
    return copier.report()


class _Copier:
    """The state of one :func:`copy_inputs`: what is left of the caps, and the events."""

    def __init__(self, max_files: int, max_bytes: int, exclude: Callable[[str], bool] | None):
        self.max_files, self.max_bytes, self.exclude = max_files, max_bytes, exclude
        self.files, self.bytes = max_files, max_bytes  # what is left
        self.events: list[str] = []
        self.left_out = 0
        self.stopped = False

    def event(self, text: str) -> None:
        self.left_out += 1
        if len(self.events) < _MAX_EVENTS:
            self.events.append(text)

    def stop(self, why: str) -> None:
        if not self.stopped:
            self.stopped = True
            self.events.append(f"stopped copying the submission's files: {why}; the rest left out")

    def report(self) -> list[str]:
        if self.left_out > _MAX_EVENTS:
            return [*self.events, f"... and {self.left_out - _MAX_EVENTS} more left out"]
        return self.events

    def copy_file(self, dir_fd: int, name: str, target: Path, rel: str) -> None:
        """Copy one regular file, opened without following links, checked after opening."""
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        except OSError as exc:
            self.event(f"left out {_shown(rel)} ({exc.strerror})")
            return
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
                self.event(f"left out {_shown(rel)} ({kind})")
            elif st.st_size > self.bytes:
                self.stop(f"more than {self.max_bytes // _MB} MB")
            elif target.is_dir() and not target.is_symlink():
                self.event(f"left out {_shown(rel)} (a folder of that name exists)")
            else:
                copied = _copy_fd(fd, target, st)
                self.bytes -= copied
                self.files -= 1
        except OSError as exc:
            self.event(f"left out {_shown(rel)} ({exc.strerror})")
        finally:
            os.close(fd)

    def copy_dir(self, dir_fd: int, target: Path, rel: str, depth: int) -> None:
        """Copy the entries of an open folder: files, folders (recursively), nothing else."""
        try:
            names = sorted(os.listdir(dir_fd))
        except OSError as exc:
            self.event(f"left out {_shown(rel or '.')} ({exc.strerror})")
            return
        for name in names:
            if self.stopped:
                return
            sub_rel = f"{rel}/{name}" if rel else name
            if not rel and self.exclude is not None and self.exclude(name):
                continue
            if self.files <= 0:
                self.stop(f"more than {self.max_files} files")
                return
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError as exc:
                self.event(f"left out {_shown(sub_rel)} ({exc.strerror})")
                continue
            if stat.S_ISREG(st.st_mode):
                self.copy_file(dir_fd, name, target / name, sub_rel)
            elif stat.S_ISDIR(st.st_mode):
                self.copy_subdir(dir_fd, name, target / name, sub_rel, depth)
            else:
                kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
                self.event(f"left out {_shown(sub_rel)} ({kind})")

    def copy_subdir(self, dir_fd: int, name: str, sub: Path, rel: str, depth: int) -> None:
        if depth >= _MAX_DEPTH:
            self.event(f"left out {_shown(rel)} (nested deeper than {_MAX_DEPTH})")
            return
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            sub_fd = os.open(name, flags, dir_fd=dir_fd)
        except OSError as exc:  # swapped for a link or a file meanwhile
            self.event(f"left out {_shown(rel)} ({exc.strerror})")
            return
        try:
            if sub.is_symlink() or (sub.exists() and not sub.is_dir()):
                self.event(f"left out {_shown(rel)} (a file of that name exists)")
                return
            sub.mkdir(mode=0o755, exist_ok=True)
            self.files -= 1
            self.copy_dir(sub_fd, sub, rel, depth + 1)
        finally:
            os.close(sub_fd)


def _copy_fd(fd: int, target: Path, st: os.stat_result) -> int:
    """Copy what an open file holds (at most its size when opened) to ``target``; bytes."""
    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        left = st.st_size  # a file that grows meanwhile is cut at its size
        while left > 0 and (chunk := os.read(fd, min(left, _MB))):
            os.write(out, chunk)
            left -= len(chunk)
        os.fchmod(out, 0o755 if st.st_mode & 0o100 else 0o644)
    finally:
        os.close(out)
    return st.st_size - left


# --- the sandbox -------------------------------------------------------------------------------


@dataclass
class _Probe:
    mode: str | None
    problem: str
    features: frozenset[str]


_probe_cache: dict[tuple[str | None, int], _Probe] = {}
_probe_lock = threading.Lock()


class Sandbox:
    """Runs one untrusted process tree per call to :meth:`popen` (see the module docstring).

    Get one with :meth:`detect`; construct directly only to force a mode in tests.
    """

    def __init__(
        self,
        mode: str,
        *,
        bwrap: str | None = None,
        features: Iterable[str] = (),
        problem: str = "",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown sandbox mode {mode!r}; expected one of {MODES}")
        if mode != RLIMITS_ONLY and not bwrap:
            raise ValueError(f"sandbox mode {mode!r} needs the path of the bwrap binary")
        self.mode = mode
        self.bwrap = bwrap
        self.features = frozenset(features)
        #: Why the better modes were not available (empty when none was tried or needed).
        self.problem = problem

    @property
    def seccomp(self) -> bool:
        """Whether student code runs under the seccomp filter of :mod:`dlcourse_grader.seccomp`."""
        return self.mode != RLIMITS_ONLY and "--seccomp" in self.features and seccomp.supported()

    def __repr__(self) -> str:
        return f"Sandbox(mode={self.mode!r})"

    # -- detection --

    @classmethod
    def detect(cls, policy: str = "auto", *, bwrap: str | None = None) -> Sandbox:
        """The most isolated sandbox that works on this machine.

        Parameters
        ----------
        policy : {"auto", "strict", "off"}
            ``"auto"`` falls back to ``rlimits-only`` with a loud ``RuntimeWarning`` (and a log
            warning) when bubblewrap does not work; ``"strict"`` raises ``RuntimeError``
            instead; ``"off"`` selects ``rlimits-only`` silently (debugging, benchmarks).
        bwrap : str, optional
            The bwrap binary; default ``$DLCOURSE_SANDBOX_BWRAP`` or ``bwrap`` on ``PATH``.

        Notes
        -----
        bwrap can be installed and still not work (e.g. in some containers), so the first call
        runs ``python -c pass`` in each candidate mode; the outcome is cached per process.
        """
        if policy not in POLICIES:
            raise ValueError(f"sandbox policy must be one of {POLICIES}, got {policy!r}")
        if policy == "off":
            return cls(RLIMITS_ONLY)
        bwrap = bwrap or os.environ.get(BWRAP_ENV) or shutil.which("bwrap")
        key = (bwrap, os.geteuid())
        with _probe_lock:
            if key not in _probe_cache:
                _probe_cache[key] = _probe(bwrap)
            probe = _probe_cache[key]
        if probe.mode is not None:
            return cls(probe.mode, bwrap=bwrap, features=probe.features)
        message = (
            f"No working sandbox for student code ({probe.problem}). Falling back to "
            "'rlimits-only': student code runs as the instructor with only CPU/memory/file-size/"
            "open-file limits, and NOTHING ELSE IS ENFORCED: it can read the course folder "
            "(solutions, hidden tests, gradebook, other students' submissions), write anywhere "
            "the instructor can, use the network, see and signal other processes, and escape "
            "the process limit. Fix: install Debian's bubblewrap (`apt-get install bubblewrap`; "
            "`make venv` does it when run as root) and, when not root, allow unprivileged user "
            "namespaces. Use policy='off' to run without a sandbox on purpose."
        )
        if policy == "strict":
            raise RuntimeError(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        logger.warning(message)
        return cls(RLIMITS_ONLY, problem=probe.problem)

    # -- running --

    def uid(self, slot: int = 0) -> int:
        """The uid that the student's processes run as in ``slot``."""
        _check_slot(slot)
        return BASE_UID + slot if self.mode == BWRAP_ROOT else os.getuid()

    def prepare(self, workdir: str | os.PathLike, slot: int = 0) -> Path:
        """Create ``workdir`` (mode 0700) and give it, recursively, to the slot's uid.

        ``workdir`` should be a fresh directory outside the course; files copied into it before
        this call become the student's. Returns its resolved path.
        """
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        workdir = workdir.resolve()
        uid = self.uid(slot)
        if self.mode == BWRAP_ROOT:
            for top, dirs, files in os.walk(workdir):
                for name in (*dirs, *files):
                    os.lchown(os.path.join(top, name), uid, uid)
            os.chown(workdir, uid, uid)
        workdir.chmod(0o700)
        return workdir

    def popen(
        self,
        argv: Sequence[str | os.PathLike],
        *,
        workdir: str | os.PathLike,
        readable: Iterable[str | os.PathLike] = (),
        forbidden: Iterable[str | os.PathLike] = (),
        slot: int = 0,
        limits: Limits | None = None,
        env: Mapping[str, str] | None = None,
        pass_fds: Sequence[int] = (),
        **popen_kwargs,
    ) -> subprocess.Popen:
        """Start ``argv`` in the sandbox; returns the ``Popen`` of the outermost process.

        Parameters
        ----------
        argv : sequence of str
            The command, e.g. ``[sys.executable, worker]``; its interpreter must be readable.
        workdir : path-like
            The only writable directory (cwd, ``HOME``, ``TMPDIR``); :meth:`prepare` it first.
            With a tmpfs workdir (:data:`TMPFS_WORKDIR`, :data:`SIZED_WORKDIR`) the student
            works on a copy of its files: this folder is never written, and what the student
            writes is readable only while it runs (:meth:`workdir_view`).
        readable : iterable of path-like
            Extra read-only paths (e.g. the worker script), besides :func:`default_readable`.
        forbidden : iterable of path-like
            Paths the student must never see (the course root): default readable paths that
            overlap them are skipped, and ``readable`` or ``workdir`` overlapping them is an
            error.
        slot : int
            Parallel slot, ``0 <= slot < MAX_SLOTS``; one running sandbox per slot: in the
            ``bwrap+setpriv`` mode, starting one kills whatever still runs as the slot's uid
            (:meth:`teardown`).
        limits : Limits, optional
            Resource limits; default ``Limits()``.
        env : mapping, optional
            Variables added to the scrubbed environment.
        pass_fds : sequence of int
            File descriptors inherited by the sandboxed process (as in ``subprocess.Popen``).
        **popen_kwargs
            Passed to ``subprocess.Popen`` (``stdout``, ``stderr``, ``text``...); ``stdin``
            defaults to ``DEVNULL``.

        Notes
        -----
        The limits are applied by a ``preexec_fn``, which Python documents as unsafe when other
        threads hold locks at ``fork`` time; start sandboxes from one thread.
        In the bwrap modes the return code of a process killed by signal ``S`` is ``128 + S``
        (see :meth:`signal_of`).
        """
        if reserved := _POPEN_RESERVED & popen_kwargs.keys():
            raise TypeError(f"Sandbox.popen() sets {sorted(reserved)} itself")
        _check_slot(slot)
        limits = limits or Limits()
        forbidden = list(forbidden)
        workdir, extra = _checked_paths(workdir, readable, forbidden)
        full_env = _environment(workdir, env)
        argv = [os.fspath(a) for a in argv]
        popen_kwargs.setdefault("stdin", subprocess.DEVNULL)
        if self.mode == RLIMITS_ONLY:
            return _popen_plain(argv, workdir, full_env, limits, pass_fds, popen_kwargs)
        rlimits = limits.rlimits()
        data_fds: list[int] = []
        try:
            command = self._bwrap_command(argv, workdir, extra, forbidden, slot, limits, data_fds)
            if self.mode == BWRAP_USERNS:  # set inside the user namespace: counts its tasks only
                del rlimits[resource.RLIMIT_NPROC]
            else:  # whatever a previous sandbox of this slot left behind must not count
                self.teardown(slot)
            proc = subprocess.Popen(
                command,
                env=full_env,
                pass_fds=(*pass_fds, *data_fds),
                start_new_session=True,
                preexec_fn=_limiter(rlimits),
                **popen_kwargs,
            )
            proc.sandbox_slot = slot  # for kill()
            return proc
        finally:
            for fd in data_fds:
                os.close(fd)

    def _bwrap_command(
        self,
        argv: list[str],
        workdir: Path,
        extra: list[Path],
        forbidden: list,
        slot: int,
        limits: Limits,
        data_fds: list[int],
    ) -> list[str]:
        uid = self.uid(slot)
        gid = uid if self.mode == BWRAP_ROOT else os.getgid()
        cmd = self._namespace_args()
        parents = _Parents(cmd)
        binds, links = _readonly_binds(extra, forbidden)
        parents.bound = _outermost(binds)
        for dest, target in links.items():
            parents.make(dest)
            cmd += ["--symlink", target, str(dest)]
        cmd += ["--proc", "/proc", "--dev", "/dev"]
        cmd += ["--perms", "1777"]
        if "--size" in self.features:  # /dev/shm is RAM, not counted by RLIMIT_AS
            cmd += ["--size", str(limits.file_size_mb * _MB)]
        cmd += ["--tmpfs", "/dev/shm", "--perms", "0755", "--dir", "/tmp"]
        parents.made.add(Path("/tmp"))
        for dest in parents.bound:
            parents.make(dest)
            cmd += ["--ro-bind", str(binds[dest]), str(dest)]
        for name, text in _identity_files(uid, gid, str(workdir)).items():
            dest = Path("/etc", name)
            parents.make(dest)
            cmd += ["--perms", "0644", "--ro-bind-data", str(_data_fd(text, data_fds)), str(dest)]
        parents.make(workdir)
        return [*cmd, *self._workdir_and_init(workdir, limits, uid, gid, parents), *argv]

    def _namespace_args(self) -> list[str]:
        """bwrap's options for the namespaces (and, rootless, the init's two capabilities)."""
        cmd = [self.bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        cmd += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
        cmd += ["--hostname", "sandbox"]
        if self.mode == BWRAP_USERNS:  # the init needs these two, and drops them (and all)
            cmd += ["--unshare-user", "--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP"]
            # It nests a second user namespace, which does not own the mount namespace: the
            # init could not mount the workdir's tmpfs. The seccomp filter denies new user
            # namespaces as well.
            if "--disable-userns" in self.features and not (
                self.seccomp and TMPFS_WORKDIR in self.features
            ):
                cmd += ["--disable-userns"]
        return cmd

    def _workdir_and_init(
        self, workdir: Path, limits: Limits, uid: int, gid: int, parents: _Parents
    ) -> list[str]:
        """The workdir's mount, then the init (:data:`_INIT`) with its configuration."""
        home = str(workdir)
        tmpfs = TMPFS_WORKDIR in self.features
        sized = not tmpfs and SIZED_WORKDIR in self.features
        cmd: list[str] = []
        if sized:
            parents.cmd = cmd
            parents.make(Path(_INPUT_DIR))
            cmd += ["--ro-bind", home, _INPUT_DIR]
            cmd += ["--size", str(limits.disk_mb * _MB), "--perms", "0700", "--tmpfs", home]
        else:
            cmd += ["--ro-bind" if tmpfs else "--bind", home, home]
        cmd += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", home, "--"]
        config = {
            "workdir": home,
            "disk": limits.disk_mb * _MB if tmpfs else None,
            "input": _INPUT_DIR if sized else None,
            "inodes": limits.disk_files,
            "uid": uid if self.mode == BWRAP_ROOT else None,
            "gid": gid,
            "nproc": limits.processes if self.mode == BWRAP_USERNS else None,
            "seccomp": seccomp.filter_program().hex() if self.seccomp else None,
        }
        init = [os.path.realpath(sys.executable), "-I", "-S", "-c", _INIT, json.dumps(config)]
        return [*cmd, *init]

    def workdir_view(self, proc: subprocess.Popen, workdir: str | os.PathLike) -> Path | None:
        """The sandbox's workdir as the grader can read it while ``proc`` runs, else ``None``.

        With the tmpfs workdir (:data:`TMPFS_WORKDIR`) what the student writes exists only
        inside the sandbox, until it ends: this is ``/proc/PID/root/WORKDIR`` of the sandbox's
        init. Everything in it is the student's: copy out of it with :func:`copy_inputs`, which
        follows no symbolic link (an absolute link found under ``/proc/PID/root`` would be
        resolved in the grader's filesystem).
        """
        workdir = Path(os.path.realpath(workdir))
        if self.mode == RLIMITS_ONLY or TMPFS_WORKDIR not in self.features:
            return workdir
        inner = _children(proc.pid) if proc.poll() is None else []
        if not inner:
            return None
        return Path(f"/proc/{inner[0]}/root") / workdir.relative_to("/")

    def kill(self, proc: subprocess.Popen) -> None:
        """Kill every process the sandboxed command started and reap ``proc``; never raises."""
        try:
            # bwrap's child is the PID namespace's init: when it dies the kernel kills every
            # process in the namespace, and bwrap reaps it and exits. Kill it first, then bwrap
            # (and, without bwrap, the process group: start_new_session made pgid == pid).
            # Until ``proc`` is reaped its pid (and process group id) cannot be reused.
            running = proc.poll() is None
            inner = _children(proc.pid) if running and self.mode != RLIMITS_ONLY else []
            for pid in inner:
                with _suppress():
                    os.kill(pid, signal.SIGKILL)
            if inner:
                with _suppress():
                    proc.wait(timeout=1)
            # Without bwrap the student's children may outlive it in its process group.
            if proc.poll() is None or self.mode == RLIMITS_ONLY:
                with _suppress():
                    os.killpg(proc.pid, signal.SIGKILL)
            with _suppress():
                proc.wait(timeout=10)
            # The namespace's init turns zombie (or is reaped) only once the kernel has killed
            # and reaped every other process in it: wait for that, so that nothing outlives kill().
            deadline = time.monotonic() + 10
            while (alive := [pid for pid in inner if _alive(pid)]) and time.monotonic() < deadline:
                time.sleep(0.005)
            if alive:
                logger.warning("sandbox: PID namespace init %s survived kill()", alive)
            if (slot := getattr(proc, "sandbox_slot", None)) is not None:
                self.teardown(slot)
        except Exception:  # kill() is called from error paths: never raise
            logger.exception("sandbox: kill() failed")

    def teardown(self, slot: int, timeout: float = 10.0) -> int:
        """Make sure that no process of ``slot`` survives; returns how many still do (0).

        In the ``bwrap+setpriv`` mode every process of the slot runs as its uid: any process or
        zombie of that uid (one that escaped the PID namespace's end, or one that is still
        exiting) is killed and waited for, for at most ``timeout`` seconds, so that the next
        submission in the slot starts with its whole process limit and all the CPU. Called by
        :meth:`kill` and before each start in the slot. SysV IPC objects, POSIX message queues
        and ``/dev/shm`` die with the sandbox's IPC and mount namespaces; the kernel keyrings
        are out of reach (seccomp). In the other modes the student runs as the instructor's
        uid, and the PID namespace (or the process group) is all there is: nothing to do.

        Parameters
        ----------
        slot : int
            The slot whose uid is swept.
        timeout : float
            Most seconds spent waiting; never hangs.

        Returns
        -------
        int
            Processes of the slot's uid left when the time ran out (logged as a warning).
        """
        _check_slot(slot)
        if self.mode != BWRAP_ROOT:
            return 0
        uid = self.uid(slot)
        if uid == os.getuid() or uid < BASE_UID:  # never sweep the grader's own uid
            return 0
        start = time.monotonic()
        deadline = start + timeout
        delay = 0.001
        while every := _pids_of(uid, zombies=True):
            live = [pid for pid in every if _alive(pid)]
            now = time.monotonic()
            if not live and now >= min(start + 1, deadline):
                # Zombies whose parent outlives the sandbox (a grader that has not reaped a
                # process yet) are that parent's to reap; ours die with the PID namespace.
                logger.debug("sandbox: zombies of slot %d left to their parents: %s", slot, every)
                return 0
            for pid in live:
                with _suppress():
                    os.kill(pid, signal.SIGKILL)
            if now >= deadline:
                logger.warning("sandbox: %d processes of slot %d survived", len(live), slot)
                return len(live)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return 0

    # -- reporting --

    @staticmethod
    def signal_of(returncode: int | None) -> int | None:
        """The signal that killed the sandboxed process, from a ``Popen.returncode``.

        Direct children report ``-S``; bwrap reports ``128 + S`` (indistinguishable from a
        process that called ``exit(128 + S)``).
        """
        if returncode is None:
            return None
        if returncode < 0:
            return -returncode
        if 128 < returncode < 128 + signal.NSIG:
            return returncode - 128
        return None

    def _describe_processes(self, lim: Limits) -> str:
        """The process limit, as describe() words it."""
        yes, no = "enforced", "NOT ENFORCED"
        root = self.mode == BWRAP_ROOT
        if root:
            nproc = (
                f"{yes} (RLIMIT_NPROC {lim.processes} for the slot's uid; threads count; when "
                "a submission ends every process of the slot's uid is killed and waited for)"
            )
        elif self.mode == BWRAP_USERNS:
            nproc = f"{yes} (RLIMIT_NPROC {lim.processes}, counted inside the user namespace)"
        elif os.geteuid() == 0:
            nproc = f"{no} (root ignores RLIMIT_NPROC)"
        else:
            nproc = (
                "approximate (RLIMIT_NPROC counts all the instructor's processes: set to those "
                f"running + {lim.processes})"
            )
        return nproc

    def _describe_disk(self, lim: Limits) -> str:
        """The disk limit, as describe() words it."""
        yes, no = "enforced", "NOT ENFORCED"
        isolated = self.mode != RLIMITS_ONLY
        if not isolated:
            disk = f"{no} (only RLIMIT_FSIZE per file)"
        elif TMPFS_WORKDIR in self.features:
            disk = (
                f"{yes} (the workdir is a private tmpfs of {lim.disk_mb} MB and "
                f"{lim.disk_files} files, in RAM, gone when the sandbox ends; the grader's "
                "copy of the files is never written)"
            )
        elif SIZED_WORKDIR in self.features:
            disk = (
                f"{yes} in bytes (the workdir is a private tmpfs of {lim.disk_mb} MB, in RAM, "
                "gone when the sandbox ends); the number of files is NOT capped (bwrap, run "
                "without root, nests a user namespace that cannot mount a tmpfs with an inode "
                "limit)"
            )
        else:
            disk = f"{no} (this kernel refused the workdir's tmpfs; only RLIMIT_FSIZE per file)"
        return disk

    def _describe_kernel(self) -> str:
        """The seccomp filter, as describe() words it."""
        yes, no = "enforced", "NOT ENFORCED"
        isolated = self.mode != RLIMITS_ONLY
        if self.seccomp:
            kernel = (
                f"{yes} (seccomp: no keyrings, namespaces, mounts, memfd, SysV shared memory "
                "or message queues, bpf, perf, userfaultfd, io_uring, ptrace, nor moving to "
                "other CPUs than the grader's affinity)"
            )
        elif isolated:
            kernel = f"{no} (no seccomp system call table for {os.uname().machine})"
        else:
            kernel = no
        return kernel

    def describe(self, limits: Limits | None = None) -> str:
        """What is and is not enforced in this mode, one line per protection."""
        lim = limits or Limits()
        isolated = self.mode != RLIMITS_ONLY
        root = self.mode == BWRAP_ROOT
        yes, no = "enforced", "NOT ENFORCED"
        nproc, disk, kernel = (
            self._describe_processes(lim),
            self._describe_disk(lim),
            self._describe_kernel(),
        )
        lines = [
            f"sandbox mode: {self.mode}" + (f" ({self.problem})" if self.problem else ""),
            "  network: " + (f"{yes} (own network namespace, loopback only)" if isolated else no),
            "  filesystem: "
            + (
                f"{yes} (an allow-list, read-only: the system directories, the Python "
                "installation, the package directories of editable installs and the readable "
                "paths, never the forbidden ones such as the course folder, nor PYTHONPATH or "
                "a project folder around a package; writable: the workdir only, plus a private "
                f"{lim.file_size_mb} MB /dev/shm)"
                if isolated
                else f"{no} (reads and writes whatever the instructor can)"
            ),
            "  other processes: "
            + (f"{yes} (invisible: own PID namespace)" if isolated else f"{no} (visible)"),
            "  unprivileged uid: "
            + (
                f"{yes} (uid {BASE_UID}+slot, no capabilities, no_new_privs)"
                if root
                else f"{no} (runs as the instructor's uid {os.getuid()}"
                + (" inside a user namespace, without capabilities)" if isolated else ")")
            ),
            f"  kernel interfaces shared beyond the sandbox: {kernel}",
            f"  cpu time: {yes} (RLIMIT_CPU {lim.cpu_seconds} s per process)",
            f"  memory: {yes} (RLIMIT_AS {lim.memory_mb} MB address space per process)",
            f"  processes: {nproc}",
            f"  file size: {yes} (RLIMIT_FSIZE {lim.file_size_mb} MB per file)",
            f"  disk: {disk}",
            f"  open files: {yes} (RLIMIT_NOFILE {lim.open_files} per process)",
            "  not covered: wall time (the caller's timeout), CPU time summed over processes, "
            "memory summed over processes (RLIMIT_AS is per process)",
        ]
        return "\n".join(lines)


# --- helpers -----------------------------------------------------------------------------------


class _Parents:
    """Creates, in the sandbox, the folders above a mount point that no bind provides.

    Without these, bwrap copies the host's modes: uid U could not traverse ``/root``.
    """

    def __init__(self, cmd: list[str]):
        self.cmd = cmd
        self.bound: list[Path] = []
        self.made = {Path("/")}

    def make(self, dest: Path) -> None:
        for parent in reversed(dest.parents):
            if parent not in self.made and not any(parent.is_relative_to(b) for b in self.bound):
                self.cmd.extend(["--perms", "0755", "--dir", str(parent)])
                self.made.add(parent)


def _readonly_binds(extra: list[Path], forbidden: list) -> tuple[dict, dict]:
    """``({destination: source}, {destination: link target})`` of the read-only filesystem:
    the system's folders, a few files of /etc, the allow-list and the extra readable paths."""
    binds: dict[Path, Path] = {}
    links: dict[Path, str] = {}
    for path in [*map(Path, _SYSTEM_DIRS), *(Path("/etc", name) for name in _ETC_FILES)]:
        if path.is_symlink():
            links[path] = os.readlink(path)
        elif path.exists():
            binds[path] = path
    for path in [*default_readable(forbidden), *extra]:
        binds.setdefault(_bind_dest(path), path)
        binds.setdefault(Path(os.path.realpath(path)), path)
    return binds, links


def _identity_files(uid: int, gid: int, home: str) -> dict[str, str]:
    """/etc/passwd, group and hosts as the sandbox sees them (nothing of the host's)."""
    return {
        "passwd": f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"student:x:{uid}:{gid}:student:{home}:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        "group": f"root:x:0:\nstudent:x:{gid}:\nnogroup:x:65534:\n",
        "hosts": "127.0.0.1 localhost\n::1 localhost\n",
    }


def _popen_plain(argv, workdir, env, limits: Limits, pass_fds, popen_kwargs) -> subprocess.Popen:
    """The ``rlimits-only`` mode: the command with its limits, nothing else."""
    rlimits = limits.rlimits()
    if os.geteuid() == 0:  # root ignores RLIMIT_NPROC; nothing to set
        del rlimits[resource.RLIMIT_NPROC]
    else:  # counted against all the instructor's processes: allow that many more
        soft = _tasks_of(os.getuid()) + limits.processes
        rlimits[resource.RLIMIT_NPROC] = (soft, soft)
    return subprocess.Popen(
        argv,
        cwd=workdir,
        env=env,
        pass_fds=pass_fds,
        start_new_session=True,
        preexec_fn=_limiter(rlimits),
        **popen_kwargs,
    )


def _checked_paths(workdir, readable, forbidden: list) -> tuple[Path, list[Path]]:
    """The resolved workdir and extra readable paths; an error if any overlaps a forbidden one."""
    workdir = Path(os.path.realpath(workdir))
    if not workdir.is_dir():
        raise ValueError(f"sandbox workdir {workdir} does not exist; call prepare() first")
    if (bad := _overlap(workdir, forbidden)) is not None:
        raise ValueError(f"sandbox workdir {workdir} overlaps forbidden path {bad}")
    extra = []
    for path in readable:
        path = Path(os.path.abspath(path))
        if not path.exists():
            raise ValueError(f"readable path {path} does not exist")
        if (bad := _overlap(path, forbidden)) is not None:
            raise ValueError(f"readable path {path} overlaps forbidden path {bad}")
        extra.append(path)
    return workdir, extra


def _environment(workdir: Path, env: Mapping[str, str] | None) -> dict[str, str]:
    """The sandboxed process's whole environment (nothing of the grader's leaks in)."""
    return {
        "PATH": f"{os.path.dirname(os.path.abspath(sys.executable))}:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(workdir / ".matplotlib"),
        **(env or {}),
    }


def _check_slot(slot: int) -> None:
    if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot < MAX_SLOTS:
        raise ValueError(f"sandbox slot must be an integer in [0, {MAX_SLOTS}), got {slot!r}")


def _limiter(rlimits: dict[int, tuple[int, int]]) -> Callable[[], None]:
    """A ``preexec_fn`` setting ``rlimits`` (capped at the current hard limits)."""
    capped = []
    for res, (soft, hard) in rlimits.items():
        current = resource.getrlimit(res)[1]
        if current != resource.RLIM_INFINITY:
            soft, hard = min(soft, current), min(hard, current)
        capped.append((res, (soft, hard)))

    def preexec() -> None:
        for res, value in capped:
            resource.setrlimit(res, value)
        # An ignored SIGXFSZ survives exec: oversized writes fail with EFBIG instead of killing.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return preexec


def _data_fd(data: str | bytes, fds: list[int]) -> int:
    """A pipe read end holding ``data`` (for bwrap's ``--ro-bind-data`` and ``--seccomp``)."""
    r, w = os.pipe()
    fds.append(r)
    try:
        os.write(w, data.encode() if isinstance(data, str) else data)  # far below a pipe buffer
    finally:
        os.close(w)
    return r


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, value, tb) -> bool:
        return kind is not None and issubclass(kind, (OSError, subprocess.TimeoutExpired))


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            pass
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _pids_of(uid: int, zombies: bool = False) -> list[int]:
    """Live processes (and, if ``zombies``, zombies too) with ``uid`` as a real or effective uid.

    Read from ``/proc/PID/status``, not from the owner of ``/proc/PID``, which is root for a
    process that made itself non-dumpable (``prctl(PR_SET_DUMPABLE, 0)``).
    """
    pids = []
    wanted = str(uid)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "status"), "rb") as f:
                status = f.read().decode("ascii", "replace")
        except OSError:
            continue
        state = uids = ""
        for line in status.splitlines():
            if line.startswith("State:"):
                state = line.split()[1] if len(line.split()) > 1 else ""
            elif line.startswith("Uid:"):
                uids = line
                break
        if wanted in uids.split()[1:3] and (zombies or state not in ("Z", "X")):
            pids.append(int(entry.name))
    return pids


def _tasks_of(uid: int) -> int:
    """Threads of all processes of ``uid`` (what RLIMIT_NPROC counts)."""
    count = 0
    for pid in _pids_of(uid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("Threads:"):
                    count += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return count


def _probe(bwrap: str | None) -> _Probe:
    """Find the best sandbox mode that runs ``python -c pass`` here."""
    if not bwrap or not os.access(bwrap, os.X_OK):
        return _Probe(None, f"bwrap not found at {bwrap or 'PATH'}", frozenset())
    try:
        help_text = subprocess.run(
            [bwrap, "--help"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return _Probe(None, f"{bwrap} --help failed: {exc}", frozenset())
    options = ("--disable-userns", "--size", "--seccomp")
    features = frozenset(opt for opt in options if opt in help_text)
    modes = [BWRAP_ROOT, BWRAP_USERNS] if os.geteuid() == 0 else [BWRAP_USERNS]
    problems = []
    # With the workdir's tmpfs first, then (a kernel refusing the mount) without.
    variants = [features | {TMPFS_WORKDIR}, features]
    if "--size" in features:
        variants.insert(1, features | {SIZED_WORKDIR})
    attempts = [(m, f) for m in modes for f in variants]
    for mode, feats in attempts:
        sandbox = Sandbox(mode, bwrap=bwrap, features=feats)
        with tempfile.TemporaryDirectory(prefix="dlcourse-sandbox-probe-") as tmp:
            workdir = sandbox.prepare(Path(tmp, "work"))
            try:
                proc = sandbox.popen(
                    [sys.executable, "-I", "-c", "pass"],
                    workdir=workdir,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                _, err = proc.communicate(timeout=60)
            except (OSError, subprocess.SubprocessError) as exc:
                if isinstance(exc, subprocess.TimeoutExpired):
                    sandbox.kill(proc)
                problems.append(f"{mode}: {exc}")
                continue
            if proc.returncode == 0:
                if problems:
                    logger.info("sandbox: %s works; before it: %s", mode, "; ".join(problems))
                return _Probe(mode, "", feats)
            text = err.decode(errors="replace").strip()[-500:]
            problems.append(f"{mode}: exit status {proc.returncode}: {text}")
    return _Probe(None, "; ".join(problems), features)
