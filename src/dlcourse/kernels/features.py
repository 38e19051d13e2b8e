r"""Kernels and the circle lift: features that make a linear classifier enough.

Taught in *From kernels to neural networks* (``book/kernels-to-networks.ipynb``). The lift

.. math::

    \phi(x_1, x_2) = (x_1,\ x_2,\ x_1^2 + x_2^2)

sends two concentric circles to two heights of a paraboloid, where the plane
:math:`x_3 = c` separates them. A kernel is a dot product of such features computed without
them: :math:`K(x, x') = \langle \phi(x), \phi(x') \rangle`, here

.. math::

    K_\text{linear} = x^\top x', \quad
    K_\text{poly} = (\gamma\, x^\top x' + c_0)^d, \quad
    K_\text{rbf} = \exp(-\gamma \|x - x'\|^2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import (
    InvalidParameterError,
    as_float_array,
    as_tensor,
    check_option,
    check_scalar,
)
from ..utils import is_torch

__all__ = ["KERNELS", "lift_circle", "kernel_matrix"]

KERNELS = ("linear", "poly", "rbf")


def lift_circle(x: Any):
    r"""The lift :math:`(x_1, x_2) \mapsto (x_1, x_2, x_1^2 + x_2^2)`.

    Parameters
    ----------
    x : ndarray or torch.Tensor of shape (n, 2)

    Returns
    -------
    ndarray or torch.Tensor of shape (n, 3)
        The same kind, dtype and device as ``x`` (integers become floats).

    Examples
    --------
    >>> lift_circle(np.array([[3.0, 4.0], [0.0, 1.0]]))
    array([[ 3.,  4., 25.],
           [ 0.,  1.,  1.]])
    """
    if is_torch(x):
        import torch

        x = as_tensor(x, "x", ndim=2, allow_nan=False)
        if not x.is_floating_point():
            x = x.to(torch.get_default_dtype())
        if x.shape[1] != 2:
            raise InvalidParameterError(
                f"The 'x' argument of lift_circle must have shape (n, 2), points of the plane. "
                f"Got shape {tuple(x.shape)}."
            )
        return torch.cat([x, (x * x).sum(dim=1, keepdim=True)], dim=1)
    a = as_float_array(x, "x", ndim=2, dtype=None)
    if a.shape[1] != 2:
        raise InvalidParameterError(
            f"The 'x' argument of lift_circle must have shape (n, 2), points of the plane. "
            f"Got shape {a.shape}."
        )
    return np.concatenate([a, (a * a).sum(axis=1, keepdims=True)], axis=1)


def kernel_matrix(
    X: Any,
    Y: Any = None,
    kernel: str = "rbf",
    *,
    gamma: float | None = None,
    degree: int = 3,
    coef0: float = 1.0,
) -> np.ndarray:
    r"""The Gram matrix :math:`K_{ij} = K(X_i, Y_j)` of a linear, polynomial or RBF kernel.

    Parameters
    ----------
    X : array_like of shape (n, d)
    Y : array_like of shape (m, d), optional
        ``X`` when omitted.
    kernel : {"linear", "poly", "rbf"}
        :math:`x^\top y`, :math:`(\gamma x^\top y + c_0)^d` or
        :math:`\exp(-\gamma\|x - y\|^2)`.
    gamma : float > 0, optional
        ``1 / d`` when omitted (scikit-learn's ``gamma="auto"``).
    degree : int >= 1
        The polynomial's degree.
    coef0 : float
        The polynomial's constant :math:`c_0`.

    Returns
    -------
    ndarray of float64, shape (n, m)

    Examples
    --------
    >>> kernel_matrix([[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]], "rbf", gamma=1.0)
    array([[1.        , 0.13533528]])
    """
    X = as_float_array(X, "X", ndim=2)
    Y = X if Y is None else as_float_array(Y, "Y", ndim=2)
    if X.shape[1] != Y.shape[1]:
        raise InvalidParameterError(
            f"The 'X' and 'Y' arguments must have the same number of features (columns). "
            f"Got {X.shape[1]} and {Y.shape[1]}."
        )
    check_option(kernel, "kernel", KERNELS)
    gamma = (
        1.0 / X.shape[1]
        if gamma is None
        else check_scalar(gamma, "gamma", float, low=0, closed="neither")
    )
    degree = check_scalar(degree, "degree", int, low=1)
    coef0 = check_scalar(coef0, "coef0", float)
    G = X @ Y.T
    if kernel == "linear":
        return G
    if kernel == "poly":
        return (gamma * G + coef0) ** degree
    sq = (X * X).sum(1)[:, None] + (Y * Y).sum(1)[None, :] - 2 * G
    return np.exp(-gamma * np.maximum(sq, 0.0))
