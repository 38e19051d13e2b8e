"""The instructor's grading tool for the dlcourse assignments (a CLI over nbgrader's API).

Run from the repository root::

    python -m autograder release training          # student version -> course/release/training/
    python -m autograder autograde training        # each course/submitted/*/training/
    python -m autograder feedback training         # HTML feedback -> course/feedback/
    python -m autograder export --output grades.csv
    python -m autograder validate path/to/training.ipynb   # for students: exit 1 if a test fails
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .course import Course, GradeResult

__all__ = ["Course", "GradeResult"]


def __getattr__(name: str):
    # Imported on first use, not with the package: the package's command-line processes first
    # skip a slow optional import (dlcourse._startup) that importing .course would trigger.
    if name in __all__:
        from . import course

        return getattr(course, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
