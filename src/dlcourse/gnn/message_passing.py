"""The message-passing base class on which every spatial layer of :mod:`dlcourse.gnn` is built.

Taught in the chapter *Graph neural networks* (book/graph-networks).

One round of message passing updates every node :math:`v` from its neighbourhood
:math:`\\mathcal{N}(v) = \\{u : u \\to v \\in E\\}`:

.. math::
   m_{uv} = \\psi(x_v, x_u, e_{uv}) \\quad\\text{(message)}, \\qquad
   z_v = \\bigoplus_{u \\in \\mathcal{N}(v)} m_{uv} \\quad\\text{(aggregate)}, \\qquad
   x_v' = \\phi(x_v, z_v) \\quad\\text{(update)},

where :math:`\\bigoplus` is a permutation-invariant reduction (sum, mean or max). A layer
subclasses :class:`MessagePassing`, overrides the hooks it needs (each has a default) and
calls :meth:`~MessagePassing.propagate` from its ``forward``:

* ``message(x_j, x_i, index, num_nodes, **kwargs)``: the messages, one row per edge;
  ``x_j`` are the sources' features, ``x_i`` the targets' (gathered only if ``message``
  names ``x_i`` in its signature), ``index`` the target of each edge;
* ``aggregate(messages, index, num_nodes)``: :func:`dlcourse.gnn.scatter.scatter` with the
  layer's ``aggr``;
* ``update(aggregated, x, **kwargs)``: the new node features (default: ``aggregated``).

Extra keyword arguments of ``propagate`` (edge weights, attention scores) reach ``message``
and ``update`` unchanged. Everything is gathered and scattered with vectorised indexing, so
the cost is :math:`O(E)` and no Python loop runs over nodes or edges.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from .._validation import check_option
from .graph import as_graph, check_node_features
from .scatter import AGGREGATORS, scatter

__all__ = ["MessagePassing"]


class MessagePassing(nn.Module):
    """Base class: ``propagate`` = message on every edge, aggregate into nodes, update.

    Parameters
    ----------
    aggr : {"sum", "mean", "max"}, default "sum"
        The permutation-invariant aggregator :math:`\\bigoplus`.

    Examples
    --------
    A layer that replaces every node's features by the mean of its neighbours':

    >>> class MeanNeighbours(MessagePassing):
    ...     def __init__(self):
    ...         super().__init__(aggr="mean")
    ...     def forward(self, x, graph):
    ...         edge_index, _, _ = self.read_graph(x, graph)
    ...         return self.propagate(edge_index, x)
    >>> x = torch.tensor([[1.0], [2.0], [4.0]])
    >>> edges = torch.tensor([[1, 2, 0], [0, 0, 1]])   # 1 -> 0, 2 -> 0, 0 -> 1
    >>> MeanNeighbours()(x, edges).ravel().tolist()
    [3.0, 1.0, 0.0]
    """

    def __init__(self, aggr: str = "sum") -> None:
        super().__init__()
        check_option(aggr, "aggr", AGGREGATORS)
        self.aggr = aggr
        # gather the targets' features only for layers whose message uses them (GraphConv
        # does not, and skipping the gather saves an (E, d) copy)
        self._message_uses_x_i = "x_i" in inspect.signature(self.message).parameters

    @staticmethod
    def read_graph(x, graph, edge_weight=None, in_dim: int | None = None):
        """Validate ``x`` (n, in_dim) and the graph; return ``(edge_index, edge_weight, n)``.

        ``graph`` is an edge list (2, E) or a dense adjacency (n, n)
        (:func:`dlcourse.gnn.graph.as_graph`); both come back as an edge list on ``x``'s
        device, and a dense adjacency's non-zero values as ``edge_weight``.
        """
        check_node_features(x, in_dim)
        edge_index, edge_weight, n = as_graph(graph, num_nodes=x.shape[0], edge_weight=edge_weight)
        edge_index = edge_index.to(x.device)
        if edge_weight is not None:
            edge_weight = edge_weight.to(device=x.device, dtype=x.dtype)
        return edge_index, edge_weight, n

    def propagate(self, edge_index: torch.Tensor, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Run message -> aggregate -> update over the edges ``edge_index`` (2, E).

        ``x`` has one row per node (any trailing shape, e.g. (n, heads, d)); ``kwargs`` are
        passed to ``message`` and ``update``.
        """
        n = x.shape[0]
        src, dst = edge_index[0], edge_index[1]
        inputs: dict[str, Any] = {"x_j": x.index_select(0, src), "index": dst, "num_nodes": n}
        if self._message_uses_x_i:
            inputs["x_i"] = x.index_select(0, dst)
        messages = self.message(**inputs, **kwargs)
        aggregated = self.aggregate(messages, dst, n)
        return self.update(aggregated, x=x, **kwargs)

    def message(self, x_j: torch.Tensor, edge_weight: torch.Tensor | None = None, **kwargs):
        """Default message: the source's features, times the edge weight if there is one."""
        if edge_weight is None:
            return x_j
        return x_j * edge_weight.view(-1, *([1] * (x_j.ndim - 1)))

    def aggregate(self, messages: torch.Tensor, index: torch.Tensor, num_nodes: int):
        """Reduce the messages into their target nodes with ``self.aggr``."""
        return scatter(messages, index, num_nodes, self.aggr)

    def update(self, aggregated: torch.Tensor, **kwargs) -> torch.Tensor:
        """Default update: the aggregated messages themselves."""
        return aggregated

    def extra_repr(self) -> str:
        return f"aggr={self.aggr!r}"
