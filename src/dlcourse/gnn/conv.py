"""Graph convolution (GCN): neighbours summed with the coefficients 1/sqrt(deg u deg v).

Taught in the chapter *Graph neural networks* (book/graph-networks).

The convolutional flavour of a graph layer is
:math:`x_v' = \\phi\\big(x_v, \\sum_{u} c_{vu}\\, \\psi(x_u)\\big)` with fixed coefficients
:math:`c_{vu}`. :class:`GraphConv` is the graph convolutional network layer of Kipf and
Welling: :math:`\\psi(x) = W^\\top x`, a self loop at every node (so :math:`x_v` itself is one
of the terms) and :math:`c_{vu} = 1/\\sqrt{\\tilde d_u \\tilde d_v}`, the degrees counted with
the self loop. For the whole graph at once,

.. math::
   X' = \\tilde D^{-1/2} \\tilde A \\tilde D^{-1/2}\\, X W + \\mathbf{1} b^\\top
       = \\hat A X W + \\mathbf{1} b^\\top .

The normalisation keeps the scale of the features the same whatever the degrees: without
it a hub would sum hundreds of terms and a leaf one. (The non-linearity :math:`\\phi` is left
to the model, as in ``torch.nn.Linear``.) The layer computes :math:`\\hat A (X W)` with one
weight per edge (:func:`dlcourse.gnn.normalize.gcn_norm`), never the dense :math:`\\hat A`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_scalar
from .graph import _append_self_loops
from .message_passing import MessagePassing
from .normalize import _gcn_norm, check_nonnegative

__all__ = ["GraphConv", "glorot_"]


def glorot_(weight: torch.Tensor) -> torch.Tensor:
    """Fill a (fan_in, fan_out) weight in place with U(-a, a), a = sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = weight.shape[-2], weight.shape[-1]
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        return weight.uniform_(-bound, bound)


class GraphConv(MessagePassing):
    """Graph convolution :math:`X' = \\tilde D^{-1/2}(A + I)\\tilde D^{-1/2} X W + b`.

    Parameters
    ----------
    in_dim, out_dim : int
        Features per node before and after the layer.
    bias : bool, default True
        Learn :math:`b` (initialised to 0).
    self_loops : bool, default True
        Add :math:`I` to :math:`A`, so every node keeps part of its own features.
    normalize : bool, default True
        Use :math:`c_{vu} = 1/\\sqrt{\\tilde d_u \\tilde d_v}`; with ``False`` the messages
        :math:`W^\\top x_u` (times any edge weight) are combined by ``aggr`` unchanged.
    aggr : {"sum", "mean", "max"}, default "sum"
        How messages are combined (the GCN normalisation goes with ``"sum"``).

    Attributes
    ----------
    weight : Parameter of shape (in_dim, out_dim)
        :math:`W`, Glorot-uniform initialised.
    bias : Parameter of shape (out_dim,) or None

    Notes
    -----
    ``forward(x, graph, edge_weight=None)`` takes node features ``x`` of shape
    (n, in_dim) and an edge list (2, E) or a dense adjacency (n, n), and returns (n, out_dim).
    A dense adjacency's values are used as edge weights. This is the computation of PyTorch
    Geometric's ``GCNConv`` (with ``weight`` the transpose of its ``lin.weight``), except that
    a node that already has a self loop gets a second one, as in :math:`A + I`.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> conv = GraphConv(3, 2)
    >>> x = torch.randn(4, 3)
    >>> A = torch.tensor([[0, 1, 0, 0], [1, 0, 1, 1], [0, 1, 0, 0], [0, 1, 0, 0.0]])
    >>> from dlcourse.gnn.normalize import normalized_adjacency
    >>> torch.allclose(conv(x, A), normalized_adjacency(A) @ x @ conv.weight + conv.bias)
    True
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        bias: bool = True,
        self_loops: bool = True,
        normalize: bool = True,
        aggr: str = "sum",
    ) -> None:
        super().__init__(aggr=aggr)
        self.in_dim = check_scalar(in_dim, "in_dim", int, low=1)
        self.out_dim = check_scalar(out_dim, "out_dim", int, low=1)
        self.self_loops = bool(self_loops)
        self.normalize = bool(normalize)
        self.weight = nn.Parameter(torch.empty(in_dim, out_dim))
        self.bias = nn.Parameter(torch.zeros(out_dim)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        glorot_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, graph, edge_weight=None) -> torch.Tensor:
        edge_index, edge_weight, n = self.read_graph(x, graph, edge_weight, self.in_dim)
        if self.normalize:
            if edge_weight is None:
                edge_weight = x.new_ones(edge_index.shape[1])
            else:
                check_nonnegative(edge_weight, "edge_weight")
            edge_index, edge_weight = _gcn_norm(edge_index, n, edge_weight, self.self_loops)
        elif self.self_loops:
            edge_index, edge_weight = _append_self_loops(edge_index, n, edge_weight)
        h = x @ self.weight  # psi(x_u) = W^T x_u, computed once per node, not once per edge
        out = self.propagate(edge_index, h, edge_weight=edge_weight)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return (
            f"{self.in_dim}, {self.out_dim}, aggr={self.aggr!r}, normalize={self.normalize}, "
            f"self_loops={self.self_loops}, bias={self.bias is not None}"
        )
