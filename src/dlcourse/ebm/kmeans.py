"""K-means as a latent-variable energy-based model.

Taught in :ref:`energy-based-models` (``book/energy-based-models.ipynb``).

The decoder is linear, :math:`y \\approx W z`, and the latent :math:`z` is restricted to the
:math:`k` one-hot vectors :math:`e_1, \\dots, e_k`, so :math:`W e_j = w_j` is the j-th column of
:math:`W \\in \\mathbb{R}^{d \\times k}`, a *prototype*. The energy and the free energy are

.. math::
   E(y, z) = \\lVert y - W z \\rVert^2, \\qquad
   F(y) = \\min_{z \\in \\{e_1, \\dots, e_k\\}} E(y, z) = \\min_j \\lVert y - w_j \\rVert^2 .

Inference is exhaustive search over the k values of :math:`z`. Training (Lloyd's algorithm)
alternates that inference with the exact minimisation of :math:`\\sum_i E(y_i, z_i)` over
:math:`W` with the codes fixed (each prototype becomes the mean of the points it explains). It
never needs to push energies *up*: the energy is zero only at the k prototypes and grows
quadratically away from them, so the volume of low energy is bounded by construction (an
*architectural* method). :class:`KMeansEBM` is scikit-learn-like (``fit``, ``predict``,
fitted attributes with a trailing underscore) and also exposes the energies.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import (
    InvalidParameterError,
    as_float_array,
    check_ndim,
    check_scalar,
    check_seed,
    invalid,
    renamed_kwargs,
)
from .free_energy import free_energy

__all__ = ["KMeansEBM"]


def _as_points(name: str, y, d: int | None = None) -> np.ndarray:
    y = as_float_array(y, name, allow_nan=True)
    if y.ndim == 1 and d is not None and y.shape[0] == d:
        y = y[None, :]
    check_ndim(y, name, 2, what="an array of shape (n, d)")
    if d is not None and y.shape[1] != d:
        raise InvalidParameterError(
            f"The '{name}' argument must have {d} features (the model was fitted on {d}). "
            f"Got shape {y.shape}."
        )
    if not np.all(np.isfinite(y)):
        raise InvalidParameterError(f"The '{name}' argument contains inf or NaN.")
    return y


def _sq_distances(y: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """||y_i - w_j||^2 for all i, j, shape (n, k), computed without forming y_i - w_j."""
    d2 = (
        (y * y).sum(axis=1)[:, None]
        - 2.0 * y @ prototypes.T
        + (prototypes * prototypes).sum(axis=1)[None, :]
    )
    return np.maximum(d2, 0.0)  # rounding can make an exact zero slightly negative


class KMeansEBM:
    """K-means seen as an energy-based model with a one-hot latent variable.

    Parameters
    ----------
    n_clusters : int
        Number of prototypes k (the number of values the latent z can take).
    n_init : int
        Independent runs of Lloyd's algorithm from k-means++ starts; the run with the lowest
        total energy is kept.
    n_iter : int
        Maximum Lloyd iterations per run (``max_iter=`` is its deprecated old name).
    tol : float
        A run stops when no prototype moves by more than ``tol`` (Euclidean distance).
    seed : int
        Seed of the k-means++ starts: the same seed gives the same model.
    init : ndarray of shape (k, d), optional
        Start from these prototypes instead (then ``n_init`` is ignored).

    Attributes
    ----------
    prototypes_ : ndarray of shape (k, d)
        The fitted prototypes :math:`w_j` (the columns of :math:`W`, stored as rows like
        scikit-learn's ``cluster_centers_``).
    W_ : ndarray of shape (d, k)
        The decoder matrix, ``prototypes_.T``.
    inertia_ : float
        :math:`\\sum_i F(y_i)` on the training data.
    n_iter_ : int
        Lloyd iterations of the kept run.

    Examples
    --------
    >>> y = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    >>> model = KMeansEBM(2, seed=0).fit(y)
    >>> sorted(model.prototypes_.tolist())
    [[0.0, 0.5], [10.0, 0.5]]
    >>> model.energy([[0.0, 0.5], [5.0, 0.5]])   # F(y) = squared distance to nearest prototype
    array([ 0., 25.])
    """

    @renamed_kwargs(max_iter="n_iter")
    def __init__(
        self,
        n_clusters: int,
        *,
        n_init: int = 4,
        n_iter: int = 100,
        tol: float = 1e-8,
        seed: int = 0,
        init=None,
    ):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.n_iter = n_iter
        self.tol = tol
        self.seed = seed
        self.init = init

    # ------------------------------------------------------------------ energies
    def _check_fitted(self) -> np.ndarray:
        if not hasattr(self, "prototypes_"):
            raise RuntimeError("This KMeansEBM is not fitted yet: call fit(y) first.")
        return self.prototypes_

    def latent_energies(self, y) -> np.ndarray:
        """:math:`E(y_i, e_j) = \\lVert y_i - w_j\\rVert^2` for every point and every one-hot code.

        Parameters
        ----------
        y : array-like of shape (n, d)

        Returns
        -------
        ndarray of shape (n, k)
        """
        w = self._check_fitted()
        return _sq_distances(_as_points("y", y, w.shape[1]), w)

    def energy(self, y) -> np.ndarray:
        """The model's energy :math:`F(y) = \\min_z E(y, z)`, shape (n,)."""
        return self.latent_energies(y).min(axis=1)

    def free_energy(self, y, beta: float = math.inf) -> np.ndarray:
        """Free energy :math:`-\\frac1\\beta\\log\\sum_j e^{-\\beta\\lVert y - w_j\\rVert^2}`, (n,).

        ``beta=math.inf`` (the default) is :meth:`energy`; a finite beta gives the smooth energy
        of a mixture of k isotropic Gaussians of variance :math:`1/(2\\beta)` (up to a constant).
        """
        return free_energy(self.latent_energies(y), beta, dim=1)

    def infer(self, y) -> np.ndarray:
        """Inference by exhaustive search, :math:`\\arg\\min_z E(y, z)`, as one-hot rows (n, k)."""
        idx = self.predict(y)
        return np.eye(self.n_clusters)[idx]

    def predict(self, y) -> np.ndarray:
        """Index of the prototype of lowest energy for each row of ``y``, shape (n,)."""
        return self.latent_energies(y).argmin(axis=1)

    def decode(self, z) -> np.ndarray:
        """:math:`W z` for codes ``z`` of shape (n, k) (one-hot rows give the prototypes)."""
        w = self._check_fitted()
        z = np.asarray(z, dtype=np.float64)
        if z.ndim != 2 or z.shape[1] != w.shape[0]:
            raise invalid("z", f"of shape (n, {w.shape[0]})", got=f"{z.shape}")
        return z @ w

    @property
    def W_(self) -> np.ndarray:
        return self._check_fitted().T

    # ------------------------------------------------------------------ training
    def _kmeanspp(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """k-means++ seeding: each new prototype drawn with probability proportional to F(y)."""
        k = self.n_clusters
        centers = [y[rng.integers(len(y))]]
        closest = _sq_distances(y, centers[0][None])[:, 0]
        for _ in range(1, k):
            total = closest.sum()
            if total <= 0:  # fewer distinct points than clusters: pick any
                pick = rng.integers(len(y))
            else:
                pick = rng.choice(len(y), p=closest / total)
            centers.append(y[pick])
            closest = np.minimum(closest, _sq_distances(y, y[pick][None])[:, 0])
        return np.array(centers)

    def _lloyd(self, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float, int]:
        w = w.copy()
        n_iter = 0
        for n_iter in range(1, self.n_iter + 1):  # noqa: B007 - n_iter is reported
            idx = _sq_distances(y, w).argmin(axis=1)  # inference: exhaustive search over z
            counts = np.bincount(idx, minlength=len(w))
            sums = np.zeros_like(w)
            np.add.at(sums, idx, y)
            new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], w)
            shift = np.sqrt(((new - w) ** 2).sum(axis=1)).max()
            w = new
            if shift <= self.tol:
                break
        inertia = float(_sq_distances(y, w).min(axis=1).sum())
        return w, inertia, n_iter

    def fit(self, y, _unused=None) -> KMeansEBM:
        """Fit the prototypes by Lloyd's algorithm: minimise :math:`\\sum_i \\min_z E(y_i, z)`.

        Parameters
        ----------
        y : array-like of shape (n, d)
            Training points, n >= n_clusters.

        Returns
        -------
        self
        """
        k = check_scalar(self.n_clusters, "n_clusters", int, low=1)
        n_init = check_scalar(self.n_init, "n_init", int, low=1)
        check_scalar(self.n_iter, "n_iter", int, low=1)
        y = _as_points("y", y)
        if len(y) < k:
            raise InvalidParameterError(f"fit needs at least n_clusters={k} points. Got {len(y)}.")
        rng = check_seed(self.seed)
        if self.init is not None:
            starts = [_as_points("init", self.init, y.shape[1])]
            if len(starts[0]) != k:
                raise InvalidParameterError(
                    f"The 'init' argument must have {k} rows (one per prototype). "
                    f"Got {len(starts[0])}."
                )
        else:
            starts = [self._kmeanspp(y, rng) for _ in range(n_init)]
        best = None
        for w0 in starts:
            run = self._lloyd(y, w0)
            if best is None or run[1] < best[1]:
                best = run
        self.prototypes_, self.inertia_, self.n_iter_ = best
        return self

    def fit_predict(self, y, _unused=None) -> np.ndarray:
        """``fit(y)`` then ``predict(y)``."""
        return self.fit(y).predict(y)
