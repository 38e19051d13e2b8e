r"""Kernel machines: the dual perceptron and kernel ridge classification.

Taught in *From kernels to neural networks* (``book/kernels-to-networks.ipynb``). Both learn a
function of the hypothesis space :math:`H_K = \{\sum_i a_i K(x, x_i)\}`: only kernel values
(dot products of features) appear, never the features themselves.

*Kernel perceptron.* Starting from :math:`w = 0`, the perceptron's weight is always a sum of
training points, :math:`w = \sum_i \alpha_i y_i \phi(x_i)` with :math:`\alpha_i` the number of
mistakes made on :math:`x_i`, so

.. math::

    f(x) = \sum_i \alpha_i y_i K(x_i, x) + b, \qquad
    \text{on a mistake on } x_i:\ \alpha_i \leftarrow \alpha_i + 1,\ b \leftarrow b + y_i .

*Kernel ridge classifier.* Least squares on labels :math:`\pm 1` with a penalty
:math:`\lambda\|f\|_K^2`, whose solution is :math:`f(x) = \sum_i a_i K(x_i, x)` with
:math:`a = (K + \lambda I)^{-1} y` (plus the mean label as an offset).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import (
    InvalidParameterError,
    as_float_array,
    check_option,
    check_scalar,
    check_seed,
)
from .features import KERNELS, kernel_matrix
from .perceptron import Perceptron, signed_labels

__all__ = ["KernelPerceptron", "KernelRidgeClassifier"]


class _KernelBase(Perceptron):
    """What the kernel machines share: kernel arguments, the fitted check, the dual decision."""

    kernel: str
    gamma: float | None
    degree: int
    coef0: float
    X_fit_: np.ndarray
    dual_coef_: np.ndarray
    _kargs_: dict

    def _kernel_args(self) -> dict:
        check_option(self.kernel, "kernel", KERNELS)
        gamma = self.gamma
        if gamma is not None:
            gamma = check_scalar(gamma, "gamma", float, low=0, closed="neither")
        return {
            "kernel": self.kernel,
            "gamma": gamma,
            "degree": check_scalar(self.degree, "degree", int, low=1),
            "coef0": check_scalar(self.coef0, "coef0", float),
        }

    def _check_fitted(self, X: Any) -> np.ndarray:
        if not hasattr(self, "dual_coef_"):
            raise self._not_fitted()
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.X_fit_.shape[1]:
            raise self._shape_error(X)
        return X

    def _not_fitted(self) -> InvalidParameterError:
        return InvalidParameterError(
            f"This {type(self).__name__} is not fitted yet; call fit(X, y) first."
        )

    def _shape_error(self, X: np.ndarray) -> InvalidParameterError:
        return InvalidParameterError(
            f"The 'X' argument has {X.shape[1]} features but the model was fitted on "
            f"{self.X_fit_.shape[1]}."
        )

    def decision_function(self, X: Any) -> np.ndarray:
        r""":math:`f(x) = \sum_i a_i K(x_i, x) + b` for every row of ``X``."""
        X = self._check_fitted(X)
        K = kernel_matrix(X, self.X_fit_, **self._kargs_)
        return K @ self.dual_coef_ + self.intercept_


class KernelPerceptron(_KernelBase):
    r"""The perceptron in its dual form, with a kernel.

    Parameters
    ----------
    kernel : {"linear", "poly", "rbf"}
    n_iter : int >= 1
        The most epochs.
    gamma, degree, coef0
        The kernel's parameters (see :func:`~dlcourse.kernels.kernel_matrix`).
    shuffle : bool
        Visit the examples in a random order each epoch (else in the order given); with the
        same ``seed`` the order is the one :class:`Perceptron` uses, so a linear kernel gives
        the same classifier.
    seed : int, Generator or None
        The order of the examples.

    Attributes
    ----------
    dual_coef_ : ndarray of shape (n_samples,)
        :math:`\alpha_i y_i`.
    intercept_ : float
    X_fit_ : ndarray
        The training inputs (the kernel expansion's points).
    classes_ : ndarray of shape (2,)
    n_iter_ : int
        Passes made over the data.
    n_mistakes_ : list of int
        Mistakes in each pass.

    Examples
    --------
    >>> from sklearn.datasets import make_circles
    >>> X, y = make_circles(200, factor=0.4, noise=0.05, random_state=0)
    >>> clf = KernelPerceptron("rbf", gamma=2.0, seed=0).fit(X, y)
    >>> clf.score(X, y)
    1.0
    """

    def __init__(
        self,
        kernel: str = "rbf",
        n_iter: int = 100,
        *,
        gamma: float | None = None,
        degree: int = 3,
        coef0: float = 1.0,
        shuffle: bool = True,
        seed: Any = None,
    ) -> None:
        self.kernel = kernel
        self.n_iter = n_iter
        self.shuffle = shuffle
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.seed = seed

    def fit(self, X: Any, y: Any) -> KernelPerceptron:
        """Run the dual perceptron updates; return ``self``."""
        self._kargs_ = self._kernel_args()
        n_iter = check_scalar(self.n_iter, "n_iter", int, low=1)
        shuffle = check_scalar(self.shuffle, "shuffle", bool)
        rng = check_seed(self.seed)
        X = as_float_array(X, "X", ndim=2)
        ypm, self.classes_ = signed_labels(y, X.shape[0])
        K = kernel_matrix(X, None, **self._kargs_)
        alpha = np.zeros(X.shape[0])
        b = 0.0
        self.n_mistakes_ = []
        for _ in range(n_iter):
            mistakes = 0
            order = rng.permutation(X.shape[0]) if shuffle else range(X.shape[0])
            for i in order:
                if ypm[i] * (K[i] @ (alpha * ypm) + b) <= 0:
                    alpha[i] += 1.0
                    b += ypm[i]
                    mistakes += 1
            self.n_mistakes_.append(mistakes)
            if mistakes == 0:
                break
        self.X_fit_ = X.copy()
        self.dual_coef_ = alpha * ypm
        self.intercept_ = float(b)
        self.n_iter_ = len(self.n_mistakes_)
        return self


class KernelRidgeClassifier(_KernelBase):
    r"""Kernel ridge regression on labels :math:`\pm 1`, thresholded at zero.

    :math:`a = (K + \lambda I)^{-1}(y - \bar y)`, :math:`f(x) = \sum_i a_i K(x_i, x) + \bar y`.

    Parameters
    ----------
    kernel : {"linear", "poly", "rbf"}
    lam : float > 0
        The ridge penalty :math:`\lambda`.
    gamma, degree, coef0
        The kernel's parameters (see :func:`~dlcourse.kernels.kernel_matrix`).

    Attributes
    ----------
    dual_coef_ : ndarray of shape (n_samples,)
    intercept_ : float
    X_fit_ : ndarray
        The training inputs (the kernel expansion's points).
    classes_ : ndarray of shape (2,)

    Examples
    --------
    >>> from sklearn.datasets import make_circles
    >>> X, y = make_circles(200, factor=0.4, noise=0.05, random_state=0)
    >>> KernelRidgeClassifier("rbf", lam=0.1, gamma=2.0).fit(X, y).score(X, y)
    1.0
    """

    def __init__(
        self,
        kernel: str = "rbf",
        lam: float = 1.0,
        *,
        gamma: float | None = None,
        degree: int = 3,
        coef0: float = 1.0,
    ) -> None:
        self.kernel = kernel
        self.lam = lam
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0

    def fit(self, X: Any, y: Any) -> KernelRidgeClassifier:
        """Solve :math:`(K + \\lambda I) a = y - \\bar y`; return ``self``."""
        self._kargs_ = self._kernel_args()
        lam = check_scalar(self.lam, "lam", float, low=0, closed="neither")
        X = as_float_array(X, "X", ndim=2)
        ypm, self.classes_ = signed_labels(y, X.shape[0])
        K = kernel_matrix(X, None, **self._kargs_)
        mean = float(ypm.mean())
        self.dual_coef_ = np.linalg.solve(K + lam * np.eye(X.shape[0]), ypm - mean)
        self.intercept_ = mean
        self.X_fit_ = X.copy()
        return self
