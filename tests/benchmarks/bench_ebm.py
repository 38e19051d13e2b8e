"""Benchmark of dlcourse.ebm: what contrastive pretraining buys, CD-1 vs PCD, InfoNCE vs naive.

* Linear-probe accuracy on MNIST-5k with 1% (40) and 10% (400) of the training labels, for the
  InfoNCE-pretrained encoder of the chapter (small CNN, 4 epochs, batch 256, tau = 0.2, random
  affine views), the same encoder at its random initialisation, and the same architecture trained
  end to end on the labelled subset; the mean over three labelled subsets, with the training
  times on this CPU.
* Restricted Boltzmann machines (784 visible, 16 hidden) on binarised MNIST-5k trained with CD-1
  and with persistent CD for the same 800 updates: reconstruction error and the exact test
  log-likelihood (log Z by enumerating the 2^16 hidden states).
* ``info_nce`` against the literal formula -log(exp(s_ii/tau) / sum_j exp(s_ij/tau)): agreement
  at tau = 0.2 and at tau = 0.005 (where the literal formula overflows in float32), and the time
  of one forward + backward pass.

Run ``python -m tests.benchmarks.bench_ebm`` for a table; ``run()`` returns the rows.
"""

from __future__ import annotations

import math
import time

import numpy as np

SEEDS = (0, 1, 2)


def _encoder():
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 5, stride=2, padding=2), nn.ReLU(),
        nn.Conv2d(16, 32, 5, stride=2, padding=2), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 64),
    )  # fmt: skip


def _probe_rows(threads: str) -> list[dict]:
    import torch

    from dlcourse import ebm
    from dlcourse.data import load_mnist5k

    d = load_mnist5k(flatten=False)
    x_tr, x_te = torch.from_numpy(d.x_train), torch.from_numpy(d.x_test)
    torch.manual_seed(0)
    random_encoder = _encoder()
    encoder = _encoder()
    encoder.load_state_dict(random_encoder.state_dict())
    head = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(64, 32))
    history = ebm.pretrain_info_nce(
        encoder, x_tr, head=head, epochs=4, batch_size=256, temperature=0.2, lr=2e-3, seed=0
    )
    rows = [
        {
            "benchmark": "InfoNCE pretraining, MNIST-5k (4,000 digits), 4 epochs",
            "ours": f"{history.seconds:.1f} s",
            "reference": "-",
            "ratio": "-",
            "goal": "info",
            "note": f"small CNN 64-d, batch 256, tau 0.2; final loss {history.loss[-1]:.3f} "
            f"(chance log 256 = {math.log(256):.3f}); {threads}",
        }
    ]
    for frac, epochs in [(0.01, 60), (0.1, 15)]:
        kw = dict(x_test=x_te, y_test=d.y_test)
        pre = [ebm.linear_probe(encoder, x_tr, d.y_train, frac, seed=s, **kw) for s in SEEDS]
        rnd = [ebm.linear_probe(random_encoder, x_tr, d.y_train, frac, seed=s, **kw) for s in SEEDS]
        sup, start = [], time.perf_counter()
        for s in SEEDS:
            torch.manual_seed(s)
            sup.append(
                ebm.supervised_baseline(
                    _encoder(), x_tr, d.y_train, frac, epochs=epochs, lr=1e-3, seed=s, **kw
                )
            )
        sup_s = (time.perf_counter() - start) / len(SEEDS)
        n_labels = len(ebm.label_subset(d.y_train, frac))
        rows.append(
            {
                "benchmark": f"linear probe, {frac:.0%} of the labels ({n_labels}), test accuracy",
                "ours": f"{np.mean(pre):.3f} (InfoNCE)",
                "reference": f"{np.mean(rnd):.3f} random / {np.mean(sup):.3f} supervised",
                "ratio": f"+{np.mean(pre) - np.mean(rnd):.3f} vs random",
                "goal": ">= +0.08 vs random",
                "note": f"mean of {len(SEEDS)} labelled subsets; supervised = same CNN end to "
                f"end, {epochs} epochs, {sup_s:.1f} s per run",
            }
        )
    return rows


