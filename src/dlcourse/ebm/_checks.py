"""Argument checks shared by the modules of :mod:`dlcourse.ebm` (not public)."""

from __future__ import annotations

import math
import numbers
from typing import Any

from ..utils import is_torch

__all__ = ["check_beta", "check_temperature", "check_pair"]


def _real(name: str, value: Any, rule: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if is_torch(value) and value.numel() == 1:
            value = float(value)
        else:
            raise TypeError(
                f"The '{name}' argument must be a real number {rule}. "
                f"Got {value!r} of type {type(value).__name__}."
            )
    return float(value)


def check_beta(beta: Any) -> float:
    """An inverse temperature: a real number > 0; ``math.inf`` (the zero-temperature limit) is
    allowed."""
    b = _real("beta", beta, "> 0 (math.inf for the limit)")
    if math.isnan(b) or b <= 0:
        raise ValueError(
            f"The 'beta' argument (inverse temperature) must be > 0; "
            f"use math.inf for the min-energy limit. Got {beta!r}."
        )
    return b


def check_temperature(temperature: Any) -> float:
    """A temperature: a finite real number > 0."""
    t = _real("temperature", temperature, "> 0")
    if not math.isfinite(t) or t <= 0:
        raise ValueError(
            f"The 'temperature' argument must be a finite number > 0. Got {temperature!r}."
        )
    return t


def check_pair(z1: Any, z2: Any, names: tuple[str, str] = ("z1", "z2")):
    """Two torch tensors of shape (n, d) with the same n and d; returns them."""
    for name, z in zip(names, (z1, z2), strict=True):
        if not is_torch(z):
            raise TypeError(
                f"The '{name}' argument must be a torch.Tensor of shape (n, d). "
                f"Got {type(z).__name__}."
            )
        if z.ndim != 2:
            raise ValueError(
                f"The '{name}' argument must have shape (n, d) (one embedding per row). "
                f"Got shape {tuple(z.shape)}."
            )
    if z1.shape[0] != z2.shape[0]:
        raise ValueError(
            f"'{names[0]}' and '{names[1]}' must hold the same number of examples (row i of one "
            f"is the positive partner of row i of the other). Got batch sizes {z1.shape[0]} "
            f"and {z2.shape[0]}."
        )
    if z1.shape[1] != z2.shape[1]:
        raise ValueError(
            f"'{names[0]}' and '{names[1]}' must have the same embedding dimension. "
            f"Got {z1.shape[1]} and {z2.shape[1]}."
        )
    if z1.shape[0] < 1:
        raise ValueError("The batch is empty: InfoNCE needs at least one pair.")
    return z1, z2
