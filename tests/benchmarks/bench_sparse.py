"""Benchmark: dlcourse.sparse against scikit-learn's coordinate-descent Lasso, rates, LISTA.

1. **FISTA vs coordinate descent.** 64 features, a dictionary of 256 unit-norm atoms, signals
   made of 8 atoms plus noise, lambda = 0.1; 1,000 and 10,000 signals, at 1 and 2 BLAS threads
   (threadpoolctl; scikit-learn's coordinate descent is single-threaded either way). Every
   solver is scored by the relative gap ``(E - E*) / E*`` of its mean energy, ``E*`` from
   scikit-learn's ``Lasso`` at ``tol=1e-12`` (untimed); the goal is a gap <= 1e-6 for all.
   Timed in alternating rounds, best of each: ours, ``fista(..., tol=1e-6)`` (per-signal
   stopping certified by the duality gap, with an active-set refinement); scikit-learn's
   ``Lasso`` (coordinate descent, Gram matrix precomputed, its default ``tol=1e-4``, which
   already reaches a gap of about 4e-8; its energy is ``1/(2 n_features) ||x - D z||^2 + alpha
   ||z||_1``, so ``alpha = lam / n_features``); ``sparse_encode(..., algorithm="lasso_cd")``
   with its defaults; and the previous code path, plain ``fista`` with the fewest iterations (a
   multiple of 10) whose mean energy reaches the 1e-6 gap (0.78 s against Lasso's 0.35 s,
   2.25x slower, when it was the only option).
2. **Rates.** Slopes of log(E(z_k) - E*) against log(k), k in [10, 1000], on the chapter's
   worst-case problem (theory: -1 for ISTA, -2 for FISTA).
3. **LISTA vs ISTA.** LISTA with K = 1, 2, 5, 10, 20 layers (64 features, 256 atoms, 5-sparse
   signals) trained for 10 epochs on 2,000 signals; on 1,000 test signals, the number of ISTA
   iterations (up to 400) needed to reach the same mean squared code error.

Where the time goes (cProfile, 1,000 signals, one thread): plain FISTA needs about 150
iterations of two dense products, ``2 n p K`` = 33 MFLOP each (5 GFLOP in all, ~3 ms an
iteration), while coordinate descent touches only the ~20 active atoms of each signal. With
``tol``, 40 float32 iterations (about 1 ms each, ~40 % of the time) find nearly every support;
the refinement then solves the Lasso exactly on it, ~55 % (batched ``m x m`` solves, ``m`` ~
20-50, about 6 corrections per block of 256 signals: ~20 %; gathering the Gram blocks, the
residual products and the bookkeeping: ~35 %), and the duality gap certifies it (~3 %): the
achieved gap is ~1e-16, not just 1e-6. At 1 thread ours was faster in every run (ratio to Lasso
0.74-0.87 for 1,000 signals, 0.70-0.87 for 10,000). At 2 threads the comparison depends on the
machine: on the shared 2-core development machine (load average 3-5) 2 BLAS threads often make
every product *slower*, and the single-threaded coordinate descent does not care; the note of
each 2-thread row gives the 1 -> 2 thread speed-up of ours and of the previous, pure-BLAS code
path. In three runs: 10,000 signals, ratio 0.53-0.70; 1,000 signals, 0.63 in a quiet run (ours
1.2x faster with 2 threads), 3.1 and 4.0 in busy ones, where ours ran 6x slower with 2 threads
than with 1 (80 short float32 products of 0.5-1 ms in 40 iterations, each waiting for both
threads) and the previous path 1.5-4x slower. The refinement's small products already run on
one thread; on a machine with idle cores, 2 threads help both FISTA paths.

Run ``python -m tests.benchmarks.bench_sparse`` for a table; ``run()`` returns the rows.
"""

from __future__ import annotations

import time

import numpy as np

ROUNDS = 3
MAX_ISTA = 400  # ISTA iterations tried when matching LISTA's error
P, K_ATOMS, LAM = 64, 256, 0.1  # the coding problem of row 1
SIGNALS = (1_000, 10_000)
THREADS = (1, 2)
GAP = 1e-6  # the relative objective gap every solver must reach
PLAIN_MAX = 500  # plain FISTA iterations tried for the previous code path


def _blas_threads() -> int:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return 1
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return counts[0] if counts else 1


