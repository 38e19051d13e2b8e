"""The variational auto-encoder: an encoder that outputs a Gaussian, a decoder, and the ELBO.

Taught in :ref:`generative-models` (``book/generative-models.ipynb``).

A latent-variable model :math:`p_\\theta(x) = \\int p_\\theta(x \\mid z)\\, p(z)\\, dz` with
:math:`p(z) = \\mathcal N(0, I)` is trained by maximising a lower bound of
:math:`\\log p_\\theta(x)`, the *evidence lower bound*, with an approximate posterior
:math:`q_\\phi(z \\mid x) = \\mathcal N(\\mu_\\phi(x), \\operatorname{diag}\\sigma^2_\\phi(x))`:

.. math::
   \\log p_\\theta(x) \\;\\ge\\; \\mathrm{ELBO}(x) =
   \\mathbb E_{z \\sim q_\\phi(z\\mid x)}\\big[\\log p_\\theta(x \\mid z)\\big]
   - \\mathrm{KL}\\big(q_\\phi(z\\mid x) \\,\\|\\, p(z)\\big),

with equality iff :math:`q_\\phi(z \\mid x)` is the true posterior. The expectation is estimated
with reparameterised samples :math:`z = \\mu + \\sigma\\odot\\varepsilon` and the KL term is
computed in closed form (:func:`~dlcourse.generative.gaussian_kl`). Read as an energy (the EBM
chapter), :math:`-\\mathrm{ELBO}` is a free energy of :math:`x`: a reconstruction energy averaged
over a code distribution, plus a term that keeps that distribution wide and near the prior.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import (
    InvalidParameterError,
    check_callable,
    check_option,
    check_scalar,
    check_torch_seed,
)
from ._checks import float_tensor
from .kl import gaussian_kl

__all__ = ["VAE"]


class VAE(nn.Module):
    """A variational auto-encoder around any encoder and decoder.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps a batch ``x`` of shape (n, ...) to (n, 2 * latent_dim): the means :math:`\\mu`
        followed by the log-variances :math:`\\log\\sigma^2` of :math:`q(z \\mid x)`.
    decoder : torch.nn.Module
        Maps codes (n, latent_dim) to a batch of the shape of ``x``: the *logits* of independent
        Bernoulli pixels (``likelihood="bernoulli"``) or the *mean* of a Gaussian with variance
        ``obs_var`` (``likelihood="gaussian"``).
    latent_dim : int >= 1
    likelihood : {"bernoulli", "gaussian"}
        :math:`\\log p(x\\mid z) = \\sum_i x_i \\log s_i + (1 - x_i)\\log(1 - s_i)`,
        :math:`s = \\operatorname{sigmoid}(\\text{decoder}(z))`, or
        :math:`-\\tfrac12\\sum_i (x_i - m_i)^2/v + \\log(2\\pi v)`, :math:`m = \\text{decoder}(z)`.
    obs_var : float > 0
        The variance :math:`v` of the Gaussian likelihood (unused for Bernoulli).

    Notes
    -----
    ``vae(x)`` returns the *negative* ELBO of each example (one reparameterised sample), so that
    :func:`dlcourse.trainer.train` trains it:
    ``train(vae, (x, x), loss_fn=lambda nelbo, _: nelbo.mean())``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> vae = VAE(nn.Linear(6, 4), nn.Linear(2, 6), latent_dim=2)
    >>> x = torch.rand(5, 6).round()
    >>> vae.elbo(x, n_samples=3, seed=0).shape
    torch.Size([5])
    >>> vae.sample(4, seed=0).shape
    torch.Size([4, 6])
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        latent_dim: int,
        likelihood: str = "bernoulli",
        obs_var: float = 1.0,
    ) -> None:
        super().__init__()
        self.encoder = check_callable(encoder, "encoder", "a torch.nn.Module")
        self.decoder = check_callable(decoder, "decoder", "a torch.nn.Module")
        self.latent_dim = check_scalar(latent_dim, "latent_dim", int, low=1)
        self.likelihood = check_option(likelihood, "likelihood", ("bernoulli", "gaussian"))
        self.obs_var = check_scalar(obs_var, "obs_var", float, low=0, closed="neither")

    # ------------------------------------------------------------------ pieces
    def encode(self, x):
        """The parameters ``(mu, logvar)`` of :math:`q(z\\mid x)`, each of shape (n, latent_dim)."""
        x = float_tensor(x, "x")
        h = self.encoder(x)
        d = self.latent_dim
        if h.ndim != 2 or h.shape[1] != 2 * d:
            raise InvalidParameterError(
                f"The encoder must output shape (n, 2 * latent_dim) = (n, {2 * d}) (the means "
                f"then the log-variances). Got {tuple(h.shape)} instead."
            )
        return h[:, :d], h[:, d:]

    def decode(self, z):
        """The mean of :math:`p(x \\mid z)`: sigmoid of the logits, or the Gaussian mean."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    def log_likelihood(self, x, z):
        """:math:`\\log p(x \\mid z)` of each example, summed over all its entries; shape (n,)."""
        x = float_tensor(x, "x")
        out = self.decoder(z)
        if out.shape != x.shape:
            raise InvalidParameterError(
                f"The decoder's output must have the shape of 'x', {tuple(x.shape)}. "
                f"Got {tuple(out.shape)} instead."
            )
        if self.likelihood == "bernoulli":
            ll = -nn.functional.binary_cross_entropy_with_logits(out, x, reduction="none")
        else:
            v = self.obs_var
            ll = -0.5 * ((x - out) ** 2 / v + math.log(2 * math.pi * v))
        return ll.reshape(x.shape[0], -1).sum(1)

    # ------------------------------------------------------------------ the bound
    def elbo(self, x, n_samples: int = 1, seed=None):
        """The evidence lower bound of each example, estimated with ``n_samples`` codes.

        .. math:: \\widehat{\\mathrm{ELBO}}(x) = \\frac1S \\sum_{s=1}^S
           \\log p(x \\mid \\mu + \\sigma\\odot\\varepsilon_s) - \\mathrm{KL}(q \\,\\|\\, p),

        an unbiased estimate of the ELBO (the KL term exactly).

        Parameters
        ----------
        x : torch.Tensor of shape (n, ...)
        n_samples : int >= 1
        seed : int, torch.Generator, numpy.random.Generator or None

        Returns
        -------
        torch.Tensor of shape (n,), differentiable.
        """
        x = float_tensor(x, "x")
        s = check_scalar(n_samples, "n_samples", int, low=1)
        mu, logvar = self.encode(x)
        generator = check_torch_seed(seed, mu.device)
        eps = torch.randn((s, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)
        z = (mu + torch.exp(0.5 * logvar) * eps).reshape(-1, self.latent_dim)
        xs = x.unsqueeze(0).expand(s, *x.shape).reshape(-1, *x.shape[1:])
        rec = self.log_likelihood(xs, z).reshape(s, -1).mean(0)
        return rec - gaussian_kl(mu, logvar)

    def forward(self, x):
        """The negative ELBO of each example, one reparameterised sample: shape (n,)."""
        return -self.elbo(x)

    @torch.no_grad()
    def sample(self, n: int, seed=None):
        """Decode ``n`` codes drawn from the prior :math:`\\mathcal N(0, I)`: the means of
        :math:`p(x \\mid z)`, shape (n, ...), detached (the module's mode is left alone)."""
        n = check_scalar(n, "n", int, low=1)
        p = next(self.parameters(), None)
        device = p.device if p is not None else torch.device("cpu")
        dtype = p.dtype if p is not None else torch.get_default_dtype()
        generator = check_torch_seed(seed, device)
        z = torch.randn((n, self.latent_dim), generator=generator, device=device, dtype=dtype)
        return self.decode(z)

    @torch.no_grad()
    def reconstruct(self, x):
        """Decode the posterior means: :math:`\\mathbb E[x \\mid z = \\mu(x)]`, detached."""
        mu, _ = self.encode(x)
        return self.decode(mu)
