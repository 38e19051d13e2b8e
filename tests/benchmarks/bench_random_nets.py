"""Benchmark: dlcourse.random_nets against raw-feature retrieval, scikit-learn and the theory.

1. **Hashing.** Retrieval mAP on scikit-learn's 8x8 digits (1,437 database images, 360
   queries, ranked by Hamming distance, ties counted together) for random-hyperplane LSH
   (``sign_hash``, centred on the database mean) and a learned hash (``LearnedHash`` trained by
   ``train_hash``, 15 epochs) at 12, 24 and 48 bits, next to retrieval with the raw 64 pixel
   values (Euclidean distances), with the time of each (hashing + ranking; training included
   for the learned hash).
2. **Angle map.** The largest deviation, over 25 angles in [0, pi], of the mean output angle of
   a random ReLU layer (30 layers, ``empirical_angle``) from the closed form ``relu_angle``, for
   widths m = 30 to 10,000; the theory: it shrinks like 1/sqrt(m) (the per-layer spread) and the
   bias of the mean like 1/m.
3. **mAP against scikit-learn.** ``average_precisions`` (hence ``retrieval_map``) against
   ``sklearn.metrics.average_precision_score`` called once per query, on 24-bit codes of the
   digits (many ties): the largest difference (goal 1e-12) and the time of each.
4. **Notebooks.** Execution time of the chapter and of the assignment's solution in a fresh
   kernel (as ``bench_notebooks`` measures every notebook).

Run ``python -m tests.benchmarks.bench_random_nets`` for a table; ``run()`` returns the rows.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import best_of

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 3


def _best_of(fn, rounds=ROUNDS):
    return best_of(fn, rounds)


def _hashing_rows() -> list[dict]:
    import torch
    from scipy.spatial.distance import cdist

    from dlcourse.data import load_digits
    from dlcourse.random_nets import (
        LearnedHash,
        average_precisions,
        retrieval_map,
        sign_hash,
        train_hash,
    )

    x_tr, y_tr, x_te, y_te = load_digits()
    mu = x_tr.mean(0)
    t_raw, map_raw = _best_of(
        lambda: float(np.nanmean(average_precisions(cdist(x_te, x_tr), y_te, y_tr)))
    )
    rows = []
    for b in (12, 24, 48):

        def lsh(b=b):
            cq, cdb = sign_hash(x_te, b, seed=b, mean=mu), sign_hash(x_tr, b, seed=b, mean=mu)
            return retrieval_map(cq, cdb, y_te, y_tr)

        def learned(b=b):
            threads = torch.get_num_threads()
            torch.set_num_threads(1)  # a small network: one thread is fastest
            try:
                net = LearnedHash(64, b, seed=0)
                train_hash(net, x_tr, y_tr, epochs=15, lr=2e-3, seed=0)
                return retrieval_map(net.codes(x_te), net.codes(x_tr), y_te, y_tr)
            finally:
                torch.set_num_threads(threads)

        t_lsh, map_lsh = _best_of(lsh)
        t_learned, map_learned = _best_of(learned, rounds=1)
        rows.append(
            {
                "benchmark": f"digits retrieval mAP, {b} bits: random LSH / learned hash",
                "ours": f"{100 * map_lsh:.1f} % / {100 * map_learned:.1f} %",
                "reference": f"raw pixels {100 * map_raw:.1f} %",
                "ratio": f"{map_lsh / map_raw:.2f} / {map_learned / map_raw:.2f}",
                "goal": "learned > LSH; LSH -> raw as bits grow",
                "note": f"time: LSH {t_lsh:.3f} s, learned {t_learned:.2f} s (incl. training), "
                f"raw {t_raw:.3f} s",
            }
        )
    return rows


def _angle_rows() -> list[dict]:
    from dlcourse.random_nets import empirical_angle, relu_angle

    alphas = np.linspace(0, np.pi, 25)
    rows = []
    for m in (30, 100, 300, 1000, 3000, 10000):
        t0 = time.perf_counter()
        mean, std = empirical_angle(alphas, n_in=50, n_out=m, n_trials=30, seed=m)
        seconds = time.perf_counter() - t0
        dev = float(np.max(np.abs(mean - relu_angle(alphas))))
        spread = float(np.mean(std[1:]))
        rows.append(
            {
                "benchmark": f"relu_angle vs empirical_angle, m = {m} (30 layers)",
                "ours": f"max dev {dev:.4f} rad",
                "reference": f"spread {spread:.4f} rad/layer",
                "ratio": f"{dev / spread:.2f}",
                "goal": "dev ~ spread/sqrt(30) ~ 1/sqrt(m)",
                "note": f"{seconds:.2f} s",
            }
        )
    return rows


def _map_vs_sklearn_rows() -> list[dict]:
    from sklearn.metrics import average_precision_score

    from dlcourse.data import load_digits
    from dlcourse.random_nets import average_precisions, hamming_distances, sign_hash

    x_tr, y_tr, x_te, y_te = load_digits()
    mu = x_tr.mean(0)
    D = hamming_distances(sign_hash(x_te, 24, 0, mean=mu), sign_hash(x_tr, 24, 0, mean=mu))
    t_ours, ours = _best_of(lambda: average_precisions(D, y_te, y_tr))
    t_ref, ref = _best_of(
        lambda: np.array(
            [average_precision_score(y_tr == y_te[i], -D[i]) for i in range(len(y_te))]
        )
    )
    diff = float(np.max(np.abs(ours - ref)))
    return [
        {
            "benchmark": "average_precisions vs sklearn average_precision_score, 360 queries",
            "ours": f"{t_ours:.4f} s",
            "reference": f"{t_ref:.4f} s",
            "ratio": f"{t_ours / t_ref:.3f}",
            "goal": "max |diff| <= 1e-12",
            "note": f"max |diff| = {diff:.1e}; 24-bit codes (ties); best of {ROUNDS}",
        }
    ]


def run() -> list[dict]:
    # (the chapter's and the assignment's execution times are rows of bench_notebooks)
    return _hashing_rows() + _angle_rows() + _map_vs_sklearn_rows()


if __name__ == "__main__":
    from tests.benchmarks import print_table

    print_table(run())