def _sparse_data(rng, D, n, k, noise):
    n_atoms = D.shape[1]
    Z = np.zeros((n, n_atoms))
    support = np.argsort(rng.random((n, n_atoms)), axis=1)[:, :k]
    np.put_along_axis(Z, support, rng.standard_normal((n, k)), axis=1)
    return Z @ D.T + noise * rng.standard_normal((n, D.shape[0]))


def _coding_problem(n: int):
    """The coding problem of row 1: ``n`` signals, the same dictionary for every ``n``."""
    from dlcourse.sparse import normalize_atoms

    rng = np.random.default_rng(0)
    D = normalize_atoms(rng.standard_normal((P, K_ATOMS)))
    x = _sparse_data(rng, D, n, k=8, noise=0.05)
    return D, x


def _plain_fista_iterations(D, x, e_star):
    """The previous code path: the fewest plain iterations (a multiple of 10) reaching GAP."""
    from dlcourse.sparse import fista

    _, hist = fista(D, x, LAM, n_iter=PLAIN_MAX, return_history=True)
    within = np.flatnonzero(hist <= e_star * (1 + GAP))
    return int(np.ceil(within[0] / 10) * 10) if within.size else PLAIN_MAX


def _fista_vs_lasso_rows() -> list[dict]:
    from sklearn.decomposition import sparse_encode
    from sklearn.linear_model import Lasso
    from threadpoolctl import threadpool_limits

    from dlcourse.sparse import fista, lasso_objective

    def lasso(D, x, tol):
        # scikit-learn's energy is 1/(2 p)||x - Dz||^2 + alpha ||z||_1: alpha = lam / p
        model = Lasso(alpha=LAM / P, fit_intercept=False, precompute=True, tol=tol)
        return model.set_params(max_iter=100_000).fit(D, x.T).coef_

    rows = []
    for n in SIGNALS:
        D, x = _coding_problem(n)
        with threadpool_limits(1):
            e_star = lasso_objective(D, x, lasso(D, x, 1e-12), LAM)  # reference, untimed
            n_plain = _plain_fista_iterations(D, x, e_star)
        solvers = {
            "ours": lambda D=D, x=x: fista(D, x, LAM, n_iter=1000, tol=GAP),
            "lasso": lambda D=D, x=x: lasso(D, x, 1e-4),
            "encode": lambda D=D, x=x: sparse_encode(
                x, D.T, algorithm="lasso_cd", alpha=LAM, max_iter=1000
            ),
            "previous": lambda D=D, x=x, k=n_plain: fista(D, x, LAM, n_iter=k),
        }
        one_thread = {}
        for threads in THREADS:
            rounds = ROUNDS if n > 1_000 else 2 * ROUNDS - 1
            times = {name: [] for name in solvers}
            gaps = {}
            with threadpool_limits(threads):  # NumPy's BLAS and scikit-learn's alike
                for r in range(rounds):  # alternate the order from round to round
                    order = list(solvers.items())
                    for name, fn in order if r % 2 == 0 else order[::-1]:
                        t0 = time.perf_counter()
                        z = fn()
                        times[name].append(time.perf_counter() - t0)
                        gaps[name] = (lasso_objective(D, x, z, LAM) - e_star) / e_star
            best = {name: min(v) for name, v in times.items()}
            one_thread = one_thread or best
            up = {name: one_thread[name] / best[name] for name in ("previous", "ours")}
            scaling = (
                f"; 1 -> {threads} threads: previous {up['previous']:.2f}x, ours {up['ours']:.2f}x"
                if threads > 1
                else ""
            )
            label = f"sparse coding, {n} signals x {P}, {K_ATOMS} atoms, {threads} thread(s)"
            rows += [
                {
                    "benchmark": f"{label}: fista(tol) vs sklearn Lasso (CD), time",
                    "ours": f"{best['ours']:.3f} s",
                    "reference": f"{best['lasso']:.3f} s",
                    "ratio": f"{best['ours'] / best['lasso']:.2f}",
                    "goal": "< 1 (faster)",
                    "note": (
                        f"sparse_encode(lasso_cd) {best['encode']:.3f} s (ratio "
                        f"{best['ours'] / best['encode']:.2f}); previous fista, {n_plain} plain "
                        f"it.: {best['previous']:.3f} s, speed-up "
                        f"{best['previous'] / best['ours']:.1f}x; best of {rounds}{scaling}"
                    ),
                },
                {
                    "benchmark": f"{label}: relative objective gap (E - E*) / E*",
                    "ours": f"{gaps['ours']:+.1e}",
                    "reference": f"{gaps['lasso']:+.1e}",
                    "ratio": "",
                    "goal": f"all <= {GAP:.0e}",
                    "note": (
                        f"sparse_encode {gaps['encode']:+.1e}, previous {gaps['previous']:+.1e};"
                        f" E* = {e_star:.6f} (Lasso, tol=1e-12)"
                    ),
                },
            ]
    return rows


