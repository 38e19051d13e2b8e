"""A small training loop for torch models, shared by every chapter that trains a network.

``train`` runs mini-batch optimisation with a tqdm progress bar and returns the per-step and
per-epoch history; ``evaluate`` gives accuracy, ``predict`` the logits, both batched and without
gradients. Data is either an ``(x, y)`` pair of arrays/tensors (shuffled with ``seed`` every
epoch) or any iterable of ``(x_batch, y_batch)`` pairs such as a ``torch.utils.data.DataLoader``.

Examples
--------
>>> import torch
>>> from dlcourse.trainer import train, evaluate
>>> x = torch.randn(256, 2); y = (x[:, 0] > 0).long()
>>> model = torch.nn.Linear(2, 2)
>>> history = train(model, (x, y), epochs=20, lr=0.5, progress=False)
>>> evaluate(model, x, y) > 0.95
True
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._validation import InvalidParameterError, check_scalar, check_torch_seed

__all__ = ["History", "train", "evaluate", "predict", "as_tensor"]


@dataclass
class History:
    """What happened during ``train``.

    Attributes
    ----------
    step_loss : list of float
        The training loss of every mini-batch, in order (for training curves).
    loss : list of float
        Mean training loss of each epoch.
    val_accuracy : list of float
        Accuracy on ``val`` after each epoch (empty when no ``val`` was given).
    seconds : float
        Wall-clock time spent in ``train``.
    """

    step_loss: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0


def as_tensor(a, dtype=None, device=None):
    """Convert an array-like (NumPy array, list, tensor) to a torch tensor on ``device``."""
    import torch

    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    return t.to(device=device, dtype=dtype) if (dtype or device) else t


def _check_pair(x, y, name: str, labels: bool = False):
    """Tensors x of shape (n, ...) and y of shape (n,) (labels) or (n, ...) (any target)."""
    x, y = as_tensor(x), as_tensor(y)
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0] or (labels and y.ndim != 1):
        want = "(n,)" if labels else "(n, ...)"
        raise InvalidParameterError(
            f"{name} must be a pair (x, y) with x of shape (n, ...) and y of shape {want}; "
            f"got x {tuple(x.shape)} and y {tuple(y.shape)}."
        )
    return x, y


def _batches(data, batch_size: int, generator):
    """Yield mini-batches from an (x, y) pair (shuffled) or pass an iterable through."""
    import torch

    if isinstance(data, tuple) and len(data) == 2:
        x, y = data
        order = torch.randperm(x.shape[0], generator=generator)
        for start in range(0, x.shape[0], batch_size):
            idx = order[start : start + batch_size]
            yield x[idx], y[idx]
    else:
        yield from data


def _param_dtype(model):
    for p in model.parameters():
        return p.dtype
    return None


def _model_device(model):
    for p in model.parameters():
        return p.device
    import torch

    return torch.device("cpu")


def train(
    model,
    data,
    *,
    epochs: int = 1,
    lr: float = 1e-3,
    optimizer=None,
    loss_fn: Callable | None = None,
    batch_size: int = 64,
    val: tuple | None = None,
    batch_transform: Callable | None = None,
    seed: int = 0,
    progress: bool = True,
    desc: str = "train",
) -> History:
    """Minimise ``loss_fn(model(x), y)`` over ``data`` by mini-batch steps of ``optimizer``.

    Each step computes :math:`\\ell = \\mathrm{loss\\_fn}(f_\\theta(x_B), y_B)` on a batch
    :math:`B`, back-propagates and calls ``optimizer.step()``.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place, on the device its parameters live on; left in train mode.
    data : (x, y) pair or iterable of (x_batch, y_batch)
        A pair of arrays or tensors is moved to the model's device (floating-point ones to the
        model's dtype) and reshuffled each epoch. ``y`` holds labels of shape (n,) or any
        targets of shape (n, ...) that ``loss_fn`` accepts (e.g. codes for a regression).
    epochs : int
        Passes over ``data``.
    lr : float
        Learning rate of the default optimizer, ``torch.optim.Adam``.
    optimizer : torch.optim.Optimizer, optional
        Used instead of Adam (``lr`` is then ignored).
    loss_fn : callable, optional
        ``loss_fn(output, y)``; defaults to ``torch.nn.functional.cross_entropy``.
    batch_size : int
        Mini-batch size when ``data`` is a pair.
    val : (x, y) pair, optional
        Accuracy on it is recorded after each epoch.
    batch_transform : callable, optional
        ``batch_transform(model, x_batch, y_batch) -> x_batch`` applied before each step
        (data augmentation, or an attack for adversarial training).
    seed : int
        Seeds the shuffling, so a run is reproducible.
    progress : bool
        Show a tqdm progress bar over the steps.

    Returns
    -------
    History
    """
    import torch
    from tqdm.auto import tqdm

    if not isinstance(model, torch.nn.Module):
        raise InvalidParameterError(
            f"train() needs a torch.nn.Module as model, got {type(model).__name__}."
        )
    epochs = check_scalar(epochs, "epochs", int, low=1)
    batch_size = check_scalar(batch_size, "batch_size", int, low=1)
    dev = _model_device(model)
    if isinstance(data, tuple):
        if len(data) != 2:
            raise InvalidParameterError(
                "data must be a pair (x, y) or an iterable of (x, y) batches."
            )
        x, y = _check_pair(*data, "data")
        dtype = _param_dtype(model)
        data = tuple(t.to(dev, dtype=dtype if t.is_floating_point() else None) for t in (x, y))
        n_steps = epochs * -(-x.shape[0] // batch_size)
    else:
        n_steps = epochs * len(data) if hasattr(data, "__len__") else None
    if val is not None:
        val = _check_pair(*val, "val", labels=True)
    if optimizer is None:
        optimizer = torch.optim.Adam(
            model.parameters(), lr=check_scalar(lr, "lr", float, low=0, closed="neither")
        )
    loss_fn = loss_fn or torch.nn.functional.cross_entropy
    generator = check_torch_seed(seed)

    history = History()
    start = time.perf_counter()
    bar = tqdm(total=n_steps, desc=desc, disable=not progress, leave=False)
    try:
        for _ in range(epochs):
            model.train()
            total, count = 0.0, 0
            for xb, yb in _batches(data, batch_size, generator):
                xb, yb = as_tensor(xb, device=dev), as_tensor(yb, device=dev)
                if batch_transform is not None:
                    xb = batch_transform(model, xb, yb)
                    model.train()
                loss = loss_fn(model(xb), yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                value = float(loss.detach())
                history.step_loss.append(value)
                total += value * len(yb)
                count += len(yb)
                bar.update(1)
                bar.set_postfix(loss=f"{value:.3f}", refresh=False)
            history.loss.append(total / max(count, 1))
            if val is not None:
                history.val_accuracy.append(evaluate(model, *val))
                model.train()
    finally:
        bar.close()
    history.seconds = time.perf_counter() - start
    return history


def predict(model, x, batch_size: int = 512):
    """Return ``model(x)`` computed in eval mode, batch by batch, without gradients.

    The model's train/eval mode is restored afterwards; the output is on the CPU.
    """
    import torch

    x = as_tensor(x)
    dev = _model_device(model)
    dtype = _param_dtype(model) if x.is_floating_point() else None
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            outs = [
                model(x[i : i + batch_size].to(dev, dtype=dtype)).cpu()
                for i in range(0, x.shape[0], batch_size)
            ]
    finally:
        model.train(was_training)
    return torch.cat(outs) if outs else torch.empty(0)


def evaluate(model, x, y, batch_size: int = 512) -> float:
    """Accuracy of ``argmax model(x)`` against integer labels ``y``: mean of [pred_i = y_i]."""
    x, y = _check_pair(x, y, "(x, y)", labels=True)
    if x.shape[0] == 0:
        raise InvalidParameterError("evaluate() needs at least one example.")
    pred = predict(model, x, batch_size).argmax(dim=1)
    return float((pred == y.to(pred.device)).float().mean())
