r"""The perceptron: a linear classifier trained one mistake at a time.

Taught in *From kernels to neural networks* (``book/kernels-to-networks.ipynb``). With labels
:math:`y \in \{-1, +1\}` the classifier is :math:`h(x) = \operatorname{sgn}(w^\top x + b)`, its
loss on one example is

.. math::

    \ell(w, b; x, y) = \max\bigl(0,\ -y\,(w^\top x + b)\bigr),

and a stochastic (sub)gradient step on it with rate :math:`\eta` is the perceptron update,
taken only when :math:`y\,(w^\top x + b) \le 0` (a mistake):

.. math::

    w \leftarrow w + \eta\, y\, x, \qquad b \leftarrow b + \eta\, y .

The loss is zero as soon as a point is on the right side, however close to the boundary: no
margin, which is what the SVM adds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, as_float_array, check_scalar, check_seed

__all__ = ["perceptron_loss", "Perceptron"]


def signed_labels(y: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Map two classes to ``-1, +1`` (the smaller class to -1); return ``(y_pm, classes)``."""
    y = np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y)
    if y.ndim != 1 or y.shape[0] != n:
        raise InvalidParameterError(
            f"The 'y' argument must be a 1-D array of {n} labels, one per row of X. "
            f"Got shape {y.shape}."
        )
    classes = np.unique(y)
    if classes.size != 2:
        raise InvalidParameterError(
            f"The 'y' argument must hold exactly two classes for a binary classifier. "
            f"Got {classes.size}: {classes[:6].tolist()}."
        )
    return np.where(y == classes[1], 1.0, -1.0), classes


def perceptron_loss(w: Any, b: float, X: Any, y: Any) -> float:
    r"""Mean perceptron loss :math:`\frac1n\sum_i \max(0, -y_i (w^\top x_i + b))`.

    Parameters
    ----------
    w : array_like of shape (n_features,)
    b : float
    X : array_like of shape (n_samples, n_features)
    y : array_like of shape (n_samples,)
        Labels in ``{-1, +1}``.

    Returns
    -------
    float

    Examples
    --------
    >>> perceptron_loss([1.0, 0.0], 0.0, [[2.0, 0.0], [1.0, 1.0]], [1, -1])
    0.5
    """
    X = as_float_array(X, "X", ndim=2)
    w = as_float_array(w, "w", ndim=1)
    b = check_scalar(b, "b", float)
    y = as_float_array(y, "y", ndim=1)
    if w.shape[0] != X.shape[1] or y.shape[0] != X.shape[0]:
        raise InvalidParameterError(
            f"The 'w', 'X' and 'y' arguments must have shapes (d,), (n, d) and (n,). Got "
            f"{w.shape}, {X.shape} and {y.shape}."
        )
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise InvalidParameterError("The 'y' argument of perceptron_loss must hold -1 and +1.")
    return float(np.mean(np.maximum(0.0, -y * (X @ w + b))))


class Perceptron:
    r"""Rosenblatt's perceptron, scikit-learn style.

    Each epoch visits the examples (in a random order from ``seed`` when ``shuffle``) and applies
    :math:`w \leftarrow w + \eta y x,\ b \leftarrow b + \eta y` on every mistake
    (:math:`y(w^\top x + b) \le 0`); it stops after an epoch without mistakes.

    Parameters
    ----------
    n_iter : int >= 1
        The most epochs (passes over the data).
    lr : float > 0
        The step :math:`\eta` (for the perceptron it only rescales :math:`w, b` when they start
        at zero).
    shuffle : bool
        Visit the examples in a random order each epoch (else in the order given).
    seed : int, Generator or None
        The order of the examples when ``shuffle``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    classes_ : ndarray of shape (2,)
        The two labels; ``classes_[1]`` is the positive class.
    n_iter_ : int
        Epochs run.
    n_mistakes_ : list of int
        Mistakes (updates) in each epoch.

    Examples
    --------
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [3.0, 3.0]])
    >>> y = np.array([0, 1, 0, 1])
    >>> clf = Perceptron(n_iter=50, seed=0).fit(X, y)
    >>> clf.predict(X)
    array([0, 1, 0, 1])
    """

    def __init__(
        self, n_iter: int = 100, lr: float = 1.0, *, shuffle: bool = True, seed: Any = None
    ) -> None:
        self.n_iter = n_iter
        self.lr = lr
        self.shuffle = shuffle
        self.seed = seed

    def fit(self, X: Any, y: Any) -> Perceptron:
        """Run the perceptron updates on ``(X, y)``; return ``self``."""
        n_iter = check_scalar(self.n_iter, "n_iter", int, low=1)
        lr = check_scalar(self.lr, "lr", float, low=0, closed="neither")
        shuffle = check_scalar(self.shuffle, "shuffle", bool)
        rng = check_seed(self.seed)
        X = as_float_array(X, "X", ndim=2)
        ypm, self.classes_ = signed_labels(y, X.shape[0])
        w = np.zeros(X.shape[1])
        b = 0.0
        self.n_mistakes_ = []
        for _ in range(n_iter):
            mistakes = 0
            order = rng.permutation(X.shape[0]) if shuffle else range(X.shape[0])
            for i in order:
                if ypm[i] * (X[i] @ w + b) <= 0:
                    w += lr * ypm[i] * X[i]
                    b += lr * ypm[i]
                    mistakes += 1
            self.n_mistakes_.append(mistakes)
            if mistakes == 0:
                break
        self.coef_, self.intercept_ = w, float(b)
        self.n_iter_ = len(self.n_mistakes_)
        return self

    def _check_fitted(self, X: Any) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise InvalidParameterError(
                f"This {type(self).__name__} is not fitted yet; call fit(X, y) first."
            )
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.coef_.shape[0]:
            raise InvalidParameterError(
                f"The 'X' argument has {X.shape[1]} features but the model was fitted on "
                f"{self.coef_.shape[0]}."
            )
        return X

    def decision_function(self, X: Any) -> np.ndarray:
        r""":math:`w^\top x + b` for every row of ``X`` (positive: ``classes_[1]``)."""
        X = self._check_fitted(X)
        return X @ self.coef_ + self.intercept_

    def predict(self, X: Any) -> np.ndarray:
        """The predicted labels (``classes_[1]`` where the decision function is > 0)."""
        return np.where(self.decision_function(X) > 0, self.classes_[1], self.classes_[0])

    def score(self, X: Any, y: Any) -> float:
        """Accuracy on ``(X, y)``."""
        return float(np.mean(self.predict(X) == np.asarray(y)))
