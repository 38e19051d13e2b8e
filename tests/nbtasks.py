"""Small helpers for reading the nbgrader structure of an assignment notebook in tests.

A *task* is one autograded answer: a solution code cell together with the test (grade) code
cells that follow it, up to the next solution code cell. Points come from the test cells.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

__all__ = [
    "meta",
    "tasks",
    "auto_points",
    "total_points",
    "autograded_ids",
    "index_of",
    "submit",
    "copy_course",
    "cell_meta",
    "tiny_course",
    "hand_in",
]

COURSE = Path(__file__).resolve().parent.parent / "course"
# what grading generates in a course folder (a copy starts without any of it)
GENERATED = (
    "release", "submitted", "autograded", "feedback", "gradebook.db", "*.csv", ".grading-logs",
    ".exchange", ".grading",
)  # fmt: skip


def meta(cell) -> dict:
    """The cell's nbgrader metadata ({} for a plain cell)."""
    return cell.metadata.get("nbgrader", {})


def _is_test(cell) -> bool:
    m = meta(cell)
    return cell.cell_type == "code" and bool(m.get("grade")) and not m.get("solution")


def tasks(nb) -> list[dict]:
    """Autograded tasks in order, as dicts with keys solution_index, grade_id, grade_ids, points.

    ``grade_id`` is the answer cell's id; ``grade_ids`` are those of the test cells that follow it.
    """
    found: list[dict] = []
    for i, cell in enumerate(nb.cells):
        m = meta(cell)
        if cell.cell_type == "code" and m.get("solution"):
            found.append(
                {"solution_index": i, "grade_id": m.get("grade_id"), "grade_ids": [], "points": 0.0}
            )
        elif _is_test(cell) and found:
            found[-1]["grade_ids"].append(m["grade_id"])
            found[-1]["points"] += float(m.get("points", 0))
    return found


def auto_points(nb) -> float:
    """Points of all autograded test cells."""
    return sum(float(meta(c).get("points", 0)) for c in nb.cells if _is_test(c))


def total_points(nb) -> float:
    """Points of every graded cell, autograded and manual."""
    return sum(float(meta(c).get("points", 0)) for c in nb.cells if meta(c).get("grade"))


def autograded_ids(nb) -> list[str]:
    """grade_ids of the autograded test cells, in order."""
    return [meta(c)["grade_id"] for c in nb.cells if _is_test(c)]


def index_of(nb, grade_id: str) -> int:
    """Index of the cell with this grade_id; KeyError if there is none."""
    for i, cell in enumerate(nb.cells):
        if meta(cell).get("grade_id") == grade_id:
            return i
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def submit(course: Path, student: str, assignment: str, nb) -> None:
    """Write ``nb`` as ``submitted/<student>/<assignment>/<assignment>.ipynb`` under ``course``."""
    folder = Path(course) / "submitted" / student / assignment
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{assignment}.ipynb")


def copy_course(dest: Path) -> Path:
    """Copy the repository's ``course/`` to ``dest`` without anything grading generated."""
    shutil.copytree(COURSE, dest, ignore=shutil.ignore_patterns(*GENERATED))
    return Path(dest)


def cell_meta(
    grade_id: str, *, locked=False, solution=False, grade=False, points=0, task=False
) -> dict:
    """A cell's metadata as nbgrader writes it (schema 3), for notebooks built in tests."""
    m = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": task,
    }
    if grade or task:
        m["points"] = points
    return {"nbgrader": m}


def tiny_course(parent: Path, assignment: str, notebooks: dict, timeout: int):
    """A course of one assignment, built in ``parent/course`` from ``{file name: notebook}``
    with an empty nbgrader configuration, and released; returns its ``Course``."""
    from dlcourse_grader.course import Course

    root = Path(parent) / "course"
    (root / "source" / assignment).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    for name, nb in notebooks.items():
        nbformat.write(nb, root / "source" / assignment / name)
    course = Course(root, timeout=timeout)
    course.release(assignment)
    return course


def hand_in(course, student: str, assignment: str, notebooks: dict) -> None:
    """Write ``{file name: notebook}`` as ``student``'s submission of ``assignment``."""
    folder = Path(course.root) / "submitted" / student / assignment
    folder.mkdir(parents=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / name)