def _rbm_row() -> dict:
    import torch

    from dlcourse import ebm
    from dlcourse.data import load_mnist5k

    d = load_mnist5k()
    v_tr = torch.from_numpy(d.x_train > 0.5).float()
    v_te = torch.from_numpy(d.x_test > 0.5).float()
    results = {}
    for method in ("CD-1", "PCD"):
        torch.manual_seed(0)
        rbm = ebm.RBM(784, 16)
        with torch.no_grad():
            p = v_tr.mean(0).clamp(1e-3, 1 - 1e-3)
            rbm.b.copy_(torch.log(p / (1 - p)))
        opt = torch.optim.SGD(rbm.parameters(), lr=0.05, momentum=0.5)
        gen = torch.Generator().manual_seed(1)
        order_gen = torch.Generator().manual_seed(2)
        chains = torch.bernoulli(torch.full((100, 784), 0.5), generator=gen)
        chains = chains if method == "PCD" else None
        start, updates = time.perf_counter(), 0
        for _ in range(20):
            order = torch.randperm(len(v_tr), generator=order_gen)
            for i in range(0, len(v_tr), 100):
                step = ebm.contrastive_divergence_step(
                    rbm, v_tr[order[i : i + 100]], opt, chains=chains,
                    sampler=lambda s, rbm=rbm, gen=gen: rbm.gibbs(s, 1, seed=gen),
                )  # fmt: skip
                chains = step.negatives if method == "PCD" else None
                updates += 1
        seconds = time.perf_counter() - start
        results[method] = (rbm.reconstruction_error(v_te), rbm.log_likelihood(v_te), seconds)
    (rec_cd, ll_cd, t_cd), (rec_pcd, ll_pcd, t_pcd) = results["CD-1"], results["PCD"]
    return {
        "benchmark": f"RBM 784x16 on binarised MNIST-5k, {updates} updates: recon error (exact LL)",
        "ours": f"{rec_pcd:.4f} ({ll_pcd:.1f} nats) PCD",
        "reference": f"{rec_cd:.4f} ({ll_cd:.1f} nats) CD-1",
        "ratio": f"{rec_pcd / rec_cd:.3f}x recon, {ll_pcd - ll_cd:+.1f} nats",
        "goal": "info",
        "note": f"same init, batches and updates; lr 0.05, 100 particles; {t_pcd:.1f} s vs "
        f"{t_cd:.1f} s; test log-likelihood per digit, log Z over 2^16 hidden states",
    }


def _naive_info_nce(z1, z2, tau):
    import torch

    s = torch.nn.functional.normalize(z1, dim=1) @ torch.nn.functional.normalize(z2, dim=1).T
    return -torch.log(torch.exp(s.diagonal() / tau) / torch.exp(s / tau).sum(1)).mean()


def _info_nce_rows(threads: str) -> list[dict]:
    import torch

    from dlcourse.ebm import info_nce

    rows = []
    g = torch.Generator().manual_seed(0)
    n, d = 512, 128
    z1 = torch.randn(n, d, generator=g)
    z2 = z1 + 4.0 * torch.randn(n, d, generator=g)  # noisy positives: some negatives win
    for tau in (0.2, 0.005):
        ours = info_nce(z1, z2, tau).item()
        naive = _naive_info_nce(z1, z2, tau).item()
        ref64 = _naive_info_nce(z1.double(), z2.double(), tau).item()
        agree = abs(ours - ref64) / max(abs(ref64), 1e-12)
        rows.append(
            {
                "benchmark": f"info_nce vs literal formula, n={n}, d={d}, tau={tau}, float32",
                "ours": f"{ours:.5f}",
                "reference": f"{naive:.5f} literal float32, {ref64:.5f} literal float64",
                "ratio": f"rel. diff {agree:.1e} vs float64",
                "goal": "<= 1e-5",
                "note": "literal formula overflows (nan/inf)" if not math.isfinite(naive) else "",
            }
        )

    def timed(fn, reps=30):
        a = z1.clone().requires_grad_(True)
        b = z2.clone().requires_grad_(True)
        fn(a, b).backward()  # warm-up
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn(a, b).backward()
            times.append(time.perf_counter() - t0)
        return float(np.median(times))

    t_ours = timed(lambda a, b: info_nce(a, b, 0.2))
    t_naive = timed(lambda a, b: _naive_info_nce(a, b, 0.2))
    rows.append(
        {
            "benchmark": f"info_nce forward+backward, n={n}, d={d}, float32",
            "ours": f"{t_ours * 1e3:.2f} ms",
            "reference": f"{t_naive * 1e3:.2f} ms (literal formula)",
            "ratio": f"{t_ours / t_naive:.2f}x",
            "goal": "<= 1.5x",
            "note": f"median of 30; {threads}",
        }
    )
    return rows


def run() -> list[dict]:
    """Run the benchmarks; return one row per measurement (all values formatted strings)."""
    import torch

    threads = f"torch threads {torch.get_num_threads()}"
    return [*_info_nce_rows(threads), _rbm_row(), *_probe_rows(threads)]


if __name__ == "__main__":
    from . import print_table

    print_table(run())
