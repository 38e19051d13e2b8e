"""dlcourse._offlimits: what a student's code cannot import in an assignment, and what it can."""

from __future__ import annotations

import importlib
import sys

import pytest

from dlcourse import _offlimits as guard

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def blocked():
    guard.install(["dlcourse.sparse"])
    yield
    guard.uninstall()
    guard.trusted(False)


def student(code: str) -> dict:
    """Run ``code`` as a notebook cell runs it (module ``__main__``); its namespace."""
    ns = {"__name__": "__main__"}
    exec(code, ns)
    return ns


@pytest.mark.parametrize(
    "code",
    [
        "import dlcourse.sparse",
        "import dlcourse.sparse.prox as p",
        "from dlcourse.sparse import soft_threshold",
        "from dlcourse.sparse.prox import soft_threshold",
        "from dlcourse import sparse",
        "import importlib; importlib.import_module('dlcourse.sparse.ista')",
        "__import__('dlcourse.sparse')",
    ],
)
def test_every_way_in_is_refused_with_the_message(blocked, code):
    with pytest.raises(guard.OffLimitsError, match="dlcourse.sparse is off limits"):
        student(code)


def test_other_modules_and_the_package_itself_still_work(blocked):
    ns = student("import numpy as np\nfrom dlcourse import checks\nimport dlcourse.ebm")
    assert "np" in ns and "checks" in ns
    # dlcourse.ebm builds on dlcourse.sparse internally: allowed, it is the package's own import
    assert "dlcourse.sparse" in sys.modules or importlib.util.find_spec("dlcourse.ebm")


def test_instructor_cells_are_trusted(blocked):
    guard.trusted(True)
    assert "soft_threshold" in student("from dlcourse.sparse import soft_threshold")
    guard.trusted(False)
    with pytest.raises(guard.OffLimitsError):
        student("from dlcourse.sparse import soft_threshold")


def test_a_name_that_only_starts_alike_is_not_blocked(blocked):
    assert guard.blocked_module("dlcourse.sparsecheck") is None
    assert guard.blocked_module("dlcourse.sparse.prox") == "dlcourse.sparse"


def test_uninstall_restores_the_import_system():
    import builtins

    original = builtins.__import__
    guard.install(["dlcourse.sparse"])
    assert builtins.__import__ is not original
    guard.uninstall()
    assert builtins.__import__ is original and importlib.import_module.__module__ == "importlib"
    student("from dlcourse.sparse import soft_threshold")


def test_bad_entries_are_refused():
    with pytest.raises(ValueError, match="dotted module names"):
        guard.install(["dlcourse.sparse; rm -rf"])
    guard.uninstall()


def test_scan_source_finds_imports_without_running_them():
    code = "import os\nfrom dlcourse.sparse.ista import ista\nx = 'import dlcourse.sparse'"
    assert guard.scan_source(code, ["dlcourse.sparse"]) == ["dlcourse.sparse"]
    assert guard.scan_source("def f(:\n", ["dlcourse.sparse"]) == []
