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
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from autograder import sandbox as sandbox_module
from autograder.sandbox import BASE_UID, Limits, Sandbox, default_readable

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
    with caplog.at_level(logging.WARNING, logger="autograder"):
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
    for word in ["network", "filesystem", "other processes", "unprivileged uid", "cpu time"]:
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
"""
    rc, out, err = _run(sb, code, workdir, slot=slot)
    assert rc == 0, err
    assert "WRITABLE" not in out, out
    assert len(out.splitlines()) == len(targets)
    assert (workdir / "mine.txt").read_text() == "ok"
    assert (workdir / "mine.txt").stat().st_uid == BASE_UID + slot
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
"""
    limits = Limits(file_size_mb=1)
    rc, out, err = _run(sb, code, workdir, slot=slot, limits=limits)
    assert rc == 0, err
    assert out.split() == ["True"]
    assert (workdir / "small").stat().st_size == 512 * 1024
    assert (workdir / "big").stat().st_size <= 1024**2
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
"""
    rc, out, err = _run(sb, code, workdir, slot=slot)
    assert rc == 0, err
    assert out.split() == ["83.0", "55.0"]
    assert (workdir / "fig.png").stat().st_size > 0
