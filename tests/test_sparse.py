"""dlcourse.sparse core: soft thresholding, the Lasso energy, ISTA and FISTA.

References: the prox checked by brute-force minimisation, the solvers against scikit-learn's
coordinate-descent Lasso and the Lasso optimality (KKT) conditions, the rates against the
theorems' bounds, torch against NumPy, gradients against finite differences.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso

from dlcourse.sparse import (
    fista,
    group_soft_threshold,
    ista,
    lasso_objective,
    lipschitz_constant,
    soft_threshold,
)

SOLVERS = [ista, fista]


def _problem(seed=0, n_features=20, n_atoms=50, n_signals=4):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_features, n_atoms))
    D /= np.linalg.norm(D, axis=0)
    x = rng.standard_normal((n_signals, n_features))
    return D, x


def _sklearn_codes(D, x, lam):
    """Lasso of scikit-learn: 1/(2 p)||x - Dz||^2 + alpha ||z||_1, so alpha = lam / p."""
    p = D.shape[0]
    model = Lasso(alpha=lam / p, fit_intercept=False, tol=1e-12, max_iter=100_000)
    model.fit(D, x.T)
    return np.atleast_2d(model.coef_)


# ----------------------------------------------------------------------------- prox
def test_soft_threshold_is_the_prox_of_l1_by_brute_force():
    grid = np.linspace(-5, 5, 200_001)
    for v in [-3.0, -1.0, -0.3, 0.0, 0.2, 0.7, 2.5]:
        for t in [0.0, 0.5, 1.0]:
            brute = grid[np.argmin(0.5 * (grid - v) ** 2 + t * np.abs(grid))]
            assert soft_threshold(np.array(v), t) == pytest.approx(brute, abs=1e-4)


def test_soft_threshold_numpy_torch_and_broadcast_thresholds():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 6))
    t = rng.uniform(0, 1, size=6)
    expected = np.where(np.abs(x) > t, x - np.sign(x) * t, 0.0)
    np.testing.assert_allclose(soft_threshold(x, t), expected, atol=1e-15)
    out = soft_threshold(torch.from_numpy(x), torch.from_numpy(t))
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-15)
    assert np.all(soft_threshold(x, 10.0) == 0)


def test_soft_threshold_gradient_is_indicator_of_survivors():
    x = torch.tensor([-2.0, -0.5, 0.3, 1.5], dtype=torch.float64, requires_grad=True)
    soft_threshold(x, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 0.0, 1.0])


@pytest.mark.parametrize("bad", [-0.1, float("nan"), np.array([0.1, -1.0])])
def test_soft_threshold_refuses_negative_thresholds(bad):
    with pytest.raises(ValueError, match="threshold"):
        soft_threshold(np.ones(2), bad)


def test_group_soft_threshold_is_the_prox_of_the_group_norm():
    rng = np.random.default_rng(2)
    v = rng.standard_normal(6) * 2
    groups = np.array([0, 0, 1, 1, 1, 2])
    t = 0.9
    got = group_soft_threshold(v, t, groups)
    # optimality: for every group g, 0 in z_g - v_g + t * subgrad ||z_g||
    for g in np.unique(groups):
        zg, vg = got[groups == g], v[groups == g]
        if np.linalg.norm(zg) == 0:
            assert np.linalg.norm(vg) <= t + 1e-12
        else:
            np.testing.assert_allclose(zg - vg + t * zg / np.linalg.norm(zg), 0, atol=1e-12)
    # singleton groups give plain soft thresholding
    np.testing.assert_allclose(group_soft_threshold(v, t, np.arange(6)), soft_threshold(v, t))
    got_t = group_soft_threshold(torch.from_numpy(v), t, groups)
    np.testing.assert_allclose(got_t.numpy(), got, atol=1e-14)
    with pytest.raises(ValueError, match="groups"):
        group_soft_threshold(v, t, [0, 1])


# ----------------------------------------------------------------------------- energy
def test_lasso_objective_matches_its_formula_and_reductions():
    D, x = _problem()
    z = np.random.default_rng(3).standard_normal((4, 50))
    per = 0.5 * np.sum((x - z @ D.T) ** 2, axis=1) + 0.3 * np.abs(z).sum(axis=1)
    np.testing.assert_allclose(lasso_objective(D, x, z, 0.3, reduction="none"), per)
    assert lasso_objective(D, x, z, 0.3) == pytest.approx(per.mean())
    assert lasso_objective(D, x, z, 0.3, reduction="sum") == pytest.approx(per.sum())
    assert lasso_objective(D, x[1], z[1], 0.3) == pytest.approx(per[1])
    t = lasso_objective(torch.from_numpy(D), torch.from_numpy(x), torch.from_numpy(z), 0.3)
    assert isinstance(t, torch.Tensor)
    assert float(t) == pytest.approx(per.mean(), rel=1e-12)


def test_lipschitz_constant_is_the_largest_eigenvalue_of_the_gram_matrix():
    D, _ = _problem()
    L = lipschitz_constant(D)
    assert L == pytest.approx(np.linalg.eigvalsh(D.T @ D).max(), rel=1e-10)
    assert lipschitz_constant(torch.from_numpy(D)) == pytest.approx(L, rel=1e-10)


# ----------------------------------------------------------------------------- solvers
@pytest.mark.parametrize("solver", SOLVERS)
def test_solvers_reach_the_sklearn_lasso_solution(solver):
    D, x = _problem()
    lam = 0.2
    ref = _sklearn_codes(D, x, lam)
    n_iter = 20_000 if solver is ista else 3_000
    z = solver(D, x, lam, n_iter=n_iter)
    f_ours = lasso_objective(D, x, z, lam, reduction="none")
    f_ref = lasso_objective(D, x, ref, lam, reduction="none")
    np.testing.assert_allclose(f_ours, f_ref, rtol=1e-9)
    np.testing.assert_allclose(z, ref, atol=1e-5)


def test_fista_solution_satisfies_the_lasso_optimality_conditions():
    D, x = _problem(seed=4)
    lam = 0.3
    z = fista(D, x, lam, n_iter=5_000)
    corr = (x - z @ D.T) @ D  # D^T (x - D z) for every signal
    support = np.abs(z) > 1e-9
    np.testing.assert_allclose(corr[support], lam * np.sign(z[support]), atol=1e-7)
    assert np.all(np.abs(corr[~support]) <= lam + 1e-7)
    assert 0 < support.sum() < z.size  # the test problem really is sparse and not trivial


@pytest.mark.parametrize("solver", SOLVERS)
def test_rates_stay_below_the_theorem_bounds(solver):
    D, x = _problem(seed=5, n_signals=1)
    lam, L = 0.1, lipschitz_constant(D)
    z_star = fista(D, x, lam, n_iter=20_000)
    f_star = lasso_objective(D, x, z_star, lam)
    r2 = float(np.sum(z_star**2))
    _, hist = solver(D, x, lam, n_iter=300, return_history=True)
    k = np.arange(1, 301)
    gap = hist[1:] - f_star
    bound = L * r2 / (2 * k) if solver is ista else 2 * L * r2 / (k + 1) ** 2
    assert np.all(gap <= bound * (1 + 1e-9) + 1e-12)
    assert gap[-1] < 0.2 * bound[-1]  # not a vacuous comparison: the gap really shrinks


def test_ista_decreases_the_energy_monotonically_and_fista_is_faster():
    D, x = _problem(seed=6)
    _, h_ista = ista(D, x, 0.1, n_iter=200, return_history=True)
    _, h_fista = fista(D, x, 0.1, n_iter=200, return_history=True)
    assert h_ista.shape == (201,) and h_fista.shape == (201,)
    assert h_ista[0] == pytest.approx(0.5 * np.mean(np.sum(x**2, axis=1)))
    assert np.all(np.diff(h_ista) <= 1e-12)
    f_star = lasso_objective(D, x, fista(D, x, 0.1, n_iter=10_000), 0.1)
    assert (h_fista[-1] - f_star) < 0.01 * (h_ista[-1] - f_star)


@pytest.mark.parametrize("solver", SOLVERS)
def test_history_matches_the_objective_of_the_returned_codes(solver):
    D, x = _problem(seed=7)
    for n_iter in (0, 1, 17):
        z, hist = solver(D, x, 0.2, n_iter=n_iter, return_history=True)
        assert hist.shape == (n_iter + 1,)
        assert hist[-1] == pytest.approx(lasso_objective(D, x, z, 0.2), rel=1e-12)


@pytest.mark.parametrize("solver", SOLVERS)
def test_one_iteration_is_a_proximal_gradient_step(solver):
    D, x = _problem(seed=8)
    L = lipschitz_constant(D)
    z1 = solver(D, x, 0.3, n_iter=1)
    expected = soft_threshold(x @ D / L, 0.3 / L)  # from z0 = 0, both methods agree
    np.testing.assert_allclose(z1, expected, atol=1e-12)
    z0 = np.random.default_rng(0).standard_normal((4, 50))
    step = 0.5 / L
    z1 = solver(D, x, 0.3, n_iter=1, step=step, z0=z0)
    expected = soft_threshold(z0 - step * (z0 @ D.T - x) @ D, 0.3 * step)
    np.testing.assert_allclose(z1, expected, atol=1e-12)


def test_fista_second_iterate_uses_momentum():
    D, x = _problem(seed=9)
    L, lam = lipschitz_constant(D), 0.05
    prox = lambda y: soft_threshold(y - (y @ D.T - x) @ D / L, lam / L)  # noqa: E731
    z0 = np.zeros((4, 50))
    z1 = prox(z0)
    t1, t2 = 1.0, (1 + np.sqrt(5)) / 2
    t3 = (1 + np.sqrt(1 + 4 * t2**2)) / 2
    y2 = z1 + (t1 - 1) / t2 * (z1 - z0)
    z2 = prox(y2)
    y3 = z2 + (t2 - 1) / t3 * (z2 - z1)
    z3 = prox(y3)
    np.testing.assert_allclose(fista(D, x, lam, n_iter=3), z3, atol=1e-12)
    assert not np.allclose(ista(D, x, lam, n_iter=3), z3, atol=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_torch_matches_numpy_and_keeps_kind_device_dtype(solver):
    D, x = _problem(seed=10)
    ref, ref_hist = solver(D, x, 0.2, n_iter=50, return_history=True)
    z, hist = solver(torch.from_numpy(D), torch.from_numpy(x), 0.2, n_iter=50, return_history=True)
    assert isinstance(z, torch.Tensor) and z.dtype == torch.float64
    np.testing.assert_allclose(z.numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(hist, ref_hist, rtol=1e-12)
    z32 = solver(torch.from_numpy(D), torch.from_numpy(x).float(), 0.2, n_iter=50)
    assert z32.dtype == torch.float32
    np.testing.assert_allclose(z32.numpy(), ref, atol=1e-4)
    z_np32 = solver(D.astype(np.float32), x.astype(np.float32), 0.2, n_iter=50)
    assert isinstance(z_np32, np.ndarray) and z_np32.dtype == np.float32
    z_one = solver(D, x[2], 0.2, n_iter=50)
    assert z_one.shape == (50,)
    np.testing.assert_allclose(z_one, ref[2], atol=1e-12)


@pytest.mark.parametrize("solver", SOLVERS)
def test_both_gradient_forms_agree(solver):
    """Tall dictionaries use D^T D, wide ones two products; the iterates are the same."""
    rng = np.random.default_rng(11)
    D = rng.standard_normal((10, 40))  # wide: K > 2p, two-product form
    x = rng.standard_normal((3, 10))
    z_wide = solver(D, x, 0.1, n_iter=30)
    D_pad = np.vstack([D, np.zeros((11, 40))])  # p = 21, K <= 2p: Gram form, same problem
    x_pad = np.hstack([x, np.zeros((3, 11))])
    np.testing.assert_allclose(solver(D_pad, x_pad, 0.1, n_iter=30), z_wide, atol=1e-12)


def test_ista_is_differentiable_through_its_iterations():
    D, x = _problem(seed=12, n_features=5, n_atoms=8, n_signals=2)
    Dt = torch.tensor(D, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    step = 0.9 / lipschitz_constant(D)  # keep the step fixed while D moves

    def f(Dv, xv):
        return ista(Dv, xv, 0.1, n_iter=5, step=step).pow(2).sum()

    assert torch.autograd.gradcheck(f, (Dt, xt), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_inputs_are_not_modified(solver):
    D, x = _problem(seed=13)
    z0 = np.ones((4, 50))
    copies = D.copy(), x.copy(), z0.copy()
    solver(D, x, 0.2, n_iter=5, z0=z0)
    for a, b in zip((D, x, z0), copies, strict=True):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- fista(tol)
def _sparse_problem(seed=0, n_features=30, n_atoms=80, n_signals=60, k=4):
    """Signals made of k atoms plus noise (sparse solutions); one in 8 is pure noise."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_features, n_atoms))
    D /= np.linalg.norm(D, axis=0)
    Z = np.zeros((n_signals, n_atoms))
    for row in Z:
        row[rng.choice(n_atoms, k, replace=False)] = rng.standard_normal(k)
    x = Z @ D.T + 0.05 * rng.standard_normal((n_signals, n_features))
    x[n_signals - n_signals // 8 :] = rng.standard_normal((n_signals // 8, n_features))
    return D, x


def _kkt_violation(D, x, z, lam):
    """The largest violation of the Lasso optimality conditions, relative to lam."""
    corr = (x - z @ D.T) @ D  # D^T (x - D z) for every signal
    on = z != 0
    return (
        max(
            np.abs(corr[on] - lam * np.sign(z[on])).max(initial=0.0),
            (np.abs(corr[~on]) - lam).max(initial=0.0),
        )
        / lam
    )


@pytest.mark.parametrize("tol", [1e-6, 1e-10])
def test_fista_tol_matches_sklearn_and_the_optimality_conditions(tol):
    D, x = _sparse_problem()
    lam = 0.1
    ref = _sklearn_codes(D, x, lam)
    z = fista(D, x, lam, n_iter=2_000, tol=tol)
    f_ours = lasso_objective(D, x, z, lam, reduction="none")
    f_ref = lasso_objective(D, x, ref, lam, reduction="none")
    assert np.all(f_ours <= f_ref * (1 + tol) + 1e-15)  # certified: F(z) - F* <= tol F(z)
    np.testing.assert_allclose(z, ref, atol=1e-5)
    # the refined codes are the exact solution: KKT to rounding, exact zeros off the support
    assert _kkt_violation(D, x, z, lam) < 1e-8
    assert 0 < np.count_nonzero(z) < 0.5 * z.size


def test_fista_tol_is_a_certificate_for_a_loose_tolerance():
    """With a loose tol the plain iterates are accepted: each within tol of the optimum."""
    D, x = _sparse_problem(seed=1)
    lam, tol = 0.1, 1e-2
    f_star = lasso_objective(D, x, _sklearn_codes(D, x, lam), lam, reduction="none")
    z = fista(D, x, lam, n_iter=2_000, tol=tol)
    f = lasso_objective(D, x, z, lam, reduction="none")
    assert np.all(f - f_star <= tol * f + 1e-15)
    assert np.any(f - f_star > 1e-6 * f)  # not the exact solution: the gap test did stop it


def test_fista_tol_degenerate_problems():
    D, x = _sparse_problem(seed=2, n_signals=12)
    lam = 0.1
    # a duplicated atom: G_SS is singular, the solution is not unique; the energy still is
    D2 = np.hstack([D, D[:, :1]])
    z = fista(D2, x, lam, n_iter=5_000, tol=1e-6)
    f_star = lasso_objective(D, x, _sklearn_codes(D, x, lam), lam, reduction="none")
    assert np.all(lasso_objective(D2, x, z, lam, reduction="none") <= f_star * (1 + 1e-6))
    # lam above max |D^T x|: the solution is exactly zero; zero signals give zero codes
    big = 1.01 * np.abs(x @ D).max()
    assert np.all(fista(D, x, big, tol=1e-6) == 0)
    x0 = x.copy()
    x0[3] = 0.0
    assert np.all(fista(D, x0, lam, tol=1e-6)[3] == 0)


def test_fista_tol_kinds_shapes_and_warm_start():
    D, x = _sparse_problem(seed=3, n_signals=8)
    lam = 0.1
    ref = _sklearn_codes(D, x, lam)
    z32 = fista(D.astype(np.float32), x.astype(np.float32), lam, tol=1e-6)
    assert z32.dtype == np.float32 and z32.shape == ref.shape
    np.testing.assert_allclose(z32, ref, atol=1e-4)
    z_one = fista(D, x[2], lam, tol=1e-8)
    assert z_one.shape == (80,)
    np.testing.assert_allclose(z_one, ref[2], atol=1e-6)
    z_warm = fista(D, x, lam, n_iter=1_000, tol=1e-8, z0=ref + 0.01)
    np.testing.assert_allclose(z_warm, ref, atol=1e-6)
    assert np.all(fista(D, x, lam, tol=None, n_iter=7) == fista(D, x, lam, n_iter=7))


def test_active_set_refinement_repairs_a_wrong_support():
    """The refinement alone: from the solution with a true atom missing (half of the signals)
    or a spurious one (the others), it must add or drop it and certify the exact solution."""
    ista_module = importlib.import_module("dlcourse.sparse.ista")
    D, x = _sparse_problem(seed=4, n_signals=16)
    x = x[:14]  # the sparse signals (the last two are pure noise, 28 atoms of 30 dimensions)
    lam, n_atoms = 0.1, D.shape[1]
    ref = _sklearn_codes(D, x, lam)
    z0 = ref.copy()
    rows = np.arange(len(x))
    smallest = np.where(ref != 0, np.abs(ref), np.inf).argmin(1)
    half = rows < len(x) // 2
    z0[rows[half], smallest[half]] = 0.0  # a true atom missing: must be added
    corr = (x - ref @ D.T) @ D
    spurious = np.argmax(np.where(ref == 0, np.abs(corr), -np.inf), axis=1)
    r2, s2 = rows[~half], spurious[~half]
    z0[r2, s2] = -0.01 * np.sign(corr[r2, s2])  # a spurious atom, wrong sign: must be dropped
    G = np.eye(2 * n_atoms)
    G[:n_atoms, :n_atoms] = D.T @ D
    out, ok = ista_module._polish(D, G, x, x @ D, lam, z0, 1e-10)
    assert ok.all()
    np.testing.assert_allclose(out, ref, atol=1e-6)
    assert _kkt_violation(D, x, out, lam) < 1e-8


def test_fista_tol_solves_blocks_of_signals_independently(monkeypatch):
    ista_module = importlib.import_module("dlcourse.sparse.ista")
    D, x = _sparse_problem(seed=5, n_signals=23)
    lam = 0.1
    ref = _sklearn_codes(D, x, lam)
    z0 = np.random.default_rng(0).standard_normal(ref.shape) * (ref != 0)
    monkeypatch.setattr(ista_module, "_BLOCK", 5)  # 5 blocks, the last one of 3 signals
    z = fista(D, x, lam, n_iter=2_000, tol=1e-10, z0=z0)
    np.testing.assert_allclose(z, ref, atol=1e-6)


def test_fista_tol_errors():
    D, x = _sparse_problem(n_signals=3)
    with pytest.raises(ValueError, match="'tol'.*> 0"):
        fista(D, x, 0.1, tol=0.0)
    with pytest.raises(ValueError, match="'return_history' and 'tol'"):
        fista(D, x, 0.1, tol=1e-6, return_history=True)
    with pytest.raises(ValueError, match="'tol'.*NumPy"):
        fista(torch.from_numpy(D), torch.from_numpy(x), 0.1, tol=1e-6)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("solver", SOLVERS)
def test_clear_errors(solver):
    D, x = _problem()
    L = lipschitz_constant(D)
    with pytest.raises(ValueError, match="'lam'.*>= 0"):
        solver(D, x, -0.1)
    with pytest.raises(ValueError, match="Shape mismatch.*features"):
        solver(D, x[:, :10], 0.1)
    with pytest.raises(ValueError, match="'D'.*n_features, n_atoms"):
        solver(D[0], x, 0.1)
    with pytest.raises(ValueError, match="at most 1/L"):
        solver(D, x, 0.1, step=1.5 / L)
    with pytest.raises(ValueError, match="'step'.*> 0"):
        solver(D, x, 0.1, step=0.0)
    with pytest.raises(ValueError, match="'z0'.*shape"):
        solver(D, x, 0.1, z0=np.zeros((4, 49)))
    with pytest.raises(ValueError, match="'n_iter'"):
        solver(D, x, 0.1, n_iter=-1)
    with pytest.raises(ValueError, match="NaN"):
        solver(D, np.full_like(x, np.nan), 0.1)
    with pytest.raises(TypeError, match="'x'"):
        solver(D, "signals", 0.1)
    solver(D, x, 0.1, step=1.0 / L, n_iter=1)  # exactly 1/L is allowed


# ----------------------------------------------------------------------------- CUDA
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")
@pytest.mark.parametrize("solver", SOLVERS)
def test_solvers_on_cuda_match_cpu(solver):
    D, x = _problem(seed=14)
    ref = solver(D, x, 0.2, n_iter=40)
    z, hist = solver(
        torch.tensor(D, device="cuda"),
        torch.tensor(x, device="cuda"),
        0.2,
        n_iter=40,
        return_history=True,
    )
    assert z.device.type == "cuda" and hist.shape == (41,)
    np.testing.assert_allclose(z.cpu().numpy(), ref, atol=1e-10)
