"""Entropy and information gain: the criterion a decision tree splits by.

Taught in the chapter *Decision trees and forests as neural networks*
(``book/trees-as-networks.ipynb``). For class proportions :math:`p = (p_1, \\dots, p_C)`,

.. math:: H(p) = -\\sum_{c=1}^C p_c \\log_2 p_c \\qquad (0 \\log 0 = 0),

and a split of the labels :math:`y` of a node into a left part :math:`y_L` (``mask`` True)
and a right part :math:`y_R` gains

.. math:: \\mathrm{IG}(y, \\mathrm{mask}) = H(y) - \\frac{|y_L|}{|y|} H(y_L)
   - \\frac{|y_R|}{|y|} H(y_R),

where :math:`H(y)` is the entropy of the class proportions of :math:`y`. scikit-learn's
``criterion="entropy"`` uses the same base-2 logarithm, so these numbers are its
``tree_.impurity`` values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, as_float_array, check_scalar, invalid

__all__ = ["entropy", "information_gain", "class_proportions"]


def entropy(p: Any, base: float = 2.0) -> Any:
    """Entropy :math:`H(p) = -\\sum_c p_c \\log p_c` of class proportions, along the last axis.

    Parameters
    ----------
    p : array_like of shape (..., n_classes)
        Non-negative proportions summing to 1 along the last axis (to within 1e-6).
    base : float > 1
        The base of the logarithm: 2 (bits, scikit-learn's convention) by default.

    Returns
    -------
    float or ndarray of shape p.shape[:-1]
        A float for a single distribution.

    Examples
    --------
    >>> entropy([0.5, 0.5])
    1.0
    >>> entropy([[1.0, 0.0], [0.25, 0.75]]).round(4)
    array([0.    , 0.8113])
    """
    p = as_float_array(p, "p", min_ndim=1)
    base = check_scalar(base, "base", float, low=1, closed="neither")
    if np.any(p < 0) or not np.allclose(p.sum(axis=-1), 1.0, atol=1e-6):
        raise invalid(
            "p", "non-negative proportions that sum to 1 along the last axis", p, "entropy"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    h = -terms.sum(axis=-1) / np.log(base)
    h = np.maximum(h, 0.0)  # -0.0 and rounding below zero
    return float(h) if h.ndim == 0 else h


def class_proportions(y: Any, classes: Any = None) -> np.ndarray:
    """Proportions of each class among the labels ``y`` (classes sorted, or as given).

    Examples
    --------
    >>> class_proportions([0, 1, 1, 1])
    array([0.25, 0.75])
    """
    y = np.asarray(y.detach().cpu() if hasattr(y, "detach") else y)
    if y.ndim != 1:
        raise invalid("y", "a 1-D array of labels", y)
    classes = np.unique(y) if classes is None else np.asarray(classes)
    if y.size == 0:
        return np.zeros(len(classes))
    return (y[:, None] == classes[None, :]).mean(axis=0)


def information_gain(y: Any, mask: Any, base: float = 2.0) -> float:
    """Information gain of splitting the labels ``y`` into ``y[mask]`` and ``y[~mask]``.

    .. math:: \\mathrm{IG} = H(y) - \\tfrac{n_L}{n} H(y_L) - \\tfrac{n_R}{n} H(y_R)

    Parameters
    ----------
    y : array_like of shape (n,)
        Class labels (any values that compare with ``==``).
    mask : array_like of bool, shape (n,)
        True for the samples that go left (for a tree split, ``x[:, j] <= t``).
    base : float > 1
        Base of the logarithm (2 by default, scikit-learn's).

    Returns
    -------
    float
        The gain, between 0 and :math:`H(y)`. An empty side contributes 0 (the gain is 0).

    Examples
    --------
    >>> y = [0, 0, 1, 1]
    >>> information_gain(y, [True, True, False, False])
    1.0
    >>> information_gain(y, [True, False, True, False])
    0.0
    """
    y = np.asarray(y.detach().cpu() if hasattr(y, "detach") else y)
    if y.ndim != 1 or y.size == 0:
        raise invalid("y", "a non-empty 1-D array of labels", y)
    mask_arr = np.asarray(mask.detach().cpu() if hasattr(mask, "detach") else mask)
    if mask_arr.dtype != bool:
        raise invalid("mask", "a boolean array", mask_arr, got=f"dtype {mask_arr.dtype}")
    if mask_arr.shape != y.shape:
        raise InvalidParameterError(
            f"The 'mask' argument of information_gain must have the shape of 'y', {y.shape}. "
            f"Got shape {mask_arr.shape} instead."
        )
    classes = np.unique(y)
    n, n_left = y.size, int(mask_arr.sum())
    gain = entropy(class_proportions(y, classes), base)
    for part, size in ((y[mask_arr], n_left), (y[~mask_arr], n - n_left)):
        if size:
            gain -= size / n * entropy(class_proportions(part, classes), base)
    return float(max(gain, 0.0))
