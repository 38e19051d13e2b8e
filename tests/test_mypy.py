"""Type checking: mypy over src/dlcourse, with a baseline of errors per file that only shrinks.

mypy's settings are in pyproject.toml (``[tool.mypy]``). tests/mypy-baseline.txt holds the
number of errors each file had when the baseline was written; a file may not get more (a new
file starts at 0), and when a file gets fewer the baseline must be lowered in the same
change, so that a fixed error cannot come back unnoticed. Rewrite the baseline with
``.venv/bin/python -m tests.test_mypy`` after fixing errors (it refuses to raise a count).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

import pytest

from .conftest import ROOT

BASELINE = ROOT / "tests" / "mypy-baseline.txt"
ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):\d+: error: ", re.MULTILINE)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def mypy_errors() -> tuple[Counter[str], str]:
    """Errors per file (paths relative to the repository) and mypy's whole output."""
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--no-pretty"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=800,
    )
    if proc.returncode not in (0, 1):  # 2: mypy itself failed (bad config, crash)
        raise RuntimeError(f"mypy failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return Counter(m["path"] for m in ERROR.finditer(proc.stdout)), proc.stdout


def read_baseline() -> dict[str, int]:
    counts = {}
    for line in BASELINE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            path, n = line.rsplit(maxsplit=1)
            counts[path] = int(n)
    return counts


def write_baseline(counts: Counter[str]) -> None:
    lines = [
        "# mypy errors per file in src/dlcourse (tests/test_mypy.py); counts may only go down.",
        f"# total {sum(counts.values())}",
    ]
    lines += [f"{path} {n}" for path, n in sorted(counts.items()) if n]
    BASELINE.write_text("\n".join(lines) + "\n")


def test_mypy_errors_do_not_grow_and_the_baseline_follows_fixes():
    actual, output = mypy_errors()
    baseline = read_baseline()
    grew = {p: (baseline.get(p, 0), n) for p, n in actual.items() if n > baseline.get(p, 0)}
    shrank = {p: (n, actual.get(p, 0)) for p, n in baseline.items() if actual.get(p, 0) < n}
    if grew:
        shown = "\n".join(
            line for line in output.splitlines() if line.split(":")[0] in grew and "error" in line
        )
        pytest.fail(
            "mypy finds more errors than tests/mypy-baseline.txt allows "
            f"(file: baseline -> now): {grew}\n{shown}"
        )
    assert not shrank, (
        f"fewer mypy errors than the baseline (file: baseline -> now): {shrank}; lower the "
        "baseline: .venv/bin/python -m tests.test_mypy"
    )


def main() -> int:
    actual, _ = mypy_errors()
    old = read_baseline() if BASELINE.exists() else {}
    raised = {p: (old.get(p, 0), n) for p, n in actual.items() if old and n > old.get(p, 0)}
    if raised and "--force" not in sys.argv:
        print(f"refusing to raise the baseline: {raised} (fix them, or pass --force)")
        return 1
    write_baseline(actual)
    print(f"wrote {BASELINE.relative_to(ROOT)}: {sum(actual.values())} errors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
