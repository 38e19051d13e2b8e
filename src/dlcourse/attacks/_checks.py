"""Argument checks shared by the modules of :mod:`dlcourse.attacks` (private)."""

from __future__ import annotations

import math
import numbers

from ..utils import check_int, check_positive

__all__ = ["check_eps", "check_norm", "check_clamp", "check_steps", "check_model"]


def check_eps(name: str, value) -> float:
    """A finite real number >= 0 (a perturbation budget such as ``eps``)."""
    return check_positive(name, value, strict=False)


def check_steps(name: str, value) -> int:
    """A positive integer (a number of iterations)."""
    return check_int(name, value, 1)


def check_norm(value) -> str:
    """Normalise the ``norm`` argument to ``"inf"`` or ``"2"``.

    Accepted: ``"inf"``, ``"linf"``, ``float("inf")`` for the L-infinity ball;
    ``"2"``, ``"l2"``, ``2`` for the Euclidean ball.
    """
    if isinstance(value, str):
        key = value.lower()
        if key in ("inf", "linf", "l_inf"):
            return "inf"
        if key in ("2", "l2"):
            return "2"
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        if math.isinf(value) and value > 0:
            return "inf"
        if value == 2:
            return "2"
    raise ValueError(
        f"The 'norm' argument must be 'inf' (or float('inf')) or '2' (or 2). Got {value!r}."
    )


def check_clamp(value) -> tuple[float, float] | None:
    """``None`` (no clamping) or a pair ``(low, high)`` of finite reals with low < high."""
    if value is None:
        return None
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(
            f"The 'clamp' argument must be None or a pair (low, high) of numbers. Got {value!r}."
        ) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(
            f"The 'clamp' argument must be a pair (low, high) with low < high. Got {value!r}."
        )
    return low, high


def check_model(model):
    """The model must be callable (a ``torch.nn.Module`` or a function of a batch)."""
    if not callable(model):
        raise TypeError(
            "The 'model' argument must be a torch.nn.Module (or a callable mapping a batch "
            f"to logits). Got {type(model).__name__}."
        )
    return model
