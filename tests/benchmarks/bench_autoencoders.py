"""Benchmark: dlcourse.autoencoders against PCA (scikit-learn), scipy and torch's autograd.

1. **Linear auto-encoder vs PCA.** 5,000 points in 50 dimensions with 8 strong directions;
   ``LinearAE(50, 8)`` trained by ``fit_autoencoder`` (Adam) against scikit-learn's ``PCA(8)``:
   the largest principal angle between the decoder's column space and the PCA subspace, and
   the time of each fit.
2. **principal_angles vs scipy.linalg.subspace_angles.** Random 500 x 20 and 500 x 30 bases:
   largest difference of the angles and the time of each (best of rounds).
3. **Reconstruction error on MNIST-5k at equal code size 32.** Test MSE per pixel of the
   undercomplete, sparse, denoising and contractive auto-encoders (one hidden layer of 32
   units, 4,000 training digits, 10 epochs), with PCA(32) as the reference.
4. **Contractive penalty: closed form vs autograd.** A sigmoid encoder 784 -> 128 on a batch of
   256 digits: the relative difference of the per-sample penalties and the time of each
   (``torch.func.vmap(jacrev)`` for autograd).

The notebooks' execution times are in ``bench_notebooks`` (``book/autoencoders.ipynb`` and
``course/source/autoencoders/autoencoders.ipynb`` among them).

Run ``python -m tests.benchmarks.bench_autoencoders`` for a table; ``run()`` returns the rows.
"""

from __future__ import annotations

import time

import numpy as np

from . import best_of

ROUNDS = 3


def _best_of(fn, rounds=ROUNDS):
    return best_of(fn, rounds)


def _linear_rows() -> list[dict]:
    from sklearn.decomposition import PCA

    from dlcourse.autoencoders import LinearAE, fit_autoencoder, principal_angles

    rng = np.random.default_rng(0)
    scales = np.array([8.0, 7.0, 6.0, 5.0, 4.0, 3.5, 3.0, 2.5] + [0.3] * 42)
    Q, _ = np.linalg.qr(rng.standard_normal((50, 50)))
    x = ((rng.standard_normal((5000, 50)) * scales) @ Q.T).astype(np.float32)
    t0 = time.perf_counter()
    ae = LinearAE(50, 8, seed=0)
    fit_autoencoder(ae, x, epochs=30, lr=1e-2, batch_size=250)
    t_ae = time.perf_counter() - t0
    t_pca, pca = _best_of(lambda: PCA(8).fit(x))
    W = ae.decoder.weight.detach().double().numpy()
    worst = float(np.degrees(principal_angles(W, pca.components_.T.astype(np.float64)).max()))
    return [
        {
            "benchmark": "LinearAE(50, 8) vs PCA(8): largest principal angle (deg)",
            "ours": f"{worst:.3f}",
            "reference": "0 (PCA subspace)",
            "ratio": "",
        },
        {
            "benchmark": "LinearAE(50, 8), 30 epochs of Adam vs PCA(8): fit time",
            "ours": f"{t_ae:.3f} s",
            "reference": f"{t_pca:.3f} s",
            "ratio": f"{t_ae / t_pca:.1f}",
        },
    ]


def _angle_rows() -> list[dict]:
    from scipy.linalg import subspace_angles

    from dlcourse.autoencoders import principal_angles

    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((500, 20)), rng.standard_normal((500, 30))
    t_ours, ours = _best_of(lambda: principal_angles(A, B))
    t_ref, ref = _best_of(lambda: np.sort(subspace_angles(A, B)))
    return [
        {
            "benchmark": "principal_angles vs scipy subspace_angles (500x20, 500x30): max diff",
            "ours": f"{float(np.abs(ours - ref).max()):.1e}",
            "reference": "0",
            "ratio": "",
        },
        {
            "benchmark": "principal_angles vs scipy subspace_angles: time",
            "ours": f"{1e3 * t_ours:.2f} ms",
            "reference": f"{1e3 * t_ref:.2f} ms",
            "ratio": f"{t_ours / t_ref:.2f}",
        },
    ]


def _mnist_rows() -> list[dict]:
    import torch
    from sklearn.decomposition import PCA
    from torch import nn

    from dlcourse.autoencoders import AE, fit_autoencoder, reconstruction_error
    from dlcourse.data import load_mnist5k

    digits = load_mnist5k()
    x_tr, x_te = torch.tensor(digits.x_train), torch.tensor(digits.x_test)
    pca = PCA(32).fit(digits.x_train)
    pca_err = float(
        ((pca.inverse_transform(pca.transform(digits.x_test)) - digits.x_test) ** 2).mean()
    )
    variants = {
        "undercomplete (ReLU)": (nn.ReLU, {}),
        "sparse (ReLU, lam=0.05)": (nn.ReLU, dict(penalty="sparse", lam=0.05)),
        "denoising (ReLU, gaussian 0.3)": (nn.ReLU, dict(noise="gaussian", level=0.3)),
        "contractive (sigmoid, lam=0.01)": (nn.Sigmoid, dict(penalty="contractive", lam=0.01)),
    }
    rows = []
    for name, (act, kw) in variants.items():
        torch.manual_seed(0)
        model = AE(
            nn.Sequential(nn.Linear(784, 32), act()),
            nn.Sequential(nn.Linear(32, 784), nn.Sigmoid()),
        )
        t0 = time.perf_counter()
        fit_autoencoder(model, x_tr, epochs=10, lr=3e-3, batch_size=64, **kw)
        seconds = time.perf_counter() - t0
        err = reconstruction_error(model, x_te)
        rows.append(
            {
                "benchmark": f"MNIST-5k, code 32: {name} test MSE ({seconds:.1f} s to train)",
                "ours": f"{err:.4f}",
                "reference": f"PCA(32) {pca_err:.4f}",
                "ratio": f"{err / pca_err:.2f}",
            }
        )
    return rows


def _contractive_rows() -> list[dict]:
    import torch
    from torch import nn

    from dlcourse.autoencoders import contractive_penalty
    from dlcourse.data import load_mnist5k

    torch.manual_seed(0)
    enc = nn.Sequential(nn.Linear(784, 128), nn.Sigmoid())
    x = torch.tensor(load_mnist5k().x_test[:256])
    t_closed, closed = _best_of(
        lambda: contractive_penalty(enc, x, reduction="none", method="closed").detach()
    )
    t_auto, auto = _best_of(
        lambda: contractive_penalty(enc, x, reduction="none", method="autograd").detach()
    )
    rel = float(((closed - auto).abs() / auto.abs()).max())
    return [
        {
            "benchmark": "contractive penalty 784->128 sigmoid: closed form vs autograd, rel. diff",
            "ours": f"{rel:.1e}",
            "reference": "0",
            "ratio": "",
        },
        {
            "benchmark": "contractive penalty, 256 digits: closed form vs torch.func autograd time",
            "ours": f"{1e3 * t_closed:.2f} ms",
            "reference": f"{1e3 * t_auto:.2f} ms",
            "ratio": f"{t_closed / t_auto:.3f}",
        },
    ]


def run() -> list[dict]:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _linear_rows() + _angle_rows() + _mnist_rows() + _contractive_rows()
    finally:
        torch.set_num_threads(previous)


if __name__ == "__main__":
    from tests.benchmarks import print_table

    print_table(run())
