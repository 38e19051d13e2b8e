"""Small helpers shared by every chapter: device choice and seeding.

Every chapter of the book starts with ``seed_everything(0)`` so that what the
text says about a figure is what the reader sees when they run it.
"""

from __future__ import annotations

import numbers
import os
import random
import sys
from typing import Any

import numpy as np

__all__ = [
    "device",
    "seed_everything",
    "is_torch",
    "check_int",
    "check_positive",
    "check_in_range",
]


def device(prefer: str | None = None):
    """Return the ``torch.device`` to compute on: CUDA when present, else CPU.

    Parameters
    ----------
    prefer : {"cpu", "cuda"} or None
        Force a device. ``"cuda"`` raises if no GPU is visible.

    Examples
    --------
    >>> device("cpu")
    device(type='cpu')
    """
    import torch

    if prefer not in (None, "cpu", "cuda"):
        raise ValueError(f"The 'prefer' argument must be None, 'cpu' or 'cuda'. Got {prefer!r}.")
    if prefer == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if prefer == "cuda":
        raise RuntimeError("device('cuda') was asked for, but torch sees no CUDA GPU.")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA); return a fresh NumPy Generator.

    Examples
    --------
    >>> rng = seed_everything(0)
    >>> float(rng.random()) == float(seed_everything(0).random())
    True
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"The 'seed' argument must be a non-negative integer. Got {seed!r}.")
    seed = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds legacy global-state code too
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # the NumPy parts of the package work without torch
        pass
    return np.random.default_rng(seed)


def is_torch(x: Any) -> bool:
    """True for a ``torch.Tensor`` (never imports torch just to ask)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def check_int(name: str, value: Any, low: int) -> int:
    """Validate an integer argument (Python or NumPy, not bool) ``>= low``; return it as int."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"The '{name}' argument must be an integer >= {low}. Got {value!r}.")
    return int(value)


def check_positive(name: str, value, *, strict: bool = True) -> float:
    """Validate a positive (or non-negative) real argument; return it as float."""
    rule = "> 0" if strict else ">= 0"
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"The '{name}' argument must be a real number {rule}. Got {value!r}."
        ) from None
    if not np.isfinite(v) or (v <= 0 if strict else v < 0):
        raise ValueError(f"The '{name}' argument must be a real number {rule}. Got {value!r}.")
    return v


def check_in_range(name: str, value, low: float, high: float) -> float:
    """Validate a real argument in the half-open interval [low, high); return it as float."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"The '{name}' argument must be a real number in [{low}, {high}). Got {value!r}."
        ) from None
    if not (low <= v < high):
        raise ValueError(f"The '{name}' argument must be in [{low}, {high}). Got {value!r}.")
    return v
