"""Loss functions in NumPy: the "loss zoo" of the chapter *Training neural networks*.

Taught in :ref:`training` (``book/training.ipynb``). Every loss maps network
outputs ``o`` and targets ``y`` to one number per sample, then reduces over the
batch. With ``n`` samples and ``k`` outputs (classes) the per-sample losses are

=======================  ============================================================
``l1_loss``              :math:`\\sum_j |y_j - o_j|`
``l2_loss``              :math:`\\sum_j (y_j - o_j)^2`
``hinge_loss``           :math:`\\sum_j \\max(0, m - y_j o_j)^p`, ``y`` in {-1, +1}
``logistic_loss``        :math:`\\sum_j \\log(1 + e^{-y_j o_j})`, ``y`` in {-1, +1}
``cross_entropy``        :math:`-\\sum_j y_j \\log \\mathrm{softmax}(o)_j` (the log loss)
``tanimoto_loss``        :math:`-\\langle p,y\\rangle / (\\|p\\|^2+\\|y\\|^2-\\langle p,y\\rangle)`
``cauchy_schwarz_loss``  :math:`-\\log(\\langle p, y\\rangle / (\\|p\\|\\,\\|y\\|))`
=======================  ============================================================

where :math:`p = \\mathrm{softmax}(o)`. Classification losses accept ``y`` either
as integer labels of shape ``(n,)`` or as target distributions (e.g. one-hot
rows) of shape ``(n, k)``. All functions are vectorized, validate their
arguments and never modify their inputs. ``reduction`` is ``"mean"`` (over
samples, the default), ``"sum"`` or ``"none"`` (one value per sample), as in
``torch.nn.functional``; note that, unlike torch's ``l1_loss``/``mse_loss``, the
per-sample loss *sums* over the ``k`` outputs.
"""

from __future__ import annotations

import numpy as np

from ._validation import InvalidParameterError, as_float_array, check_reduction, invalid

__all__ = [
    "one_hot",
    "logsumexp",
    "softmax",
    "log_softmax",
    "l1_loss",
    "l2_loss",
    "hinge_loss",
    "logistic_loss",
    "cross_entropy",
    "cross_entropy_grad",
    "tanimoto_loss",
    "cauchy_schwarz_loss",
]


# --------------------------------------------------------------------------- validation
def _reduce(per_sample: np.ndarray, reduction: str):
    if reduction == "none":
        return per_sample
    if reduction == "sum":
        return float(per_sample.sum())
    return float(per_sample.mean())


def _per_sample(values: np.ndarray) -> np.ndarray:
    """Sum over the output axis when there is one: (n, k) -> (n,), (n,) -> (n,)."""
    return values.sum(axis=-1) if values.ndim == 2 else values


def _pair(o, y, name_o: str = "o", name_y: str = "y") -> tuple[np.ndarray, np.ndarray]:
    o = as_float_array(o, name_o, min_ndim=1)
    y = as_float_array(y, name_y, min_ndim=1)
    if o.ndim > 2:
        raise invalid(name_o, "of shape (n,) or (n, k)", got=f"{o.shape}")
    if o.shape != y.shape:
        raise InvalidParameterError(
            f"The '{name_o}' and '{name_y}' arguments must have the same shape. "
            f"Got {o.shape} and {y.shape}."
        )
    return o, y


def _signs(name: str, y: np.ndarray) -> np.ndarray:
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise InvalidParameterError(
            f"The '{name}' argument must contain only -1 and +1 "
            f"(use 2*y - 1 for 0/1 labels). Got values {np.unique(y)[:5]}."
        )
    return y


def _logits(o) -> np.ndarray:
    o = as_float_array(o, "o", min_ndim=1)
    if o.ndim != 2:
        raise InvalidParameterError(
            f"The 'o' argument (logits) must have shape (n, k). Got {o.shape}."
        )
    return o


def _targets(y, n: int, k: int) -> np.ndarray:
    """Integer labels (n,) or target rows (n, k) -> float target rows (n, k)."""
    y_arr = np.asarray(y)
    if y_arr.ndim == 1:
        if y_arr.shape[0] != n:
            raise InvalidParameterError(
                f"The 'y' argument must have {n} labels, one per row of 'o'. Got {y_arr.shape[0]}."
            )
        return one_hot(y_arr, k)
    y_arr = as_float_array(y_arr, "y", min_ndim=1)
    if y_arr.shape != (n, k):
        raise invalid("y", f"of shape ({n},) or ({n}, {k})", got=f"{y_arr.shape}")
    if np.any(y_arr < 0):
        raise InvalidParameterError(
            "The 'y' argument must be non-negative (a target distribution)."
        )
    return y_arr


