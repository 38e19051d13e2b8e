"""Repository hygiene: committed notebooks carry no outputs; the code is linted and formatted."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from .conftest import ROOT
from .strip_outputs import has_outputs


def _tracked_notebooks() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    notebooks = [p for p in out if (ROOT / p).exists()]
    return notebooks


def test_there_are_notebooks_to_check():
    assert _tracked_notebooks(), "git tracks no notebook: the hygiene check would be vacuous"


@pytest.mark.parametrize("path", _tracked_notebooks())
def test_committed_notebook_has_no_outputs(path):
    nb = nbformat.read(ROOT / path, as_version=4)
    assert not has_outputs(nb), f"{path} is committed with outputs: run `make strip`"
    assert "widgets" not in nb.metadata, f"{path} carries saved widget state: run `make strip`"


@pytest.mark.parametrize(
    "args", [["check", "."], ["format", "--check", "."]], ids=["ruff-check", "ruff-format"]
)
def test_ruff(args):
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, f"ruff {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
