"""General message passing: a learned message function of both endpoints.

Taught in the chapter *Graph neural networks* (book/graph-networks).

The most general of the three flavours of graph layers computes each message from the
receiver and the sender together, and updates the receiver from its own features and the
aggregate:

.. math::
   x_v' = \\phi\\Big(x_v,\\ \\bigoplus_{u \\in \\mathcal{N}(v)} \\psi(x_v, x_u)\\Big), \\qquad
   \\psi(x_v, x_u) = \\mathrm{ReLU}\\big(W_\\psi [x_v ; x_u] + b_\\psi\\big), \\quad
   \\phi(x_v, z_v) = W_\\phi [x_v ; z_v] + b_\\phi .

Convolution (:math:`\\psi(x_v, x_u) = c_{vu} W^\\top x_u`) and attention
(:math:`\\alpha(x_v, x_u) W^\\top x_u`) are special cases. :class:`MPNNConv` exposes the
aggregator :math:`\\bigoplus` as ``aggr``, which is how the chapter compares what sum, mean and
max can tell apart.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import check_scalar
from .message_passing import MessagePassing

__all__ = ["MPNNConv"]


class MPNNConv(MessagePassing):
    """Message-passing layer with an MLP message :math:`\\psi(x_v, x_u)` and update :math:`\\phi`.

    Parameters
    ----------
    in_dim, out_dim : int
    hidden_dim : int, optional
        Size of the messages (default ``out_dim``).
    aggr : {"sum", "mean", "max"}, default "sum"

    Notes
    -----
    ``forward(x, graph)`` with ``x`` (n, in_dim) and an edge list or dense adjacency; a node
    with no incoming edge aggregates 0. Edge weights are not used. No self loops are added:
    :math:`\\phi` sees :math:`x_v` directly.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> layer = MPNNConv(2, 3, aggr="max")
    >>> layer(torch.randn(4, 2), torch.tensor([[0, 1, 2], [1, 2, 3]])).shape
    torch.Size([4, 3])
    """

    def __init__(
        self, in_dim: int, out_dim: int, hidden_dim: int | None = None, aggr: str = "sum"
    ) -> None:
        super().__init__(aggr=aggr)
        self.in_dim = check_scalar(in_dim, "in_dim", int, low=1)
        self.out_dim = check_scalar(out_dim, "out_dim", int, low=1)
        self.hidden_dim = check_scalar(hidden_dim or out_dim, "hidden_dim", int, low=1)
        self.psi = nn.Linear(2 * in_dim, self.hidden_dim)
        self.phi = nn.Linear(in_dim + self.hidden_dim, out_dim)

    def forward(self, x: torch.Tensor, graph) -> torch.Tensor:
        edge_index, _, _ = self.read_graph(x, graph, in_dim=self.in_dim)
        return self.propagate(edge_index, x)

    def message(self, x_i, x_j, **kwargs):
        """psi(x_v, x_u) on every edge u -> v (x_i: receiver v, x_j: sender u)."""
        return torch.relu(self.psi(torch.cat([x_i, x_j], dim=-1)))

    def update(self, aggregated, x, **kwargs):
        """phi(x_v, z_v) = W [x_v ; z_v] + b."""
        return self.phi(torch.cat([x, aggregated], dim=-1))

    def extra_repr(self) -> str:
        return f"{self.in_dim}, {self.out_dim}, hidden_dim={self.hidden_dim}, aggr={self.aggr!r}"
