"""Interpretable operators: sparse regression of a learned map on a dictionary of known terms.

Taught in the chapter *Interpretability* (``book/interpretability``). Suppose a model
:math:`\\varphi_W` was learned from input/output pairs of a physical system, here the
one-step map :math:`u(t) \\mapsto u(t + \\Delta t)` of a 1-D field on a periodic grid. Its
*rate* :math:`(\\varphi_W(u) - u)/\\Delta t \\approx u_t` is written in a library of known
operators :math:`\\Theta(u) = [1, u, u_x, u_{xx}, u_{xxx}, u u_x, \\dots]` (finite differences,
one column per term) and a *sparse* coefficient vector is sought:

.. math:: \\hat\\alpha = \\arg\\min_\\alpha \\tfrac12\\|u_t - \\Theta(u)\\,\\alpha\\|_2^2
   + \\lambda\\|\\alpha\\|_1 ,

the convex stand-in for the :math:`\\|\\alpha\\|_0` of the lecture (the idea of SINDy/PDE-FIND,
Brunton et al., 2016; Rudy et al., 2017). The non-zero entries name the physics
(:math:`u_t = a\\,u_x + \\nu\\,u_{xx}`: advection and diffusion); a least-squares refit on the
support (*debiasing*) removes the shrinkage of the :math:`\\ell_1` penalty from the
coefficients. The Lasso is solved by :func:`dlcourse.sparse.fista` on the library with
unit-norm columns.

:func:`advection_diffusion` simulates :math:`u_t = a u_x + \\nu u_{xx}` exactly (in Fourier
space, :math:`\\hat u_k(t) = \\hat u_k(0)\\, e^{(\\mathrm i a k - \\nu k^2) t}`) and
:func:`random_fields` draws smooth periodic initial conditions.
"""

from __future__ import annotations

import numpy as np

from .._validation import InvalidParameterError, as_float_array, check_scalar, check_seed, invalid

__all__ = [
    "TERMS",
    "finite_difference_library",
    "sparse_operator_fit",
    "advection_diffusion",
    "random_fields",
]

#: the terms :func:`finite_difference_library` knows (and its default library)
TERMS = ("1", "u", "u_x", "u_xx", "u_xxx", "u_xxxx", "u^2", "u u_x", "u u_xx")


def _derivatives(u, dx):
    r = lambda s: np.roll(u, -s, axis=-1)  # noqa: E731 - r(1)[i] = u[i + 1], periodic
    return {
        "u_x": (r(1) - r(-1)) / (2 * dx),
        "u_xx": (r(1) - 2 * u + r(-1)) / dx**2,
        "u_xxx": (r(2) - 2 * r(1) + 2 * r(-1) - r(-2)) / (2 * dx**3),
        "u_xxxx": (r(2) - 4 * r(1) + 6 * u - 4 * r(-1) + r(-2)) / dx**4,
    }


def finite_difference_library(u, dx: float, terms=TERMS):
    """The library :math:`\\Theta(u)`: one column per term, central differences, periodic grid.

    .. math:: u_x \\approx \\frac{u_{i+1} - u_{i-1}}{2\\Delta x},\\quad
       u_{xx} \\approx \\frac{u_{i+1} - 2u_i + u_{i-1}}{\\Delta x^2},\\quad
       u_{xxx} \\approx \\frac{u_{i+2} - 2u_{i+1} + 2u_{i-1} - u_{i-2}}{2\\Delta x^3},\\ \\dots

    (all second-order accurate).

    Parameters
    ----------
    u : array_like of shape (..., n_x)
        Fields on a periodic grid of spacing ``dx`` (the last axis is space); not changed.
    dx : float > 0
    terms : sequence of str
        Names from :data:`TERMS`: ``"1"``, ``"u"``, ``"u_x"``, ``"u_xx"``, ``"u_xxx"``,
        ``"u_xxxx"``, ``"u^2"``, ``"u u_x"``, ``"u u_xx"``.

    Returns
    -------
    numpy.ndarray of shape (..., n_x, len(terms))

    Examples
    --------
    >>> x = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    >>> lib = finite_difference_library(np.sin(x), x[1] - x[0], terms=("u", "u_x", "u_xx"))
    >>> lib.shape, bool(np.allclose(lib[:, 1], np.cos(x), atol=1e-2))
    ((64, 3), True)
    """
    u = as_float_array(u, "u", min_ndim=1)
    dx = check_scalar(dx, "dx", float, low=0, closed="neither")
    if isinstance(terms, str):
        terms = (terms,)
    terms = tuple(terms)
    if not terms:
        raise invalid("terms", f"a non-empty sequence of names from {TERMS}", terms)
    for t in terms:
        if t not in TERMS:
            raise invalid("terms", f"names from {TERMS}", t)
    if u.shape[-1] < 5:
        raise invalid("u", "fields with at least 5 grid points on the last axis", u.shape)
    d = _derivatives(u, dx)
    cols = {
        "1": np.ones_like(u),
        "u": u,
        "u^2": u * u,
        "u u_x": u * d["u_x"],
        "u u_xx": u * d["u_xx"],
        **d,
    }
    return np.stack([cols[t] for t in terms], axis=-1)


