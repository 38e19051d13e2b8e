"""dlcourse.check's kernels: IPC, and shut down after each notebook (even when a cell fails).

`NotebookClient` leaves running a kernel whose manager it was given; `check_notebook` used to
leave one kernel process behind per call, which a long-lived caller (the grader's `validate`
over a class, a test session) accumulates.
"""

from __future__ import annotations

import os

import nbformat
import psutil
import pytest

from dlcourse.check import check_notebook, ipc_kernel

pytestmark = pytest.mark.timeout(300)


def _kernels() -> list[psutil.Process]:
    return [
        p
        for p in psutil.Process(os.getpid()).children(recursive=True)
        if "ipykernel" in " ".join(p.cmdline())
    ]


def test_check_notebook_leaves_no_kernel_running(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("1 / 0")]
    path = tmp_path / "a.ipynb"
    nbformat.write(nb, path)
    before = len(_kernels())
    for _ in range(2):
        check_notebook(path, timeout=60)
    assert len(_kernels()) == before


def test_ipc_kernel_runs_over_ipc_and_is_shut_down():
    with ipc_kernel() as km:
        km.start_kernel()
        pid = km.provisioner.process.pid
        assert km.transport == "ipc" and psutil.pid_exists(pid)
        folder = os.path.dirname(km.ip)
        assert os.path.isdir(folder)
    assert not km.has_kernel
    assert not os.path.exists(folder)
    try:
        assert psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        pass
