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

**Early stopping.** By default both run exactly ``n_iter`` plain iterations (what the rate
plots of the chapter measure). ``fista(..., tol=eps)`` (NumPy) instead stops every signal once
a duality gap certifies :math:`F(z) - F^\\star \\le \\varepsilon F(z)`, after an active-set
refinement that solves the Lasso exactly on the support FISTA has found; on the benchmark of
``tests/benchmarks/bench_sparse.py`` this is faster than scikit-learn's coordinate descent
(on one thread; its notes discuss two).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from .._validation import InvalidParameterError, check_scalar, invalid
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


_TOL_DOC = """    tol : float > 0, optional (keyword only)
        Stop each signal once its relative duality gap is at most ``tol`` (see above);
        ``None`` (the default) runs exactly ``n_iter`` plain iterations.
"""

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
    *,
    tol: float | None = None,
):
    """FISTA, ISTA with Nesterov momentum (Beck and Teboulle, 2009), batched over signals.

    .. math::
       z_{k+1} &= \\rho_{\\gamma\\lambda}\\bigl(y_k - \\gamma D^\\top (D y_k - x)\\bigr),\\qquad
       t_{k+1} = \\tfrac12\\bigl(1 + \\sqrt{1 + 4 t_k^2}\\bigr),\\\\
       y_{k+1} &= z_{k+1} + \\tfrac{t_k - 1}{t_{k+1}} (z_{k+1} - z_k),
       \\qquad t_1 = 1,\\ y_1 = z_0,

    reaches :math:`F(z_k) - F^\\star = O(1/k^2)` (not monotonically).

    With ``tol`` (NumPy inputs), each signal stops as soon as its codes are certified
    :math:`\\varepsilon`-optimal by a duality gap, :math:`F(z) - F^\\star \\le
    \\operatorname{gap}(z) \\le \\varepsilon F(z)`. After 40 iterations, then every 10, the gap
    is computed for the iterate and for an active-set refinement of it (the Lasso solved exactly
    on the iterate's support, signs corrected and KKT violators added a few times, as in
    feature-sign search); certified signals leave the batch, so the later iterations only
    cost what the hard signals need. ``n_iter`` is then a maximum: the signals still
    uncertified after it keep their last iterate.
    """
    if tol is not None:
        tol = check_scalar(tol, "tol", float, low=0, closed="neither")
        if return_history:
            raise InvalidParameterError(
                "The 'return_history' and 'tol' arguments cannot be used together: with "
                "tol, every signal stops at its own iteration. Use tol=None for a history."
            )
    p = _Problem(D, x, lam, n_iter, step, z0)
    if tol is not None:
        if p.torch:
            raise InvalidParameterError(
                "The 'tol' argument (early stopping) needs NumPy inputs; torch tensors get "
                "the plain, differentiable iteration (tol=None)."
            )
        return p.finish(_fista_tol(p, tol, check_every=_CHECK_EVERY), False)
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
    _SHARED_DOC.replace("\n\n    Returns\n", "\n" + _TOL_DOC + "\n    Returns\n")
    + """
    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> D = rng.standard_normal((20, 50)); x = rng.standard_normal((3, 20))
    >>> _, h_ista = ista(D, x, lam=1.0, n_iter=100, return_history=True)
    >>> _, h_fista = fista(D, x, lam=1.0, n_iter=100, return_history=True)
    >>> bool(h_fista[-1] < h_ista[-1])
    True

    With ``tol``, the codes are certified: here the exact solution, which satisfies the Lasso
    optimality conditions :math:`|d_j^\\top (x - Dz)| \\le \\lambda`, with equality on the
    support:

    >>> z = fista(D, x, lam=1.0, n_iter=1000, tol=1e-8)
    >>> corr = (x - z @ D.T) @ D
    >>> bool(np.all(np.abs(corr) <= 1.0 + 1e-8)), bool(np.allclose(abs(corr[z != 0]), 1.0))
    (True, True)
"""
)


# ------------------------------------------------------------------ early stopping (tol)
_BLOCK = 2048  # signals solved together (their arrays stay in the caches)
_CHUNK = 256  # signals per batched active-set solve (bounds memory, groups similar sizes)
_POLISH_ROUNDS = 8  # active-set corrections tried at every check
_POLISH_ADD = 16  # KKT violators added per correction
_FIRST_CHECK = 40  # iterations before the first check (the support must settle first)
_CHECK_EVERY = 10  # iterations between later checks
_FLOAT32_ITERS = 100  # iterations in float32 before switching to float64


