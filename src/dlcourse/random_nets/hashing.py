"""Similarity-preserving hashing: random LSH, a learned hash, Hamming distances and mAP.

Taught in the chapter *What random networks already do* (``book/random-networks.ipynb``);
Charikar (2002), Masci, Bronstein, Bronstein and Schmidhuber (2014), Li, Wang and Kang (2016).

A code of :math:`b` bits is :math:`h(x) \\in \\{0, 1\\}^b`. The sign of a random layer,

.. math:: h(x)_i = [\\langle a_i, x - \\mu\\rangle \\ge 0], \\qquad a_i \\sim \\mathcal{N}(0, I),

is locality-sensitive hashing for the angle: two points at angle :math:`\\theta` get different
bits with probability :math:`\\theta/\\pi`, whatever the data. A learned hash is a small
network with a :math:`\\tanh` code layer trained on labels (:class:`LearnedHash`,
:func:`train_hash`), with the pairwise likelihood loss of :func:`pairwise_hash_loss`.

Retrieval ranks the database by the Hamming distance
:math:`d_H(p, q) = \\sum_i [p_i \\ne q_i]` to each query; the average precision of one query
with relevant set :math:`R` (same label) is

.. math:: \\mathrm{AP} = \\sum_t (r_t - r_{t-1})\\, p_t ,

over the distinct distances :math:`t` in increasing order, with :math:`p_t, r_t` the
precision and recall of the items at distance :math:`\\le t` (ties count together, as in
scikit-learn's ``average_precision_score``); mAP is its mean over queries.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._validation import (
    InvalidParameterError,
    as_float_array,
    check_scalar,
    check_seed,
)
from ..utils import is_torch

__all__ = [
    "sign_hash",
    "hamming_distances",
    "average_precisions",
    "retrieval_map",
    "LearnedHash",
    "pairwise_hash_loss",
    "train_hash",
]


def sign_hash(x: Any, n_bits: int, seed: Any = 0, mean: Any = None) -> Any:
    """Random-hyperplane LSH codes :math:`h(x)_i = [\\langle a_i, x - \\mu\\rangle \\ge 0]`.

    Parameters
    ----------
    x : ndarray or tensor of shape (n_points, n_features)
    n_bits : int >= 1
        Code length :math:`b`: the number of random hyperplanes.
    seed : int, numpy.random.Generator or None
        The hyperplanes :math:`a_i \\sim \\mathcal{N}(0, I)`. Hash the queries and the
        database with the same int seed so that they share hyperplanes.
    mean : array_like of shape (n_features,), optional
        The centre :math:`\\mu` (e.g. the database mean; default 0). For data in a positive
        orthant, such as images, centring lets the hyperplanes split the data.

    Returns
    -------
    ndarray or tensor of shape (n_points, n_bits), uint8 with entries 0/1
        A tensor (on ``x``'s device) for a tensor ``x``; the same bits on CPU and CUDA.

    Examples
    --------
    >>> x = np.array([[1.0, 0.0], [0.9, 0.1], [-1.0, 0.0]])
    >>> codes = sign_hash(x, 16, seed=0)
    >>> codes.shape, codes.dtype
    ((3, 16), dtype('uint8'))
    >>> hamming_distances(codes, codes)[0].tolist()   # near points, near codes
    [0, 1, 16]
    """
    n_bits = check_scalar(n_bits, "n_bits", int, low=1)
    X = as_float_array(x, "x", ndim=2)
    if mean is not None:
        mu = as_float_array(mean, "mean", shape=(X.shape[1],))
        X = X - mu
    A = check_seed(seed).standard_normal((X.shape[1], n_bits))
    codes = (X @ A >= 0).astype(np.uint8)
    if is_torch(x):
        import torch

        return torch.as_tensor(codes, device=x.device)
    return codes


def _bits(codes: Any, name: str) -> np.ndarray:
    """0/1 codes as float64; -1/+1 codes are mapped to 0/1; anything else is refused."""
    c = as_float_array(codes, name, ndim=2)
    if c.shape[1] < 1:
        raise InvalidParameterError(f"The codes in '{name}' must have at least 1 bit; got 0.")
    values = np.unique(c)
    if np.all(np.isin(values, (0.0, 1.0))):
        return c
    if np.all(np.isin(values, (-1.0, 1.0))):
        return (c > 0).astype(np.float64)
    shown = ", ".join(f"{v:g}" for v in values[:5])
    raise InvalidParameterError(
        f"The '{name}' argument must hold binary codes (entries 0/1, or -1/+1); got the values "
        f"{shown}{', ...' if values.size > 5 else ''}. Threshold real-valued outputs first, "
        f"e.g. (z > 0)."
    )


def hamming_distances(codes_q: Any, codes_db: Any) -> Any:
    """Hamming distances :math:`d_H(q, p) = \\sum_i [q_i \\ne p_i]` between all pairs.

    .. math:: D = Q (1 - P)^\\top + (1 - Q) P^\\top \\quad \\text{(0/1 codes)}

    Parameters
    ----------
    codes_q : ndarray or tensor of shape (n_queries, n_bits)
        Binary codes, 0/1 or -1/+1.
    codes_db : ndarray or tensor of shape (n_db, n_bits)

    Returns
    -------
    ndarray or tensor of shape (n_queries, n_db), int64
        A tensor on ``codes_q``'s device when ``codes_q`` is a tensor.

    Examples
    --------
    >>> hamming_distances([[0, 1, 1]], [[0, 1, 1], [1, 0, 1], [1, 0, 0]])
    array([[0, 2, 3]])
    """
    Q, P = _bits(codes_q, "codes_q"), _bits(codes_db, "codes_db")
    if Q.shape[1] != P.shape[1]:
        raise InvalidParameterError(
            f"codes_q has {Q.shape[1]} bits per code and codes_db has {P.shape[1]}; "
            "the queries and the database must use codes of the same length."
        )
    D = np.rint(Q @ (1.0 - P).T + (1.0 - Q) @ P.T).astype(np.int64)
    if is_torch(codes_q):
        import torch

        return torch.as_tensor(D, device=codes_q.device)
    return D


def _labels(y: Any, name: str, n: int) -> np.ndarray:
    y = np.asarray(y.detach().cpu() if is_torch(y) else y)
    if y.ndim != 1 or y.shape[0] != n:
        raise InvalidParameterError(
            f"The '{name}' argument must be a 1-D array of {n} labels (one per code); "
            f"got shape {y.shape}."
        )
    return y


def average_precisions(distances: Any, labels_q: Any, labels_db: Any) -> np.ndarray:
    """Average precision of each query when the database is ranked by ``distances``.

    Relevant items are those with the query's label; items at equal distance are tied and
    count together (the AP of scikit-learn's ``average_precision_score`` with scores
    :math:`-d`). A query without any relevant item gets NaN.

    Parameters
    ----------
    distances : array_like of shape (n_queries, n_db)
        Any distances (Hamming, Euclidean, ...); smaller is closer.
    labels_q : array_like of shape (n_queries,)
    labels_db : array_like of shape (n_db,)

    Returns
    -------
    ndarray of shape (n_queries,)

    Examples
    --------
    >>> average_precisions([[0.0, 1.0, 2.0]], [1], [1, 0, 1])   # (1/1 + 2/3) / 2
    array([0.83333333])
    """
    D = as_float_array(distances, "distances", ndim=2)
    yq = _labels(labels_q, "labels_q", D.shape[0])
    ydb = _labels(labels_db, "labels_db", D.shape[1])
    order = np.argsort(D, axis=1, kind="stable")
    d = np.take_along_axis(D, order, axis=1)
    rel = (ydb[order] == yq[:, None]).astype(np.float64)
    n_db = D.shape[1]
    cum = np.cumsum(rel, axis=1)
    precision = cum / np.arange(1, n_db + 1)
    # the end of each group of tied distances, and for every position the end of its group
    is_end = np.ones_like(d, dtype=bool)
    is_end[:, :-1] = d[:, 1:] != d[:, :-1]
    idx = np.where(is_end, np.arange(n_db), n_db - 1)
    group_end = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1]
    p_at_group = np.take_along_axis(precision, group_end, axis=1)
    total = cum[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = np.sum(rel * p_at_group, axis=1) / total
    return np.where(total > 0, ap, np.nan)


def retrieval_map(codes_q: Any, codes_db: Any, labels_q: Any, labels_db: Any) -> float:
    """Mean average precision of Hamming-ranking retrieval.

    .. math:: \\mathrm{mAP} = \\frac{1}{|Q|}\\sum_{q \\in Q} \\mathrm{AP}(q),

    with the AP of :func:`average_precisions` on :func:`hamming_distances`; queries with no
    relevant item in the database are left out.

    Parameters
    ----------
    codes_q : ndarray or tensor of shape (n_queries, n_bits), binary
    codes_db : ndarray or tensor of shape (n_db, n_bits), binary
    labels_q : array_like of shape (n_queries,)
    labels_db : array_like of shape (n_db,)

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> codes = np.array([[0, 0], [0, 1], [1, 1]])
    >>> retrieval_map(codes[:1], codes, [7], [7, 3, 7])
    0.8333333333333333
    """
    D = np.asarray(hamming_distances(codes_q, codes_db).tolist(), dtype=np.float64)
    ap = average_precisions(D, labels_q, labels_db)
    if np.all(np.isnan(ap)):
        raise InvalidParameterError(
            "No query has a relevant item (same label) in the database; mAP is undefined."
        )
    return float(np.nanmean(ap))


class LearnedHash(torch.nn.Module):
    """A small network with a :math:`\\tanh` code layer, trained on labels to hash.

    .. math:: o(x) = \\tanh(W_2\\,\\mathrm{ReLU}(W_1 x + c_1) + c_2) \\in (-1, 1)^b,
              \\qquad h(x) = [o(x) > 0] \\in \\{0, 1\\}^b .

    ``forward`` gives the relaxed code :math:`o` (what :func:`pairwise_hash_loss` trains);
    :meth:`codes` gives the bits.

    Parameters
    ----------
    in_dim : int >= 1
    n_bits : int >= 1
    hidden : int >= 1
        Width of the hidden ReLU layer.
    seed : int
        Seeds the initial weights without touching the global RNG.

    Examples
    --------
    >>> import torch
    >>> model = LearnedHash(64, 12, seed=0)
    >>> model(torch.zeros(5, 64)).shape
    torch.Size([5, 12])
    >>> model.codes(torch.zeros(2, 64)).dtype
    torch.uint8
    """

    def __init__(self, in_dim: int, n_bits: int, hidden: int = 128, seed: int = 0) -> None:
        super().__init__()
        in_dim = check_scalar(in_dim, "in_dim", int, low=1)
        n_bits = check_scalar(n_bits, "n_bits", int, low=1)
        hidden = check_scalar(hidden, "hidden", int, low=1)
        seed = check_scalar(seed, "seed", int, low=0)
        self.in_dim, self.n_bits = in_dim, n_bits
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = torch.nn.Sequential(
                torch.nn.Linear(in_dim, hidden),
                torch.nn.ReLU(),
                torch.nn.Linear(hidden, n_bits),
                torch.nn.Tanh(),
            )

    def forward(self, x):
        return self.net(x)

    def codes(self, x: Any) -> Any:
        """The bits :math:`[o(x) > 0]`, uint8, computed in eval mode without gradients.

        An array in gives an array out; a tensor gives a tensor on its device. The model's
        mode is restored.
        """
        import torch

        from ..trainer import predict

        o = predict(self, x)  # eval mode, no grad, mode restored, output on the CPU
        bits = (o > 0).to(torch.uint8)
        if is_torch(x):
            return bits.to(x.device)
        return bits.numpy()


def pairwise_hash_loss(o: Any, y: Any, quantization: float = 0.1) -> Any:
    """Pairwise likelihood loss for learned hashing (DPSH, Li, Wang and Kang 2016).

    With :math:`\\theta_{ij} = \\tfrac12 \\langle o_i, o_j\\rangle` and
    :math:`s_{ij} = [y_i = y_j]`,

    .. math:: L = \\frac{1}{B(B-1)}\\sum_{i \\ne j}
              \\big(\\log(1 + e^{\\theta_{ij}}) - s_{ij}\\theta_{ij}\\big)
              + \\eta\\,\\frac{1}{Bb}\\sum_{i}\\|o_i - \\mathrm{sign}(o_i)\\|^2 ,

    the negative log-likelihood of :math:`P(s_{ij} = 1) = \\sigma(\\theta_{ij})` plus a
    quantization penalty that pushes :math:`o` to :math:`\\pm 1`.

    Parameters
    ----------
    o : tensor of shape (batch, n_bits)
        Relaxed codes, e.g. ``LearnedHash(...)(x)``.
    y : tensor of shape (batch,)
        Integer labels.
    quantization : float >= 0
        The weight :math:`\\eta`.

    Returns
    -------
    tensor (scalar)

    Examples
    --------
    >>> import torch
    >>> o = torch.tensor([[1.0, 1.0], [1.0, 1.0], [-1.0, -1.0]])
    >>> round(float(pairwise_hash_loss(o, torch.tensor([0, 0, 1]))), 4)
    0.3133
    """
    import torch
    import torch.nn.functional as F

    quantization = check_scalar(quantization, "quantization", float, low=0)
    if not is_torch(o) or o.ndim != 2:
        raise InvalidParameterError(
            "The 'o' argument of pairwise_hash_loss must be a tensor of shape (batch, n_bits)."
        )
    y = torch.as_tensor(y, device=o.device)
    if y.shape != (o.shape[0],):
        raise InvalidParameterError(
            f"y must hold one label per row of o: shape ({o.shape[0]},); got {tuple(y.shape)}."
        )
    B = o.shape[0]
    theta = 0.5 * (o @ o.T)
    s = (y[:, None] == y[None, :]).to(o.dtype)
    off = ~torch.eye(B, dtype=torch.bool, device=o.device)
    nll = (F.softplus(theta) - s * theta)[off].mean() if B > 1 else theta.sum() * 0
    quant = ((o - torch.sign(o).detach()) ** 2).mean()
    return nll + quantization * quant


def train_hash(
    model: Any,
    x: Any,
    y: Any,
    *,
    epochs: int = 20,
    lr: float = 1e-3,
    batch_size: int = 128,
    quantization: float = 0.1,
    seed: int = 0,
    progress: bool = False,
):
    """Train a :class:`LearnedHash` (or any code network) with :func:`pairwise_hash_loss`.

    Runs :func:`dlcourse.trainer.train` with ``loss_fn=pairwise_hash_loss``; the model is
    trained in place on the device of its parameters, and its train/eval mode is restored.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``x`` to relaxed codes of shape (n, n_bits).
    x : array or tensor of shape (n, in_dim)
    y : array or tensor of shape (n,)
        Integer labels.
    epochs, lr, batch_size, seed, progress
        As in :func:`dlcourse.trainer.train`.
    quantization : float >= 0
        The weight of the quantization penalty.

    Returns
    -------
    dlcourse.trainer.History

    Examples
    --------
    >>> from dlcourse.data import load_digits
    >>> x_tr, y_tr, x_te, y_te = load_digits()
    >>> model = LearnedHash(64, 16, seed=0)
    >>> history = train_hash(model, x_tr, y_tr, epochs=5)
    >>> history.loss[-1] < history.loss[0]
    True
    """
    from ..trainer import train

    quantization = check_scalar(quantization, "quantization", float, low=0)

    def loss_fn(o, yb):
        return pairwise_hash_loss(o, yb, quantization)

    was_training = model.training
    history = train(
        model,
        (x, y),
        epochs=epochs,
        lr=lr,
        loss_fn=loss_fn,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
        desc="hash",
    )
    model.train(was_training)
    return history
