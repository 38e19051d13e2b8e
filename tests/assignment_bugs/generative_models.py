"""Single-bug submissions of the generative-models assignment (see ``__init__.py``).

No answer calls another: Part C's test computes its own KL, Part E trains with torch's binary
cross-entropy (not the submission's ``gan_losses``), so each bug costs exactly its own task's
points.
"""

BUGS = {
    # A: the "- 1" of the closed form forgotten (KL of the prior itself is then d/2, not 0)
    "kl_without_minus_one": (
        "gaussian_kl",
        "logvar.exp() - logvar - 1.0",
        "logvar.exp() - logvar",
    ),
    # B: sigma taken as exp(logvar) instead of exp(logvar / 2)
    "reparameterize_variance_as_std": (
        "reparameterize",
        "torch.exp(0.5 * logvar) * eps",
        "torch.exp(logvar) * eps",
    ),
    # C: the trace term of E||x - W z - b||^2 left out (the ELBO no longer touches log p(x))
    "expected_log_lik_without_trace": (
        "linear_elbo",
        "(resid + trace) / v",
        "resid / v",
    ),
    # D: the saturating generator loss with the wrong sign
    "saturating_loss_sign": (
        "gan_losses",
        "loss_g = -F.softplus(d_fake).mean()",
        "loss_g = F.softplus(d_fake).mean()",
    ),
}
