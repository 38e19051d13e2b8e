"""What the release adds to a student's copy: the grading settings and how to check one's work.

nbgrader's ``generate_assignment`` removes solutions and hidden tests. After it, every released
notebook gets

- ``metadata.autograder``: the grading mode, the per-cell time limit and the modules that are
  off limits, which ``dlcourse-check`` reads so that a student's check follows the grader's
  rules without the course folder;
- a first markdown cell that says what to install, how to check the notebook, and what the
  grader adds (hidden tests, the time limit, off-limits modules, points graded by hand).

The grader never trusts these from a submission: it reads them from ``source/``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

__all__ = ["off_limits", "stamp_release", "instructions"]

MARK = "dlcourse-release-instructions"  # the first cell's id, so that a re-release replaces it


def off_limits(nb) -> list[str]:
    """The modules a notebook's metadata puts off limits (``autograder.off_limits``)."""
    found = (nb.metadata.get("autograder") or {}).get("off_limits") or []
    if not isinstance(found, list) or not all(isinstance(m, str) and m for m in found):
        raise ValueError(
            f"metadata autograder.off_limits must be a list of module names. Got {found!r}."
        )
    return list(found)


def _hand_graded_points(nb) -> float:
    total = 0.0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("task") or (meta.get("grade") and meta.get("solution")):
            total += float(meta.get("points", 0) or 0)
    return total


def instructions(name: str, timeout: int, blocked: list[str], by_hand: float) -> str:
    """The text of the first cell of a released notebook."""
    lines = [
        "**Before you start.** Set up once, in a terminal:",
        "",
        "```",
        'pip install "dlcourse[student]"   # the course package, JupyterLab and the checker',
        "jupyter lab                       # then open this notebook",
        "```",
        "",
        "(CPU-only machines: install PyTorch's CPU build first, see the course README.) Fill in "
        "every cell that says `YOUR CODE HERE` or `YOUR ANSWER HERE`; do not edit the other "
        "cells (they are restored when grading). **Check your work** with",
        "",
        "```",
        f"dlcourse-check {name}",
        "```",
        "",
        "which runs this notebook as the grader does and lists each visible test with its "
        "points and message (exit status 0 when they all pass).",
        "",
        "**What the grader adds:** hidden tests of the same tasks on other inputs; a limit of "
        f"{timeout} s per cell (a cell that runs longer fails)",
    ]
    if blocked:
        modules = ", ".join(f"`{m}`" for m in blocked)
        lines[-1] += f"; {modules} cannot be imported in your answers (off limits here)"
    if by_hand:
        lines[-1] += f"; {by_hand:g} points of written answers are graded by hand"
    lines[-1] += "."
    return "\n".join(lines)


def stamp_release(release_dir: Path, sources: dict, mode: str, timeout: int) -> None:
    """Write the settings and the first cell into each released notebook of ``sources``.

    ``sources`` maps a notebook's file name to its source notebook (solutions included).
    """
    for name, source in sources.items():
        path = Path(release_dir) / name
        nb = nbformat.read(path, as_version=4)
        blocked = off_limits(source)
        nb.metadata["autograder"] = {"mode": mode, "cell_timeout": int(timeout),
                                     "off_limits": blocked}  # fmt: skip
        nb.cells = [c for c in nb.cells if c.get("id") != MARK]
        cell = nbformat.v4.new_markdown_cell(
            instructions(name, int(timeout), blocked, _hand_graded_points(source))
        )
        cell["id"] = MARK
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False
        nb.cells.insert(0, cell)
        nbformat.write(nb, path)