def _hard_instance(n=200, mu_min=1e-8, lam=0.1, seed=0):
    g = np.random.default_rng(seed)
    U, _ = np.linalg.qr(g.standard_normal((n, n)))
    V, _ = np.linalg.qr(g.standard_normal((n, n)))
    mu = np.geomspace(1.0, mu_min, n)
    D = U @ np.diag(np.sqrt(mu)) @ V.T
    z_star = V @ g.choice([-1.0, 1.0], n)
    x = D @ z_star + np.linalg.solve(D.T, lam * np.sign(z_star))
    return D, x[None, :], z_star[None, :], lam


def _rate_rows() -> list[dict]:
    from dlcourse.sparse import fista, ista, lasso_objective

    D, x, z_star, lam = _hard_instance()
    e_star = lasso_objective(D, x, z_star, lam)
    k = np.arange(1001)
    sel = (k >= 10) & (k <= 1000)
    rows = []
    for solver, theory in ((ista, -1.0), (fista, -2.0)):
        _, hist = solver(D, x, lam, n_iter=1000, return_history=True)
        slope = np.polyfit(np.log(k[sel]), np.log(hist[sel] - e_star), 1)[0]
        rows.append(
            {
                "benchmark": f"{solver.__name__} rate: slope of log gap vs log k, k in [10, 1000]",
                "ours": f"{slope:.3f}",
                "reference": f"{theory:.0f} (theorem)",
                "ratio": f"{slope / theory:.3f}",
                "goal": "within 0.15 of theory",
                "note": "worst-case problem of the chapter (n = 200, curvatures 1 .. 1e-8)",
            }
        )
    return rows


def _lista_rows() -> list[dict]:
    import torch

    from dlcourse.sparse import LISTA, code_error, fista, ista, normalize_atoms, train_lista

    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: one thread is fastest
    try:
        rng = np.random.default_rng(1)
        p, K_atoms, lam = 64, 256, 0.1
        D = normalize_atoms(rng.standard_normal((p, K_atoms)))
        x_train = _sparse_data(rng, D, 2000, k=5, noise=0.01)
        x_test = _sparse_data(rng, D, 1000, k=5, noise=0.01)
        D32 = D.astype(np.float32)
        z_train = fista(D32, x_train.astype(np.float32), lam, n_iter=1000).astype(np.float64)
        z_test = fista(D, x_test, lam, n_iter=1500)
        errs, z = [code_error(np.zeros_like(z_test), z_test)], None
        for _ in range(MAX_ISTA):  # ISTA keeps no state but z: continue one iteration at a time
            z = ista(D, x_test, lam, n_iter=1, z0=z)
            errs.append(code_error(z, z_test))
        errs = np.array(errs)
        xt = torch.tensor(x_test, dtype=torch.float32)
        rows = []
        for K in (1, 2, 5, 10, 20):
            torch.manual_seed(0)
            model = LISTA(torch.tensor(D32), lam, n_layers=K)
            t0 = time.perf_counter()
            train_lista(model, x_train, z_train, epochs=10, lr=3e-3 / np.sqrt(K), batch_size=64)
            seconds = time.perf_counter() - t0
            with torch.no_grad():
                err = code_error(model(xt), z_test)
            reach = np.flatnonzero(errs <= err)
            iters = int(reach[0]) if reach.size else None
            needs = str(iters) if iters is not None else f"> {MAX_ISTA}"
            rows.append(
                {
                    "benchmark": f"LISTA K={K} layers vs ISTA iterations to the same code error",
                    "ours": f"{err:.4f}",
                    "reference": f"ISTA needs {needs} it.",
                    "ratio": f"{iters / K:.1f}x" if iters is not None else f"> {MAX_ISTA / K:.0f}x",
                    "goal": "> 1 (ISTA needs more)",
                    "note": f"ISTA({K}) error {errs[K]:.4f}; training {seconds:.1f} s",
                }
            )
        return rows
    finally:
        torch.set_num_threads(previous)


def run() -> list[dict]:
    return _fista_vs_lasso_rows() + _rate_rows() + _lista_rows()


if __name__ == "__main__":
    from tests.benchmarks import print_table

    print_table(run())
