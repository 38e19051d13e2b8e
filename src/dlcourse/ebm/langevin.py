"""Moving points on an energy surface: gradient-descent inference and Langevin sampling.

Taught in :ref:`energy-based-models` (``book/energy-based-models.ipynb``).

Inference in an EBM with a continuous output is :math:`\\check y = \\arg\\min_y F(x, y)`; when
:math:`F` is smooth we follow its gradient (:func:`energy_descent`),

.. math:: y_{t+1} = y_t - \\eta\\, \\nabla_y F(y_t).

Adding Gaussian noise turns the descent into the (unadjusted) **Langevin** sampler
(:func:`langevin_sample`),

.. math:: y_{t+1} = y_t - \\eta\\, \\nabla_y E(y_t) + \\sigma\\, \\varepsilon_t,
   \\qquad \\varepsilon_t \\sim \\mathcal N(0, I).

With :math:`\\sigma = \\sqrt{2\\eta}` and a small step, its iterates are (approximately) samples
of the Gibbs distribution :math:`p(y) \\propto e^{-E(y)}`; other :math:`\\sigma` sample
:math:`e^{-\\beta E}` with :math:`\\beta = 2\\eta / \\sigma^2`, and :math:`\\sigma = 0` is gradient
descent. Contrastive divergence (:mod:`dlcourse.ebm.contrastive_divergence`) uses a few such
steps, started at the data, to find the points whose energy it pushes up.

``energy_fn`` is any differentiable torch function mapping a batch ``(n, ...)`` to energies of
shape ``(n,)`` (or to a scalar); the gradient of the *sum* of the energies is used, so each row
moves on its own energy. The model's parameters receive no gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .._validation import InvalidParameterError, check_scalar, check_torch_seed, renamed_kwargs
from ..utils import is_torch

__all__ = ["langevin_sample", "energy_descent"]


def _check_common(x0, n_iter, step_size, noise):
    if not is_torch(x0) or not x0.is_floating_point():
        raise InvalidParameterError(
            f"The 'x0' argument must be a floating-point torch.Tensor (a batch of starting "
            f"points). Got {type(x0).__name__}"
            + (f" of dtype {x0.dtype}" if is_torch(x0) else "")
            + "."
        )
    n_iter = check_scalar(n_iter, "n_iter", int, low=0)
    step_size = check_scalar(step_size, "step_size", float, low=0, closed="neither")
    if noise is None:
        noise = math.sqrt(2.0 * step_size)
    noise = check_scalar(noise, "noise", float, low=0)
    return n_iter, step_size, noise


def _energy_grad(energy_fn: Callable, x):
    import torch

    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        energy = energy_fn(x)
        if not is_torch(energy):
            raise InvalidParameterError(
                f"energy_fn must return a torch.Tensor of energies. Got {type(energy).__name__}."
            )
        if energy.ndim > 1 or (energy.ndim == 1 and energy.shape[0] != x.shape[0]):
            raise InvalidParameterError(
                f"energy_fn must return one energy per row, shape ({x.shape[0]},), or a scalar. "
                f"Got shape {tuple(energy.shape)}."
            )
        (grad,) = torch.autograd.grad(energy.sum(), x)
    return grad


@renamed_kwargs(steps="n_iter", generator="seed")
def langevin_sample(
    energy_fn: Callable,
    x0,
    n_iter: int,
    step_size: float,
    noise: float | None = None,
    *,
    clamp: tuple[float, float] | None = None,
    seed=None,
    return_path: bool = False,
):
    """Langevin sampling: ``n_iter`` noisy gradient steps on the energy (see the module docstring).

    Parameters
    ----------
    energy_fn : callable
        Differentiable torch function, batch ``(n, ...)`` -> energies ``(n,)`` or a scalar.
    x0 : torch.Tensor of shape (n, ...)
        Starting points (not modified).
    n_iter : int >= 0
        Number of updates (``steps=`` is its deprecated old name).
    step_size : float > 0
        :math:`\\eta`.
    noise : float >= 0, optional
        :math:`\\sigma`. Default :math:`\\sqrt{2\\eta}`, which targets :math:`p \\propto e^{-E}`;
        0 gives plain gradient descent.
    clamp : (low, high), optional
        Clip the points to this box after each step (e.g. pixel values in [0, 1]).
    seed : int, torch.Generator, numpy.random.Generator or None
        Randomness of the noise: an int seeds a new generator on ``x0``'s device, a
        ``torch.Generator`` (on that device) is used as is, ``None`` draws from torch's global
        generator (never seeds it). ``generator=`` is its deprecated old name.
    return_path : bool
        Also return every iterate.

    Returns
    -------
    torch.Tensor of the shape of ``x0`` (detached), or ``(x, path)`` with ``path`` of shape
    ``(n_iter + 1, n, ...)`` when ``return_path`` is true.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> x = langevin_sample(lambda x: 0.5 * (x**2).sum(1), torch.zeros(20000, 1), 200, 0.05)
    >>> round(float(x.var()), 1)   # N(0, 1) up to the O(step) bias 1 / (1 - step/2)
    1.0
    """
    import torch

    n_iter, step_size, noise = _check_common(x0, n_iter, step_size, noise)
    generator = check_torch_seed(seed, x0.device)
    x = x0.detach().clone()
    path: list[torch.Tensor] = [x.clone()] if return_path else []
    for _ in range(n_iter):
        x = x - step_size * _energy_grad(energy_fn, x)
        if noise > 0:
            eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            x = x + noise * eps
        if clamp is not None:
            x = x.clamp(*clamp)
        if return_path:
            path.append(x.clone())
    x = x.detach()
    return (x, torch.stack(path)) if return_path else x


@renamed_kwargs(y0="x0", steps="n_iter")
def energy_descent(
    energy_fn: Callable,
    x0,
    n_iter: int,
    step_size: float,
    *,
    return_path: bool = False,
):
    """Inference by gradient descent on the energy: :math:`y \\leftarrow y - \\eta\\nabla_y F(y)`.

    This is :func:`langevin_sample` with ``noise=0``: it finds a (local) minimiser
    :math:`\\check y = \\arg\\min_y F(x, y)` for each row, ``x`` being fixed inside ``energy_fn``.
    ``x0`` holds the starting values of :math:`y` (the same role as in
    :func:`langevin_sample`); ``y0`` and ``steps`` are the deprecated old names of ``x0`` and
    ``n_iter``.

    Examples
    --------
    >>> import torch
    >>> y = energy_descent(lambda y: ((y - 3.0) ** 2).sum(1), torch.zeros(1, 2), 100, 0.1)
    >>> y.round(decimals=4).tolist()
    [[3.0, 3.0]]
    """
    return langevin_sample(energy_fn, x0, n_iter, step_size, noise=0.0, return_path=return_path)
