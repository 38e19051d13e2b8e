"""Graphs as tensors: edge lists, dense adjacency matrices, self loops, degrees, batches.

Taught in the chapter *Graph neural networks* (book/graph-networks).

A graph :math:`G = (V, E)` with :math:`n` nodes is stored in one of two ways:

* an **edge list** ``edge_index``, an integer tensor of shape (2, E) whose column
  :math:`(u, v)` is the directed edge :math:`u \\to v` (``edge_index[0]`` holds the sources,
  ``edge_index[1]`` the targets; an undirected edge appears once in each direction), as in
  PyTorch Geometric;
* a **dense adjacency matrix** :math:`A \\in \\mathbb{R}^{n \\times n}` with
  :math:`A_{uv} \\neq 0` when :math:`u \\to v` is an edge (its value is the edge's weight).

Messages flow along edges: node :math:`v` aggregates over the sources :math:`u` of its
incoming edges, its neighbourhood :math:`\\mathcal{N}(v)`. For an undirected graph :math:`A`
is symmetric and both readings agree. Several graphs are processed together as one large
graph with no edges between its parts, plus a ``batch`` vector that names the graph of each
node (:func:`batch_graphs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from .._validation import InvalidParameterError, check_scalar, invalid

__all__ = [
    "Graph",
    "GraphBatch",
    "as_graph",
    "check_edge_index",
    "check_node_features",
    "to_edge_index",
    "to_dense_adjacency",
    "from_networkx",
    "to_networkx",
    "add_self_loops",
    "degree",
    "batch_graphs",
]


class Graph(NamedTuple):
    """One graph: node features ``x`` (n, d), ``edge_index`` (2, E), optional label(s) ``y``."""

    x: torch.Tensor
    edge_index: torch.Tensor
    y: torch.Tensor | None = None

    @property
    def num_nodes(self) -> int:
        return int(self.x.shape[0])


class GraphBatch(NamedTuple):
    """Several graphs glued into one: node ``x`` (N, d), ``edge_index`` (2, E), ``batch`` (N,).

    ``batch[i]`` is the index of the graph node ``i`` belongs to; ``y`` stacks the graphs'
    labels (or is ``None``).
    """

    x: torch.Tensor
    edge_index: torch.Tensor
    batch: torch.Tensor
    y: torch.Tensor | None
    num_graphs: int


def _is_integer_dtype(t: torch.Tensor) -> bool:
    return not (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool)


def _to_tensor(a, name: str) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a
    try:
        return torch.as_tensor(np.asarray(a))
    except (TypeError, ValueError, RuntimeError):
        raise invalid(name, "a torch tensor or an array", got=f"{type(a).__name__}") from None


def _check_num_nodes(num_nodes) -> int:
    num_nodes = check_scalar(num_nodes, "num_nodes", int, low=0)
    return int(num_nodes)


def check_edge_index(edge_index, num_nodes: int | None = None) -> torch.Tensor:
    """Validate an edge list and return it as a ``torch.long`` tensor of shape (2, E).

    Parameters
    ----------
    edge_index : integer tensor or array of shape (2, E)
        Column ``(u, v)`` is the edge :math:`u \\to v`.
    num_nodes : int, optional
        Number of nodes; every index must lie in ``0 .. num_nodes - 1``.

    Raises
    ------
    TypeError
        If the entries are not integers.
    ValueError
        If the shape is not (2, E), or an index is negative or ``>= num_nodes``.

    Examples
    --------
    >>> check_edge_index([[0, 1], [1, 2]], num_nodes=3)
    tensor([[0, 1],
            [1, 2]])
    """
    ei = _to_tensor(edge_index, "edge_index")
    if ei.ndim != 2 or ei.shape[0] != 2:
        raise invalid(
            "edge_index",
            "of shape (2, E): row 0 the sources, row 1 the targets",
            got=f"shape {tuple(ei.shape)}",
        )
    if not _is_integer_dtype(ei):
        raise InvalidParameterError(
            f"The 'edge_index' argument must hold integer node indices. Got dtype {ei.dtype}."
        )
    ei = ei.long()
    if ei.numel():
        low, high = int(ei.min()), int(ei.max())
        if low < 0:
            raise InvalidParameterError(f"edge_index contains a negative node index ({low}).")
        if num_nodes is not None and high >= num_nodes:
            raise InvalidParameterError(
                f"edge_index refers to node {high}, but the graph has only {num_nodes} nodes "
                f"(valid indices 0..{num_nodes - 1}). Are x and edge_index from the same graph?"
            )
    return ei


def check_node_features(x, in_dim: int | None = None, num_nodes: int | None = None, who="x"):
    """Validate node features: a floating tensor of shape (num_nodes, in_dim); return it."""
    if not isinstance(x, torch.Tensor):
        raise InvalidParameterError(
            f"{who} must be a torch tensor of node features. Got {type(x).__name__}."
        )
    if x.ndim != 2:
        raise InvalidParameterError(
            f"{who} must have shape (num_nodes, num_features). Got shape {tuple(x.shape)}."
        )
    if not x.is_floating_point():
        raise InvalidParameterError(
            f"{who} must hold floating-point features. Got dtype {x.dtype}."
        )
    if in_dim is not None and x.shape[1] != in_dim:
        raise InvalidParameterError(
            f"{who} has {x.shape[1]} features per node, but the layer expects in_dim={in_dim}."
        )
    if num_nodes is not None and x.shape[0] != num_nodes:
        raise InvalidParameterError(
            f"{who} has {x.shape[0]} rows, but the graph has {num_nodes} nodes."
        )
    return x


def to_edge_index(adjacency) -> tuple[torch.Tensor, torch.Tensor]:
    """Edge list and edge weights of a dense adjacency matrix.

    Every non-zero entry :math:`A_{uv}` becomes the edge :math:`u \\to v` with weight
    :math:`A_{uv}`, in row-major order.

    Parameters
    ----------
    adjacency : tensor or array of shape (n, n)

    Returns
    -------
    edge_index : LongTensor of shape (2, E)
    edge_weight : tensor of shape (E,)
        Floating point (the adjacency's dtype, or float32 for an integer/bool matrix).

    Examples
    --------
    >>> ei, w = to_edge_index(torch.tensor([[0.0, 2.0], [1.0, 0.0]]))
    >>> ei.tolist(), w.tolist()
    ([[0, 1], [1, 0]], [2.0, 1.0])
    """
    a = _dense(adjacency)
    src, dst = torch.nonzero(a, as_tuple=True)
    return torch.stack([src, dst]), a[src, dst]


def _dense(adjacency) -> torch.Tensor:
    a = _to_tensor(adjacency, "adjacency")
    if a.layout != torch.strided:
        a = a.to_dense()
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise InvalidParameterError(
            f"A dense adjacency matrix must be square, of shape (n, n). Got shape {tuple(a.shape)}."
        )
    if not a.is_floating_point():
        a = a.to(torch.get_default_dtype())
    return a


def to_dense_adjacency(edge_index, num_nodes: int | None = None, edge_weight=None) -> torch.Tensor:
    """Dense adjacency matrix :math:`A` with :math:`A_{uv} = \\sum` weights of edges u -> v.

    Repeated edges add up (a multigraph's edge counts).

    Examples
    --------
    >>> to_dense_adjacency(torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    tensor([[0., 1., 0.],
            [0., 0., 1.],
            [0., 0., 0.]])
    """
    ei = check_edge_index(edge_index, num_nodes)
    n = _check_num_nodes(num_nodes) if num_nodes is not None else _infer_num_nodes(ei)
    if edge_weight is None:
        w = torch.ones(ei.shape[1], device=ei.device)
    else:
        w = _check_edge_weight(edge_weight, ei)
    a = torch.zeros(n, n, dtype=w.dtype, device=ei.device)
    return a.index_put_((ei[0], ei[1]), w, accumulate=True)


def _infer_num_nodes(ei: torch.Tensor) -> int:
    return int(ei.max()) + 1 if ei.numel() else 0


def _check_edge_weight(edge_weight, ei: torch.Tensor) -> torch.Tensor:
    w = _to_tensor(edge_weight, "edge_weight").to(ei.device)
    if w.shape != (ei.shape[1],):
        raise invalid(
            "edge_weight",
            f"of shape (E,) = ({ei.shape[1]},), one weight per edge",
            got=f"shape {tuple(w.shape)}",
        )
    if not w.is_floating_point():
        w = w.to(torch.get_default_dtype())
    return w


def as_graph(graph, num_nodes: int | None = None, edge_weight=None):
    """Read a graph given as an edge list or as a dense adjacency; return (edge_index, weight, n).

    Every layer of :mod:`dlcourse.gnn` calls this first, so both forms work everywhere.

    Parameters
    ----------
    graph : LongTensor of shape (2, E), or tensor / array of shape (n, n)
        An integer tensor of shape (2, E) is an edge list; any other square matrix (float or
        bool; also a torch sparse matrix) is a dense adjacency whose non-zeros are the edges.
        Pass a 2-node adjacency as a float matrix: an integer (2, 2) tensor reads as an edge
        list.
    num_nodes : int, optional
        Expected number of nodes (usually ``x.shape[0]``); checked against the graph.
    edge_weight : tensor of shape (E,), optional
        Weights of an edge list (a dense adjacency carries its own).

    Returns
    -------
    edge_index : LongTensor (2, E)
    edge_weight : tensor (E,) or None
    num_nodes : int
    """
    if num_nodes is not None:
        num_nodes = _check_num_nodes(num_nodes)
    g = _to_tensor(graph, "graph")
    is_edge_list = g.layout == torch.strided and g.ndim == 2 and g.shape[0] == 2
    if is_edge_list and _is_integer_dtype(g):
        ei = check_edge_index(g, num_nodes)
        n = num_nodes if num_nodes is not None else _infer_num_nodes(ei)
        w = None if edge_weight is None else _check_edge_weight(edge_weight, ei)
        return ei, w, n
    if g.layout != torch.strided or (g.ndim == 2 and g.shape[0] == g.shape[1]):
        if edge_weight is not None:
            raise InvalidParameterError(
                "edge_weight is only for an edge list; a dense adjacency holds its own weights."
            )
        a = _dense(g)
        if num_nodes is not None and a.shape[0] != num_nodes:
            raise InvalidParameterError(
                f"The adjacency matrix has {a.shape[0]} nodes, but x has {num_nodes} rows."
            )
        ei, w = to_edge_index(a)
        return ei, w, a.shape[0]
    if g.ndim == 2 and not _is_integer_dtype(g):
        raise InvalidParameterError(
            f"A dense adjacency matrix must be square, of shape (n, n). Got shape {tuple(g.shape)}."
        )
    raise InvalidParameterError(
        "The graph must be an edge list (integer tensor of shape (2, E)) or a dense adjacency "
        f"matrix of shape (n, n). Got shape {tuple(g.shape)} and dtype {g.dtype}."
    )


def from_networkx(g, dtype=None) -> torch.Tensor:
    """Edge list of a networkx graph, nodes numbered in the order of ``g.nodes``.

    An undirected edge ``{u, v}`` gives the two columns ``(u, v)`` and ``(v, u)``.

    Examples
    --------
    >>> import networkx as nx
    >>> from_networkx(nx.path_graph(3)).tolist()
    [[0, 1, 1, 2], [1, 0, 2, 1]]
    """
    index = {node: i for i, node in enumerate(g.nodes)}
    pairs = [(index[u], index[v]) for u, v in g.edges]
    if not g.is_directed():
        pairs = pairs + [(v, u) for u, v in pairs if u != v]
    if not pairs:
        return torch.zeros(2, 0, dtype=torch.long)
    ei = torch.tensor(pairs, dtype=torch.long).t()
    order = torch.argsort(ei[0] * len(index) + ei[1], stable=True)
    return ei[:, order].contiguous()


def to_networkx(edge_index, num_nodes: int | None = None, directed: bool = False):
    """A networkx graph with nodes ``0 .. n-1`` and the edges of ``edge_index`` (for drawing)."""
    import networkx as nx

    ei = check_edge_index(edge_index, num_nodes)
    n = num_nodes if num_nodes is not None else _infer_num_nodes(ei)
    g = nx.DiGraph() if directed else nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(ei.t().tolist())
    return g


def add_self_loops(edge_index, num_nodes: int, edge_weight=None, fill_value: float = 1.0):
    """Append the edge :math:`v \\to v` (weight ``fill_value``) for every node: :math:`A + I`.

    Existing self loops are kept, so a node that had one gets a second (its weight in the
    dense form is :math:`A_{vv} + 1`), exactly as in :math:`A + I`.

    Returns
    -------
    edge_index : LongTensor (2, E + n)
    edge_weight : tensor (E + n,) or None
        ``None`` when ``edge_weight`` is ``None``.
    """
    ei = check_edge_index(edge_index, num_nodes)
    n = _check_num_nodes(num_nodes)
    w = None if edge_weight is None else _check_edge_weight(edge_weight, ei)
    return _append_self_loops(ei, n, w, fill_value)


def _append_self_loops(ei: torch.Tensor, n: int, w: torch.Tensor | None, fill_value=1.0):
    """add_self_loops on arguments already checked (layers validate once, at the door)."""
    loops = torch.arange(n, device=ei.device).unsqueeze(0).expand(2, n)
    ei = torch.cat([ei, loops], dim=1)
    if w is None:
        return ei, None
    return ei, torch.cat([w, w.new_full((n,), fill_value)])


def degree(index, num_nodes: int, weight=None, dtype=None) -> torch.Tensor:
    """Number (or total weight) of entries of ``index`` equal to each node.

    ``degree(edge_index[1], n)`` is the in-degree :math:`d_v = |\\mathcal{N}(v)|` and, with
    weights, :math:`d_v = \\sum_u A_{uv}`.

    Examples
    --------
    >>> degree(torch.tensor([0, 1, 1, 3]), 4)
    tensor([1., 2., 0., 1.])
    """
    index = _to_tensor(index, "index").long()
    n = _check_num_nodes(num_nodes)
    if weight is None:
        dtype = dtype or torch.get_default_dtype()
        weight = torch.ones(index.shape[0], dtype=dtype, device=index.device)
    return torch.zeros(n, dtype=weight.dtype, device=index.device).index_add_(0, index, weight)


def batch_graphs(graphs: Sequence) -> GraphBatch:
    """Glue graphs into one disconnected graph, with a ``batch`` vector naming each node's graph.

    The node indices of graph :math:`k` are shifted by the number of nodes of the graphs
    before it, so message passing never crosses from one graph to another, and a global
    pooling with ``batch`` (:mod:`dlcourse.gnn.pool`) gives one vector per graph.

    Parameters
    ----------
    graphs : sequence of :class:`Graph` or of ``(x, edge_index)`` / ``(x, edge_index, y)``

    Examples
    --------
    >>> g1 = Graph(torch.ones(2, 1), torch.tensor([[0, 1], [1, 0]]))
    >>> g2 = Graph(torch.ones(3, 1), torch.tensor([[0, 1], [1, 2]]))
    >>> b = batch_graphs([g1, g2])
    >>> b.edge_index.tolist(), b.batch.tolist(), b.num_graphs
    ([[0, 1, 2, 3], [1, 0, 3, 4]], [0, 0, 1, 1, 1], 2)
    """
    if len(graphs) == 0:
        raise InvalidParameterError("batch_graphs needs at least one graph. Got an empty sequence.")
    xs, eis, batch, ys = [], [], [], []
    offset = 0
    for k, g in enumerate(graphs):
        if len(g) not in (2, 3):
            raise InvalidParameterError(
                f"graph {k} must be a Graph or a tuple (x, edge_index[, y]). Got {len(g)} items."
            )
        x, ei = g[0], g[1]
        y = g[2] if len(g) == 3 else None
        check_node_features(x, who=f"graph {k}'s x")
        n = int(x.shape[0])
        ei = check_edge_index(ei, n).to(x.device)
        xs.append(x)
        eis.append(ei + offset)
        batch.append(torch.full((n,), k, dtype=torch.long, device=x.device))
        ys.append(y)
        offset += n
    if any(y is None for y in ys):
        y_all = None
    else:
        y_all = torch.stack([_to_tensor(y, "y").to(xs[0].device).reshape(-1) for y in ys])
        y_all = y_all.squeeze(1) if y_all.shape[1] == 1 else y_all
    return GraphBatch(
        torch.cat(xs), torch.cat(eis, dim=1), torch.cat(batch), y_all, num_graphs=len(graphs)
    )
