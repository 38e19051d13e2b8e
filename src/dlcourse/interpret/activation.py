"""Activation maximization: the input that a unit (or a class score) responds to most.

Taught in the chapter *Interpretability* (``book/interpretability``). For a unit :math:`f_i`
of a network (a class logit, or the mean activation of one channel of a hidden layer),
gradient ascent on the *input* solves :math:`\\max_x f_i(x) - \\lambda R(x)`:

.. math:: x_{t+1} = \\Pi\\big(x_t + \\eta\\, \\nabla_x [f_i(\\tau_t(x_t)) - \\lambda R(x_t)]\\big),

starting from a small random image :math:`x_0`. Without a regulariser the ascent finds
high-frequency patterns that excite the unit but look like noise (the same weakness that
adversarial examples exploit). Three priors make the result readable:

* ``"l2"``: :math:`R(x) = \\tfrac12\\|x - \\bar x\\|_2^2` (decay toward the mid-grey
  :math:`\\bar x`), with weight ``lam``;
* ``"blur"``: every ``blur_every`` steps the image is smoothed by a Gaussian of width
  ``sigma`` pixels (an implicit penalty on high frequencies);
* ``"jitter"``: the unit is evaluated on a random circular shift :math:`\\tau_t` of the image
  by up to ``jitter`` pixels, so only patterns that work wherever they sit survive.

:math:`\\Pi` clips to the valid range ``clamp``. The function optimises one image per unit in
a batch (units of one layer at once).
"""

from __future__ import annotations

import math

from .._validation import InvalidParameterError, check_ndim, check_scalar, check_torch_seed, invalid
from ..attacks.base import check_clamp
from ._common import check_model, frozen_model, logits, model_device

__all__ = ["activation_maximization", "gaussian_blur"]

_REGS = ("l2", "blur", "jitter")


