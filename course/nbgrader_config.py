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

# A hanging cell costs that submission only: interrupt it after this many seconds
# and score the cell as failed (the grader moves on to the next cell).
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False

# A passing test cell that writes to stderr (e.g. a PyTorch or NumPy warning) would
# otherwise score 0: nbgrader counts any stderr stream as a failure. Failures of a test
# cell show up as `error` outputs, not stderr, so dropping stderr loses nothing.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]"

# A student who deletes a test cell does not escape it: nbgrader puts it back from the
# gradebook copy of the source notebook before executing.
c.OverwriteCells.add_missing_cells = True

# The kernel the source notebooks are written for; a submission's own kernelspec is overwritten.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
