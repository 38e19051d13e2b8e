"""The outcome of grading one submission (shared by the course, the grader and the feedback)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["GradeResult"]


@dataclass
class GradeResult:
    """The outcome of autograding one student's submission.

    ``status`` is ``"graded"`` or ``"ungradable"`` (then ``reason`` says why). A graded
    submission whose process crashed or timed out somewhere has those faults in ``reason``;
    ``events`` lists everything noteworthy (restored cells, timeouts, crashes, truncations) and
    ``tests`` has one entry per test cell (notebook, grade_id, points, max_points, passed,
    message). ``flags`` lists what compatible mode's integrity probe noticed (the submission
    is flagged for review, its points are kept); ``mode`` is how it was graded; ``manual``
    lists the hand-graded cells (grade_id, notebook, points, max_points, comment, to_grade).
    """

    student: str
    assignment: str
    status: str
    score: float | None = None
    max_score: float | None = None
    reason: str = ""
    events: list[str] = field(default_factory=list)
    tests: list[dict] = field(default_factory=list)
    log: str = field(default="", repr=False)
    flags: list[str] = field(default_factory=list)
    mode: str = "isolated"
    manual: list[dict] = field(default_factory=list)

    @property
    def pending_points(self) -> float:
        """Points of written answers still waiting to be graded by hand."""
        return sum(float(m["max_points"]) for m in self.manual if m.get("to_grade"))
