"""Graph attention (GAT): neighbours weighted by learned, softmax-normalised coefficients.

Taught in the chapter *Graph neural networks* (book/graph-networks).

The attentional flavour replaces the fixed :math:`c_{vu}` of a graph convolution by
coefficients computed from the two endpoints, :math:`x_v' = \\sum_{u \\in \\mathcal{N}(v)}
\\alpha_{vu} W^\\top x_u`. In the layer of Veličković et al., with :math:`h = W^\\top x`,

.. math::
   s_{vu} = \\mathrm{LeakyReLU}\\big(a_{\\mathrm{dst}}^\\top h_v
            + a_{\\mathrm{src}}^\\top h_u\\big),
   \\qquad
   \\alpha_{vu} = \\frac{\\exp s_{vu}}{\\sum_{u' \\in \\mathcal{N}(v)} \\exp s_{vu'}},

so that the coefficients into each node are positive and sum to 1 (a convex combination of
its neighbours, itself included through a self loop). With ``heads`` = :math:`K`, :math:`K`
independent sets of :math:`(W, a_{\\mathrm{src}}, a_{\\mathrm{dst}})` run side by side and
their outputs are concatenated (or averaged).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import check_scalar
from .conv import glorot_
from .graph import _append_self_loops
from .message_passing import MessagePassing
from .scatter import scatter_softmax

__all__ = ["GraphAttention"]


class GraphAttention(MessagePassing):
    """Graph attention layer (GAT) with ``heads`` attention heads.

    Parameters
    ----------
    in_dim, out_dim : int
        Input features, and output features *per head*.
    heads : int, default 1
    concat : bool, default True
        Concatenate the heads (output ``heads * out_dim`` features) or average them
        (``out_dim``).
    negative_slope : float, default 0.2
        Slope of the LeakyReLU applied to the scores.
    self_loops : bool, default True
        Add :math:`v \\to v`, so a node also attends to itself (and no neighbourhood is empty).
    bias : bool, default True

    Attributes
    ----------
    weight : Parameter (in_dim, heads * out_dim)
    att_src, att_dst : Parameter (heads, out_dim)
        :math:`a_{\\mathrm{src}}` and :math:`a_{\\mathrm{dst}}` of each head.
    bias : Parameter or None

    Notes
    -----
    ``forward(x, graph, return_attention=False)``: ``x`` (n, in_dim), ``graph`` an edge list
    or a dense adjacency (only its pattern of non-zeros is used). With
    ``return_attention=True`` it returns ``(out, (edge_index, alpha))`` where ``edge_index``
    includes the added self loops and ``alpha`` has shape (E, heads).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> gat = GraphAttention(4, 3, heads=2)
    >>> x, edges = torch.randn(5, 4), torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    >>> out, (ei, alpha) = gat(x, edges, return_attention=True)
    >>> out.shape, alpha.shape
    (torch.Size([5, 6]), torch.Size([9, 2]))
    >>> from dlcourse.gnn.scatter import scatter
    >>> torch.allclose(scatter(alpha, ei[1], 5), torch.ones(5, 2))  # sums to 1 per node
    True
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        heads: int = 1,
        concat: bool = True,
        negative_slope: float = 0.2,
        self_loops: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__(aggr="sum")
        self.in_dim = check_scalar(in_dim, "in_dim", int, low=1)
        self.out_dim = check_scalar(out_dim, "out_dim", int, low=1)
        self.heads = check_scalar(heads, "heads", int, low=1)
        self.concat = bool(concat)
        self.negative_slope = float(negative_slope)
        self.self_loops = bool(self_loops)
        self.weight = nn.Parameter(torch.empty(in_dim, heads * out_dim))
        self.att_src = nn.Parameter(torch.empty(heads, out_dim))
        self.att_dst = nn.Parameter(torch.empty(heads, out_dim))
        size = heads * out_dim if concat else out_dim
        self.bias = nn.Parameter(torch.zeros(size)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        glorot_(self.weight)
        glorot_(self.att_src)
        glorot_(self.att_dst)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, graph, return_attention: bool = False):
        edge_index, _, n = self.read_graph(x, graph, in_dim=self.in_dim)
        if self.self_loops:
            edge_index, _ = _append_self_loops(edge_index, n, None)
        h = (x @ self.weight).view(n, self.heads, self.out_dim)
        # a^T [h_v ; h_u] splits into a per-target and a per-source term: compute each once
        # per node, then gather one score per edge
        s_src = (h * self.att_src).sum(dim=-1)  # (n, heads)
        s_dst = (h * self.att_dst).sum(dim=-1)
        scores = s_src.index_select(0, edge_index[0]) + s_dst.index_select(0, edge_index[1])
        scores = F.leaky_relu(scores, self.negative_slope)  # (E, heads)
        # softmax over each target's incoming edges: positive, sums to 1 per node and head
        alpha = scatter_softmax(scores, edge_index[1], n)
        out = self.propagate(edge_index, h, alpha=alpha)
        out = out.reshape(n, -1) if self.concat else out.mean(dim=1)
        if self.bias is not None:
            out = out + self.bias
        if return_attention:
            return out, (edge_index, alpha)
        return out

    def message(self, x_j, alpha, **kwargs):
        """The message of u to v is alpha_vu h_u, for each head."""
        return alpha.unsqueeze(-1) * x_j

    def extra_repr(self) -> str:
        return f"{self.in_dim}, {self.out_dim}, heads={self.heads}, concat={self.concat}"
