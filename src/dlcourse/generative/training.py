"""A GAN training loop: alternate one discriminator (or energy) step and one generator step.

Taught in :ref:`generative-models` (``book/generative-models.ipynb``).

Each iteration draws a batch of data :math:`x` and of noise :math:`z \\sim \\mathcal N(0, I)`,
then

1. takes a gradient *descent* step on the discriminator's loss :math:`\\mathcal L_D` (computed on
   detached fakes :math:`G(z)`, so the generator is not updated by it);
2. takes a descent step on the generator's loss :math:`\\mathcal L_G` (fresh logits of the
   updated discriminator on :math:`G(z)`; only the generator's optimizer steps).

The losses are :func:`~dlcourse.generative.gan_losses` (``kind="non_saturating"`` or
``"saturating"``) or, with ``kind="ebgan"``, :func:`~dlcourse.generative.ebgan_losses` with the
discriminator read as an energy. Both players use Adam with :math:`\\beta_1 = 0.5`, the usual
choice for GANs (Radford et al. 2016).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .._validation import (
    InvalidParameterError,
    as_tensor,
    check_callable,
    check_option,
    check_scalar,
    check_torch_seed,
)
from .ebgan import ebgan_losses
from .gan import gan_losses

__all__ = ["GANHistory", "train_gan"]


@dataclass
class GANHistory:
    """Losses of every iteration, what ``callback`` returned, and the wall-clock time."""

    loss_d: list = field(default_factory=list)
    loss_g: list = field(default_factory=list)
    records: list = field(default_factory=list)
    """``(iteration, callback(generator))`` pairs."""
    seconds: float = 0.0


def _module(m, name):
    import torch

    if not isinstance(m, torch.nn.Module):
        raise InvalidParameterError(
            f"The '{name}' argument of train_gan must be a torch.nn.Module. "
            f"Got {type(m).__name__} instead."
        )
    return m


def train_gan(
    generator,
    discriminator,
    x,
    *,
    latent_dim: int,
    n_iter: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    kind: str = "non_saturating",
    margin: float = 1.0,
    seed=0,
    record_every: int | None = None,
    callback: Callable | None = None,
) -> GANHistory:
    """Train a GAN (or an EBGAN) in place for ``n_iter`` alternating steps.

    Parameters
    ----------
    generator : torch.nn.Module
        Codes (b, latent_dim) -> samples of the shape of a batch of ``x``.
    discriminator : torch.nn.Module
        Samples -> logits (b,) or (b, 1); energies (>= 0) with ``kind="ebgan"``.
    x : torch.Tensor or ndarray of shape (n, ...)
        The training data; moved to the generator's device and dtype.
    latent_dim : int >= 1
    n_iter : int >= 1
        Number of (discriminator step, generator step) pairs.
    batch_size : int >= 1
        Data and noise per step (drawn with replacement from ``x``).
    lr : float > 0
        Learning rate of both Adam optimizers (betas (0.5, 0.999)).
    kind : {"non_saturating", "saturating", "ebgan"}
    margin : float >= 0
        The EBGAN margin (used only with ``kind="ebgan"``).
    seed : int, torch.Generator, numpy.random.Generator or None
        Batches and noise (the models' initialisation is the caller's).
    record_every : int >= 1, optional
        Call ``callback(generator)`` every that many iterations (and after the first) and store
        ``(iteration, value)`` in ``history.records``.
    callback : callable, optional

    Returns
    -------
    GANHistory
        Both modules are left in train mode.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> G = nn.Linear(1, 1)
    >>> D = nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Linear(16, 1))
    >>> x = 3.0 + 0.5 * torch.randn(512, 1)
    >>> h = train_gan(G, D, x, latent_dim=1, n_iter=600, lr=0.01, seed=0)
    >>> with torch.no_grad():
    ...     fake = G(torch.randn(2000, 1))
    >>> len(h.loss_d), abs(float(fake.mean()) - 3.0) < 0.3
    (600, True)
    """
    import torch

    generator = _module(generator, "generator")
    discriminator = _module(discriminator, "discriminator")
    latent_dim = check_scalar(latent_dim, "latent_dim", int, low=1)
    n_iter = check_scalar(n_iter, "n_iter", int, low=1)
    batch_size = check_scalar(batch_size, "batch_size", int, low=1)
    lr = check_scalar(lr, "lr", float, low=0, closed="neither")
    check_option(kind, "kind", ("non_saturating", "saturating", "ebgan"))
    margin = check_scalar(margin, "margin", float, low=0)
    if record_every is not None:
        record_every = check_scalar(record_every, "record_every", int, low=1)
        check_callable(callback, "callback")
    p = next(generator.parameters())
    x = as_tensor(x, "x", dtype=p.dtype, device=p.device)
    if x.ndim < 1 or x.shape[0] == 0:
        raise InvalidParameterError("train_gan needs a non-empty batch of data 'x'.")
    gen = check_torch_seed(seed, p.device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))

    def losses(real, fake):
        a, b = discriminator(real).reshape(-1), discriminator(fake).reshape(-1)
        if kind == "ebgan":
            return ebgan_losses(a, b, margin)
        return gan_losses(a, b, kind)

    history = GANHistory()
    start = time.perf_counter()
    generator.train()
    discriminator.train()
    for it in range(1, n_iter + 1):
        idx = torch.randint(0, x.shape[0], (batch_size,), generator=gen, device=p.device)
        real = x[idx]
        z = torch.randn((batch_size, latent_dim), generator=gen, device=p.device, dtype=p.dtype)
        fake = generator(z)
        loss_d, _ = losses(real, fake.detach())
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        _, loss_g = losses(real, fake)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        history.loss_d.append(float(loss_d.detach()))
        history.loss_g.append(float(loss_g.detach()))
        if record_every is not None and (it == 1 or it % record_every == 0 or it == n_iter):
            with torch.no_grad():
                history.records.append((it, callback(generator)))
            generator.train()
    history.seconds = time.perf_counter() - start
    return history
