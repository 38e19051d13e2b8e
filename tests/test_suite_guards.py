"""Guards of the test suite itself: a hang becomes a failure with a traceback.

Every test runs under pytest-timeout (``timeout`` in pyproject's pytest config); a test that
blocks forever (a pipe read on a live process, a wait without a timeout) is stopped there, is
reported as a failure that shows where it hung, and the rest of the suite goes on.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from .procs import stop

pytestmark = pytest.mark.timeout(120)


def test_every_test_has_a_time_limit(pytestconfig):
    assert float(pytestconfig.getini("timeout")) > 0, "pyproject must set a default timeout"
    assert pytestconfig.getini("timeout_method") == "signal"


def test_a_hang_becomes_a_failure_with_a_traceback(tmp_path):
    (tmp_path / "test_hangs.py").write_text(
        textwrap.dedent(
            """
            import time

            def test_blocks_forever():
                time.sleep(3600)  # stands for a read on a live process's pipe

            def test_after_the_hang_the_suite_goes_on():
                assert True
            """
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--timeout=2", "--timeout-method=signal", "-q", str(tmp_path)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=90)
    finally:
        stop(proc)
    assert proc.returncode == 1, out  # 1: some tests failed (not 0, not a crash)
    assert "Timeout (>2.0s) from pytest-timeout" in out, out
    assert "time.sleep(3600)" in out, "the failure must show where the test hung:\n" + out
    assert "1 failed, 1 passed" in out, out
