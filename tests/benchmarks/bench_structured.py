"""Benchmark: dlcourse.structured against brute-force enumeration, and mean field vs accuracy.

1. **Forward algorithm and Viterbi vs brute force.** Random chains (batch of 8, K = 3 labels,
   scores ~ N(0, 4)) of length T = 4 .. 12. The reference enumerates all K^T label sequences,
   scores them, and reduces with ``torch.logsumexp`` (log Z) and ``max`` (the best sequence);
   it shares no code with ``dlcourse.structured``. Agreement (largest |difference| of log Z,
   equal best sequences) and time, best of 3: O(T K^2) against O(T K^T).
2. **Scaling of the forward algorithm.** Time of ``chain_log_partition`` for T = 100, 1,000,
   10,000 at K = 8 (linear in T) and for K = 8, 32, 128 at T = 1,000 (quadratic in K once the
   per-step overhead is paid).
3. **Mean-field iterations vs accuracy.** The chapter's noisy scenes (100 scenes of 32 x 32,
   3 regions, noise 1), Potts weight w = 1.5, 0 .. 20 iterations, parallel and checkerboard
   schedules: pixel accuracy and whether the free energy decreased at every iteration.

The notebooks' execution times are in ``bench_notebooks`` (it times every chapter and
assignment, this chapter's included).

Run ``python -m tests.benchmarks.bench_structured`` for a table; ``run()`` returns the rows.
"""

from __future__ import annotations

import itertools
import time

from . import best_of

ROUNDS = 3


def _best_of(fn, rounds=ROUNDS):
    return best_of(fn, rounds)


def _enumerate(e, A):
    """Reference: scores of all K^T sequences, (B, K^T), and the sequences, by plain torch."""
    import torch

    B, T, K = e.shape
    seqs = torch.tensor(list(itertools.product(range(K), repeat=T)))
    scores = e[:, torch.arange(T)[None, :], seqs].sum(-1)
    if T > 1:
        scores = scores + A[seqs[:, :-1], seqs[:, 1:]].sum(1)
    return seqs, scores


def _brute_force_rows() -> list[dict]:
    import torch

    from dlcourse.structured import chain_log_partition, chain_viterbi

    g = torch.Generator().manual_seed(0)
    rows = []
    for T in (4, 6, 8, 10, 12):
        e = 2 * torch.randn(8, T, 3, generator=g, dtype=torch.float64)
        A = 2 * torch.randn(3, 3, generator=g, dtype=torch.float64)

        def ours(e=e, A=A):
            return chain_log_partition(e, A), chain_viterbi(e, A)[0]

        def peer(e=e, A=A):
            seqs, scores = _enumerate(e, A)
            return torch.logsumexp(scores, dim=1), seqs[scores.argmax(dim=1)]

        t_ours, (logz, tags) = _best_of(ours)
        t_peer, (logz_ref, tags_ref) = _best_of(peer)
        diff = float((logz - logz_ref).abs().max())
        same = bool(torch.equal(tags, tags_ref))
        rows.append(
            {
                "benchmark": f"chain CRF log Z + Viterbi, T={T}, K=3 (3^{T} = {3**T} sequences)",
                "ours": f"{1e3 * t_ours:.2f} ms",
                "reference": f"{1e3 * t_peer:.2f} ms (enumeration + torch.logsumexp)",
                "ratio": f"{t_peer / t_ours:.1f}x faster",
                "goal": "agree to 1e-10; same best sequence",
                "note": f"max |log Z diff| {diff:.1e}; Viterbi {'equal' if same else 'DIFFERENT'}",
            }
        )
    return rows


def _scaling_rows() -> list[dict]:
    import torch

    from dlcourse.structured import chain_log_partition

    g = torch.Generator().manual_seed(1)
    rows = []
    cases = [(100, 8), (1000, 8), (10000, 8), (1000, 32), (1000, 128)]
    base = None
    for T, K in cases:
        e = torch.randn(4, T, K, generator=g)
        A = torch.randn(K, K, generator=g)
        seconds, _ = _best_of(lambda e=e, A=A: chain_log_partition(e, A))
        if (T, K) == (1000, 8):
            base = seconds
        rows.append(
            {
                "benchmark": f"forward algorithm, batch 4, T={T}, K={K}",
                "ours": f"{1e3 * seconds:.1f} ms",
                "reference": "O(T K^2)",
                "ratio": f"{seconds / base:.2f}x (T=1000, K=8)" if base else "",
                "goal": "linear in T" if K == 8 else "quadratic in K, past the per-step cost",
                "note": f"{1e6 * seconds / T:.1f} us per position",
            }
        )
    return rows


def _scenes(n=100, H=32, W=32, K=3, noise=1.0, seed=1):
    """The chapter's scenes: blobs of K regions, one-hot colours plus Gaussian noise."""
    import torch
    from torch.nn import functional as F

    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, K, H, W, generator=gen)
    r = torch.arange(-6, 7, dtype=torch.float32)
    k1 = torch.exp(-(r**2) / (2 * 3.0**2))
    blur = (k1[:, None] * k1[None, :]).expand(K, 1, 13, 13)
    labels = F.conv2d(F.pad(z, (6, 6, 6, 6), mode="circular"), blur, groups=K).argmax(1)
    x = F.one_hot(labels, K).permute(0, 3, 1, 2).float() + noise * torch.randn(
        n, K, H, W, generator=gen
    )
    return x, labels


def _mean_field_rows() -> list[dict]:
    import torch

    from dlcourse.structured import four_neighbour_kernel, mean_field, potts_compat

    x, labels = _scenes()
    unary = -x.double()
    kernel, compat = four_neighbour_kernel(), potts_compat(3, 1.5)
    base = float((unary.argmin(1) == labels).float().mean())
    rows = []
    for schedule in ("parallel", "checkerboard"):
        for n_iter in (0, 1, 2, 5, 10, 20):
            t0 = time.perf_counter()
            q, hist = mean_field(
                unary, kernel, compat, n_iter=n_iter, schedule=schedule, return_history=True
            )
            seconds = time.perf_counter() - t0
            acc = float((q.argmax(1) == labels).float().mean())
            hist = torch.stack(hist)
            ups = int((hist[1:] > hist[:-1] + 1e-9).any(0).sum()) if n_iter else 0
            rows.append(
                {
                    "benchmark": f"mean field ({schedule}), {n_iter} iterations, w = 1.5",
                    "ours": f"{100 * acc:.1f}% pixels",
                    "reference": f"{100 * base:.1f}% (unaries alone)",
                    "ratio": f"+{100 * (acc - base):.1f} points",
                    "goal": "> +15 points; F never increases (checkerboard)",
                    "note": f"F rose in {ups}/100 scenes; {1e3 * seconds:.0f} ms",
                }
            )
    return rows


def run() -> list[dict]:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # small problems: one thread is fastest and most stable
    try:
        return _brute_force_rows() + _scaling_rows() + _mean_field_rows()
    finally:
        torch.set_num_threads(previous)


if __name__ == "__main__":
    from tests.benchmarks import print_table

    print_table(run())
