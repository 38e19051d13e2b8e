"""Graph neural networks: graphs as tensors, message passing, convolution, attention, spectra.

Taught in the chapter *Graph neural networks* (book/graph-networks).

* :mod:`~dlcourse.gnn.graph`: edge lists and dense adjacencies, conversions, self loops,
  degrees, batching several graphs into one (:class:`Graph`, :func:`batch_graphs`);
* :mod:`~dlcourse.gnn.normalize`: :func:`normalized_adjacency`
  :math:`\\tilde D^{-1/2}(A + I)\\tilde D^{-1/2}`, its edge-list form :func:`gcn_norm`, and
  graph Laplacians;
* :mod:`~dlcourse.gnn.scatter`: sum / mean / max aggregation and the neighbourhood softmax;
* :mod:`~dlcourse.gnn.message_passing`: the :class:`MessagePassing` base class
  (``message``, ``aggregate``, ``update``);
* :mod:`~dlcourse.gnn.conv`, :mod:`~dlcourse.gnn.attention`, :mod:`~dlcourse.gnn.mpnn`: the
  three flavours of layers, :class:`GraphConv`, :class:`GraphAttention`, :class:`MPNNConv`;
* :mod:`~dlcourse.gnn.spectral`: filters in the Laplacian eigenbasis and :class:`SpectralConv`;
* :mod:`~dlcourse.gnn.pool`: global sum / mean / max pooling for graph-level outputs;
* :mod:`~dlcourse.gnn.equivariance`: :func:`permute_graph` and :func:`check_equivariance`;
* :mod:`~dlcourse.gnn.datasets`: the karate club, cycles vs paths, random graphs.

Every layer takes ``(x, graph)`` where ``graph`` is an edge list ``edge_index`` of shape
(2, E) (column ``(u, v)`` is the edge u -> v, as in PyTorch Geometric) or a dense adjacency
matrix of shape (n, n).

Examples
--------
>>> import torch
>>> from dlcourse.gnn import GraphConv, check_equivariance, karate_club
>>> g = karate_club()
>>> conv = GraphConv(34, 2)
>>> conv(g.x, g.edge_index).shape
torch.Size([34, 2])
>>> check_equivariance(conv, g.x, g.edge_index) < 1e-5
True
"""

from .attention import GraphAttention
from .conv import GraphConv
from .datasets import cycles_and_paths, karate_club, random_graph
from .equivariance import check_equivariance, permutation_matrix, permute_graph
from .graph import (
    Graph,
    GraphBatch,
    add_self_loops,
    as_graph,
    batch_graphs,
    degree,
    from_networkx,
    to_dense_adjacency,
    to_edge_index,
    to_networkx,
)
from .message_passing import MessagePassing
from .mpnn import MPNNConv
from .normalize import gcn_norm, laplacian, normalized_adjacency
from .pool import global_max_pool, global_mean_pool, global_pool, global_sum_pool
from .scatter import AGGREGATORS, scatter, scatter_softmax
from .spectral import SpectralConv, laplacian_eigenbasis, spectral_filter

__all__ = [
    # graphs
    "Graph",
    "GraphBatch",
    "as_graph",
    "to_edge_index",
    "to_dense_adjacency",
    "from_networkx",
    "to_networkx",
    "add_self_loops",
    "degree",
    "batch_graphs",
    # normalisation
    "normalized_adjacency",
    "gcn_norm",
    "laplacian",
    # aggregation and layers
    "AGGREGATORS",
    "scatter",
    "scatter_softmax",
    "MessagePassing",
    "GraphConv",
    "GraphAttention",
    "MPNNConv",
    "SpectralConv",
    "laplacian_eigenbasis",
    "spectral_filter",
    # readout
    "global_pool",
    "global_sum_pool",
    "global_mean_pool",
    "global_max_pool",
    # permutations
    "permutation_matrix",
    "permute_graph",
    "check_equivariance",
    # data
    "karate_club",
    "cycles_and_paths",
    "random_graph",
]
