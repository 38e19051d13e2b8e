"""Single-bug submissions of the convolutions assignment (see ``assignment_bugs/__init__.py``).

``first_grad_norm`` (Part F.2) calls the student's ``residual_block`` (F.1) and ``conv2d`` (A.2),
so a bug in those would cost later parts too; the bug below is in F.2 itself.
"""

BUGS = {
    # the gradient of the last block's w1 instead of the first's (Part F.2, 3 points)
    "grad_of_last_block": ("first_grad_norm", "params[0][0]", "params[-1][0]"),
}
