"""Answer checks used by the graded assignments' test cells.

Every assignment in ``course/source/`` imports these in its setup cell, so a student reads one
set of checks with one set of messages in every assignment, and ``help(check_close)`` explains
them. Each check raises ``AssertionError`` with a message that names the value, what was
expected and what came; the checks raise explicitly, so ``python -O`` does not remove them, and
their frames are hidden (``__tracebackhide__``): a student sees the test line, then the message.

These check a student's *answers*; the package's own *argument* checks are a different thing
and live in :mod:`dlcourse._validation`, which this module does not use.

Examples
--------
>>> import numpy as np
>>> check_close(np.array([1.0, 2.0]), [1.0, 2.0], "my answer")
>>> check_close(np.array([1.0, 2.5]), [1.0, 2.0], "my answer")
Traceback (most recent call last):
    ...
AssertionError: my answer is wrong (largest difference 0.5).
expected:
[1. 2.]
got:
[1.  2.5]
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .utils import is_torch

__all__ = ["as_array", "check_array", "check_tensor", "check_float", "check_close", "raises"]


def _require(condition, message: str) -> None:
    __tracebackhide__ = True  # IPython still shows this last frame; the checks above it are hidden
    if not condition:
        raise AssertionError(message)


def as_array(x) -> np.ndarray:
    """A float64 NumPy copy of a number, list, NumPy array or torch tensor (detached, on CPU)."""
    if is_torch(x):
        return x.detach().cpu().double().numpy()
    return np.array(x, dtype=float)


def check_array(a, shape, name: str) -> np.ndarray:
    """Assert that ``a`` is a finite floating-point NumPy array of shape ``shape``; return it."""
    __tracebackhide__ = True
    _require(isinstance(a, np.ndarray), f"{name} should be a NumPy ndarray, got {type(a).__name__}")
    _require(np.issubdtype(a.dtype, np.floating), f"{name} should hold floats, got dtype {a.dtype}")
    _require(a.shape == tuple(shape), f"{name} should have shape {tuple(shape)}, got {a.shape}")
    _require(bool(np.all(np.isfinite(a))), f"{name} contains inf or nan")
    return a


def check_tensor(t, shape, name: str) -> np.ndarray:
    """Assert that ``t`` is a finite floating-point torch tensor of shape ``shape``.

    Returns its values as a float64 NumPy array, detached from any autograd graph.
    """
    __tracebackhide__ = True
    _require(is_torch(t), f"{name} should be a torch.Tensor, got {type(t).__name__}")
    _require(t.is_floating_point(), f"{name} should hold floats, got dtype {t.dtype}")
    _require(
        tuple(t.shape) == tuple(shape),
        f"{name} should have shape {tuple(shape)}, got {tuple(t.shape)}",
    )
    a = as_array(t)
    _require(bool(np.all(np.isfinite(a))), f"{name} contains inf or nan")
    return a


def check_float(value, name: str) -> float:
    """Assert that ``value`` is one finite real number (Python, NumPy or a one-element tensor)."""
    __tracebackhide__ = True
    if is_torch(value):
        _require(
            value.numel() == 1, f"{name} should be a single number, got shape {tuple(value.shape)}"
        )
        value = value.item()
    _require(
        isinstance(value, (numbers.Real, np.floating)) and not isinstance(value, bool),
        f"{name} should be a float, got {type(value).__name__}",
    )
    value = float(value)
    _require(math.isfinite(value), f"{name} is not finite: {value}")
    return value


def check_close(got, want, name: str, rtol: float = 1e-6, atol: float = 1e-9, decimals: int = 6):
    """Assert ``|got - want| <= atol + rtol * |want|`` elementwise (``np.allclose``).

    ``got`` and ``want`` may be numbers, lists, NumPy arrays or torch tensors; they must have
    the same shape and ``got`` must be finite. The message shows both, rounded to ``decimals``.
    """
    __tracebackhide__ = True
    got, want = as_array(got), as_array(want)
    _require(got.shape == want.shape, f"{name} should have shape {want.shape}, got {got.shape}")
    _require(bool(np.all(np.isfinite(got))), f"{name} contains inf or nan: {got}")
    worst = float(np.max(np.abs(got - want))) if got.size else 0.0
    _require(
        np.allclose(got, want, rtol=rtol, atol=atol),
        f"{name} is wrong (largest difference {worst:.3g}).\n"
        f"expected:\n{np.round(want, decimals)}\ngot:\n{np.round(got, decimals)}",
    )


def _private(value):
    """A copy of a NumPy array or a list, else the value itself."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return list(value)
    return value


def raises(exc_type, fn, *args, **kwargs) -> bool:
    """True if ``fn(*args, **kwargs)`` raises ``exc_type``; other exceptions propagate.

    ``fn`` gets copies of the NumPy arrays and lists among the arguments, so that a function
    that changes its arguments cannot change the caller's values.
    """
    try:
        fn(*[_private(a) for a in args], **{k: _private(v) for k, v in kwargs.items()})
    except exc_type:
        return True
    return False
