"""Linear slow feature analysis: features that change as slowly as possible in time.

Taught in :ref:`energy-based-models` (``book/energy-based-models.ipynb``), where the slowest
features of translated digits turn out to ignore the translation and keep the digit.

Given sequences :math:`x(1), \\dots, x(T) \\in \\mathbb{R}^d`, linear slow feature analysis
(SFA) looks for features :math:`y_j(t) = w_j^\\top (x(t) - \\mu)` that minimise the mean squared
temporal difference

.. math::
   \\Delta(y_j) = \\big\\langle (y_j(t+1) - y_j(t))^2 \\big\\rangle_t
   = w_j^\\top \\dot C\\, w_j, \\qquad
   \\dot C = \\big\\langle \\dot x\\, \\dot x^\\top \\big\\rangle_t, \\quad
   \\dot x(t) = x(t+1) - x(t),

subject to unit variance and decorrelation, :math:`\\langle y_i y_j \\rangle_t = w_i^\\top C w_j
= \\delta_{ij}` with :math:`C` the covariance of the frames. Without the constraint the
constant :math:`y = 0` would win; with it the problem is the generalised eigenproblem
:math:`\\dot C w = \\lambda C w`, and the slowest features are its eigenvectors of smallest
eigenvalue, with :math:`\\Delta(y_j) = \\lambda_j`. It is solved in two symmetric steps:

1. **whiten**: :math:`C = V \\Lambda V^\\top`, :math:`S = V \\Lambda^{-1/2}` (directions of
   variance below ``tol`` times the largest are dropped, or all but the ``n_pca`` largest), so
   that :math:`z = S^\\top (x - \\mu)` has identity covariance;
2. **rotate**: :math:`S^\\top \\dot C S = U \\operatorname{diag}(\\lambda) U^\\top` with
   :math:`\\lambda_1 \\le \\lambda_2 \\le \\dots`; then :math:`W = S U`.

Any rotation of whitened data keeps unit variance and zero correlation, so the second step picks,
among all admissible feature sets, the one whose temporal differences are smallest. Differences
are taken only *within* a sequence, never across the boundary between two sequences.
:class:`SlowFeatureAnalysis` is scikit-learn-like (``fit``, ``transform``, fitted attributes with
a trailing underscore) and works on NumPy arrays (a torch tensor is converted).
"""

from __future__ import annotations

import numpy as np

from .._validation import InvalidParameterError, as_float_array, check_scalar, invalid

__all__ = ["SlowFeatureAnalysis"]


def _as_sequences(x, name: str = "x") -> np.ndarray:
    """x as an array of shape (n_sequences, T, d); a 2-D array is one sequence."""
    x = as_float_array(x, name, ndim=(2, 3))
    if x.ndim == 2:
        x = x[None]
    if x.shape[1] < 2:
        raise invalid(
            name,
            "sequences of at least 2 frames, shape (n_sequences, T, d) or (T, d)",
            got=f"shape {x.shape}",
        )
    return x


