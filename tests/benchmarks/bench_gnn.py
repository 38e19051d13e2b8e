"""Benchmark: dlcourse.gnn.GraphConv side by side with PyTorch Geometric's GCNConv.

On the same random undirected graphs (1k and 10k nodes, average degree 10, 64 features,
float32) with the same weights: the largest absolute difference of the outputs (goal
<= 1e-5), and the time of one forward + backward pass (goal <= 1.5x GCNConv's), timed in
interleaved rounds (the order alternates) after a warm-up, best round of several. Also the
karate club: a two-layer GCN trained from the two leaders' labels with each library (same
initial weights, same steps), accuracy on the other 32 members.

torch_geometric is only needed here (``pip install torch_geometric``); without it the rows
say so. Run ``python -m tests.benchmarks.bench_gnn`` for the table; ``run()`` returns the rows.
"""

from __future__ import annotations

from . import best_interleaved

SIZES = (1_000, 10_000)
AVG_DEGREE, FEATURES = 10, 64
WARMUP, ROUNDS, REPS = 3, 7, 5
KARATE_STEPS = 200


def _pyg():
    try:
        import torch_geometric.nn as pyg_nn
    except ImportError:
        return None
    return pyg_nn


def _gcn_rows(n: int, pyg_nn, threads: str) -> list[dict]:
    import torch

    from dlcourse.gnn import GraphConv, random_graph

    torch.manual_seed(0)
    edge_index = random_graph(n, AVG_DEGREE, seed=n)
    x = torch.randn(n, FEATURES)
    ours = GraphConv(FEATURES, FEATURES)
    with torch.no_grad():
        ours.bias.normal_()
    ref = pyg_nn.GCNConv(FEATURES, FEATURES)
    with torch.no_grad():
        ref.lin.weight.copy_(ours.weight.T)
        ref.bias.copy_(ours.bias)
    with torch.no_grad():
        diff = float((ours(x, edge_index) - ref(x, edge_index)).abs().max())
    x_ours = x.clone().requires_grad_()
    x_ref = x.clone().requires_grad_()

    def step(layer, xx):
        def fn():
            layer.zero_grad(set_to_none=True)
            xx.grad = None
            layer(xx, edge_index).square().mean().backward()

        return fn

    t_ours, t_ref, *_ = best_interleaved(
        step(ours, x_ours), step(ref, x_ref), rounds=ROUNDS, reps=REPS, warmup=WARMUP
    )
    graph = f"{n:,} nodes, {edge_index.shape[1]:,} edges, {FEATURES} features"
    return [
        {
            "benchmark": f"GraphConv vs GCNConv output, {graph}",
            "ours": f"{diff:.1e}",
            "reference": "0 (torch_geometric GCNConv)",
            "ratio": "-",
            "goal": "<= 1e-5",
            "note": ("ok" if diff <= 1e-5 else "ABOVE GOAL")
            + "; max |ours - GCNConv|, same weights, float32",
        },
        {
            "benchmark": f"GraphConv forward+backward, {graph}",
            "ours": f"{t_ours * 1e3:.2f} ms",
            "reference": f"{t_ref * 1e3:.2f} ms (GCNConv)",
            "ratio": f"{t_ours / t_ref:.2f}x",
            "goal": "<= 1.5x",
            "note": f"best of {ROUNDS} interleaved rounds of {REPS}; {threads}",
        },
    ]


def _karate_accuracy(make_layer) -> float:
    import torch
    from torch.nn import functional as F

    from dlcourse.gnn import karate_club

    g = karate_club()
    torch.manual_seed(0)
    conv1, conv2 = make_layer(34, 16), make_layer(16, 2)
    params = [*conv1.parameters(), *conv2.parameters()]
    opt = torch.optim.Adam(params, lr=0.01, weight_decay=5e-4)
    train = torch.tensor([0, 33])  # the instructor and the administrator
    for _ in range(KARATE_STEPS):
        logits = conv2(torch.tanh(conv1(g.x, g.edge_index)), g.edge_index)
        loss = F.cross_entropy(logits[train], g.y[train])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = conv2(torch.tanh(conv1(g.x, g.edge_index)), g.edge_index).argmax(1)
    rest = torch.ones(34, dtype=torch.bool)
    rest[train] = False
    return float((pred[rest] == g.y[rest]).float().mean())


def _karate_row(pyg_nn) -> dict:
    import torch

    from dlcourse.gnn import GraphConv

    def ours(i, o):
        return GraphConv(i, o)

    def theirs(i, o):  # the same initial weights as ours (same seed, copied over)
        layer = GraphConv(i, o)
        ref = pyg_nn.GCNConv(i, o)
        with torch.no_grad():
            ref.lin.weight.copy_(layer.weight.T)
            ref.bias.copy_(layer.bias)
        return ref

    acc = _karate_accuracy(ours)
    ref = _karate_accuracy(theirs) if pyg_nn is not None else None
    return {
        "benchmark": "karate club, 2-layer GCN, 2 labelled nodes",
        "ours": f"{acc:.3f}",
        "reference": f"{ref:.3f} (GCNConv)" if ref is not None else "torch_geometric missing",
        "ratio": f"{acc / ref:.2f}x" if ref else "-",
        "goal": ">= 0.85",
        "note": f"accuracy on the 32 unlabelled members after {KARATE_STEPS} Adam steps; "
        "same initial weights",
    }


def run() -> list[dict]:
    """Measure; return one row per figure (all values formatted strings)."""
    import torch

    pyg_nn = _pyg()
    threads = f"torch threads {torch.get_num_threads()}"
    rows: list[dict] = []
    for n in SIZES:
        if pyg_nn is None:
            rows.append(
                {
                    "benchmark": f"GraphConv vs GCNConv, {n:,} nodes",
                    "ours": "-",
                    "reference": "torch_geometric missing",
                    "ratio": "-",
                    "goal": "<= 1e-5, <= 1.5x",
                    "note": "not measured: pip install torch_geometric",
                }
            )
        else:
            rows.extend(_gcn_rows(n, pyg_nn, threads))
    rows.append(_karate_row(pyg_nn))
    return rows


if __name__ == "__main__":
    from . import print_table

    print_table(run())
