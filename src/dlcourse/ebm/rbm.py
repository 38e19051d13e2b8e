"""Restricted Boltzmann machine: a latent-variable EBM whose free energy has a closed form.

Taught in :ref:`energy-based-models` (``book/energy-based-models.ipynb``).

Binary visible units :math:`v \\in \\{0,1\\}^{n_v}` and hidden units :math:`h \\in \\{0,1\\}^{n_h}`
interact only across the two layers:

.. math:: E(v, h) = -h^\\top W v - b^\\top v - c^\\top h .

Because :math:`E` is linear in each :math:`h_j`, the sum over the :math:`2^{n_h}` hidden states
factorises, and the free energy (at :math:`\\beta = 1`) is

.. math::
   F(v) = -\\log \\sum_h e^{-E(v, h)}
   = -b^\\top v - \\sum_{j=1}^{n_h} \\log\\big(1 + e^{c_j + W_j v}\\big)
   = -b^\\top v - \\sum_j \\operatorname{softplus}(c_j + W_j v).

The same factorisation makes the conditionals independent Bernoullis,
:math:`p(h_j = 1 \\mid v) = \\sigma(c_j + W_j v)` and
:math:`p(v_i = 1 \\mid h) = \\sigma(b_i + W_{:,i}^\\top h)`,
so block Gibbs sampling alternates two matrix products. Training by contrastive divergence
(:meth:`RBM.cd_loss`) lowers :math:`F` on the data and raises it at the end of k Gibbs steps. In the
lecture's notation (no biases) :math:`E(y, z) = -z^\\top W y` with :math:`y = v`, :math:`z = h`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import (
    InvalidParameterError,
    check_scalar,
    check_torch_seed,
    invalid,
    renamed_kwargs,
)

__all__ = ["RBM"]

_MAX_ENUMERATED_UNITS = 22  # 2^22 states: a few seconds at most


class RBM(nn.Module):
    """A Bernoulli-Bernoulli restricted Boltzmann machine.

    Parameters
    ----------
    n_visible, n_hidden : int
        Layer sizes.
    weight_std : float
        Initial weights are :math:`\\mathcal N(0, \\text{weight\\_std}^2)`; biases start at 0.
    seed : int, torch.Generator, numpy.random.Generator or None
        Randomness of the initial weights (``None``: torch's global generator, read but never
        seeded). ``generator=`` is its deprecated old name, in the sampling methods too.

    Attributes
    ----------
    W : nn.Parameter of shape (n_hidden, n_visible)
    b : nn.Parameter of shape (n_visible,)  (visible biases)
    c : nn.Parameter of shape (n_hidden,)  (hidden biases)

    Calling the module returns the free energy, so an ``RBM`` can be passed wherever an energy
    function is expected.

    Examples
    --------
    >>> rbm = RBM(3, 2)
    >>> v = torch.tensor([[1.0, 0.0, 1.0]])
    >>> hs = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> brute = -torch.logsumexp(-rbm.energy(v.expand(4, 3), hs), dim=0)
    >>> bool(torch.allclose(rbm.free_energy(v), brute))
    True
    """

    @renamed_kwargs(generator="seed")
    def __init__(self, n_visible: int, n_hidden: int, weight_std: float = 0.01, seed=None) -> None:
        super().__init__()
        self.n_visible = check_scalar(n_visible, "n_visible", int, low=1)
        self.n_hidden = check_scalar(n_hidden, "n_hidden", int, low=1)
        weight_std = check_scalar(weight_std, "weight_std", float, low=0)
        w = (
            torch.randn(self.n_hidden, self.n_visible, generator=check_torch_seed(seed))
            * weight_std
        )
        self.W = nn.Parameter(w)
        self.b = nn.Parameter(torch.zeros(self.n_visible))
        self.c = nn.Parameter(torch.zeros(self.n_hidden))

    def extra_repr(self) -> str:
        return f"n_visible={self.n_visible}, n_hidden={self.n_hidden}"

    # ------------------------------------------------------------------ checks
    def _check(self, name: str, t, size: int):
        if not isinstance(t, torch.Tensor):
            raise invalid(name, "a torch.Tensor", got=f"{type(t).__name__}")
        if t.ndim != 2 or t.shape[1] != size:
            raise invalid(name, f"of shape (n, {size})", got=f"{tuple(t.shape)}")
        return t.to(dtype=self.W.dtype, device=self.W.device)

    # ------------------------------------------------------------------ energies
    def energy(self, v, h):
        """:math:`E(v, h) = -h^\\top W v - b^\\top v - c^\\top h` for each row, shape (n,)."""
        v = self._check("v", v, self.n_visible)
        h = self._check("h", h, self.n_hidden)
        if v.shape[0] != h.shape[0]:
            raise InvalidParameterError(
                f"'v' and 'h' must have the same number of rows. Got {v.shape[0]} and {h.shape[0]}."
            )
        return -((h @ self.W) * v).sum(1) - v @ self.b - h @ self.c

    def free_energy(self, v):
        """Closed-form :math:`F(v) = -b^\\top v - \\sum_j \\mathrm{softplus}(c_j + W_j v)`."""
        v = self._check("v", v, self.n_visible)
        return -v @ self.b - F.softplus(v @ self.W.T + self.c).sum(1)

    def forward(self, v):
        return self.free_energy(v)

    # ------------------------------------------------------------------ conditionals
    def hidden_probs(self, v):
        """:math:`p(h_j = 1 \\mid v) = \\sigma(c_j + W_j v)`, shape (n, n_hidden)."""
        v = self._check("v", v, self.n_visible)
        return torch.sigmoid(v @ self.W.T + self.c)

    def visible_probs(self, h):
        """:math:`p(v_i = 1 \\mid h) = \\sigma(b_i + W_{:,i}^\\top h)`, shape (n, n_visible)."""
        h = self._check("h", h, self.n_hidden)
        return torch.sigmoid(h @ self.W + self.b)

    @staticmethod
    def _bernoulli(p, generator):
        u = torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype)
        return (u < p).to(p.dtype)

    @renamed_kwargs(generator="seed")
    def sample_h(self, v, seed=None):
        """A binary sample of :math:`h \\sim p(h \\mid v)`, shape (n, n_hidden)."""
        p = self.hidden_probs(v)
        return self._bernoulli(p, check_torch_seed(seed, p.device))

    @renamed_kwargs(generator="seed")
    def sample_v(self, h, seed=None):
        """A binary sample of :math:`v \\sim p(v \\mid h)`, shape (n, n_visible)."""
        p = self.visible_probs(h)
        return self._bernoulli(p, check_torch_seed(seed, p.device))

    @torch.no_grad()
    @renamed_kwargs(generator="seed")
    def gibbs(self, v, k: int = 1, seed=None):
        """``k`` steps of block Gibbs sampling :math:`v \\to h \\to v`; returns binary visibles."""
        k = check_scalar(k, "k", int, low=0)
        v = self._check("v", v, self.n_visible)
        generator = check_torch_seed(seed, v.device)
        for _ in range(k):
            v = self.sample_v(self.sample_h(v, generator), generator)
        return v

    # ------------------------------------------------------------------ training
    @renamed_kwargs(generator="seed")
    def cd_loss(self, v, k: int = 1, *, negatives=None, seed=None):
        """Contrastive-divergence loss :math:`\\overline{F(v)} - \\overline{F(\\tilde v)}` (means).

        :math:`\\tilde v` is ``negatives`` when given (e.g. persistent chains), otherwise the end
        of ``k`` Gibbs steps started at ``v`` (CD-k). No gradient flows through the sampling, so
        ``loss.backward()`` gives the CD-k estimate of the gradient of the negative
        log-likelihood; for the weights it is :math:`-\\overline{\\sigma(c + W v)\\, v^\\top}
        + \\overline{\\sigma(c + W\\tilde v)\\, \\tilde v^\\top}`.
        """
        v = self._check("v", v, self.n_visible)
        neg = self.gibbs(v, k, seed) if negatives is None else negatives
        neg = self._check("negatives", neg, self.n_visible).detach()
        return self.free_energy(v).mean() - self.free_energy(neg).mean()

    @torch.no_grad()
    def reconstruct(self, v):
        """Mean-field reconstruction :math:`p(v \\mid h = p(h \\mid v))`, shape (n, n_visible)."""
        return self.visible_probs(self.hidden_probs(v))

    @torch.no_grad()
    def reconstruction_error(self, v) -> float:
        """Mean squared difference between ``v`` and :meth:`reconstruct` (per pixel)."""
        v = self._check("v", v, self.n_visible)
        return float(((v - self.reconstruct(v)) ** 2).mean())

    # ------------------------------------------------------------------ exact quantities
    @torch.no_grad()
    def log_partition(self) -> float:
        """Exact :math:`\\log Z = \\log\\sum_{v,h} e^{-E(v,h)}` by enumerating the smaller layer.

        With :math:`n_h \\le n_v`: :math:`\\log Z = \\log\\sum_h \\exp\\big(c^\\top h +
        \\sum_i \\operatorname{softplus}(b_i + W_{:,i}^\\top h)\\big)`. Only for small RBMs
        (the smaller layer must have at most 22 units).
        """
        small = min(self.n_hidden, self.n_visible)
        if small > _MAX_ENUMERATED_UNITS:
            raise InvalidParameterError(
                f"log_partition enumerates 2^{small} states of the smaller layer; that is too "
                f"many (at most 2^{_MAX_ENUMERATED_UNITS}). Use a smaller RBM."
            )
        W, b, c = self.W.double(), self.b.double(), self.c.double()
        if self.n_hidden <= self.n_visible:
            coupling, bias_enum, bias_other = W.T, c, b  # enumerate h, sum out v
        else:
            coupling, bias_enum, bias_other = W, b, c  # enumerate v, sum out h
        n = coupling.shape[1]  # number of enumerated units
        parts = []
        chunk = 1 << 16
        bits = torch.arange(n, device=W.device)
        for start in range(0, 1 << n, chunk):
            idx = torch.arange(start, min(start + chunk, 1 << n), device=W.device)
            states = ((idx[:, None] >> bits) & 1).double()
            # minus the free energy of each enumerated state, the other layer summed out
            parts.append(states @ bias_enum + F.softplus(states @ coupling.T + bias_other).sum(1))
        return float(torch.logsumexp(torch.cat(parts), dim=0))

    @torch.no_grad()
    def log_likelihood(self, v) -> float:
        """Exact mean :math:`\\log p(v) = -F(v) - \\log Z` over the rows of ``v`` (small RBMs)."""
        v = self._check("v", v, self.n_visible)
        return float(-self.free_energy(v).double().mean()) - self.log_partition()
