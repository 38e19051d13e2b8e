"""Group actions on images and numerical checks of equivariance and invariance.

Taught in the chapter *Convolutions, invariance and equivariance* (``book/convolutions``).

A group G acts on images by transformations :math:`T_g` (here: translations, circular or
not, and rotations by multiples of 90 degrees). A map ``f`` is

* *equivariant* when transforming the input transforms the output:
  :math:`f(T_g x) = T'_g f(x)` (``T'`` acts on the output; for a stride-1 convolution it is
  the same shift), measured by the relative error
  :math:`\\|f(T x) - T' f(x)\\| / \\|f(x)\\|`;
* *invariant* when the output does not change at all: :math:`f(T_g x) = f(x)`, measured by
  :math:`\\|f(T x) - f(x)\\| / \\|f(x)\\|`.

Averaging any ``f`` over a finite group orbit, :math:`\\bar f(x) = \\frac{1}{|G|}
\\sum_{g} f(T_g x)`, makes it exactly invariant (data augmentation, taken to its limit, is
this average). All functions accept NumPy arrays and torch tensors and return the same kind.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch

from .._validation import InvalidParameterError, as_array_or_tensor, as_float_array, invalid

__all__ = [
    "translate",
    "rotate90",
    "translation_group",
    "rotation_group",
    "equivariance_error",
    "invariance_error",
    "orbit_average",
]


def _is_int(v) -> bool:
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool)


def _check_image_like(x, name: str = "x", min_ndim: int = 2):
    x = as_array_or_tensor(x, name)
    if x.ndim < min_ndim:
        raise InvalidParameterError(
            f"The '{name}' argument must have at least {min_ndim} dimensions. "
            f"Got shape {tuple(x.shape)}."
        )
    return x


def translate(x, shift, circular: bool = True):
    """Shift the content of ``x`` by ``shift = (dy, dx)`` along its last two axes.

    ``out[..., i, j] = x[..., i - dy, j - dx]``: the picture moves down by ``dy`` and right
    by ``dx`` (negative values move it up / left). With ``circular=True`` what leaves one
    side comes back on the other (a cyclic shift, an exact group action); otherwise the
    uncovered pixels are zeros. An int ``shift`` shifts only the last axis (1-D signals).

    Parameters
    ----------
    x : array or tensor of shape (..., H, W) (or (..., n) for an int shift)
    shift : int or pair of ints
    circular : bool

    Examples
    --------
    >>> import numpy as np
    >>> translate(np.array([[1, 2, 3], [4, 5, 6]]), (0, 1))
    array([[3, 1, 2],
           [6, 4, 5]])
    >>> translate(np.array([[1, 2, 3], [4, 5, 6]]), (1, 0), circular=False)
    array([[0, 0, 0],
           [1, 2, 3]])
    """
    shifts: tuple[int, ...]
    axes: tuple[int, ...]
    if _is_int(shift):
        x = _check_image_like(x, min_ndim=1)
        shifts, axes = (int(shift),), (-1,)
    elif isinstance(shift, (tuple, list)) and len(shift) == 2 and all(_is_int(s) for s in shift):
        x = _check_image_like(x, min_ndim=2)
        shifts, axes = (int(shift[0]), int(shift[1])), (-2, -1)
    else:
        raise invalid("shift", "an int or a pair of ints (dy, dx)", shift)
    is_torch = isinstance(x, torch.Tensor)
    out: Any = torch.roll(x, shifts, dims=axes) if is_torch else np.roll(x, shifts, axis=axes)
    if circular:
        return out
    out = out.clone() if is_torch else out.copy()
    for s, axis in zip(shifts, axes, strict=True):
        n = x.shape[axis]
        index = [slice(None)] * x.ndim
        index[axis] = slice(0, min(s, n)) if s >= 0 else slice(max(n + s, 0), n)
        out[tuple(index)] = 0
    return out


def rotate90(x, k: int = 1):
    """Rotate the last two axes of ``x`` by ``k`` quarter turns counter-clockwise.

    Examples
    --------
    >>> import numpy as np
    >>> rotate90(np.array([[1, 2], [3, 4]]))
    array([[2, 4],
           [1, 3]])
    """
    x = _check_image_like(x)
    if not _is_int(k):
        raise invalid("k", "an int (number of quarter turns)", k)
    if isinstance(x, torch.Tensor):
        return torch.rot90(x, int(k), dims=(-2, -1))
    return np.rot90(x, int(k), axes=(-2, -1))


def translation_group(shape: Sequence[int]) -> list[Callable]:
    """All ``H*W`` circular shifts of an H x W image, as transforms (identity first).

    The cyclic group :math:`\\mathbb{Z}_H \\times \\mathbb{Z}_W`, to pass to
    :func:`orbit_average`.
    """
    if len(shape) != 2 or not all(_is_int(s) and s >= 1 for s in shape):
        raise invalid("shape", "a pair of positive ints", shape)
    h, w = int(shape[0]), int(shape[1])
    return [_Shift((dy, dx)) for dy in range(h) for dx in range(w)]


def rotation_group() -> list[Callable]:
    """The four rotations by 0, 90, 180, 270 degrees (the cyclic group C4), as transforms."""
    return [_Rot(k) for k in range(4)]


class _Shift:
    def __init__(self, shift):
        self.shift = shift

    def __call__(self, x):
        return translate(x, self.shift)

    def __repr__(self) -> str:
        return f"translate(shift={self.shift})"


class _Rot:
    def __init__(self, k):
        self.k = k

    def __call__(self, x):
        return rotate90(x, self.k)

    def __repr__(self) -> str:
        return f"rotate90(k={self.k})"


def _to_numpy(value, what: str) -> np.ndarray:
    return as_float_array(value, what, allow_nan=True)


def _relative(diff: float, scale: float, other: float) -> float:
    """diff / scale; when f(x) = 0 fall back to the other output's norm (0 if both vanish)."""
    if scale > 0:
        return diff / scale
    if other > 0:
        return diff / other
    return 0.0


