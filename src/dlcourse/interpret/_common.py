"""Shared argument handling of :mod:`dlcourse.interpret` (private)."""

from __future__ import annotations

from .._validation import InvalidParameterError, check_ndim, invalid
from ..attacks.base import check_model, frozen_model

__all__ = ["check_model", "frozen_model", "image_batch", "targets", "model_device"]


def image_batch(x, name: str = "x"):
    """``x`` as a floating-point tensor of shape (N, ...) with N >= 1, never a view to write to."""
    import numpy as np
    import torch

    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise invalid(name, "a torch tensor of shape (N, ...)", got=f"{type(x).__name__}")
    if not x.is_floating_point():
        raise invalid(name, "a floating-point tensor", got=f"dtype {x.dtype}")
    check_ndim(
        x, name, min_ndim=2, what="a batch of shape (N, ...) (add a batch axis with x[None])"
    )
    if x.shape[0] == 0:
        raise invalid(name, "a non-empty batch", got=f"shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise InvalidParameterError(f"The '{name}' argument contains NaN or infinite values.")
    return x


def targets(target, z):
    """Class indices of shape (N,) for logits ``z`` (N, K): None means the predicted class."""
    import torch

    n, k = z.shape
    if target is None:
        return z.argmax(dim=1)
    if isinstance(target, (int,)) and not isinstance(target, bool):
        t = torch.full((n,), int(target), dtype=torch.long, device=z.device)
    else:
        t = torch.as_tensor(target, device=z.device)
        if t.is_floating_point() or t.dtype == torch.bool:
            raise invalid("target", "an int, None or integer class indices of shape (N,)", target)
        t = t.long().reshape(-1)
        if t.numel() == 1:
            t = t.expand(n)
        if t.numel() != n:
            raise InvalidParameterError(
                f"The 'target' argument must hold one class per input: x has {n} inputs, "
                f"target has {t.numel()} entries."
            )
    if bool(((t < 0) | (t >= k)).any()):
        raise invalid("target", f"class indices in 0..{k - 1}", target)
    return t


def model_device(model, x):
    """(device, dtype) of the model's parameters, else those of ``x``."""
    import torch

    if isinstance(model, torch.nn.Module):
        for p in model.parameters():
            return p.device, (p.dtype if p.is_floating_point() else x.dtype)
    return x.device, x.dtype


def logits(model, x):
    """``model(x)`` checked to be a 2-D tensor of logits (N, K)."""
    import torch

    z = model(x)
    if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[0] != x.shape[0]:
        shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise InvalidParameterError(
            f"The model must map a batch of shape {tuple(x.shape)} to logits of shape "
            f"(N, n_classes); it returned {shape}."
        )
    return z
