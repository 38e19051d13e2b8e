"""Equivalence corpus: an ordinary nbgrader course, graded by plain nbgrader and by our tool.

Deliberately minimal (nbgrader's defaults; no IgnorePattern), so that the two are compared on
nbgrader's own semantics. The timeout is nbgrader's default, written out because both tools read it.
"""

c = get_config()  # noqa: F821

c.CourseDirectory.course_id = "equivalence"
c.Execute.timeout = 30