def _evaluate(f, x):
    with torch.no_grad():
        return f(x)


def equivariance_error(
    f: Callable, transform: Callable, x, transform_out: Callable | None = None
) -> float:
    """Relative equivariance error :math:`\\|f(T x) - T' f(x)\\| / \\|f(x)\\|`.

    0 (up to rounding) when ``f`` is equivariant to ``transform`` on ``x``. Computed without
    gradients; norms are Frobenius norms over all entries, in float64.

    Parameters
    ----------
    f : callable
        Maps ``x`` to an array or tensor (a function or a torch module).
    transform : callable
        ``T``, applied to the input, e.g. ``lambda x: translate(x, (2, 3))``.
    x : array or tensor
    transform_out : callable, optional
        ``T'``, applied to ``f(x)``; defaults to ``transform`` (the same group action on the
        output). For a stride-2 layer a shift by 2 of the input is a shift by 1 of the output.

    Returns
    -------
    float
        When ``f(x) = 0`` the error is divided by :math:`\\|f(Tx)\\|` instead, and is 0 when
        both vanish.

    Examples
    --------
    >>> import torch
    >>> from dlcourse.cnn import conv2d
    >>> w = torch.randn(4, 1, 3, 3)
    >>> f = lambda x: conv2d(x, w, padding=1, padding_mode="circular")
    >>> equivariance_error(f, lambda x: translate(x, (2, -1)), torch.randn(1, 1, 8, 8)) < 1e-5
    True
    """
    for name, fn in (("f", f), ("transform", transform)):
        if not callable(fn):
            raise invalid(name, "callable", got=f"{type(fn).__name__}")
    if transform_out is None:
        transform_out = transform
    elif not callable(transform_out):
        raise invalid("transform_out", "callable or None", got=f"{type(transform_out).__name__}")
    fx = _evaluate(f, x)
    f_tx = _to_numpy(_evaluate(f, transform(x)), "f(transform(x))")
    t_fx = _to_numpy(transform_out(fx), "transform_out(f(x))")
    if f_tx.shape != t_fx.shape:
        raise InvalidParameterError(
            f"f(T x) has shape {f_tx.shape} but T' f(x) has shape {t_fx.shape}; pass a "
            "'transform_out' that acts on f's output."
        )
    diff = float(np.linalg.norm(f_tx - t_fx))
    return _relative(
        diff, float(np.linalg.norm(_to_numpy(fx, "f(x)"))), float(np.linalg.norm(f_tx))
    )


def invariance_error(f: Callable, transform: Callable, x) -> float:
    """Relative invariance error :math:`\\|f(T x) - f(x)\\| / \\|f(x)\\|` (0 if invariant).

    Same conventions as :func:`equivariance_error` (float64, no gradients; divided by
    :math:`\\|f(Tx)\\|` when ``f(x) = 0``, and 0 when both vanish).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(4, 4)
    >>> invariance_error(lambda x: x.sum(), lambda x: translate(x, (1, 2)), x) < 1e-12
    True
    """
    for name, fn in (("f", f), ("transform", transform)):
        if not callable(fn):
            raise invalid(name, "callable", got=f"{type(fn).__name__}")
    fx = _to_numpy(_evaluate(f, x), "f(x)")
    f_tx = _to_numpy(_evaluate(f, transform(x)), "f(transform(x))")
    if f_tx.shape != fx.shape:
        raise InvalidParameterError(f"f(T x) has shape {f_tx.shape} but f(x) has shape {fx.shape}.")
    diff = float(np.linalg.norm(f_tx - fx))
    return _relative(diff, float(np.linalg.norm(fx)), float(np.linalg.norm(f_tx)))


def orbit_average(f: Callable, x, transforms: Iterable[Callable]):
    """Average of ``f`` over the orbit of ``x``: :math:`\\frac{1}{|G|}\\sum_{g\\in G} f(T_g x)`.

    If ``transforms`` is a whole finite group (it contains the identity and is closed under
    composition, e.g. :func:`rotation_group` or :func:`translation_group`), the result is
    exactly invariant: transforming ``x`` only permutes the terms of the sum. Training on
    every transformed copy of the data (augmentation) pushes a model towards this average.
    Gradients flow through ``f`` (no ``no_grad`` here).

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda x: x[..., 0, 0]               # not invariant: reads one pixel
    >>> x = np.arange(9.0).reshape(3, 3)
    >>> float(orbit_average(f, x, translation_group((3, 3))))   # the mean pixel
    4.0
    """
    if not callable(f):
        raise invalid("f", "callable", got=f"{type(f).__name__}")
    transforms = list(transforms)
    if not transforms:
        raise InvalidParameterError(
            "The 'transforms' argument must contain at least one transform."
        )
    total: Any = None
    for t in transforms:
        if not callable(t):
            raise InvalidParameterError(
                f"Every transform must be callable. Got {type(t).__name__}."
            )
        y = f(t(x))
        total = y if total is None else total + y
    return total / len(transforms)
