"""Siamese networks: one encoder applied to both members of a pair, pairs sampled from labels.

Taught in :ref:`embeddings` (``book/embeddings.ipynb``).

A siamese network computes :math:`z_1 = \\Phi_W(x_1)` and :math:`z_2 = \\Phi_W(x_2)` with the
*same* weights :math:`W` and is trained on the distance :math:`\\lVert z_1 - z_2\\rVert` with
:func:`~dlcourse.embed.hinge_embedding_loss` (DrLIM, Hadsell, Chopra and LeCun 2006). What makes
a pair *positive* is a choice: the same class, or (DrLIM's second experiment) the same image under
a transformation. :func:`pair_sampler` draws positive pairs among rows with equal ``y`` and
negative pairs among rows with different ``y``, so ``y`` may hold classes or the identity of the
source image. An *asymmetric* embedding uses two encoders, :math:`\\Phi` and
:math:`\\tilde\\Phi`: pass ``encoder2``.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import (
    InvalidParameterError,
    as_float_array,
    as_tensor,
    check_callable,
    check_scalar,
    check_seed,
    check_torch_seed,
)
from .losses import hinge_embedding_loss

__all__ = ["SiameseNet", "pair_sampler", "fit_siamese"]


class SiameseNet(torch.nn.Module):
    """One encoder (or two, for an asymmetric embedding) applied to the members of a pair.

    Parameters
    ----------
    encoder : torch.nn.Module
        :math:`\\Phi`, maps a batch of inputs to embeddings of shape (n, d).
    encoder2 : torch.nn.Module, optional
        :math:`\\tilde\\Phi` for the second member (asymmetric embedding); by default the
        same ``encoder`` (shared weights).

    Examples
    --------
    >>> import torch
    >>> net = SiameseNet(torch.nn.Linear(3, 2))
    >>> z1, z2 = net(torch.zeros(4, 3), torch.ones(4, 3))
    >>> tuple(z1.shape), tuple(z2.shape)
    ((4, 2), (4, 2))
    """

    def __init__(self, encoder, encoder2=None):
        super().__init__()
        check_callable(encoder, "encoder", "a torch.nn.Module")
        if encoder2 is not None:
            check_callable(encoder2, "encoder2", "a torch.nn.Module or None")
        self.encoder = encoder
        self.encoder2 = encoder2

    def forward(self, x1, x2):
        """Return ``(encoder(x1), encoder2(x2))``."""
        second = self.encoder if self.encoder2 is None else self.encoder2
        return self.encoder(x1), second(x2)

    def embed(self, x, batch_size: int = 1024):
        """Embeddings of ``x`` by the first encoder, without gradients, in eval mode.

        The module's mode is restored afterwards; the result is on ``x``'s device.
        """
        batch_size = check_scalar(batch_size, "batch_size", int, low=1)
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                parts = [self.encoder(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        finally:
            self.train(was_training)
        return torch.cat(parts)


def pair_sampler(x, y, n_pairs: int, seed=None, *, pos_fraction: float = 0.5):
    """Draw positive pairs (equal ``y``) and negative pairs (different ``y``) of rows of ``x``.

    Parameters
    ----------
    x : array-like or torch.Tensor of shape (n, ...)
        The examples (only their number is used: the pairs are returned as indices).
    y : array-like of shape (n,)
        Labels: classes, or the identity of the source image when positives are transformed
        copies of one image.
    n_pairs : int >= 1
    seed : int, numpy or torch Generator, or None
    pos_fraction : float in [0, 1]
        Share of positive pairs (rounded to the nearest integer count).

    Returns
    -------
    i, j : ndarray of int64, shape (n_pairs,)
        Row indices of the two members; ``i != j``.
    same : ndarray of float32, shape (n_pairs,)
        1.0 for a positive pair, 0.0 for a negative one (positives first).

    Examples
    --------
    >>> i, j, same = pair_sampler(range(6), [0, 0, 1, 1, 2, 2], n_pairs=4, seed=0)
    >>> same.tolist()
    [1.0, 1.0, 0.0, 0.0]
    >>> y = [0, 0, 1, 1, 2, 2]
    >>> [y[a] == y[b] for a, b in zip(i, j)]
    [True, True, False, False]
    """
    n_pairs = check_scalar(n_pairs, "n_pairs", int, low=1)
    pos_fraction = check_scalar(pos_fraction, "pos_fraction", float, low=0, high=1)
    y = as_float_array(y, "y", ndim=1, dtype=None)
    n = len(x) if hasattr(x, "__len__") else None
    if n != len(y):
        raise InvalidParameterError(
            f"'x' and 'y' must have the same number of rows. Got {n} and {len(y)}."
        )
    rng = check_seed(seed)
    n_pos = int(round(pos_fraction * n_pairs))
    n_neg = n_pairs - n_pos
    labels, group, counts = np.unique(y, return_inverse=True, return_counts=True)
    order = np.argsort(group, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(y), dtype=np.int64)
    rank[order] = np.arange(len(y)) - starts[group[order]]
    i_pos = j_pos = np.zeros(0, dtype=np.int64)
    if n_pos:
        eligible = np.flatnonzero(counts[group] >= 2)
        if eligible.size == 0:
            raise InvalidParameterError(
                "pair_sampler cannot draw positive pairs: no label in 'y' occurs twice."
            )
        i_pos = rng.choice(eligible, n_pos)
        g = group[i_pos]
        r = (rng.random(n_pos) * (counts[g] - 1)).astype(np.int64)
        r += r >= rank[i_pos]  # skip i itself
        j_pos = order[starts[g] + r]
    i_neg = j_neg = np.zeros(0, dtype=np.int64)
    if n_neg:
        if len(labels) < 2:
            raise InvalidParameterError(
                "pair_sampler cannot draw negative pairs: 'y' holds a single label."
            )
        i_neg = rng.integers(0, len(y), n_neg)
        j_neg = rng.integers(0, len(y), n_neg)
        bad = group[i_neg] == group[j_neg]
        while bad.any():
            j_neg[bad] = rng.integers(0, len(y), int(bad.sum()))
            bad = group[i_neg] == group[j_neg]
    same = np.concatenate([np.ones(n_pos), np.zeros(n_neg)]).astype(np.float32)
    return np.concatenate([i_pos, i_neg]), np.concatenate([j_pos, j_neg]), same


def fit_siamese(
    model,
    x,
    y,
    *,
    n_pairs: int = 10_000,
    epochs: int = 10,
    margin: float = 1.0,
    lam: float = 1.0,
    lr: float = 1e-3,
    batch_size: int = 128,
    pos_fraction: float = 0.5,
    seed=0,
):
    """Train a :class:`SiameseNet` (in place) with the hinge embedding loss on sampled pairs.

    Each epoch draws ``n_pairs`` fresh pairs with :func:`pair_sampler` and takes Adam steps on
    mini-batches of ``batch_size`` pairs. The model's mode is restored afterwards.

    Parameters
    ----------
    model : SiameseNet (or any module mapping ``(x1, x2)`` to ``(z1, z2)``)
    x : torch.Tensor of shape (n, ...)
        Inputs, on the model's device.
    y : array-like of shape (n,)
        Labels that define the positive pairs (see :func:`pair_sampler`).
    n_pairs, epochs, batch_size : int >= 1
    margin, lam : float >= 0
        Arguments of :func:`~dlcourse.embed.hinge_embedding_loss`.
    lr : float > 0
        Adam's learning rate.
    pos_fraction : float in [0, 1]
    seed : int, numpy or torch Generator, or None
        Drives the pairs and the order of the mini-batches.

    Returns
    -------
    list of float
        The mean loss of each epoch.
    """
    import torch

    check_callable(model, "model", "a torch.nn.Module")
    x = as_tensor(x, "x")
    epochs = check_scalar(epochs, "epochs", int, low=1)
    batch_size = check_scalar(batch_size, "batch_size", int, low=1)
    lr = check_scalar(lr, "lr", float, low=0, closed="neither")
    check_scalar(margin, "margin", float, low=0)
    check_scalar(lam, "lam", float, low=0)
    rng = check_seed(seed)
    gen = check_torch_seed(int(rng.integers(0, 2**62)))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    was_training = model.training
    model.train()
    history = []
    try:
        for _ in range(epochs):
            i, j, same = pair_sampler(x, y, n_pairs, rng, pos_fraction=pos_fraction)
            i, j = torch.from_numpy(i).to(x.device), torch.from_numpy(j).to(x.device)
            same = torch.from_numpy(same).to(x.device)
            perm = torch.randperm(len(i), generator=gen).to(x.device)
            total = 0.0
            for start in range(0, len(i), batch_size):
                b = perm[start : start + batch_size]
                z1, z2 = model(x[i[b]], x[j[b]])
                loss = hinge_embedding_loss(z1, z2, same[b], margin=margin, lam=lam)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(b)
            history.append(total / len(i))
    finally:
        model.train(was_training)
    return history
