"""Saliency maps: the input gradient of a class score, and its smoothed version (SmoothGrad).

Taught in the chapter *Interpretability* (``book/interpretability``). The **saliency map** of
class :math:`c` at input :math:`x` is the gradient of the logit

.. math:: S_c(x) = \\nabla_x z_c(x), \\qquad z = f_\\theta(x),

the first-order answer to "which pixels, changed a little, change the score most". For a
linear model :math:`z = Wx + b` it is the row :math:`W_c`, whatever :math:`x`. For a ReLU
network it is the row of the local linear map, which jumps from one linear region to the next:
saliency maps are noisy. **SmoothGrad** (Smilkov et al., 2017) averages them over Gaussian
perturbations of the input,

.. math:: \\hat S_c(x) = \\frac1n \\sum_{i=1}^n \\nabla_x z_c(x + \\sigma\\,\\xi_i),
   \\qquad \\xi_i \\sim \\mathcal N(0, I),

a Monte-Carlo estimate of the gradient of the Gaussian-smoothed score
:math:`\\mathbb E_\\xi[z_c(x + \\sigma\\xi)]`.
"""

from __future__ import annotations

from .._validation import check_scalar, check_torch_seed
from ._common import check_model, frozen_model, image_batch, logits, model_device, targets

__all__ = ["saliency", "smoothgrad"]


def _gradient(model, x, target, absolute):
    import torch

    dev, dtype = model_device(model, x)
    with frozen_model(model):
        xi = x.detach().to(dev, dtype).requires_grad_(True)
        z = logits(model, xi)
        t = targets(target, z.detach())
        (g,) = torch.autograd.grad(z.gather(1, t[:, None]).sum(), xi)
    g = g.to(x.device, x.dtype)
    return g.abs() if absolute else g


def saliency(model, x, target=None, *, absolute: bool = False):
    """The gradient :math:`\\nabla_x z_c(x)` of the logit of class ``target`` for each input.

    Parameters
    ----------
    model : torch.nn.Module or callable
        Maps a batch of shape (N, ...) to logits (N, n_classes). Its mode, parameters and their
        gradients are left as they were.
    x : Tensor of shape (N, ...)
        Inputs (not changed).
    target : int, sequence or Tensor of shape (N,), optional
        The class whose logit is differentiated; ``None`` (default): each input's predicted
        class.
    absolute : bool
        Return :math:`|\\nabla_x z_c|` (the usual picture) instead of the signed gradient.

    Returns
    -------
    Tensor shaped like ``x`` (same device and dtype), detached.

    Examples
    --------
    >>> import torch
    >>> lin = torch.nn.Linear(3, 2)
    >>> s = saliency(lin, torch.randn(4, 3), target=1)
    >>> bool(torch.allclose(s, lin.weight[1].detach().expand(4, 3)))  # a linear model: W_c
    True
    """
    model = check_model(model)
    x = image_batch(x)
    absolute = check_scalar(absolute, "absolute", bool)
    return _gradient(model, x, target, absolute)


def smoothgrad(
    model,
    x,
    target=None,
    *,
    sigma: float = 0.15,
    n_samples: int = 25,
    absolute: bool = False,
    seed=0,
):
    """SmoothGrad: the saliency map averaged over ``n_samples`` noisy copies of each input.

    .. math:: \\hat S_c(x) = \\frac1n \\sum_{i=1}^n \\nabla_x z_c(x + \\sigma\\,\\xi_i)

    Parameters
    ----------
    model, x, target, absolute
        As for :func:`saliency`; the class is fixed at the clean input (``None``: its
        prediction), not re-chosen for each noisy copy.
    sigma : float >= 0
        Standard deviation of the Gaussian noise (in the units of ``x``; 0 gives
        :func:`saliency`).
    n_samples : int >= 1
        Noisy copies per input.
    seed : int, torch.Generator or None
        Randomness of the noise (torch's global generator is never touched for an int).

    Returns
    -------
    Tensor shaped like ``x``; with ``absolute`` the mean of the absolute gradients.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    >>> x = torch.randn(2, 5)
    >>> smoothgrad(net, x, 0, sigma=0.1, n_samples=10, seed=0).shape
    torch.Size([2, 5])
    """
    import torch

    model = check_model(model)
    x = image_batch(x)
    sigma = check_scalar(sigma, "sigma", float, low=0)
    n_samples = check_scalar(n_samples, "n_samples", int, low=1)
    absolute = check_scalar(absolute, "absolute", bool)
    gen = check_torch_seed(seed, device=x.device)
    dev, dtype = model_device(model, x)
    if target is None:
        with frozen_model(model), torch.no_grad():
            target = logits(model, x.to(dev, dtype)).argmax(dim=1)
    total = torch.zeros_like(x)
    for _ in range(n_samples):
        noise = torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
        total += _gradient(model, x + sigma * noise, target, absolute)
    return total / n_samples
