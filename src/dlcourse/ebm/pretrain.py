"""Self-supervised pretraining of an encoder with InfoNCE on two random views (SimCLR-style).

Taught in :ref:`energy-based-models` (``book/energy-based-models.ipynb``).

For each batch :math:`x_1, \\dots, x_n` draw two views :math:`T_1(x_i), T_2(x_i)`
(:func:`~dlcourse.ebm.augment.random_affine`), embed them with the encoder :math:`f` followed by
a small projection head :math:`g`, and minimise the symmetric InfoNCE loss
(:func:`~dlcourse.ebm.contrastive.info_nce`) of the pairs :math:`(g(f(T_1 x_i)), g(f(T_2 x_i)))`.
As in SimCLR (Chen et al. 2020) the head is thrown away afterwards and the representation
:math:`f(x)` is evaluated by a linear probe (:mod:`dlcourse.ebm.probe`). The loop is the shared
:func:`dlcourse.trainer.train`: the views are made by its ``batch_transform`` and the labels it
carries are ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from .._validation import InvalidParameterError, check_scalar, check_torch_seed, invalid
from ..trainer import History, train
from .augment import random_affine
from .contrastive import info_nce

__all__ = ["pretrain_info_nce"]


def pretrain_info_nce(
    encoder,
    x,
    *,
    head=None,
    epochs: int = 5,
    batch_size: int = 256,
    temperature: float = 0.2,
    lr: float = 2e-3,
    augment: Callable | None = None,
    seed: int = 0,
    progress: bool = False,
) -> History:
    """Train ``encoder`` (in place) by InfoNCE between two augmented views of each image.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps a batch ``x[:k]`` to features of shape (k, d).
    x : array-like or torch.Tensor of shape (n, ...)
        Unlabelled training images.
    head : torch.nn.Module, optional
        Projection head on top of the encoder, trained with it and discarded afterwards.
        Default: ``ReLU -> Linear(d, max(d // 2, 2))``.
    epochs, batch_size, lr, seed, progress
        As in :func:`dlcourse.trainer.train` (Adam with learning rate ``lr``).
    temperature : float > 0
        InfoNCE temperature.
    augment : callable, optional
        ``augment(x_batch, generator) -> views``; default
        :func:`~dlcourse.ebm.augment.random_affine`.

    Returns
    -------
    dlcourse.trainer.History
        ``step_loss`` and ``loss`` are InfoNCE values; ``seconds`` the training time.
    """
    import torch

    from ..trainer import as_tensor

    if not isinstance(encoder, torch.nn.Module):
        raise invalid("encoder", "a torch.nn.Module", got=f"{type(encoder).__name__}")
    tau = check_scalar(temperature, "temperature", float, low=0, closed="neither")
    x = as_tensor(x)
    if x.ndim < 2 or x.shape[0] < 2:
        raise InvalidParameterError(
            f"The 'x' argument must hold at least 2 examples, shape (n, ...). Got {tuple(x.shape)}."
        )
    dev = next(encoder.parameters()).device
    if head is None:
        with torch.no_grad():
            was_training = encoder.training
            encoder.eval()
            d = encoder(x[:2].to(dev, dtype=torch.float32)).shape[1]
            encoder.train(was_training)
        head = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(d, max(d // 2, 2)))
    model = torch.nn.Sequential(encoder, head).to(dev)
    augment = augment or (lambda xb, g: random_affine(xb, seed=g))
    gen = check_torch_seed(seed, dev)

    def two_views(_model, xb, _yb):
        return torch.cat([augment(xb, gen), augment(xb, gen)])

    def loss_fn(z, yb):
        n = yb.shape[0]
        return info_nce(z[:n], z[n:], tau, symmetric=True)

    dummy = torch.zeros(x.shape[0], dtype=torch.long)
    return train(
        model,
        (x, dummy),
        epochs=epochs,
        lr=lr,
        loss_fn=loss_fn,
        batch_size=batch_size,
        batch_transform=two_views,
        seed=seed,
        progress=progress,
        desc="InfoNCE",
    )
