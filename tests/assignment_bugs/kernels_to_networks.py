"""Single-bug submissions of the kernels-to-networks assignment (see ``__init__.py``).

Each bug sits in an answer that no later task calls (the later tests use the setup cell's
``forward``, ``patterns`` and ``grid_count_1d``, never an earlier answer), so it costs exactly
its own task's points.
"""

BUGS = {
    # the update moves w away from y x: loses Part A's update (2 points), not the loss
    "perceptron_update_sign": (
        "perceptron_update",
        "return w + lr * y * x, float(b + lr * y)",
        "return w - lr * y * x, float(b + lr * y)",
    ),
    # lifts with x1^2 only: the circles stay inseparable (Part B, 2 points)
    "lift_one_square": (
        "lift",
        "(X**2).sum(axis=1, keepdims=True)",
        "X[:, :1] ** 2",
    ),
    # the offset is the last value instead of the first: every output shifted (Part C, 4 points)
    "relu_pwl_offset": ("relu_pwl", "b2 = np.array([yk[0]])", "b2 = np.array([yk[-1]])"),
    # only the first hidden layer's switches are found (Part D, 2 + 3 points)
    "count_first_layer_only": (
        "count_regions_1d",
        "for k in range(len(h_layers)):",
        "for k in range(1):",
    ),
}
