r"""Exact linear regions of a ReLU network along a line: breakpoints, layer by layer.

Taught in *From kernels to neural networks* (``book/kernels-to-networks.ipynb``). On the segment
:math:`x(t) = a + t\,(b - a)`, :math:`t \in [0, 1]`, a ReLU network is piecewise linear in
:math:`t`. Between two consecutive breakpoints found so far every earlier unit keeps its state,
so a unit :math:`z_j` of the next layer is *affine* in :math:`t` there, and it changes sign at
most once, at

.. math::

    t^\ast = t_0 + \frac{z_j(t_0)}{z_j(t_0) - z_j(t_1)}\,(t_1 - t_0)
    \quad\text{when } z_j(t_0)\,z_j(t_1) < 0 .

Adding these zeros layer after layer gives every point where a unit switches. The regions are
the intervals between switches, merged when two neighbours share one activation pattern (a
unit that touches zero without crossing it). The count is exact up to floating-point ties: no
grid, no sampling.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, as_float_array, check_scalar
from ._net import forward_pre, relu_layers

__all__ = ["breakpoints_1d", "count_regions_1d"]


def _endpoints(lo: Any, hi: Any, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    if n_in == 1 and np.ndim(lo) == 0 and np.ndim(hi) == 0:
        a = np.array([check_scalar(lo, "lo", float)])
        b = np.array([check_scalar(hi, "hi", float)])
        if not a[0] < b[0]:
            raise InvalidParameterError(
                f"The 'lo' and 'hi' arguments must satisfy lo < hi (an interval that is not "
                f"empty). Got lo={a[0]:g} and hi={b[0]:g}."
            )
        return a, b
    a = as_float_array(lo, "lo", ndim=(0, 1)).reshape(-1)
    b = as_float_array(hi, "hi", ndim=(0, 1)).reshape(-1)
    if a.shape != (n_in,) or b.shape != (n_in,):
        raise InvalidParameterError(
            f"The 'lo' and 'hi' arguments must be points of the input space, of shape "
            f"({n_in},), for a model with {n_in} input features (numbers when it has one). "
            f"Got shapes {a.shape} and {b.shape}."
        )
    if np.array_equal(a, b):
        raise InvalidParameterError(
            "The 'lo' and 'hi' arguments are the same point: the segment is empty."
        )
    return a, b


def _breaks_t(layers: list, final_relu: bool, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted switch points t in (0, 1) (float64) along a + t (b - a)."""
    d = b - a
    t = np.array([0.0, 1.0])
    n_relu = len(layers) if final_relu else len(layers) - 1
    for k in range(n_relu):
        x = a[None, :] + t[:, None] * d[None, :]
        z = forward_pre(layers[: k + 1], True, x)[k]  # (n_points, width) of layer k
        z0, z1 = z[:-1], z[1:]
        cross = z0 * z1 < 0
        if not cross.any():
            continue
        i, _ = np.nonzero(cross)
        t0, t1 = t[:-1][i], t[1:][i]
        zz0, zz1 = z0[cross], z1[cross]
        new = t0 + zz0 / (zz0 - zz1) * (t1 - t0)
        new = new[(new > 0) & (new < 1)]
        t = np.unique(np.concatenate([t, new]))
    return t[1:-1]


def breakpoints_1d(model: Any, lo: Any, hi: Any) -> np.ndarray:
    r"""The points of a segment where some hidden unit of a ReLU network switches on or off.

    For a model with one input the segment is :math:`[lo, hi]` and the result holds the
    abscissae; with ``in_features > 1``, ``lo`` and ``hi`` are points and the result holds
    the parameters :math:`t \in (0, 1)` of :math:`x(t) = lo + t\,(hi - lo)`. A unit that
    only touches zero is not a switch; adjacent switches closer than ``1e-12`` (relative)
    are merged.

    Parameters
    ----------
    model : torch.nn.Sequential
        ``Linear, ReLU, ..., Linear``.
    lo, hi : float, or array_like of shape (in_features,)
        The ends of the segment.

    Returns
    -------
    ndarray of float64, shape (n_breakpoints,)
        Sorted, strictly inside the segment.

    Examples
    --------
    >>> from dlcourse.regions import relu_pwl
    >>> net = relu_pwl([-1.0, 0.0, 2.0], [0.0, 1.0, 0.0])
    >>> breakpoints_1d(net, -3.0, 3.0)  # the last knot continues its slope: no bend
    array([-1.,  0.])
    """
    layers, final_relu = relu_layers(model)
    n_in = layers[0][0].shape[1]
    a, b = _endpoints(lo, hi, n_in)
    t = _breaks_t(layers, final_relu, a, b)
    t = _merge_same_pattern(layers, final_relu, a, b, t)
    return a[0] + t * (b[0] - a[0]) if n_in == 1 else t


def _merge_same_pattern(layers, final_relu, a, b, t) -> np.ndarray:
    """Drop breakpoints whose two sides share one activation pattern."""
    if t.size == 0:
        return t
    edges = np.concatenate([[0.0], t, [1.0]])
    mid = 0.5 * (edges[:-1] + edges[1:])
    x = a[None, :] + mid[:, None] * (b - a)[None, :]
    pats = np.concatenate([z > 0 for z in forward_pre(layers, final_relu, x)], axis=1)
    differ = np.any(pats[1:] != pats[:-1], axis=1)
    return t[differ]


def count_regions_1d(model: Any, lo: Any, hi: Any) -> int:
    r"""The exact number of linear regions a ReLU network cuts a segment into.

    The number of switch points (:func:`breakpoints_1d`) plus one: the intervals on which the
    activation pattern is constant. Each is an interval where the network is affine.

    Parameters
    ----------
    model : torch.nn.Sequential
        ``Linear, ReLU, ..., Linear``; a ``Tanh`` or any other activation raises.
    lo, hi : float, or array_like of shape (in_features,)
        The ends of the segment (numbers for a model with one input).

    Returns
    -------
    int

    Examples
    --------
    >>> from dlcourse.regions import relu_pwl
    >>> net = relu_pwl([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 0.0, 1.0])
    >>> count_regions_1d(net, -1.0, 4.0), count_regions_1d(net, 0.5, 1.5)
    (4, 2)
    """
    return int(breakpoints_1d(model, lo, hi).size + 1)
