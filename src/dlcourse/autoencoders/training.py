"""Training auto-encoders with :func:`dlcourse.trainer.train`, and their reconstruction error.

Taught in the chapter *Autoencoders* (``book/autoencoders.ipynb``).

:func:`fit_autoencoder` minimises, over mini-batches :math:`B`,

.. math:: \\frac1{|B|}\\sum_{x \\in B} \\|x - g(f(\\tilde x))\\|^2 + R(x),
   \\qquad R = \\lambda\\sum_i |h_i| \\ \\text{(sparse)} \\quad\\text{or}\\quad
   \\lambda\\|J_f(\\tilde x)\\|_F^2 \\ \\text{(contractive)},

where :math:`\\tilde x = x` for a plain auto-encoder and a corrupted copy
(:func:`~dlcourse.autoencoders.corrupt`, fresh noise at each step) for a denoising one; the
target is always the clean :math:`x`. The loop itself is :func:`dlcourse.trainer.train`.
"""

from __future__ import annotations

from typing import Any

from .._validation import (
    as_tensor,
    check_option,
    check_scalar,
    check_torch_seed,
    invalid,
)

__all__ = ["fit_autoencoder", "reconstruction_error"]

PENALTIES = ("none", "sparse", "contractive")
NOISES = ("none", "gaussian", "mask")


def _check_n_features(model: Any, x: Any) -> None:
    """``x``'s columns must be what the model's first ``Linear`` takes (its encoder's, for an
    :class:`~dlcourse.autoencoders.AE`), checked once for the whole of ``x`` rather than per
    batch; the dtype is not checked, since ``x`` is cast to the model's. Only models whose
    ``forward`` is known to hand ``x`` to that layer are checked (an AE, a Sequential, a
    Linear); any other model raises its own error."""
    import torch

    from .models import AE, _in_features

    forward = type(model).forward
    if forward is AE.forward:
        first = model.encoder
    elif forward in (torch.nn.Sequential.forward, torch.nn.Linear.forward):
        first = model
    else:
        return
    want = _in_features(first)
    if want is not None and x.shape[1] != want:
        raise invalid(
            "x",
            f"a matrix of shape (n_samples, {want}) (the encoder's in_features)",
            got=f"shape {tuple(x.shape)}",
        )


def _objective_module(model, penalty: str, lam: float):
    import torch

    from .penalties import contractive_penalty, sparse_penalty

    class _Objective(torch.nn.Module):
        """Returns (reconstruction, penalty) so that the trainer's loss_fn sees both."""

        def __init__(self, ae):
            super().__init__()
            self.ae = ae

        def forward(self, x):
            if penalty == "none":
                return self.ae(x), x.new_zeros(())
            if penalty == "contractive":
                r = self.ae(x)
                return r, contractive_penalty(self.ae.encoder, x, lam)
            h = self.ae.encoder(x)
            return self.ae.decoder(h), sparse_penalty(h, lam)

    return _Objective(model)