# --------------------------------------------------------------------------- softmax family
def one_hot(y, n_classes: int) -> np.ndarray:
    """Integer labels to one-hot rows.

    Parameters
    ----------
    y : array-like of int, shape (n,)
        Labels in ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes ``k``.

    Returns
    -------
    ndarray of shape (n, k)
        ``out[i, y[i]] = 1``, every other entry 0.

    Examples
    --------
    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise invalid("n_classes", "a positive integer", n_classes)
    y = np.asarray(y)
    if y.ndim != 1 or (y.size and not np.issubdtype(y.dtype, np.integer)):
        raise invalid(
            "y", "a 1-D array of integer labels", got=f"shape {y.shape} and dtype {y.dtype}"
        )
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise InvalidParameterError(
            f"The 'y' argument must hold labels in [0, {n_classes}). "
            f"Got values in [{y.min()}, {y.max()}]."
        )
    out = np.zeros((y.shape[0], int(n_classes)))
    out[np.arange(y.shape[0]), y] = 1.0
    return out


def logsumexp(o, axis: int = -1) -> np.ndarray:
    """Stable :math:`\\log \\sum_j e^{o_j}`, computed as :math:`M + \\log\\sum_j e^{o_j - M}`.

    With :math:`M = \\max_j o_j` every exponent is :math:`\\le 0`, so nothing
    overflows, and the largest term is exactly 1, so the sum is never 0.

    Parameters
    ----------
    o : array-like of shape (..., k)
    axis : int
        Axis to reduce.

    Returns
    -------
    ndarray
        ``o`` with ``axis`` removed.

    Examples
    --------
    >>> float(logsumexp([1000.0, 1000.0]))  # naive exp(1000) overflows
    1000.6931471805599
    """
    return _lse(as_float_array(o, "o", min_ndim=1), axis)


def _lse(a: np.ndarray, axis: int) -> np.ndarray:
    """logsumexp without validation; entries may be -inf if each slice has a finite one."""
    m = a.max(axis=axis, keepdims=True)
    return np.squeeze(m, axis=axis) + np.log(np.exp(a - m).sum(axis=axis))


def log_softmax(o, axis: int = -1) -> np.ndarray:
    """:math:`\\log \\mathrm{softmax}(o)_j = o_j - \\mathrm{logsumexp}(o)`, computed stably.

    Examples
    --------
    >>> np.round(log_softmax([[0.0, 0.0]]), 4)
    array([[-0.6931, -0.6931]])
    """
    o = as_float_array(o, "o", min_ndim=1)
    return o - np.expand_dims(_lse(o, axis), axis)


def softmax(o, axis: int = -1) -> np.ndarray:
    """:math:`\\mathrm{softmax}(o)_j = e^{o_j} / \\sum_l e^{o_l}`, with the max subtracted first.

    Parameters
    ----------
    o : array-like of shape (..., k)
        Scores (logits).
    axis : int
        Axis along which the result sums to 1.

    Returns
    -------
    ndarray of the same shape as ``o``
        Positive entries summing to 1 along ``axis``.

    Examples
    --------
    The worked example of the chapter:

    >>> np.round(softmax([1.1, 2.2, 0.2, -1.7]), 3)
    array([0.224, 0.672, 0.091, 0.014])
    >>> softmax([1000.0, 1000.0])  # shifting by the max keeps this finite
    array([0.5, 0.5])
    """
    o = as_float_array(o, "o", min_ndim=1)
    e = np.exp(o - o.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# --------------------------------------------------------------------------- regression-style
def l1_loss(o, y, reduction: str = "mean"):
    """L1 loss :math:`\\ell(o, y) = \\|y - o\\|_1 = \\sum_j |y_j - o_j|`.

    Parameters
    ----------
    o : array-like of shape (n,) or (n, k)
        Predictions.
    y : array-like of the same shape as ``o``
        Targets.
    reduction : {"mean", "sum", "none"}
        Mean or sum over the ``n`` samples, or the ``(n,)`` per-sample losses.

    Returns
    -------
    float, or ndarray of shape (n,) when ``reduction="none"``

    Examples
    --------
    >>> l1_loss([[1.0, 2.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, -1.0]], reduction="none")
    array([3., 1.])
    """
    check_reduction(reduction)
    o, y = _pair(o, y)
    return _reduce(_per_sample(np.abs(y - o)), reduction)


def l2_loss(o, y, reduction: str = "mean"):
    """L2 (squared) loss :math:`\\ell(o, y) = \\|y - o\\|_2^2 = \\sum_j (y_j - o_j)^2`.

    Parameters and returns as in :func:`l1_loss`.

    Examples
    --------
    >>> l2_loss([[1.0, 2.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, -1.0]])
    3.0
    """
    check_reduction(reduction)
    o, y = _pair(o, y)
    return _reduce(_per_sample((y - o) ** 2), reduction)


# --------------------------------------------------------------------------- margin-based
def hinge_loss(o, y, margin: float = 1.0, power: int = 1, reduction: str = "mean"):
    """Hinge loss and its powers :math:`\\ell(o, y) = \\sum_j \\max(0, m - y_j o_j)^p`.

    ``power=1`` is the SVM hinge, ``power=2`` the squared hinge (differentiable
    at the kink), ``power=3`` the cubed hinge. The product :math:`y_j o_j` is
    the *margin*: the loss is 0 once it exceeds ``m``.

    Parameters
    ----------
    o : array-like of shape (n,) or (n, k)
        Scores.
    y : array-like of the same shape, entries in {-1, +1}
        Signs (for ``k`` classes: +1 for the true class, -1 elsewhere).
    margin : float > 0
        ``m``; 1 for the SVM, 1/2 in Janocha & Czarnecki's table.
    power : int >= 1
        ``p``.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    float, or ndarray of shape (n,) when ``reduction="none"``

    Examples
    --------
    >>> hinge_loss([2.0, 0.5, -1.0], [1, 1, 1], reduction="none")
    array([0. , 0.5, 2. ])
    >>> hinge_loss([2.0, 0.5, -1.0], [1, 1, 1], power=2, reduction="none")
    array([0.  , 0.25, 4.  ])
    """
    check_reduction(reduction)
    o, y = _pair(o, y)
    _signs("y", y)
    margin = float(margin)
    if not (np.isfinite(margin) and margin > 0):
        raise invalid("margin", "a real number > 0", margin)
    if isinstance(power, bool) or not isinstance(power, (int, np.integer)) or power < 1:
        raise invalid("power", "an integer >= 1", power)
    return _reduce(_per_sample(np.maximum(0.0, margin - y * o) ** int(power)), reduction)


def logistic_loss(o, y, reduction: str = "mean"):
    """Binary log (logistic) loss :math:`\\ell(o, y) = \\sum_j \\log(1 + e^{-y_j o_j})`.

    It equals :math:`-\\log \\sigma(y_j o_j)` with :math:`\\sigma` the sigmoid,
    i.e. the cross-entropy of a two-class softmax with logits :math:`(0, o)`.
    Computed as ``logaddexp(0, -y*o)`` so that large margins do not overflow.

    Parameters
    ----------
    o : array-like of shape (n,) or (n, k)
        Scores.
    y : array-like of the same shape, entries in {-1, +1}
    reduction : {"mean", "sum", "none"}

    Examples
    --------
    >>> round(logistic_loss([0.0], [1]), 4)  # log 2 at zero margin
    0.6931
    >>> logistic_loss([-1000.0], [1])  # -log sigmoid(-1000) = 1000, without overflow
    1000.0
    """
    check_reduction(reduction)
    o, y = _pair(o, y)
    _signs("y", y)
    return _reduce(_per_sample(np.logaddexp(0.0, -y * o)), reduction)


# --------------------------------------------------------------------------- probability-based
def cross_entropy(o, y, reduction: str = "mean"):
    """Softmax cross-entropy (the log loss).

    .. math:: \\ell(o, y) = -\\sum_j y_j \\log\\mathrm{softmax}(o)_j

    With an integer label this is :math:`-o_y + \\mathrm{logsumexp}(o)`, which is
    how it is computed (never ``log(softmax(o))``, which underflows).

    Parameters
    ----------
    o : array-like of shape (n, k)
        Logits.
    y : array-like of int, shape (n,), or of float, shape (n, k)
        Labels in ``0 .. k-1``, or target distributions (rows summing to 1).
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    float, or ndarray of shape (n,) when ``reduction="none"``

    Examples
    --------
    The worked example of the chapter, true class 0:

    >>> round(cross_entropy([[1.1, 2.2, 0.2, -1.7]], [0]), 4)
    1.4977
    """
    check_reduction(reduction)
    o = _logits(o)
    t = _targets(y, *o.shape)
    return _reduce(-(t * log_softmax(o)).sum(axis=1), reduction)


def cross_entropy_grad(o, y, reduction: str = "mean") -> np.ndarray:
    """Gradient of :func:`cross_entropy` with respect to the logits.

    .. math::
       \\frac{\\partial \\ell}{\\partial o_j} = \\mathrm{softmax}(o)_j \\textstyle\\sum_l y_l - y_j,

    which is :math:`p - y` for a one-hot (or any normalized) target. With
    ``reduction="mean"`` it is divided by ``n``.

    Parameters
    ----------
    o : array-like of shape (n, k)
    y : array-like of int, shape (n,), or of float, shape (n, k)
    reduction : {"mean", "sum", "none"}
        ``"sum"`` and ``"none"`` both give the per-sample gradients.

    Returns
    -------
    ndarray of shape (n, k)

    Examples
    --------
    >>> np.round(cross_entropy_grad([[1.1, 2.2, 0.2, -1.7]], [0]), 3)
    array([[-0.776,  0.672,  0.091,  0.014]])
    """
    check_reduction(reduction)
    o = _logits(o)
    t = _targets(y, *o.shape)
    g = softmax(o) * t.sum(axis=1, keepdims=True) - t
    return g / o.shape[0] if reduction == "mean" else g


def tanimoto_loss(o, y, reduction: str = "mean"):
    """Tanimoto loss of the softmax probabilities :math:`p = \\mathrm{softmax}(o)`.

    .. math::
       \\ell(o, y) = -\\frac{\\langle p, y\\rangle}
                          {\\|p\\|_2^2 + \\|y\\|_2^2 - \\langle p, y\\rangle}

    The fraction is the Tanimoto (extended Jaccard) similarity of ``p`` and
    ``y``; for non-negative vectors it lies in [0, 1] and equals 1 only when
    ``p == y``, so the loss lies in [-1, 0].

    Parameters
    ----------
    o : array-like of shape (n, k)
        Logits.
    y : array-like of int, shape (n,), or of float, shape (n, k)
    reduction : {"mean", "sum", "none"}

    Examples
    --------
    >>> o = [[0.0, 0.0]]          # p = (1/2, 1/2), y = (1, 0)
    >>> round(tanimoto_loss(o, [0]), 4)   # -(1/2) / (1/2 + 1 - 1/2)
    -0.5
    """
    check_reduction(reduction)
    o = _logits(o)
    t = _targets(y, *o.shape)
    p = softmax(o)
    pt = (p * t).sum(axis=1)
    denom = (p * p).sum(axis=1) + (t * t).sum(axis=1) - pt
    return _reduce(-pt / denom, reduction)


def cauchy_schwarz_loss(o, y, reduction: str = "mean"):
    """Cauchy-Schwarz divergence of the softmax probabilities :math:`p = \\mathrm{softmax}(o)`.

    .. math:: \\ell(o, y) = -\\log \\frac{\\langle p, y\\rangle}{\\|p\\|_2\\,\\|y\\|_2}

    By the Cauchy-Schwarz inequality the fraction (the cosine of the angle
    between ``p`` and ``y``) is at most 1, so the loss is :math:`\\ge 0`, with
    equality exactly when ``p`` is parallel to ``y``. Computed in the log
    domain for a one-hot ``y``: :math:`-\\log p_y + \\log\\|p\\|_2`.

    Parameters
    ----------
    o : array-like of shape (n, k)
        Logits.
    y : array-like of int, shape (n,), or of float, shape (n, k)
        Each target row must have a positive entry.
    reduction : {"mean", "sum", "none"}

    Examples
    --------
    >>> o = [[0.0, 0.0]]          # p = (1/2, 1/2), y = (1, 0): cosine 1/sqrt(2)
    >>> round(cauchy_schwarz_loss(o, [0]), 4)   # log(sqrt(2))
    0.3466
    """
    check_reduction(reduction)
    o = _logits(o)
    t = _targets(y, *o.shape)
    if np.any(t.sum(axis=1) <= 0):
        raise InvalidParameterError(
            "The 'y' argument must have at least one positive entry per row."
        )
    logp = log_softmax(o)
    # log <p, t> = logsumexp(log p + log t) over the entries where t > 0
    with np.errstate(divide="ignore"):
        log_t = np.log(t)
    log_pt = _lse(logp + log_t, axis=1)
    log_norm_p = 0.5 * _lse(2.0 * logp, axis=1)
    log_norm_t = np.log(np.linalg.norm(t, axis=1))
    return _reduce(-(log_pt - log_norm_p - log_norm_t), reduction)
