"""Single-bug submissions of the trees-as-networks assignment (see ``__init__.py``).

No later answer calls an earlier one (part C's tests bring their own matrices, part D's the
trees' probabilities, part E needs nothing from A-D), so each bug costs its own task only.
"""

BUGS = {
    # natural log instead of log2: every entropy and gain is off by a factor ln 2
    "entropy_in_nats": ("entropy_gain", "p * np.log2(safe)", "p * np.log(safe)"),
    # b = +t instead of -t: the first layer would test x_j + t > 0
    "threshold_sign": ("tree_matrices", "b[s] = -threshold[node]", "b[s] = threshold[node]"),
    # a sample exactly at a threshold goes right, unlike scikit-learn
    "tie_goes_right": (
        "network_forward",
        "np.where(u > 0, 1.0, -1.0)",
        "np.where(u >= 0, 1.0, -1.0)",
    ),
    # averaging over the samples instead of the trees
    "mean_over_samples": ("forest_vote", "proba = P.mean(axis=0)", "proba = P.mean(axis=1)"),
    # the log-likelihood minimised instead of the negative log-likelihood: gradient *ascent* on
    # the loss, so the soft tree learns the wrong leaves (part E's training task only)
    "likelihood_minimised": (
        "train_soft_tree",
        "loss = -log_p[torch.arange(len(y), device=dev), y].mean()",
        "loss = log_p[torch.arange(len(y), device=dev), y].mean()",
    ),
}