def fit_autoencoder(
    model: Any,
    x: Any,
    *,
    epochs: int = 10,
    lr: float = 1e-3,
    batch_size: int = 64,
    penalty: str = "none",
    lam: float = 0.0,
    noise: str = "none",
    level: float = 0.0,
    seed: Any = 0,
    progress: bool = False,
):
    """Train an auto-encoder in place on ``x`` (see the module docstring for the loss).

    Parameters
    ----------
    model : torch.nn.Module
        An auto-encoder (``model(x)`` reconstructs ``x``); for a penalty it must have
        ``encoder`` and ``decoder`` attributes, as :class:`~dlcourse.autoencoders.AE` has.
        Trained on the device and dtype of its parameters; left in train mode.
    x : ndarray or Tensor of shape (n_samples, n_features)
    epochs, batch_size : int >= 1
    lr : float > 0
        Adam's learning rate.
    penalty : {"none", "sparse", "contractive"}
    lam : float >= 0
        The penalty's weight :math:`\\lambda`.
    noise : {"none", "gaussian", "mask"}
        Corruption of the inputs (a denoising auto-encoder); ``level`` as in
        :func:`~dlcourse.autoencoders.corrupt`.
    level : float
    seed : int
        Seeds the shuffling and the noise (global random state untouched).
    progress : bool
        Show the trainer's progress bar.

    Returns
    -------
    dlcourse.trainer.History
        ``loss`` per epoch (reconstruction plus penalty), ``step_loss`` per step.

    Examples
    --------
    >>> import torch
    >>> from dlcourse.autoencoders import LinearAE
    >>> x = torch.randn(64, 5)
    >>> ae = LinearAE(5, 2, seed=0)
    >>> h = fit_autoencoder(ae, x, epochs=3, lr=1e-2)
    >>> len(h.loss)
    3
    """
    import torch

    from ..trainer import train
    from .noise import corrupt

    if not isinstance(model, torch.nn.Module):
        raise invalid("model", "a torch.nn.Module", model)
    penalty = check_option(penalty, "penalty", PENALTIES)
    noise = check_option(noise, "noise", NOISES)
    lam = check_scalar(lam, "lam", float, low=0)
    epochs = check_scalar(epochs, "epochs", int, low=1)
    batch_size = check_scalar(batch_size, "batch_size", int, low=1)
    lr = check_scalar(lr, "lr", float, low=0, closed="neither")
    if noise == "gaussian":
        level = check_scalar(level, "level", float, low=0)
    elif noise == "mask":
        level = check_scalar(level, "level", float, low=0, high=1)
    if penalty != "none" and not (hasattr(model, "encoder") and hasattr(model, "decoder")):
        raise invalid("model", f"an AE with encoder and decoder for penalty={penalty!r}", model)
    x = as_tensor(x, "x", ndim=2, allow_nan=False)
    _check_n_features(model, x)
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    seed_int = check_scalar(seed, "seed", int, low=0)
    noise_gen = check_torch_seed(seed_int + 1)

    transform = None
    if noise != "none":

        def transform(_model, xb, _yb):
            return corrupt(xb, noise, level, seed=noise_gen)

    def loss_fn(out, target):
        r, pen = out
        return (r - target).pow(2).sum(-1).mean() + pen

    objective = _objective_module(model, penalty, lam)
    return train(
        objective,
        (x, x),
        epochs=epochs,
        lr=lr,
        loss_fn=loss_fn,
        batch_size=batch_size,
        batch_transform=transform,
        seed=seed_int,
        progress=progress,
        desc="autoencoder",
    )


def reconstruction_error(model: Any, x: Any, target: Any = None, batch_size: int = 1024) -> float:
    """Mean squared error per entry, :math:`\\frac{1}{nd}\\sum_{n,j} (t_{nj} - r_{nj})^2`.

    Parameters
    ----------
    model : torch.nn.Module
        The auto-encoder; evaluated in eval mode without gradients, its mode restored.
    x : ndarray or Tensor of shape (n_samples, n_features)
        The inputs (noisy ones, for a denoising auto-encoder).
    target : ndarray or Tensor of the same shape, optional
        What the reconstruction should equal (the clean inputs); ``x`` by default.
    batch_size : int >= 1

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> reconstruction_error(torch.nn.Identity(), torch.ones(2, 3), torch.zeros(2, 3))
    1.0
    """
    import torch

    from ..trainer import predict

    if not isinstance(model, torch.nn.Module):
        raise invalid("model", "a torch.nn.Module", model)
    batch_size = check_scalar(batch_size, "batch_size", int, low=1)
    x = as_tensor(x, "x", ndim=2)
    _check_n_features(model, x)
    t = x if target is None else as_tensor(target, "target", ndim=2)
    if tuple(t.shape) != tuple(x.shape):
        raise invalid(
            "target", f"of the shape of x {tuple(x.shape)}", got=f"shape {tuple(t.shape)}"
        )
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    r = predict(model, x, batch_size=batch_size)
    return float((r.double() - t.detach().cpu().double()).pow(2).mean())