def sparse_operator_fit(
    library,
    target,
    lam: float = 0.05,
    *,
    n_iter: int = 2000,
    debias: bool = True,
    tol: float = 1e-10,
):
    """Sparse coefficients :math:`\\alpha` with :math:`u_t \\approx \\Theta(u)\\,\\alpha`.

    The columns :math:`\\theta_j` are scaled to unit norm, the Lasso
    :math:`\\min_\\beta \\frac12\\|u_t - \\tilde\\Theta\\beta\\|^2 +
    \\lambda\\lambda_{\\max}\\|\\beta\\|_1` is solved by FISTA with
    :math:`\\lambda_{\\max} = \\|\\tilde\\Theta^\\top u_t\\|_\\infty` (the smallest weight that
    gives :math:`\\beta = 0`, so ``lam`` is a fraction in [0, 1]), and, with ``debias``, the
    coefficients on the support :math:`\\{j: |\\beta_j| > \\mathrm{tol}\\}` are refitted by least
    squares. :math:`\\alpha_j = \\beta_j / \\|\\theta_j\\|`.

    Parameters
    ----------
    library : array_like of shape (..., n_terms)
        :math:`\\Theta(u)`, e.g. from :func:`finite_difference_library` (rows are flattened).
    target : array_like of shape (...)
        :math:`u_t` at the same points (the leading shape of ``library``).
    lam : float in [0, 1]
        Sparsity weight as a fraction of :math:`\\lambda_{\\max}`.
    n_iter : int >= 1
        FISTA iterations.
    debias : bool
        Refit the support by least squares.
    tol : float >= 0
        Entries of :math:`\\beta` at most this large count as zero.

    Returns
    -------
    numpy.ndarray of shape (n_terms,)
        The coefficients :math:`\\alpha` (exact zeros off the support).

    Examples
    --------
    >>> x = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    >>> u = np.stack([np.sin(k * x + k) for k in (1, 2, 3)])
    >>> lib = finite_difference_library(u, x[1] - x[0], terms=("1", "u", "u_x", "u_xx"))
    >>> ut = 0.5 * lib[..., 2] + 0.1 * lib[..., 3]       # u_t = 0.5 u_x + 0.1 u_xx
    >>> np.round(sparse_operator_fit(lib, ut, lam=0.05), 6)
    array([0. , 0. , 0.5, 0.1])
    """
    from ..sparse import fista

    lib = as_float_array(library, "library", min_ndim=2)
    tgt = as_float_array(target, "target")
    if lib.shape[:-1] != tgt.shape:
        raise InvalidParameterError(
            f"The 'library' (shape {lib.shape}) must have one row of terms per entry of "
            f"'target' (shape {tgt.shape}): library.shape[:-1] == target.shape."
        )
    lam = check_scalar(lam, "lam", float, low=0, high=1)
    n_iter = check_scalar(n_iter, "n_iter", int, low=1)
    debias = check_scalar(debias, "debias", bool)
    tol = check_scalar(tol, "tol", float, low=0)
    theta = lib.reshape(-1, lib.shape[-1])
    t = tgt.reshape(-1)
    scale = np.linalg.norm(theta, axis=0)
    if np.any(scale == 0):
        raise InvalidParameterError(
            "A column of 'library' is zero everywhere: remove that term (its coefficient is "
            "undetermined)."
        )
    theta_n = theta / scale
    lam_max = float(np.abs(theta_n.T @ t).max())
    beta = fista(theta_n, t[None, :], lam * lam_max, n_iter=n_iter)[0]
    support = np.abs(beta) > tol
    beta = np.where(support, beta, 0.0)
    if debias and support.any():
        sol, *_ = np.linalg.lstsq(theta_n[:, support], t, rcond=None)
        beta[support] = sol
    return beta / scale


