"""nbgrader configuration of the dlcourse course (read by nbgrader and by `python -m autograder`).

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
# cells in a sandbox and tests in a separate process, see autograder/tester.py) and for
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
