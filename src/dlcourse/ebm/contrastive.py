"""Contrastive losses for joint embeddings: InfoNCE and a margin (hinge) loss with mining.

Taught in :ref:`energy-based-models` (``book/energy-based-models.ipynb``).

Two views :math:`z^{(1)}_i, z^{(2)}_i` of the same example form a *positive pair*; the other
rows of the batch, :math:`z^{(2)}_j` with :math:`j \\ne i`, are *negatives*. Read the (negative)
similarity as an energy :math:`F(x_i, x_j)`: a contrastive method pushes it down on positive
pairs and up on negative pairs.

**InfoNCE** (van den Oord et al. 2018; the loss of SimCLR, MoCo and, up to details, PIRL) uses
the cosine similarity
:math:`s_{ij} = z^{(1)}_i \\cdot z^{(2)}_j / (\\lVert z^{(1)}_i\\rVert\\,\\lVert z^{(2)}_j\\rVert)`
and a temperature :math:`\\tau > 0`:

.. math::
   \\ell_i = -\\log \\frac{e^{s_{ii}/\\tau}}{\\sum_{j=1}^n e^{s_{ij}/\\tau}}
   = -\\frac{s_{ii}}{\\tau} + \\log\\sum_{j=1}^{n} e^{s_{ij}/\\tau},

a cross-entropy in which row i must pick its own partner among n candidates. It is computed
with the log-sum-exp trick, so it stays finite for any :math:`\\tau` (the naive ratio overflows
in float32 once :math:`1/\\tau > 88`). Low temperatures concentrate the gradient on the most
similar negatives: the loss performs soft *hard-negative mining*.

The **contrastive hinge loss** (the margin loss of siamese networks, Hadsell, Chopra and LeCun
2006) works with Euclidean distances :math:`d_{ij} = \\lVert z^{(1)}_i - z^{(2)}_j\\rVert`:

.. math::
   \\ell_i = \\tfrac12 d_{ii}^2
   + \\tfrac12\\, \\operatorname{mean}_{j \\ne i} \\max(0, m - d_{ij})^2
   \\quad\\text{or, with hard-negative mining,}\\quad
   \\tfrac12 d_{ii}^2 + \\tfrac12 \\max\\big(0, m - \\min_{j \\ne i} d_{ij}\\big)^2 .
"""

from __future__ import annotations

from .._validation import (
    InvalidParameterError,
    check_ndim,
    check_option,
    check_reduction,
    check_scalar,
    check_type,
)

__all__ = ["cosine_similarity_matrix", "info_nce", "contrastive_hinge_loss"]


def _reduce(per_example, reduction: str):
    if reduction == "mean":
        return per_example.mean()
    if reduction == "sum":
        return per_example.sum()
    return per_example


def _check_pair(z1, z2, names: tuple[str, str] = ("z1", "z2")):
    """Two torch tensors of shape (n, d) with the same n >= 1 and d; returns them."""
    import torch

    for name, z in zip(names, (z1, z2), strict=True):
        check_type(z, name, torch.Tensor, "a torch.Tensor of shape (n, d)")
        check_ndim(z, name, 2, what="a tensor of shape (n, d) (one embedding per row)")
    if z1.shape[0] != z2.shape[0]:
        raise InvalidParameterError(
            f"'{names[0]}' and '{names[1]}' must hold the same number of examples (row i of one "
            f"is the positive partner of row i of the other). Got batch sizes {z1.shape[0]} "
            f"and {z2.shape[0]}."
        )
    if z1.shape[1] != z2.shape[1]:
        raise InvalidParameterError(
            f"'{names[0]}' and '{names[1]}' must have the same embedding dimension. "
            f"Got {z1.shape[1]} and {z2.shape[1]}."
        )
    if z1.shape[0] < 1:
        raise InvalidParameterError("The batch is empty: InfoNCE needs at least one pair.")
    return z1, z2


def cosine_similarity_matrix(z1, z2, eps: float = 1e-8):
    """Cosine similarities :math:`s_{ij} = \\cos(z^{(1)}_i, z^{(2)}_j)`, shape (n, m).

    Rows with a norm below ``eps`` are divided by ``eps`` instead (no division by zero).
    """
    import torch

    for name, z in (("z1", z1), ("z2", z2)):
        if not isinstance(z, torch.Tensor) or z.ndim != 2:
            raise InvalidParameterError(
                f"The '{name}' argument must be a torch.Tensor of shape (n, d)."
            )
    if z1.shape[1] != z2.shape[1]:
        raise InvalidParameterError(
            f"'z1' and 'z2' must have the same dimension. Got {z1.shape[1]} and {z2.shape[1]}."
        )
    u = torch.nn.functional.normalize(z1, dim=1, eps=eps)
    w = torch.nn.functional.normalize(z2, dim=1, eps=eps)
    return u @ w.T


