"""dlcourse.gnn layers against dense matrix formulas and per-node loops written here.

GraphConv = D^-1/2 (A + I) D^-1/2 X W + b; GraphAttention = per-neighbourhood softmax of
LeakyReLU scores; MPNNConv = phi(x_v, aggr psi(x_v, x_u)); SpectralConv = U g(Lambda) U^T X;
pooling per graph; permutation equivariance of every layer and invariance of pooled models.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from dlcourse import gnn
from dlcourse.gnn import (
    GraphAttention,
    GraphConv,
    MessagePassing,
    MPNNConv,
    SpectralConv,
    batch_graphs,
    check_equivariance,
    global_max_pool,
    global_mean_pool,
    global_pool,
    global_sum_pool,
    laplacian_eigenbasis,
    random_graph,
    spectral_filter,
    to_dense_adjacency,
    to_edge_index,
)

DT = torch.float64


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small graphs: one intra-op thread (two threads on a loaded 2-core machine spin ~100x)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def graph(n=12, deg=4, seed=0):
    ei = random_graph(n, deg, seed=seed)
    a = to_dense_adjacency(ei, n, torch.ones(ei.shape[1], dtype=DT))
    return ei, a


def neighbours(a, v):
    """Sources u of the edges u -> v of a dense adjacency."""
    return [u for u in range(a.shape[0]) if a[u, v] != 0]


# ------------------------------------------------------------------ GraphConv
@pytest.mark.parametrize("seed", range(3))
def test_graphconv_is_normalized_adjacency_times_xw_plus_b(seed):
    torch.manual_seed(seed)
    ei, a = graph(15, 3, seed)
    a[:, 14] = a[14, :] = 0  # node 14 isolated (it keeps only its self loop)
    ei, _ = to_edge_index(a)
    conv = GraphConv(4, 3).to(DT)
    with torch.no_grad():
        conv.bias.normal_()
    x = torch.randn(15, 4, dtype=DT)
    at = a.numpy() + np.eye(15)
    d = at.sum(axis=1)
    a_hat = at / np.sqrt(np.outer(d, d))
    want = a_hat @ x.numpy() @ conv.weight.detach().numpy() + conv.bias.detach().numpy()
    np.testing.assert_allclose(conv(x, ei).detach().numpy(), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv(x, a).detach().numpy(), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv(x, a.numpy()).detach().numpy(), want, rtol=1e-10)


def test_graphconv_per_node_loop_with_coefficients_one_over_sqrt_degrees():
    torch.manual_seed(1)
    g = nx.karate_club_graph()
    ei = gnn.from_networkx(g)
    conv = GraphConv(5, 2, bias=False).to(DT)
    x = torch.randn(34, 5, dtype=DT)
    h = (x @ conv.weight).detach().numpy()
    deg = {v: g.degree(v) + 1 for v in g.nodes}  # with the self loop
    want = np.zeros((34, 2))
    for v in g.nodes:
        for u in [*g.neighbors(v), v]:
            want[v] += h[u] / math.sqrt(deg[u] * deg[v])
    np.testing.assert_allclose(conv(x, ei).detach().numpy(), want, rtol=1e-10)


def test_graphconv_uses_the_weights_of_a_dense_adjacency_or_edge_weight():
    torch.manual_seed(2)
    a = torch.rand(6, 6, dtype=DT) * (torch.rand(6, 6) < 0.5)
    a = a + a.T
    conv = GraphConv(3, 3).to(DT)
    x = torch.randn(6, 3, dtype=DT)
    a_hat = gnn.normalized_adjacency(a)
    want = a_hat @ x @ conv.weight + conv.bias
    torch.testing.assert_close(conv(x, a), want)
    ei, w = to_edge_index(a)
    torch.testing.assert_close(conv(x, ei, edge_weight=w), want)


@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
@pytest.mark.parametrize("self_loops", [False, True])
def test_graphconv_without_normalisation_aggregates_plain_messages(aggr, self_loops):
    torch.manual_seed(3)
    ei, a = graph(10, 3, 3)
    conv = GraphConv(2, 4, normalize=False, aggr=aggr, self_loops=self_loops).to(DT)
    x = torch.randn(10, 2, dtype=DT)
    h = (x @ conv.weight).detach().numpy()
    reduce = {"sum": np.sum, "mean": np.mean, "max": np.max}[aggr]
    want = np.zeros((10, 4))
    for v in range(10):
        src = neighbours(a, v) + ([v] if self_loops else [])
        if src:
            want[v] = reduce(h[src], axis=0)
    got = (conv(x, ei) - conv.bias).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_graphconv_gradients_pass_gradcheck():
    torch.manual_seed(4)
    ei, _ = graph(7, 3, 4)
    conv = GraphConv(3, 2).to(DT)
    x = torch.randn(7, 3, dtype=DT, requires_grad=True)
    w = conv.weight

    def f(x, w):
        h = x @ w
        ei2, c = gnn.gcn_norm(ei, 7, dtype=DT)
        return gnn.scatter(h[ei2[0]] * c[:, None], ei2[1], 7)

    assert torch.autograd.gradcheck(f, (x, w))
    conv(x, ei).square().sum().backward()  # and the module's own parameters get gradients
    assert conv.weight.grad is not None and conv.bias.grad is not None


def test_graphconv_scales_linearly_never_building_a_dense_matrix():
    # 60,000 nodes: a dense (n, n) float32 matrix would need 14 GB
    ei = random_graph(60_000, 6, seed=0)
    conv = GraphConv(8, 4)
    out = conv(torch.randn(60_000, 8), ei)
    assert out.shape == (60_000, 4) and torch.isfinite(out).all()


@pytest.mark.parametrize(
    ("x", "graph", "match"),
    [
        (torch.randn(5, 3), torch.tensor([[0, 1], [1, 5]]), "refers to node 5"),
        (torch.randn(5, 2), torch.tensor([[0, 1], [1, 2]]), "expects in_dim=3"),
        (torch.randn(5, 3), torch.eye(4), "4 nodes, but x has 5"),
        (torch.randn(5, 3), torch.ones(5, 4), "square"),
        (torch.randn(5), torch.eye(5), "shape"),
        (torch.ones(5, 3, dtype=torch.long), torch.eye(5), "floating"),
    ],
)
def test_graphconv_errors_name_the_problem(x, graph, match):
    with pytest.raises((ValueError, TypeError), match=match):
        GraphConv(3, 2)(x, graph)


def test_layer_constructor_errors():
    with pytest.raises(ValueError, match="in_dim"):
        GraphConv(0, 2)
    with pytest.raises(ValueError, match="aggr"):
        GraphConv(2, 2, aggr="min")
    with pytest.raises(ValueError, match="heads"):
        GraphAttention(2, 2, heads=0)


# ------------------------------------------------------------------ MessagePassing hooks
class EdgeDifference(MessagePassing):
    """m_uv = x_u - x_v (uses x_i), update adds 10 * x_v."""

    def forward(self, x, graph):
        ei, _, _ = self.read_graph(x, graph)
        return self.propagate(ei, x, scale=10.0)

    def message(self, x_i, x_j, **kwargs):
        return x_j - x_i

    def update(self, aggregated, x, scale, **kwargs):
        return aggregated + scale * x


class SourceOnly(MessagePassing):
    def forward(self, x, graph):
        ei, _, _ = self.read_graph(x, graph)
        return self.propagate(ei, x)


@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_message_passing_hooks_and_aggregators(aggr):
    ei, a = graph(9, 3, 5)
    x = torch.randn(9, 2, dtype=DT)
    layer = EdgeDifference(aggr=aggr)
    assert layer._message_uses_x_i and not SourceOnly()._message_uses_x_i
    reduce = {"sum": np.sum, "mean": np.mean, "max": np.max}[aggr]
    xn = x.numpy()
    want = 10 * xn
    for v in range(9):
        src = neighbours(a, v)
        if src:
            want[v] += reduce(xn[src] - xn[v], axis=0)
    np.testing.assert_allclose(layer(x, ei).numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(
        SourceOnly(aggr)(x, a).numpy(),
        np.stack([reduce(xn[neighbours(a, v)], axis=0) for v in range(9)]),
    )


# ------------------------------------------------------------------ GraphAttention
def brute_gat(layer, x, a):
    """Per node: softmax over {u -> v} U {v} of LeakyReLU(a_dst.h_v + a_src.h_u)."""
    n = x.shape[0]
    heads, f = layer.heads, layer.out_dim
    h = (x @ layer.weight).detach().numpy().reshape(n, heads, f)
    a_src, a_dst = layer.att_src.detach().numpy(), layer.att_dst.detach().numpy()
    out = np.zeros((n, heads, f))
    alphas = {}
    for v in range(n):
        src = neighbours(a, v) + [v]
        for k in range(heads):
            s = np.array([a_dst[k] @ h[v, k] + a_src[k] @ h[u, k] for u in src])
            s = np.where(s > 0, s, layer.negative_slope * s)
            e = np.exp(s - s.max())
            alpha = e / e.sum()
            alphas[v, k] = dict(zip(src, alpha, strict=True))
            out[v, k] = alpha @ h[src, k]
    out = out.reshape(n, -1) if layer.concat else out.mean(axis=1)
    return out + layer.bias.detach().numpy(), alphas


@pytest.mark.parametrize(("heads", "concat"), [(1, True), (3, True), (2, False)])
def test_graph_attention_matches_a_per_node_softmax(heads, concat):
    torch.manual_seed(6)
    ei, a = graph(11, 3, 6)
    layer = GraphAttention(4, 3, heads=heads, concat=concat).to(DT)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(11, 4, dtype=DT)
    want, alphas = brute_gat(layer, x, a)
    out, (ei2, alpha) = layer(x, ei, return_attention=True)
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer(x, a).detach().numpy(), want, rtol=1e-10, atol=1e-12)
    for (u, v), row in zip(ei2.t().tolist(), alpha.detach().numpy(), strict=True):
        for k in range(heads):
            assert row[k] == pytest.approx(alphas[v, k][u], rel=1e-10)
    sums = gnn.scatter(alpha, ei2[1], 11)
    torch.testing.assert_close(sums, torch.ones(11, heads, dtype=DT))


def test_graph_attention_is_stable_for_huge_scores():
    torch.manual_seed(7)
    ei, _ = graph(20, 4, 7)
    layer = GraphAttention(3, 2, heads=2)
    x = torch.randn(20, 3) * 1e5  # scores of order 1e5: exp() would overflow
    out, (ei2, alpha) = layer(x, ei, return_attention=True)
    assert torch.isfinite(out).all() and torch.isfinite(alpha).all()
    torch.testing.assert_close(gnn.scatter(alpha, ei2[1], 20), torch.ones(20, 2))


def test_graph_attention_gradients_flow():
    torch.manual_seed(8)
    ei, _ = graph(8, 3, 8)
    layer = GraphAttention(3, 2, heads=2).to(DT)
    x = torch.randn(8, 3, dtype=DT, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: layer(x, ei), (x,))
    layer(x, ei).sum().backward()
    assert all(p.grad is not None for p in layer.parameters())


# ------------------------------------------------------------------ MPNNConv
@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_mpnn_conv_matches_the_formula(aggr):
    torch.manual_seed(9)
    ei, a = graph(10, 3, 9)
    layer = MPNNConv(3, 2, hidden_dim=5, aggr=aggr).to(DT)
    x = torch.randn(10, 3, dtype=DT)
    reduce = {"sum": torch.sum, "mean": torch.mean, "max": lambda t, dim: t.max(dim).values}
    rows = []
    for v in range(10):
        src = neighbours(a, v)
        if src:
            msgs = torch.stack([F.relu(layer.psi(torch.cat([x[v], x[u]]))) for u in src])
            z = reduce[aggr](msgs, dim=0)
        else:
            z = torch.zeros(5, dtype=DT)
        rows.append(layer.phi(torch.cat([x[v], z])))
    torch.testing.assert_close(layer(x, ei), torch.stack(rows))


# ------------------------------------------------------------------ aggregators' power
def test_mean_and_max_confuse_a_star_and_a_path_but_sum_separates_them():
    star = torch.tensor([[0, 0, 0, 1, 2, 3], [1, 2, 3, 0, 0, 0]])
    path = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    x = torch.ones(4, 1)  # no features: only the structure can tell them apart
    torch.manual_seed(10)
    gap = {}
    for aggr in ["sum", "mean", "max"]:
        layer = MPNNConv(1, 8, aggr=aggr)
        with torch.no_grad():
            layer.psi.bias.fill_(0.5)  # messages positive, so the ReLU does not hide them

        def model(x, g, layer=layer, aggr=aggr):
            return global_pool(torch.tanh(layer(x, g)), reduce=aggr)

        with torch.no_grad():
            gap[aggr] = float((model(x, star) - model(x, path)).abs().max())
    assert gap["mean"] < 1e-6 and gap["max"] < 1e-6 and gap["sum"] > 1e-2, gap


# ------------------------------------------------------------------ spectral
def test_laplacian_eigenbasis_of_a_cycle_is_the_fourier_basis():
    n = 8
    lam, u = laplacian_eigenbasis(gnn.from_networkx(nx.cycle_graph(n)), dtype=DT)
    want = np.sort(1 - np.cos(2 * np.pi * np.arange(n) / n))
    np.testing.assert_allclose(lam.numpy(), want, atol=1e-12)
    torch.testing.assert_close(u.T @ u, torch.eye(n, dtype=DT))
    with pytest.raises(ValueError, match="undirected"):
        laplacian_eigenbasis(torch.tensor([[0, 1], [1, 2]]))


def test_polynomial_spectral_filter_equals_powers_of_the_laplacian():
    ei, a = graph(14, 4, 11)
    x = torch.randn(14, 3, dtype=DT)
    theta = [0.5, -1.0, 0.3, 0.2]
    got = spectral_filter(ei, x, lambda lam: sum(t * lam**p for p, t in enumerate(theta)))
    lap = gnn.laplacian(a)
    want = sum(t * torch.linalg.matrix_power(lap, p) @ x for p, t in enumerate(theta))
    torch.testing.assert_close(got, want)
    # g(lambda) = 1 - lambda is the propagation D^-1/2 A D^-1/2 (no self loops)
    torch.testing.assert_close(
        spectral_filter(a, x, lambda lam: 1 - lam), gnn.normalized_adjacency(a, False) @ x
    )


def test_spectral_conv_polynomial_mode_is_a_sum_of_laplacian_powers():
    torch.manual_seed(12)
    ei, a = graph(10, 3, 12)
    conv = SpectralConv(3, 2, k=3, polynomial=True).to(DT)
    x = torch.randn(10, 3, dtype=DT)
    lap = gnn.laplacian(a)
    want = sum(torch.linalg.matrix_power(lap, p) @ x @ conv.theta[p] for p in range(3))
    torch.testing.assert_close(conv(x, ei), want + conv.bias)
    torch.testing.assert_close(conv(x, a), want + conv.bias)


def test_spectral_conv_free_mode_filters_the_k_smoothest_modes():
    torch.manual_seed(13)
    ei, a = graph(9, 4, 13)
    conv = SpectralConv(2, 3, k=4, bias=False).to(DT)
    x = torch.randn(9, 2, dtype=DT)
    lam, u = torch.linalg.eigh(gnn.laplacian(a))
    want = torch.zeros(9, 3, dtype=DT)
    for i in range(4):  # y = sum_i u_i theta_i^T (u_i^T x)
        want += torch.outer(u[:, i], (u[:, i] @ x) @ conv.theta[i])
    torch.testing.assert_close(conv(x, ei), want)
    small = SpectralConv(2, 3, k=20)  # more modes asked than the graph has: all are used
    assert small(torch.randn(9, 2), ei).shape == (9, 3)


# ------------------------------------------------------------------ pooling
@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_global_pooling_per_graph(reduce):
    x = torch.randn(10, 3, dtype=DT)
    batch = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
    fn = {"sum": global_sum_pool, "mean": global_mean_pool, "max": global_max_pool}[reduce]
    red = {"sum": torch.sum, "mean": torch.mean, "max": lambda t, dim: t.max(dim).values}
    want = torch.stack([red[reduce](x[batch == k], dim=0) for k in range(3)])
    torch.testing.assert_close(fn(x, batch), want)
    torch.testing.assert_close(fn(x), red[reduce](x, dim=0)[None])
    assert global_pool(x, batch, num_graphs=5, reduce=reduce)[3:].abs().sum() == 0


def test_global_pool_errors():
    with pytest.raises(ValueError, match="batch"):
        global_sum_pool(torch.ones(3, 2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="num_graphs"):
        global_sum_pool(torch.ones(3, 2), torch.tensor([0, 1, 2]), num_graphs=2)
    with pytest.raises(ValueError, match="reduce"):
        global_pool(torch.ones(3, 2), reduce="min")


def test_batched_graphs_give_the_same_outputs_as_one_at_a_time():
    torch.manual_seed(14)
    graphs = gnn.cycles_and_paths(6, seed=3)
    conv = GraphConv(1, 4)
    b = batch_graphs(graphs)
    pooled = global_mean_pool(conv(b.x, b.edge_index), b.batch)
    for k, g in enumerate(graphs):
        torch.testing.assert_close(pooled[k], global_mean_pool(conv(g.x, g.edge_index))[0])


# ------------------------------------------------------------------ equivariance
LAYERS = {
    "GraphConv": lambda: GraphConv(3, 4),
    "GraphConv-mean": lambda: GraphConv(3, 4, normalize=False, aggr="mean"),
    "GraphAttention": lambda: GraphAttention(3, 2, heads=2),
    "MPNNConv-max": lambda: MPNNConv(3, 4, aggr="max"),
    "SpectralConv-poly": lambda: SpectralConv(3, 4, k=3, polynomial=True),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layers_are_permutation_equivariant_and_pooled_models_invariant(name):
    torch.manual_seed(15)
    layer = LAYERS[name]().to(DT)
    ei, a = graph(16, 4, 15)
    x = torch.randn(16, 3, dtype=DT)
    assert check_equivariance(layer, x, ei) < 1e-10
    assert check_equivariance(layer, x, a) < 1e-10
    for pool in (global_sum_pool, global_mean_pool, global_max_pool):
        model = lambda x, g, pool=pool: pool(torch.relu(layer(x, g)))  # noqa: E731
        assert check_equivariance(model, x, ei, level="graph") < 1e-10
    edge_scores = lambda x, g: layer(x, g) @ layer(x, g).T  # noqa: E731
    assert check_equivariance(edge_scores, x, ei, level="edge") < 1e-10


def test_free_spectral_filter_is_equivariant_when_eigenvalues_are_simple():
    torch.manual_seed(16)
    ei, a = graph(12, 4, 16)
    assert torch.diff(torch.linalg.eigvalsh(gnn.laplacian(a))).min() > 1e-6
    layer = SpectralConv(3, 2, k=5).to(DT)
    assert check_equivariance(layer, torch.randn(12, 3, dtype=DT), ei) < 1e-8


# ------------------------------------------------------------------ training
def test_gcn_classifies_the_karate_club_from_two_labels():
    torch.manual_seed(0)
    g = gnn.karate_club()
    conv1, conv2 = GraphConv(34, 16), GraphConv(16, 2)
    params = [*conv1.parameters(), *conv2.parameters()]
    opt = torch.optim.Adam(params, lr=0.02)
    train = torch.tensor([0, 33])
    for _ in range(100):
        logits = conv2(torch.tanh(conv1(g.x, g.edge_index)), g.edge_index)
        loss = F.cross_entropy(logits[train], g.y[train])
        opt.zero_grad()
        loss.backward()
        opt.step()
    pred = logits.argmax(1)
    test = torch.ones(34, dtype=torch.bool)
    test[train] = False
    assert (pred[test] == g.y[test]).float().mean() >= 0.85


# ------------------------------------------------------------------ devices
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")
def test_layers_run_on_cuda_and_match_cpu():
    torch.manual_seed(17)
    ei, a = graph(30, 5, 17)
    x = torch.randn(30, 3)
    for make in LAYERS.values():
        layer = make()
        cpu = layer(x, ei)
        gpu = layer.to("cuda")(x.cuda(), ei.cuda())
        assert gpu.device.type == "cuda"
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(layer(x.cuda(), a).cpu(), cpu, rtol=1e-4, atol=1e-5)
