"""Make nbgrader's own Autograde and Generate-Feedback refuse to run on this course.

nbgrader's formgrader is a fine place to grade written answers by hand (it writes
``manual_score`` and ``manual_comment`` into the same gradebook this tool uses). But its
*Autograde* button runs student code without a sandbox, and its *Generate Feedback* button
writes feedback that contains every hidden test. With these lines in ``nbgrader_config.py``
both stop before they run or write anything, with a message that names the safe command::

    from dlcourse_grader.nbgrader_guard import refuse
    c.Autograde.pre_convert_hook = refuse
    c.GenerateFeedback.pre_convert_hook = refuse

The hook runs before nbgrader touches the gradebook or executes a cell. It raises
:class:`Refused`, a ``BaseException``, because nbgrader logs and ignores an ``Exception`` from
a hook; nbgrader's API then reports the run as failed, with :data:`REFUSAL` in its error.
(One thing happens before the hook: with *force*, which formgrader's buttons set, nbgrader
first deletes its output folder, ``autograded/<student>/<assignment>/`` or
``feedback/<student>/<assignment>/``. Both are copies that ``dlcourse-grade autograde
--student S --force`` and ``dlcourse-grade feedback`` write again; grades are not touched.)

This tool never runs nbgrader's ``Autograde`` or ``GenerateFeedback`` converters, so the
guard costs it nothing.
"""

from __future__ import annotations

__all__ = ["Refused", "refuse", "REFUSAL"]

REFUSAL = (
    "This course is graded with dlcourse-grade, not with nbgrader's own autograde or "
    "generate_feedback (they run student code without a sandbox and would show hidden tests "
    "in the feedback). Run `dlcourse-grade autograde ASSIGNMENT` and "
    "`dlcourse-grade feedback ASSIGNMENT` instead; grade written answers in formgrader or "
    "with `dlcourse-grade grade-manually ASSIGNMENT`."
)


class Refused(BaseException):  # noqa: N818 - read as "the run was refused"
    """nbgrader's converter was stopped by :func:`refuse`."""


def refuse(**_context) -> None:
    """A ``pre_convert_hook`` that stops nbgrader's converter (see the module docstring)."""
    raise Refused(REFUSAL)
