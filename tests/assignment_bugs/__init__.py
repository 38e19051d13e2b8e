"""Single-bug submissions, one module per assignment, used by tests/test_grading.py.

``tests/assignment_bugs/<assignment, '-' -> '_'>.py`` defines ``BUGS``, a dict from a
submission name to ``(answer_grade_id, old, new)``: the submission is the solution with the
text ``old`` replaced by ``new`` in the answer cell ``answer_grade_id`` (``old`` must occur
there). Each bug must cost exactly the points of that answer's task and nothing else: a bug
that breaks a later task too (because a later answer calls this one) is a badly chosen bug.
"""

from __future__ import annotations

import copy
import importlib

from ..nbtasks import tasks as task_list


def bugs_for(assignment: str) -> dict:
    """The assignment's ``BUGS`` dict, or ``{}`` when it has no module here."""
    try:
        module = importlib.import_module(f"{__name__}.{assignment.replace('-', '_')}")
    except ModuleNotFoundError:
        return {}
    return dict(module.BUGS)


def buggy_submissions(assignment: str, source, solution_score: float) -> dict:
    """``{name: (notebook, expected_score)}`` for every single-bug submission of an assignment."""
    by_answer = {t["grade_id"]: t for t in task_list(source)}
    out = {}
    for name, (grade_id, old, new) in bugs_for(assignment).items():
        assert grade_id in by_answer, f"{assignment} bug {name}: no answer cell {grade_id!r}"
        nb = copy.deepcopy(source)
        cell = nb.cells[by_answer[grade_id]["solution_index"]]
        assert old in cell.source, f"{assignment} bug {name}: {old!r} is not in {grade_id}"
        cell.source = cell.source.replace(old, new)
        out[f"bug_{name}"] = (nb, solution_score - by_answer[grade_id]["points"])
    return out
