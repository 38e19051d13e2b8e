"""How a random ReLU layer maps angles and distances.

Taught in the chapter *What random networks already do* (``book/random-networks.ipynb``);
Cho and Saul (2009), Giryes, Sapiro and Bronstein (2016).

Let :math:`f(u) = \\max(Au, 0)` with :math:`A \\in \\mathbb{R}^{m \\times n}`, i.i.d.
:math:`a_{ij} \\sim \\mathcal{N}(0, 1/m)`, and unit vectors :math:`u, v` at angle
:math:`\\alpha`. For one row :math:`a` of :math:`A`, :math:`(a^\\top u, a^\\top v)` is a
centred Gaussian pair with correlation :math:`\\cos\\alpha`, and integrating over the
quadrant where both are positive gives

.. math:: \\mathbb{E}\\,\\langle f(u), f(v)\\rangle
          = \\frac{1}{2\\pi}\\big(\\sin\\alpha + (\\pi - \\alpha)\\cos\\alpha\\big),
          \\qquad \\mathbb{E}\\,\\|f(u)\\|^2 = \\tfrac12 .

Their ratio is what the closed form describes: the cosine of the output angle in the limit
of a wide layer (:math:`m \\to \\infty`, law of large numbers), written in the lecture's form

.. math:: \\cos\\beta(\\alpha) = \\cos\\alpha + \\psi(\\alpha), \\qquad
          \\psi(\\alpha) = \\frac{\\sin\\alpha - \\alpha\\cos\\alpha}{\\pi} \\ \\ge 0 .

At finite :math:`m` the measured cosine fluctuates around it with a spread of order
:math:`1/\\sqrt{m}` (and its mean has an :math:`O(1/m)` bias, since a ratio of averages is not
the average of the ratio). Likewise the squared distance of the outputs,

.. math:: \\mathbb{E}\\,\\|f(u) - f(v)\\|^2 = \\tfrac12\\|u - v\\|^2 - \\psi(\\alpha)
          = 1 - \\cos\\alpha - \\psi(\\alpha) .

Since :math:`\\psi \\ge 0`, angles shrink: :math:`\\beta(\\alpha) \\le \\alpha`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array, check_option, check_scalar, check_seed, invalid

__all__ = ["psi", "relu_cosine", "relu_angle", "relu_sq_distance", "empirical_angle"]


def _angles(a: Any) -> np.ndarray:
    a = as_float_array(a, "a")
    if np.any((a < 0) | (a > np.pi)):
        raise invalid("a", "angles in [0, pi]", got=f"values from {a.min():g} to {a.max():g}")
    return a


def psi(a: Any) -> np.ndarray:
    """The lecture's correction :math:`\\psi(\\alpha) = (\\sin\\alpha - \\alpha\\cos\\alpha)/\\pi`.

    Parameters
    ----------
    a : float or array_like of angles in :math:`[0, \\pi]`

    Returns
    -------
    ndarray of the same shape (a 0-d array for a scalar)

    Examples
    --------
    >>> float(psi(0.0)), float(psi(np.pi))
    (0.0, 1.0)
    """
    a = _angles(a)
    return (np.sin(a) - a * np.cos(a)) / np.pi


def relu_cosine(a: Any) -> np.ndarray:
    """Wide-layer limit of the cosine between ReLU outputs, :math:`\\cos\\alpha + \\psi(\\alpha)`.

    .. math:: \\frac{\\mathbb{E}\\langle f(u), f(v)\\rangle}{\\sqrt{\\mathbb{E}\\|f(u)\\|^2\\,
              \\mathbb{E}\\|f(v)\\|^2}} = \\frac{\\sin\\alpha + (\\pi-\\alpha)\\cos\\alpha}{\\pi}
              = \\cos\\alpha + \\psi(\\alpha).

    Examples
    --------
    >>> relu_cosine([0.0, np.pi / 2, np.pi]).round(4)
    array([1.    , 0.3183, 0.    ])
    """
    a = _angles(a)
    return np.cos(a) + psi(a)


def relu_angle(a: Any) -> np.ndarray:
    """The angle :math:`\\beta(\\alpha) = \\arccos(\\cos\\alpha + \\psi(\\alpha))` between the
    outputs of a wide random ReLU layer whose inputs are at angle :math:`\\alpha`.

    Array in, array out; :math:`\\beta(0) = 0`, :math:`\\beta(\\pi) = \\pi/2` (opposite inputs
    never share an active unit), and :math:`\\beta(\\alpha) \\le \\alpha`.

    Parameters
    ----------
    a : float or array_like of angles in :math:`[0, \\pi]`

    Returns
    -------
    ndarray of the same shape

    Examples
    --------
    >>> relu_angle([0.0, np.pi / 2, np.pi]).round(4)
    array([0.    , 1.2469, 1.5708])
    """
    return np.arccos(np.clip(relu_cosine(a), -1.0, 1.0))


def relu_sq_distance(a: Any) -> np.ndarray:
    """Expected squared distance :math:`\\mathbb{E}\\|f(u)-f(v)\\|^2 = 1 - \\cos\\alpha -
    \\psi(\\alpha)` of the ReLU outputs of unit vectors at angle :math:`\\alpha` (for
    :math:`a_{ij} \\sim \\mathcal{N}(0, 1/m)`; the input distance is
    :math:`\\|u - v\\|^2 = 2 - 2\\cos\\alpha`).

    Examples
    --------
    >>> float(relu_sq_distance(np.pi))   # = ||u - v||^2 / 2 - psi = 2 - 1
    1.0
    """
    a = _angles(a)
    return 1.0 - np.cos(a) - psi(a)


def empirical_angle(
    a: Any,
    n_in: int = 50,
    n_out: int = 1000,
    n_trials: int = 20,
    seed: Any = 0,
    what: str = "angle",
) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo check of :func:`relu_angle`: the output angle of random ReLU layers.

    In each trial, draw :math:`A` with :math:`a_{ij} \\sim \\mathcal{N}(0, 1/m)` and a random
    orthonormal pair :math:`e_1, e_2 \\in \\mathbb{R}^n`; for every angle :math:`\\alpha` put
    :math:`u = e_1`, :math:`v = \\cos\\alpha\\, e_1 + \\sin\\alpha\\, e_2` and measure the angle
    between :math:`\\max(Au, 0)` and :math:`\\max(Av, 0)`.

    Parameters
    ----------
    a : array_like of angles in :math:`[0, \\pi]`
    n_in : int >= 2
        Input dimension :math:`n`.
    n_out : int >= 1
        Layer width :math:`m`.
    n_trials : int >= 1
        Independent layers (and pairs) drawn.
    seed : int, numpy.random.Generator or None
    what : {"angle", "cosine"}
        Measure the output angle :math:`\\beta` or its cosine.

    Returns
    -------
    mean, std : ndarray, each of the shape of ``a``
        Mean and standard deviation over trials (NaN-free: a trial whose output is all zero
        is skipped).

    Examples
    --------
    >>> mean, std = empirical_angle([np.pi / 2], n_in=20, n_out=2000, n_trials=10, seed=0)
    >>> bool(abs(mean[0] - relu_angle(np.pi / 2)) < 3 * std[0] + 0.01)
    True
    """
    a = _angles(a)
    n_in = check_scalar(n_in, "n_in", int, low=2)
    n_out = check_scalar(n_out, "n_out", int, low=1)
    n_trials = check_scalar(n_trials, "n_trials", int, low=1)
    check_option(what, "what", ("angle", "cosine"))
    rng = check_seed(seed)
    flat = a.reshape(-1)
    out = np.full((n_trials, flat.size), np.nan)
    for t in range(n_trials):
        A = rng.standard_normal((n_out, n_in)) / np.sqrt(n_out)
        e = rng.standard_normal((2, n_in))
        q, _ = np.linalg.qr(e.T)  # orthonormal columns spanning the random plane
        Ae1, Ae2 = A @ q[:, 0], A @ q[:, 1]
        fu = np.maximum(Ae1, 0.0)
        fv = np.maximum(np.cos(flat)[:, None] * Ae1 + np.sin(flat)[:, None] * Ae2, 0.0)
        norms = np.linalg.norm(fu) * np.linalg.norm(fv, axis=1)
        ok = norms > 0
        cos = np.clip(fv[ok] @ fu / norms[ok], -1.0, 1.0)
        out[t, ok] = cos if what == "cosine" else np.arccos(cos)
    mean = np.nanmean(out, axis=0) if np.isfinite(out).any() else np.full(flat.size, np.nan)
    std = np.nanstd(out, axis=0) if np.isfinite(out).any() else np.full(flat.size, np.nan)
    return mean.reshape(a.shape), std.reshape(a.shape)
