"""Global pooling: one vector per graph from its node vectors (graph-level readout).

Taught in the chapter *Graph neural networks* (book/graph-networks).

A graph-level prediction must not depend on how the nodes are numbered. After
permutation-equivariant layers, a permutation-*invariant* reduction over the nodes of each
graph gives exactly that:

.. math::
   h_G = \\sum_{v \\in G} x_v, \\qquad \\frac{1}{|G|}\\sum_{v \\in G} x_v, \\qquad
   \\max_{v \\in G} x_v \\ \\text{(per feature)} .

With a batch of graphs glued together (:func:`dlcourse.gnn.graph.batch_graphs`), the
``batch`` vector names the graph of every node and the result has one row per graph.
"""

from __future__ import annotations

import torch

from .._validation import InvalidParameterError, check_option, invalid
from .scatter import AGGREGATORS, scatter

__all__ = ["global_pool", "global_sum_pool", "global_mean_pool", "global_max_pool"]


def global_pool(
    x: torch.Tensor,
    batch: torch.Tensor | None = None,
    num_graphs: int | None = None,
    reduce: str = "sum",
) -> torch.Tensor:
    """Sum, mean or max of the node features of each graph.

    Parameters
    ----------
    x : tensor of shape (N, d)
        Node features of all graphs.
    batch : LongTensor of shape (N,), optional
        Graph index of each node; ``None`` means a single graph.
    num_graphs : int, optional
        Number of graphs (default ``batch.max() + 1``; pass it if the last graphs may be
        empty, whose rows are then 0).
    reduce : {"sum", "mean", "max"}

    Returns
    -------
    Tensor of shape (num_graphs, d) (``(1, d)`` without ``batch``).

    Examples
    --------
    >>> x = torch.tensor([[1.0], [2.0], [10.0]])
    >>> global_pool(x, torch.tensor([0, 0, 1]), reduce="mean").ravel().tolist()
    [1.5, 10.0]
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        raise invalid("x", "a tensor of shape (num_nodes, d)", got=f"{_shape(x)}")
    check_option(reduce, "reduce", AGGREGATORS)
    if batch is None:
        batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        num_graphs = 1 if num_graphs is None else num_graphs
    if not isinstance(batch, torch.Tensor) or batch.shape != (x.shape[0],):
        raise invalid(
            "batch",
            f"a LongTensor of shape ({x.shape[0]},), one graph index per node",
            got=f"{_shape(batch)}",
        )
    batch = batch.to(x.device).long()
    if batch.numel() and int(batch.min()) < 0:
        raise InvalidParameterError("The 'batch' argument contains a negative graph index.")
    if num_graphs is None:
        num_graphs = int(batch.max()) + 1 if batch.numel() else 0
    elif batch.numel() and int(batch.max()) >= num_graphs:
        raise InvalidParameterError(
            f"The 'batch' argument names graph {int(batch.max())}, but num_graphs={num_graphs}."
        )
    return scatter(x, batch, num_graphs, reduce)


def _shape(a) -> str:
    return f"shape {tuple(a.shape)}" if hasattr(a, "shape") else type(a).__name__


def global_sum_pool(x, batch=None, num_graphs=None) -> torch.Tensor:
    """:math:`h_G = \\sum_{v \\in G} x_v` per graph (see :func:`global_pool`)."""
    return global_pool(x, batch, num_graphs, "sum")


def global_mean_pool(x, batch=None, num_graphs=None) -> torch.Tensor:
    """:math:`h_G = \\frac{1}{|G|} \\sum_{v \\in G} x_v` per graph (see :func:`global_pool`)."""
    return global_pool(x, batch, num_graphs, "mean")


def global_max_pool(x, batch=None, num_graphs=None) -> torch.Tensor:
    """:math:`h_G = \\max_{v \\in G} x_v` per graph and feature (see :func:`global_pool`)."""
    return global_pool(x, batch, num_graphs, "max")
