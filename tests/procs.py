"""Helpers that keep a test's failure path from blocking, and limits that follow the machine's load.

A test that drives a subprocess must never wait for it without a bound: reading a live
process's pipe to EOF, ``wait()`` or ``communicate()`` without a timeout hang the whole
suite when the process misbehaves, which is exactly when the test should fail with a message.
"""

from __future__ import annotations

import os
import subprocess


def load_factor() -> float:
    """How much busier than idle the machine is: the 1-minute load per core, at least 1."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on this platform
        return 1.0
    return max(1.0, load / (os.cpu_count() or 1))


def scaled(seconds: float, cap: float = 10.0) -> float:
    """A wall-clock limit of ``seconds`` on an idle machine, stretched by the measured load.

    The stretch is at most ``cap`` times, so that a real hang still ends in a failure.
    """
    return seconds * min(load_factor(), cap)


def stop(proc: subprocess.Popen, timeout: float = 10.0):
    """Kill ``proc`` if it still runs and return ``(stdout, stderr)`` left on its pipes.

    Never blocks longer than ``timeout``: a grandchild that keeps a pipe open gives ``None``.
    """
    if proc.poll() is None:
        proc.kill()
    try:
        return proc.communicate(timeout=timeout)
    except (subprocess.TimeoutExpired, ValueError):  # ValueError: pipes already closed
        return None, None
