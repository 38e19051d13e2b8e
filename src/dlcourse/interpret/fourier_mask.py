"""Fourier masks: which frequencies a network needs to keep its decisions.

Taught in the chapter *Interpretability* (``book/interpretability``). A mask
:math:`M \\in [0, 1]^{H \\times W}` on the (centred) 2-D Fourier transform filters an image,

.. math:: \\bar x = \\mathrm{Re}\\,\\mathcal F^{-1}\\big(M \\odot \\mathcal F x\\big)

(taking the real part is the same as filtering with the mask symmetrised over each frequency
and its mirror, :math:`\\tfrac12(M(u) + M(-u))`). The mask of the network :math:`\\Phi` is the
sparsest one that leaves its loss unchanged on a set of images,

.. math:: M_\\Phi = \\arg\\min_{M \\in [0,1]^{H\\times W}} \\frac1N \\sum_{n}
   \\exp\\Big(\\big[\\mathcal L(\\Phi(\\bar x_n), y_n) - \\mathcal L(\\Phi(x_n), y_n)\\big]^2\\Big)
   + \\lambda \\frac{1}{HW}\\|M\\|_p^p ,

solved by projected gradient descent (Adam steps, then clipping to :math:`[0, 1]`) from
:math:`M = 1`. The frequencies that keep a large weight are those the network relies on. The
layout is that of :func:`dlcourse.attacks.fourier_basis` (``fftshift``: the zero frequency at
``(H // 2, W // 2)``), so that the mask and the error heat map of
:func:`dlcourse.attacks.fourier_heatmap` can be compared entry by entry.
"""

from __future__ import annotations

from .._validation import InvalidParameterError, check_scalar
from ._common import check_model, frozen_model, image_batch, logits, model_device, targets

__all__ = ["fourier_filter", "fourier_mask"]


def fourier_filter(x, mask):
    """:math:`\\mathrm{Re}\\,\\mathcal F^{-1}(M \\odot \\mathcal F x)` over the last two axes.

    Parameters
    ----------
    x : Tensor of shape (..., H, W)
    mask : Tensor or array of shape (H, W), centred (``fftshift``) layout

    Returns
    -------
    Tensor shaped like ``x``.

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(2, 1, 8, 8)
    >>> bool(torch.allclose(fourier_filter(x, torch.ones(8, 8)), x, atol=1e-6))
    True
    >>> low = torch.zeros(8, 8); low[4, 4] = 1.0   # only the zero frequency: the mean
    >>> bool(torch.allclose(fourier_filter(x, low), x.mean((-2, -1), keepdim=True).expand_as(x),
    ...                     atol=1e-6))
    True
    """
    import torch

    x = image_batch(x)
    mask = torch.as_tensor(mask, device=x.device)
    if mask.shape != x.shape[-2:]:
        raise InvalidParameterError(
            f"The 'mask' argument must have the image size {tuple(x.shape[-2:])} of 'x'; got "
            f"shape {tuple(mask.shape)}."
        )
    return _filter(x, mask)


def _filter(x, mask):
    import torch

    spec = torch.fft.fftshift(torch.fft.fft2(x), dim=(-2, -1))
    out = torch.fft.ifft2(torch.fft.ifftshift(spec * mask.to(spec.real.dtype), dim=(-2, -1)))
    return out.real.to(x.dtype)


def fourier_mask(
    model,
    x,
    y=None,
    lam: float = 1.0,
    n_iter: int = 200,
    *,
    lr: float = 0.05,
    p: float = 1.0,
    batch_size: int | None = None,
    return_history: bool = False,
):
    """The sparsest Fourier mask that keeps ``model``'s loss on ``(x, y)`` unchanged.

    .. math:: \\min_{M\\in[0,1]^{H\\times W}} \\frac1N\\sum_n
       e^{[\\mathcal L(\\Phi(\\bar x_n), y_n) - \\mathcal L(\\Phi(x_n), y_n)]^2}
       + \\frac{\\lambda}{HW}\\|M\\|_p^p

    Parameters
    ----------
    model : torch.nn.Module or callable
        Maps images (N, C, H, W) to logits; left as it was.
    x : Tensor of shape (N, C, H, W)
        Images (not changed).
    y : Tensor (N,), optional
        Labels; ``None``: the model's predictions on ``x``.
    lam : float >= 0
        Weight :math:`\\lambda` of the sparsity penalty.
    n_iter : int >= 0
        Projected Adam steps.
    lr : float > 0
        Adam's learning rate.
    p : float > 0
        The exponent of the penalty (1: the L1 norm).
    batch_size : int, optional
        Use a random mini-batch of this size per step (default: all of ``x``, deterministic).
    return_history : bool
        Also return the objective at every step (n_iter,).

    Returns
    -------
    mask : Tensor (H, W) in [0, 1], detached, on the model's device (centred layout)
    history : numpy.ndarray, only if ``return_history``

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    >>> M = fourier_mask(net, torch.rand(16, 1, 8, 8), lam=1.0, n_iter=30)
    >>> M.shape, bool(M.min() >= 0 and M.max() <= 1)
    (torch.Size([8, 8]), True)
    """
    import numpy as np
    import torch
    import torch.nn.functional as F

    model = check_model(model)
    x = image_batch(x)
    if x.ndim != 4:
        raise InvalidParameterError(
            f"The 'x' argument of fourier_mask must be images (N, C, H, W); got shape "
            f"{tuple(x.shape)}."
        )
    lam = check_scalar(lam, "lam", float, low=0)
    n_iter = check_scalar(n_iter, "n_iter", int, low=0)
    lr = check_scalar(lr, "lr", float, low=0, closed="neither")
    p = check_scalar(p, "p", float, low=0, closed="neither")
    return_history = check_scalar(return_history, "return_history", bool)
    if batch_size is not None:
        batch_size = check_scalar(batch_size, "batch_size", int, low=1)
    dev, dtype = model_device(model, x)
    xd = x.detach().to(dev, dtype)
    history = []
    with frozen_model(model):
        with torch.no_grad():
            z = logits(model, xd)
            yd = targets(y, z)
            base = F.cross_entropy(z, yd, reduction="none")
        mask = torch.ones(x.shape[-2:], device=dev, dtype=dtype, requires_grad=True)
        opt = torch.optim.Adam([mask], lr=lr)
        gen = torch.Generator().manual_seed(0)
        for _ in range(n_iter):
            if batch_size is not None and batch_size < xd.shape[0]:
                idx = torch.randperm(xd.shape[0], generator=gen)[:batch_size].to(dev)
                xb, yb, bb = xd[idx], yd[idx], base[idx]
            else:
                xb, yb, bb = xd, yd, base
            loss = F.cross_entropy(model(_filter(xb, mask)), yb, reduction="none")
            penalty = mask.abs().pow(p).mean()
            # the squared change is capped at 50 so that exp stays finite in float32
            objective = torch.exp(((loss - bb) ** 2).clamp(max=50.0)).mean() + lam * penalty
            opt.zero_grad()
            objective.backward()
            opt.step()
            with torch.no_grad():
                mask.clamp_(0.0, 1.0)
            history.append(float(objective.detach()))
    mask = mask.detach()
    if return_history:
        return mask, np.asarray(history)
    return mask