def _duality_gaps(D, X, Z, lam):
    """Primal energies and duality gaps of codes ``Z`` (float64 arrays, one per signal).

    With the residual :math:`r = x - Dz` and correlations :math:`c = D^\\top r`, the point
    :math:`\\theta = r \\min(1, \\lambda / \\|c\\|_\\infty)` is feasible for the dual
    :math:`\\max_\\theta \\tfrac12\\|x\\|^2 - \\tfrac12\\|x - \\theta\\|^2` s.t.
    :math:`\\|D^\\top\\theta\\|_\\infty \\le \\lambda`, so
    :math:`F(z) - F^\\star \\le F(z) - (\\tfrac12\\|x\\|^2 - \\tfrac12\\|x - \\theta\\|^2)`.
    """
    R = X - Z @ D.T
    C = R @ D
    return _gap_from_residual(X, R, C, np.abs(Z).sum(1), lam)


def _gap_from_residual(X, R, C, l1, lam):
    primal = 0.5 * np.einsum("ij,ij->i", R, R) + lam * l1
    cmax = np.abs(C).max(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(cmax > lam, lam / cmax, 1.0)
    T = X - s[:, None] * R  # x - theta
    dual = 0.5 * (np.einsum("ij,ij->i", X, X) - np.einsum("ij,ij->i", T, T))
    return primal, primal - dual


def _pad_support(mask):
    """Column indices of the True entries of each row, left-aligned and padded."""
    counts = mask.sum(1)
    m = int(counts.max()) if counts.size else 0
    rows, cols = np.nonzero(mask)
    pos = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    idx = np.zeros((mask.shape[0], max(m, 1)), dtype=np.intp)
    valid = np.zeros(idx.shape, dtype=bool)
    idx[rows, pos] = cols
    valid[rows, pos] = True
    return idx, valid


def _polish(D, G, X, B, lam, Z, tol):
    """Active-set refinement of codes ``Z`` (float64), certified by the duality gap.

    For the sign pattern :math:`\\theta` of the current support :math:`S`, the Lasso restricted
    to :math:`S` has the closed form :math:`z_S = G_{SS}^{-1}(D_S^\\top x - \\lambda\\theta_S)`
    (:math:`G = D^\\top D`). If the signs of :math:`z_S` disagree with :math:`\\theta`, the
    atoms that flipped leave :math:`S`; otherwise the atoms outside :math:`S` that violate
    :math:`|d_j^\\top r| \\le \\lambda` (at most ``_POLISH_ADD``, the largest first) join it
    with the sign of their correlation. A few such corrections (as in feature-sign search,
    Lee et al. 2007), all signals at once. Returns the candidate codes and a boolean per signal:
    True where the candidate's duality gap is at most ``tol`` times its energy.
    """
    n, K = Z.shape
    p = D.shape[0]
    out = np.zeros_like(Z)
    ok = np.zeros(n, dtype=bool)
    theta = np.sign(Z)
    todo = np.flatnonzero((theta != 0).sum(1) <= p)  # more than p atoms: no unique solve
    for _ in range(_POLISH_ROUNDS):
        if todo.size == 0:
            break
        th_all = theta[todo]
        support = th_all != 0
        idx, valid = _pad_support(support)
        m = idx.shape[1]
        # padding slot k points to atom K + k of the augmented Gram matrix [[G, 0], [0, I]]:
        # an identity block on the padding, whose unknowns solve to 0
        idx_aug = np.where(valid, idx, K + np.arange(m))
        GS = G[idx_aug[:, :, None], idx_aug[:, None, :]]
        th = np.take_along_axis(th_all, idx, 1) * valid
        rhs = (np.take_along_axis(B[todo], idx, 1) - lam * th) * valid
        try:
            zS = np.linalg.solve(GS, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:  # a singular G_SS: leave these signals to FISTA
            break
        flipped = valid & (np.sign(zS) != th)
        consistent = ~flipped.any(1)
        vr, vc = np.nonzero(valid)
        cand = np.zeros((todo.size, K))
        cand[vr, idx[vr, vc]] = zS[vr, vc]
        fr, fc = np.nonzero(flipped)
        th_all[fr, idx[fr, fc]] = 0.0  # inconsistent: the flipped atoms leave the support
        ic = np.flatnonzero(consistent)
        done = np.zeros(todo.size, dtype=bool)
        if ic.size:
            rows = todo[ic]
            R = X[rows] - cand[ic] @ D.T  # dense products: faster than gathering atoms
            C = R @ D
            primal, gap = _gap_from_residual(X[rows], R, C, np.abs(zS[ic]).sum(1), lam)
            good = gap <= tol * primal
            out[rows[good]] = cand[ic[good]]
            ok[rows[good]] = True
            done[ic[good]] = True
            bad = np.flatnonzero(~good)
            if bad.size:  # add the worst KKT violators outside the support
                viol = np.where(support[ic[bad]], 0.0, np.abs(C[bad]) - lam)
                top = np.argsort(-viol, axis=1)[:, :_POLISH_ADD]
                vtop = np.take_along_axis(viol, top, 1) > 0
                sign = np.sign(np.take_along_axis(C[bad], top, 1))
                tr, tc = np.nonzero(vtop)
                sub = th_all[ic[bad]]
                sub[tr, top[tr, tc]] = sign[tr, tc]
                th_all[ic[bad]] = sub
        theta[todo] = th_all
        todo = todo[~done & ((th_all != 0).sum(1) <= p)]
    return out, ok


def _fista_tol(p: _Problem, tol: float, check_every: int):
    """FISTA with per-signal stopping: see ``fista(..., tol=...)``.

    The signals are independent: they are solved in blocks of ``_BLOCK`` (whose arrays stay
    in the CPU caches). The iterations only have to find the support: the first
    ``_FLOAT32_ITERS`` run in float32 (half the time of float64 products), the later ones in
    float64; the refinement and the duality gaps that certify the result are in float64.
    """
    D64 = p.D.astype(np.float64, copy=False)
    X64 = p.X.astype(np.float64, copy=False)
    n, n_atoms = X64.shape[0], D64.shape[1]
    G64 = np.eye(2 * n_atoms)  # the Gram matrix, augmented for the padded solves
    G64[:n_atoms, :n_atoms] = D64.T @ D64
    out = np.empty((n, n_atoms), dtype=np.float64)
    for lo in range(0, n, _BLOCK):
        rows = slice(lo, lo + _BLOCK)
        out[rows] = _fista_tol_block(p, tol, check_every, D64, G64, X64[rows], p.z0[rows])
    return out.astype(p.X.dtype, copy=False)


def _fista_tol_block(p: _Problem, tol: float, check_every: int, D64, G64, X64, z0):
    n, n_atoms = X64.shape[0], D64.shape[1]
    B64 = X64 @ D64
    out = np.empty((n, n_atoms), dtype=np.float64)
    active = np.arange(n)

    def operators(dtype):
        Dw = D64.astype(dtype)
        return Dw, (G64[:n_atoms, :n_atoms].astype(dtype) if p.use_gram else None)

    Dw, Gw = operators(np.float32)
    z = z0.astype(np.float32)
    b = B64.astype(np.float32)
    y = z
    t = 1.0
    it = 0
    while active.size and it < p.n_iter:
        block = _FIRST_CHECK if it == 0 else check_every
        for _ in range(min(block, p.n_iter - it)):
            if it == _FLOAT32_ITERS:  # the hard signals continue in float64
                Dw, Gw = operators(np.float64)
                z, y, b = z.astype(np.float64), y.astype(np.float64), B64[active]
            step, thr = z.dtype.type(p.step), z.dtype.type(p.step * p.lam)
            v = y @ Gw if Gw is not None else (y @ Dw.T) @ Dw
            v -= b
            v *= -step
            v += y
            v -= np.clip(v, -thr, thr)  # z_next = prox(y - step grad f(y))
            t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
            y = v - z
            y *= (t - 1.0) / t_next
            y += v
            z, t = v, t_next
            it += 1
        z64 = z.astype(np.float64)
        # 1) the iterate itself, 2) its active-set refinement
        primal, gap = _duality_gaps(D64, X64[active], z64, p.lam)
        done = gap <= tol * primal
        out[active[done]] = z64[done]
        rest = np.flatnonzero(~done)
        rest = rest[np.argsort((z64[rest] != 0).sum(1), kind="stable")]  # similar sizes
        # small products and solves: one BLAS thread (on a busy machine, two threads made
        # the refinement ~1.4x slower in the benchmark, waiting for each other)
        with threadpool_limits(1, user_api="blas"):
            for lo in range(0, rest.size, _CHUNK):
                sel = rest[lo : lo + _CHUNK]
                rows = active[sel]
                cand, good = _polish(D64, G64, X64[rows], B64[rows], p.lam, z64[sel], tol)
                out[rows[good]] = cand[good]
                done[sel[good]] = True
        keep = ~done
        active, z, y, b = active[keep], z[keep], y[keep], b[keep]
    out[active] = z  # not certified within n_iter iterations: the last iterates
    return out
