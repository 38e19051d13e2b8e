"""Single-bug submissions of the training assignment (see ``tests/assignment_bugs/__init__.py``).

Part F is one answer cell (``heavy_ball``) with two tests; no other answer calls it.
"""

BUGS = {
    # "dampened" momentum, v = beta v + (1 - beta) g (torch's dampening=beta, an EMA of the
    # gradients): the step differs from torch.optim.SGD(momentum=beta) and the effective rate
    # lr (1 - beta) is far from the tuned one, 0.964 per step instead of 0.818 at kappa = 100
    # (Part F, 6 points)
    "heavy_ball_dampened": (
        "heavy_ball",
        "+ np.asarray(grad, dtype=float)",
        "+ (1 - beta) * np.asarray(grad, dtype=float)",
    ),
}
