"""The sign embedding :math:`h(u) = \\mathrm{sign}(Au)` as a :math:`\\delta`-isometry.

Taught in the chapter *What random networks already do* (``book/random-networks.ipynb``);
Plan and Vershynin (2013, 2014), Giryes, Sapiro and Bronstein (2016).

A random hyperplane :math:`a \\sim \\mathcal{N}(0, I)` separates two points of the sphere at
angle :math:`\\theta` with probability :math:`\\theta/\\pi`. So the normalised Hamming
distance of the codes :math:`h(u) = \\mathrm{sign}(Au) \\in \\{\\pm 1\\}^m` estimates the
geodesic distance :math:`d_S(u, v) = \\angle(u, v)/\\pi`, and the embedding is a
:math:`\\delta`-isometry of :math:`K \\subset S^{n-1}` into the Hamming cube when

.. math:: \\Big|\\tfrac1m d_H(h(u), h(v)) - d_S(u, v)\\Big| \\le \\delta
          \\qquad \\text{for all } u, v \\in K .

Plan and Vershynin show :math:`\\delta \\lesssim c\\, m^{-1/6}\\,\\omega(K)^{1/3}`.
:func:`embedding_delta` measures the smallest such :math:`\\delta` on a finite set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, as_float_array, check_scalar
from .hashing import hamming_distances, sign_hash

__all__ = ["angular_distances", "embedding_delta"]


def angular_distances(x: Any) -> np.ndarray:
    """Normalised geodesic distances :math:`d_S(u, v) = \\angle(u, v)/\\pi \\in [0, 1]` between
    all rows of ``x`` (rows are directions; their norms do not matter).

    Examples
    --------
    >>> angular_distances([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.0]]).round(3)
    array([[0. , 0.5, 1. ],
           [0.5, 0. , 0.5],
           [1. , 0.5, 0. ]])
    """
    X = as_float_array(x, "x", ndim=2)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise InvalidParameterError("angular_distances needs non-zero rows (a row of x is 0).")
    U = X / norms
    return np.arccos(np.clip(U @ U.T, -1.0, 1.0)) / np.pi


def embedding_delta(x: Any, m: int, seed: Any = 0) -> float:
    """The distortion :math:`\\delta` of the sign embedding with ``m`` random hyperplanes on the
    points ``x``:

    .. math:: \\delta = \\max_{i, j}\\Big|\\tfrac1m d_H(h(x_i), h(x_j))
              - \\angle(x_i, x_j)/\\pi\\Big| .

    Parameters
    ----------
    x : array_like of shape (n_points, n)
        Non-zero points (their directions are embedded).
    m : int >= 1
        Number of bits (rows of :math:`A`).
    seed : int, numpy.random.Generator or None
        The hyperplanes, drawn as in :func:`~dlcourse.random_nets.sign_hash`.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal((30, 10))
    >>> embedding_delta(x, 4000, seed=0) < embedding_delta(x, 40, seed=0)
    True
    """
    X = as_float_array(x, "x", ndim=2)
    m = check_scalar(m, "m", int, low=1)
    d_s = angular_distances(X)
    codes = sign_hash(X, m, seed=seed)
    d_h = hamming_distances(codes, codes) / m
    return float(np.max(np.abs(d_h - d_s)))
