"""Every book chapter and every assignment solution, executed on the GPU.

With ``DLCOURSE_DEVICE=cuda`` :func:`dlcourse.utils.device` returns the GPU or raises, so a
notebook that silently fell back to the CPU cannot pass. Each notebook runs in a fresh kernel
(over IPC, as :func:`dlcourse.check.check_notebook` runs them); a cell injected after the last
one prints ``torch.cuda.max_memory_allocated()``, which must be positive: the notebook put
something on the GPU. Each notebook's wall time is printed (``pytest -s``) and attached to the
test's report. Skipped, with the reason, where no CUDA GPU is visible.

The helper itself is checked everywhere, quickly, on tiny synthetic notebooks with
``DLCOURSE_DEVICE=cpu``.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from dlcourse.check import ipc_kernel

from .conftest import ROOT

MARK = "DLCOURSE_CUDA_PEAK_BYTES="
PROBE = (
    "import torch as _t, dlcourse.utils as _u\n"
    "print('DLCOURSE_DEVICE_USED=' + str(_u.device().type))\n"
    f"print('{MARK}' + str(_t.cuda.max_memory_allocated() if _t.cuda.is_available() else 0))\n"
    "del _t, _u"
)
CELL_TIMEOUT = 600
# Notebooks with no torch model to move: they must run with DLCOURSE_DEVICE=cuda, but need not
# allocate GPU memory (the reason for each).
NO_GPU_WORK = {
    "course/source/kernels-to-networks/kernels-to-networks.ipynb": "NumPy only",
    "course/source/training/training.ipynb": "NumPy and dlcourse.autograd only",
    "course/source/sparse-coding/sparse-coding.ipynb": (
        "small float64 checks; the LISTA functions follow their inputs' device"
    ),
}

CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
ASSIGNMENTS = sorted(
    p for p in (ROOT / "course" / "source").glob("*/*.ipynb") if p.stem == p.parent.name
)


@contextmanager
def _environment(**values: str):
    """Set environment variables (inherited by the kernel started inside), restore on exit."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _text(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


def run_on_device(path: Path, device: str, timeout: int = CELL_TIMEOUT) -> dict:
    """Execute the notebook at ``path`` in a fresh kernel with ``DLCOURSE_DEVICE=device``.

    Returns ``{"seconds": wall time, "device": device().type in the kernel, "peak_bytes":
    torch.cuda.max_memory_allocated() after the last cell}``. A cell that raises fails with the
    notebook, the cell's index and source, and the error named.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    probe = nbformat.v4.new_code_cell(PROBE)
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    start = time.monotonic()
    with _environment(DLCOURSE_DEVICE=device), ipc_kernel() as km:
        client = NotebookClient(
            nb,
            km=km,
            timeout=timeout,
            allow_errors=False,
            resources={"metadata": {"path": str(path.parent.resolve())}},
        )
        with client.setup_kernel(cleanup_kc=True):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError as err:
                    head = cell.source.strip().splitlines()[:8]
                    error = f"{err.ename}: {err.evalue}"
                    pytest.fail(
                        f"{name}, cell {index} (DLCOURSE_DEVICE={device}) raised {error}\n"
                        + "\n".join("    " + line for line in head),
                        pytrace=False,
                    )
            nb.cells.append(probe)  # in memory only; the file is not written
            client.execute_cell(probe, len(nb.cells) - 1)
    seconds = time.monotonic() - start
    out = _text(probe.outputs)
    used = out.split("DLCOURSE_DEVICE_USED=")[1].split()[0]
    peak = int(out.split(MARK)[1].split()[0])
    return {"seconds": seconds, "device": used, "peak_bytes": peak}


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.skipif(
    not __import__("torch").cuda.is_available(),
    reason="no CUDA GPU visible (torch.cuda.is_available() is False): notebooks not run on the GPU",
)
@pytest.mark.parametrize(
    "path",
    CHAPTERS + ASSIGNMENTS,
    ids=[str(p.relative_to(ROOT)) for p in CHAPTERS + ASSIGNMENTS],
)
def test_notebook_runs_on_the_gpu(path, record_property):
    result = run_on_device(path, "cuda")
    record_property("wall_seconds", round(result["seconds"], 1))
    print(
        f"\n{path.relative_to(ROOT)}: {result['seconds']:.1f} s on cuda, peak "
        f"{result['peak_bytes'] / 2**20:.1f} MiB"
    )
    assert result["device"] == "cuda"
    if str(path.relative_to(ROOT)) in NO_GPU_WORK:
        return
    assert result["peak_bytes"] > 0, (
        f"{path.relative_to(ROOT)} ran with DLCOURSE_DEVICE=cuda but allocated nothing on the GPU"
    )


# ---- the helper, checked on tiny notebooks on any machine -----------------------------------


def _tiny(tmp_path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny")] + [
        nbformat.v4.new_code_cell(s) for s in sources
    ]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.timeout(120)
def test_helper_runs_a_tiny_notebook_with_the_device_from_the_environment(tmp_path):
    path = _tiny(
        tmp_path,
        "import os, torch\nfrom dlcourse.utils import device\ndev = device()",
        "assert os.environ['DLCOURSE_DEVICE'] == 'cpu'\nx = torch.ones(3, device=dev)",
        "assert x.device.type == 'cpu' and float(x.sum()) == 3.0",
    )
    before = os.environ.get("DLCOURSE_DEVICE")
    result = run_on_device(path, "cpu")
    assert os.environ.get("DLCOURSE_DEVICE") == before  # the helper restores the environment
    assert result["device"] == "cpu"
    assert result["peak_bytes"] == 0  # nothing on a GPU, with or without one
    assert 0 < result["seconds"] < 120


@pytest.mark.timeout(120)
def test_helper_names_the_notebook_and_the_failing_cell(tmp_path):
    path = _tiny(tmp_path, "x = 1", "raise ValueError('broken on purpose')", "y = 2")
    with pytest.raises(pytest.fail.Exception) as info:
        run_on_device(path, "cpu")
    message = str(info.value)
    assert "tiny.ipynb" in message
    assert "cell 2" in message  # index in nb.cells: the markdown cell is 0
    assert "ValueError: broken on purpose" in message
    assert "raise ValueError" in message
