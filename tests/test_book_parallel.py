"""Book notebooks execute in parallel before Sphinx reads them (book/_ext/parallel_execution.py).

A three-notebook book is built with the extension, as `make book` builds ours: the notebooks run
at the same time in two workers (each notebook records when it ran; two of the intervals
overlap), over IPC kernels (no "running over TCP" warning), and MyST-NB then takes every one of
them from the cache instead of executing it again. A notebook whose claim fails stops the build,
and the message names the notebook and the cell. No wall-clock budget is asserted: overlap is
shown by the notebooks' own timestamps.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from .conftest import ROOT
from .test_book import explain_failure

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

CONFIG = """\
title: parallel
only_build_toc_files: true
execute:
  execute_notebooks: cache
  timeout: 120
  raise_on_error: true
sphinx:
  local_extensions:
    parallel_execution: _ext
"""
TOC = "format: jb-book\nroot: intro\nchapters:\n- file: a\n- file: b\n- file: c\n"

# each notebook appends (name, start, end) to a log; a sleep makes the interval long enough to
# overlap with another notebook's even when kernels start slowly on a busy machine
CODE = """\
import json, time
start = time.time()
time.sleep(3)
with open({log!r}, "a") as f:
    f.write(json.dumps([{name!r}, start, time.time()]) + "\\n")
"""


def _book(tmp_path: Path) -> Path:
    book = tmp_path / "book"
    (book / "_ext").mkdir(parents=True)
    shutil.copy(ROOT / "book" / "_ext" / "parallel_execution.py", book / "_ext")
    (book / "_config.yml").write_text(CONFIG)
    (book / "_toc.yml").write_text(TOC)
    (book / "intro.md").write_text("# Intro\n")
    for name in "abc":
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        code = CODE.format(log=str(tmp_path / "runs.jsonl"), name=name)
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), nbformat.v4.new_code_cell(code)]
        nbformat.write(nb, book / f"{name}.ipynb")
    return book


def _build(book: Path, jobs: int = 2) -> subprocess.CompletedProcess:
    jb = Path(sys.executable).with_name("jupyter-book")
    env = {**os.environ, "DLCOURSE_BOOK_JOBS": str(jobs)}
    return subprocess.run(
        [str(jb), "build", str(book), "--warningiserror", "--keep-going"],
        capture_output=True,
        text=True,
        env=env,
        timeout=500,
    )


def test_notebooks_run_in_parallel_over_ipc_and_are_then_cached(tmp_path):
    book = _book(tmp_path)
    proc = _build(book)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, explain_failure(log)
    assert "executing 3 notebooks on 2 workers" in log
    assert "TCP" not in log, "a kernel ran over TCP"
    assert sorted(re.findall(r"(\w)\.ipynb: Using cached notebook", log)) == ["a", "b", "c"]
    runs = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert sorted(r[0] for r in runs) == ["a", "b", "c"]  # each executed once
    overlaps = [
        (x[0], y[0])
        for i, x in enumerate(runs)
        for y in runs[i + 1 :]
        if x[1] < y[2] and y[1] < x[2]
    ]
    assert overlaps, f"no two notebooks ran at the same time: {runs}"

    # a second build executes nothing
    again = _build(book)
    assert again.returncode == 0 and "notebooks on" not in again.stdout
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 3


def test_a_failing_notebook_stops_the_build_naming_notebook_and_cell(tmp_path):
    book = _book(tmp_path)
    nb = nbformat.read(book / "b.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("gap = 0.5\nassert gap < 1e-6, 'not equivariant'"))
    nbformat.write(nb, book / "b.ipynb")
    proc = _build(book)
    assert proc.returncode != 0
    text = explain_failure(proc.stdout + proc.stderr)
    assert "b.ipynb (cell 2)" in text, text
    assert "assert gap < 1e-6" in text and "AssertionError: not equivariant" in text, text
    # the notebooks that passed are cached: only b is executed by the next build
    nb.cells.pop()
    nbformat.write(nb, book / "b.ipynb")
    proc = _build(book)
    assert proc.returncode == 0 and "executing 1 notebooks on 1 workers" in proc.stdout
