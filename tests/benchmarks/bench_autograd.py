"""Benchmark: one training step of an MLP in dlcourse.autograd vs torch.autograd.

A step is forward, cross-entropy, backward and an SGD update, for the MLP 784-128-10 on a
batch of 64, with the same initial weights and data in both libraries. The two are timed
side by side in one process, interleaved (rounds alternate ours/torch, and which goes
first), after a warm-up; the figure reported is the median over all timed steps. torch
gets as many intra-op threads as NumPy's BLAS has, so both may use the same cores.

Run ``python tests/benchmarks/bench_autograd.py`` for a table; ``run()`` returns the rows.
"""

from __future__ import annotations

import time

import numpy as np

WARMUP, ROUNDS, STEPS_PER_ROUND = 30, 20, 25


def _blas_threads() -> int | None:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return counts[0] if counts else None


def _interleaved(
    ours, theirs, warmup: int = WARMUP, rounds: int = ROUNDS, steps: int = STEPS_PER_ROUND
) -> tuple[float, float]:
    """Median seconds per call of two step functions timed in alternating rounds."""
    for _ in range(warmup):
        ours()
        theirs()
    times: dict[str, list[float]] = {"ours": [], "theirs": []}
    for r in range(rounds):
        order = [("ours", ours), ("theirs", theirs)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            for _ in range(steps):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return float(np.median(times["ours"])), float(np.median(times["theirs"]))


def _mlp_step_rows(dtype, threads: str) -> dict:
    import torch

    from dlcourse.autograd import MLP, Tensor, cross_entropy
    from dlcourse.optim import SGD

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 784)).astype(dtype)
    y = rng.integers(0, 10, 64)

    model = MLP([784, 128, 10], seed=0, dtype=dtype)
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    xt = Tensor(x)

    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    ref = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    ref = ref.to(tdtype)
    with torch.no_grad():
        for p, q in zip(ref.parameters(), model.parameters(), strict=True):
            p.copy_(torch.from_numpy(q.data))
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.01, momentum=0.9)
    x_torch, y_torch = torch.from_numpy(x), torch.from_numpy(y)

    def ours() -> float:
        opt.zero_grad()
        loss = cross_entropy(model(xt), y)
        loss.backward()
        opt.step()
        return loss.item()

    def theirs() -> float:
        ref_opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(ref(x_torch), y_torch)
        loss.backward()
        ref_opt.step()
        return loss.item()

    first, ref_first = ours(), theirs()  # same weights, same data: the same loss
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert abs(first - ref_first) <= tol * abs(ref_first), (first, ref_first)
    t_ours, t_ref = _interleaved(ours, theirs)
    n = ROUNDS * STEPS_PER_ROUND
    name = np.dtype(dtype).name
    return {
        "benchmark": f"MLP 784-128-10 train step, batch 64, {name}",
        "ours": f"{t_ours * 1e3:.3f} ms",
        "reference": f"{t_ref * 1e3:.3f} ms (torch)",
        "ratio": f"{t_ours / t_ref:.2f}x",
        "goal": "<= 1.5x" if dtype == np.float32 else "info",
        "note": f"{name} in both; forward+CE+backward+SGD(momentum); median of {n} "
        f"interleaved steps; {threads}",
    }


def _chain_row(threads: str) -> dict:
    """Per-operation overhead of the engines: a chain of 1,000 scalar multiplications."""
    import torch

    from dlcourse.autograd import Tensor

    n_ops = 1000

    def ours() -> None:
        x = Tensor(1.0, requires_grad=True)
        y = x
        for _ in range(n_ops):
            y = y * 1.0001
        y.backward()

    def theirs() -> None:
        x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
        y = x
        for _ in range(n_ops):
            y = y * 1.0001
        y.backward()

    t_ours, t_ref = _interleaved(ours, theirs, warmup=2, rounds=6, steps=3)
    return {
        "benchmark": "per-op overhead: chain of 1,000 scalar ops, forward+backward",
        "ours": f"{t_ours / n_ops * 1e6:.2f} us/op",
        "reference": f"{t_ref / n_ops * 1e6:.2f} us/op (torch)",
        "ratio": f"{t_ours / t_ref:.2f}x",
        "goal": "info",
        "note": f"Python-level cost of one op (graph node + backward rule); {threads}",
    }


def run() -> list[dict]:
    """Time the benchmarks; return one row per benchmark (all values formatted strings)."""
    import torch

    blas = _blas_threads()
    n_threads = blas if blas else torch.get_num_threads()
    torch.set_num_threads(n_threads)
    threads = f"threads: numpy BLAS {blas if blas else '?'}, torch {torch.get_num_threads()}"
    return [
        _mlp_step_rows(np.float32, threads),
        _mlp_step_rows(np.float64, threads),
        _chain_row(threads),
    ]


if __name__ == "__main__":
    from . import print_table

    print_table(run())