def advection_diffusion(u0, a: float, nu: float, dt: float, n_steps: int, length=2 * np.pi):
    """Exact solution of :math:`u_t = a\\,u_x + \\nu\\,u_{xx}` on a periodic interval.

    .. math:: \\hat u_k(t + \\Delta t) = \\hat u_k(t)\\, e^{(\\mathrm i a k - \\nu k^2)\\Delta t},
       \\qquad k = 2\\pi m / L .

    Parameters
    ----------
    u0 : array_like of shape (..., n_x)
        Initial fields on ``n_x`` equally spaced points of ``[0, length)``.
    a : float
        Advection speed (the profile moves to the *left* for ``a > 0``).
    nu : float >= 0
        Diffusion coefficient.
    dt : float > 0
    n_steps : int >= 0
    length : float > 0

    Returns
    -------
    numpy.ndarray of shape (n_steps + 1, ..., n_x)
        The fields at times ``0, dt, ..., n_steps * dt``.

    Examples
    --------
    >>> x = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    >>> traj = advection_diffusion(np.sin(x), a=1.0, nu=0.0, dt=0.5, n_steps=2)
    >>> bool(np.allclose(traj[2], np.sin(x + 1.0)))   # shifted by a t = 1
    True
    """
    u0 = as_float_array(u0, "u0", min_ndim=1)
    a = check_scalar(a, "a", float)
    nu = check_scalar(nu, "nu", float, low=0)
    dt = check_scalar(dt, "dt", float, low=0, closed="neither")
    n_steps = check_scalar(n_steps, "n_steps", int, low=0)
    length = check_scalar(length, "length", float, low=0, closed="neither")
    n_x = u0.shape[-1]
    k = 2 * np.pi * np.fft.rfftfreq(n_x, d=length / n_x)
    factor = np.exp((1j * a * k - nu * k**2) * dt)
    spec = np.fft.rfft(u0, axis=-1)
    out = [u0.copy()]
    for _ in range(n_steps):
        spec = spec * factor
        out.append(np.fft.irfft(spec, n=n_x, axis=-1))
    return np.stack(out)


def random_fields(n: int, n_x: int, n_modes: int = 3, seed=0):
    """``n`` smooth random periodic fields: sums of the first ``n_modes`` Fourier modes.

    :math:`u(x) = \\sum_{m=1}^{M} (a_m \\cos m x + b_m \\sin m x)/m` with standard normal
    :math:`a_m, b_m`, on ``n_x`` points of :math:`[0, 2\\pi)`.

    Returns
    -------
    numpy.ndarray of shape (n, n_x)

    Examples
    --------
    >>> random_fields(4, 32, seed=0).shape
    (4, 32)
    """
    n = check_scalar(n, "n", int, low=1)
    n_x = check_scalar(n_x, "n_x", int, low=1)
    n_modes = check_scalar(n_modes, "n_modes", int, low=1)
    rng = check_seed(seed)
    x = np.linspace(0, 2 * np.pi, n_x, endpoint=False)
    m = np.arange(1, n_modes + 1)
    coef = rng.standard_normal((n, 2, n_modes)) / m
    return coef[:, 0] @ np.cos(np.outer(m, x)) + coef[:, 1] @ np.sin(np.outer(m, x))
