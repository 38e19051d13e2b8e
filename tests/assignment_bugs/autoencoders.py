"""Single-bug submissions of the autoencoders assignment (see ``__init__.py``).

Each answer below is called by no later task (Part C2 uses only Gaussian noise, Part B2 never
passes a negative ``lam``), so each bug costs exactly its own task's points.
"""

BUGS = {
    # A2: the PCA directions themselves, no trained auto-encoder behind decoder_weight (the
    # visible test's angles pass; the hidden test compares with lin_ae's weights)
    "decoder_weight_from_svd": (
        "linear_ae",
        "decoder_weight = lin_ae[1].weight.detach().numpy()",
        "decoder_weight = np.linalg.svd(x_lr.numpy() - x_lr.numpy().mean(0))[2][:3].T",
    ),
    # B1: no check of lam < 0 (B2 trains with lam >= 0 only)
    "sparse_penalty_no_lam_check": (
        "sparse_penalty",
        '    if lam < 0:\n        raise ValueError(f"lam must be >= 0, got {lam}")\n',
        "",
    ),
    # C1: masks with probability 1 - level (C2 uses Gaussian noise only)
    "corrupt_mask_inverted": (
        "corrupt",
        "keep = torch.rand(x.shape, generator=gen) >= level",
        "keep = torch.rand(x.shape, generator=gen) < level",
    ),
    # D: h (1 - h) not squared
    "contractive_not_squared": (
        "contractive",
        "((h * (1 - h)) ** 2 @ (W**2).sum(1))",
        "((h * (1 - h)) @ (W**2).sum(1))",
    ),
    # E2: an absolute threshold (passes the visible test, fails the hidden rescaled spectrum)
    "intrinsic_dimension_absolute": (
        "intrinsic_dimension",
        "s > threshold * s.max(axis=1, keepdims=True)",
        "s > threshold",
    ),
}
