"""The one base class of every attack: the bookkeeping, so that each attack holds only maths.

An attack is an object built on a model, ``atk = PGD(model, eps=0.3)``, and called on a batch,
``x_adv = atk(x, y)``, as in the attack libraries people already know. :class:`Attack` does
everything that is not the attack itself:

* checks the inputs (``x`` a floating-point tensor of shape (N, ...) inside the valid range
  ``clamp``; ``y`` integer labels of shape (N,) in ``[0, number of outputs)``);
* moves the batch to the model's device and dtype (and the result back to ``x``'s);
* puts the model in eval mode and turns off ``requires_grad`` of its parameters for the
  duration of the attack, so that no parameter, ``.grad`` or flag is changed, and restores
  every module's train/eval mode and every flag afterwards (also when the attack raises);
* enables gradients even when called under ``torch.no_grad()``;
* returns a detached tensor of the same shape, dtype and device as ``x``.

A subclass implements ``forward(x, y)`` on a checked batch and uses ``self.model``,
``self.project(x)`` (clamp to the valid range) and ``self.loss_fn``.
"""

from __future__ import annotations

import math
import numbers
from contextlib import contextmanager

import numpy as np

from .._validation import InvalidParameterError, check_callable, invalid

__all__ = ["Attack", "frozen_model"]


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
    raise invalid("norm", "'inf' (or float('inf')) or '2' (or 2)", value)


def check_clamp(value) -> tuple[float, float] | None:
    """``None`` (no clamping) or a pair ``(low, high)`` of finite reals with low < high."""
    if value is None:
        return None
    expected = "None or a pair (low, high) of finite numbers with low < high"
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise invalid("clamp", expected, value) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise invalid("clamp", expected, value)
    return low, high


def check_model(model):
    """The model must be callable (a ``torch.nn.Module`` or a function of a batch)."""
    return check_callable(
        model, "model", "a torch.nn.Module (or a callable mapping a batch to logits)"
    )


@contextmanager
def frozen_model(model):
    """Put ``model`` in eval mode with parameters not requiring grad; restore both on exit.

    Every sub-module's ``training`` flag and every parameter's ``requires_grad`` flag is
    restored exactly as it was (a model in train mode comes back in train mode, a frozen
    layer stays frozen). Nothing else (parameters, their ``.grad``) is touched. Callables
    that are not ``torch.nn.Module`` pass through unchanged.
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        yield model
        return
    modes = [(m, m.training) for m in model.modules()]
    params = [p for p in model.parameters() if p.is_leaf]
    flags = [p.requires_grad for p in params]
    model.eval()
    for p in params:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)
        for m, mode in modes:
            m.training = mode


def _model_place(model, x):
    """(device, dtype) to compute on: the model's parameters', else ``x``'s."""
    import torch

    if isinstance(model, torch.nn.Module):
        for p in model.parameters():
            return p.device, (p.dtype if p.is_floating_point() else x.dtype)
    return x.device, x.dtype


