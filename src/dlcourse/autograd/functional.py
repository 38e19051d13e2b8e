"""Softmax, log-softmax and the losses of :mod:`dlcourse.autograd`.

Taught in the chapter *Training neural networks* (book/training).

The softmax turns scores :math:`z \\in \\mathbb R^K` into probabilities

.. math:: s_i = \\frac{e^{z_i}}{\\sum_j e^{z_j}} = \\frac{e^{z_i - m}}{\\sum_j e^{z_j - m}},
   \\qquad m = \\max_j z_j ,

where subtracting :math:`m` (the *log-sum-exp trick*) changes nothing mathematically but
keeps every exponent :math:`\\le 0`, so scores like 1000 neither overflow nor give
``nan``. The cross-entropy of integer labels :math:`y_n` is the mean negative
log-probability of the right class,
:math:`L = -\\frac1N \\sum_n \\log s_{n, y_n}`, and its gradient with respect to the scores
is the famous :math:`\\partial L/\\partial z_n = (s_n - \\mathrm{onehot}(y_n)) / N`.
Each of these is a single operation (a :class:`~dlcourse.autograd.tensor.Function`) with
that closed-form backward rule, rather than a chain of ``exp``, ``sum`` and ``log``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError
from .tensor import Context, Function, Tensor, as_tensor

__all__ = ["softmax", "log_softmax", "cross_entropy", "mse_loss", "Softmax", "LogSoftmax"]


def _log_softmax(z: np.ndarray, axis: int) -> np.ndarray:
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """:math:`s = \\mathrm{softmax}(z)` along ``axis``;
    :math:`\\bar z = s \\odot (\\bar s - \\langle \\bar s, s \\rangle)`.

    The Jacobian is :math:`\\partial s_i/\\partial z_j = s_i(\\delta_{ij} - s_j)`, so the
    vector-Jacobian product needs no :math:`K \\times K` matrix.
    """

    @staticmethod
    def forward(ctx: Context, z: np.ndarray, axis: int = -1) -> np.ndarray:
        s = np.exp(_log_softmax(z, axis))
        ctx.save_for_backward(s)
        ctx.axis = axis
        return s

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (s,) = ctx.saved
        return s * (grad - (grad * s).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    """:math:`\\ell = z - \\log \\sum_j e^{z_j}` along ``axis``;
    :math:`\\bar z = \\bar \\ell - s \\sum_j \\bar \\ell_j` with :math:`s = e^{\\ell}`."""

    @staticmethod
    def forward(ctx: Context, z: np.ndarray, axis: int = -1) -> np.ndarray:
        out = _log_softmax(z, axis)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved
        return grad - np.exp(out) * grad.sum(axis=ctx.axis, keepdims=True)


class CrossEntropy(Function):
    """:math:`L = -\\frac1N \\sum_n \\log \\mathrm{softmax}(z_n)_{y_n}`;
    :math:`\\bar z = \\bar L\\, (s - \\mathrm{onehot}(y)) / N`."""

    @staticmethod
    def forward(ctx: Context, logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
        log_probs = _log_softmax(logits, axis=1)
        rows = np.arange(len(targets))
        ctx.save_for_backward(log_probs, rows, targets)
        return -log_probs[rows, targets].mean()

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        log_probs, rows, targets = ctx.saved
        delta = np.exp(log_probs)
        delta[rows, targets] -= 1
        return delta * (grad / len(targets))


def _check_axis(name: str, x: Tensor, axis: Any) -> int:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise InvalidParameterError(f"{name}: the 'axis' argument must be an int. Got {axis!r}.")
    if not -x.ndim <= axis < x.ndim:
        raise InvalidParameterError(
            f"{name}: the 'axis' argument must be in [{-x.ndim}, {x.ndim}) for a tensor of "
            f"shape {x.shape}. Got {axis}."
        )
    return int(axis)


def softmax(x: Any, axis: int = -1) -> Tensor:
    """Softmax along ``axis``: :math:`s_i = e^{z_i - m} / \\sum_j e^{z_j - m}`, :math:`m = \\max z`.

    Parameters
    ----------
    x : Tensor or array_like of shape (..., K, ...)
        Scores (logits).
    axis : int, default -1
        The axis holding the :math:`K` classes.

    Returns
    -------
    Tensor of the same shape, non-negative, summing to 1 along ``axis``.

    Examples
    --------
    The worked example of the lecture (whose slide truncates the last value to 0.013):

    >>> s = softmax(Tensor([1.1, 2.2, 0.2, -1.7]))
    >>> np.round(s.data, 4)
    array([0.2236, 0.6718, 0.0909, 0.0136])
    """
    x = as_tensor(x)
    return Softmax.apply(x, axis=_check_axis("softmax", x, axis))


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """Log of the softmax along ``axis``: :math:`z_i - m - \\log \\sum_j e^{z_j - m}`.

    Stable for any finite scores (log-sum-exp trick); prefer it to ``softmax(x).log()``,
    which gives ``-inf`` once a probability underflows to 0.

    Examples
    --------
    >>> np.round(log_softmax(Tensor([1000.0, 0.0])).data, 3)
    array([    0., -1000.])
    """
    x = as_tensor(x)
    return LogSoftmax.apply(x, axis=_check_axis("log_softmax", x, axis))


def cross_entropy(logits: Any, targets: Any) -> Tensor:
    """Mean cross-entropy of integer labels :math:`-\\frac1N \\sum_n \\log s_{n, y_n}` (s: softmax).

    Equivalent to ``torch.nn.functional.cross_entropy(logits, targets)``. The backward
    rule is :math:`\\partial L/\\partial z_n = (\\mathrm{softmax}(z_n) - \\mathrm{onehot}(y_n))/N`.

    Parameters
    ----------
    logits : Tensor of shape (N, K)
        Unnormalised scores; any finite values (e.g. 1000) are fine.
    targets : array_like of int, shape (N,)
        Class indices in ``[0, K)``; a NumPy integer array or a list of ints.

    Returns
    -------
    Tensor of shape () : the loss.

    Examples
    --------
    >>> z = Tensor([[1.1, 2.2, 0.2, -1.7]], requires_grad=True)
    >>> loss = cross_entropy(z, [1])
    >>> round(loss.item(), 4)            # -log 0.6718
    0.3977
    >>> loss.backward()
    >>> np.round(z.grad, 3)              # softmax - onehot
    array([[ 0.224, -0.328,  0.091,  0.014]])
    """
    logits = as_tensor(logits)
    if logits.ndim != 2:
        raise InvalidParameterError(
            f"cross_entropy: logits must have shape (N, K) (one row of K class scores per "
            f"sample). Got shape {logits.shape}."
        )
    if isinstance(targets, Tensor):
        raise InvalidParameterError(
            "cross_entropy: targets must be integer class indices, not a Tensor (tensors hold "
            "floats). Pass a NumPy integer array, e.g. np.array([0, 2, 1])."
        )
    t = np.asarray(targets)
    n, k = logits.shape
    if t.dtype.kind not in "iu":
        raise InvalidParameterError(
            f"cross_entropy: targets must be integer class indices (dtype int), got dtype "
            f"{t.dtype}. Convert labels with targets.astype(int) (one-hot rows are not accepted)."
        )
    if t.shape != (n,):
        raise InvalidParameterError(
            f"cross_entropy: targets must have shape (N,) = ({n},), one class index per row "
            f"of logits {logits.shape}. Got shape {t.shape}."
        )
    if n and (t.min() < 0 or t.max() >= k):
        bad = t[(t < 0) | (t >= k)][0]
        raise InvalidParameterError(
            f"cross_entropy: targets must be class indices in [0, {k}) for {k} classes. Got {bad}."
        )
    return CrossEntropy.apply(logits, targets=t)


def mse_loss(prediction: Any, target: Any) -> Tensor:
    """Mean squared error :math:`\\frac1n \\sum_i (\\hat y_i - y_i)^2` over all ``n`` entries.

    Parameters
    ----------
    prediction, target : Tensor or array_like of the same shape
        Shapes must be equal: silently broadcasting an (N, 1) prediction against an (N,)
        target would compare every prediction with every target.

    Returns
    -------
    Tensor of shape ().

    Examples
    --------
    >>> mse_loss(Tensor([1.0, 2.0]), [0.0, 0.0]).item()
    2.5
    """
    prediction = as_tensor(prediction)
    if not isinstance(target, Tensor):
        target = Tensor(target, dtype=prediction.dtype)
    if prediction.shape != target.shape:
        raise InvalidParameterError(
            f"mse_loss: prediction has shape {prediction.shape} but target has shape "
            f"{target.shape}; they must be equal (reshape one of them)."
        )
    diff = prediction - target
    return (diff * diff).mean()
