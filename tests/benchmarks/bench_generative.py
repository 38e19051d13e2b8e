"""Benchmark: dlcourse.generative against scikit-learn and torch, and its training costs.

1. **Naive Bayes vs logistic regression** (scikit-learn's ``BernoulliNB`` and
   ``LogisticRegression``, through :func:`dlcourse.generative.learning_curves`): test accuracy
   against the training-set size, on the chapter's naive-Bayes data with one feature copied six
   times (the curves cross), and on binarised MNIST-5k digits 4 vs 9 (real data).
2. **VAE on MNIST-5k.** An MLP VAE (784-256-2d / d-256-784, Bernoulli pixels) trained 12 epochs on
   4,000 digits with codes of dimension 2 and 16: the ELBO of the 1,000 test digits (10 samples
   each, nats per digit) and the training time on the CPU, and on the GPU when one is present.
3. **GAN mode coverage vs steps** on the ring of 8 Gaussians (std 0.05, radius 2): modes covered
   (>= 20 of 2,000 samples within 0.15 of a centre) and the fraction of good samples after 250,
   500, 1,000 and 2,000 iterations of :func:`dlcourse.generative.train_gan`.
4. **gan_losses vs torch.** Agreement with ``F.binary_cross_entropy_with_logits`` on random
   logits, and values and gradients at logits of +-100 (the literal ``log(sigmoid)`` is -inf).

The chapter's and the assignment's execution times are in ``bench_notebooks``
(``book/generative-models.ipynb`` and ``course/source/generative-models/generative-models.ipynb``).

Run ``python -m tests.benchmarks.bench_generative`` for a table; ``run()`` returns the rows.
"""

from __future__ import annotations

import time

import numpy as np


def _row(benchmark, ours, reference, ratio="", goal="", note=""):
    return {
        "benchmark": benchmark,
        "ours": ours,
        "reference": reference,
        "ratio": ratio,
        "goal": goal,
        "note": note,
    }


def _learning_curve_rows() -> list[dict]:
    from dlcourse.data import load_mnist5k
    from dlcourse.generative import learning_curves, naive_bayes_data

    rows = []
    x, y = naive_bayes_data(4000, seed=1)
    xt, yt = naive_bayes_data(4000, seed=2)
    sizes = [10, 40, 160, 640, 4000]
    c = learning_curves(x, y, xt, yt, sizes, n_repeats=3)
    for m, a, b in zip(sizes, c["naive_bayes"], c["logistic"], strict=True):
        rows.append(
            _row(
                f"NB vs LR, naive-Bayes data + 6 copies, m = {m}: accuracy",
                f"{a:.3f}",
                f"{b:.3f}",
                f"{a / b:.2f}",
                "NB ahead for small m, LR for large m",
                "ours = BernoulliNB, reference = LogisticRegression(C=1); mean of 3 subsets",
            )
        )
    d = load_mnist5k()
    tr, te = np.isin(d.y_train, (4, 9)), np.isin(d.y_test, (4, 9))
    sizes = [10, 40, 160, int(tr.sum())]
    c = learning_curves(d.x_train[tr], d.y_train[tr], d.x_test[te], d.y_test[te], sizes, 3)
    for m, a, b in zip(sizes, c["naive_bayes"], c["logistic"], strict=True):
        rows.append(
            _row(
                f"NB vs LR, MNIST-5k 4 vs 9 (pixels > 0.5), m = {m}: accuracy",
                f"{a:.3f}",
                f"{b:.3f}",
                f"{a / b:.2f}",
                "(measured)",
                "real digits, the independence assumption far from true; mean of 3 subsets",
            )
        )
    return rows