class SlowFeatureAnalysis:
    """Linear slow feature analysis (whitening, then the slowest directions of the differences).

    Minimises :math:`\\Delta(y_j) = \\langle (y_j(t+1) - y_j(t))^2\\rangle` over linear features
    :math:`y_j = w_j^\\top (x - \\mu)` with :math:`\\langle y_i y_j\\rangle = \\delta_{ij}`: the
    solutions are the generalised eigenvectors of :math:`\\dot C w = \\lambda C w` with the
    smallest eigenvalues, and :math:`\\Delta(y_j) = \\lambda_j` (see the module docstring).

    Parameters
    ----------
    n_components : int, optional
        Number of slow features to keep (the slowest first). ``None`` keeps all the whitened
        dimensions.
    n_pca : int, optional
        Whiten in at most this many leading principal directions (a PCA reduction first, which
        regularises SFA when frames are few compared to the dimension). ``None``: all the
        directions that pass ``tol``.
    tol : float
        Directions of variance at most ``tol`` times the largest variance are dropped before
        whitening (they would be divided by almost zero), in ``[0, 1)``.

    Attributes
    ----------
    mean_ : ndarray of shape (d,)
        Mean frame :math:`\\mu`.
    whitening_ : ndarray of shape (d, r)
        :math:`S = V \\Lambda^{-1/2}`, the kept principal directions scaled to unit variance.
    components_ : ndarray of shape (d, n_components)
        :math:`W = S U`; column j is :math:`w_j`, the slowest first. The sign of each column is
        fixed so that its entry of largest magnitude is positive.
    delta_ : ndarray of shape (n_components,)
        Slowness :math:`\\Delta(y_j) = \\lambda_j` of each feature on the training sequences,
        increasing.
    n_features_in_ : int
        d.

    Examples
    --------
    A slow sine hidden in a fast mixture is recovered (up to sign) by the slowest feature:

    >>> t = np.linspace(0, 2 * np.pi, 500)
    >>> sources = np.stack([np.sin(t), np.sin(37 * t)], axis=1)  # slow, fast
    >>> x = sources @ np.array([[1.0, 2.0], [1.0, -1.0]])  # each signal mixes both
    >>> sfa = SlowFeatureAnalysis(1).fit(x)
    >>> y = sfa.transform(x)[:, 0]
    >>> round(float(abs(np.corrcoef(y, sources[:, 0])[0, 1])), 6)
    1.0
    >>> sfa.delta_.round(4)  # about (2 pi / 500)^2: one slow oscillation per sequence
    array([0.0002])
    """

    def __init__(
        self, n_components: int | None = None, *, n_pca: int | None = None, tol: float = 1e-10
    ):
        self.n_components = n_components
        self.n_pca = n_pca
        self.tol = tol

    def fit(self, x) -> SlowFeatureAnalysis:
        """Fit on sequences ``x`` of shape (n_sequences, T, d), or one sequence (T, d).

        Returns ``self``.
        """
        n_components = self.n_components
        if n_components is not None:
            n_components = check_scalar(n_components, "n_components", int, low=1)
        n_pca = self.n_pca
        if n_pca is not None:
            n_pca = check_scalar(n_pca, "n_pca", int, low=1)
        tol = check_scalar(self.tol, "tol", float, low=0, high=1, closed="left")
        x = _as_sequences(x)
        d = x.shape[2]
        frames = x.reshape(-1, d)
        mean = frames.mean(axis=0)
        centred = frames - mean
        cov = centred.T @ centred / len(centred)
        lam, V = np.linalg.eigh(cov)
        lam, V = lam[::-1], V[:, ::-1]  # largest variance first
        keep = lam > tol * max(lam[0], 0.0)
        if lam[0] <= 0 or not keep.any():
            raise InvalidParameterError(
                "The 'x' argument of fit has no variance: every frame is the same."
            )
        r = int(keep.sum()) if n_pca is None else min(int(keep.sum()), n_pca)
        S = V[:, :r] / np.sqrt(lam[:r])
        diffs = np.diff(x, axis=1).reshape(-1, d) @ S  # differences within each sequence only
        cov_dot = diffs.T @ diffs / len(diffs)
        delta, U = np.linalg.eigh((cov_dot + cov_dot.T) / 2)  # increasing
        k = r if n_components is None else n_components
        if k > r:
            raise InvalidParameterError(
                f"The 'n_components' argument of fit must be at most the number of whitened "
                f"dimensions ({r}, limited by n_pca={n_pca} and tol={tol:g}). Got {k} instead."
            )
        W = S @ U[:, :k]
        rows = np.abs(W).argmax(axis=0)
        W = W * np.sign(W[rows, np.arange(k)])
        self.mean_ = mean
        self.whitening_ = S
        self.components_ = W
        self.delta_ = np.maximum(delta[:k], 0.0)
        self.n_features_in_ = d
        return self

    def transform(self, x) -> np.ndarray:
        """Slow features :math:`y = W^\\top (x - \\mu)` of frames ``x`` of shape (..., d).

        Returns an array of shape (..., n_components), the slowest feature first.
        """
        if not hasattr(self, "components_"):
            raise InvalidParameterError("This SlowFeatureAnalysis is not fitted yet: call fit.")
        x = as_float_array(x, "x", min_ndim=1)
        if x.shape[-1] != self.n_features_in_:
            raise InvalidParameterError(
                f"The 'x' argument of transform must have {self.n_features_in_} features in its "
                f"last axis (the model was fitted on {self.n_features_in_}). Got shape {x.shape}."
            )
        return (x - self.mean_) @ self.components_

    def fit_transform(self, x) -> np.ndarray:
        """``fit(x)``, then ``transform(x)``."""
        return self.fit(x).transform(x)
