"""Dictionary learning: alternate sparse coding (FISTA) and a least-squares dictionary update.

Taught in the chapter *Sparse coding* (``book/sparse-coding.ipynb``).

Learn atoms :math:`D = [d_1, \\dots, d_K]` with :math:`\\|d_j\\|_2 = 1` and codes :math:`Z` that
minimise the average Lasso energy of the training signals,

.. math:: \\min_{D,\\ \\|d_j\\| = 1}\\ \\min_Z\\ \\frac1N \\sum_i
   \\tfrac12\\|x_i - D z_i\\|^2 + \\lambda \\|z_i\\|_1 .

The problem is convex in :math:`Z` for fixed :math:`D` and in :math:`D` for fixed :math:`Z`
(not jointly), so we alternate. Each iteration draws a mini-batch, codes it by :func:`fista`
from the current dictionary, and updates running averages of the sufficient statistics
:math:`A = \\overline{z z^\\top}` and :math:`B = \\overline{x z^\\top}` (with
``batch_size=None`` the whole data set is coded and the averages are exact). The running
averages give batch :math:`t` the weight :math:`\\max(1/t, 1/\\text{memory})`: a plain mean
at first, then an exponential forgetting of the codes computed with early, poor dictionaries.
The dictionary update then minimises
:math:`\\frac12\\operatorname{tr}(D^\\top D A) - \\operatorname{tr}(D^\\top B)`, the quadratic
part of the energy, one atom at a time: the exact least-squares solution for atom :math:`j`
with the others fixed is

.. math:: u_j = d_j + \\frac{b_j - D a_j}{A_{jj}}, \\qquad d_j \\leftarrow u_j / \\|u_j\\|_2 ,

followed by the renormalisation to the unit sphere (the constraint that keeps the codes
from shrinking to zero while the atoms grow). With :math:`A = Z^\\top Z`, :math:`B = X^\\top Z`
and :math:`R_j = X - \\sum_{i \\ne j} z_{:,i} d_i^\\top` the residual without atom :math:`j`,
:math:`u_j = R_j^\\top z_{:,j} / A_{jj}`, so :math:`u_j / \\|u_j\\|` is also the exact
minimiser of the data term over the *unit* sphere: with the codes fixed, an update never
increases the energy. This is the block-coordinate update of
Mairal et al. (2009) with renormalisation; an atom that no code uses (:math:`A_{jj} = 0`)
is re-drawn from a random training signal.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import (
    InvalidParameterError,
    as_float_array,
    check_ndim,
    check_scalar,
    check_seed,
    invalid,
)
from ..utils import is_torch
from ._arrays import check_lam
from .ista import fista
from .prox import energy

__all__ = ["learn_dictionary", "DictionaryLearning", "normalize_atoms"]


def normalize_atoms(D: Any, eps: float = 1e-12) -> Any:
    """Scale every column (atom) of ``D`` to unit Euclidean norm (zero columns stay zero)."""
    if is_torch(D):
        import torch

        return D / torch.clamp(torch.linalg.vector_norm(D, dim=0), min=eps)
    D = np.asarray(D, dtype=np.float64)
    return D / np.maximum(np.linalg.norm(D, axis=0), eps)


def _as_data(X: Any) -> np.ndarray:
    """Signals as rows: float32 stays float32, anything else becomes float64."""
    X = as_float_array(X, "X", dtype=None)
    check_ndim(X, "X", 2, what="an array of shape (n_signals, n_features)")
    if X.shape[0] < 1:
        raise InvalidParameterError("The 'X' argument must hold at least one signal.")
    return X


class DictionaryLearning:
    """Learn a dictionary with unit-norm atoms by alternating minimisation (estimator API).

    ``fit`` only validates and runs; the learned things are fitted attributes with a
    trailing underscore, as in scikit-learn (note the shape convention of this package:
    atoms are *columns*, ``dictionary_`` has shape (n_features, n_atoms), the transpose of
    scikit-learn's ``components_``).

    Parameters
    ----------
    n_atoms : int >= 1
        :math:`K`, the number of atoms (``> n_features`` gives an overcomplete dictionary).
    lam : float >= 0
        The sparsity weight :math:`\\lambda` of the Lasso energy.
    n_iter : int >= 1, default 100
        Number of alternations (code a batch, update the atoms).
    batch_size : int or None, default 256
        Signals coded per alternation; ``None`` codes the whole data set each time (plain
        alternating minimisation).
    n_code_iter : int >= 1, default 50
        FISTA iterations per coding step.
    memory : int >= 1, default 50
        Horizon (in batches) of the running averages (ignored for ``batch_size=None``).
        ``memory=1`` uses the current batch alone: best for small problems whose batch
        determines the atoms well (averaging codes computed with older atoms slows the
        escape from duplicated atoms); a large dictionary learned from small batches
        (natural-image patches: 144 atoms, 256 patches per batch) needs tens of batches.
    D0 : ndarray of shape (n_features, n_atoms), optional
        Initial dictionary (normalised before use); default: Gaussian random atoms.
    seed : int, default 0
        Seeds the initial atoms and the mini-batches.

    Attributes
    ----------
    dictionary_ : ndarray of shape (n_features, n_atoms), unit-norm columns
    energy_ : ndarray of shape (n_iter,)
        Mean Lasso energy of each coded batch (before the atoms are updated).
    n_iter_ : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 8))
    >>> model = DictionaryLearning(n_atoms=12, lam=0.2, n_iter=20, seed=0).fit(X)
    >>> model.dictionary_.shape, bool(np.allclose(np.linalg.norm(model.dictionary_, axis=0), 1))
    ((8, 12), True)
    >>> model.transform(X[:3]).shape
    (3, 12)
    """

    def __init__(
        self,
        n_atoms: int,
        lam: float,
        n_iter: int = 100,
        *,
        batch_size: int | None = 256,
        n_code_iter: int = 50,
        memory: int = 50,
        D0: Any = None,
        seed: int = 0,
    ) -> None:
        self.n_atoms = n_atoms
        self.lam = lam
        self.n_iter = n_iter
        self.batch_size = batch_size
        self.n_code_iter = n_code_iter
        self.memory = memory
        self.D0 = D0
        self.seed = seed

    def fit(self, X: Any) -> DictionaryLearning:
        X = _as_data(X)
        n, p = X.shape
        K = check_scalar(self.n_atoms, "n_atoms", int, low=1)
        lam = check_lam(self.lam)
        n_iter = check_scalar(self.n_iter, "n_iter", int, low=1)
        n_code_iter = check_scalar(self.n_code_iter, "n_code_iter", int, low=1)
        memory = check_scalar(self.memory, "memory", int, low=1)
        batch = (
            n
            if self.batch_size is None
            else min(check_scalar(self.batch_size, "batch_size", int, low=1), n)
        )
        rng = check_seed(self.seed)

        if self.D0 is None:
            D = rng.standard_normal((p, K))
        else:
            D = np.array(self.D0, dtype=np.float64)
            if D.shape != (p, K):
                raise invalid(
                    "D0", f"of shape (n_features, n_atoms) = ({p}, {K})", got=f"{D.shape}"
                )
        D = normalize_atoms(D)
        A = np.zeros((K, K))
        B = np.zeros((p, K))
        energies = np.empty(n_iter)
        for t in range(n_iter):
            Xb = X if batch == n else X[rng.choice(n, size=batch, replace=False)]
            # code in the data's precision (float32 data: float32 FISTA, twice as fast)
            Z = fista(D.astype(X.dtype), Xb, lam, n_iter=n_code_iter).astype(np.float64)
            Xb = Xb.astype(np.float64, copy=False)
            energies[t] = float(energy(D, Xb, Z, lam).mean())
            # running averages (a full batch just replaces the statistics)
            w = 1.0 if batch == n else max(1.0 / (t + 1), 1.0 / memory)
            A = (1 - w) * A + w * (Z.T @ Z) / batch
            B = (1 - w) * B + w * (Xb.T @ Z) / batch
            D = self._update_atoms(D, A, B, X, rng)
        self.dictionary_ = D.astype(X.dtype, copy=False)
        self.energy_ = energies
        self.n_iter_ = n_iter
        return self

    @staticmethod
    def _update_atoms(D, A, B, X, rng):
        """One pass of exact block-coordinate minimisation over the atoms, then renormalise."""
        D = D.copy()
        for j in range(D.shape[1]):
            if A[j, j] <= 1e-12 * max(np.trace(A), 1e-300):
                u = X[rng.integers(X.shape[0])].astype(np.float64)  # a dead atom: re-draw it
                u = u + 1e-6 * rng.standard_normal(u.shape)
            else:
                u = D[:, j] + (B[:, j] - D @ A[:, j]) / A[j, j]
            norm = np.linalg.norm(u)
            D[:, j] = u / norm if norm > 0 else D[:, j]
        return D

    def transform(self, X: Any, n_iter: int = 200) -> np.ndarray:
        """Sparse codes of ``X`` (n_signals, n_features) in the learned dictionary, by FISTA."""
        if not hasattr(self, "dictionary_"):
            raise RuntimeError("This DictionaryLearning is not fitted yet: call fit(X) first.")
        return fista(self.dictionary_, _as_data(X), self.lam, n_iter=n_iter)


def learn_dictionary(
    X: Any,
    n_atoms: int,
    lam: float,
    n_iter: int = 100,
    *,
    batch_size: int | None = 256,
    n_code_iter: int = 50,
    memory: int = 50,
    D0: Any = None,
    seed: int = 0,
    return_energy: bool = False,
):
    """Learn ``n_atoms`` unit-norm atoms for the signals ``X`` (see :class:`DictionaryLearning`).

    Parameters
    ----------
    X : ndarray or Tensor of shape (n_signals, n_features)
    n_atoms, lam, n_iter, batch_size, n_code_iter, memory, D0, seed
        As in :class:`DictionaryLearning`.
    return_energy : bool, default False
        Also return the mean energy of each coded batch (shape (n_iter,)).

    Returns
    -------
    D : ndarray of shape (n_features, n_atoms)
        Unit-norm atoms, one per column (float32 for float32 data, else float64).
    energy : ndarray of shape (n_iter,), only if ``return_energy``

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> D_true = normalize_atoms(rng.standard_normal((20, 8)))
    >>> Z = rng.standard_normal((1000, 8)) * (rng.random((1000, 8)) < 0.2)   # 20% active
    >>> D = learn_dictionary(Z @ D_true.T, n_atoms=8, lam=0.05, n_iter=100, batch_size=None)
    >>> bool(np.abs(D.T @ D_true).max(axis=0).min() > 0.99)   # every true atom is found
    True
    """
    model = DictionaryLearning(
        n_atoms,
        lam,
        n_iter,
        batch_size=batch_size,
        n_code_iter=n_code_iter,
        memory=memory,
        D0=D0,
        seed=seed,
    ).fit(X)
    if return_energy:
        return model.dictionary_, model.energy_
    return model.dictionary_
