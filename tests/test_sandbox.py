"""The sandbox for student code: each test runs Python inside it and checks what it can do.

Run as root (here and in CI) these exercise the ``bwrap+setpriv`` mode. Slots 900+ keep the
sandbox uids apart from those of grading tests running in parallel.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from dlcourse_grader import sandbox as sandbox_module
from dlcourse_grader.sandbox import BASE_UID, Limits, Sandbox, default_readable

from .conftest import ROOT, need_system_package

pytestmark = pytest.mark.grading

COURSE = ROOT / "course"
TIMEOUT = 60


@pytest.fixture(scope="module")
def sb() -> Sandbox:
    need_system_package(["bwrap", "setpriv"], ["bubblewrap", "util-linux"])
    sandbox = Sandbox.detect(policy="strict")
    if sandbox.mode != "bwrap+setpriv":
        reason = f"these tests need root for the bwrap+setpriv mode, got {sandbox.mode}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(f"SKIPPED LOUDLY: {reason}")
    return sandbox


def _workdir(sb: Sandbox, tmp_path: Path, slot: int) -> Path:
    return sb.prepare(tmp_path / "submissions" / "alice" / "work", slot=slot)


def _run(sb, code, workdir, *, slot, limits=None, argv=None, **kwargs):
    """Run ``code`` with the sandbox's Python; returns (returncode, stdout, stderr)."""
    proc = sb.popen(
        argv or [sys.executable, "-c", code],
        workdir=workdir,
        slot=slot,
        limits=limits,
        forbidden=kwargs.pop("forbidden", [COURSE]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        sb.kill(proc)
    return proc.returncode, out, err


def _running(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _pids_of_uid(uid: int) -> list[int]:
    """Processes of ``uid`` that are not zombies (an independent /proc scan)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z"):
                pids.append(int(entry.name))
    return pids


# --- argument checking and modes -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs", [{"memory_mb": 0}, {"cpu_seconds": -1}, {"processes": 1.5}, {"open_files": True}]
)
def test_limits_reject_non_positive_integers(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"Limits.{name} must be a positive integer"):
        Limits(**kwargs)


def test_bad_policy_and_slot_are_errors():
    with pytest.raises(ValueError, match="policy must be one of"):
        Sandbox.detect(policy="yes")
    with pytest.raises(ValueError, match="slot must be an integer"):
        Sandbox("rlimits-only").uid(-1)


def test_default_readable_skips_paths_overlapping_the_course(monkeypatch):
    monkeypatch.setattr(sys, "path", [*sys.path, str(ROOT), str(COURSE / "source"), "/tmp"])
    paths = default_readable(forbidden=[COURSE])
    assert Path(os.path.realpath(sys.prefix)) in paths
    assert Path(os.path.realpath(sys.base_prefix)) in paths
    for p in paths:
        assert not (p == COURSE or p.is_relative_to(COURSE) or COURSE.is_relative_to(p)), p
    assert Path("/tmp") not in paths  # world-writable: never bound by default
    assert Path(sys.prefix) not in default_readable(forbidden=[Path(sys.prefix) / "bin"])


def test_readable_or_workdir_overlapping_forbidden_is_an_error(sb, tmp_path):
    workdir = _workdir(sb, tmp_path, 900)
    with pytest.raises(ValueError, match="overlaps forbidden path"):
        sb.popen(["true"], workdir=workdir, readable=[ROOT], forbidden=[COURSE], slot=900)
    with pytest.raises(ValueError, match="workdir .* overlaps forbidden path"):
        sb.popen(["true"], workdir=workdir, forbidden=[tmp_path], slot=900)


def test_auto_warns_loudly_when_bwrap_is_missing(monkeypatch, caplog):
    monkeypatch.setenv(sandbox_module.BWRAP_ENV, "/nonexistent/bwrap")
    with caplog.at_level(logging.WARNING, logger="dlcourse_grader"):
        with pytest.warns(RuntimeWarning, match="install Debian's bubblewrap"):
            sb = Sandbox.detect(policy="auto")
    assert sb.mode == "rlimits-only"
    assert "can read the course folder" in caplog.text
    assert "network: NOT ENFORCED" in sb.describe()
    with pytest.raises(RuntimeError, match="bwrap not found at /nonexistent/bwrap"):
        Sandbox.detect(policy="strict")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Sandbox.detect(policy="off").mode == "rlimits-only"


def test_installed_but_broken_bwrap_is_detected(monkeypatch):
    monkeypatch.setenv(sandbox_module.BWRAP_ENV, "/bin/false")
    with pytest.raises(RuntimeError, match="exit status 1"):
        Sandbox.detect(policy="strict")


def test_detection_runs_once_per_process(monkeypatch):
    calls = []
    real = sandbox_module._probe
    monkeypatch.setattr(sandbox_module, "_probe_cache", {})
    monkeypatch.setattr(sandbox_module, "_probe", lambda b: calls.append(b) or real(b))
    modes = {Sandbox.detect(policy="auto").mode for _ in range(3)}
    assert len(calls) == 1 and len(modes) == 1


def test_rlimits_only_mode_applies_limits_and_scrubs_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_CANARY", "leaked")
    sb = Sandbox.detect(policy="off")
    workdir = sb.prepare(tmp_path / "work")
    code = (
        "import os\n"
        "try:\n    bytearray(1024**3)\nexcept MemoryError:\n    print('MemoryError')\n"
        "print(os.getcwd(), os.environ.get('DLCOURSE_CANARY'))"
    )
    rc, out, err = _run(sb, code, workdir, slot=0, limits=Limits(memory_mb=512))
    assert rc == 0, err
    assert out.split() == ["MemoryError", str(workdir), "None"]


def test_rlimits_only_kill_takes_the_students_children_too(tmp_path):
    sb = Sandbox.detect(policy="off")
    code = """
import os, time
kids = []
for _ in range(3):
    if (pid := os.fork()) == 0:
        time.sleep(600)
        os._exit(0)
    kids.append(pid)
print(*kids, flush=True)
time.sleep(600)
"""
    proc = sb.popen(
        [sys.executable, "-c", code],
        workdir=sb.prepare(tmp_path / "work"),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        kids = [int(pid) for pid in proc.stdout.readline().split()] if ready else []
    finally:
        sb.kill(proc)
    assert kids and proc.returncode == -signal.SIGKILL
    time.sleep(0.1)  # SIGKILL is delivered asynchronously
    assert [pid for pid in kids if _running(pid)] == []


# --- isolation (bwrap+setpriv) --------------------------------------------------------------------


def test_describe_lists_every_protection(sb):
    text = sb.describe(Limits(memory_mb=123))
    words = ["network", "filesystem", "other processes", "unprivileged uid", "cpu time", "disk"]
    for word in [*words, "kernel interfaces shared beyond the sandbox"]:
        assert f"{word}: enforced" in text
    assert "123 MB" in text and "NOT ENFORCED" not in text


def test_course_secrets_and_other_submissions_are_invisible(sb, tmp_path):
    slot = 901
    workdir = _workdir(sb, tmp_path, slot)
    secret = tmp_path / "instructor" / "solution.txt"
    secret.parent.mkdir()
    secret.write_text("42")
    secret.chmod(0o644)
    public = tmp_path / "public" / "data.txt"
    public.parent.mkdir()
    public.write_text("public")
    other = tmp_path / "submissions" / "bob" / "work" / "answer.py"
    other.parent.mkdir(parents=True)
    other.write_text("bob's answer")
    code = f"""
import os
print(open({str(public)!r}).read())
for p in [{str(secret)!r}, {str(other)!r}, {str(COURSE / "nbgrader_config.py")!r},
          {str(COURSE)!r}, "/etc/shadow", "/root/.bash_history", "/sys", "/home"]:
    print(p, os.path.exists(p))
print(sorted(os.listdir({str(workdir.parent.parent)!r})))
print(sorted(os.listdir({str(ROOT)!r})))
"""
    rc, out, err = _run(sb, code, workdir, slot=slot, readable=[public], forbidden=[COURSE, secret])
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "public"  # a path passed as readable is readable
    for line in lines[1:9]:
        assert line.endswith(" False"), line
    assert lines[9] == "['alice']"  # no sibling submission
    assert "course" not in lines[10] and "src" in lines[10]


def test_only_the_workdir_is_writable(sb, tmp_path):
    slot = 902
    workdir = _workdir(sb, tmp_path, slot)
    targets = [sys.prefix, os.path.dirname(sandbox_module.__file__), "/tmp", "/", "/etc", "/dev"]
    name = f"pwned-{os.getpid()}-{time.time_ns()}"
    code = f"""
import os
for d in {targets!r}:
    try:
        open(os.path.join(d, {name!r}), "w").close()
        print(d, "WRITABLE")
    except OSError as e:
        print(d, e.strerror)
open("mine.txt", "w").write("ok")
print(open("mine.txt").read(), os.stat("mine.txt").st_uid, os.stat(".").st_uid, os.getcwd())
"""
    rc, out, err = _run(sb, code, workdir, slot=slot)
    assert rc == 0, err
    assert "WRITABLE" not in out, out
    lines = out.splitlines()
    assert len(lines) == len(targets) + 1
    uid = BASE_UID + slot
    assert lines[-1].split() == ["ok", str(uid), str(uid), str(workdir)]
    assert not any(Path(d, name).exists() for d in targets)


def test_network_is_unreachable(sb, tmp_path):
    slot = 903
    workdir = _workdir(sb, tmp_path, slot)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        code = f"""
import socket
print([name for _, name in socket.if_nameindex()])
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=5)
    print("CONNECTED")
except OSError as e:
    print(type(e).__name__)
"""
        rc, out, err = _run(sb, code, workdir, slot=slot)
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()
    assert rc == 0, err
    assert out.splitlines() == ["['lo']", "ConnectionRefusedError"]


def test_memory_limit_raises_memory_error_inside(sb, tmp_path):
    slot = 904
    code = """
ok = bytearray(100 * 1024**2)
try:
    too_much = bytearray(1024**3)
    print("ALLOCATED")
except MemoryError:
    print("MemoryError")
print(len(bytearray(10)))
"""
    rc, out, err = _run(
        sb, code, _workdir(sb, tmp_path, slot), slot=slot, limits=Limits(memory_mb=512)
    )
    assert rc == 0, err
    assert out.split() == ["MemoryError", "10"]


def test_fork_bomb_hits_the_process_limit_and_kill_leaves_nothing(sb, tmp_path):
    slot = 905
    uid = BASE_UID + slot
    assert _pids_of_uid(uid) == []
    code = """
import os, time
n = 0
try:
    while n < 1000:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        n += 1
except BlockingIOError as e:
    print("BlockingIOError", n, flush=True)
time.sleep(600)
"""
    proc = sb.popen(
        [sys.executable, "-c", code],
        workdir=_workdir(sb, tmp_path, slot),
        slot=slot,
        limits=Limits(processes=16),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        line = proc.stdout.readline() if ready else ""
        running = _pids_of_uid(uid)
    finally:
        sb.kill(proc)
    name, n = line.split()
    assert name == "BlockingIOError" and 1 <= int(n) < 16
    assert len(running) == int(n) + 1  # the student's process and its children
    assert proc.returncode is not None
    assert _pids_of_uid(uid) == []


def test_file_size_limit_fails_writes_with_efbig(sb, tmp_path):
    slot = 906
    workdir = _workdir(sb, tmp_path, slot)
    code = f"""
import os
with open("small", "wb") as f:
    f.write(bytes(512 * 1024))
try:
    with open("big", "wb") as f:
        f.write(bytes(2 * 1024**2))
except OSError as e:
    print(e.errno == {errno.EFBIG})
print(os.path.getsize("small"), os.path.getsize("big") <= 1024**2)
"""
    limits = Limits(file_size_mb=1)
    rc, out, err = _run(sb, code, workdir, slot=slot, limits=limits)
    assert rc == 0, err
    assert out.split() == ["True", str(512 * 1024), "True"]
    # Not only Python (which ignores SIGXFSZ itself): a shell's child gets EFBIG, not killed.
    shell = ["/bin/sh", "-c", "head -c 2000000 /dev/zero > big2; echo status=$?"]
    rc, out, err = _run(sb, None, workdir, slot=slot, limits=limits, argv=shell)
    assert (rc, out.strip()) == (0, "status=1"), err


def test_cpu_limit_kills_a_busy_loop(sb, tmp_path):
    slot = 907
    start = time.monotonic()
    rc, out, err = _run(
        sb,
        "while True: pass",
        _workdir(sb, tmp_path, slot),
        slot=slot,
        limits=Limits(cpu_seconds=1),
    )
    assert Sandbox.signal_of(rc) in (signal.SIGXCPU, signal.SIGKILL), (rc, err)
    assert time.monotonic() - start < 10


def test_identity_processes_and_environment(sb, tmp_path, monkeypatch):
    slot = 908
    workdir = _workdir(sb, tmp_path, slot)
    monkeypatch.setenv("DLCOURSE_CANARY", "leaked")
    code = """
import getpass, json, os, socket
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())
print(json.dumps({
    "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getgroups(), getpass.getuser()],
    "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "caps": status["CapEff"].strip(), "nnp": status["NoNewPrivs"].strip(),
    "host": socket.gethostname(), "env": dict(os.environ),
}))
"""
    rc, out, err = _run(sb, code, workdir, slot=slot, env={"EXTRA": "1"})
    assert rc == 0, err
    info = json.loads(out)
    uid = BASE_UID + slot
    assert info["ids"] == [uid, uid, uid, [], "student"]
    assert info["pids"] == [1, 2]  # bwrap's init and the student's process
    assert (info["caps"], info["nnp"], info["host"]) == ("0000000000000000", "1", "sandbox")
    env = info["env"]
    assert "DLCOURSE_CANARY" not in env and env["EXTRA"] == "1"
    assert env["HOME"] == env["TMPDIR"] == str(workdir)
    assert set(env) <= {
        *("PATH", "HOME", "TMPDIR", "LANG", "PYTHONNOUSERSITE", "PYTHONDONTWRITEBYTECODE"),
        *("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MPLBACKEND"),
        *("MPLCONFIGDIR", "EXTRA", "PWD", "LC_CTYPE"),
    }


def test_pass_fds_reach_the_sandboxed_process(sb, tmp_path):
    slot = 909
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    code = f"""
import os
fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
request = os.read({to_child_r}, 100)
os.write({from_child_w}, request.upper() + b" " + str(fds).encode())
"""
    proc = sb.popen(
        [sys.executable, "-c", code],
        workdir=_workdir(sb, tmp_path, slot),
        slot=slot,
        pass_fds=(to_child_r, from_child_w),
    )
    os.close(to_child_r)
    os.close(from_child_w)
    try:
        os.write(to_child_w, b"ping")
        os.close(to_child_w)
        assert proc.wait(timeout=TIMEOUT) == 0
        with os.fdopen(from_child_r, "rb") as reply:
            answer = reply.read().decode()
    finally:
        sb.kill(proc)
    # Only stdio, the two pipes and the fd listing /proc/self/fd: no leaked bwrap data fds.
    assert answer == f"PING {sorted([0, 1, 2, 3, to_child_r, from_child_w])}"


def test_numpy_torch_and_matplotlib_work_inside(sb, tmp_path):
    slot = 910
    workdir = _workdir(sb, tmp_path, slot)
    code = """
import numpy as np, torch, dlcourse
import matplotlib.pyplot as plt
a = np.arange(6.0).reshape(2, 3)
print((a @ a.T).sum(), torch.tensor(a).pow(2).sum().item())
plt.plot([1, 2]); plt.savefig("fig.png")
import os; print(os.path.getsize("fig.png") > 0)
"""
    rc, out, err = _run(sb, code, workdir, slot=slot)
    assert rc == 0, err
    assert out.split() == ["83.0", "55.0", "True"]


# --- seccomp: keyrings, namespaces, mounts, memfd (issue 17) -------------------------------------

_SYSCALLS = """
import ctypes, errno, json, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = {nr!r}
def call(name, *args):
    ctypes.set_errno(0)
    r = libc.syscall(NR[name], *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    if r == 0 and name == "clone":
        os._exit(0)  # a child: it must not print
    return errno.errorcode.get(ctypes.get_errno(), "OK") if r == -1 else "OK"
KEY_SPEC_USER_KEYRING = -4
out = {{
    "add_key": call("add_key", b"user", b"secret", b"42", 2, KEY_SPEC_USER_KEYRING),
    "request_key": call("request_key", b"user", b"secret", None, 0),
    "keyctl": call("keyctl", 0, KEY_SPEC_USER_KEYRING, 0),  # KEYCTL_GET_KEYRING_ID
    "unshare": call("unshare", 0x10000000 | 0x20000),  # CLONE_NEWUSER | CLONE_NEWNS
    "setns": call("setns", os.open("/proc/self/ns/net", os.O_RDONLY), 0),
    "mount": call("mount", b"none", b".", b"tmpfs", 0, b"size=4g"),
    "memfd_create": call("memfd_create", b"big", 0),
    "shmget": call("shmget", 0, 1 << 30, 0o1600),
    "bpf": call("bpf", 0, None, 0),
    "perf_event_open": call("perf_event_open", None, 0, -1, -1, 0),
    "userfaultfd": call("userfaultfd", 0),
    "ptrace": call("ptrace", 16, os.getppid(), 0, 0),  # PTRACE_ATTACH
    "io_uring_setup": call("io_uring_setup", 8, None),
    "clone": call("clone", 0x10000000 | 17, 0, 0, 0, 0),  # CLONE_NEWUSER | SIGCHLD
    "clone3": call("clone3", None, 0),
    "sched_setaffinity": call("sched_setaffinity", 0, 8, (ctypes.c_ulong * 1)(1)),
}}
print(json.dumps(out))
"""


def _sandboxes(sb: Sandbox) -> list[Sandbox]:
    """The root mode and, run by root too, the user-namespace mode."""
    userns = Sandbox("bwrap-userns", bwrap=sb.bwrap, features=sb.features)
    return [sb, userns]


def test_seccomp_denies_keyrings_namespaces_mounts_and_memfd(sb, tmp_path):
    if not sb.seccomp:
        pytest.skip(f"SKIPPED LOUDLY: no seccomp filter here ({sb.features}, {os.uname().machine})")
    from dlcourse_grader.seccomp import _TABLES

    numbers = _TABLES[os.uname().machine.lower()][1]
    code = _SYSCALLS.format(nr=numbers)
    for i, box in enumerate(_sandboxes(sb)):
        slot = 911 + i
        rc, out, err = _run(box, code, box.prepare(tmp_path / box.mode, slot=slot), slot=slot)
        assert rc == 0, err
        result = json.loads(out)
        expected = dict.fromkeys(result, "EPERM") | {"clone3": "ENOSYS"}
        assert result == expected, box.mode


def test_keyring_is_no_channel_between_submissions(sb, tmp_path):
    if not sb.seccomp:
        pytest.skip(f"SKIPPED LOUDLY: no seccomp filter here ({sb.features}, {os.uname().machine})")
    slot = 913
    write = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print(libc.syscall(248, b"user", b"answer", b"42", 2, ctypes.c_long(-4)), ctypes.get_errno())
"""
    read = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
key = libc.syscall(249, b"user", b"answer", None, ctypes.c_long(-4))
buf = ctypes.create_string_buffer(64)
n = libc.syscall(250, 11, key, buf, 64) if key > 0 else -1  # KEYCTL_READ
print(buf.value.decode() if n > 0 else "nothing")
"""
    rc1, out1, err1 = _run(sb, write, _workdir(sb, tmp_path, slot), slot=slot)
    rc2, out2, err2 = _run(sb, read, sb.prepare(tmp_path / "bob", slot=slot), slot=slot)
    assert (rc1, rc2) == (0, 0), err1 + err2
    assert out1.split() == ["-1", str(errno.EPERM)]
    assert out2.split() == ["nothing"]


def test_threads_fork_subprocess_numpy_and_torch_work_under_seccomp(sb, tmp_path):
    code = """
import multiprocessing as mp, os, subprocess, threading
import numpy as np, torch, dlcourse, IPython
results = []
threads = [threading.Thread(target=lambda i=i: results.append(i)) for i in range(40)]
for t in threads: t.start()
for t in threads: t.join()
def square(x):
    return x * x
with mp.get_context("fork").Pool(2) as pool:
    squares = pool.map(square, range(4))
print(len(results), sum(squares), subprocess.run(["/bin/true"]).returncode,
      (torch.ones(3, 4) @ torch.ones(4, 2)).sum().item(), np.linalg.norm(np.eye(4)))
"""
    for i, box in enumerate(_sandboxes(sb)):
        slot = 914 + i
        workdir = box.prepare(tmp_path / box.mode, slot=slot)
        rc, out, err = _run(box, code, workdir, slot=slot, limits=Limits(processes=64))
        assert rc == 0, (box.mode, err)
        assert out.split() == ["40", "14", "0", "24.0", "2.0"], box.mode


def _bpf_run(program: bytes, arch: int, nr: int, arg0: int = 0) -> int:
    """Evaluate a classic-BPF seccomp program on one system call; returns its action."""
    import struct

    data = struct.pack("=iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    insns = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    pc, acc = 0, 0
    for _ in range(len(insns)):  # forward jumps only: at most one pass
        code, jt, jf, k = insns[pc]
        if code == 0x20:
            acc = struct.unpack_from("=I", data, k)[0]
        elif code == 0x06:
            return k
        else:
            taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += jt if taken else jf
        pc += 1
    raise AssertionError("program fell off its end")


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_seccomp_program_decisions(machine):
    from dlcourse_grader import seccomp

    arch, numbers = seccomp._TABLES[machine]
    program = seccomp.filter_program(machine)
    allow, eperm, enosys = 0x7FFF0000, 0x50000 | errno.EPERM, 0x50000 | errno.ENOSYS
    for name in seccomp.DENIED:
        assert _bpf_run(program, arch, numbers[name]) == eperm, name
    assert _bpf_run(program, arch, numbers["clone3"]) == enosys
    assert _bpf_run(program, arch, numbers["clone"], 0x01200011) == allow  # fork()
    assert _bpf_run(program, arch, numbers["clone"], 0x003D0F00) == allow  # pthread_create()
    for flag in [0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000]:
        assert _bpf_run(program, arch, numbers["clone"], 0x11 | flag) == eperm, hex(flag)
    for nr in [0, 1, 2, 3, 60, 231, 500]:  # read, write, ..., exit, exit_group on x86-64
        if nr not in {numbers[n] for n in [*seccomp.DENIED, "clone", "clone3"]}:
            assert _bpf_run(program, arch, nr) == allow, nr
    assert _bpf_run(program, 0x40000003, 250) == enosys  # i386 int 0x80, ARM compat
    if machine == "x86_64":
        assert _bpf_run(program, arch, 0x40000000 | 250) == enosys  # x32 keyctl


# --- an allow-list filesystem (issue 17) ----------------------------------------------------------


def test_only_the_python_installation_and_package_dirs_are_visible(sb, tmp_path, monkeypatch):
    """The course lives elsewhere (``--course``): the project's own course is no less hidden."""
    slot = 916
    elsewhere = tmp_path / "other-course"
    (elsewhere / "source").mkdir(parents=True)
    # The grader starts its test process with the project root on PYTHONPATH.
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setattr(sys, "path", [sys.path[0], str(ROOT), *sys.path[1:]])
    import dlcourse

    package = Path(dlcourse.__file__).resolve().parent
    code = f"""
import json, os
import dlcourse, numpy, torch, IPython
seen = {{}}
for p in {[str(ROOT), str(package.parent), str(COURSE), str(COURSE / "source"), str(elsewhere)]!r}:
    try:
        seen[p] = sorted(os.listdir(p))
    except OSError as e:
        seen[p] = e.strerror
print(json.dumps(seen))
"""
    rc, out, err = _run(sb, code, _workdir(sb, tmp_path, slot), slot=slot, forbidden=[elsewhere])
    assert rc == 0, err
    seen = json.loads(out)
    # src/ shows only the packages (dlcourse and the grader, whose worker runs in there)
    assert package.name in seen[str(package.parent)]
    listed = {n for n in seen[str(package.parent)] if not n.endswith(".egg-info")}  # metadata
    assert listed <= {package.name, "dlcourse_grader"}
    assert "course" not in seen[str(ROOT)] and "book" not in seen[str(ROOT)], seen[str(ROOT)]
    assert "README.md" not in seen[str(ROOT)] and "tests" not in seen[str(ROOT)]
    for hidden in [COURSE, COURSE / "source", elsewhere]:
        assert seen[str(hidden)] == "No such file or directory", hidden


# --- copying a submission's files (issue 17) ------------------------------------------------------


def _copy_bounded(*args, **kwargs) -> list[str]:
    """``copy_inputs`` in a thread, failing (not hanging) if it blocks on a FIFO or a device."""
    import threading

    result: list = []
    thread = threading.Thread(
        target=lambda: result.append(sandbox_module.copy_inputs(*args, **kwargs)), daemon=True
    )
    thread.start()
    thread.join(TIMEOUT)
    assert not thread.is_alive(), "copy_inputs blocked"
    assert result, "copy_inputs raised (see the thread's traceback above)"
    return result[0]


def test_copy_inputs_copies_only_regular_files_and_folders(tmp_path):
    sub = tmp_path / "submission"
    (sub / "data" / "deep").mkdir(parents=True)
    (sub / "data" / "deep" / "a.txt").write_text("a")
    (sub / "helper.py").write_text("x = 1")
    (sub / "run.sh").write_text("#!/bin/sh")
    (sub / "run.sh").chmod(0o4755)  # setuid is not copied
    (sub / "answer.ipynb").write_text("{}")
    (sub / ".hidden").write_text("h")
    os.mkfifo(sub / "data" / "fifo")
    os.symlink("/etc/passwd", sub / "data" / "passwd")
    os.symlink(COURSE, sub / "course")
    os.symlink("deep", sub / "data" / "loop")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sub / "data" / "sock"))
    if os.geteuid() == 0:
        os.mknod(sub / "data" / "zero", 0o666 | 0o020000, os.makedev(1, 5))  # /dev/zero
    release = tmp_path / "release"
    release.mkdir()
    (release / "helper.py").write_text("x = 2")  # the assignment's own file wins
    dst = tmp_path / "work"
    events = _copy_bounded(
        [sub, release], dst, exclude=lambda n: n.endswith(".ipynb") or n.startswith(".")
    )
    copied = sorted(str(p.relative_to(dst)) for p in dst.rglob("*"))
    assert copied == ["data", "data/deep", "data/deep/a.txt", "helper.py", "run.sh"]
    assert (dst / "helper.py").read_text() == "x = 2"
    assert (dst / "data" / "deep" / "a.txt").read_text() == "a"
    assert (dst / "run.sh").stat().st_mode & 0o7777 == 0o755
    expected = {
        "left out course (a symbolic link)",
        "left out data/fifo (a FIFO)",
        "left out data/loop (a symbolic link)",
        "left out data/passwd (a symbolic link)",
        "left out data/sock (a socket)",
    }
    if os.geteuid() == 0:
        expected.add("left out data/zero (a character device)")
    assert set(events) == expected


