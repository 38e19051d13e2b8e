"""Shared fixtures: paths, and installing the system packages some tests need."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
# `make test` sets this: the whole suite's wall time is written there for `make bench`
SUITE_TIME_ENV = "DLCOURSE_SUITE_TIME"
_STARTED = time.monotonic()


def need_system_package(binaries: list[str], debian_packages: list[str]) -> None:
    """Make sure ``binaries`` are on PATH, installing ``debian_packages`` with apt when root.

    Otherwise skip the test with a loud reason, except under ``CI=true`` where a missing
    dependency is a failure: CI must always exercise these tests.
    """
    if all(shutil.which(b) for b in binaries):
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
        proc = subprocess.run(
            ["apt-get", "install", "-y", "-qq", *debian_packages],
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode == 0 and all(shutil.which(b) for b in binaries):
            return
        reason = f"apt-get install {' '.join(debian_packages)} failed:\n{proc.stderr[-2000:]}"
    else:
        reason = (
            f"needs {', '.join(binaries)}: install Debian's {' '.join(debian_packages)} "
            "(not root, so the test cannot install them itself)"
        )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true and this test cannot run: {reason}")
    pytest.skip(f"SKIPPED LOUDLY: {reason}")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# pytest-timeout's default (pyproject: 900 s) covers a test and its fixtures. Slow grading tests
# and the browser test grade or build whole notebooks in a module-scoped fixture, which the
# first test of the module pays for: they get more, unless they carry their own mark.
HEAVY_TIMEOUT = 2400


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("timeout") is not None:
            continue
        heavy = item.get_closest_marker("grading") and item.get_closest_marker("slow")
        if heavy or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.timeout(HEAVY_TIMEOUT))


def pytest_sessionfinish(session, exitstatus):
    """Record the suite's wall time (``make test`` only; not in xdist workers)."""
    path = os.environ.get(SUITE_TIME_ENV)
    if not path or hasattr(session.config, "workerinput"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats = getattr(reporter, "stats", {}) if reporter else {}
    counts = {k: len(v) for k, v in stats.items() if k in ("passed", "failed", "error", "skipped")}
    record = {
        "seconds": round(time.monotonic() - _STARTED, 1),
        "exitstatus": int(exitstatus),
        "tests": session.testscollected,
        **counts,
        "workers": getattr(session.config.option, "numprocesses", None),
        "load1": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "cpus": os.cpu_count(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=1) + "\n")


from .postgres import postgres_db_url, postgres_url  # noqa: E402, F401