def gaussian_blur(x, sigma: float):
    """Blur a batch of images (N, C, H, W) with a Gaussian of standard deviation ``sigma`` px.

    Separable convolution with a kernel of radius ``ceil(3 sigma)``, reflect padding.

    Examples
    --------
    >>> import torch
    >>> x = torch.zeros(1, 1, 9, 9); x[0, 0, 4, 4] = 1.0
    >>> y = gaussian_blur(x, 1.0)
    >>> round(float(y.sum()), 4), bool(y[0, 0, 4, 4] < 1)
    (1.0, True)
    """
    import torch
    import torch.nn.functional as F

    sigma = check_scalar(sigma, "sigma", float, low=0)
    check_ndim(x, "x", 4, what="a tensor of shape (N, C, H, W)")
    if sigma == 0:
        return x.clone()
    r = max(1, math.ceil(3 * sigma))
    r = min(r, x.shape[-1] - 1, x.shape[-2] - 1)
    t = torch.arange(-r, r + 1, device=x.device, dtype=x.dtype)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    out = F.pad(x, (r, r, r, r), mode="reflect")
    out = F.conv2d(out, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(out, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _check_reg(reg):
    if reg is None or reg == "none":
        return frozenset()
    regs = (reg,) if isinstance(reg, str) else tuple(reg)
    for r in regs:
        if r not in _REGS:
            raise invalid("reg", f"None, one of {_REGS} or a tuple of them", reg)
    return frozenset(regs)


def _unit_indices(unit):
    if isinstance(unit, bool):
        raise invalid("unit", "an int >= 0 or a sequence of them", unit)
    if isinstance(unit, int):
        units = [unit]
    else:
        try:
            units = [int(u) for u in unit]
        except (TypeError, ValueError):
            raise invalid("unit", "an int >= 0 or a sequence of them", unit) from None
    if not units or any(u < 0 for u in units):
        raise invalid("unit", "an int >= 0 or a non-empty sequence of them", unit)
    return units


def activation_maximization(
    model,
    unit,
    n_iter: int = 200,
    lr: float = 0.1,
    reg="l2",
    seed=0,
    *,
    shape=(1, 28, 28),
    layer=None,
    lam: float = 0.05,
    sigma: float = 0.5,
    blur_every: int = 4,
    jitter: int = 1,
    x0=None,
    clamp=(0.0, 1.0),
    return_history: bool = False,
):
    """Gradient ascent on the input to maximise one unit per image.

    .. math::
       x_{t+1} = \\Pi\\big(x_t + \\eta\\, \\nabla_x [f_i(\\tau_t(x_t)) - \\lambda R(x_t)]\\big)

    Parameters
    ----------
    model : torch.nn.Module or callable
        Maps a batch (N, \\*shape) to logits (N, K). Left as it was (mode, parameters, grads).
    unit : int or sequence of ints
        The unit(s) to maximise, one image each: a class index (``layer=None``) or a channel
        of ``layer``'s output (its mean over positions is maximised; a 2-D output: the column).
    n_iter : int >= 0
        Ascent steps.
    lr : float > 0
        Step size :math:`\\eta` (on the raw gradient).
    reg : None, "l2", "blur", "jitter" or a tuple of them
        The regularisers (see the module docstring).
    seed : int, torch.Generator or None
        Randomness of the starting image and of the jitter.
    shape : tuple of int
        Shape of one input image (ignored when ``x0`` is given).
    layer : torch.nn.Module, optional
        A sub-module of ``model`` whose output holds the unit (a forward hook reads it).
    lam, sigma, blur_every, jitter
        Strengths of the "l2", "blur" (width, period) and "jitter" (pixels) regularisers.
    x0 : Tensor of shape (n_units, \\*shape), optional
        Starting images (not changed); default mid-grey plus noise of std 0.01.
    clamp : (float, float) or None
        Valid input range, enforced after every step.
    return_history : bool
        Also return the unit's value (without regulariser) at every step, shape
        (n_iter + 1, n_units).

    Returns
    -------
    x : Tensor of shape (n_units, \\*shape), detached, on the model's device
    history : Tensor (n_iter + 1, n_units), only if ``return_history``

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    >>> x, hist = activation_maximization(net, [0, 2], n_iter=20, shape=(1, 4, 4),
    ...                                   return_history=True)
    >>> x.shape, bool((hist[-1] > hist[0]).all())
    (torch.Size([2, 1, 4, 4]), True)
    """
    import torch

    model = check_model(model)
    units = _unit_indices(unit)
    n_iter = check_scalar(n_iter, "n_iter", int, low=0)
    lr = check_scalar(lr, "lr", float, low=0, closed="neither")
    regs = _check_reg(reg)
    lam = check_scalar(lam, "lam", float, low=0)
    sigma = check_scalar(sigma, "sigma", float, low=0)
    blur_every = check_scalar(blur_every, "blur_every", int, low=1)
    jitter = check_scalar(jitter, "jitter", int, low=0)
    clamp = check_clamp(clamp)
    return_history = check_scalar(return_history, "return_history", bool)
    if layer is not None and (
        not isinstance(layer, torch.nn.Module)
        or not isinstance(model, torch.nn.Module)
        or not any(m is layer for m in model.modules())
    ):
        raise InvalidParameterError(
            "The 'layer' argument must be a sub-module of 'model' (for example model.features[0])."
        )
    probe = torch.zeros(1)
    dev, dtype = model_device(model, probe)
    gen = check_torch_seed(seed)
    n = len(units)
    if x0 is None:
        shape = tuple(check_scalar(s, "shape", int, low=1) for s in shape)
        mid = 0.5 * (clamp[0] + clamp[1]) if clamp is not None else 0.0
        x = mid + 0.01 * torch.randn((n, *shape), generator=gen, dtype=torch.float64)
        x = x.to(dev, dtype)
    else:
        if not isinstance(x0, torch.Tensor) or not x0.is_floating_point() or x0.shape[0] != n:
            raise invalid(
                "x0", f"a floating-point tensor of shape ({n}, ...), one image per unit", x0
            )
        x = x0.detach().clone().to(dev, dtype)
    mid = x.new_tensor(0.5 * (clamp[0] + clamp[1]) if clamp is not None else 0.0)
    idx = torch.as_tensor(units, device=dev)
    rows = torch.arange(n, device=dev)
    captured = {}

    def hook(_module, _inputs, output):
        captured["out"] = output

    def unit_values(xb):
        if layer is None:
            z = logits(model, xb)
        else:
            captured.clear()
            model(xb)
            z = captured["out"]
            if z.ndim > 2:
                z = z.flatten(2).mean(dim=2)
        if int(idx.max()) >= z.shape[1]:
            raise invalid("unit", f"indices below the number of units ({z.shape[1]})", unit)
        return z[rows, idx]

    history = []
    handle = layer.register_forward_hook(hook) if layer is not None else None
    try:
        with frozen_model(model):
            for t in range(n_iter + 1):
                shifted = "jitter" in regs and jitter > 0
                if return_history and (shifted or t == n_iter):
                    with torch.no_grad():
                        history.append(unit_values(x).detach())
                if t == n_iter:
                    break
                x.requires_grad_(True)
                xin = x
                if shifted:
                    dh, dw = (
                        int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=gen)
                    )
                    xin = torch.roll(x, shifts=(dh, dw), dims=(-2, -1))
                values = unit_values(xin)
                if return_history and not shifted:
                    history.append(values.detach())
                objective = values.sum()
                if "l2" in regs and lam > 0:
                    objective = objective - 0.5 * lam * ((x - mid) ** 2).sum()
                (g,) = torch.autograd.grad(objective, x)
                with torch.no_grad():
                    x = x.detach() + lr * g
                    if "blur" in regs and sigma > 0 and (t + 1) % blur_every == 0:
                        x = gaussian_blur(x.reshape(-1, 1, *x.shape[-2:]), sigma).reshape(x.shape)
                    if clamp is not None:
                        x = x.clamp(*clamp)
    finally:
        if handle is not None:
            handle.remove()
    x = x.detach()
    if return_history:
        return x, torch.stack(history)
    return x