def test_copy_inputs_stops_at_the_file_and_byte_caps(tmp_path):
    sub = tmp_path / "submission"
    for i in range(30):
        (sub / f"d{i:02}").mkdir(parents=True)
        for j in range(100):
            (sub / f"d{i:02}" / f"f{j:03}").write_bytes(b"")
    events = _copy_bounded([sub], tmp_path / "work", max_files=500)
    n = sum(1 for _ in (tmp_path / "work").rglob("*"))
    assert n == 500
    assert events == [
        "stopped copying the submission's files: more than 500 files; the rest left out"
    ]
    big = tmp_path / "big"
    big.mkdir()
    (big / "a").write_bytes(bytes(3 * 1024**2))
    (big / "b").write_bytes(bytes(3 * 1024**2))
    events = _copy_bounded([big], tmp_path / "work2", max_bytes=5 * 1024**2)
    assert sorted(p.name for p in (tmp_path / "work2").iterdir()) == ["a"]
    assert events == ["stopped copying the submission's files: more than 5 MB; the rest left out"]


def test_copy_inputs_names_odd_entries_printably(tmp_path):
    sub = tmp_path / "submission"
    sub.mkdir()
    name = os.fsdecode(b"bad\xff")
    os.symlink("/", sub / name)
    for i in range(30):
        os.symlink("/", sub / f"link{i:02}")
    events = _copy_bounded([sub], tmp_path / "work")
    assert events[0] == "left out bad\\xff (a symbolic link)"
    assert len(events) == 21 and events[-1] == "... and 11 more left out"
    "\n".join(events).encode("utf-8")  # no lone surrogates


