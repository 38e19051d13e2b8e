"""dlcourse.gnn graph utilities against networkx, NumPy formulas and brute-force loops.

Covers conversions, self loops, degrees, batching, the normalised adjacency (dense and
edge-list forms), Laplacians, scatter aggregation, permutations and the equivariance check.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse import gnn
from dlcourse.gnn import (
    Graph,
    add_self_loops,
    as_graph,
    batch_graphs,
    check_equivariance,
    degree,
    from_networkx,
    gcn_norm,
    laplacian,
    normalized_adjacency,
    permutation_matrix,
    permute_graph,
    scatter,
    scatter_softmax,
    to_dense_adjacency,
    to_edge_index,
)


def random_adjacency(n, p, seed, weighted=False, directed=False):
    rng = np.random.default_rng(seed)
    a = (rng.random((n, n)) < p).astype(float)
    np.fill_diagonal(a, 0)
    if not directed:
        a = np.triu(a, 1)
        a = a + a.T
    if weighted:
        a = a * rng.uniform(0.5, 2.0, size=(n, n))
        if not directed:
            a = np.triu(a, 1) + np.triu(a, 1).T
    return a


# ------------------------------------------------------------------ conversions
def test_edge_list_and_dense_round_trip():
    a = random_adjacency(9, 0.4, 0, weighted=True, directed=True)
    ei, w = to_edge_index(torch.tensor(a))
    assert ei.dtype == torch.long and ei.shape == (2, int((a != 0).sum()))
    for (u, v), wt in zip(ei.t().tolist(), w.tolist(), strict=True):
        assert a[u, v] == wt
    np.testing.assert_array_equal(to_dense_adjacency(ei, 9, w).numpy(), a)


def test_repeated_edges_add_up_in_the_dense_form():
    ei = torch.tensor([[0, 0, 1], [1, 1, 2]])
    a = to_dense_adjacency(ei, 4)
    assert a[0, 1] == 2 and a[1, 2] == 1 and a.sum() == 3 and a.shape == (4, 4)


def test_from_networkx_matches_networkx_adjacency():
    g = nx.karate_club_graph()
    ei = from_networkx(g)
    want = (nx.to_numpy_array(g, nodelist=list(g.nodes)) != 0).astype(float)
    np.testing.assert_array_equal(to_dense_adjacency(ei, 34).numpy(), want)
    assert ei.shape[1] == 2 * g.number_of_edges()
    back = gnn.to_networkx(ei, 34)
    assert nx.is_isomorphic(back, g) and set(back.edges) == {tuple(sorted(e)) for e in g.edges}


def test_add_self_loops_is_a_plus_identity():
    a = random_adjacency(6, 0.5, 1, weighted=True)
    a[2, 2] = 0.7  # an existing self loop gets one more, as in A + I
    ei, w = to_edge_index(torch.tensor(a))
    ei2, w2 = add_self_loops(ei, 6, w)
    np.testing.assert_allclose(to_dense_adjacency(ei2, 6, w2).numpy(), a + np.eye(6))
    ei3, none = add_self_loops(ei, 6)
    assert none is None and ei3.shape[1] == ei.shape[1] + 6


def test_degree_matches_networkx():
    g = nx.gnm_random_graph(30, 70, seed=3)
    ei = from_networkx(g)
    want = np.array([g.degree(v) for v in range(30)], dtype=float)
    np.testing.assert_array_equal(degree(ei[1], 30).numpy(), want)
    np.testing.assert_array_equal(degree(ei[0], 30).numpy(), want)


def test_batch_graphs_is_block_diagonal():
    rng = np.random.default_rng(4)
    graphs, blocks = [], []
    for k, n in enumerate([3, 5, 1, 4]):
        a = random_adjacency(n, 0.6, k)
        ei, _ = to_edge_index(torch.tensor(a))
        graphs.append(Graph(torch.tensor(rng.normal(size=(n, 2))), ei, torch.tensor(k % 2)))
        blocks.append(a)
    b = batch_graphs(graphs)
    np.testing.assert_array_equal(
        to_dense_adjacency(b.edge_index, 13).numpy(), scipy.linalg.block_diag(*blocks)
    )
    assert b.batch.tolist() == [0] * 3 + [1] * 5 + [2] + [3] * 4
    assert b.y.tolist() == [0, 1, 0, 1] and b.num_graphs == 4
    np.testing.assert_array_equal(b.x.numpy(), np.concatenate([g.x.numpy() for g in graphs]))
    assert batch_graphs([(torch.ones(2, 1), torch.tensor([[0], [1]]))]).y is None


# ------------------------------------------------------------------ normalisation
def brute_normalized(a, self_loops=True):
    """D^-1/2 (A + I) D^-1/2 entry by entry, with 0 for degree-0 nodes."""
    at = a + np.eye(len(a)) if self_loops else a
    d = at.sum(axis=1)
    n = len(a)
    out = np.zeros_like(at)
    for i, j in itertools.product(range(n), range(n)):
        if at[i, j] != 0:
            out[i, j] = at[i, j] / np.sqrt(d[i] * d[j])
    return out


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("weighted", [False, True])
def test_normalized_adjacency_matches_the_formula(seed, weighted):
    a = random_adjacency(12, 0.3, seed, weighted=weighted)
    a[:, 11] = a[11, :] = 0  # an isolated node
    for self_loops in (True, False):
        got = normalized_adjacency(torch.tensor(a), self_loops=self_loops).numpy()
        np.testing.assert_allclose(got, brute_normalized(a, self_loops), rtol=1e-12, atol=1e-15)
    got = normalized_adjacency(a.tolist())  # array-likes work too
    np.testing.assert_allclose(got.numpy(), brute_normalized(a), rtol=1e-6)


def test_normalized_adjacency_spectrum_is_in_minus_one_one():
    a = random_adjacency(40, 0.2, 5)
    lam = np.linalg.eigvalsh(normalized_adjacency(torch.tensor(a)).numpy())
    assert lam.max() == pytest.approx(1.0) and lam.min() > -1.0


@pytest.mark.parametrize("weighted", [False, True])
def test_gcn_norm_edge_form_equals_the_dense_form(weighted):
    a = random_adjacency(15, 0.25, 7, weighted=weighted)
    ei, w = to_edge_index(torch.tensor(a))
    ei2, c = gcn_norm(ei, 15, w if weighted else None, dtype=torch.float64)
    np.testing.assert_allclose(to_dense_adjacency(ei2, 15, c).numpy(), brute_normalized(a))
    ei3, c3 = gcn_norm(ei, 15, w if weighted else None, self_loops=False, dtype=torch.float64)
    np.testing.assert_allclose(to_dense_adjacency(ei3, 15, c3).numpy(), brute_normalized(a, False))


def test_gcn_norm_uses_in_degrees_on_a_directed_graph():
    a = random_adjacency(8, 0.4, 8, directed=True)
    ei, _ = to_edge_index(torch.tensor(a))
    ei2, c = gcn_norm(ei, 8, dtype=torch.float64)
    at = a + np.eye(8)
    d_in = at.sum(axis=0)
    want = at / np.sqrt(np.outer(d_in, d_in))
    np.testing.assert_allclose(to_dense_adjacency(ei2, 8, c).numpy(), want)


def test_laplacians_match_networkx():
    g = nx.gnm_random_graph(20, 45, seed=9)
    g.add_node(20)  # isolated
    a = torch.tensor(nx.to_numpy_array(g))
    np.testing.assert_allclose(
        laplacian(a, normalized=False).numpy(), nx.laplacian_matrix(g).toarray()
    )
    want = nx.normalized_laplacian_matrix(g).toarray()
    want[20, 20] = 1.0  # networkx puts 0 on an isolated node's diagonal; ours is I - 0
    np.testing.assert_allclose(laplacian(a).numpy(), want, atol=1e-12)
    lam = np.linalg.eigvalsh(laplacian(a).numpy())
    assert lam.min() > -1e-12 and lam.max() <= 2 + 1e-12


def test_negative_or_nonfinite_weights_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        normalized_adjacency(torch.tensor([[0.0, -1.0], [-1.0, 0.0]]))
    with pytest.raises(ValueError, match="inf or nan"):
        normalized_adjacency(torch.tensor([[0.0, float("nan")], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="non-negative"):
        gcn_norm(torch.tensor([[0], [1]]), 2, torch.tensor([-2.0]))


# ------------------------------------------------------------------ input validation
def test_as_graph_reads_both_forms():
    a = random_adjacency(5, 0.6, 10)
    ei, w, n = as_graph(torch.tensor(a))
    assert n == 5 and torch.equal(w, torch.ones(ei.shape[1], dtype=torch.float64))
    ei2, w2, n2 = as_graph(ei, num_nodes=7)
    assert torch.equal(ei2, ei) and w2 is None and n2 == 7
    ei3, _, _ = as_graph(torch.tensor(a).to_sparse())
    assert torch.equal(ei3, ei)
    ei4, _, _ = as_graph(a.astype(bool))
    assert torch.equal(ei4, ei)


@pytest.mark.parametrize(
    ("graph", "num_nodes", "error", "match"),
    [
        (torch.tensor([[0, 5], [1, 2]]), 4, ValueError, "refers to node 5.*only 4 nodes"),
        (torch.tensor([[0, -1], [1, 2]]), 4, ValueError, "negative"),
        (torch.zeros(3, 4), None, ValueError, "must be square"),
        (torch.tensor([[0, 1, 2]]), None, ValueError, "edge list|dense adjacency"),
        (torch.ones(2, 2, 2), None, ValueError, "edge list|dense adjacency"),
        (torch.eye(3), 4, ValueError, "3 nodes, but x has 4"),
    ],
)
def test_as_graph_errors(graph, num_nodes, error, match):
    with pytest.raises(error, match=match):
        as_graph(graph, num_nodes=num_nodes)


def test_check_edge_index_errors():
    with pytest.raises(ValueError, match=r"shape \(2, E\)"):
        gnn.graph.check_edge_index(torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        gnn.graph.check_edge_index(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="edge_weight"):
        as_graph(torch.tensor([[0, 1], [1, 0]]), edge_weight=torch.ones(3))


# ------------------------------------------------------------------ scatter
def brute_scatter(src, index, n, reduce):
    out = np.zeros((n, *src.shape[1:]))
    for v in range(n):
        rows = src[index == v]
        if len(rows):
            out[v] = {"sum": np.sum, "mean": np.mean, "max": np.max}[reduce](rows, axis=0)
    return out


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_scatter_matches_loops(reduce):
    rng = np.random.default_rng(11)
    src = rng.normal(size=(50, 3, 2))
    index = rng.integers(0, 9, size=50)  # some of the 10 nodes receive nothing
    got = scatter(torch.tensor(src), torch.tensor(index), 10, reduce).numpy()
    np.testing.assert_allclose(got, brute_scatter(src, index, 10, reduce), rtol=1e-12)


def test_scatter_max_gradient_goes_to_the_argmax():
    src = torch.tensor([[1.0], [3.0], [2.0], [-1.0]], requires_grad=True)
    scatter(src, torch.tensor([0, 0, 0, 1]), 2, "max").sum().backward()
    assert src.grad.ravel().tolist() == [0.0, 1.0, 0.0, 1.0]


def test_scatter_errors():
    with pytest.raises(ValueError, match="one of"):
        scatter(torch.ones(3, 1), torch.zeros(3, dtype=torch.long), 1, "median")
    with pytest.raises(ValueError, match="one entry per row"):
        scatter(torch.ones(3, 1), torch.zeros(4, dtype=torch.long), 1)
    with pytest.raises(TypeError, match="LongTensor"):
        scatter(torch.ones(3, 1), torch.zeros(3, dtype=torch.int32), 1)


def test_scatter_softmax_matches_per_group_softmax_and_is_stable():
    rng = np.random.default_rng(12)
    s = rng.normal(scale=5, size=(40, 2))
    s[:5] += 1e4  # would overflow exp() without the shift
    index = rng.integers(0, 7, size=40)
    got = scatter_softmax(torch.tensor(s), torch.tensor(index), 8).numpy()
    assert np.all(np.isfinite(got))
    for v in range(8):
        rows = s[index == v]
        if len(rows):
            e = np.exp(rows - rows.max(axis=0))
            np.testing.assert_allclose(got[index == v], e / e.sum(axis=0), rtol=1e-12)
    sums = brute_scatter(got, index, 8, "sum")
    np.testing.assert_allclose(sums[np.bincount(index, minlength=8) > 0], 1.0)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 30), st.integers(0, 2**31 - 1), st.sampled_from(["sum", "mean", "max"]))
def test_scatter_ignores_the_order_of_the_messages(n_edges, seed, reduce):
    g = torch.Generator().manual_seed(seed)
    src = torch.randn(n_edges, 3, generator=g, dtype=torch.float64)
    index = torch.randint(0, 5, (n_edges,), generator=g)
    order = torch.randperm(n_edges, generator=g)
    a = scatter(src, index, 5, reduce)
    b = scatter(src[order], index[order], 5, reduce)
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ permutations
def test_permutation_matrix_acts_like_indexing():
    perm = [3, 0, 2, 1]
    p = permutation_matrix(perm, dtype=torch.float64)
    x = torch.randn(4, 2, dtype=torch.float64)
    torch.testing.assert_close(p @ x, x[perm])
    torch.testing.assert_close(p @ p.T, torch.eye(4, dtype=torch.float64))


def test_permute_graph_dense_and_edge_list_agree_with_pap():
    a = random_adjacency(7, 0.5, 13, weighted=True, directed=True)
    x = np.arange(14.0).reshape(7, 2)
    perm = np.random.default_rng(0).permutation(7)
    p = permutation_matrix(perm, dtype=torch.float64).numpy()
    a2, x2 = permute_graph(a, x, perm)  # NumPy in, NumPy out
    assert isinstance(a2, np.ndarray) and isinstance(x2, np.ndarray)
    np.testing.assert_array_equal(a2, p @ a @ p.T)
    np.testing.assert_array_equal(x2, p @ x)
    ei, w = to_edge_index(torch.tensor(a))
    ei2, x3 = permute_graph(ei, torch.tensor(x), torch.tensor(perm))
    np.testing.assert_array_equal(to_dense_adjacency(ei2, 7, w).numpy(), p @ a @ p.T)
    np.testing.assert_array_equal(x3.numpy(), x2)
    g, none = permute_graph(ei, None, perm)
    assert none is None and torch.equal(g, ei2)


def test_permute_graph_errors():
    with pytest.raises(ValueError, match="permutation"):
        permute_graph(torch.eye(3), None, [0, 0, 1])
    with pytest.raises(ValueError, match="3 entries"):
        permute_graph(torch.eye(3), None, [0, 1])
    with pytest.raises(ValueError, match="rows"):
        permute_graph(torch.eye(3), torch.ones(4, 1), [0, 2, 1])
    with pytest.raises(ValueError, match="square"):
        permute_graph(torch.ones(3, 4), None, [0, 1, 2])


def test_lecture_graphs_are_isomorphic():
    a1 = np.array(
        [[0, 1, 0, 0, 0], [1, 0, 1, 1, 1], [0, 1, 0, 1, 0], [0, 1, 1, 0, 1], [0, 1, 0, 1, 0]]
    )
    a2 = np.array(
        [[0, 1, 1, 0, 0], [1, 0, 1, 1, 1], [1, 1, 0, 1, 0], [0, 1, 1, 0, 0], [0, 1, 0, 0, 0]]
    )
    found = [
        p for p in itertools.permutations(range(5)) if (permute_graph(a1, None, p)[0] == a2).all()
    ]
    assert found, "the two adjacency matrices of the lecture should be isomorphic"
    g1, g2 = nx.from_numpy_array(a1), nx.from_numpy_array(a2)
    assert len(found) == sum(1 for _ in nx.isomorphism.GraphMatcher(g1, g2).isomorphisms_iter())


def test_check_equivariance_accepts_equivariant_and_rejects_other_functions():
    ei = gnn.random_graph(20, 4, seed=1)
    x = torch.randn(20, 3, dtype=torch.float64)
    a = to_dense_adjacency(ei, 20, torch.ones(ei.shape[1], dtype=torch.float64))

    def neighbour_sum(x, g):
        e, w, n = as_graph(g, x.shape[0])
        return scatter(x[e[0]], e[1], n)

    assert check_equivariance(neighbour_sum, x, ei) < 1e-12
    assert check_equivariance(neighbour_sum, x, a) < 1e-12  # dense input too
    assert check_equivariance(lambda x, g: neighbour_sum(x, g).sum(0), x, ei, "graph") < 1e-12
    assert check_equivariance(lambda x, g: x @ x.T, x, ei, "edge") < 1e-12
    # reading the numbering (first node, position, edge order) breaks it
    assert check_equivariance(lambda x, g: x - x[0], x, ei) > 0.1
    assert check_equivariance(lambda x, g: x.sum(0) + x[0], x, ei, "graph") > 0.1
    assert check_equivariance(lambda x, g: (x @ x.T).triu(), x, ei, "edge") > 0.1
    first_edge = lambda x, g: x * g[0, 0].to(x.dtype)  # noqa: E731
    assert check_equivariance(first_edge, x, ei) > 0.1
    assert check_equivariance(first_edge, x, ei, shuffle_edges=False, n_perms=1, seed=3) >= 0
    with pytest.raises(AssertionError, match="not permutation-equivariant"):
        check_equivariance(lambda x, g: x - x[0], x, ei, tol=1e-6)
    with pytest.raises(ValueError, match="level"):
        check_equivariance(neighbour_sum, x, ei, level="nodes")


# ------------------------------------------------------------------ data sets
def test_karate_club_matches_networkx():
    g = gnn.karate_club()
    nxg = nx.karate_club_graph()
    assert g.edge_index.shape == (2, 2 * nxg.number_of_edges())
    assert g.y.tolist() == [int(nxg.nodes[v]["club"] != "Mr. Hi") for v in nxg.nodes]
    assert g.y[0] == 0 and g.y[33] == 1
    torch.testing.assert_close(g.x, torch.eye(34))


def test_cycles_and_paths_have_the_right_structure():
    graphs = gnn.cycles_and_paths(40, min_nodes=5, max_nodes=9, seed=2)
    assert sum(int(g.y) for g in graphs) == 20
    for g in graphs:
        nxg = gnn.to_networkx(g.edge_index, g.num_nodes)
        assert 5 <= g.num_nodes <= 9 and nx.is_connected(nxg)
        degrees = sorted(d for _, d in nxg.degree)
        assert degrees == ([2] * g.num_nodes if g.y == 1 else [1, 1] + [2] * (g.num_nodes - 2))
    with pytest.raises(ValueError):
        gnn.cycles_and_paths(4, min_nodes=2)


def test_random_graph_is_simple_undirected_with_the_asked_degree():
    ei = gnn.random_graph(2000, 10, seed=0)
    a = to_dense_adjacency(ei, 2000)
    assert torch.equal(a, a.T) and a.diagonal().sum() == 0 and a.max() == 1
    assert 9.5 < ei.shape[1] / 2000 <= 10
    assert torch.equal(ei, gnn.random_graph(2000, 10, seed=0))


# ------------------------------------------------------------------ documentation
@pytest.mark.parametrize(
    "module",
    [
        "graph",
        "normalize",
        "scatter",
        "message_passing",
        "conv",
        "attention",
        "mpnn",
        "spectral",
        "pool",
        "equivariance",
        "datasets",
        "__init__",
    ],
)
def test_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(
        "dlcourse.gnn" if module == "__init__" else f"dlcourse.gnn.{module}"
    )
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"dlcourse.gnn.{module} has no examples"
    assert result.failed == 0
