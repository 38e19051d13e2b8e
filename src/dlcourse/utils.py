"""Small helpers shared by every chapter: device choice and seeding.

Every chapter of the book starts with ``seed_everything(0)`` so that what the
text says about a figure is what the reader sees when they run it.
"""

from __future__ import annotations

import os
import random
import sys
import warnings
from typing import Any

import numpy as np

from ._validation import check_option, check_scalar

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

    if prefer is not None:
        check_option(prefer, "prefer", ("cpu", "cuda"))
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
    seed = check_scalar(seed, "seed", int, low=0)
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


def _deprecated_check(old: str) -> None:
    warnings.warn(
        f"dlcourse.utils.{old} is deprecated and will be removed in the next release; "
        "the package validates its arguments with dlcourse._validation.check_scalar.",
        DeprecationWarning,
        stacklevel=3,
    )


def check_int(name: str, value: Any, low: int) -> int:
    """Deprecated: an integer argument (Python or NumPy, not bool) ``>= low``, as int."""
    _deprecated_check("check_int")
    return check_scalar(value, name, int, low=low)


def check_positive(name: str, value, *, strict: bool = True) -> float:
    """Deprecated: a positive (or, ``strict=False``, non-negative) real argument, as float."""
    _deprecated_check("check_positive")
    return check_scalar(value, name, float, low=0, closed="neither" if strict else "both")


def check_in_range(name: str, value, low: float, high: float) -> float:
    """Deprecated: a real argument in the half-open interval [low, high), as float."""
    _deprecated_check("check_in_range")
    return check_scalar(value, name, float, low=low, high=high, closed="left")
