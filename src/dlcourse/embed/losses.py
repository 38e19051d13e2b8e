"""Metric-learning losses: the hinge embedding loss (DrLIM) and the triplet loss.

Taught in :ref:`embeddings` (``book/embeddings.ipynb``).

A siamese network maps two inputs through the same encoder, :math:`z_1 = \\Phi(x_1)`,
:math:`z_2 = \\Phi(x_2)`, and compares them with the Euclidean distance
:math:`d = \\lVert z_1 - z_2\\rVert`. The **hinge embedding loss** of Hadsell, Chopra and LeCun
(2006) pulls positive pairs (``same = 1``) together and pushes negative pairs (``same = 0``) out
to a margin :math:`M`, past which they cost nothing:

.. math::
   \\ell_i = s_i\\, d_i^2 + \\lambda\\,(1 - s_i)\\,\\max(0, M - d_i)^2 .

Averaged over a batch with as many positive as negative pairs, this is half of
:math:`\\mathbb{E}_{\\text{pos}}\\, d^2 + \\lambda\\, \\mathbb{E}_{\\text{neg}} \\max(0, M - d)^2`.

The **triplet loss** compares an anchor with a positive and a negative at once:

.. math::
   \\ell_i = \\max\\big(0,\\ \\lVert a_i - p_i\\rVert - \\lVert a_i - n_i\\rVert + M\\big),

(with squared distances when ``squared=True``, as in FaceNet). With in-batch negatives instead of
labelled pairs, use :func:`dlcourse.ebm.contrastive_hinge_loss` or :func:`dlcourse.ebm.info_nce`;
:func:`hardest_negatives` picks, for each anchor, the closest example of another class
(hard-negative mining).
"""

from __future__ import annotations

from .._validation import (
    InvalidParameterError,
    as_tensor,
    check_ndim,
    check_reduction,
    check_scalar,
    check_type,
)

__all__ = ["hinge_embedding_loss", "triplet_loss", "hardest_negatives", "pair_distances"]

_EPS = 1e-12  # inside the square root: the distance stays differentiable at d = 0


def _reduce(per_example, reduction: str):
    if reduction == "mean":
        return per_example.mean()
    if reduction == "sum":
        return per_example.sum()
    return per_example


def _check_batch(tensors: dict):
    """Torch tensors of shape (n, d), all with the same n >= 1 and d."""
    import torch

    for name, z in tensors.items():
        check_type(z, name, torch.Tensor, "a torch.Tensor of shape (n, d)")
        check_ndim(z, name, 2, what="a tensor of shape (n, d) (one embedding per row)")
    names = list(tensors)
    first = tensors[names[0]]
    for name in names[1:]:
        z = tensors[name]
        if z.shape[0] != first.shape[0]:
            raise InvalidParameterError(
                f"'{names[0]}' and '{name}' must hold the same number of examples (row i of "
                f"each belongs to example i). Got batch sizes {first.shape[0]} and {z.shape[0]}."
            )
        if z.shape[1] != first.shape[1]:
            raise InvalidParameterError(
                f"'{names[0]}' and '{name}' must have the same embedding dimension. "
                f"Got {first.shape[1]} and {z.shape[1]}."
            )
    if first.shape[0] < 1:
        raise InvalidParameterError(f"The batch '{names[0]}' is empty: it needs at least one row.")


def _labels(y, name: str, z):
    """``y`` as a 1-D tensor on z's device with one label per row of ``z``."""
    y = as_tensor(y, name, ndim=1, device=z.device)
    if y.shape[0] != z.shape[0]:
        raise InvalidParameterError(
            f"'{name}' must hold one label per row: {z.shape[0]} labels. Got {y.shape[0]}."
        )
    return y


def pair_distances(z1, z2):
    """Row-wise Euclidean distances :math:`d_i = \\lVert z_{1,i} - z_{2,i}\\rVert`, shape (n,).

    Differentiable everywhere (a tiny constant under the square root keeps the gradient finite
    at :math:`d = 0`).

    Examples
    --------
    >>> import torch
    >>> pair_distances(torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]]))
    tensor([5.])
    """
    _check_batch({"z1": z1, "z2": z2})
    return ((z1 - z2) ** 2).sum(dim=1).clamp_min(_EPS).sqrt()


