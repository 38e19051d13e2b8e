"""ISTA and FISTA: proximal gradient descent on the Lasso energy, batched over signals.

Taught in the chapter *Sparse coding* (``book/sparse-coding.ipynb``).

Split the energy :math:`F(z) = f(z) + g(z)` into the smooth
:math:`f(z) = \\tfrac12\\|x - Dz\\|^2`, whose gradient :math:`D^\\top(Dz - x)` is
:math:`L`-Lipschitz with :math:`L = \\|D^\\top D\\|_2`, and :math:`g(z) = \\lambda\\|z\\|_1`,
whose prox is soft thresholding :math:`\\rho`. With a step :math:`\\gamma \\le 1/L`,

* **ISTA** iterates :math:`z_{k+1} = \\rho_{\\gamma\\lambda}(z_k - \\gamma D^\\top(D z_k - x))
  = \\rho_{\\gamma\\lambda}(\\gamma D^\\top x + (I - \\gamma D^\\top D) z_k)`
  and :math:`F(z_k) - F^\\star \\le \\|z_0 - z^\\star\\|^2 / (2\\gamma k)`: rate :math:`O(1/k)`;
* **FISTA** (Beck and Teboulle, 2009) takes the same step from an extrapolated point,
  :math:`z_{k+1} = \\rho_{\\gamma\\lambda}(y_k - \\gamma D^\\top(D y_k - x))`,
  :math:`t_{k+1} = (1 + \\sqrt{1 + 4 t_k^2})/2`,
  :math:`y_{k+1} = z_{k+1} + \\frac{t_k - 1}{t_{k+1}}(z_{k+1} - z_k)` with :math:`t_1 = 1`,
  :math:`y_1 = z_0`, and :math:`F(z_k) - F^\\star \\le 2\\|z_0 - z^\\star\\|^2 / (\\gamma
  (k+1)^2)`: rate :math:`O(1/k^2)`.

**Step policy.** ``step`` defaults to :math:`1/L`. A step above :math:`1/L` (beyond a relative
rounding slack of :math:`10^{-6}`) is *refused* with a ``ValueError``: the rates above, and the
monotone decrease of ISTA, are only guaranteed up to :math:`1/L`, and a step above
:math:`2/L` makes the iterates diverge.

Both solvers work on many signals at once (rows of ``x``), on NumPy arrays or torch tensors
(any device); torch results are differentiable with respect to ``D`` and ``x``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import check_scalar, invalid
from ._arrays import (
    check_lam,
    prepare,
    prepare_codes,
    spectral_norm_sq,
    zeros_like_codes,
)
from .prox import energy, shrink

__all__ = ["ista", "fista", "check_step"]

_STEP_SLACK = 1e-6


def check_step(step: Any, L: float) -> float:
    """Validate a step against the Lipschitz constant ``L``; ``None`` gives ``1/L``.

    Raises ``ValueError`` for a step that is not a positive number or that exceeds
    :math:`1/L` by more than a relative :math:`10^{-6}`.
    """
    if L <= 0:  # D = 0: the smooth part is constant, any step is safe
        limit = math.inf
        default = 1.0
    else:
        limit = 1.0 / L
        default = limit
    if step is None:
        return default
    s = check_scalar(step, "step", float, low=0, closed="neither")
    if s > limit * (1 + _STEP_SLACK):
        raise invalid(
            "step",
            f"at most 1/L = {limit:.6g} (L = ||D^T D||_2 = {L:.6g}, the Lipschitz constant of "
            "the gradient: a larger step voids the convergence guarantee, and above 2/L the "
            "iterates diverge; leave step=None to use 1/L)",
            got=f"{s:.6g}",
        )
    return s


class _Problem:
    """The validated inputs shared by the solvers, and the gradient of the smooth part."""

    def __init__(self, D, x, lam, n_iter, step, z0):
        self.lam = check_lam(lam)
        self.n_iter = check_scalar(n_iter, "n_iter", int, low=0)
        self.D, self.X, self.one, self.torch = prepare(D, x)
        self.L = spectral_norm_sq(self.D)
        self.step = check_step(step, self.L)
        n_signals, (n_features, n_atoms) = self.X.shape[0], self.D.shape
        if z0 is None:
            self.z0 = zeros_like_codes(self.X, n_atoms)
        else:
            self.z0 = prepare_codes("z0", z0, self.X, n_signals, n_atoms, self.one)
        # Gradient D^T(Dz - x) for rows: z @ G - X @ D. The Gram form costs n K^2 per
        # iteration, the two-product form 2 n p K: take the cheaper one.
        self.use_gram = n_atoms <= 2 * n_features
        self.b = self.X @ self.D  # (n_signals, n_atoms) = (D^T x) per row
        self.G = self.D.T @ self.D if self.use_gram else None
        self.history: list[Any] = []

    def grad(self, z):
        if self.use_gram:
            return z @ self.G - self.b
        return (z @ self.D.T) @ self.D - self.b

    def prox_grad_step(self, z):
        """:math:`\\rho_{\\gamma\\lambda}(z - \\gamma \\nabla f(z))`."""
        if self.torch:  # functional, so that autograd can follow the iterations
            return shrink(z - self.step * self.grad(z), self.step * self.lam)
        # NumPy: the same formula with in-place updates of one fresh array (fewer passes)
        v = z @ self.G if self.use_gram else (z @ self.D.T) @ self.D
        v -= self.b
        v *= -self.step
        v += z
        thr = self.step * self.lam
        v -= np.clip(v, -thr, thr)
        return v

    def extrapolate(self, z_next, z, c):
        """FISTA's momentum point :math:`z_{k+1} + c (z_{k+1} - z_k)`."""
        if self.torch:
            return z_next + c * (z_next - z)
        y = z_next - z
        y *= c
        y += z_next
        return y

    def record(self, z, return_history: bool) -> None:
        if not return_history:
            return
        if self.torch:
            import torch

            with torch.no_grad():
                self.history.append(energy(self.D, self.X, z, self.lam).mean().to(torch.float64))
        else:
            self.history.append(float(energy(self.D, self.X, z, self.lam).mean()))

    def finish(self, z, return_history: bool):
        z = z[0] if self.one else z
        if not return_history:
            return z
        if self.torch:
            import torch

            hist = torch.stack(self.history).cpu().numpy()
        else:
            hist = np.asarray(self.history, dtype=np.float64)
        return z, hist


