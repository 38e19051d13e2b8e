"""dlcourse.gnn against PyTorch Geometric, when it is installed (it is not required).

`make bench` installs torch_geometric; `make test` does not, and then this module is skipped.
The other test_gnn_* modules check the same layers against formulas written in the tests.
"""

from __future__ import annotations

import pytest
import torch

from dlcourse import gnn

pyg_nn = pytest.importorskip("torch_geometric.nn", reason="torch_geometric is not installed")
pyg_utils = pytest.importorskip("torch_geometric.utils")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def copy_gcn(ours: gnn.GraphConv):
    ref = pyg_nn.GCNConv(ours.in_dim, ours.out_dim)
    with torch.no_grad():
        ref.lin.weight.copy_(ours.weight.T)
        ref.bias.copy_(ours.bias)
    return ref


@pytest.mark.parametrize(
    ("n", "deg", "weighted"), [(50, 4, False), (500, 10, False), (80, 6, True)]
)
def test_graphconv_equals_gcnconv(n, deg, weighted):
    torch.manual_seed(n)
    ours = gnn.GraphConv(16, 8)
    with torch.no_grad():
        ours.bias.normal_()
    ref = copy_gcn(ours)
    ei = gnn.random_graph(n, deg, seed=n)
    x = torch.randn(n, 16)
    w = torch.rand(ei.shape[1]) + 0.1 if weighted else None
    torch.testing.assert_close(ours(x, ei, edge_weight=w), ref(x, ei, edge_weight=w))
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    ours(x1, ei).square().sum().backward()
    ref(x2, ei).square().sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ours.weight.grad, ref.lin.weight.grad.T, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("heads", "concat"), [(1, True), (4, True), (3, False)])
def test_graph_attention_equals_gatconv(heads, concat):
    torch.manual_seed(heads)
    ours = gnn.GraphAttention(12, 5, heads=heads, concat=concat)
    ref = pyg_nn.GATConv(12, 5, heads=heads, concat=concat)
    with torch.no_grad():
        ours.bias.normal_()
        ref.lin.weight.copy_(ours.weight.T)
        ref.att_src.copy_(ours.att_src[None])
        ref.att_dst.copy_(ours.att_dst[None])
        ref.bias.copy_(ours.bias)
    ei = gnn.random_graph(200, 6, seed=heads)
    x = torch.randn(200, 12)
    out, (ei2, alpha) = ours(x, ei, return_attention=True)
    ref_out, (ref_ei, ref_alpha) = ref(x, ei, return_attention_weights=True)
    torch.testing.assert_close(out, ref_out, rtol=1e-4, atol=1e-5)
    key = lambda e: (e[0] * 200 + e[1]).argsort()  # noqa: E731 - same edges, any order
    torch.testing.assert_close(alpha[key(ei2)], ref_alpha[key(ref_ei)], rtol=1e-4, atol=1e-6)


def test_scatter_softmax_and_pools_equal_pyg():
    torch.manual_seed(0)
    src = torch.randn(300, 3)
    index = torch.randint(0, 40, (300,))
    torch.testing.assert_close(
        gnn.scatter_softmax(src, index, 40), pyg_utils.softmax(src, index, num_nodes=40)
    )
    for reduce in ("sum", "mean", "max"):
        torch.testing.assert_close(
            gnn.scatter(src, index, 40, reduce), pyg_utils.scatter(src, index, 0, 40, reduce)
        )
    x, batch = torch.randn(30, 4), torch.arange(30) // 7
    torch.testing.assert_close(gnn.global_sum_pool(x, batch), pyg_nn.global_add_pool(x, batch))
    torch.testing.assert_close(gnn.global_mean_pool(x, batch), pyg_nn.global_mean_pool(x, batch))
    torch.testing.assert_close(gnn.global_max_pool(x, batch), pyg_nn.global_max_pool(x, batch))


def test_normalized_laplacian_equals_pyg():
    ei = gnn.random_graph(40, 5, seed=3)
    ei2, w = pyg_utils.get_laplacian(ei, normalization="sym", num_nodes=40)
    want = pyg_utils.to_dense_adj(ei2, edge_attr=w, max_num_nodes=40)[0]
    torch.testing.assert_close(gnn.laplacian(gnn.to_dense_adjacency(ei, 40)), want)
