"""Points on known low-dimensional manifolds embedded in many dimensions, with tangents.

Taught in the chapter *Autoencoders* (``book/autoencoders.ipynb``), where a contractive
encoder's Jacobian recovers the intrinsic dimension and the tangent spaces of these sets.

A circle :math:`t \\mapsto (\\cos t, \\sin t)` (dimension 1) and a swiss roll
:math:`(t, u) \\mapsto (t\\cos t, u, t\\sin t)/s` (dimension 2) are mapped into
:math:`\\mathbb R^D` by a random matrix :math:`Q` with orthonormal columns, :math:`x = Q y`,
plus optional isotropic noise. The tangent space at :math:`x` is :math:`Q` times the
tangent space of the low-dimensional set, returned as orthonormal rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_scalar, check_seed

__all__ = ["embedded_circle", "embedded_swiss_roll"]


def _embedding(low: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((dim, low)))
    return q  # (dim, low), orthonormal columns


def _finish(y, tangents, dim, noise, rng):
    Q = _embedding(y.shape[1], dim, rng)
    x = y @ Q.T
    if noise > 0:
        x = x + noise * rng.standard_normal(x.shape)
    T = tangents @ Q.T  # (n, k, dim)
    T, _ = np.linalg.qr(np.swapaxes(T, 1, 2))  # orthonormalise each sample's tangent vectors
    return x, np.swapaxes(T, 1, 2)


def embedded_circle(
    n_samples: int = 500, dim: int = 10, noise: float = 0.0, seed: Any = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The unit circle, sampled uniformly, embedded in :math:`\\mathbb R^{dim}`.

    Parameters
    ----------
    n_samples : int >= 1
    dim : int >= 2
    noise : float >= 0
        Standard deviation of isotropic Gaussian noise added to the points.
    seed : int, Generator or None

    Returns
    -------
    x : ndarray of shape (n_samples, dim)
    tangents : ndarray of shape (n_samples, 1, dim)
        A unit tangent vector at each (noise-free) point.

    Examples
    --------
    >>> x, T = embedded_circle(4, dim=5)
    >>> x.shape, T.shape, bool(np.allclose(np.linalg.norm(x, axis=1), 1))
    ((4, 5), (4, 1, 5), True)
    """
    n = check_scalar(n_samples, "n_samples", int, low=1)
    dim = check_scalar(dim, "dim", int, low=2)
    noise = check_scalar(noise, "noise", float, low=0)
    rng = check_seed(seed)
    t = rng.uniform(0, 2 * np.pi, n)
    y = np.stack([np.cos(t), np.sin(t)], 1)
    tangents = np.stack([-np.sin(t), np.cos(t)], 1)[:, None, :]
    return _finish(y, tangents, dim, noise, rng)


def embedded_swiss_roll(
    n_samples: int = 1000, dim: int = 10, noise: float = 0.0, seed: Any = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A swiss roll (a rolled-up rectangle, dimension 2) embedded in :math:`\\mathbb R^{dim}`.

    .. math:: y(t, u) = (t\\cos t,\\ u,\\ t\\sin t) / 10, \\qquad
       t \\sim \\mathcal U(1.5\\pi, 4.5\\pi),\\ u \\sim \\mathcal U(0, 15)

    (the parametrisation of ``sklearn.datasets.make_swiss_roll``, scaled by 1/10).

    Parameters
    ----------
    n_samples : int >= 1
    dim : int >= 3
    noise : float >= 0
    seed : int, Generator or None

    Returns
    -------
    x : ndarray of shape (n_samples, dim)
    tangents : ndarray of shape (n_samples, 2, dim)
        An orthonormal basis of the tangent plane at each (noise-free) point.

    Examples
    --------
    >>> x, T = embedded_swiss_roll(3, dim=6)
    >>> np.allclose(T[0] @ T[0].T, np.eye(2))
    True
    """
    n = check_scalar(n_samples, "n_samples", int, low=1)
    dim = check_scalar(dim, "dim", int, low=3)
    noise = check_scalar(noise, "noise", float, low=0)
    rng = check_seed(seed)
    t = rng.uniform(1.5 * np.pi, 4.5 * np.pi, n)
    u = rng.uniform(0, 15, n)
    y = np.stack([t * np.cos(t), u, t * np.sin(t)], 1) / 10
    dt = np.stack([np.cos(t) - t * np.sin(t), np.zeros(n), np.sin(t) + t * np.cos(t)], 1)
    du = np.tile([0.0, 1.0, 0.0], (n, 1))
    tangents = np.stack([dt, du], 1)  # (n, 2, 3)
    return _finish(y, tangents, dim, noise, rng)
