"""Single-bug submissions of the random-networks assignment (see ``__init__.py``).

Each bug sits in an answer that no later graded task depends on: the empirical angle check
compares with the closed form written in the test itself, the slope of Part B does not change
when every width is off by the same factor, the LSH table after Part C is not graded, and the
features of Part E are checked with the tests' own ratios. So each bug costs exactly its own
task's points.
"""

BUGS = {
    # psi with the wrong sign of alpha cos(alpha): every output angle is off (Part A, 2 points)
    "relu_angle_psi_sign": (
        "relu_angle",
        "psi = (np.sin(a) - a * np.cos(a)) / np.pi",
        "psi = (np.sin(a) + a * np.cos(a)) / np.pi",
    ),
    # forgets that K = -K doubles the sup: width halved, slope unchanged (Part B width, 2 points)
    "mean_width_half": (
        "mean_width_sparse",
        "np.mean(2 * np.linalg.norm(top, axis=1))",
        "np.mean(np.linalg.norm(top, axis=1))",
    ),
    # ties broken by position instead of counted together (Part C mAP, 3 points)
    "map_ties_by_position": (
        "mean_average_precision",
        "ends = np.r_[ds[1:] != ds[:-1], True]",
        "ends = np.ones(len(ds), dtype=bool)",
    ),
    # the mean distance to the other classes instead of the nearest (Part E ratios, 2 points)
    "boundary_mean_not_nearest": (
        "distance_ratios",
        "o = np.where(diff, D, np.inf).min(axis=1)",
        "o = np.where(diff, D, np.inf).mean(axis=1)",
    ),
}
