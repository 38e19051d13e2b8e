"""Shared argument checks of :mod:`dlcourse.generative` (private)."""

from __future__ import annotations

from typing import Any

from .._validation import InvalidParameterError, as_tensor


def float_tensor(x: Any, name: str, ndim=None) -> Any:
    """``x`` as a floating-point tensor (an integer or a list becomes float32); no copy."""
    import torch

    t = as_tensor(x, name, ndim=ndim)
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    return t


def same_shape(a: Any, b: Any, names: tuple[str, str]) -> None:
    """Raise a message naming both arguments when two tensors differ in shape."""
    if tuple(a.shape) != tuple(b.shape):
        raise InvalidParameterError(
            f"'{names[0]}' and '{names[1]}' must have the same shape. "
            f"Got {tuple(a.shape)} and {tuple(b.shape)} instead."
        )