def info_nce(z1, z2, temperature: float = 0.1, *, symmetric: bool = False, reduction: str = "mean"):
    """InfoNCE loss of a batch of positive pairs ``(z1[i], z2[i])`` with in-batch negatives.

    Parameters
    ----------
    z1, z2 : torch.Tensor of shape (n, d)
        Embeddings of two views; row i of ``z1`` and row i of ``z2`` are a positive pair, every
        other row of ``z2`` is a negative for ``z1[i]``.
    temperature : float > 0
        :math:`\\tau`: divides the cosine similarities.
    symmetric : bool
        Average the loss above with the same loss with the roles of ``z1`` and ``z2`` swapped
        (as in SimCLR/CLIP).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns :math:`\\ell_i` for each row, shape (n,).

    Returns
    -------
    torch.Tensor
        A scalar (or (n,) for ``reduction="none"``), differentiable.

    Raises
    ------
    ValueError
        If ``temperature <= 0``, or the batch sizes or dimensions of ``z1`` and ``z2`` differ.

    Examples
    --------
    >>> import torch
    >>> z = torch.eye(4)
    >>> round(float(info_nce(z, z, temperature=1.0)), 4)   # -log(e / (e + 3))
    0.7437
    >>> float(info_nce(z, z, temperature=1e-4))             # perfect alignment: loss -> 0
    0.0
    """
    import torch

    tau = check_scalar(temperature, "temperature", float, low=0, closed="neither")
    z1, z2 = _check_pair(z1, z2)
    check_reduction(reduction)
    logits = cosine_similarity_matrix(z1, z2) / tau
    target = torch.arange(z1.shape[0], device=z1.device)
    f = torch.nn.functional.cross_entropy
    loss = f(logits, target, reduction="none")
    if symmetric:
        loss = 0.5 * (loss + f(logits.T, target, reduction="none"))
    return _reduce(loss, reduction)


def contrastive_hinge_loss(
    z1,
    z2,
    margin: float = 1.0,
    *,
    mining: str = "all",
    reduction: str = "mean",
):
    """Margin loss on distances: pull positive pairs together, push negatives out to ``margin``.

    Parameters
    ----------
    z1, z2 : torch.Tensor of shape (n, d), n >= 2
        Row i of each is a positive pair; ``z2[j]``, ``j != i``, are the negatives of ``z1[i]``.
    margin : float > 0
        Negatives farther apart than this cost nothing.
    mining : {"all", "hard"}
        ``"all"`` averages the hinge over the n - 1 negatives of each row; ``"hard"`` keeps only
        the closest negative of each row (hard-negative mining).
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor
        A scalar (or (n,) for ``reduction="none"``), differentiable.

    Examples
    --------
    >>> import torch
    >>> z1 = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    >>> float(contrastive_hinge_loss(z1, z1, margin=1.0))   # positives equal, negatives far
    0.0
    >>> float(contrastive_hinge_loss(z1, z1, margin=4.0))   # negatives 3 apart: 0.5 * 1^2
    0.5
    """
    import torch

    z1, z2 = _check_pair(z1, z2)
    m = check_scalar(margin, "margin", float, low=0, closed="neither")
    check_option(mining, "mining", ("all", "hard"))
    check_reduction(reduction)
    n = z1.shape[0]
    if n < 2:
        raise InvalidParameterError(
            "contrastive_hinge_loss needs a batch of at least 2 pairs (for negatives)."
        )
    d2 = ((z1[:, None, :] - z2[None, :, :]) ** 2).sum(-1)  # (n, n) squared distances
    positive = 0.5 * d2.diagonal()
    off = ~torch.eye(n, dtype=torch.bool, device=z1.device)
    dist = torch.sqrt(d2.clamp_min(1e-12))
    if mining == "hard":
        nearest = dist.masked_fill(~off, float("inf")).min(dim=1).values
        negative = 0.5 * torch.relu(m - nearest) ** 2
    else:
        hinge = 0.5 * torch.relu(m - dist) ** 2
        negative = (hinge * off).sum(1) / (n - 1)
    return _reduce(positive + negative, reduction)
