"""A course folder in nbgrader's standard layout, and the operations an instructor runs on it.

The course root holds ``nbgrader_config.py`` and ``source/<assignment>/*.ipynb``; everything else
(``release/``, ``submitted/<student>/<assignment>/``, ``autograded/``, ``feedback/`` and the
gradebook, SQLite ``gradebook.db`` by default) is generated. Each operation returns data instead
of printing, so the CLI and the tests share one code path.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import nbformat

from .result import GradeResult

__all__ = ["Course", "GradeResult", "default_course"]

NBGRADER_TIMEOUT = 30  # seconds: nbgrader's default per-cell limit


def default_course() -> Path:
    """The course folder when none is named: ``$DLCOURSE_COURSE``, else ``./course`` when it
    holds an nbgrader_config.py (the repository root), else the current folder (nbgrader's
    own convention: commands run in the course folder)."""
    if os.environ.get("DLCOURSE_COURSE"):
        return Path(os.environ["DLCOURSE_COURSE"])
    if (Path("course") / "nbgrader_config.py").is_file():
        return Path("course")
    return Path(".")


class Course:
    """An nbgrader course rooted at ``root`` (default: :func:`default_course`).

    Parameters
    ----------
    root : path
        Folder holding ``nbgrader_config.py``.
    timeout : int, optional
        Per-cell execution timeout in seconds when autograding (overrides the config file).
    db_url : str, optional
        The gradebook's database (overrides the config file), e.g.
        ``postgresql+psycopg2://grader@db.example.org/course``; default SQLite in ``root``.
    """

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        timeout: int | None = None,
        db_url: str | None = None,
    ):
        self.root = Path(default_course() if root is None else root).resolve()
        config_file = self.root / "nbgrader_config.py"
        if not config_file.is_file():
            raise FileNotFoundError(
                f"No nbgrader_config.py in {self.root}: pass the course folder with --course."
            )
        if timeout is not None and (
            not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0
        ):
            raise ValueError(f"The 'timeout' argument must be a positive integer. Got {timeout!r}.")
        self._config_file = config_file
        self._db_url = db_url
        self._ledger = None
        if timeout is None:  # the course's, else nbgrader's default (Execute.timeout)
            configured = self._config().Execute
            timeout = int(configured.timeout) if "timeout" in configured else NBGRADER_TIMEOUT
        self.timeout = timeout
        # nbgrader runs the `alembic` command of its own environment to create the gradebook;
        # make it findable when this tool runs as `.venv/bin/dlcourse-grade` unactivated.
        bindir = str(Path(sys.executable).parent)
        if bindir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")

    # -- nbgrader plumbing -------------------------------------------------------------------
    def _config(self):
        from traitlets.config import PyFileConfigLoader

        config = PyFileConfigLoader(self._config_file.name, path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        if self._db_url:
            config.CourseDirectory.db_url = self._db_url
        elif "db_url" not in config.CourseDirectory:
            config.CourseDirectory.db_url = "sqlite:///" + str(self.root / "gradebook.db")
        # nbgrader's exchange is not used: assignments travel by whatever the course uses (LMS).
        config.Exchange.root = str(self.root / ".exchange")
        (self.root / ".exchange").mkdir(exist_ok=True)  # else nbgrader logs it as unwritable
        if getattr(self, "timeout", None) is not None:
            config.Execute.timeout = self.timeout
        return config

    @property
    def db_url(self) -> str:
        """The gradebook's SQLAlchemy URL."""
        return str(self._config().CourseDirectory.db_url)

    def _api(self):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        config = self._config()
        coursedir = CourseDirectory(config=config)
        api = NbGraderAPI(coursedir=coursedir, config=config)
        api.log.setLevel(logging.WARNING)
        return api

    def gradebook(self):
        """nbgrader's gradebook (use it as a context manager)."""
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url)

    def _in_gradebook(self, assignment: str) -> bool:
        from nbgrader.api import MissingEntry

        with self.gradebook() as gb:
            try:
                gb.find_assignment(assignment)
            except MissingEntry:
                return False
        return True

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

    def notebook_names(self, assignment: str) -> list[str]:
        """The file names of the assignment's notebooks in ``source/`` (one or more)."""
        self._check_assignment(assignment)
        notebooks = sorted(p.name for p in (self.root / "source" / assignment).glob("*.ipynb"))
        if not notebooks:
            raise ValueError(f"Assignment {assignment!r} has no notebook in source/.")
        return notebooks

    def notebook_name(self, assignment: str) -> str:
        """The file name of the assignment's first notebook (its only one, usually)."""
        return self.notebook_names(assignment)[0]

    def submission_folder(self, assignment: str, student: str) -> Path:
        """``submitted/<student>/<assignment>/``."""
        return self.root / "submitted" / student / assignment

    def graded_sources(self, assignment: str) -> list[dict]:
        """Each notebook of ``assignment`` as nbgrader grades it: the source notebook with every
        test and locked cell as the gradebook recorded it at release (``### AUTOTEST`` lines
        expanded), written to ``.grading/<assignment>/``. Dicts with name, source, release."""
        from nbgrader.api import MissingEntry

        out = self.root / ".grading" / assignment
        out.mkdir(parents=True, exist_ok=True)
        specs = []
        with self.gradebook() as gb:
            for name in self.notebook_names(assignment):
                nb = nbformat.read(self.root / "source" / assignment / name, as_version=4)
                try:
                    recorded = gb.find_notebook(Path(name).stem, assignment).source_cells
                except MissingEntry:
                    recorded = []
                sources = {c.name: c.source for c in recorded}
                for cell in nb.cells:
                    meta = cell.metadata.get("nbgrader", {})
                    gid = meta.get("grade_id")
                    if gid in sources and (meta.get("grade") or meta.get("locked")):
                        if not meta.get("solution"):
                            cell.source = sources[gid]
                nbformat.write(nb, out / name)
                specs.append(
                    {
                        "name": name,
                        "source": str(out / name),
                        "release": str(self.root / "release" / assignment / name),
                    }
                )
        return specs

    def grading_mode(self, assignment: str, requested: str | None = None):
        """(mode, why, findings): how ``assignment`` is graded (see :mod:`.modes`)."""
        from .modes import choose_mode

        folder = self.root / "source" / assignment
        notebooks = {
            name: nbformat.read(folder / name, as_version=4)
            for name in self.notebook_names(assignment)
        }
        shipped = {p.stem for p in folder.glob("*.py")}
        return choose_mode(notebooks, requested, shipped)

    def ledger(self):
        """The grading ledger (status of each submission), in the gradebook's database."""
        from .ledger import Ledger

        if self._ledger is None:  # opening nbgrader's gradebook costs ~0.6 s: do it once
            with self.gradebook():  # nbgrader must create a new database first (migrations)
                pass
            self._ledger = Ledger(self.db_url)
        return self._ledger

    # -- operations --------------------------------------------------------------------------
    def release(self, assignment: str) -> Path:
        """Generate the student version (solutions and hidden tests removed) in ``release/``.

        :meth:`grading_mode` tells which test cells could not run in isolated mode.
        """
        from .release import stamp_release

        self._check_assignment(assignment)
        names = self.notebook_names(assignment)
        result = self._api().generate_assignment(assignment, force=True, create=True)
        self._raise_on_failure(result, f"Releasing {assignment!r}")
        folder = self.root / "source" / assignment
        sources = {name: nbformat.read(folder / name, as_version=4) for name in names}
        mode, _, _ = self.grading_mode(assignment)
        stamp_release(self.root / "release" / assignment, sources, mode, self.timeout)
        return self.root / "release" / assignment

    def autograde(
        self,
        assignment: str,
        students: list[str] | None = None,
        jobs: int = 1,
        force: bool = False,
        progress: bool = False,
        sandbox: str = "auto",
        limits: dict | None = None,
        show_hidden: bool = False,
        lease_seconds: float = 120.0,
        mode: str | None = None,
    ) -> list[GradeResult]:
        """Grade the submissions of ``assignment``, ``jobs`` at a time (see :mod:`.grader`).

        A submission already graded with the same files is not graded again unless ``force``
        is set or the student is named in ``students``: re-running is idempotent and an
        interrupted run resumes. Several processes (or machines sharing a PostgreSQL gradebook)
        may run this at once: each submission is graded exactly once. ``sandbox`` is ``"auto"``
        (isolate; warn loudly when this machine cannot), ``"strict"`` (refuse to grade without
        isolation) or ``"off"``. ``mode`` is ``"isolated"``, ``"compatible"`` or ``None``
        (the assignment's declared mode, else what :meth:`grading_mode` finds).
        """
        from .grader import run_autograde

        self._check_assignment(assignment)
        if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
            raise ValueError(f"The 'jobs' argument must be an integer >= 1. Got {jobs!r}.")
        if sandbox not in ("auto", "strict", "off"):
            raise ValueError(
                f"The 'sandbox' argument must be 'auto', 'strict' or 'off'. Got {sandbox!r}."
            )
        if not (self.root / "release" / assignment).is_dir() or not self._in_gradebook(assignment):
            self.release(assignment)  # also records the assignment's cells in the gradebook
        mode, _, _ = self.grading_mode(assignment, mode)
        return run_autograde(
            self,
            assignment,
            students=students,
            jobs=jobs,
            force=force,
            progress=progress,
            sandbox=sandbox,
            limits=limits or {},
            show_hidden=show_hidden,
            lease_seconds=lease_seconds,
            mode=mode,
        )

    def results(self, assignment: str, students: list[str] | None = None) -> list[GradeResult]:
        """The recorded outcome of every graded (or ungradable) submission of ``assignment``.

        Scores are the gradebook's as they are now (automatic points plus those given by
        hand since grading), and ``manual`` lists each hand-graded cell: its points, the
        grader's comment, and whether it is still to be graded.
        """
        from .manual import written_answers

        out = self._ledger_results(assignment, students)
        answers: dict[str, list] = {}
        only = students[0] if students is not None and len(students) == 1 else None
        for a in written_answers(self, assignment, only, texts=False):
            answers.setdefault(a.student, []).append(a)
        scores = self._scores(assignment)
        for r in out:
            if r.status == "graded" and r.student in scores:
                r.score, r.max_score = scores[r.student]
            r.manual = [
                {
                    "grade_id": a.grade_id,
                    "notebook": a.notebook,
                    "points": a.manual_score if a.manual_score is not None else a.auto_score,
                    "max_points": a.max_points,
                    "comment": a.comment,
                    "to_grade": a.to_grade,
                    "by_hand": a.manual_score is not None,
                }
                for a in answers.get(r.student, [])
            ]
        return out

    def _scores(self, assignment: str) -> dict[str, tuple[float, float]]:
        """student -> (score, max score) in the gradebook now."""
        from nbgrader.api import MissingEntry

        with self.gradebook() as gb:
            try:
                subs = gb.find_assignment(assignment).submissions
            except MissingEntry:
                return {}
            return {s.student.id: (float(s.score), float(s.max_score)) for s in subs}

    def _ledger_results(self, assignment: str, students) -> list[GradeResult]:
        out = []
        for row in self.ledger().rows(assignment):
            if students is not None and row["student"] not in students:
                continue
            detail = json.loads(row.get("detail") or "{}")
            out.append(
                GradeResult(
                    row["student"],
                    assignment,
                    row["status"],
                    score=row.get("score"),
                    max_score=row.get("max_score"),
                    reason=row.get("reason") or "",
                    events=detail.get("events", []),
                    tests=detail.get("tests", []),
                    log=detail.get("log", ""),
                    flags=detail.get("flags") or [],
                    mode=detail.get("mode") or "isolated",
                )
            )
        return out

    def feedback(self, assignment: str, student: str | None = None) -> Path:
        """Write HTML feedback to ``feedback/<student>/<assignment>/`` for every submission
        that has an outcome, ungradable ones included (they get the reason)."""
        from .feedback import write_feedback

        self._check_assignment(assignment)
        results = self.results(assignment, [student] if student else None)
        if student and not results:
            raise ValueError(f"No graded submission of {assignment!r} by {student!r}.")
        failed = []
        for result in results:  # one student's page that cannot be written stops no other
            try:
                write_feedback(self, result)
            except OSError as exc:
                failed.append(f"{result.student}: {exc}")
        if failed:
            raise RuntimeError("feedback not written for " + "; ".join(failed[:20]))
        return self.root / "feedback"

    def grades(self) -> list[dict]:
        """One row per (student, assignment) in the gradebook; missing submissions score 0."""
        from nbgrader.api import MissingEntry

        ledger = {(r["assignment"], r["student"]): r for r in self.ledger().rows()}
        rows = []
        with self.gradebook() as gb:
            for assignment in gb.assignments:
                for student in gb.students:
                    entry = ledger.get((assignment.name, student.id), {})
                    try:
                        sub = gb.find_submission(assignment.name, student.id)
                    except MissingEntry:
                        score, status, manual = 0.0, entry.get("status", "missing"), False
                    else:
                        score = float(sub.score)
                        status = entry.get("status", "graded")
                        manual = bool(sub.needs_manual_grade)
                    rows.append(
                        {
                            "assignment": assignment.name,
                            "student_id": student.id,
                            "score": score,
                            "max_score": float(assignment.max_score),
                            "status": status,
                            "needs_manual_grading": "yes" if manual else "no",
                            "reason": entry.get("reason") or "",
                        }
                    )
        return rows

    def export_csv(self, format: str = "long") -> str:
        """The grades as CSV: ``"long"`` (one row per student and assignment, with names,
        submission times, due dates and late penalties) or ``"wide"`` (one row per student of
        the roster, one column per assignment), see :mod:`.lms`."""
        from .lms import grade_rows, long_csv, wide_csv

        if format not in ("long", "wide"):
            raise ValueError(f"The 'format' argument must be 'long' or 'wide'. Got {format!r}.")
        rows = grade_rows(self)
        return long_csv(rows) if format == "long" else wide_csv(rows)

    def policy(self):
        """Roster file, due dates and late rules (``c.Grades`` in nbgrader_config.py)."""
        from .lms import Policy

        return Policy.from_config(self._config())

    def roster(self) -> list[dict]:
        """The course's students (id, name, email, lms_id); ``[]`` without a roster file."""
        from .lms import read_roster

        name = self.policy().roster
        path = self.root / (name or "roster.csv")
        if not path.is_file():
            if name:
                raise FileNotFoundError(f"No roster at {path} (c.Grades.roster).")
            return []
        return read_roster(path)

    def gradebook_assignments(self) -> list[str]:
        with self.gradebook() as gb:
            return [a.name for a in gb.assignments]

    def max_scores(self) -> dict[str, float]:
        with self.gradebook() as gb:
            return {a.name: float(a.max_score) for a in gb.assignments}
