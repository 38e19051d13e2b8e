"""Generative versus discriminative classifiers: learning curves of naive Bayes and logistic
regression (Ng and Jordan 2002).

Taught in :ref:`generative-models` (``book/generative-models.ipynb``).

A *generative* classifier models :math:`p(x \\mid y)\\,p(y)` and classifies with Bayes' rule,
:math:`\\hat y = \\arg\\max_y p(x\\mid y)\\,p(y)`; naive Bayes assumes the features independent
given the class. A *discriminative* one models :math:`p(y \\mid x)` directly (logistic
regression). Both are linear in :math:`x` for Bernoulli features, but naive Bayes reaches its
(higher) asymptotic error with :math:`O(\\log p)` examples while logistic regression needs
:math:`O(p)`: the generative model wins with few examples, the discriminative one with many.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_float_array, check_seed, invalid

__all__ = ["naive_bayes_data", "learning_curves"]


def naive_bayes_data(
    n: int,
    n_features: int = 100,
    n_copies: int = 6,
    delta: float = 0.06,
    copy_delta: float = 0.2,
    seed=0,
):
    """Binary data from a naive Bayes model, except for one feature repeated ``n_copies`` times.

    :math:`y \\in \\{0, 1\\}` with equal probability; ``n_features`` independent bits with
    :math:`P(x_j = 1 \\mid y) = \\tfrac12 \\pm \\delta` (+ for class 1); then one more bit with
    :math:`P = \\tfrac12 \\pm \\delta_c`, appended ``n_copies`` times. The copies break the
    independence assumption: naive Bayes counts that evidence ``n_copies`` times, which raises
    its asymptotic error, while logistic regression learns to share the weight among them.

    Returns
    -------
    x : ndarray of bool, shape (n, n_features + n_copies)
    y : ndarray of int64, shape (n,)

    Examples
    --------
    >>> x, y = naive_bayes_data(5, n_features=3, n_copies=2, seed=0)
    >>> x.shape, bool((x[:, 3] == x[:, 4]).all())
    ((5, 5), True)
    """
    from .._validation import check_scalar

    n = check_scalar(n, "n", int, low=1)
    n_features = check_scalar(n_features, "n_features", int, low=0)
    n_copies = check_scalar(n_copies, "n_copies", int, low=0)
    delta = check_scalar(delta, "delta", float, low=0, high=0.5)
    copy_delta = check_scalar(copy_delta, "copy_delta", float, low=0, high=0.5)
    rng = check_seed(seed)
    y = rng.integers(0, 2, n)
    sign = np.where(y == 1, 1.0, -1.0)
    x = rng.random((n, n_features)) < 0.5 + delta * sign[:, None]
    c = rng.random(n) < 0.5 + copy_delta * sign
    return np.concatenate([x, np.repeat(c[:, None], n_copies, 1)], 1), y.astype(np.int64)


def learning_curves(x_train, y_train, x_test, y_test, sizes, n_repeats: int = 5, seed=0):
    """Test accuracy of Bernoulli naive Bayes and logistic regression against training-set size.

    For each size :math:`m` and repetition, a class-stratified random subset of :math:`m` training
    examples fits :class:`sklearn.naive_bayes.BernoulliNB` (on features thresholded at 0.5,
    Laplace smoothing) and :class:`sklearn.linear_model.LogisticRegression` (on the same binary
    pixels, default :math:`\\ell_2` penalty :math:`C = 1`).

    Parameters
    ----------
    x_train, x_test : ndarray of shape (n, p), values in [0, 1] (or bool)
    y_train, y_test : ndarray of shape (n,), integer labels
    sizes : sequence of int
        Training-set sizes (each at least the number of classes, at most ``len(x_train)``).
    n_repeats : int >= 1
        Random subsets per size; the accuracies are averaged.
    seed : int or numpy.random.Generator

    Returns
    -------
    dict with ``"sizes"`` (ndarray of int), ``"naive_bayes"`` and ``"logistic"`` (ndarrays of
    mean test accuracies, one per size).

    Examples
    --------
    >>> x, y = naive_bayes_data(3000, seed=1)
    >>> xt, yt = naive_bayes_data(2000, seed=2)
    >>> c = learning_curves(x, y, xt, yt, [10, 1000], n_repeats=3)
    >>> bool(c["naive_bayes"][0] > c["logistic"][0]), bool(c["logistic"][1] > c["naive_bayes"][1])
    (True, True)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import BernoulliNB

    from .._validation import check_scalar

    x_train = as_float_array(x_train, "x_train", ndim=2) > 0.5
    x_test = as_float_array(x_test, "x_test", ndim=2, shape=(None, x_train.shape[1])) > 0.5
    y_train = np.asarray(y_train).astype(np.int64)
    y_test = np.asarray(y_test).astype(np.int64)
    n_repeats = check_scalar(n_repeats, "n_repeats", int, low=1)
    classes = np.unique(y_train)
    sizes = np.asarray([int(s) for s in sizes])
    if sizes.size == 0 or sizes.min() < len(classes) or sizes.max() > len(x_train):
        raise invalid(
            "sizes", f"training-set sizes between {len(classes)} and {len(x_train)}", sizes
        )
    rng = check_seed(seed)
    nb = np.zeros(len(sizes))
    lr = np.zeros(len(sizes))
    for i, m in enumerate(sizes):
        for _ in range(n_repeats):
            # one example of each class first, then the rest at random
            first = [rng.choice(np.flatnonzero(y_train == c)) for c in classes]
            rest = rng.permutation(np.setdiff1d(np.arange(len(y_train)), first))
            idx = np.concatenate([first, rest[: m - len(classes)]])
            xb, yb = x_train[idx], y_train[idx]
            nb[i] += BernoulliNB().fit(xb, yb).score(x_test, y_test) / n_repeats
            model = LogisticRegression(max_iter=300)
            lr[i] += model.fit(xb, yb).score(x_test, y_test) / n_repeats
    return {"sizes": sizes, "naive_bayes": nb, "logistic": lr}
