"""Coordinate descent for the Lasso (CoD) and its learned, unrolled version (LCoD).

Taught in the chapter *Sparse coding* (``book/sparse-coding.ipynb``); Li and Osher (2009),
Gregor and LeCun (2010).

**CoD.** ISTA moves every coordinate of :math:`z` a little; coordinate descent moves one
coordinate to its exact minimiser. With :math:`c_j = \\|d_j\\|^2` and the vector

.. math:: B = D^\\top x + S z, \\qquad S = \\operatorname{diag}(c) - D^\\top D

(:math:`S` has a zero diagonal, so :math:`B_j = d_j^\\top(x - Dz) + c_j z_j` does not depend
on :math:`z_j`), the minimiser of the energy :math:`F(z) = \\frac12\\|x - Dz\\|^2 +
\\lambda\\|z\\|_1` over :math:`z_j` alone, the others fixed, is
:math:`\\bar z_j = \\rho_\\lambda(B_j) / c_j`. Greedy CoD changes the coordinate that would
move most,

.. math:: k = \\arg\\max_j |\\bar z_j - z_j|, \\qquad
   B \\leftarrow B + S_{:,k}(\\bar z_k - z_k), \\qquad z_k \\leftarrow \\bar z_k ,

at a cost of :math:`O(K)` operations per step (one column of :math:`S`), against
:math:`O(K^2)` (or :math:`O(pK)`) for an ISTA step; both pay :math:`pK` once for
:math:`D^\\top x`. For unit-norm atoms, :math:`c = 1` and :math:`S = I - D^\\top D`, the
form of Gregor and LeCun. Each step minimises :math:`F` exactly along a coordinate, so
:math:`F` never increases.

**LCoD.** :class:`LCoD` unrolls :math:`T` CoD steps (unit-norm atoms) into a network whose
:math:`W_e` (initially :math:`D^\\top`), :math:`S` (initially :math:`I - D^\\top D`) and
thresholds :math:`\\theta` (initially :math:`\\lambda`) are trained by back-propagation, like
:class:`~dlcourse.sparse.LISTA`; the choice of :math:`k` (an argmax) is a routing that
gradients do not pass through. Unlike the paper, our CoD and LCoD return :math:`z` after the
:math:`T` steps, without a final threshold of all coordinates, so that an untrained LCoD
*is* :func:`cod` and every CoD iterate is a descent step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, check_scalar
from ._arrays import check_lam, prepare, prepare_codes, zeros_like_codes
from .lista import _as_dictionary_tensor, _unrolled_encoder_base
from .prox import energy, shrink

__all__ = ["cod", "LCoD", "cod_flops", "ista_flops"]


def cod_flops(n_features: int, n_atoms: int, n_steps: int) -> int:
    """Operations of :func:`cod` (and :class:`LCoD`) per signal: :math:`pK + 3KT`.

    :math:`pK` multiply-adds for :math:`B = W_e x`, then per step :math:`K` for the
    thresholds :math:`\\rho_\\theta(B)`, :math:`K` for the argmax of :math:`|\\bar z - z|`
    and :math:`K` for the update of :math:`B` by one column of :math:`S`.

    >>> cod_flops(32, 64, 10)
    3968
    """
    return int(n_features * n_atoms + 3 * n_atoms * n_steps)


def ista_flops(n_features: int, n_atoms: int, n_iter: int) -> int:
    """Operations of ISTA (and LISTA) per signal: :math:`pK + (K^2 + K)\\,T`.

    :math:`pK` for :math:`W_e x`, then per iteration :math:`K^2` for :math:`S z` and
    :math:`K` for the threshold (the recurrent form :math:`z \\leftarrow \\rho(W_e x + S z)`).

    >>> ista_flops(32, 64, 1)
    6208
    """
    return int(n_features * n_atoms + (n_atoms * n_atoms + n_atoms) * n_iter)


def cod(
    D: Any,
    x: Any,
    lam: float,
    n_iter: int = 100,
    z0: Any = None,
    return_history: bool = False,
):
    """Greedy coordinate descent (CoD) for the Lasso, batched over signals.

    .. math:: B = D^\\top x + S z,\\quad \\bar z = \\rho_\\lambda(B) / c,\\quad
       k = \\arg\\max_j |\\bar z_j - z_j|,\\quad
       B \\leftarrow B + S_{:,k} (\\bar z_k - z_k),\\quad z_k \\leftarrow \\bar z_k,

    with :math:`c_j = \\|d_j\\|^2` and :math:`S = \\operatorname{diag}(c) - D^\\top D`
    (see the module docstring); every step minimises
    :math:`F(z) = \\frac12\\|x - Dz\\|^2 + \\lambda\\|z\\|_1` exactly over one coordinate,
    so :math:`F` never increases. An atom of norm zero keeps its code at 0.

    Parameters
    ----------
    D : ndarray or Tensor of shape (n_features, n_atoms)
        The dictionary, one atom per column (any norms).
    x : ndarray or Tensor of shape (n_signals, n_features) or (n_features,)
        The signals, one per row; each picks its own coordinate at every step.
    lam : float >= 0
        The weight :math:`\\lambda` of the L1 penalty.
    n_iter : int >= 0, default 100
        Number of coordinate updates :math:`T` per signal.
    z0 : ndarray or Tensor of shape (n_signals, n_atoms), optional
        Starting codes; zeros by default.
    return_history : bool, default False
        Also return the mean energy of the iterates, shape (n_iter + 1,).

    Returns
    -------
    z : ndarray or Tensor of shape (n_signals, n_atoms) (or (n_atoms,) for one signal)
    history : ndarray of shape (n_iter + 1,), only if ``return_history``

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> D = rng.standard_normal((20, 50)); x = rng.standard_normal((3, 20))
    >>> z, hist = cod(D, x, lam=3.0, n_iter=2000, return_history=True)
    >>> z.shape, bool(np.all(np.diff(hist) <= 1e-12))   # monotone
    ((3, 50), True)
    >>> from dlcourse.sparse import fista   # the minimum, certified by a duality gap
    >>> z_star = fista(D, x, 3.0, n_iter=5000, tol=1e-12)
    >>> bool(abs(hist[-1] - float(energy(D, x, z_star, 3.0).mean())) < 1e-10)
    True
    """
    lam = check_lam(lam)
    n_iter = check_scalar(n_iter, "n_iter", int, low=0)
    D, X, one, torch_mode = prepare(D, x)
    n_signals, n_atoms = X.shape[0], D.shape[1]
    if z0 is None:
        z = zeros_like_codes(X, n_atoms)
    else:
        z = prepare_codes("z0", z0, X, n_signals, n_atoms, one)
    if torch_mode:
        import torch

        with torch.no_grad():
            out = _cod_numpy(
                D.detach().double().cpu().numpy(),
                X.detach().double().cpu().numpy(),
                z.detach().double().cpu().numpy(),
                lam,
                n_iter,
                return_history,
            )
        z_np, hist = out
        z = torch.as_tensor(z_np, dtype=X.dtype, device=X.device)
    else:
        z, hist = _cod_numpy(
            np.asarray(D, np.float64), np.asarray(X, np.float64), np.array(z, np.float64),
            lam, n_iter, return_history,
        )  # fmt: skip
    z = z[0] if one else z
    return (z, hist) if return_history else z


def _cod_numpy(D, X, z, lam, n_iter, return_history):
    c = np.einsum("ij,ij->j", D, D)
    inv_c = np.divide(1.0, c, out=np.zeros_like(c), where=c > 0)
    S = np.diag(c) - D.T @ D
    B = X @ D + z @ S  # S is symmetric: rows of z @ S are S z
    rows = np.arange(X.shape[0])
    hist = [float(energy(D, X, z, lam).mean())] if return_history else None
    for _ in range(n_iter):
        z_bar = shrink(B, lam) * inv_c
        k = np.argmax(np.abs(z_bar - z), axis=1)
        delta = z_bar[rows, k] - z[rows, k]
        B += S[k] * delta[:, None]  # row k of S = column k (symmetric)
        z[rows, k] = z_bar[rows, k]
        if return_history:
            hist.append(float(energy(D, X, z, lam).mean()))
    return z, (np.asarray(hist) if return_history else None)


class LCoD(_unrolled_encoder_base()):  # type: ignore[misc]  # torch is imported lazily
    """Learned coordinate descent (Gregor and LeCun, 2010): :math:`T` CoD steps, trainable.

    .. math:: B_0 = W_e x,\\ z_0 = 0;\\quad \\bar z = \\rho_\\theta(B_t),\\quad
       k = \\arg\\max_j |\\bar z_j - z_{t,j}|,\\quad
       B_{t+1} = B_t + S_{:,k}(\\bar z_k - z_{t,k}),\\quad
       z_{t+1} = z_t + (\\bar z_k - z_{t,k}) e_k,

    initialised with :math:`W_e = D^\\top`, :math:`S = I - D^\\top D`, :math:`\\theta = \\lambda`,
    so that before training ``LCoD(D, lam, T)(x)`` equals ``cod(D, x, lam, n_iter=T)``. Train
    it with :func:`~dlcourse.sparse.train_lista` (any encoder with ``D`` and ``lam`` works).

    Parameters
    ----------
    D : ndarray or Tensor of shape (n_features, n_atoms)
        The dictionary, with unit-norm atoms (:func:`~dlcourse.sparse.normalize_atoms`).
    lam : float >= 0
        The Lasso weight the initialisation imitates.
    n_steps : int >= 1
        :math:`T`, the number of unrolled coordinate steps.

    Attributes
    ----------
    W_e : torch.nn.Linear (n_features -> n_atoms, no bias)
    S : torch.nn.Parameter of shape (n_atoms, n_atoms)
    theta : torch.nn.Parameter of shape (n_atoms,)
    D : buffer of shape (n_features, n_atoms)

    Examples
    --------
    >>> import torch
    >>> from dlcourse.sparse import normalize_atoms
    >>> D = normalize_atoms(torch.randn(16, 32, dtype=torch.float64))
    >>> x = torch.randn(5, 16, dtype=torch.float64)
    >>> model = LCoD(D, lam=0.1, n_steps=20)
    >>> torch.allclose(model(x), cod(D, x, 0.1, n_iter=20), atol=1e-12)
    True
    """

    def __init__(self, D: Any, lam: float, n_steps: int) -> None:
        import torch

        super().__init__()
        D = _as_dictionary_tensor(D)
        lam = check_lam(lam)
        self.n_steps = check_scalar(n_steps, "n_steps", int, low=1)
        norms = torch.linalg.vector_norm(D, dim=0)
        if not bool(torch.allclose(norms, torch.ones_like(norms), rtol=0, atol=1e-5)):
            raise InvalidParameterError(
                "The 'D' argument must have unit-norm atoms (columns) for LCoD's "
                f"initialisation S = I - D^T D; got norms from {float(norms.min()):.4g} to "
                f"{float(norms.max()):.4g}. Use dlcourse.sparse.normalize_atoms(D)."
            )
        n_features, n_atoms = D.shape
        self.lam = lam
        self.W_e = torch.nn.Linear(n_features, n_atoms, bias=False, dtype=D.dtype, device=D.device)
        with torch.no_grad():
            self.W_e.weight.copy_(D.T)
        eye = torch.eye(n_atoms, dtype=D.dtype, device=D.device)
        self.S = torch.nn.Parameter(eye - D.T @ D)
        self.theta = torch.nn.Parameter(torch.full((n_atoms,), lam, dtype=D.dtype, device=D.device))
        self.register_buffer("D", D)

    def forward(self, x):
        """Codes (n_signals, n_atoms) of signals ``x`` of shape (n_signals, n_features)."""
        import torch

        self._check_signals(x)
        B = self.W_e(x)
        z = torch.zeros_like(B)
        for _ in range(self.n_steps):
            z_bar = shrink(B, self.theta)
            diff = z_bar - z
            k = diff.detach().abs().argmax(dim=-1)
            e = torch.nn.functional.one_hot(k, self.n_atoms).to(B.dtype)
            delta = (diff * e).sum(dim=-1, keepdim=True)
            B = B + delta * self.S.T[k]  # column k of S, one per signal
            z = z + delta * e
        return z

    def extra_repr(self) -> str:
        return (
            f"n_features={self.n_features}, n_atoms={self.n_atoms}, n_steps={self.n_steps}, "
            f"lam={self.lam:g}"
        )
