"""Execution time of every chapter and assignment solution, and of the whole book on all cores.

Goal (issue 29): each notebook <= 60 s of CPU on one core, and the book's chapters executed on
2 workers (as `make book` does, book/_ext/parallel_execution.py) in <= 0.6x the serial time.

Each notebook runs top to bottom in a fresh kernel (over IPC) from its own folder, as nbval and
the book build run it. Its CPU time is the kernel process's own (user + system, with its
children), read just before the kernel is shut down; the wall time is printed beside it.
The serial time of the book is the sum of the chapters' wall times in this same run; the
parallel time is one execution of all chapters on 2 worker processes.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOAL_CPU_S = 60.0
GOAL_PARALLEL = 0.6
WORKERS = 2


def chapters() -> list[Path]:
    return sorted((ROOT / "book").glob("*.ipynb"))


def notebooks() -> list[Path]:
    return chapters() + sorted((ROOT / "course" / "source").glob("*/*.ipynb"))


def time_notebook(path: Path) -> tuple[float, float]:
    """(wall seconds, kernel CPU seconds) of one execution of the notebook."""
    import nbformat
    import psutil
    from nbclient import NotebookClient

    from dlcourse.check import ipc_kernel

    nb = nbformat.read(path, as_version=4)
    with ipc_kernel("python3") as km:
        start = time.perf_counter()
        km.start_kernel(cwd=str(path.parent))
        client = NotebookClient(nb, km=km, timeout=600, kernel_name="python3")
        client.execute()
        wall = time.perf_counter() - start
        t = psutil.Process(km.provisioner.process.pid).cpu_times()
        cpu = t.user + t.system + t.children_user + t.children_system
    return wall, cpu


def _execute_book_notebook(path: str) -> float:
    """One chapter as the book build executes it (in a worker process); its wall time."""
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from parallel_execution import execute_notebook

    out = execute_notebook(path, str(Path(path).parent), 600, False)
    if out["error"]:
        raise RuntimeError(f"{path}: {out['message'][-2000:]}")
    return out["seconds"]


def book_on_workers(paths: list[Path], workers: int) -> float:
    """Wall time to execute all chapters on ``workers`` processes (the makespan)."""
    start = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        list(pool.map(_execute_book_notebook, [str(p) for p in paths]))
    return time.perf_counter() - start


def run() -> list[dict]:
    rows = []
    serial = 0.0
    for path in notebooks():
        wall, cpu = time_notebook(path)
        if path.parent == ROOT / "book":
            serial += wall
        rows.append(
            {
                "benchmark": f"execute {path.relative_to(ROOT)} (CPU of its kernel)",
                "ours": f"{cpu:.1f} s CPU ({wall:.1f} s wall)",
                "reference": f"{GOAL_CPU_S:.0f} s budget",
                "ratio": f"{cpu / GOAL_CPU_S:.2f}x",
                "goal": "<= 1.00x",
                "note": "ok" if cpu <= GOAL_CPU_S else "OVER BUDGET",
            }
        )
    parallel = book_on_workers(chapters(), WORKERS)
    rows.append(
        {
            "benchmark": f"execute all {len(chapters())} chapters, {WORKERS} workers vs serial",
            "ours": f"{parallel:.0f} s",
            "reference": f"{serial:.0f} s serial (sum of the rows above)",
            "ratio": f"{parallel / serial:.2f}x",
            "goal": f"<= {GOAL_PARALLEL}x",
            "note": "as make book runs them (book/_ext/parallel_execution.py)",
        }
    )
    return rows


if __name__ == "__main__":
    from . import print_table

    print_table(run())
