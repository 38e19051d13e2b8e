"""Permutation-invariant aggregation of edge messages into nodes (scatter operations).

Taught in the chapter *Graph neural networks* (book/graph-networks).

Message :math:`m_e` of edge :math:`e = (u \\to v)` is added to row ``index[e] = v`` of the
output, so that node :math:`v` receives

.. math::
   \\textstyle\\sum_{e:\\,\\mathrm{index}[e]=v} m_e, \\qquad
   \\frac{1}{|\\{e\\}|}\\sum_e m_e, \\qquad \\max_e m_e \\ \\text{(per feature)}

for ``reduce`` = ``"sum"``, ``"mean"``, ``"max"``. A node that receives nothing gets 0.
Each is one vectorised call (``index_add_``, ``scatter_reduce_``), :math:`O(E)` work and
memory, so the same code runs on a 10-node toy graph and on a 100k-edge graph, on CPU or GPU.
The order of the messages never matters: the aggregators are permutation invariant.

:func:`scatter_softmax` normalises scores over each neighbourhood (attention):
:math:`\\alpha_e = e^{s_e} / \\sum_{e': \\mathrm{index}[e'] = \\mathrm{index}[e]} e^{s_{e'}}`,
computed after subtracting each neighbourhood's maximum so that no exponential overflows.
"""

from __future__ import annotations

import torch

from .._validation import InvalidParameterError, check_option, check_scalar, invalid

__all__ = ["AGGREGATORS", "scatter", "scatter_softmax"]

AGGREGATORS = ("sum", "mean", "max")


def _check(src: torch.Tensor, index: torch.Tensor, num_nodes: int) -> int:
    if not isinstance(src, torch.Tensor) or not isinstance(index, torch.Tensor):
        raise InvalidParameterError("scatter needs torch tensors for 'src' and 'index'.")
    if index.ndim != 1 or src.ndim == 0 or index.shape[0] != src.shape[0]:
        raise invalid(
            "index",
            "1-d with one entry per row of 'src'",
            got=f"index of shape {tuple(index.shape)} and src of shape {tuple(src.shape)}",
        )
    if index.dtype != torch.long:
        raise invalid("index", "a LongTensor", got=f"dtype {index.dtype}")
    num_nodes = check_scalar(num_nodes, "num_nodes", int, low=0)
    return int(num_nodes)


def scatter(
    src: torch.Tensor, index: torch.Tensor, num_nodes: int, reduce: str = "sum"
) -> torch.Tensor:
    """Aggregate the rows of ``src`` into ``num_nodes`` rows, by ``index``.

    Parameters
    ----------
    src : tensor of shape (E, ...)
        One message per edge.
    index : LongTensor of shape (E,)
        Receiving node of each message, in ``0 .. num_nodes - 1``.
    num_nodes : int
        Rows of the output.
    reduce : {"sum", "mean", "max"}

    Returns
    -------
    Tensor of shape (num_nodes, ...)
        Rows with no message are 0. Differentiable (the max sends its gradient to the
        arg-max message).

    Examples
    --------
    >>> src = torch.tensor([[1.0], [2.0], [5.0]])
    >>> index = torch.tensor([0, 0, 2])
    >>> scatter(src, index, 3, "sum").ravel().tolist()
    [3.0, 0.0, 5.0]
    >>> scatter(src, index, 3, "mean").ravel().tolist()
    [1.5, 0.0, 5.0]
    >>> scatter(src, index, 3, "max").ravel().tolist()
    [2.0, 0.0, 5.0]
    """
    num_nodes = _check(src, index, num_nodes)
    check_option(reduce, "reduce", AGGREGATORS)
    shape = (num_nodes, *src.shape[1:])
    if reduce == "max":
        expanded = index.view(-1, *([1] * (src.ndim - 1))).expand_as(src)
        out = src.new_zeros(shape)
        return out.scatter_reduce(0, expanded, src, reduce="amax", include_self=False)
    out = src.new_zeros(shape).index_add_(0, index, src)
    if reduce == "mean":
        count = torch.bincount(index, minlength=num_nodes).clamp_(min=1).to(src.dtype)
        out = out / count.view(-1, *([1] * (src.ndim - 1)))
    return out


def scatter_softmax(src: torch.Tensor, index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Softmax of the scores ``src`` over the groups of equal ``index`` (one per node).

    :math:`\\alpha_e = \\exp(s_e - M_v) / \\sum_{e' \\to v} \\exp(s_{e'} - M_v)` with
    :math:`M_v` the largest score into :math:`v`: every exponent is at most 0 and the
    denominator at least 1, so huge scores neither overflow nor give 0/0.

    Parameters
    ----------
    src : tensor of shape (E,) or (E, heads)
    index : LongTensor of shape (E,)
    num_nodes : int

    Returns
    -------
    Tensor like ``src``; for each node and head the entries of its incoming edges are
    positive and sum to 1.

    Examples
    --------
    >>> a = scatter_softmax(torch.tensor([1000.0, 1000.0, 0.0]), torch.tensor([0, 0, 1]), 2)
    >>> a.tolist()
    [0.5, 0.5, 1.0]
    """
    num_nodes = _check(src, index, num_nodes)
    if not src.is_floating_point():
        raise InvalidParameterError(
            f"scatter_softmax needs floating-point scores. Got dtype {src.dtype}."
        )
    # the shift cancels in the ratio, so no gradient needs to flow through it
    top = scatter(src.detach(), index, num_nodes, "max")
    ex = torch.exp(src - top.index_select(0, index))
    total = src.new_zeros((num_nodes, *src.shape[1:])).index_add_(0, index, ex)
    return ex / total.index_select(0, index)
