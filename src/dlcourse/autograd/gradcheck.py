"""Gradient checking: compare backward rules with central finite differences.

Taught in the chapter *Training neural networks* (book/training).

For a scalar function :math:`f` and each input entry :math:`x_i`, the central difference

.. math:: \\frac{f(x + \\varepsilon e_i) - f(x - \\varepsilon e_i)}{2 \\varepsilon}
   = \\frac{\\partial f}{\\partial x_i} + O(\\varepsilon^2)

approximates the derivative without using any backward rule, so it is an independent
check of the analytic gradient computed by ``backward``. In float64 with
:math:`\\varepsilon = 10^{-6}` the truncation error (:math:`\\sim\\varepsilon^2`) and the
rounding error (:math:`\\sim 10^{-16}/\\varepsilon`) are both around :math:`10^{-10}`; in
float32 rounding alone would be :math:`\\sim 10^{-1}`, which is why the check always runs
in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import InvalidParameterError
from .tensor import Tensor, no_grad

__all__ = ["gradcheck", "numerical_grad"]


def _check_inputs(tensors: tuple) -> None:
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise InvalidParameterError(
                f"gradcheck: input {i} must be a Tensor, got {type(t).__name__}. Wrap it with "
                "Tensor(x, requires_grad=True)."
            )


def _scalar(name: str, out: Any) -> float:
    if not isinstance(out, Tensor) or out.size != 1:
        shape = out.shape if isinstance(out, Tensor) else type(out).__name__
        raise InvalidParameterError(
            f"{name}: f must return a one-element Tensor (a scalar). Got {shape}."
        )
    return out.item()


def numerical_grad(f: Callable[..., Tensor], *tensors: Tensor, eps: float = 1e-6) -> list:
    """Central-difference gradient of the scalar ``f(*tensors)`` with respect to each input.

    Parameters
    ----------
    f : callable
        Takes the tensors and returns a one-element Tensor.
    *tensors : Tensor
        The point at which to differentiate. Their ``data`` is perturbed one entry at a time
        and restored; ``f`` is evaluated under :func:`no_grad`.
    eps : float, default 1e-6
        Half the width of the difference.

    Returns
    -------
    list of ndarray, one per input, each of that input's shape and dtype.

    Examples
    --------
    >>> x = Tensor([1.0, 2.0])
    >>> np.round(numerical_grad(lambda t: (t * t).sum(), x)[0], 6)
    array([2., 4.])
    """
    _check_inputs(tensors)
    grads = []
    with no_grad():
        for t in tensors:
            g = np.zeros(t.shape, dtype=np.float64)
            flat, out = t.data.reshape(-1), g.reshape(-1)
            for i in range(flat.size):
                old = flat[i]
                flat[i] = old + eps
                f_plus = _scalar("numerical_grad", f(*tensors))
                flat[i] = old - eps
                f_minus = _scalar("numerical_grad", f(*tensors))
                flat[i] = old
                out[i] = (f_plus - f_minus) / (2 * eps)
            grads.append(g.astype(t.dtype, copy=False))
    return grads


def gradcheck(
    f: Callable[..., Tensor],
    *tensors: Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check the analytic gradient of the scalar ``f(*tensors)`` against finite differences.

    The check passes when, for every input that requires a gradient and every entry,
    :math:`|g_{\\text{analytic}} - g_{\\text{numeric}}| \\le \\text{atol} + \\text{rtol}\\,
    |g_{\\text{numeric}}|`. Both gradients are computed in float64 (float32 inputs are
    promoted for the duration of the check). The inputs' ``data`` and ``grad`` are left
    exactly as they were.

    Parameters
    ----------
    f : callable
        ``f(*tensors)`` must return a one-element Tensor.
    *tensors : Tensor
        Inputs; only those with ``requires_grad=True`` are checked.
    eps : float, default 1e-6
        Step of the central difference.
    atol, rtol : float
        Absolute and relative tolerances.

    Returns
    -------
    bool
        ``True`` if every gradient matches. On a mismatch, a report is printed naming the
        input, the worst entry, both values and the error.

    Examples
    --------
    >>> x = Tensor([[0.5, -1.0], [2.0, 0.1]], requires_grad=True)
    >>> gradcheck(lambda x: (x.tanh() * x).sum(), x)
    True
    """
    _check_inputs(tensors)
    checked = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not checked:
        raise InvalidParameterError(
            "gradcheck: no input has requires_grad=True, so there is nothing to check."
        )
    saved = [(t.data, t.grad) for t in tensors]
    try:
        for t in tensors:  # work on float64 copies
            t.data, t.grad = t.data.astype(np.float64), None
        out = f(*tensors)
        _scalar("gradcheck", out)
        out.backward()
        analytic = [np.zeros(t.shape) if t.grad is None else t.grad for t in tensors]
        numeric = numerical_grad(f, *tensors, eps=eps)
    finally:
        for t, (data, grad) in zip(tensors, saved, strict=True):
            t.data, t.grad = data, grad

    ok = True
    for i in checked:
        a, n = analytic[i], numeric[i]
        err = np.abs(a - n)
        bad = ~(err <= atol + rtol * np.abs(n))  # also catches nan
        if not bad.any():
            continue
        ok = False
        score = np.where(np.isnan(err), np.inf, err - rtol * np.abs(n))
        worst = np.unravel_index(np.argmax(score), a.shape) if a.ndim else ()
        print(
            f"gradcheck failed for input {i} (of {len(tensors)}), shape {a.shape}: "
            f"{int(bad.sum())} of {a.size} entries out of tolerance.\n"
            f"  worst entry {tuple(int(j) for j in worst)}: analytic {a[worst]:.6g}, "
            f"numeric {n[worst]:.6g}, |error| {err[worst]:.3g} > "
            f"atol + rtol*|numeric| = {atol + rtol * abs(n[worst]):.3g}"
        )
    return ok
