"""Single-bug submissions of the convolutions assignment (``tests/assignment_bugs/__init__.py``).

Part E calls the student's ``conv2d`` (and so ``im2col``) of Part A, so a bug in Part A would
cost Part E's points too: the bugs here are chosen in answers no later answer calls.
"""

BUGS = {
    # Part E built on a library convolution instead of the student's conv2d (Part E, 5 points):
    # the network still trains to > 95 %, but both Part E tests reject it
    "lenet_library_conv": (
        "lenet",
        "            Conv2d(1, 6, 5, padding=2),\n",
        "            nn.Conv2d(1, 6, 5, padding=2),\n",
    ),
}
