"""Grading written answers by hand, in the gradebook, without leaving the command line.

Each assignment has answers that no test can grade (a paragraph, a derivation). After
``autograde``, those cells wait in nbgrader's gradebook with ``needs_manual_grade`` set. This
module lists them (the student's text beside the instructor's model answer and rubric, taken
from ``source/``), records a score and a comment for one of them, and walks through those
still to grade one at a time (resumable: what is graded is not asked again).

Manual scores and comments live in the gradebook's own columns (``Grade.manual_score``,
``Comment.manual_comment``), where nbgrader's formgrader writes them too; a regrade updates
only the automatic columns, so a manual score survives it, and a cell needs manual grading
exactly while it has an answer and no manual score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["WrittenAnswer", "written_answers", "record_manual_grade", "grade_interactively"]


@dataclass
class WrittenAnswer:
    """One hand-graded cell of one submission."""

    student: str
    notebook: str  # file name, e.g. training.ipynb
    grade_id: str
    max_points: float
    manual_score: float | None
    auto_score: float | None  # 0 when the student left the cell as released
    comment: str
    answer: str  # the student's text (from the graded notebook)
    rubric: str  # the instructor's model answer / rubric (from source/)

    @property
    def to_grade(self) -> bool:
        """Waiting for a person: answered, and no manual score yet."""
        return self.manual_score is None and self.auto_score is None


def _cells_by_id(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - a broken graded notebook: no text to show
        return {}
    return {
        c.metadata.get("nbgrader", {}).get("grade_id"): c.source
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade_id")
    }


def written_answers(
    course, assignment: str, student: str | None = None, texts: bool = True
) -> list[WrittenAnswer]:
    """Every hand-graded cell of every (or one student's) submission of ``assignment``.

    With ``texts=False`` the answers' and rubrics' text is left empty: only the gradebook is
    read, not every graded notebook (what scores, feedback and export need).
    """
    from nbgrader.api import MissingEntry

    course._check_assignment(assignment)
    found: list[WrittenAnswer] = []
    sources = {
        name: _cells_by_id(course.root / "source" / assignment / name) if texts else {}
        for name in course.notebook_names(assignment)
    }
    with course.gradebook() as gb:
        try:
            subs = gb.find_assignment(assignment).submissions
        except MissingEntry:
            return []
        for sub in sorted(subs, key=lambda s: s.student.id):
            if student is not None and sub.student.id != student:
                continue
            for nb in sub.notebooks:
                name = nb.name + ".ipynb"
                graded = (
                    _cells_by_id(course.root / "autograded" / sub.student.id / assignment / name)
                    if texts
                    else {}
                )
                comments = {c.name: c for c in nb.comments}
                for grade in nb.grades:
                    cell = grade.cell
                    manual_cell = (
                        type(cell).__name__ == "TaskCell"
                        or grade.name in comments  # a graded answer cell (solution + grade)
                    )
                    if not manual_cell:
                        continue
                    comment = comments.get(grade.name)
                    found.append(
                        WrittenAnswer(
                            student=sub.student.id,
                            notebook=name,
                            grade_id=grade.name,
                            max_points=float(grade.max_score),
                            manual_score=grade.manual_score,
                            auto_score=grade.auto_score,
                            comment=(comment.manual_comment or "") if comment else "",
                            answer=graded.get(grade.name, ""),
                            rubric=sources.get(name, {}).get(grade.name, ""),
                        )
                    )
    return found


def record_manual_grade(
    course,
    assignment: str,
    student: str,
    grade_id: str,
    score: float,
    comment: str | None = None,
    notebook: str | None = None,
) -> WrittenAnswer:
    """Give ``student``'s cell ``grade_id`` a manual ``score`` (0..max points) and a comment.

    Raises
    ------
    ValueError
        For an unknown student, cell or notebook, or a score outside ``[0, max points]``.
    """
    from nbgrader.api import MissingEntry

    candidates = [
        a
        for a in written_answers(course, assignment, student)
        if a.grade_id == grade_id
        and (notebook is None or a.notebook in (notebook, f"{notebook}.ipynb"))
    ]
    if not candidates:
        known = sorted({a.grade_id for a in written_answers(course, assignment, student)})
        raise ValueError(
            f"No hand-graded cell {grade_id!r} in {student!r}'s submission of {assignment!r}; "
            f"hand-graded cells: {', '.join(known) or 'none (is it autograded yet?)'}."
        )
    if len(candidates) > 1:
        raise ValueError(f"Cell {grade_id!r} is in several notebooks: name one with --notebook.")
    answer = candidates[0]
    try:
        score = float(score)
    except (TypeError, ValueError):
        raise ValueError(f"The score must be a number. Got {score!r}.") from None
    if not math.isfinite(score) or not 0 <= score <= answer.max_points:
        raise ValueError(
            f"The score of {grade_id!r} must be between 0 and {answer.max_points:g}. Got {score:g}."
        )
    nb_name = Path(answer.notebook).stem
    with course.gradebook() as gb:
        try:
            grade = gb.find_grade(grade_id, nb_name, assignment, student)
        except MissingEntry:
            raise ValueError(f"No grade {grade_id!r} for {student!r} in the gradebook.") from None
        grade.manual_score = score
        grade.needs_manual_grade = False
        if comment is not None:
            try:
                gb.find_comment(grade_id, nb_name, assignment, student).manual_comment = comment
            except MissingEntry:  # a task cell has no comment row in nbgrader's schema
                pass
        gb.db.commit()
    answer.manual_score, answer.comment = score, comment if comment is not None else answer.comment
    return answer


def _show(answer: WrittenAnswer, out) -> None:
    out(f"\n=== {answer.student} / {answer.notebook} / {answer.grade_id} "
        f"(max {answer.max_points:g} points) ===")  # fmt: skip
    out("--- model answer and rubric (source) ---")
    out(answer.rubric.strip() or "(none in the source notebook)")
    out("--- the student's answer ---")
    out(answer.answer.strip() or "(empty)")


def grade_interactively(course, assignment: str, ask=input, out=print) -> int:
    """Ask for a score and a comment for each answer still to grade; the number graded.

    At the score prompt: a number records it, ``s`` skips to the next answer, ``q`` stops
    (everything recorded so far is kept: run it again to go on).
    """
    graded = 0
    pending = [a for a in written_answers(course, assignment) if a.to_grade]
    out(f"{len(pending)} written answer(s) of {assignment} to grade")
    for answer in pending:
        _show(answer, out)
        while True:
            reply = ask(f"score 0-{answer.max_points:g} (s: skip, q: quit)> ").strip()
            if reply.lower() in ("q", "quit"):
                out(f"stopped: {graded} graded, {len(pending) - graded} left for next time")
                return graded
            if reply.lower() in ("s", "skip", ""):
                break
            try:
                comment = ask("comment (enter for none)> ")
                record_manual_grade(
                    course, assignment, answer.student, answer.grade_id, reply,
                    comment or None, answer.notebook,
                )  # fmt: skip
            except ValueError as exc:
                out(f"not recorded: {exc}")
                continue
            graded += 1
            break
    out(f"done: {graded} graded")
    return graded
