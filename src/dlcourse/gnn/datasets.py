"""Small graph data sets made offline: the karate club, cycles vs paths, random graphs.

Taught in the chapter *Graph neural networks* (book/graph-networks).

* :func:`karate_club`: Zachary's karate club (34 members, 78 friendships), as shipped with
  networkx; the label of each member is the club they joined after the split (0: the
  instructor's, "Mr. Hi"; 1: the administrator's, "Officer").
* :func:`cycles_and_paths`: graph classification of cycle graphs (label 1) against path
  graphs (label 0) of random sizes, with constant node features, so that only the structure
  tells them apart.
* :func:`random_graph`: an undirected random graph with a given average degree, as an edge
  list (for tests and benchmarks).
"""

from __future__ import annotations

import torch

from .._validation import InvalidParameterError, check_scalar, check_seed, check_torch_seed
from .graph import Graph, from_networkx

__all__ = ["karate_club", "cycles_and_paths", "random_graph"]


def karate_club() -> Graph:
    """Zachary's karate club: one-hot node features, both directions of every edge, club labels.

    Returns
    -------
    Graph
        ``x`` = identity (34, 34) float32 (each member is its own feature), ``edge_index``
        (2, 156), ``y`` (34,) long with 0 for "Mr. Hi" (member 0's club) and 1 for "Officer"
        (member 33's club).

    Examples
    --------
    >>> g = karate_club()
    >>> g.x.shape, g.edge_index.shape, g.y.bincount().tolist()
    (torch.Size([34, 34]), torch.Size([2, 156]), [17, 17])
    """
    import networkx as nx

    g = nx.karate_club_graph()
    y = torch.tensor([0 if g.nodes[v]["club"] == "Mr. Hi" else 1 for v in g.nodes])
    return Graph(torch.eye(g.number_of_nodes()), from_networkx(g), y)


def _ring(n: int, closed: bool) -> torch.Tensor:
    src = torch.arange(n if closed else n - 1)
    dst = (src + 1) % n
    return torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])


def cycles_and_paths(
    n_graphs: int, min_nodes: int = 4, max_nodes: int = 16, seed: int = 0, shuffle: bool = True
) -> list[Graph]:
    """Cycle graphs (label 1) and path graphs (label 0), half each, with random sizes.

    Each graph has a size drawn uniformly in ``[min_nodes, max_nodes]``, node features
    ``ones(n, 1)``, and its nodes numbered in a random order (so the numbering carries no
    hint). A cycle and a path of the same size differ by one edge: two nodes of degree 1.

    Examples
    --------
    >>> graphs = cycles_and_paths(4, seed=0)
    >>> sorted(int(g.y) for g in graphs)
    [0, 0, 1, 1]
    >>> all(g.edge_index.shape[1] == 2 * (g.num_nodes - 1 + int(g.y)) for g in graphs)
    True
    """
    n_graphs = check_scalar(n_graphs, "n_graphs", int, low=1)
    if not (isinstance(min_nodes, int) and isinstance(max_nodes, int) and 3 <= min_nodes):
        raise InvalidParameterError(
            f"min_nodes and max_nodes must be integers >= 3. Got {min_nodes!r}."
        )
    if max_nodes < min_nodes:
        raise InvalidParameterError(f"max_nodes ({max_nodes}) must be >= min_nodes ({min_nodes}).")
    rng = check_seed(seed)
    graphs = []
    for i in range(n_graphs):
        n = int(rng.integers(min_nodes, max_nodes + 1))
        label = i % 2
        relabel = torch.as_tensor(rng.permutation(n))
        graphs.append(Graph(torch.ones(n, 1), relabel[_ring(n, bool(label))], torch.tensor(label)))
    if shuffle:
        graphs = [graphs[i] for i in rng.permutation(n_graphs)]
    return graphs


def random_graph(num_nodes: int, avg_degree: float, seed: int = 0, device=None) -> torch.Tensor:
    """Edge list of an undirected random graph with about ``avg_degree`` neighbours per node.

    ``num_nodes * avg_degree / 2`` node pairs are drawn uniformly (self pairs dropped,
    duplicates merged), and each pair gives the two directed edges; the result is sorted by
    (source, target).

    Examples
    --------
    >>> ei = random_graph(1000, 10, seed=0)
    >>> 9.5 < ei.shape[1] / 1000 <= 10
    True
    """
    num_nodes = check_scalar(num_nodes, "num_nodes", int, low=2)
    avg_degree = check_scalar(avg_degree, "avg_degree", float, low=0, closed="neither")
    gen = check_torch_seed(seed)
    m = int(round(num_nodes * avg_degree / 2))
    pairs = torch.randint(0, num_nodes, (2, m), generator=gen)
    pairs = pairs[:, pairs[0] != pairs[1]]
    both = torch.cat([pairs, pairs.flip(0)], dim=1)
    keys = torch.unique(both[0] * num_nodes + both[1])  # sorted and de-duplicated
    return torch.stack([keys // num_nodes, keys % num_nodes]).to(device)
