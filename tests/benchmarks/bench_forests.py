"""Benchmark: dlcourse.forests' network form of trees and forests against scikit-learn.

1. **Agreement and batched inference.** A decision tree (depth 10) and a random forest
   (10 trees of depth 8) fitted on 5,000 points of a 20-feature, 4-class problem; on 100,000
   test points (a tenth of them moved exactly onto a threshold), the network form
   (:func:`~dlcourse.forests.tree_to_network`, :func:`~dlcourse.forests.forest_to_network`,
   float64 torch, batches of 16,384 rows) against scikit-learn's own ``predict_proba``.
   Agreement must be 100 % (the same probabilities, bit for bit, and the same labels). Times
   are the best of a few interleaved rounds; on a GPU the network runs there too (a row each).
   scikit-learn walks each point down the tree (at most depth comparisons); the network
   evaluates every node and every leaf (a column selection and a sparse product), so on a CPU
   it is expected to be much slower, and the GPU rows show what batching buys there.
2. **Soft tree vs greedy tree.** Test accuracy of a depth-2 :class:`~dlcourse.forests.SoftTree`
   trained by Adam and of scikit-learn's greedy tree of the same depth, on the chapter's
   diagonal problem (2,000 training points, 5,000 test points).

The execution times of the chapter and the assignment are in ``bench_notebooks``.
Run ``python -m tests.benchmarks.bench_forests`` for a table; ``run()`` returns the rows.
"""

from __future__ import annotations

import numpy as np

from tests.benchmarks import best_interleaved

N_TEST = 100_000
ROUNDS = 2


def _problem():
    from sklearn.datasets import make_classification

    X, y = make_classification(
        5000 + N_TEST, 20, n_informative=10, n_classes=4, n_clusters_per_class=2, random_state=0
    )
    X = np.round(8 * X) / 8  # a grid: thresholds are exact in float32, ties are real ties
    return X[:5000], y[:5000], X[5000:]


def _with_ties(model_tree, X_test, rng):
    t = model_tree.tree_
    inner = np.flatnonzero(t.children_left != -1)
    rows = rng.choice(len(X_test), len(X_test) // 10, replace=False)
    nodes = inner[rng.integers(0, len(inner), len(rows))]
    X_test = X_test.copy()
    X_test[rows, t.feature[nodes]] = t.threshold[nodes]
    return X_test


def _agreement_rows() -> list[dict]:
    import torch
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    from dlcourse.forests import forest_to_network, tree_to_network

    rng = np.random.default_rng(0)
    X_train, y_train, X_test = _problem()
    tree = DecisionTreeClassifier(max_depth=10, random_state=0).fit(X_train, y_train)
    forest = RandomForestClassifier(10, max_depth=8, random_state=0, n_jobs=1)
    forest.fit(X_train, y_train)
    X_test = _with_ties(tree, X_test, rng)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    previous = torch.get_num_threads()
    try:
        for label, model, convert in [
            (f"tree (depth 10, {tree.get_n_leaves()} leaves)", tree, tree_to_network),
            ("forest (10 trees, depth 8)", forest, forest_to_network),
        ]:
            for dev in devices:
                net = convert(model).to(dev)
                x = torch.tensor(X_test, device=dev)

                def ours(net=net, x=x, dev=dev):
                    out = net.predict_proba(x)
                    if dev == "cuda":
                        torch.cuda.synchronize()
                    return out.cpu().numpy()

                t_ours, t_ref, p_ours, p_ref = best_interleaved(
                    ours, lambda m=model: m.predict_proba(X_test), rounds=ROUNDS, warmup=0
                )
                same = (p_ours == p_ref).all(axis=1).mean()
                labels = (p_ours.argmax(1) == p_ref.argmax(1)).mean()
                rows.append(
                    {
                        "benchmark": f"network form of a {label}: agreement on "
                        f"{N_TEST:,} points ({dev})",
                        "ours": f"{100 * same:.3f} %",
                        "reference": "sklearn predict_proba",
                        "ratio": "",
                        "goal": "100 %",
                        "note": f"labels {100 * labels:.3f} %; 10 % of points on a threshold",
                    }
                )
                rows.append(
                    {
                        "benchmark": f"network form of a {label}: inference time, "
                        f"{N_TEST:,} points ({dev}, {torch.get_num_threads()} threads)",
                        "ours": f"{t_ours:.3f} s",
                        "reference": f"{t_ref:.3f} s",
                        "ratio": f"{t_ours / t_ref:.2f}",
                        "goal": "report (network vs tree walk)",
                        "note": f"best of {ROUNDS}; sklearn on the CPU, n_jobs=1",
                    }
                )
    finally:
        torch.set_num_threads(previous)
    return rows


def _soft_tree_rows() -> list[dict]:
    import torch
    from sklearn.tree import DecisionTreeClassifier

    from dlcourse.forests import SoftTree
    from dlcourse.trainer import train

    def diagonal(n, seed):
        g = np.random.default_rng(seed)
        x = g.uniform(-1, 1, size=(n, 2))
        return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)

    x, y = diagonal(2000, 0)
    x_test, y_test = diagonal(5000, 1)
    greedy = DecisionTreeClassifier(criterion="entropy", max_depth=2, random_state=0)
    greedy_acc = greedy.fit(x, y).score(x_test, y_test)
    soft = SoftTree(depth=2, in_dim=2, n_classes=2, temperature=1.0, seed=0)
    hist = train(soft, (x.astype(np.float32), y), epochs=20, lr=0.05, batch_size=100,
                 progress=False)  # fmt: skip
    pred = soft.predict(torch.tensor(x_test, dtype=torch.float32)).numpy()
    soft_acc = (pred == y_test).mean()
    return [
        {
            "benchmark": "soft tree (depth 2, Adam) vs greedy tree (depth 2): test accuracy, "
            "diagonal boundary",
            "ours": f"{soft_acc:.4f}",
            "reference": f"{greedy_acc:.4f}",
            "ratio": f"{soft_acc / greedy_acc:.3f}",
            "goal": "> 1",
            "note": f"20 epochs, {hist.seconds:.1f} s; 2,000 train / 5,000 test points",
        }
    ]


def run() -> list[dict]:
    return _agreement_rows() + _soft_tree_rows()


if __name__ == "__main__":
    from tests.benchmarks import print_table

    print_table(run())
