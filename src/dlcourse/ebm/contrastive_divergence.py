"""Contrastive divergence: push down the energy of data, push up where short chains end.

Taught in :ref:`energy-based-models` (``book/energy-based-models.ipynb``).

Maximum likelihood for :math:`p_\\theta(y) = e^{-F_\\theta(y)} / Z_\\theta` has the gradient

.. math::
   \\nabla_\\theta \\big(-\\log p_\\theta(y)\\big)
   = \\nabla_\\theta F_\\theta(y)
   - \\mathbb{E}_{\\hat y \\sim p_\\theta} \\nabla_\\theta F_\\theta(\\hat y),

a push down on the data and a push up on samples of the model. **Contrastive divergence**
(CD-k, Hinton 2002) replaces the exact samples by the end points of k steps of a Markov chain
(Gibbs sampling for an RBM, Langevin dynamics for a continuous energy) *started at the data*:
the chain rolls downhill (with noise) from each training point, and the energy is raised where
it stops, which digs grooves around the data instead of shaping the whole space. **Persistent
CD** (PCD, Tieleman 2008) keeps a set of chains ("particles") alive between updates and moves
them a few steps each time, so that they explore the model's low-energy regions far from the
data as well. One update minimises the surrogate loss

.. math::
   \\mathcal L(\\theta) = \\frac1n \\sum_i F_\\theta(y_i) - \\frac1m \\sum_j F_\\theta(\\hat y_j)
   \\;+\\; \\alpha\\, \\frac1n\\sum_i F_\\theta(y_i)^2
   + \\alpha\\, \\frac1m\\sum_j F_\\theta(\\hat y_j)^2

with the negatives :math:`\\hat y_j` held fixed (no gradient flows through the sampler); the
optional :math:`\\alpha` term keeps the energies from drifting to large magnitudes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .._validation import InvalidParameterError, check_scalar, invalid, renamed_kwargs
from ..utils import is_torch
from .langevin import langevin_sample

__all__ = [
    "CDStep",
    "contrastive_divergence_loss",
    "contrastive_divergence_step",
    "persistent_contrastive_divergence_step",
]


class CDStep(NamedTuple):
    """What one CD update returns: the loss value and the negatives (the new chains, for PCD)."""

    loss: float
    negatives: object  # torch.Tensor, detached


def _energies(energy_fn: Callable, x, name: str):
    e = energy_fn(x)
    if not is_torch(e) or e.ndim != 1 or e.shape[0] != x.shape[0]:
        shape = tuple(e.shape) if is_torch(e) else type(e).__name__
        raise InvalidParameterError(
            f"energy_fn must return one energy per row of '{name}', shape ({x.shape[0]},). "
            f"Got {shape}."
        )
    return e


def contrastive_divergence_loss(energy_fn: Callable, x, negatives, alpha: float = 0.0):
    """The CD surrogate loss: mean energy of ``x`` minus mean energy of ``negatives``.

    Its gradient with respect to the parameters inside ``energy_fn`` is the CD estimate of the
    negative log-likelihood gradient. ``negatives`` are detached first.
    """
    if not is_torch(x) or not is_torch(negatives):
        raise InvalidParameterError("The 'x' and 'negatives' arguments must be torch tensors.")
    if x.shape[1:] != negatives.shape[1:]:
        raise InvalidParameterError(
            f"'x' and 'negatives' must have the same shape after the batch axis. Got "
            f"{tuple(x.shape)} and {tuple(negatives.shape)}."
        )
    alpha = check_scalar(alpha, "alpha", float, low=0)
    e_pos = _energies(energy_fn, x, "x")
    e_neg = _energies(energy_fn, negatives.detach(), "negatives")
    loss = e_pos.mean() - e_neg.mean()
    if alpha > 0:
        loss = loss + alpha * ((e_pos**2).mean() + (e_neg**2).mean())
    return loss


@renamed_kwargs(steps="n_iter", generator="seed")
def contrastive_divergence_step(
    energy_fn: Callable,
    x,
    optimizer,
    *,
    sampler: Callable | None = None,
    chains=None,
    n_iter: int = 10,
    step_size: float = 0.01,
    noise: float | None = None,
    clamp: tuple[float, float] | None = None,
    alpha: float = 0.0,
    seed=None,
) -> CDStep:
    """One CD update of the parameters of ``energy_fn``.

    Parameters
    ----------
    energy_fn : callable
        Torch function (usually an ``nn.Module``) mapping a batch to energies of shape (n,).
    x : torch.Tensor of shape (n, ...)
        A batch of training data.
    optimizer : torch.optim.Optimizer
        Over the parameters of ``energy_fn``.
    sampler : callable, optional
        ``sampler(start) -> negatives``. Default: ``n_iter`` Langevin updates on ``energy_fn``
        (:func:`~dlcourse.ebm.langevin.langevin_sample` with ``step_size``, ``noise``, ``clamp``,
        ``seed``; ``steps`` and ``generator`` are their deprecated old names). For an RBM
        pass ``lambda v: rbm.gibbs(v, k)``.
    chains : torch.Tensor, optional
        Where the sampler starts. ``None`` (plain CD): at the data ``x``. A tensor: persistent
        chains (see :func:`persistent_contrastive_divergence_step`).
    alpha : float >= 0
        Weight of the squared-energy regulariser.

    Returns
    -------
    CDStep
        ``loss`` (float) and ``negatives`` (detached tensor: the new chain states).
    """
    if not is_torch(x):
        raise invalid("x", "a torch.Tensor", got=f"{type(x).__name__}")
    start = x if chains is None else chains
    if not is_torch(start) or start.shape[1:] != x.shape[1:]:
        raise invalid(
            "chains",
            f"a torch.Tensor whose rows have the shape of the rows of 'x' {tuple(x.shape[1:])}",
            got=f"{tuple(start.shape) if is_torch(start) else type(start).__name__}",
        )
    if sampler is None:

        def sampler(s):
            return langevin_sample(energy_fn, s, n_iter, step_size, noise, clamp=clamp, seed=seed)

    negatives = sampler(start.detach()).detach()
    loss = contrastive_divergence_loss(energy_fn, x, negatives, alpha)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return CDStep(float(loss.detach()), negatives)


def persistent_contrastive_divergence_step(
    energy_fn: Callable, x, chains, optimizer, **kwargs
) -> CDStep:
    """One persistent-CD update: the sampler continues the given ``chains`` instead of
    restarting at the data.

    Pass the returned ``negatives`` as ``chains`` to the next call; the number of chains need
    not equal the batch size. Other arguments as in :func:`contrastive_divergence_step`.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> mu = torch.nn.Parameter(torch.zeros(1))          # E(y) = (y - mu)^2 / 2
    >>> energy = lambda y: 0.5 * ((y - mu) ** 2).sum(1)
    >>> opt = torch.optim.SGD([mu], lr=0.1)
    >>> chains = torch.randn(256, 1)
    >>> for _ in range(300):
    ...     data = 2.0 + torch.randn(256, 1)              # data ~ N(2, 1)
    ...     chains = persistent_contrastive_divergence_step(
    ...         energy, data, chains, opt, n_iter=5, step_size=0.1).negatives
    >>> abs(mu.item() - 2.0) < 0.3
    True
    """
    if chains is None:
        raise InvalidParameterError(
            "persistent_contrastive_divergence_step needs 'chains' (e.g. random starting "
            "points); use contrastive_divergence_step to start at the data."
        )
    return contrastive_divergence_step(energy_fn, x, optimizer, chains=chains, **kwargs)
