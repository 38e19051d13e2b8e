"""Single-bug submissions of the embeddings assignment (see ``tests/assignment_bugs/__init__.py``).

No answer calls another, so each bug costs exactly its own task's points.
"""

BUGS = {
    # the negative term without its square: wrong values and wrong gradients (Part A, 4 points)
    "hinge_unsquared": (
        "hinge_loss",
        "torch.relu(margin - d) ** 2",
        "torch.relu(margin - d)",
    ),
    # a window one short: counts miss the farthest neighbours (Part C counts, 2 points)
    "cooccurrence_window": ("cooccurrence", "range(1, window + 1)", "range(1, window)"),
    # PMI without the clipping at zero (Part C PPMI, 3 points)
    "ppmi_negative": ("ppmi", "np.maximum(pmi, 0.0)", "pmi"),
    # the query words are not excluded from the answers (Part D analogies, 2 points)
    "analogy_keeps_queries": (
        "analogy",
        "    scores[[index[a], index[b], index[c]]] = -np.inf\n",
        "",
    ),
}
