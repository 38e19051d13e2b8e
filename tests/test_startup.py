"""Our own processes skip jsonschema's slow optional import, and notebooks validate as before.

``import nbformat`` costs about 2.3 s of CPU here, 2 s of it in ``rfc3987_syntax`` (imported by
jsonschema's format checkers), which the grader's test process, ``dlcourse-grade`` and
``dlcourse-check`` paid at every start (see ``dlcourse._startup``). Measured with
``python -X importtime``: a skipped module shows as a line of a few microseconds.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[1]
SLOW = "rfc3987_syntax"
installed = pytest.mark.skipif(
    importlib.util.find_spec(SLOW) is None, reason=f"{SLOW} is not installed: nothing to skip"
)


def _imported_us(args: list[str], stdin: str = "") -> dict[str, int]:
    """Cumulative import time in microseconds of each module ``python -X importtime ARGS``
    imported (the last line per module)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=240,
    )
    times = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)$", line)
        if m:
            times[m.group(2)] = int(m.group(1))
    return times


def _script(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240
    )


@installed
def test_plain_nbformat_import_pays_for_the_slow_module():
    """The control: without the skip, importing nbformat really imports it (and it is slow)."""
    times = _imported_us(["-c", "import nbformat"])
    assert times.get(SLOW, 0) > 100_000, times.get(SLOW)


@installed
@pytest.mark.parametrize(
    "args, stdin",
    [
        (["-m", "dlcourse_grader._tester_main"], ""),  # no job on stdin: imports, then exits
        (["-m", "dlcourse.check", "no-such-notebook.ipynb"], ""),
        (["-m", "autograder", "--course", "no-such-course", "export"], ""),
    ],
    ids=["test-process", "dlcourse-check", "dlcourse-grade"],
)
def test_our_processes_skip_the_slow_module(args, stdin):
    times = _imported_us(args, stdin)
    assert "nbformat" in times, "the command should import nbformat (else this test is moot)"
    assert times.get(SLOW, 0) < 10_000, f"{SLOW} was imported: {times.get(SLOW)} us"


def test_notebooks_are_validated_as_before():
    """With the skip, nbformat still rejects an invalid notebook and accepts a valid one."""
    result = _script(
        "from dlcourse._startup import skip_slow_optional_imports\n"
        "skip_slow_optional_imports()\n"
        "import sys, nbformat\n"
        f"assert sys.modules[{SLOW!r}] is None\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x = 1')])\n"
        "nbformat.validate(nb)\n"
        "nb.cells[0]['cell_type'] = 'no-such-type'\n"
        "try:\n"
        "    nbformat.validate(nb)\n"
        "except nbformat.ValidationError:\n"
        "    print('rejected')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "rejected"


@installed
def test_an_imported_jsonschema_is_left_alone():
    """In a process that already has jsonschema (a user's), the skip changes nothing."""
    result = _script(
        "import sys, jsonschema\n"
        "from dlcourse._startup import skip_slow_optional_imports\n"
        "skip_slow_optional_imports()\n"
        f"print(sys.modules.get({SLOW!r}) is not None)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_importing_the_packages_does_not_skip_anything():
    """Only our entry points skip: ``import dlcourse`` and ``import dlcourse_grader`` do not."""
    result = _script(
        "import sys, dlcourse, dlcourse_grader\n"
        "from dlcourse_grader import Course\n"
        f"print({SLOW!r} in sys.modules and sys.modules[{SLOW!r}] is None)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
