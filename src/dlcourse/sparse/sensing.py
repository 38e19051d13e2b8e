"""Compressed sensing: recover a k-sparse vector from m random linear measurements.

Taught in the chapter *Sparse coding* (``book/sparse-coding.ipynb``); Candès and Tao (2006),
Donoho (2006), Donoho and Tanner (2009).

A vector :math:`u \\in \\mathbb{R}^n` with :math:`k` non-zeros is measured by a random
Gaussian matrix :math:`A \\in \\mathbb{R}^{m \\times n}`, :math:`a_{ij} \\sim
\\mathcal{N}(0, 1/m)`: :math:`y = A u`. With :math:`m = O(k \\log(n/k))` measurements, far
fewer than :math:`n`, the sparsest solution is found by the convex program
:math:`\\min \\|u\\|_1` s.t. :math:`Au = y` (basis pursuit). :func:`recover` approximates it by
the Lasso with a small :math:`\\lambda` (FISTA with a decreasing sequence of :math:`\\lambda`,
each stage warm-started from the last) and then *debiases*: a least-squares fit of
:math:`y` on the columns of the detected support removes the Lasso's shrinkage.

Plotting the success rate over :math:`\\delta = m/n` and :math:`\\rho = k/m` shows a sharp
*phase transition* (:func:`phase_transition`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, check_scalar, check_seed, invalid
from .ista import fista

__all__ = [
    "gaussian_measurements",
    "sparse_vectors",
    "recover",
    "recovery_rate",
    "phase_transition",
]


def _rng(seed: Any) -> np.random.Generator:
    return check_seed(seed)


def gaussian_measurements(m: int, n: int, seed: Any = 0) -> np.ndarray:
    """A random measurement matrix of shape (m, n) with i.i.d. :math:`\\mathcal{N}(0, 1/m)`
    entries (so :math:`\\mathbb{E}\\|Au\\|^2 = \\|u\\|^2`)."""
    m, n = check_scalar(m, "m", int, low=1), check_scalar(n, "n", int, low=1)
    return _rng(seed).standard_normal((m, n)) / np.sqrt(m)


def sparse_vectors(n: int, k: int, n_signals: int = 1, seed: Any = 0) -> np.ndarray:
    """``n_signals`` rows of length ``n`` with exactly ``k`` non-zero, standard normal entries
    at uniformly random positions; shape (n_signals, n)."""
    n, n_signals = (
        check_scalar(n, "n", int, low=1),
        check_scalar(n_signals, "n_signals", int, low=1),
    )
    k = check_scalar(k, "k", int, low=0)
    if k > n:
        raise invalid("k", f"at most n = {n}", got=f"{k}")
    rng = _rng(seed)
    U = np.zeros((n_signals, n))
    support = np.argsort(rng.random((n_signals, n)), axis=1)[:, :k]
    np.put_along_axis(U, support, rng.standard_normal((n_signals, k)), axis=1)
    return U


def recover(
    A: Any,
    y: Any,
    lam: float = 1e-4,
    n_iter: int = 400,
    n_stages: int = 6,
    debias: bool = True,
    support_tol: float = 1e-3,
) -> np.ndarray:
    """Recover sparse vectors from measurements :math:`y = A u` (rows of ``y``).

    Minimises :math:`\\frac12\\|y - A u\\|^2 + \\lambda \\|y\\|_\\infty \\|u\\|_1` (the weight is
    relative to the scale of each signal, so that the result does not depend on it) by FISTA,
    decreasing the weight geometrically over ``n_stages`` warm-started stages from
    :math:`0.1\\|A^\\top y\\|_\\infty`; then refits :math:`y` by least squares on the support
    :math:`\\{j : |u_j| > \\text{support\\_tol}\\,\\|u\\|_\\infty\\}` (at most :math:`m` largest
    entries).

    Parameters
    ----------
    A : ndarray of shape (m, n)
    y : ndarray of shape (n_signals, m) or (m,)
    lam : float > 0
        Final relative Lasso weight (small: we approximate basis pursuit).
    n_iter : int
        FISTA iterations per stage.
    n_stages : int >= 1
    debias : bool
    support_tol : float in [0, 1)

    Returns
    -------
    ndarray of shape (n_signals, n) (or (n,) for one signal)

    Examples
    --------
    >>> A = gaussian_measurements(40, 100, seed=0)
    >>> u = sparse_vectors(100, 5, seed=1)
    >>> bool(np.allclose(recover(A, u @ A.T), u, atol=1e-8))   # 40 measurements, 100 unknowns
    True
    """
    A = np.asarray(A, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if A.ndim != 2:
        raise invalid("A", "of shape (m, n)", got=f"{A.shape}")
    one = y.ndim == 1
    Y = y[None] if one else y
    if Y.ndim != 2 or Y.shape[1] != A.shape[0]:
        raise invalid(
            "y",
            f"of shape (n_signals, m) with m = {A.shape[0]} measurements (the rows of A)",
            got=f"{y.shape}",
        )
    lam = check_scalar(lam, "lam", float, low=0, closed="neither")
    n_stages = check_scalar(n_stages, "n_stages", int, low=1)
    support_tol = check_scalar(support_tol, "support_tol", float, low=0.0, high=1.0, closed="left")
    m, n = A.shape
    scale = np.abs(Y).max(axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    Yn = Y / scale  # every signal now has ||y||_inf = 1: one lam fits all
    lam_start = max(0.1 * float(np.abs(Yn @ A).max()), lam)
    U: Any = None
    for lam_s in np.geomspace(lam_start, lam, n_stages):
        U = fista(A, Yn, float(lam_s), n_iter=n_iter, z0=U)
    if debias:
        for i in range(U.shape[0]):
            mags = np.abs(U[i])
            if mags.max() == 0:
                continue
            support = np.flatnonzero(mags > support_tol * mags.max())
            if support.size > m:
                support = np.argsort(mags)[::-1][:m]
            coef, *_ = np.linalg.lstsq(A[:, support], Yn[i], rcond=None)
            U[i] = 0.0
            U[i, support] = coef
    U = U * scale
    return U[0] if one else U


def recovery_rate(
    n: int, m: int, k: int, n_trials: int = 20, seed: Any = 0, tol: float = 1e-3, **kwargs
) -> float:
    """Fraction of ``n_trials`` random k-sparse vectors recovered to relative error ``tol``
    from m Gaussian measurements (one matrix per call, a new signal per trial)."""
    rng = _rng(seed)
    A = gaussian_measurements(m, n, rng)
    U = sparse_vectors(n, k, n_trials, rng)
    U_hat = recover(A, U @ A.T, **kwargs)
    err = np.linalg.norm(U_hat - U, axis=1) / np.maximum(np.linalg.norm(U, axis=1), 1e-300)
    return float(np.mean(err <= tol))


def phase_transition(
    n: int,
    deltas: Any,
    rhos: Any,
    n_trials: int = 10,
    seed: Any = 0,
    tol: float = 1e-3,
    **kwargs,
) -> np.ndarray:
    """Recovery probability on the grid :math:`\\delta = m/n` (rows) by :math:`\\rho = k/m`
    (columns), with :math:`m = \\mathrm{round}(\\delta n)`, :math:`k = \\mathrm{round}(\\rho m)`.

    For each :math:`\\delta` all :math:`\\rho` and trials share one batched recovery.
    Returns an array of shape (len(deltas), len(rhos)) of success fractions.
    """
    rng = _rng(seed)
    n = check_scalar(n, "n", int, low=2)
    n_trials = check_scalar(n_trials, "n_trials", int, low=1)
    deltas, rhos = np.asarray(deltas, dtype=float), np.asarray(rhos, dtype=float)
    if np.any((deltas <= 0) | (deltas > 1)) or np.any((rhos < 0) | (rhos > 1)):
        raise InvalidParameterError("The grid needs deltas in (0, 1] and rhos in [0, 1].")
    out = np.zeros((deltas.size, rhos.size))
    for i, delta in enumerate(deltas):
        m = max(1, int(round(delta * n)))
        A = gaussian_measurements(m, n, rng)
        ks = [min(int(round(rho * m)), n) for rho in rhos]
        U = np.vstack([sparse_vectors(n, k, n_trials, rng) for k in ks])
        U_hat = recover(A, U @ A.T, **kwargs)
        err = np.linalg.norm(U_hat - U, axis=1) / np.maximum(np.linalg.norm(U, axis=1), 1e-300)
        ok = (err <= tol) | (np.linalg.norm(U, axis=1) == 0)
        out[i] = ok.reshape(len(ks), n_trials).mean(axis=1)
    return out
