"""A course folder in nbgrader's standard layout, and the operations an instructor runs on it.

The course root holds ``nbgrader_config.py`` and ``source/<assignment>/*.ipynb``; everything else
(``release/``, ``submitted/<student>/<assignment>/``, ``autograded/``, ``feedback/`` and the
SQLite ``gradebook.db``) is generated. Each operation returns data instead of printing, so the
CLI and the tests share one code path.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Course", "GradeResult", "DEFAULT_COURSE"]

DEFAULT_COURSE = Path(__file__).resolve().parent.parent / "course"


@dataclass
class GradeResult:
    """The outcome of autograding one student's submission."""

    student: str
    assignment: str
    status: str  # "graded" or "ungradable"
    score: float | None = None
    max_score: float | None = None
    reason: str = ""
    log: str = field(default="", repr=False)


class Course:
    """An nbgrader course rooted at ``root`` (defaults to the repository's ``course/``).

    Parameters
    ----------
    root : path
        Folder holding ``nbgrader_config.py``.
    timeout : int, optional
        Per-cell execution timeout in seconds when autograding (overrides the config file).
    """

    def __init__(self, root: str | os.PathLike = DEFAULT_COURSE, timeout: int | None = None):
        self.root = Path(root).resolve()
        config_file = self.root / "nbgrader_config.py"
        if not config_file.is_file():
            raise FileNotFoundError(
                f"No nbgrader_config.py in {self.root}: pass the course folder with --course."
            )
        if timeout is not None and (not isinstance(timeout, int) or timeout <= 0):
            raise ValueError(f"The 'timeout' argument must be a positive integer. Got {timeout!r}.")
        self.timeout = timeout
        self._config_file = config_file
        # nbgrader runs the `alembic` command of its own environment to create the gradebook;
        # make it findable when this tool runs as `.venv/bin/python -m autograder` unactivated.
        bindir = str(Path(sys.executable).parent)
        if bindir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")

    # -- nbgrader plumbing -------------------------------------------------------------------
    def _config(self):
        from traitlets.config import PyFileConfigLoader

        config = PyFileConfigLoader(self._config_file.name, path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        config.CourseDirectory.db_url = "sqlite:///" + str(self.root / "gradebook.db")
        # nbgrader's exchange is not used: assignments travel by whatever the course uses (LMS).
        config.Exchange.root = str(self.root / ".exchange")
        if self.timeout is not None:
            config.Execute.timeout = self.timeout
        return config

    def _api(self):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        config = self._config()
        coursedir = CourseDirectory(config=config)
        api = NbGraderAPI(coursedir=coursedir, config=config)
        api.log.setLevel(logging.WARNING)
        return api

    def _check_assignment(self, assignment: str) -> None:
        if not (self.root / "source" / assignment).is_dir():
            known = ", ".join(self.assignments()) or "none"
            raise ValueError(
                f"No assignment {assignment!r} in {self.root / 'source'}; "
                f"known assignments: {known}."
            )

    @staticmethod
    def _raise_on_failure(result: dict, what: str) -> None:
        if not result.get("success", False):
            raise RuntimeError(f"{what} failed:\n{result.get('error') or result.get('log', '')}")

    # -- queries -----------------------------------------------------------------------------
    def assignments(self) -> list[str]:
        """Names of the assignments in ``source/``."""
        src = self.root / "source"
        return sorted(p.name for p in src.iterdir() if p.is_dir()) if src.is_dir() else []

    def submitted_students(self, assignment: str) -> list[str]:
        """Students with a folder ``submitted/<student>/<assignment>/``."""
        sub = self.root / "submitted"
        if not sub.is_dir():
            return []
        return sorted(p.name for p in sub.iterdir() if (p / assignment).is_dir())

    # -- operations --------------------------------------------------------------------------
    def release(self, assignment: str) -> Path:
        """Generate the student version (solutions and hidden tests removed) in ``release/``."""
        self._check_assignment(assignment)
        result = self._api().generate_assignment(assignment, force=True, create=True)
        self._raise_on_failure(result, f"Releasing {assignment!r}")
        return self.root / "release" / assignment

    def autograde(self, assignment: str, students: list[str] | None = None) -> list[GradeResult]:
        """Autograde each submission on its own; one broken submission never stops the others."""
        self._check_assignment(assignment)
        if not (self.root / "release" / assignment).is_dir():
            self.release(assignment)  # also records the assignment's cells in the gradebook
        students = students or self.submitted_students(assignment)
        api = self._api()
        results = []
        for student in students:
            if not (self.root / "submitted" / student / assignment).is_dir():
                results.append(
                    GradeResult(student, assignment, "ungradable", reason="no submission folder")
                )
                continue
            try:
                out = api.autograde(assignment, student, force=True, create=True)
            except Exception as exc:  # noqa: BLE001 - a submission must never crash the run
                out = {"success": False, "error": f"{type(exc).__name__}: {exc}"}
            results.append(self._result(api, assignment, student, out))
        return results

    def _result(self, api, assignment: str, student: str, out: dict) -> GradeResult:
        log = (out.get("log") or "") + (out.get("error") or "")
        if not out.get("success", False):
            last = (out.get("error") or out.get("log") or "unknown error").strip().splitlines()
            return GradeResult(
                student,
                assignment,
                "ungradable",
                reason=last[-1] if last else "unknown error",
                log=log,
            )
        with api.gradebook as gb:
            sub = gb.find_submission(assignment, student)
            return GradeResult(
                student,
                assignment,
                "graded",
                score=float(sub.score),
                max_score=float(sub.max_score),
                log=log,
            )

    def feedback(self, assignment: str, student: str | None = None) -> Path:
        """Write HTML feedback for autograded submissions to ``feedback/``."""
        self._check_assignment(assignment)
        result = self._api().generate_feedback(assignment, student, force=True)
        self._raise_on_failure(result, f"Feedback for {assignment!r}")
        return self.root / "feedback"

    def grades(self) -> list[dict]:
        """One row per (student, assignment) in the gradebook; missing submissions score 0."""
        from nbgrader.api import MissingEntry

        rows = []
        with self._api().gradebook as gb:
            for assignment in gb.assignments:
                for student in gb.students:
                    try:
                        sub = gb.find_submission(assignment.name, student.id)
                    except MissingEntry:
                        score, status = 0.0, "missing"
                    else:
                        score = float(sub.score)
                        status = "needs manual grading" if sub.needs_manual_grade else "graded"
                    rows.append(
                        {
                            "assignment": assignment.name,
                            "student_id": student.id,
                            "score": score,
                            "max_score": float(assignment.max_score),
                            "status": status,
                        }
                    )
        return rows

    def export_csv(self) -> str:
        """The gradebook as CSV text (columns: assignment, student_id, score, max_score, status)."""
        buf = io.StringIO()
        fields = ["assignment", "student_id", "score", "max_score", "status"]
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.grades())
        return buf.getvalue()


def validate_notebook(
    path: str | os.PathLike, invert: bool = False, course: str | os.PathLike = DEFAULT_COURSE
) -> dict:
    """Run a notebook's visible tests as the grader does; return nbgrader's results dict.

    An empty dict means the notebook passed (or, with ``invert=True``, that every test failed,
    which is what a freshly released student copy should do). The course's configuration is
    used when it is there, so that validation and grading agree: the same per-cell timeout, and
    stderr (a library warning) is not a failure.
    """
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, Execute, IgnorePattern
    from nbgrader.validator import Validator
    from traitlets.config import Config

    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"No notebook at {path}.")
    course_config = Path(course) / "nbgrader_config.py"
    config = Course(course)._config() if course_config.is_file() else Config()
    validator = Validator(invert=invert, config=config)
    validator.preprocessors = [CheckCellMetadata, ClearOutput, Execute, IgnorePattern]
    validator.log.setLevel(logging.WARNING)
    return validator.validate(str(path))