def _vae_rows() -> list[dict]:
    import torch
    from torch import nn

    from dlcourse.data import load_mnist5k
    from dlcourse.generative import VAE
    from dlcourse.trainer import train

    d = load_mnist5k()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for latent in (2, 16):
        result = {}
        for dev in devices:
            x_tr = torch.tensor(d.x_train, device=dev)
            x_te = torch.tensor(d.x_test, device=dev)
            torch.manual_seed(0)
            enc = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 2 * latent))
            dec = nn.Sequential(nn.Linear(latent, 256), nn.ReLU(), nn.Linear(256, 784))
            vae = VAE(enc, dec, latent).to(dev)
            start = time.perf_counter()
            train(vae, (x_tr, x_tr), epochs=12, lr=2e-3, batch_size=100,
                  loss_fn=lambda o, _: o.mean(), progress=False)  # fmt: skip
            if dev == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            with torch.no_grad():
                elbo = float(vae.elbo(x_te, n_samples=10, seed=0).mean())
            result[dev] = (elbo, seconds)
        elbo, seconds = result["cpu"]
        gpu = result.get("cuda")
        rows.append(
            _row(
                f"VAE on MNIST-5k, code dim {latent}: test ELBO (nats/digit), train time",
                f"{elbo:.1f}; {seconds:.1f} s CPU",
                f"{gpu[0]:.1f}; {gpu[1]:.1f} s GPU" if gpu else "no GPU",
                f"{seconds / gpu[1]:.1f}x" if gpu else "",
                "ELBO higher with dim 16",
                "12 epochs on 4,000 digits, batch 100, Adam 2e-3; 10 samples per test digit",
            )
        )
    return rows


def _coverage_rows() -> list[dict]:
    import torch
    from torch import nn

    from dlcourse.generative import mixture_of_gaussians, mode_coverage, ring_centers, train_gan

    def mlp(n_in, n_out):
        return nn.Sequential(
            nn.Linear(n_in, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, n_out)
        )

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x = mixture_of_gaussians(4000, 8, 2.0, 0.05, seed=0)
        centers = ring_centers(8, 2.0)
        z = torch.randn(2000, 2, generator=torch.Generator().manual_seed(9))
        torch.manual_seed(0)
        G, D = mlp(2, 2), mlp(2, 1)
        h = train_gan(
            G, D, x, latent_dim=2, n_iter=2000, lr=3e-3, seed=0, record_every=250,
            callback=lambda g: mode_coverage(g(z), centers, 0.15, min_count=20),
        )  # fmt: skip
    finally:
        torch.set_num_threads(previous)
    rows = []
    for it, cov in h.records:
        if it in (250, 500, 1000, 2000):
            rows.append(
                _row(
                    f"GAN on 8 Gaussians, {it} iterations: modes covered, good samples",
                    f"{cov.n_covered} / 8; {cov.quality:.2f}",
                    "8 / 8",
                    "",
                    "8 modes",
                    f"non-saturating, Adam 3e-3, batch 128; 2,000 iterations in {h.seconds:.1f} s",
                )
            )
    return rows


def _loss_rows() -> list[dict]:
    import torch
    import torch.nn.functional as F

    from dlcourse.generative import gan_losses

    g = torch.Generator().manual_seed(0)
    a, b = 10 * torch.randn(10_000, generator=g), 10 * torch.randn(10_000, generator=g)
    ld, lg = gan_losses(a, b)
    ref_d = F.binary_cross_entropy_with_logits(a, torch.ones_like(a)) + (
        F.binary_cross_entropy_with_logits(b, torch.zeros_like(b))
    )
    ref_g = F.binary_cross_entropy_with_logits(b, torch.ones_like(b))
    diff = max(abs(float(ld - ref_d)), abs(float(lg - ref_g)))
    big_r = torch.tensor([100.0, -100.0], requires_grad=True)
    big_f = torch.tensor([-100.0, 100.0], requires_grad=True)
    ld, lg = gan_losses(big_r, big_f)
    (ld + lg).backward()
    finite = bool(torch.isfinite(big_r.grad).all() and torch.isfinite(big_f.grad).all())
    ref = F.binary_cross_entropy_with_logits(big_r.detach(), torch.ones(2)) + (
        F.binary_cross_entropy_with_logits(big_f.detach(), torch.zeros(2))
    )
    naive = -(
        torch.log(torch.sigmoid(big_r.detach())).mean()
        + torch.log(1 - torch.sigmoid(big_f.detach())).mean()
    )
    return [
        _row(
            "gan_losses vs F.binary_cross_entropy_with_logits, 10,000 logits ~ N(0, 100)",
            f"max abs diff {diff:.1e}",
            "0",
            "",
            "<= 1e-5",
            "discriminator and non-saturating generator losses, float32",
        ),
        _row(
            "gan_losses at logits +-100: loss_d, finite gradients",
            f"{float(ld.detach()):.2f}; {finite}",
            f"{float(ref):.2f} (torch); naive log(sigmoid): {float(naive)}",
            "",
            "equal, finite",
            "",
        ),
    ]


def run() -> list[dict]:
    return _loss_rows() + _learning_curve_rows() + _coverage_rows() + _vae_rows()


if __name__ == "__main__":
    from tests.benchmarks import print_table

    print_table(run())
