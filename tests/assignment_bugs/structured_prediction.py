"""Single-bug submissions of the structured-prediction assignment (see __init__.py).

Each bug sits in one answer that no later answer calls (``segment`` calls ``mean_field_step``
with the symmetric 4-neighbour kernel, which a flipped kernel leaves unchanged), so each loses
exactly its own task's points.
"""

BUGS = {
    # the Viterbi recursion instead of the forward one: max instead of log-sum-exp
    "forward_max_not_logsumexp": (
        "log_partition",
        "alpha = emissions[:, t] + torch.logsumexp(alpha[:, :, None] + transitions[None], dim=1)",
        "alpha = emissions[:, t] + (alpha[:, :, None] + transitions[None]).amax(dim=1)",
    ),
    # backtracking forgets the pointers: every position keeps the last label
    "viterbi_no_backtracking": (
        "viterbi",
        "last = arg.gather(1, last[:, None])[:, 0]",
        "last = last",
    ),
    # a true convolution (flipped kernel) where the spec asks for PyTorch's cross-correlation
    "mean_field_flipped_kernel": (
        "mean_field_step",
        "weight = kernel.to(q.dtype).expand(K, 1, kh, kw)",
        "weight = kernel.to(q.dtype).flip(0, 1).expand(K, 1, kh, kw)",
    ),
    # no mean-field iterations: the unaries alone
    "segment_no_iterations": (
        "segment",
        "for _ in range(10):",
        "for _ in range(0):",
    ),
}
