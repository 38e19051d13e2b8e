"""Relabelling the nodes of a graph, and checking that a model does not care.

Taught in the chapter *Graph neural networks* (book/graph-networks).

Numbering the nodes of a graph is an arbitrary choice. Renumbering them by a permutation
:math:`\\pi` of :math:`\\{0, \\dots, n-1\\}` is the permutation matrix :math:`P` with
:math:`P_{i,\\pi(i)} = 1` acting on the adjacency and the node features:

.. math::
   A' = P A P^\\top \\ (A'_{ij} = A_{\\pi(i)\\pi(j)}), \\qquad X' = P X \\ (x'_i = x_{\\pi(i)}),

so new node :math:`i` is old node :math:`\\pi(i)` (and :math:`P^{-1} = P^\\top`). Two graphs are
isomorphic when some :math:`P` maps one adjacency onto the other. A function :math:`F` of a
graph is

* **invariant** (graph-level tasks) if :math:`F(PAP^\\top, PX) = F(A, X)`,
* **equivariant** (node-level tasks) if :math:`F(PAP^\\top, PX) = P\\, F(A, X)`,
* edge-equivariant (edge-level tasks, output :math:`n \\times n`) if
  :math:`F(PAP^\\top, PX) = P\\, F(A, X)\\, P^\\top`,

for every permutation. :func:`check_equivariance` tests this on random permutations.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .._validation import (
    InvalidParameterError,
    check_option,
    check_scalar,
    check_torch_seed,
    invalid,
)
from .graph import _is_integer_dtype, check_edge_index

__all__ = ["permutation_matrix", "permute_graph", "check_equivariance", "LEVELS"]

LEVELS = ("node", "graph", "edge")


def _check_perm(perm, n: int | None = None) -> torch.Tensor:
    p = torch.as_tensor(np.asarray(perm) if not isinstance(perm, torch.Tensor) else perm)
    if p.ndim != 1 or not _is_integer_dtype(p):
        raise invalid("perm", "a 1-d integer array", got=f"shape {tuple(p.shape)}, dtype {p.dtype}")
    p = p.long()
    if n is not None and p.shape[0] != n:
        raise InvalidParameterError(
            f"The 'perm' argument must have {n} entries, one per node. Got {len(p)}."
        )
    if not torch.equal(torch.sort(p.cpu()).values, torch.arange(p.shape[0])):
        raise invalid("perm", f"a permutation of 0..{p.shape[0] - 1}", got=f"{p.tolist()}")
    return p


def permutation_matrix(perm, dtype=None) -> torch.Tensor:
    """The matrix :math:`P` with :math:`P_{i,\\pi(i)} = 1`, so that ``P @ x == x[perm]``.

    Examples
    --------
    >>> permutation_matrix([2, 0, 1])
    tensor([[0., 0., 1.],
            [1., 0., 0.],
            [0., 1., 0.]])
    """
    p = _check_perm(perm)
    n = p.shape[0]
    out = torch.zeros(n, n, dtype=dtype or torch.get_default_dtype())
    out[torch.arange(n), p] = 1
    return out


def permute_graph(graph, x=None, perm=None):
    """Renumber the nodes: new node ``i`` is old node ``perm[i]``.

    Parameters
    ----------
    graph : dense adjacency (n, n) (tensor or array) or edge list (2, E)
        A dense :math:`A` becomes :math:`P A P^\\top` (``A[perm][:, perm]``); an edge list
        has each old index ``u`` replaced by its new index ``inverse[u]`` (same edge order).
    x : tensor or array of shape (n, ...), optional
        Node features, permuted to :math:`P X` (``x[perm]``).
    perm : sequence of int
        A permutation of ``0 .. n-1``.

    Returns
    -------
    (graph', x')
        Same types as the inputs; ``x'`` is None when ``x`` is None.

    Examples
    --------
    >>> ei = torch.tensor([[0, 1], [1, 2]])          # the path 0 -> 1 -> 2
    >>> new_ei, new_x = permute_graph(ei, torch.tensor([10.0, 11.0, 12.0]), perm=[2, 0, 1])
    >>> new_ei.tolist(), new_x.tolist()              # old node 0 is now node 1, etc.
    ([[1, 2], [2, 0]], [12.0, 10.0, 11.0])
    """
    if perm is None:
        raise InvalidParameterError(
            "The 'perm' argument is required (a permutation of the node indices)."
        )
    g_is_numpy = isinstance(graph, np.ndarray)
    g = torch.as_tensor(graph) if not isinstance(graph, torch.Tensor) else graph
    is_edge_list = g.ndim == 2 and g.shape[0] == 2 and _is_integer_dtype(g)
    if is_edge_list:
        n = len(perm) if x is None else int(np.shape(x)[0])
    elif g.ndim == 2 and g.shape[0] == g.shape[1]:
        n = g.shape[0]
    else:
        raise InvalidParameterError(
            "The graph must be a square adjacency (n, n) or an integer edge list (2, E). "
            f"Got shape {tuple(g.shape)}."
        )
    p = _check_perm(perm, n).to(g.device)
    if is_edge_list:
        ei = check_edge_index(g, n)
        inverse = torch.empty_like(p)
        inverse[p] = torch.arange(n, device=p.device)
        new_g = inverse[ei]
    else:
        new_g = g[p][:, p]
    if g_is_numpy:
        new_g = new_g.numpy()
    if x is None:
        return new_g, None
    if isinstance(x, torch.Tensor):
        if x.shape[0] != n:
            raise InvalidParameterError(f"x has {x.shape[0]} rows but the graph has {n} nodes.")
        return new_g, x[p.to(x.device)]
    xa = np.asarray(x)
    if xa.shape[0] != n:
        raise InvalidParameterError(f"x has {xa.shape[0]} rows but the graph has {n} nodes.")
    return new_g, xa[p.cpu().numpy()]


def check_equivariance(
    fn: Callable,
    x: torch.Tensor,
    graph,
    level: str = "node",
    n_perms: int = 5,
    seed: int = 0,
    shuffle_edges: bool = True,
    tol: float | None = None,
) -> float:
    """Largest violation of permutation invariance/equivariance of ``fn(x, graph)``.

    For ``n_perms`` random permutations :math:`P` it compares ``fn`` on the relabelled graph
    with the relabelled output of ``fn`` on the original:

    * ``level="node"``: :math:`F(PAP^\\top, PX)` vs :math:`P F(A, X)` (output (n, ...));
    * ``level="graph"``: :math:`F(PAP^\\top, PX)` vs :math:`F(A, X)`;
    * ``level="edge"``: :math:`F(PAP^\\top, PX)` vs :math:`P F(A, X) P^\\top` (output (n, n, ...)).

    An edge list is a *set* of edges, so with ``shuffle_edges`` its columns are also put in
    a random order: a model must not depend on it either.

    Parameters
    ----------
    fn : callable
        ``fn(x, graph) -> tensor``, e.g. a layer or a whole model; run under
        ``torch.no_grad()`` (put a model with dropout in eval mode first).
    x : tensor (n, d)
    graph : edge list (2, E) or dense adjacency (n, n)
    level : {"node", "graph", "edge"}
    n_perms : int
    seed : int
        Seeds the permutations.
    shuffle_edges : bool
    tol : float, optional
        If given, raise ``AssertionError`` when the violation exceeds it.

    Returns
    -------
    float
        :math:`\\max |\\text{permuted-input output} - \\text{permuted output}|` over the
        permutations (0 up to rounding for an equivariant ``fn``).

    Examples
    --------
    >>> from dlcourse.gnn import GraphConv, global_sum_pool
    >>> _ = torch.manual_seed(0)
    >>> conv, x = GraphConv(3, 4), torch.randn(5, 3)
    >>> ring = torch.tensor([[0, 1, 2, 3, 4, 1, 2, 3, 4, 0], [1, 2, 3, 4, 0, 0, 1, 2, 3, 4]])
    >>> check_equivariance(conv, x, ring) < 1e-6
    True
    >>> check_equivariance(lambda x, g: global_sum_pool(conv(x, g)), x, ring, "graph") < 1e-5
    True
    >>> check_equivariance(lambda x, g: x.cumsum(0), x, ring) > 0.1   # depends on the order
    True
    """
    check_option(level, "level", LEVELS)
    n_perms = check_scalar(n_perms, "n_perms", int, low=1)
    if not isinstance(x, torch.Tensor):
        raise invalid("x", "a torch tensor", got=f"{type(x).__name__}")
    n = x.shape[0]
    gen = check_torch_seed(seed)
    worst = 0.0
    with torch.no_grad():
        base = fn(x, graph)
        for _ in range(n_perms):
            perm = torch.randperm(n, generator=gen)
            g2, x2 = permute_graph(graph, x, perm)
            if (
                shuffle_edges
                and isinstance(g2, torch.Tensor)
                and g2.shape[0] == 2
                and (_is_integer_dtype(g2))
            ):
                g2 = g2[:, torch.randperm(g2.shape[1], generator=gen).to(g2.device)]
            out = fn(x2, g2)
            p = perm.to(base.device)
            want = base if level == "graph" else base[p]
            if level == "edge":
                want = want[:, p]
            if out.shape != want.shape:
                raise InvalidParameterError(
                    f"fn returned shape {tuple(out.shape)} on the permuted graph but "
                    f"{tuple(want.shape)} on the original."
                )
            if out.numel():
                worst = max(worst, float((out - want).abs().max()))
    if tol is not None and worst > tol:
        raise AssertionError(
            f"not permutation-{'invariant' if level == 'graph' else 'equivariant'}: "
            f"largest deviation {worst:.3g} > tol={tol:g}"
        )
    return worst
