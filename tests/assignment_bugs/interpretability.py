"""Single-bug submissions of the interpretability assignment (see ``__init__.py``).

Every answer of this assignment is independent of the others (each test cell calls only its
own task's function), so each bug costs exactly its own task's points.
"""

BUGS = {
    # Part A: |w| instead of w: positive maps, the identity and the hand example fail (4 points)
    "cam_abs_weights": (
        "class_activation_map",
        "w = weight[target]  # (N, K)",
        "w = weight[target].abs()  # (N, K)",
    ),
    # Part B: gradient descent instead of ascent: the logit falls (4 points)
    "am_descent": (
        "maximize_class",
        "x = (x + lr * (g - lam * (x - 0.5))).clamp(0.0, 1.0)",
        "x = (x - lr * (g - lam * (x - 0.5))).clamp(0.0, 1.0)",
    ),
    # Part C: |grad| instead of the signed gradient (3 points)
    "saliency_abs": ("saliency", "return g.reshape(x.shape)", "return g.abs().reshape(x.shape)"),
    # Part D: a wrong second-difference stencil (missing the -2 u_i): wrong terms (4 points)
    "operator_stencil": (
        "recover_operator",
        "uxx = (r(1) - 2 * u + r(-1)) / dx**2",
        "uxx = (r(1) - u + r(-1)) / dx**2",
    ),
}
