"""nbgrader configuration of the dlcourse course (read by nbgrader and by dlcourse-grade).

Layout (nbgrader's standard one, rooted at this folder):
  source/<assignment>/<assignment>.ipynb   instructor notebooks (solutions, hidden tests)
  release/, submitted/, autograded/, feedback/, gradebook.db   generated, git-ignored
"""

import os

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

_here = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.root = _here
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_here, "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".nbgrader.log"]

# Per-cell time limit, in seconds, for `python -m autograder autograde` (which runs student
# cells in a sandbox and tests in a separate process, see src/dlcourse_grader/tester.py) and for
# `validate`: a hanging cell is stopped and fails, and grading moves on to the next cell.
# The settings below it are nbgrader's own, used by `validate` (students' visible tests).
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False

# A passing test cell that writes to stderr (e.g. a PyTorch or NumPy warning) would
# otherwise score 0: nbgrader counts any stderr stream as a failure. Failures of a test
# cell show up as `error` outputs, not stderr, so dropping stderr loses nothing.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]"

# A student who deletes a test cell does not escape it (the autograder always restores
# locked and test cells from source/; this makes nbgrader's own tools do the same).
c.OverwriteCells.add_missing_cells = True

# The kernel the source notebooks are written for; a submission's own kernelspec is overwritten.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# nbgrader's formgrader may be used to grade written answers by hand (same gradebook), but its
# Autograde and Generate Feedback buttons would run student code unsandboxed and put hidden
# tests in the feedback: they refuse, and say to use `dlcourse-grade autograde` / `feedback`.
from dlcourse_grader.nbgrader_guard import refuse  # noqa: E402

c.Autograde.pre_convert_hook = refuse
c.GenerateFeedback.pre_convert_hook = refuse

# Roster, due dates and late penalties for `dlcourse-grade export` (see dlcourse_grader.lms).
# c.Grades.roster = "roster.csv"  # id,name,email,lms_id; default: roster.csv if it is there
# (git-ignored, as course/*.csv: it holds personal data)
c.Grades.due = {}  # e.g. {"training": "2026-10-08 23:59:00 UTC"}
c.Grades.late_penalty = 0.1  # fraction of the score lost per started day late
c.Grades.late_limit_days = 7  # later than this scores 0
c.Grades.missing = "zero"  # a missing submission in the wide export: "zero" or "blank"