def hinge_embedding_loss(z1, z2, same, margin: float = 1.0, lam: float = 1.0, *, reduction="mean"):
    """DrLIM's contrastive loss on labelled pairs: :math:`s d^2 + \\lambda (1-s)\\max(0, M-d)^2`.

    Parameters
    ----------
    z1, z2 : torch.Tensor of shape (n, d)
        Embeddings of the two members of each pair (row i of both is pair i).
    same : torch.Tensor or array-like of shape (n,)
        1 (or True) for a positive pair (similar inputs), 0 (False) for a negative pair.
    margin : float >= 0
        :math:`M`: negative pairs farther apart than this cost nothing.
    lam : float >= 0
        :math:`\\lambda`: the weight of the negative term.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns :math:`\\ell_i` per pair, shape (n,).

    Returns
    -------
    torch.Tensor
        A scalar (or (n,) for ``reduction="none"``) on the device of ``z1``, differentiable.

    Examples
    --------
    >>> import torch
    >>> z1 = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    >>> z2 = torch.tensor([[0.0, 0.5], [0.0, 0.5]])
    >>> hinge_embedding_loss(z1, z2, torch.tensor([1, 0]), margin=2.0, reduction="none")
    tensor([0.2500, 2.2500])
    """
    import torch

    _check_batch({"z1": z1, "z2": z2})
    m = check_scalar(margin, "margin", float, low=0)
    lam = check_scalar(lam, "lam", float, low=0)
    check_reduction(reduction)
    if not isinstance(same, torch.Tensor):
        try:
            same = torch.as_tensor(same)
        except Exception:  # noqa: BLE001 - anything torch refuses is not a label vector
            raise InvalidParameterError(
                "The 'same' argument of hinge_embedding_loss must be a vector of 0/1 labels. "
                f"Got {type(same).__name__} instead."
            ) from None
    if same.ndim != 1 or same.shape[0] != z1.shape[0]:
        raise InvalidParameterError(
            f"'same' must hold one 0/1 label per pair: shape ({z1.shape[0]},) to match 'z1'. "
            f"Got shape {tuple(same.shape)}."
        )
    s = same.to(device=z1.device, dtype=z1.dtype)
    if not bool(((s == 0) | (s == 1)).all()):
        raise InvalidParameterError(
            "The 'same' argument of hinge_embedding_loss must hold only 0 and 1 (or False and "
            "True): 1 marks a positive pair, 0 a negative pair."
        )
    d2 = ((z1 - z2) ** 2).sum(dim=1)
    d = d2.clamp_min(_EPS).sqrt()
    per_pair = s * d2 + lam * (1 - s) * torch.relu(m - d) ** 2
    return _reduce(per_pair, reduction)


def triplet_loss(anchor, pos, neg, margin: float = 1.0, *, squared: bool = False, reduction="mean"):
    """Triplet loss :math:`\\max(0, \\lVert a - p\\rVert - \\lVert a - n\\rVert + M)`.

    Parameters
    ----------
    anchor, pos, neg : torch.Tensor of shape (n, d)
        Row i of ``pos`` is similar to row i of ``anchor``, row i of ``neg`` is not.
    margin : float >= 0
        :math:`M`: how much closer the positive must be than the negative.
    squared : bool
        Use squared distances (FaceNet's form) instead of distances (PyTorch's
        ``triplet_margin_loss``).
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor
        A scalar (or (n,) for ``reduction="none"``), differentiable.

    Examples
    --------
    >>> import torch
    >>> a = torch.zeros(1, 2)
    >>> float(triplet_loss(a, torch.tensor([[1.0, 0.0]]), torch.tensor([[3.0, 0.0]]), margin=1.0))
    0.0
    >>> float(triplet_loss(a, torch.tensor([[1.0, 0.0]]), torch.tensor([[1.5, 0.0]]), margin=1.0))
    0.5
    """
    import torch

    _check_batch({"anchor": anchor, "pos": pos, "neg": neg})
    m = check_scalar(margin, "margin", float, low=0)
    squared = check_scalar(squared, "squared", bool)
    check_reduction(reduction)
    d_pos = ((anchor - pos) ** 2).sum(dim=1)
    d_neg = ((anchor - neg) ** 2).sum(dim=1)
    if not squared:
        d_pos, d_neg = d_pos.clamp_min(_EPS).sqrt(), d_neg.clamp_min(_EPS).sqrt()
    return _reduce(torch.relu(d_pos - d_neg + m), reduction)


def hardest_negatives(z, y, candidates=None, y_candidates=None):
    """For each row of ``z``, the index of the closest candidate with a different label.

    Hard-negative mining: the negatives that violate the margin most are the ones near the
    anchor. Without ``candidates`` the rows of ``z`` are their own candidates.

    Parameters
    ----------
    z : torch.Tensor of shape (n, d)
    y : torch.Tensor of shape (n,)
        Integer labels of the rows of ``z``.
    candidates : torch.Tensor of shape (m, d), optional
    y_candidates : torch.Tensor of shape (m,), optional

    Returns
    -------
    torch.LongTensor of shape (n,)
        Indices into ``candidates`` (or ``z``); -1 where no candidate has another label.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[0.0], [0.1], [1.0], [5.0]])
    >>> hardest_negatives(z, torch.tensor([0, 0, 1, 1]))
    tensor([2, 2, 1, 1])
    """
    import torch

    if candidates is None:
        candidates, y_candidates = z, y
    _check_batch({"z": z})
    _check_batch({"candidates": candidates})
    if candidates.shape[1] != z.shape[1]:
        raise InvalidParameterError(
            f"'z' and 'candidates' must have the same dimension. Got {z.shape[1]} and "
            f"{candidates.shape[1]}."
        )
    y = _labels(y, "y", z)
    y_candidates = _labels(y_candidates, "y_candidates", candidates)
    with torch.no_grad():
        dist = torch.cdist(z, candidates.to(z.device))  # (n, m)
        dist = dist.masked_fill(y[:, None] == y_candidates[None, :], float("inf"))
        best = dist.argmin(dim=1)
        best[torch.isinf(dist.min(dim=1).values)] = -1
    return best
