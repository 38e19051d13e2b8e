"""Free energy of a latent-variable energy-based model: a soft minimum over the latent.

Taught in :ref:`energy-based-models` (``book/energy-based-models.ipynb``).

A latent-variable EBM scores a pair (observed ``y``, latent ``z``) with an energy
:math:`E(y, z)` and needs a single number per ``y``. Two ways to eliminate ``z``:

.. math::
   F_\\infty(y) = \\min_z E(y, z), \\qquad
   F_\\beta(y) = -\\frac{1}{\\beta} \\log \\sum_z e^{-\\beta E(y, z)} .

:math:`\\beta > 0` is an inverse temperature. With :math:`m = \\min_z E` and :math:`K` the
number of latent values (and :math:`K_0` the number at which the minimum is attained),

.. math::
   m - \\frac{\\log K}{\\beta} \\;\\le\\; F_\\beta
   \\;\\le\\; m - \\frac{\\log K_0}{\\beta} \\;\\le\\; m,

so :math:`F_\\beta \\to \\min_z E` as :math:`\\beta \\to \\infty`, and as :math:`\\beta \\to 0` it
becomes the mean energy minus an entropy term :math:`\\log K / \\beta`. Both functions work on
NumPy arrays and on torch tensors (differentiably: :math:`\\partial F_\\beta / \\partial E_z` is
the Gibbs distribution :math:`e^{-\\beta E_z} / \\sum_{z'} e^{-\\beta E_{z'}}`).

The sum is evaluated as :math:`m - \\frac1\\beta \\log \\sum_z e^{-\\beta (E_z - m)}` (the
log-sum-exp trick), where every exponent is :math:`\\le 0` and the largest term is 1: no overflow
for any :math:`\\beta`, including ``math.inf`` (the exact minimum). For a continuous latent
discretised on a grid of cell volume :math:`\\Delta z`, the integral of the lecture is the sum
above plus :math:`-\\log(\\Delta z) / \\beta`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import InvalidParameterError, check_scalar, invalid
from ..utils import is_torch

__all__ = ["free_energy", "min_energy"]


def _check_energies(E: Any, dim: int):
    if is_torch(E):
        if E.ndim == 0:
            raise InvalidParameterError(
                "The 'E' argument must have at least one axis (the latent values)."
            )
        if not E.is_floating_point():
            E = E.double()
        if bool(E.isnan().any()):
            raise InvalidParameterError("The 'E' argument contains NaN energies.")
        n_axes = E.ndim
    else:
        try:
            E = np.asarray(E, dtype=np.float64)
        except (TypeError, ValueError):
            raise invalid("E", "an array of energies", got=f"{type(E).__name__}") from None
        if E.ndim == 0:
            raise InvalidParameterError(
                "The 'E' argument must have at least one axis (the latent values)."
            )
        if np.isnan(E).any():
            raise InvalidParameterError("The 'E' argument contains NaN energies.")
        n_axes = E.ndim
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise invalid("dim", "an integer axis", dim)
    if not -n_axes <= dim < n_axes:
        raise invalid(
            "dim",
            f"an axis of E, in [{-n_axes}, {n_axes})",
            got=f"{dim} for E of shape {tuple(E.shape)}",
        )
    if E.shape[dim] == 0:
        raise InvalidParameterError(
            f"Axis {dim} of E (the latent values) is empty: nothing to minimise."
        )
    return E


def min_energy(E, dim: int = -1, keepdim: bool = False):
    """The zero-temperature free energy :math:`F_\\infty = \\min_z E(z)` along axis ``dim``.

    Parameters
    ----------
    E : ndarray or torch.Tensor, shape (..., K, ...)
        Energies; axis ``dim`` enumerates the K latent values.
    dim : int
        The latent axis.
    keepdim : bool
        Keep the reduced axis with length 1.

    Returns
    -------
    ndarray or torch.Tensor
        Same kind as ``E`` (float64 for NumPy input), the latent axis reduced.

    Examples
    --------
    >>> min_energy([[3.0, 1.0, 2.0], [0.5, 4.0, 0.5]])
    array([1. , 0.5])
    """
    E = _check_energies(E, dim)
    if is_torch(E):
        return E.amin(dim=dim, keepdim=keepdim)
    return E.min(axis=dim, keepdims=keepdim)


def free_energy(E, beta: float, dim: int = -1, keepdim: bool = False):
    """Free energy :math:`F_\\beta = -\\frac1\\beta \\log \\sum_z e^{-\\beta E(z)}` along ``dim``.

    Computed stably as :math:`m - \\frac1\\beta \\log\\sum_z e^{-\\beta(E(z) - m)}` with
    :math:`m = \\min_z E(z)`, so that it never overflows; ``beta=math.inf`` returns
    :func:`min_energy`. Energies of ``+inf`` (forbidden latent values) contribute nothing.

    Parameters
    ----------
    E : ndarray or torch.Tensor, shape (..., K, ...)
        Energies; axis ``dim`` enumerates the K latent values.
    beta : float > 0 or math.inf
        Inverse temperature. Large beta: :math:`F_\\beta \\approx \\min_z E`; small beta: every
        latent value counts.
    dim : int
        The latent axis.
    keepdim : bool
        Keep the reduced axis with length 1.

    Returns
    -------
    ndarray or torch.Tensor
        Same kind as ``E`` (float64 for NumPy input), the latent axis reduced. For a tensor the
        result is differentiable with respect to ``E``.

    Raises
    ------
    ValueError
        If ``beta <= 0`` or is NaN, or ``E`` contains NaN.

    Examples
    --------
    >>> E = [0.0, 1.0, 1.0]
    >>> round(float(free_energy(E, beta=1.0)), 4)      # -log(1 + 2/e)
    -0.5514
    >>> float(free_energy(E, beta=1e300))               # huge beta: the minimum, no overflow
    0.0
    >>> float(free_energy([5.0, 5.0], beta=math.inf))   # the limit itself
    5.0
    """
    b = check_scalar(beta, "beta", float, low=0, closed="neither", allow_inf=True)
    E = _check_energies(E, dim)
    m = min_energy(E, dim=dim, keepdim=True)
    if math.isinf(b):
        return min_energy(E, dim=dim, keepdim=keepdim)
    if is_torch(E):
        import torch

        finite = torch.isfinite(m)
        safe_m = torch.where(finite, m, torch.zeros_like(m))
        # a beta beyond the dtype's range would become inf, and inf * 0 is NaN at the minimum
        b_eff = min(b, torch.finfo(E.dtype).max)
        lse = torch.logsumexp(-b_eff * (E - safe_m), dim=dim, keepdim=True)
        out = torch.where(finite, safe_m - lse / b, m)
        return out if keepdim else out.squeeze(dim)
    finite = np.isfinite(m)
    safe_m = np.where(finite, m, 0.0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # -b * (E - m) <= 0, so every exp() is in [0, 1]; it may only underflow to 0
        shifted = -b * (E - safe_m)
        shifted = np.where(np.isnan(shifted), -np.inf, shifted)  # inf * 0 for inf - inf
        total = np.exp(shifted).sum(axis=dim, keepdims=True)
        out = np.where(finite, safe_m - np.log(total) / b, m)
    return out if keepdim else np.squeeze(out, axis=dim)
