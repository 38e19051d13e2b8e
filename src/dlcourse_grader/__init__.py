"""The instructor's grading tool for the dlcourse assignments (a CLI over nbgrader's API).

Run from the repository root::

    python -m autograder release training          # student version -> course/release/training/
    python -m autograder autograde training        # each course/submitted/*/training/
    python -m autograder feedback training         # HTML feedback -> course/feedback/
    python -m autograder export --output grades.csv
    python -m autograder validate path/to/training.ipynb   # for students: exit 1 if a test fails
"""

from .course import Course, GradeResult

__all__ = ["Course", "GradeResult"]
