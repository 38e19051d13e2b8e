"""The Gaussian mean width of a set, estimated by Monte Carlo.

Taught in the chapter *What random networks already do* (``book/random-networks.ipynb``);
Plan and Vershynin (2013), Giryes, Sapiro and Bronstein (2016).

.. math:: \\omega(K) = \\mathbb{E}_{g \\sim \\mathcal{N}(0, I_n)}
          \\sup_{u, v \\in K} \\langle u - v, g\\rangle
          = \\mathbb{E}\\big[\\langle u^*(g) - u^*(-g), g\\rangle\\big],
          \\qquad u^*(g) = \\arg\\max_{u \\in K} \\langle u, g\\rangle .

:math:`\\omega(K)^2` is the "effective dimension" of :math:`K`: it is about :math:`4n` for
the unit ball of :math:`\\mathbb{R}^n`, of order :math:`k \\log(n/k)` for the :math:`k`-sparse
unit vectors and of order :math:`k` (plus :math:`\\log L`) for a mixture of :math:`L`
Gaussians living in :math:`k`-dimensional subspaces. :func:`mean_width` averages
:math:`\\langle u^*(g) - u^*(-g), g\\rangle` over ``n_dirs`` random directions; the maximiser
:math:`u^*` is given either by a finite sample of :math:`K` (an array of points) or by a
function (for the :math:`k`-sparse unit vectors, :func:`sparse_maximizers` keeps the
:math:`k` largest :math:`|g_i|`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import (
    InvalidParameterError,
    as_float_array,
    check_callable,
    check_scalar,
    check_seed,
    invalid,
)

__all__ = ["mean_width", "sparse_maximizers", "gaussian_mixture"]


def sparse_maximizers(G: Any, k: int) -> np.ndarray:
    """For each row :math:`g` of ``G``, the :math:`k`-sparse unit vector maximising
    :math:`\\langle u, g\\rangle`: :math:`g` restricted to its :math:`k` largest :math:`|g_i|`,
    normalised, so that :math:`\\langle u^*, g\\rangle = \\|g_{\\text{top-}k}\\|_2`.

    Parameters
    ----------
    G : array_like of shape (n_dirs, n)
    k : int in [1, n]

    Returns
    -------
    ndarray of shape (n_dirs, n)

    Examples
    --------
    >>> sparse_maximizers([[3.0, -4.0, 1.0]], k=2)
    array([[ 0.6, -0.8,  0. ]])
    """
    G = as_float_array(G, "G", ndim=2)
    k = check_scalar(k, "k", int, low=1)
    if k > G.shape[1]:
        raise invalid("k", f"at most n = {G.shape[1]} (the columns of G)", got=f"{k}")
    top = np.argpartition(-np.abs(G), k - 1, axis=1)[:, :k]
    U = np.zeros_like(G)
    np.put_along_axis(U, top, np.take_along_axis(G, top, axis=1), axis=1)
    norms = np.linalg.norm(U, axis=1, keepdims=True)
    return U / np.where(norms > 0, norms, 1.0)


def gaussian_mixture(
    n: int, k: int, n_components: int = 4, n_points: int = 2000, scale: float = 1.0, seed: Any = 0
) -> np.ndarray:
    """Points of a mixture of ``n_components`` Gaussians, each in a random k-dim subspace.

    Point :math:`x = U_c z` with a random component :math:`c`, an orthonormal basis
    :math:`U_c \\in \\mathbb{R}^{n \\times k}` of a random subspace and
    :math:`z \\sim \\mathcal{N}(0, \\text{scale}^2 I_k / n)`.

    Parameters
    ----------
    n : int >= 1
        Ambient dimension.
    k : int in [1, n]
        Dimension of each component's subspace.
    n_components : int >= 1
    n_points : int >= 1
    scale : float > 0
    seed : int, numpy.random.Generator or None

    Returns
    -------
    ndarray of shape (n_points, n)

    Examples
    --------
    >>> gaussian_mixture(50, 3, n_points=10, seed=0).shape
    (10, 50)
    """
    n = check_scalar(n, "n", int, low=1)
    k = check_scalar(k, "k", int, low=1)
    if k > n:
        raise invalid("k", f"at most n = {n}", got=f"{k}")
    n_components = check_scalar(n_components, "n_components", int, low=1)
    n_points = check_scalar(n_points, "n_points", int, low=1)
    scale = check_scalar(scale, "scale", float, low=0, closed="neither")
    rng = check_seed(seed)
    bases = np.stack(
        [np.linalg.qr(rng.standard_normal((n, k)))[0] for _ in range(n_components)]
    )  # (L, n, k)
    comp = rng.integers(0, n_components, size=n_points)
    z = rng.standard_normal((n_points, k)) * scale / np.sqrt(n)
    return np.einsum("pnk,pk->pn", bases[comp], z)


def mean_width(
    samples_fn: Any, n_dirs: int = 1000, seed: Any = 0, *, n_features: int | None = None
) -> float:
    """Monte Carlo estimate of the Gaussian mean width :math:`\\omega(K)`.

    .. math:: \\hat\\omega(K) = \\frac{1}{N}\\sum_{j=1}^{N}
              \\langle u^*(g_j) - u^*(-g_j), g_j\\rangle, \\qquad g_j \\sim \\mathcal{N}(0, I_n),

    with :math:`u^*(g) = \\arg\\max_{u\\in K}\\langle u, g\\rangle`.

    Parameters
    ----------
    samples_fn : callable or array_like of shape (n_points, n)
        The set :math:`K`. A callable takes a batch of directions ``G`` of shape
        ``(n_dirs, n)`` and returns the points of :math:`K` that maximise
        :math:`\\langle u, g\\rangle`, one per row (shape ``(n_dirs, n)``), e.g.
        ``lambda G: sparse_maximizers(G, k)``; it then needs ``n_features``. An array is a
        finite sample of :math:`K` (its rows); the sup is then a max over the sample.
    n_dirs : int >= 1
        Number :math:`N` of random directions.
    seed : int, numpy.random.Generator or None
    n_features : int, optional
        The dimension :math:`n`, needed when ``samples_fn`` is a callable.

    Returns
    -------
    float

    Examples
    --------
    >>> n = 400
    >>> w = mean_width(lambda G: sparse_maximizers(G, n), n_dirs=200, n_features=n)
    >>> bool(abs(w / (2 * np.sqrt(n)) - 1) < 0.01)   # unit ball: 2 E||g|| ~ 2 sqrt(n)
    True
    """
    n_dirs = check_scalar(n_dirs, "n_dirs", int, low=1)
    rng = check_seed(seed)
    if callable(samples_fn):
        check_callable(samples_fn, "samples_fn")
        if n_features is None:
            raise InvalidParameterError(
                "mean_width needs n_features (the dimension n) when samples_fn is a callable."
            )
        n = check_scalar(n_features, "n_features", int, low=1)
        G = rng.standard_normal((n_dirs, n))
        both = as_float_array(samples_fn(np.concatenate([G, -G])), "samples_fn(G)", ndim=2)
        if both.shape != (2 * n_dirs, n):
            raise InvalidParameterError(
                f"samples_fn(G) must return one point per direction, shape {(2 * n_dirs, n)} "
                f"for G of shape {(2 * n_dirs, n)}; got shape {both.shape}."
            )
        return float(np.mean(np.sum((both[:n_dirs] - both[n_dirs:]) * G, axis=1)))
    X = as_float_array(samples_fn, "samples_fn", ndim=2)
    if n_features is not None and n_features != X.shape[1]:
        raise InvalidParameterError(
            f"n_features = {n_features} does not match the points of samples_fn "
            f"({X.shape[1]} columns)."
        )
    G = rng.standard_normal((n_dirs, X.shape[1]))
    P = G @ X.T  # (n_dirs, n_points)
    return float(np.mean(P.max(axis=1) - P.min(axis=1)))
