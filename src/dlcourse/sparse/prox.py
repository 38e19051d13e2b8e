"""The Lasso energy and the proximal operators of sparsity penalties.

Taught in the chapter *Sparse coding* (``book/sparse-coding.ipynb``).

Sparse coding of a signal :math:`x \\in \\mathbb{R}^p` in a dictionary
:math:`D \\in \\mathbb{R}^{p \\times K}` (one atom per column) minimises the Lasso energy

.. math:: F(z) = \\tfrac12 \\|x - D z\\|_2^2 + \\lambda \\|z\\|_1 .

The proximal operator of :math:`t\\|\\cdot\\|_1`, :math:`\\operatorname{prox}(v) =
\\arg\\min_z \\tfrac12\\|z - v\\|^2 + t\\|z\\|_1`, separates over coordinates and is
*soft thresholding* :math:`\\rho_t(v) = \\operatorname{sign}(v)\\max(|v| - t, 0)`.
The prox of the group penalty :math:`t\\sum_g \\|z_g\\|_2` shrinks the *norm* of each
group instead: :math:`z_g \\leftarrow z_g \\max(1 - t / \\|z_g\\|_2, 0)`.

Every function takes NumPy arrays or torch tensors and returns the same kind (torch
results stay differentiable).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, check_reduction, invalid
from ..utils import is_torch
from ._arrays import check_lam, prepare, prepare_codes, spectral_norm_sq

__all__ = [
    "soft_threshold",
    "group_soft_threshold",
    "lasso_objective",
    "lipschitz_constant",
]


def _check_threshold(t: Any) -> Any:
    if is_torch(t):
        if bool((t.detach() < 0).any()) or not bool(t.detach().isfinite().all()):
            raise InvalidParameterError("The threshold 't' must be finite and >= 0 everywhere.")
        return t
    arr = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise InvalidParameterError(f"The threshold 't' must be finite and >= 0. Got {t!r}.")
    return t if arr.ndim else float(arr)


def shrink(v: Any, t: Any) -> Any:
    """Soft thresholding without argument checks (the inner loop of the solvers).

    Written as :math:`v - \\operatorname{clip}(v, -t, t)`, which equals
    :math:`\\operatorname{sign}(v)\\max(|v| - t, 0)` for :math:`t \\ge 0` (exact zeros
    included) in two passes over the data instead of four; its torch gradient is 1 on
    the survivors and 0 elsewhere.
    """
    if is_torch(v):
        import torch

        if is_torch(t):
            return v - torch.clamp(v, -t, t)
        return v - torch.clamp(v, -float(t), float(t))
    return v - np.clip(v, -t, t)


def soft_threshold(x: Any, t: Any) -> Any:
    """Soft thresholding, the proximal operator of :math:`t\\|\\cdot\\|_1`.

    .. math:: \\rho_t(x) = \\operatorname{sign}(x)\\,\\max(|x| - t,\\ 0)
       = \\arg\\min_z\\ \\tfrac12 \\|z - x\\|_2^2 + t \\|z\\|_1 .

    Entries with :math:`|x| \\le t` become exactly zero; the others move towards zero by
    :math:`t`.

    Parameters
    ----------
    x : ndarray or Tensor, any shape
    t : float >= 0, or array/tensor >= 0 broadcastable against ``x``
        The threshold (one per atom, for instance, in LISTA).

    Returns
    -------
    ndarray or Tensor, the shape of ``x``
        Same kind as ``x``; a torch result is differentiable in ``x`` and ``t``.

    Examples
    --------
    >>> soft_threshold(np.array([-3.0, -0.5, 0.0, 0.2, 2.0]), 1.0)
    array([-2.,  0.,  0.,  0.,  1.])
    """
    t = _check_threshold(t)
    if not is_torch(x):
        x = np.asarray(x, dtype=np.result_type(np.asarray(x).dtype, np.float32))
    return shrink(x, t)


def group_soft_threshold(x: Any, t: float, groups: Any) -> Any:
    """Block soft thresholding, the prox of the group-Lasso penalty :math:`t\\sum_g\\|x_g\\|_2`.

    .. math:: x_g \\leftarrow x_g\\, \\max\\bigl(1 - t / \\|x_g\\|_2,\\ 0\\bigr)

    A whole group is switched off when its norm is at most ``t``; inside a surviving group
    no entry is zeroed (the penalty counts active *groups*, not active features).

    Parameters
    ----------
    x : ndarray or Tensor of shape (..., n_atoms)
    t : float >= 0
    groups : int array of shape (n_atoms,)
        The group label of each atom (any integers; atoms with the same label pool together).

    Examples
    --------
    >>> group_soft_threshold(np.array([3.0, 4.0, 0.3, 0.4]), 1.0, [0, 0, 1, 1])
    array([2.4, 3.2, 0. , 0. ])
    """
    t = check_lam(t)
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != x.shape[-1] or not np.issubdtype(g.dtype, np.integer):
        raise invalid(
            "groups",
            f"an integer array of shape (n_atoms,) = ({x.shape[-1]},)",
            got=f"{g.dtype} array of shape {g.shape}",
        )
    _, labels = np.unique(g, return_inverse=True)
    n_groups = int(labels.max()) + 1
    onehot = np.eye(n_groups)[labels]  # (n_atoms, n_groups)
    if is_torch(x):
        import torch

        M = torch.as_tensor(onehot, dtype=x.dtype, device=x.device)
        norms = torch.sqrt((x * x) @ M)  # (..., n_groups)
        scale = torch.clamp(1 - t / torch.clamp(norms, min=1e-30), min=0)
        return x * (scale @ M.T) + 0.0  # + 0.0 turns -0.0 into 0.0
    x = np.asarray(x, dtype=np.float64)
    norms = np.sqrt((x * x) @ onehot)
    scale = np.maximum(1 - t / np.maximum(norms, 1e-300), 0)
    return x * (scale @ onehot.T) + 0.0  # + 0.0 turns -0.0 into 0.0


def lasso_objective(D: Any, x: Any, z: Any, lam: float, reduction: str = "mean") -> Any:
    """The Lasso / sparse-coding energy of codes ``z`` for signals ``x``.

    .. math:: F(z) = \\tfrac12 \\|x - D z\\|_2^2 + \\lambda \\|z\\|_1

    per signal; with rows as signals this is ``0.5 * ((x - z @ D.T)**2).sum(1) +
    lam * abs(z).sum(1)``.

    Parameters
    ----------
    D : ndarray or Tensor of shape (n_features, n_atoms)
    x : ndarray or Tensor of shape (n_signals, n_features) or (n_features,)
    z : ndarray or Tensor of shape (n_signals, n_atoms) or (n_atoms,)
    lam : float >= 0
    reduction : {"mean", "sum", "none"}, default "mean"
        Average or add the per-signal energies, or return them all (shape (n_signals,)).
        A single 1-D signal always gives one number.

    Returns
    -------
    float, ndarray or Tensor
        NumPy inputs give a NumPy float (or array for ``"none"``); torch inputs give a
        differentiable tensor.

    Examples
    --------
    >>> D = np.eye(2); x = np.array([1.0, -2.0]); z = np.array([1.0, 0.0])
    >>> float(lasso_objective(D, x, z, lam=0.5))     # 0.5 * 4 + 0.5 * 1
    2.5
    """
    check_reduction(reduction)
    lam = check_lam(lam)
    D, X, one, _ = prepare(D, x)
    Z = prepare_codes("z", z, X, X.shape[0], D.shape[1], one)
    per_signal = energy(D, X, Z, lam)
    if one:
        return per_signal[0]
    if reduction == "none":
        return per_signal
    return per_signal.sum() if reduction == "sum" else per_signal.mean()


def energy(D: Any, X: Any, Z: Any, lam: float) -> Any:
    """Per-signal Lasso energy of validated 2-D arrays (no checks)."""
    R = X - Z @ D.T
    return 0.5 * (R * R).sum(-1) + lam * abs(Z).sum(-1)


def lipschitz_constant(D: Any) -> float:
    """:math:`L = \\|D^\\top D\\|_2 = \\sigma_{\\max}(D)^2`, the Lipschitz constant of the
    gradient :math:`D^\\top(Dz - x)` of the smooth part of the Lasso energy.

    ISTA and FISTA converge for steps :math:`0 < \\gamma \\le 1/L`.

    Examples
    --------
    >>> round(lipschitz_constant(np.diag([3.0, 1.0])), 9)
    9.0
    """
    if is_torch(D):
        shape = tuple(D.shape)
    else:
        D = np.asarray(D, dtype=np.float64)
        shape = D.shape
    if len(shape) != 2:
        raise InvalidParameterError(
            f"The 'D' argument (dictionary) must have shape (n_features, n_atoms). Got {shape}."
        )
    return spectral_norm_sq(D)
