"""Subspaces and the local geometry of an encoder: principal angles, Jacobian spectra.

Taught in the chapter *Autoencoders* (``book/autoencoders.ipynb``).

**Principal angles** between the column spaces of :math:`A` and :math:`B`: with orthonormal
bases :math:`Q_A, Q_B` (QR), the cosines of the angles
:math:`0 \\le \\theta_1 \\le \\dots \\le \\theta_m \\le \\pi/2`, :math:`m = \\min(p, q)`, are the
singular values of :math:`Q_A^\\top Q_B` (Björck and Golub, 1973). Small angles are computed from
their sines, the singular values of :math:`Q_B - Q_A Q_A^\\top Q_B`, which keeps full precision
where :math:`\\arccos` near 1 loses half the digits.

**The Jacobian's spectrum**: the singular values :math:`s_1 \\ge s_2 \\ge \\dots` of
:math:`J_f(x)` say how much the code moves per unit move of the input in each direction (the
right singular vectors). A contractive encoder trained on data near a :math:`k`-dimensional
manifold keeps about :math:`k` large singular values, whose right singular vectors span the
tangent space there; :func:`intrinsic_dimension` counts them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array, check_scalar, invalid
from ..utils import is_torch

__all__ = ["principal_angles", "jacobian_spectrum", "intrinsic_dimension"]


def _orth(M: np.ndarray) -> np.ndarray:
    q, _ = np.linalg.qr(M)
    return q


def principal_angles(A: Any, B: Any) -> Any:
    """The principal angles (radians, ascending) between the column spaces of A and B.

    Parameters
    ----------
    A : ndarray or Tensor of shape (n, p)
    B : ndarray or Tensor of shape (n, q)
        Columns of full rank; the spaces live in :math:`\\mathbb R^n`.

    Returns
    -------
    ndarray of shape (min(p, q),), or a float64 tensor on A's device for tensor input
        In :math:`[0, \\pi/2]`, smallest first (``scipy.linalg.subspace_angles`` gives the same
        values, largest first).

    Examples
    --------
    >>> A = np.eye(3)[:, :2]
    >>> B = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> np.round(np.degrees(principal_angles(A, B)), 6)
    array([ 0., 45.])
    """
    torch_out = is_torch(A)
    dev = A.device if torch_out else None
    Aa = as_float_array(A, "A", ndim=2)
    Bb = as_float_array(B, "B", ndim=2)
    if Aa.shape[0] != Bb.shape[0]:
        raise invalid(
            "B",
            f"a matrix with as many rows as A ({Aa.shape[0]}): both hold vectors of one space",
            got=f"shape {Bb.shape} (A has shape {Aa.shape})",
        )
    if min(Aa.shape) == 0 or min(Bb.shape) == 0:
        raise invalid("A", "non-empty matrices A and B", got=f"shapes {Aa.shape} and {Bb.shape}")
    if Aa.shape[1] < Bb.shape[1]:
        Aa, Bb = Bb, Aa  # so that B has the fewer columns
    for name, M in (("A", Aa), ("B", Bb)):
        if M.shape[1] > M.shape[0]:
            raise invalid(name, "a matrix with no more columns than rows", got=f"shape {M.shape}")
    Qa, Qb = _orth(Aa), _orth(Bb)
    cos = np.clip(np.linalg.svd(Qa.T @ Qb, compute_uv=False), 0.0, 1.0)  # descending
    residual = Qb - Qa @ (Qa.T @ Qb)
    sin = np.clip(np.linalg.svd(residual, compute_uv=False)[::-1], 0.0, 1.0)  # ascending
    angles = np.where(cos**2 >= 0.5, np.arcsin(sin), np.arccos(cos))
    if torch_out:
        import torch

        return torch.as_tensor(angles, device=dev)
    return angles


def jacobian_spectrum(encoder: Any, x: Any, return_vectors: bool = False):
    """Singular values (and right singular vectors) of the encoder's Jacobian at each sample.

    .. math:: J_f(x_n) = U_n \\operatorname{diag}(s_n) V_n^\\top, \\qquad
       s_{n,1} \\ge s_{n,2} \\ge \\dots \\ge 0

    Parameters
    ----------
    encoder : torch.nn.Module or callable
        Maps (n, n_features) to (n, code_dim); its parameters, mode and gradients are left
        as they are.
    x : Tensor of shape (n_samples, n_features)
    return_vectors : bool, default False
        Also return :math:`V_n^\\top`, whose rows are input-space directions, most expanded
        first (the estimated tangent directions of the data manifold).

    Returns
    -------
    s : Tensor of shape (n_samples, min(code_dim, n_features))
    Vh : Tensor of shape (n_samples, min(code_dim, n_features), n_features), if asked

    Examples
    --------
    >>> import torch
    >>> lin = torch.nn.Linear(3, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[3.0, 0, 0], [0, 0, 2.0]]))
    >>> jacobian_spectrum(lin, torch.zeros(1, 3))
    tensor([[3., 2.]])
    """
    import torch

    from .penalties import _check_encoder_input, encoder_jacobian

    x = _check_encoder_input(encoder, x, "jacobian_spectrum")
    return_vectors = check_scalar(return_vectors, "return_vectors", bool)
    with torch.no_grad():
        J = encoder_jacobian(encoder, x).detach()
    if return_vectors:
        _, s, Vh = torch.linalg.svd(J, full_matrices=False)
        return s, Vh
    return torch.linalg.svdvals(J)


def intrinsic_dimension(singular_values: Any, threshold: float = 0.1) -> Any:
    """The number of singular values larger than ``threshold`` times the largest.

    .. math:: \\hat k = \\#\\{ i : s_i > \\tau\\, s_1 \\}

    Parameters
    ----------
    singular_values : ndarray or Tensor of shape (k,) or (n_samples, k)
        Non-negative; one spectrum, or one per row (as from :func:`jacobian_spectrum`).
    threshold : float in (0, 1), default 0.1
        :math:`\\tau`, relative to the largest singular value of each spectrum.

    Returns
    -------
    int for one spectrum; ndarray of int of shape (n_samples,) for several

    Examples
    --------
    >>> intrinsic_dimension(np.array([5.0, 4.0, 0.1, 0.01]))
    2
    >>> intrinsic_dimension(np.array([[1.0, 0.5], [1.0, 0.01]]), threshold=0.2)
    array([2, 1])
    """
    threshold = check_scalar(threshold, "threshold", float, low=0, high=1, closed="neither")
    s = as_float_array(singular_values, "singular_values", ndim=(1, 2))
    if s.shape[-1] == 0:
        raise invalid("singular_values", "a non-empty spectrum", got=f"shape {s.shape}")
    if np.any(s < 0):
        raise invalid("singular_values", "non-negative values", got="negative entries")
    top = s.max(axis=-1, keepdims=True)
    counts = np.sum(s > threshold * top, axis=-1)
    return int(counts) if s.ndim == 1 else counts.astype(np.int64)
