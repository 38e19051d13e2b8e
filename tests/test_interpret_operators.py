"""Finite-difference library, exact advection-diffusion, and sparse operator recovery."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Lasso

from dlcourse.interpret import (
    TERMS,
    advection_diffusion,
    finite_difference_library,
    random_fields,
    sparse_operator_fit,
)

pytestmark = pytest.mark.timeout(120)

N_X = 64
X = np.linspace(0, 2 * np.pi, N_X, endpoint=False)
DX = X[1] - X[0]


def test_library_columns_against_exact_derivatives():
    u = np.sin(2 * X) + 0.5 * np.cos(X)
    lib = finite_difference_library(u, DX, terms=TERMS)
    exact = {
        "1": np.ones_like(X),
        "u": u,
        "u_x": 2 * np.cos(2 * X) - 0.5 * np.sin(X),
        "u_xx": -4 * np.sin(2 * X) - 0.5 * np.cos(X),
        "u_xxx": -8 * np.cos(2 * X) + 0.5 * np.sin(X),
        "u_xxxx": 16 * np.sin(2 * X) + 0.5 * np.cos(X),
    }
    exact["u^2"] = u**2
    exact["u u_x"] = u * exact["u_x"]
    exact["u u_xx"] = u * exact["u_xx"]
    for j, name in enumerate(TERMS):
        # second order: the error of the k = 2 mode is about (k dx)^2 / 6 ~ 1 % (more for u_xxxx)
        scale = np.abs(exact[name]).max()
        assert np.abs(lib[:, j] - exact[name]).max() < 0.03 * scale, name


def test_library_is_second_order():
    errs = []
    for n in (32, 64, 128):
        x = np.linspace(0, 2 * np.pi, n, endpoint=False)
        lib = finite_difference_library(np.sin(x), x[1] - x[0], terms=("u_x", "u_xx"))
        errs.append(np.abs(lib[:, 0] - np.cos(x)).max())
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.allclose(rates, 2.0, atol=0.05)


def test_library_batches_and_does_not_mutate():
    u = random_fields(5, N_X, seed=1)
    u0 = u.copy()
    lib = finite_difference_library(u, DX, terms=("u", "u_xx"))
    assert lib.shape == (5, N_X, 2)
    assert np.array_equal(u, u0)
    assert np.allclose(lib[3], finite_difference_library(u[3], DX, terms=("u", "u_xx")))


def test_advection_diffusion_exact_solution():
    u0 = np.sin(X) + np.cos(3 * X)
    a, nu, dt = 0.7, 0.05, 0.1
    traj = advection_diffusion(u0, a, nu, dt, 5)
    t = 5 * dt
    want = np.exp(-nu * t) * np.sin(X + a * t) + np.exp(-9 * nu * t) * np.cos(3 * (X + a * t))
    assert traj.shape == (6, N_X) and np.allclose(traj[-1], want)
    # batched fields evolve independently
    fields = random_fields(3, N_X, seed=0)
    tr = advection_diffusion(fields, a, nu, dt, 2)
    assert tr.shape == (3, 3, N_X) and np.allclose(
        tr[2, 1], advection_diffusion(fields[1], a, nu, dt, 2)[2]
    )


def test_exact_recovery_from_an_euler_scheme_with_the_same_stencils():
    u = random_fields(20, N_X, n_modes=4, seed=2)
    lib = finite_difference_library(u, DX)
    ut = -0.8 * lib[..., TERMS.index("u_x")] + 0.3 * lib[..., TERMS.index("u_xx")]
    coef = sparse_operator_fit(lib, ut, lam=0.01)
    want = np.zeros(len(TERMS))
    want[TERMS.index("u_x")], want[TERMS.index("u_xx")] = -0.8, 0.3
    assert np.allclose(coef, want, atol=1e-8)


def test_lasso_part_matches_scikit_learn_without_debiasing():
    rng = np.random.default_rng(0)
    u = random_fields(10, N_X, seed=3)
    lib = finite_difference_library(u, DX, terms=("1", "u", "u_x", "u_xx", "u u_x"))
    ut = 0.5 * lib[..., 2] + 0.2 * lib[..., 3] + 0.05 * rng.standard_normal(lib.shape[:-1])
    theta = lib.reshape(-1, 5)
    t = ut.reshape(-1)
    scale = np.linalg.norm(theta, axis=0)
    lam = 0.02
    lam_abs = lam * np.abs((theta / scale).T @ t).max()
    ref = Lasso(alpha=lam_abs / len(t), fit_intercept=False, tol=1e-12, max_iter=100_000)
    ref.fit(theta / scale, t)
    ours = sparse_operator_fit(lib, ut, lam=lam, debias=False, n_iter=20_000)
    assert np.allclose(ours, ref.coef_ / scale, atol=1e-6)


def test_recovery_of_advection_diffusion_from_a_learned_linear_map():
    a, nu, dt = 1.0, 0.1, 1e-3
    train = random_fields(200, N_X, n_modes=3, seed=4)
    pairs = advection_diffusion(train, a, nu, dt, 1)
    W, *_ = np.linalg.lstsq(pairs[0], pairs[1], rcond=None)  # u(t + dt) ~ u(t) @ W
    test = random_fields(30, N_X, n_modes=3, seed=5)
    ut = (test @ W - test) / dt
    coef = sparse_operator_fit(finite_difference_library(test, DX), ut, lam=0.02)
    support = {TERMS[j] for j in np.flatnonzero(coef)}
    assert support == {"u_x", "u_xx"}
    assert abs(coef[TERMS.index("u_x")] - a) < 0.02
    assert abs(coef[TERMS.index("u_xx")] - nu) < 0.01


def test_errors():
    with pytest.raises(ValueError, match="'terms' argument"):
        finite_difference_library(np.zeros(10), 0.1, terms=("u_t",))
    with pytest.raises(ValueError, match="'dx' argument"):
        finite_difference_library(np.zeros(10), 0.0)
    with pytest.raises(ValueError, match="one row of terms per entry"):
        sparse_operator_fit(np.ones((10, 3)), np.ones(9))
    with pytest.raises(ValueError, match="'lam' argument"):
        sparse_operator_fit(np.ones((10, 3)), np.ones(10), lam=2.0)
    with pytest.raises(ValueError, match="zero everywhere"):
        sparse_operator_fit(np.zeros((10, 3)), np.ones(10))