# --- nothing of one submission reaches the next in its slot (issue 17) ---------------------------

_HOG = """
import ctypes, os, time
ctypes.CDLL(None).prctl(4, 0)  # PR_SET_DUMPABLE 0: /proc/PID now belongs to root
for i in range(60):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            while True:
                pass
        os._exit(0)
time.sleep(0.5)
print("ready", flush=True)
time.sleep(600)
"""

_FORTY_THREADS = """
import threading, time
threads = [threading.Thread(target=time.sleep, args=(0.2,)) for _ in range(40)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(threads))
"""


def test_a_hog_leaves_nothing_for_the_next_submission_in_its_slot(sb, tmp_path):
    slot = 917
    uid = BASE_UID + slot
    proc = sb.popen(
        [sys.executable, "-c", _HOG],
        workdir=_workdir(sb, tmp_path, slot),
        slot=slot,
        limits=Limits(processes=200),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        line = proc.stdout.readline() if ready else ""
        hogs = len(_pids_of_uid(uid))
    finally:
        sb.kill(proc)
    assert line.strip() == "ready" and hogs == 61
    assert _pids_of_uid(uid) == []
    # The next student in the slot gets the whole process limit (64 includes bwrap's init).
    limits = Limits(processes=48)
    rc, out, err = _run(
        sb, _FORTY_THREADS, sb.prepare(tmp_path / "bob", slot=slot), slot=slot, limits=limits
    )
    assert (rc, out.strip()) == (0, "40"), err


def test_teardown_kills_a_process_of_the_slot_that_escaped_the_namespace(sb, tmp_path):
    slot = 918
    uid = BASE_UID + slot
    code = "import ctypes, time; ctypes.CDLL(None).prctl(4, 0); print(flush=True); time.sleep(600)"
    straggler = subprocess.Popen(
        [
            shutil.which("setpriv"),
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            sys.executable,
            "-c",
            code,
        ],
        stdout=subprocess.PIPE,
    )
    try:
        select.select([straggler.stdout], [], [], TIMEOUT)
        assert _pids_of_uid(uid) == [straggler.pid]
        assert sb.teardown(slot, timeout=TIMEOUT) == 0
        assert straggler.wait(timeout=TIMEOUT) == -signal.SIGKILL
    finally:
        straggler.kill()
        straggler.wait(timeout=TIMEOUT)
    # A sweep never touches the grader's own uid, and other modes have no slot uid to sweep.
    assert Sandbox("bwrap-userns", bwrap=sb.bwrap).teardown(slot) == 0


# --- the workdir: a tmpfs capped in bytes and files (issue 17) -----------------------------------


@pytest.mark.parametrize("variant", ["tmpfs-workdir", "sized-workdir"])
def test_workdir_is_capped_in_bytes_and_files_and_the_graders_disk_untouched(sb, tmp_path, variant):
    """``tmpfs-workdir`` (root, and user namespaces the init owns) caps bytes and files;
    ``sized-workdir`` (bwrap run by a user) caps bytes."""
    if sandbox_module.TMPFS_WORKDIR not in sb.features:
        pytest.skip(f"SKIPPED LOUDLY: no tmpfs workdir here ({sb.features})")
    others = {sandbox_module.TMPFS_WORKDIR, sandbox_module.SIZED_WORKDIR} - {variant}
    sb = Sandbox(sb.mode, bwrap=sb.bwrap, features=(sb.features - others) | {variant})
    slot = 919
    workdir = tmp_path / "work"
    (workdir / "data").mkdir(parents=True)
    (workdir / "data" / "given.txt").write_text("given")
    (workdir / "run.sh").write_text("#!/bin/sh\necho ran")
    (workdir / "run.sh").chmod(0o755)
    workdir = sb.prepare(workdir, slot=slot)
    before = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*"))
    code = """
import errno, os, subprocess
print(open("data/given.txt").read(), subprocess.run(["./run.sh"], capture_output=True,
      text=True).stdout.strip())
open("data/given.txt", "a").write(" and changed")
written = 0
try:
    with open("big", "wb") as f:
        for _ in range(40):
            f.write(bytes(1024**2))
            f.flush()
            written += 1
except OSError as e:
    print("bytes", errno.errorcode[e.errno], written)
os.remove("big")
n = 0
try:
    while n < 100_000:
        open(f"f{n}", "w").close()
        n += 1
except OSError as e:
    print("files", errno.errorcode[e.errno], n)
"""
    limits = Limits(disk_mb=16, disk_files=500, file_size_mb=64)
    rc, out, err = _run(sb, code, workdir, slot=slot, limits=limits)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "given ran"
    kind, name, written = lines[1].split()
    assert (kind, name) == ("bytes", "ENOSPC") and 14 <= int(written) < 16
    if variant == "tmpfs-workdir":
        kind, name, n = lines[2].split()
        assert (kind, name) == ("files", "ENOSPC") and 450 <= int(n) < 500
    else:
        assert lines[2:] == []  # 100,000 files: no inode cap
    # Nothing reached the grader's disk: the prepared folder is as it was.
    assert sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*")) == before
    assert (workdir / "data" / "given.txt").read_text() == "given"


def test_the_grader_reads_the_students_files_through_workdir_view(sb, tmp_path):
    slot = 920
    workdir = _workdir(sb, tmp_path, slot)
    code = """
import os, time
os.mkdir("out")
open("out/result.txt", "w").write("42")
os.symlink("/etc/shadow", "out/shadow")
print("written", flush=True)
time.sleep(600)
"""
    proc = sb.popen(
        [sys.executable, "-c", code],
        workdir=workdir,
        slot=slot,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        assert ready and proc.stdout.readline().strip() == "written"
        view = sb.workdir_view(proc, workdir)
        events = sandbox_module.copy_inputs([view], tmp_path / "pulled")
    finally:
        sb.kill(proc)
    assert (tmp_path / "pulled" / "out" / "result.txt").read_text() == "42"
    assert events == ["left out out/shadow (a symbolic link)"]
    assert sb.workdir_view(proc, workdir) is None  # gone with the sandbox


def test_prepared_files_beyond_the_disk_cap_are_cut_not_fatal(sb, tmp_path):
    if sandbox_module.TMPFS_WORKDIR not in sb.features:
        pytest.skip(f"SKIPPED LOUDLY: no tmpfs workdir here ({sb.features})")
    slot = 921
    workdir = tmp_path / "work"
    workdir.mkdir()
    for name in "abc":
        (workdir / name).write_bytes(bytes(3 * 1024**2))
    workdir = sb.prepare(workdir, slot=slot)
    code = "import os; print(*sorted(os.path.getsize(n) for n in os.listdir('.')))"
    rc, out, err = _run(sb, code, workdir, slot=slot, limits=Limits(disk_mb=5))
    assert rc == 0, err
    assert out.split() == [str(3 * 1024**2)]  # whole files only, none left truncated
    assert "not every prepared file was copied into the workdir: No space left" in err


def test_rootless_mode_gets_seccomp_and_a_sized_workdir(tmp_path):
    """Run by a user (here ``nobody``, with Debian's own Python): ``bwrap-userns``."""
    python = "/usr/bin/python3"
    if os.geteuid() != 0 or not os.access(python, os.X_OK) or not shutil.which("setpriv"):
        pytest.skip("SKIPPED LOUDLY: needs root (to become nobody) and /usr/bin/python3")
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="dlcourse-rootless-"))
    try:
        package = top / "dlcourse_grader"
        package.mkdir()
        for name in ("sandbox.py", "seccomp.py"):
            (package / name).write_text(Path(sandbox_module.__file__).with_name(name).read_text())
        (package / "__init__.py").write_text("")
        (top / "run.py").write_text(
            f"""
import json, subprocess, sys, tempfile
sys.path.insert(0, {str(top)!r})
from dlcourse_grader.sandbox import Sandbox, Limits
sb = Sandbox.detect("strict")
work = sb.prepare(tempfile.mkdtemp(dir={str(top / "scratch")!r}) + "/work")
code = '''
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
print(libc.syscall({250 if os.uname().machine == "x86_64" else 219}, 0, ctypes.c_long(-4), 0),
      errno.errorcode[ctypes.get_errno()])
try:
    open("big", "wb").write(bytes(6 * 1024**2))
except OSError as e:
    print(errno.errorcode[e.errno])
'''
proc = sb.popen([sys.executable, "-c", code], workdir=work, limits=Limits(disk_mb=4),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
out, err = proc.communicate(timeout=60)
sb.kill(proc)
print(json.dumps([sb.mode, sorted(sb.features), out.split(), err, sb.describe()]))
"""
        )
        for path in [top, *top.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        (top / "scratch").mkdir()
        os.chown(top / "scratch", 65534, 65534)
        proc = subprocess.run(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                python,
                str(top / "run.py"),
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT * 2,
            env={"PATH": "/usr/bin:/bin", "HOME": str(top)},
        )
        assert proc.returncode == 0, proc.stderr
        mode, features, out, err, text = json.loads(proc.stdout)
        if mode != "bwrap-userns":
            pytest.skip(f"SKIPPED LOUDLY: no user namespaces for users here ({mode})")
        assert sandbox_module.SIZED_WORKDIR in features, features
        assert out == ["-1", "EPERM", "ENOSPC"], err
        assert "disk: enforced in bytes" in text and "the number of files is NOT capped" in text
    finally:
        subprocess.run(["rm", "-rf", str(top)], timeout=TIMEOUT)
