"""Array plumbing shared by the solvers of :mod:`dlcourse.sparse` (not public).

Every solver accepts NumPy arrays or torch tensors and answers in the same kind. The rules:

* if ``x`` (or, failing that, ``D``) is a ``torch.Tensor`` the work is done in torch, on
  ``x``'s device and dtype, and the result is a tensor; NumPy arrays are converted;
* otherwise the work is done in NumPy, in float32 when both ``D`` and ``x`` are float32
  and in float64 otherwise, and the result is an ndarray.

Shapes follow scikit-learn's: signals are rows, ``x`` of shape ``(n_signals, n_features)``
(or one signal ``(n_features,)``), a dictionary ``D`` of shape ``(n_features, n_atoms)``
has one atom per column, codes ``z`` have shape ``(n_signals, n_atoms)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, as_float_array, check_scalar, invalid
from ..utils import is_torch


def check_lam(lam: Any) -> float:
    """``lam`` must be a real number >= 0 (a one-element array or tensor is accepted)."""
    return check_scalar(lam, "lam", float, low=0)


def _as_numpy(name: str, a: Any) -> np.ndarray:
    """A real array (ints become float64, float32 stays float32); NaN is checked later."""
    return as_float_array(a, name, dtype=None, allow_nan=True)


def prepare(D: Any, x: Any, x_name: str = "x"):
    """Validate a dictionary and signals; return ``(D, X, one_signal, torch_mode)``.

    ``X`` is always 2-D ``(n_signals, n_features)``; ``one_signal`` says ``x`` was 1-D, so
    that the caller can squeeze its answer back.
    """
    torch_mode = is_torch(x) or is_torch(D)
    if torch_mode:
        import torch

        ref = x if is_torch(x) else D
        dtype = ref.dtype if ref.is_floating_point() else torch.get_default_dtype()
        if not is_torch(x):
            x = torch.as_tensor(_as_numpy(x_name, x), dtype=dtype, device=ref.device)
        if not is_torch(D):
            D = torch.as_tensor(_as_numpy("D", D), dtype=dtype, device=ref.device)
        if x.is_complex() or D.is_complex():
            raise InvalidParameterError("The 'D' and 'x' arguments must be real, not complex.")
        x = x.to(dtype=dtype)
        D = D.to(dtype=dtype, device=x.device)
    else:
        x = _as_numpy(x_name, x)
        D = _as_numpy("D", D)
        dtype = np.float32 if (x.dtype == np.float32 and D.dtype == np.float32) else np.float64
        x = x.astype(dtype, copy=False)
        D = D.astype(dtype, copy=False)
    if D.ndim != 2:
        raise InvalidParameterError(
            f"The 'D' argument (dictionary) must have shape (n_features, n_atoms). "
            f"Got shape {tuple(D.shape)}."
        )
    if x.ndim not in (1, 2):
        raise invalid(
            x_name,
            "of shape (n_features,) or (n_signals, n_features)",
            got=f"shape {tuple(x.shape)}",
        )
    if x.shape[-1] != D.shape[0]:
        raise InvalidParameterError(
            f"Shape mismatch: '{x_name}' has {x.shape[-1]} features (its last axis) but the "
            f"dictionary 'D' has {D.shape[0]} rows; D must have shape (n_features, n_atoms) "
            f"= ({x.shape[-1]}, n_atoms). Got x {tuple(x.shape)} and D {tuple(D.shape)}."
        )
    if not torch_mode:
        for name, a in ((x_name, x), ("D", D)):
            if not np.all(np.isfinite(a)):
                raise InvalidParameterError(
                    f"The '{name}' argument contains NaN or infinite values."
                )
    one_signal = x.ndim == 1
    return D, (x[None, :] if one_signal else x), one_signal, torch_mode


def prepare_codes(name: str, z: Any, like_x: Any, n_signals: int, n_atoms: int, one_signal: bool):
    """Validate codes ``z`` against ``(n_signals, n_atoms)``; convert to ``like_x``'s kind."""
    if is_torch(like_x):
        import torch

        if not is_torch(z):
            z = torch.as_tensor(_as_numpy(name, z))
        z = z.to(dtype=like_x.dtype, device=like_x.device)
    else:
        z = _as_numpy(name, z).astype(like_x.dtype, copy=False)
    expected = (n_atoms,) if one_signal else (n_signals, n_atoms)
    if tuple(z.shape) != expected:
        raise InvalidParameterError(
            f"The '{name}' argument (codes) must have shape {expected} = "
            f"{'(n_atoms,)' if one_signal else '(n_signals, n_atoms)'}. Got {tuple(z.shape)}."
        )
    return z[None, :] if one_signal else z


def zeros_like_codes(X: Any, n_atoms: int):
    if is_torch(X):
        import torch

        return torch.zeros(X.shape[0], n_atoms, dtype=X.dtype, device=X.device)
    return np.zeros((X.shape[0], n_atoms), dtype=X.dtype)


def spectral_norm_sq(D: Any) -> float:
    """:math:`\\|D\\|_2^2`, the largest eigenvalue of :math:`D^\\top D` (a Python float)."""
    if is_torch(D):
        import torch

        with torch.no_grad():
            return float(torch.linalg.matrix_norm(D.detach().double(), ord=2) ** 2)
    return float(np.linalg.norm(np.asarray(D, dtype=np.float64), ord=2) ** 2)
