"""Strip outputs and execution counts from notebooks: ``python -m tests.strip_outputs NB...``.

Used by ``make strip``; ``tests/test_hygiene.py`` fails when a committed notebook has outputs.
"""

from __future__ import annotations

import sys

import nbformat


def has_outputs(nb) -> bool:
    return any(
        c.cell_type == "code" and (c.get("outputs") or c.get("execution_count")) for c in nb.cells
    )


def strip(path: str) -> bool:
    """Strip one notebook in place; return True if it changed."""
    nb = nbformat.read(path, as_version=4)
    if not has_outputs(nb):
        return False
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return True


if __name__ == "__main__":
    for p in sys.argv[1:]:
        if strip(p):
            print(f"stripped {p}")
