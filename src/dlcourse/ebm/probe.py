"""Evaluating a representation with few labels: linear probes and a supervised baseline.

Taught in :ref:`energy-based-models` (``book/energy-based-models.ipynb``).

A self-supervised encoder :math:`f` is judged by what a *linear* classifier can read off its
frozen features when only a small fraction of the training labels is available (the 1% / 10%
tables of PIRL and SimCLR). :func:`linear_probe` draws a class-balanced labelled subset
(:func:`label_subset`), computes :math:`f(x)` without gradients, standardises the features and
fits a multinomial logistic regression (scikit-learn's ``LogisticRegression``), then reports the
accuracy on held-out data. :func:`supervised_baseline` trains the same architecture end to end
on the same labelled subset, the reference a pretrained encoder has to beat.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._validation import InvalidParameterError, check_scalar, check_seed, invalid, renamed_kwargs

__all__ = ["label_subset", "encode", "linear_probe", "supervised_baseline"]


def _labels(y) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise invalid(
            "y", "a 1-d array of integer class labels", got=f"shape {y.shape}, dtype {y.dtype}"
        )
    return y


def label_subset(y, fraction: float, seed: int = 0) -> np.ndarray:
    """Indices of a class-balanced labelled subset: ``max(1, round(fraction * n_c))`` per class.

    Parameters
    ----------
    y : array-like of int, shape (n,)
    fraction : float in (0, 1]
    seed : int

    Returns
    -------
    ndarray of int, sorted indices into ``y``.

    Examples
    --------
    >>> y = np.repeat(np.arange(3), 100)
    >>> len(label_subset(y, 0.01)), np.bincount(y[label_subset(y, 0.1)]).tolist()
    (3, [10, 10, 10])
    """
    y = _labels(y)
    f = check_scalar(fraction, "fraction", float, low=0, high=1, closed="right")
    rng = check_seed(seed)
    picks = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        k = min(len(members), max(1, int(round(f * len(members)))))
        picks.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(picks))


def encode(encoder: Callable, x, batch_size: int = 512) -> np.ndarray:
    """Frozen features ``encoder(x)``, a float64 array of shape (n, d), computed without gradients.

    A ``torch.nn.Module`` runs in eval mode on its own device (its mode is restored); any other
    callable receives a float32 torch tensor and may return a tensor or an array.
    """
    import torch

    from ..trainer import as_tensor, predict

    x = as_tensor(x)
    if isinstance(encoder, torch.nn.Module):
        feats = predict(encoder, x, batch_size=batch_size)
    else:
        with torch.no_grad():
            feats = encoder(x.float())
    feats = feats.detach().cpu().numpy() if isinstance(feats, torch.Tensor) else np.asarray(feats)
    feats = feats.reshape(len(x), -1).astype(np.float64)
    if not np.all(np.isfinite(feats)):
        raise InvalidParameterError("The encoder produced inf or NaN features.")
    return feats


@renamed_kwargs(max_iter="n_iter")
def linear_probe(
    encoder: Callable,
    x,
    y,
    fraction: float,
    *,
    x_test=None,
    y_test=None,
    seed: int = 0,
    C: float = 1.0,
    n_iter: int = 2000,
) -> float:
    """Test accuracy of a logistic regression trained on frozen features of a labelled fraction.

    Parameters
    ----------
    encoder : callable or torch.nn.Module
        The (frozen) representation :math:`f`; never trained here.
    x, y : arrays of shape (n, ...) and (n,)
        The training pool; only the class-balanced subset ``label_subset(y, fraction, seed)``
        has its labels used.
    fraction : float in (0, 1]
        Fraction of the labels available, e.g. 0.01 or 0.1.
    x_test, y_test : arrays, optional
        Where accuracy is measured. Default: the rest of the pool (the unlabelled part).
    seed : int
        Seed of the labelled subset.
    C : float
        Inverse L2 regularisation strength of the logistic regression.
    n_iter : int
        Maximum iterations of the logistic regression's solver (``max_iter=`` is its
        deprecated old name).

    Returns
    -------
    float
        Accuracy in [0, 1].

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 200); x = rng.normal(size=(400, 2)) + 4 * y[:, None]
    >>> linear_probe(lambda t: t, x.astype(np.float32), y, 0.05) > 0.95
    True
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    y = _labels(y)
    if len(x) != len(y):
        raise InvalidParameterError(
            f"x and y must have the same length. Got {len(x)} and {len(y)}."
        )
    labelled = label_subset(y, fraction, seed)
    if (x_test is None) != (y_test is None):
        raise InvalidParameterError("Give both x_test and y_test, or neither.")
    if x_test is None:
        rest = np.setdiff1d(np.arange(len(y)), labelled)
        if len(rest) == 0:
            raise InvalidParameterError("fraction=1 leaves no test data: pass x_test and y_test.")
        x_test, y_test = x[rest], y[rest]
    y_test = _labels(y_test)
    if len(x_test) != len(y_test):
        raise InvalidParameterError(
            f"x_test and y_test must have the same length. Got {len(x_test)} and {len(y_test)}."
        )
    f_train = encode(encoder, x[labelled])
    f_test = encode(encoder, x_test)
    scaler = StandardScaler().fit(f_train)
    clf = LogisticRegression(C=C, max_iter=n_iter)
    clf.fit(scaler.transform(f_train), y[labelled])
    return float(clf.score(scaler.transform(f_test), y_test))


def supervised_baseline(
    encoder,
    x,
    y,
    fraction: float,
    *,
    x_test,
    y_test,
    n_classes: int | None = None,
    epochs: int = 50,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
) -> float:
    """Train ``encoder`` + a linear layer end to end on the labelled subset; return test accuracy.

    The labelled subset is the one :func:`linear_probe` uses for the same ``fraction`` and
    ``seed``, so the two numbers are comparable. Uses :func:`dlcourse.trainer.train` (Adam,
    cross-entropy); ``encoder`` is trained in place, so pass a freshly initialised one.
    """
    import torch

    from ..trainer import evaluate, train

    y = _labels(y)
    labelled = label_subset(y, fraction, seed)
    n_classes = int(n_classes or (max(y.max(), np.max(y_test)) + 1))
    d = encode(encoder, x[:2]).shape[1]
    dev = next(encoder.parameters()).device
    model = torch.nn.Sequential(encoder, torch.nn.Linear(d, n_classes)).to(dev)
    train(
        model,
        (x[labelled], y[labelled]),
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
        progress=False,
    )
    return evaluate(model, x_test, y_test)
