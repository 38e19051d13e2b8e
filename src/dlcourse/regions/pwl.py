r"""A piecewise-linear function written exactly as a one-hidden-layer ReLU network.

Taught in *From kernels to neural networks* (``book/kernels-to-networks.ipynb``). Given knots
:math:`x_0 < x_1 < \dots < x_n` and values :math:`y_i`, the interpolant :math:`g` with slopes
:math:`s_i = (y_{i+1} - y_i)/(x_{i+1} - x_i)` on :math:`[x_i, x_{i+1}]` (and the end slopes
continued outside :math:`[x_0, x_n]`) is

.. math::

    g(x) = y_0 - s_0\,\mathrm{ReLU}(x_0 - x) + s_0\,\mathrm{ReLU}(x - x_0)
           + \sum_{i=1}^{n-1} (s_i - s_{i-1})\,\mathrm{ReLU}(x - x_i),

since :math:`\mathrm{ReLU}(u) - \mathrm{ReLU}(-u) = u` gives the line through the first piece
and each further ReLU bends the slope by :math:`s_i - s_{i-1}` at :math:`x_i`. That is
:math:`n + 1` hidden units for :math:`n + 1` knots.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, as_float_array

__all__ = ["pwl_slopes", "relu_pwl"]


def _knots_values(knots: Any, values: Any) -> tuple[np.ndarray, np.ndarray]:
    xk = as_float_array(knots, "knots", ndim=1)
    yk = as_float_array(values, "values", ndim=1)
    if xk.shape[0] < 2:
        raise InvalidParameterError(
            f"The 'knots' argument of relu_pwl must hold at least 2 knots. Got {xk.shape[0]}."
        )
    if yk.shape != xk.shape:
        raise InvalidParameterError(
            f"The 'knots' and 'values' arguments must have the same length (one value per "
            f"knot). Got {xk.shape[0]} knots and {yk.shape[0]} values."
        )
    steps = np.diff(xk)
    if np.any(steps <= 0):
        i = int(np.flatnonzero(steps <= 0)[0])
        what = "duplicate" if steps[i] == 0 else "unsorted"
        raise InvalidParameterError(
            f"The 'knots' argument must be strictly increasing; it has {what} knots at "
            f"positions {i} and {i + 1} ({xk[i]:g} then {xk[i + 1]:g}). Sort them and remove "
            "duplicates first."
        )
    return xk, yk


def pwl_slopes(knots: Any, values: Any) -> np.ndarray:
    r"""Slopes :math:`s_i = (y_{i+1} - y_i)/(x_{i+1} - x_i)` of the interpolant's pieces.

    Parameters
    ----------
    knots : array_like of shape (n_knots,)
        Strictly increasing abscissae.
    values : array_like of shape (n_knots,)
        The function's values at the knots.

    Returns
    -------
    ndarray of shape (n_knots - 1,)

    Examples
    --------
    >>> pwl_slopes([0, 1, 3], [0, 2, 1])
    array([ 2. , -0.5])
    """
    xk, yk = _knots_values(knots, values)
    return np.diff(yk) / np.diff(xk)


def relu_pwl(knots: Any, values: Any, *, dtype: Any = None, device: Any = None):
    r"""A one-hidden-layer ReLU network equal to the piecewise-linear interpolant.

    .. math::

        g(x) = y_0 - s_0\,\mathrm{ReLU}(x_0 - x) + s_0\,\mathrm{ReLU}(x - x_0)
               + \sum_{i=1}^{n-1} (s_i - s_{i-1})\,\mathrm{ReLU}(x - x_i)

    equals :math:`y_i` at every knot, is linear between knots, and continues the first and
    last slopes outside :math:`[x_0, x_n]`.

    Parameters
    ----------
    knots : array_like of shape (n_knots,)
        Strictly increasing abscissae, at least two (unsorted or duplicate knots raise).
    values : array_like of shape (n_knots,)
        The values :math:`y_i` at the knots.
    dtype : torch.dtype, optional
        The parameters' dtype (torch's default dtype when omitted).
    device : torch.device or str, optional
        The parameters' device (CPU when omitted).

    Returns
    -------
    torch.nn.Sequential
        ``Linear(1, n_knots), ReLU(), Linear(n_knots, 1)``; input of shape ``(n, 1)``,
        output of shape ``(n, 1)``.

    Examples
    --------
    >>> import torch
    >>> net = relu_pwl([0.0, 1.0, 2.0], [0.0, 1.0, 0.0])
    >>> net(torch.tensor([[0.5], [1.0], [1.5], [3.0]])).squeeze(1)
    tensor([ 0.5000,  1.0000,  0.5000, -1.0000], grad_fn=<SqueezeBackward1>)
    """
    import torch
    from torch import nn

    xk, yk = _knots_values(knots, values)
    s = np.diff(yk) / np.diff(xk)
    n = xk.shape[0]
    w_in = np.ones(n)
    b_in = -xk.copy()
    w_in[0], b_in[0] = -1.0, xk[0]  # ReLU(x0 - x)
    b_in[1] = -xk[0]  # ReLU(x - x0)
    w_out = np.empty(n)
    w_out[0], w_out[1] = -s[0], s[0]
    w_out[2:] = np.diff(s)
    b_in[2:] = -xk[1:-1]
    dtype = torch.get_default_dtype() if dtype is None else dtype
    with torch.random.fork_rng(devices=[]):  # nn.Linear's initialisation draws from it (CPU)
        first = nn.Linear(1, n, dtype=dtype)
        last = nn.Linear(n, 1, dtype=dtype)
    with torch.no_grad():  # float64 values to the parameters' dtype and device
        first.weight.copy_(torch.from_numpy(w_in[:, None]))
        first.bias.copy_(torch.from_numpy(b_in))
        last.weight.copy_(torch.from_numpy(w_out[None, :]))
        last.bias.copy_(torch.from_numpy(np.array([yk[0]])))
    return nn.Sequential(first, nn.ReLU(), last).to(device)
