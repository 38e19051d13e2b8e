"""Argument checks shared by the modules of :mod:`dlcourse.cnn` (private)."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_pair", "as_tensor", "as_array_or_tensor", "check_image_batch"]


def as_pair(name: str, value, minimum: int) -> tuple[int, int]:
    """Validate an int or a pair of ints (each ``>= minimum``); return it as a pair."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (numbers.Integral, np.integer)) for v in value)
        and not any(isinstance(v, bool) for v in value)
    ):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(
            f"The '{name}' argument must be an int or a pair of ints (height, width). "
            f"Got {value!r}."
        )
    if min(pair) < minimum:
        rule = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"The '{name}' argument must be {rule}. Got {value!r}.")
    return pair


def as_tensor(name: str, value, like=None):
    """Return ``value`` as a torch tensor (NumPy arrays and lists are converted, no copy
    when possible), on the device of ``like`` when ``like`` is a tensor."""
    import torch

    if isinstance(value, torch.Tensor):
        return value
    try:
        t = torch.as_tensor(np.asarray(value))
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"The '{name}' argument must be a torch tensor or an array of numbers. "
            f"Got {type(value).__name__}."
        ) from None
    if isinstance(like, torch.Tensor):
        t = t.to(like.device)
    return t


def as_array_or_tensor(name: str, value):
    """Return a torch tensor or NumPy array unchanged; convert anything else to a float array."""
    import torch

    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"The '{name}' argument must be a NumPy array or a torch tensor. "
            f"Got {type(value).__name__}."
        ) from None


def check_image_batch(name: str, x) -> tuple:
    """Check that ``x`` is (N, C, H, W) or unbatched (C, H, W); return (x4d, was_unbatched)."""
    if x.ndim == 3:
        return x.unsqueeze(0), True
    if x.ndim != 4:
        raise ValueError(
            f"The '{name}' argument must be a 4-D tensor (N, C, H, W) or a 3-D tensor "
            f"(C, H, W). Got shape {tuple(x.shape)} ({x.ndim}-D)."
        )
    return x, False
