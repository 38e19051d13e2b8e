"""The generalised distance transform of deformable-parts models, and max-pooling inside it.

Taught in the chapter *Convolutions, invariance and equivariance* (``book/convolutions``).

In a deformable-parts model a part's filter response ``x(q)`` at location ``q`` is combined
with the cost ``d(u - q)`` of displacing the part from its anchor ``u``. The best placement
near each anchor scores

.. math:: D_x(u) = \\max_q \\; x(q) - d(u - q),

a *generalised distance transform* (a max-convolution). Brute force costs ``O(n^2)`` for
``n`` locations (:func:`distance_transform`, any ``d``). For a quadratic cost
:math:`d(r) = a r^2 + b r` (``a > 0``) every candidate ``q`` contributes a downward
parabola :math:`u \\mapsto x(q) - a(u - q)^2 - b(u - q)`; ``D_x`` is their upper envelope.
Two such parabolas (same ``a``) cross exactly once, so the envelope is found by one
left-to-right sweep that keeps a stack of the parabolas still visible and the points where
visibility changes hands: ``O(n)`` (:func:`distance_transform_quadratic`). In 2-D a
separable cost :math:`d(r_y, r_x) = a_y r_y^2 + b_y r_y + a_x r_x^2 + b_x r_x` is handled by
one pass along the rows, then one along the columns.

Max-pooling is the special case of a *box* cost: :math:`d = 0` for displacements inside the
window and :math:`+\\infty` outside, so that the max runs over the window only
(:func:`box_cost`, :func:`max_pool_via_distance_transform`). A quadratic cost is a soft
window: far placements are allowed but pay for it.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._validation import InvalidParameterError, as_float_array, invalid

__all__ = [
    "distance_transform",
    "distance_transform_quadratic",
    "box_cost",
    "max_pool_via_distance_transform",
]

_CHUNK = 2_000_000  # brute force: at most this many (u, q) pairs in memory at once


def _as_numpy_input(x):
    """Return (float64 array, a function turning a result back into x's kind)."""
    if isinstance(x, torch.Tensor):
        dev, dtype = x.device, x.dtype if x.is_floating_point() else torch.float64

        def back(a):
            return torch.as_tensor(a, dtype=dtype, device=dev)

        arr = x.detach().to("cpu", torch.float64).numpy()
    else:
        arr = as_float_array(x, "x", allow_nan=True)  # -inf marks 'forbidden'

        def back(a):
            return a

    if arr.ndim not in (1, 2) or arr.size == 0:
        raise invalid("x", "a non-empty 1-D or 2-D array of scores", got=f"shape {arr.shape}")
    if np.isnan(arr).any() or np.isposinf(arr).any():
        raise InvalidParameterError(
            "The 'x' argument must not contain NaN or +inf (-inf marks 'forbidden')."
        )
    return arr, back


def distance_transform(x, d, *, return_argmax: bool = False):
    """Brute-force distance transform :math:`D_x(u) = \\max_q x(q) - d(u - q)`.

    Parameters
    ----------
    x : 1-D array of shape (n,) or 2-D array of shape (H, W)
        Scores; ``-inf`` marks forbidden locations. Tensors are accepted (result: a tensor).
    d : callable
        The displacement cost, vectorised: in 1-D ``d(r)`` for an int array ``r = u - q``;
        in 2-D ``d(ry, rx)``. It may return ``inf`` (forbidden displacement).
    return_argmax : bool
        Also return the best ``q`` for every ``u`` (the first one on ties).

    Returns
    -------
    D : array of the shape of ``x``
    argmax : (only with ``return_argmax``) int array of shape (n,) in 1-D; in 2-D a pair
        ``(qy, qx)`` of int arrays of shape (H, W)

    Notes
    -----
    Costs ``O(n^2)`` time (``n`` the number of locations); fine for images up to about
    100 x 100.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.0, 5.0, 0.0, 0.0, 1.0])
    >>> distance_transform(x, lambda r: 2.0 * np.abs(r))
    array([3., 5., 3., 1., 1.])
    """
    arr, back = _as_numpy_input(x)
    if not callable(d):
        raise invalid("d", "a callable cost d(r)", got=f"{type(d).__name__}")
    shape = arr.shape
    flat = arr.ravel()
    n = flat.size
    if arr.ndim == 1:
        coords = [np.arange(n)]
    else:
        coords = [g.ravel() for g in np.indices(shape)]
    best = np.empty(n)
    arg = np.empty(n, dtype=np.int64)
    step = max(1, _CHUNK // n)
    for start in range(0, n, step):
        u = slice(start, min(start + step, n))
        disp = [c[u, None] - c[None, :] for c in coords]  # u - q, shape (chunk, n)
        cost = np.broadcast_to(np.asarray(d(*disp), dtype=np.float64), disp[0].shape)
        if np.isnan(cost).any():
            raise InvalidParameterError("The cost d returned NaN for some displacement.")
        scores = flat[None, :] - cost
        arg[u] = scores.argmax(axis=1)
        best[u] = np.take_along_axis(scores, arg[u, None], axis=1)[:, 0]
    out = back(best.reshape(shape))
    if not return_argmax:
        return out
    if arr.ndim == 1:
        return out, arg
    qy, qx = np.unravel_index(arg, shape)
    return out, (qy.reshape(shape), qx.reshape(shape))


def _check_coefficients(a, b, ndim: int):
    def pair(name, v, positive):
        vals = tuple(v) if isinstance(v, (tuple, list, np.ndarray)) else (v,) * ndim
        if len(vals) != ndim or not all(
            isinstance(t, (numbers.Real, np.floating, np.integer)) and not isinstance(t, bool)
            for t in vals
        ):
            raise invalid(name, f"a real number or {ndim} of them (one per axis)", v)
        vals = tuple(float(t) for t in vals)
        if not all(np.isfinite(vals)) or (positive and min(vals) <= 0):
            rule = "> 0 (the parabolas must open downwards)" if positive else "finite"
            raise invalid(name, f"{rule}", v)
        return vals

    return pair("a", a, True), pair("b", b, False)


def _envelope_1d(x: np.ndarray, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """max_q x[q] - a (u - q)^2 - b (u - q) for all u, by the upper envelope of parabolas.

    Parabola q, as a function of u: x[q] - a u^2 + 2 a u q - a q^2 - b u + b q. Compared
    with parabola p the common terms -a u^2 - b u cancel, so q beats p (p < q) exactly for
    u > s(p, q) = (h[q] - h[p]) / (2 a (q - p)) with h[q] = -x[q] + a q^2 - b q.
    """
    n = x.size
    finite = np.flatnonzero(np.isfinite(x))
    if finite.size == 0:
        return np.full(n, -np.inf), np.zeros(n, dtype=np.int64)
    xs = x.tolist()
    h = {q: -xs[q] + a * q * q - b * q for q in finite.tolist()}
    v = [int(finite[0])]  # the parabolas on the envelope, left to right
    z = [-np.inf]  # z[k]: where parabola v[k] comes on top (z[0] = -inf stops the pops)
    for q in finite[1:].tolist():
        s = (h[q] - h[v[-1]]) / (2.0 * a * (q - v[-1]))
        while s <= z[-1]:  # q already wins where v[-1] came on top: v[-1] is never on top
            v.pop()
            z.pop()
            s = (h[q] - h[v[-1]]) / (2.0 * a * (q - v[-1]))
        v.append(q)
        z.append(s)
    out = np.empty(n)
    arg = np.empty(n, dtype=np.int64)
    k = 0
    for u in range(n):
        while k + 1 < len(v) and z[k + 1] < u:
            k += 1
        q = v[k]
        r = u - q
        out[u] = xs[q] - a * r * r - b * r
        arg[u] = q
    return out, arg


def distance_transform_quadratic(x, a, b=0.0, *, return_argmax: bool = False):
    """Distance transform for the quadratic cost d(r) = a r^2 + b r in O(n) per axis.

    Same result as ``distance_transform(x, lambda r: a * r**2 + b * r)`` (in 2-D the
    separable ``d(ry, rx) = a_y ry^2 + b_y ry + a_x rx^2 + b_x rx``), computed as the upper
    envelope of the parabolas :math:`u \\mapsto x(q) - a(u-q)^2 - b(u-q)` (see the module
    docstring); in 2-D one pass along every row, then one along every column.

    Parameters
    ----------
    x : 1-D array (n,) or 2-D array (H, W)
        Scores; ``-inf`` marks forbidden locations.
    a : float > 0, or a pair (a_y, a_x) in 2-D
        Stiffness of the spring pulling a part towards its anchor.
    b : float or pair (b_y, b_x), default 0
        Linear term (a preferred direction of displacement), as in the DPM's
        :math:`(r, r^2)` deformation features.
    return_argmax : bool
        Also return the best ``q`` (1-D: int array; 2-D: pair ``(qy, qx)``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.0, 5.0, 0.0, 0.0, 1.0])
    >>> distance_transform_quadratic(x, 1.0)
    array([4., 5., 4., 1., 1.])
    """
    arr, back = _as_numpy_input(x)
    (avals, bvals) = _check_coefficients(a, b, arr.ndim)
    if arr.ndim == 1:
        out, arg = _envelope_1d(arr, avals[0], bvals[0])
        return (back(out), arg) if return_argmax else back(out)
    h, w = arr.shape
    rows = np.empty_like(arr)
    arg_x = np.empty(arr.shape, dtype=np.int64)  # best column q_x for (q_y, u_x)
    for i in range(h):
        rows[i], arg_x[i] = _envelope_1d(arr[i], avals[1], bvals[1])
    out = np.empty_like(arr)
    qy = np.empty(arr.shape, dtype=np.int64)
    for j in range(w):
        out[:, j], qy[:, j] = _envelope_1d(rows[:, j], avals[0], bvals[0])
    if not return_argmax:
        return back(out)
    qx = np.take_along_axis(arg_x, qy, axis=0)  # qx[u_y, u_x] = arg_x[qy[u_y, u_x], u_x]
    return back(out), (qy, qx)


def box_cost(low: int, high: int):
    """The cost of a hard window: d(r) = 0 if low <= r <= high on every axis, +inf otherwise.

    With it the distance transform is a sliding-window max, :math:`D_x(u) = \\max_{q:\\ low
    \\le u - q \\le high} x(q)`: max-pooling with stride 1. Works for 1-D ``d(r)`` and 2-D
    ``d(ry, rx)`` calls.

    Examples
    --------
    >>> import numpy as np
    >>> distance_transform(np.array([3.0, 1.0, 0.0, 2.0]), box_cost(-1, 1))
    array([3., 3., 2., 2.])
    """
    for name, v in (("low", low), ("high", high)):
        if not isinstance(v, (numbers.Integral, np.integer)) or isinstance(v, bool):
            raise invalid(name, "an int", v)
    if low > high:
        raise InvalidParameterError(f"box_cost needs low <= high. Got low={low}, high={high}.")

    def d(*r):
        inside = np.ones(np.broadcast(*r).shape, dtype=bool)
        for ri in r:
            inside &= (ri >= low) & (ri <= high)
        return np.where(inside, 0.0, np.inf)

    return d


def max_pool_via_distance_transform(x, kernel_size: int, stride: int | None = None):
    """Max-pooling of a 2-D array computed as a distance transform with a box cost.

    The window of output ``(i, j)`` covers ``q`` in ``[u, u + k - 1]`` (``u = (i s, j s)``):
    displacements ``u - q`` in ``[-(k - 1), 0]``. So
    ``D = distance_transform(x, box_cost(-(k - 1), 0))`` followed by keeping every ``s``-th
    anchor equals ``max_pool2d(x, k, s)`` (no padding).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0, 5.0, 0.0], [3.0, 4.0, 1.0, 1.0]])
    >>> max_pool_via_distance_transform(x, 2)
    array([[4., 5.]])
    """
    arr, back = _as_numpy_input(x)
    if arr.ndim != 2:
        raise invalid("x", "2-D (H, W)", got=f"shape {arr.shape}")
    k = int(kernel_size) if isinstance(kernel_size, (numbers.Integral, np.integer)) else None
    if k is None or isinstance(kernel_size, bool) or k < 1:
        raise invalid("kernel_size", "a positive int", kernel_size)
    s = k if stride is None else stride
    if not isinstance(s, (numbers.Integral, np.integer)) or isinstance(s, bool) or s < 1:
        raise invalid("stride", "a positive int", stride)
    h, w = arr.shape
    if k > min(h, w):
        raise InvalidParameterError(f"The kernel ({k}) is larger than the input {arr.shape}.")
    dt = distance_transform(arr, box_cost(-(k - 1), 0))
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    return back(np.ascontiguousarray(dt[: (ho - 1) * s + 1 : s, : (wo - 1) * s + 1 : s]))