class Attack:
    """Base class of the attacks: input checks, model bookkeeping, clamping.

    Parameters
    ----------
    model : torch.nn.Module or callable
        Maps a batch ``x`` of shape (N, ...) to logits of shape (N, K).
    clamp : (float, float) or None
        The valid input range; inputs must lie in it and adversarial examples are clamped
        to it. ``None``: no range (no check, no clamping).

    Notes
    -----
    ``atk(x, y)`` returns ``x_adv`` (detached, same shape, dtype and device as ``x``). The
    model's parameters, their gradients and ``requires_grad`` flags, and the train/eval mode
    of every module are the same after the call as before.
    """

    #: names of the constructor arguments shown by ``repr`` (set by each subclass)
    _repr_fields: tuple[str, ...] = ()
    #: whether ``forward`` needs labels
    needs_labels: bool = True

    def __init__(self, model, *, clamp=(0.0, 1.0)):
        self.model = check_model(model)
        self.clamp = check_clamp(clamp)

    # ------------------------------------------------------------------ to override
    def forward(self, x, y):
        """Return the adversarial batch for a checked batch ``x`` (labels ``y``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x, y).")

    # ------------------------------------------------------------------ helpers
    def project(self, x):
        """Clamp ``x`` to the valid range (identity when ``clamp`` is None)."""
        import torch

        if self.clamp is None:
            return x
        return torch.clamp(x, min=self.clamp[0], max=self.clamp[1])

    @staticmethod
    def loss_fn(logits, y):
        """The loss an attack increases: mean cross-entropy (overridable per instance)."""
        import torch.nn.functional as F

        return F.cross_entropy(logits, y)

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._repr_fields)
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ the call
    def _check_x(self, x):
        import torch

        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        if not isinstance(x, torch.Tensor):
            raise invalid("x", "a torch tensor of shape (N, ...)", got=f"{type(x).__name__}")
        if not x.is_floating_point():
            raise invalid(
                "x",
                f"a floating-point tensor (images in {list(self.clamp or ('-inf', 'inf'))})",
                got=f"dtype {x.dtype}",
            )
        if x.ndim < 2 or x.shape[0] == 0:
            raise invalid(
                "x",
                "a non-empty batch of shape (N, ...) with at least 2 dimensions "
                "(add a batch axis with x[None])",
                got=f"shape {tuple(x.shape)}",
            )
        if not bool(torch.isfinite(x).all()):
            raise InvalidParameterError("The 'x' argument contains NaN or infinite values.")
        if self.clamp is not None:
            low, high = float(x.min()), float(x.max())
            if low < self.clamp[0] or high > self.clamp[1]:
                raise InvalidParameterError(
                    f"The 'x' argument must lie in the valid range {list(self.clamp)}; "
                    f"got values in [{low:.4g}, {high:.4g}]. Scale the images to "
                    f"{list(self.clamp)} or pass clamp=None."
                )
        return x

    def _check_y(self, y, x, n_outputs: int):
        import torch

        if y is None:
            if self.needs_labels:
                raise InvalidParameterError(
                    f"{type(self).__name__} needs labels: call it as atk(x, y) with y of "
                    f"shape ({x.shape[0]},)."
                )
            return None
        if isinstance(y, (np.ndarray, list, tuple)):
            y = torch.as_tensor(np.asarray(y))
        if not isinstance(y, torch.Tensor):
            raise invalid("y", "a tensor of integer labels", got=f"{type(y).__name__}")
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise InvalidParameterError(
                f"The 'y' argument must hold integer labels. Got dtype {y.dtype}."
            )
        if y.ndim != 1 or y.shape[0] != x.shape[0]:
            raise invalid(
                "y",
                f"of shape ({x.shape[0]},), one label per row of x",
                got=f"shape {tuple(y.shape)}",
            )
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_outputs):
            raise InvalidParameterError(
                f"The 'y' argument must hold labels in [0, {n_outputs}) (the model has "
                f"{n_outputs} outputs). Got values in [{int(y.min())}, {int(y.max())}]."
            )
        return y.long()

    def __call__(self, x, y=None):
        """Return adversarial examples for the batch ``x`` with labels ``y``."""
        import torch

        x_in = self._check_x(x)
        device, dtype = _model_place(self.model, x_in)
        xw = x_in.detach().to(device=device, dtype=dtype)
        with frozen_model(self.model), torch.enable_grad():
            with torch.no_grad():
                probe = self.model(xw[:1])
            if probe.ndim != 2:
                raise InvalidParameterError(
                    f"The model must return logits of shape (N, K); it returned shape "
                    f"{tuple(probe.shape)} for one example."
                )
            yw = self._check_y(y, x_in, probe.shape[1])
            if yw is not None:
                yw = yw.to(device)
            x_adv = self.forward(xw, yw)
        x_adv = x_adv.detach().to(device=x_in.device, dtype=x_in.dtype)
        return x_adv.numpy() if isinstance(x, np.ndarray) else x_adv
