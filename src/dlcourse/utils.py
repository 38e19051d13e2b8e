"""Small helpers shared by every chapter: device choice, seeding, and numbers for the text.

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
    "glue",
    "is_torch",
    "check_int",
    "check_positive",
    "check_in_range",
]


def device(prefer: str | None = None):
    """Return the ``torch.device`` to compute on: CUDA when present, else CPU.

    The environment variable ``DLCOURSE_DEVICE`` (``cpu`` or ``cuda``) overrides the automatic
    choice, so that a whole notebook can be run on the CPU of a GPU machine
    (``DLCOURSE_DEVICE=cpu jupyter lab``) or made to fail loudly where no GPU is visible
    (``DLCOURSE_DEVICE=cuda``). An explicit ``prefer`` overrides the variable.

    Parameters
    ----------
    prefer : {"cpu", "cuda"} or None
        Force a device. ``"cuda"`` raises if no GPU is visible. ``None``: ``$DLCOURSE_DEVICE``
        if set, else CUDA when available, else CPU.

    Examples
    --------
    >>> device("cpu")
    device(type='cpu')
    """
    import os

    import torch

    if prefer is None and os.environ.get("DLCOURSE_DEVICE"):
        prefer = os.environ["DLCOURSE_DEVICE"].strip().lower()
        check_option(prefer, "DLCOURSE_DEVICE", ("cpu", "cuda"))
    elif prefer is not None:
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


def glue(name: str, value: Any, display: bool = True) -> Any:
    """Record a measured number under ``name`` for the chapter's text; return it as Python.

    The book quotes what its notebooks measure with myst-nb's ``{glue:text}`name:.2f```.
    NumPy and torch scalars are turned into Python numbers first: NumPy 2 writes
    ``np.float64(0.5)`` as the repr myst-nb formats, and the format spec would fail. Outside
    the book build (a student's kernel without myst-nb) nothing is recorded, and the value is
    still returned, so a chapter runs with the ``[student]`` extra alone.

    Parameters
    ----------
    name : str
        The key the text uses.
    value : Any
        A number, a NumPy or one-element torch scalar, or anything myst-nb can glue.
    display : bool
        Show the value in the notebook's output as well (myst-nb's default).

    Examples
    --------
    >>> glue("accuracy", np.float64(0.975), display=False)
    0.975
    """
    if is_torch(value) and value.numel() == 1:
        value = value.item()
    elif isinstance(value, np.generic):
        value = value.item()
    try:
        from myst_nb import glue as record
    except ImportError:  # not building the book: nothing to record
        return value
    record(name, value, display=display)
    return value


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