_SHARED_DOC = """
    Parameters
    ----------
    D : ndarray or Tensor of shape (n_features, n_atoms)
        The dictionary, one atom per column.
    x : ndarray or Tensor of shape (n_signals, n_features) or (n_features,)
        The signals, one per row; every row is coded independently, all at once.
    lam : float >= 0
        The weight :math:`\\lambda` of the L1 penalty.
    n_iter : int >= 0, default 100
        Number of iterations :math:`k`.
    step : float in (0, 1/L], optional
        The step :math:`\\gamma`; defaults to :math:`1/L`, :math:`L = \\|D^\\top D\\|_2`. A
        larger step raises ``ValueError`` (see the module docstring).
    z0 : ndarray or Tensor of shape (n_signals, n_atoms), optional
        Starting codes (a warm start); zeros by default.
    return_history : bool, default False
        Also return the energy of the iterates.

    Returns
    -------
    z : ndarray or Tensor of shape (n_signals, n_atoms) (or (n_atoms,) for one signal)
        The codes after ``n_iter`` iterations, the same kind as ``x`` (torch: on ``x``'s
        device and dtype, differentiable).
    history : ndarray of shape (n_iter + 1,), only if ``return_history``
        ``history[k]`` is the energy :math:`F(z_k)` averaged over the signals, from
        :math:`F(z_0)` to :math:`F(z_{n\\_iter})` (a NumPy float64 array in both cases), what
        a convergence-rate plot needs.
"""


def ista(
    D: Any,
    x: Any,
    lam: float,
    n_iter: int = 100,
    step: float | None = None,
    z0: Any = None,
    return_history: bool = False,
):
    """Iterative soft thresholding (ISTA) for the Lasso, batched over signals.

    .. math:: z_{k+1} = \\rho_{\\gamma\\lambda}\\bigl(z_k - \\gamma D^\\top (D z_k - x)\\bigr)

    minimises :math:`F(z) = \\frac12\\|x - Dz\\|^2 + \\lambda\\|z\\|_1` at the rate
    :math:`F(z_k) - F^\\star = O(1/k)`, decreasing :math:`F` at every step.
    """
    p = _Problem(D, x, lam, n_iter, step, z0)
    z = p.z0
    p.record(z, return_history)
    for _ in range(p.n_iter):
        z = p.prox_grad_step(z)
        p.record(z, return_history)
    return p.finish(z, return_history)


def fista(
    D: Any,
    x: Any,
    lam: float,
    n_iter: int = 100,
    step: float | None = None,
    z0: Any = None,
    return_history: bool = False,
):
    """FISTA, ISTA with Nesterov momentum (Beck and Teboulle, 2009), batched over signals.

    .. math::
       z_{k+1} &= \\rho_{\\gamma\\lambda}\\bigl(y_k - \\gamma D^\\top (D y_k - x)\\bigr),\\qquad
       t_{k+1} = \\tfrac12\\bigl(1 + \\sqrt{1 + 4 t_k^2}\\bigr),\\\\
       y_{k+1} &= z_{k+1} + \\tfrac{t_k - 1}{t_{k+1}} (z_{k+1} - z_k),
       \\qquad t_1 = 1,\\ y_1 = z_0,

    reaches :math:`F(z_k) - F^\\star = O(1/k^2)` (not monotonically).
    """
    p = _Problem(D, x, lam, n_iter, step, z0)
    z = y = p.z0
    t = 1.0
    p.record(z, return_history)
    for _ in range(p.n_iter):
        z_next = p.prox_grad_step(y)
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        y = p.extrapolate(z_next, z, (t - 1.0) / t_next)
        z, t = z_next, t_next
        p.record(z, return_history)
    return p.finish(z, return_history)


ista.__doc__ = (ista.__doc__ or "") + (
    _SHARED_DOC
    + """
    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> D = rng.standard_normal((20, 50)); x = rng.standard_normal((3, 20))
    >>> z, hist = ista(D, x, lam=1.0, n_iter=50, return_history=True)
    >>> z.shape, hist.shape, bool(np.all(np.diff(hist) <= 1e-12))   # monotone
    ((3, 50), (51,), True)
"""
)
fista.__doc__ = (fista.__doc__ or "") + (
    _SHARED_DOC
    + """
    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> D = rng.standard_normal((20, 50)); x = rng.standard_normal((3, 20))
    >>> _, h_ista = ista(D, x, lam=1.0, n_iter=100, return_history=True)
    >>> _, h_fista = fista(D, x, lam=1.0, n_iter=100, return_history=True)
    >>> bool(h_fista[-1] < h_ista[-1])
    True
"""
)
