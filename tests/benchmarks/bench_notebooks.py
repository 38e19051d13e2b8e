"""Execution time of every chapter notebook and every assignment solution (goal: <= 60 s each).

Each notebook runs top to bottom in a fresh kernel from its own folder, as nbval and the book
build run it.
"""

from __future__ import annotations

import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOAL_S = 60.0


def notebooks() -> list[Path]:
    book = sorted(p for p in (ROOT / "book").glob("*.ipynb"))
    course = sorted((ROOT / "course" / "source").glob("*/*.ipynb"))
    return book + course


def time_notebook(path: Path) -> float:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def run() -> list[dict]:
    rows = []
    for path in notebooks():
        seconds = time_notebook(path)
        rows.append(
            {
                "benchmark": f"execute {path.relative_to(ROOT)}",
                "ours": f"{seconds:.1f} s",
                "reference": f"{GOAL_S:.0f} s budget",
                "ratio": f"{seconds / GOAL_S:.2f}x",
                "goal": "<= 1.00x",
                "note": "ok" if seconds <= GOAL_S else "OVER BUDGET",
            }
        )
    return rows


if __name__ == "__main__":
    from . import print_table

    print_table(run())
