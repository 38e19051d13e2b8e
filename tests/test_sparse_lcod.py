"""dlcourse.sparse.lcod: coordinate descent (CoD) for the Lasso and learned CoD (LCoD).

References: scikit-learn's Lasso and our certified FISTA for the minimiser, a brute-force
one-dimensional minimisation for a single CoD step, and CoD itself for an untrained LCoD.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar
from sklearn.linear_model import Lasso

from dlcourse._validation import InvalidParameterError
from dlcourse.sparse import (
    LCoD,
    cod,
    cod_flops,
    fista,
    ista_flops,
    lasso_objective,
    normalize_atoms,
    train_lista,
)


def _problem(seed, p=15, K=30, n=6, unit=True):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((p, K))
    D = normalize_atoms(D) if unit else D * rng.uniform(0.3, 2.0, K)  # any atom norms
    Z = rng.standard_normal((n, K)) * (rng.random((n, K)) < 0.15)
    return D, Z @ D.T + 0.05 * rng.standard_normal((n, p))


@pytest.mark.parametrize("unit", [True, False])
def test_cod_reaches_the_lasso_minimum(unit):
    D, x = _problem(0, unit=unit)
    lam = 0.1
    z, hist = cod(D, x, lam, n_iter=30_000, return_history=True)  # slow on coherent atoms
    assert np.all(np.diff(hist) <= 1e-12 * hist[0])  # exact coordinate steps: monotone
    # scikit-learn: 1/(2 n_rows)||y - X w||^2 + alpha ||w||_1, so alpha = lam / n_features
    ref = Lasso(alpha=lam / D.shape[0], fit_intercept=False, tol=1e-14, max_iter=200_000)
    ref.fit(D, x.T)
    np.testing.assert_allclose(z, ref.coef_, atol=1e-6)
    z_f = fista(D, x, lam, n_iter=20_000, tol=1e-13)
    assert abs(lasso_objective(D, x, z, lam) - lasso_objective(D, x, z_f, lam)) < 1e-10


def test_one_cod_step_is_the_best_coordinate_move_by_brute_force():
    D, x = _problem(1, unit=False, n=1)
    x = x[0]
    lam = 0.2
    rng = np.random.default_rng(1)
    z0 = rng.standard_normal(D.shape[1]) * (rng.random(D.shape[1]) < 0.3)

    def F(z):
        return 0.5 * np.sum((x - D @ z) ** 2) + lam * np.abs(z).sum()

    # every coordinate's exact minimiser, the others fixed, by a bounded scalar search
    best = np.empty(D.shape[1])
    for j in range(D.shape[1]):

        def f(t, j=j):
            z = z0.copy()
            z[j] = t
            return F(z)

        # |z_j| <= (|d_j^T r| + lam) / ||d_j||^2 bounds the minimiser; search around 0 too
        best[j] = minimize_scalar(f, bounds=(-20, 20), method="bounded", options={"xatol": 1e-10}).x
        if f(0.0) <= f(best[j]):  # the kink at 0 is a common minimiser
            best[j] = 0.0
    k = int(np.argmax(np.abs(best - z0)))
    z1 = cod(D, x, lam, n_iter=1, z0=z0)
    expected = z0.copy()
    expected[k] = best[k]
    np.testing.assert_allclose(z1, expected, atol=1e-7)
    assert np.count_nonzero(z1 - z0) == 1


def test_cod_cost_counts_and_torch_round_trip():
    assert cod_flops(32, 64, 1) == 32 * 64 + 3 * 64
    assert ista_flops(32, 64, 2) == 32 * 64 + 2 * (64 * 64 + 64)
    D, x = _problem(2)
    zt = cod(torch.tensor(D), torch.tensor(x), 0.1, n_iter=40)
    assert isinstance(zt, torch.Tensor) and zt.dtype == torch.float64
    np.testing.assert_allclose(zt.numpy(), cod(D, x, 0.1, n_iter=40), atol=1e-14)
    assert cod(D, x[0], 0.1, n_iter=5).shape == (D.shape[1],)


def test_untrained_lcod_is_cod_and_training_helps():
    D, x = _problem(3, n=200)
    Dt, xt = torch.tensor(D), torch.tensor(x)
    for T in (1, 7, 25):
        model = LCoD(Dt, 0.1, n_steps=T)
        with torch.no_grad():
            np.testing.assert_allclose(model(xt).numpy(), cod(D, x, 0.1, n_iter=T), atol=1e-12)
    model = LCoD(Dt, 0.1, n_steps=10)
    z_star = fista(D, x, 0.1, n_iter=5000, tol=1e-12)
    with torch.no_grad():
        before = float(((model(xt) - torch.tensor(z_star)) ** 2).sum(1).mean())
    torch.manual_seed(0)
    train_lista(model, x, z_star, epochs=8, lr=3e-3, batch_size=32)
    with torch.no_grad():
        after = float(((model(xt) - torch.tensor(z_star)) ** 2).sum(1).mean())
    assert after < 0.7 * before, (before, after)


def test_lcod_gradients_reach_every_parameter():
    D, x = _problem(4, n=8)
    model = LCoD(torch.tensor(D), 0.05, n_steps=5)
    model(torch.tensor(x)).pow(2).sum().backward()
    for name, prm in model.named_parameters():
        assert prm.grad is not None and float(prm.grad.abs().sum()) > 0, name


def test_argument_validation():
    D, x = _problem(5)
    with pytest.raises(InvalidParameterError, match="lam"):
        cod(D, x, -1.0)
    with pytest.raises(InvalidParameterError, match="n_iter"):
        cod(D, x, 0.1, n_iter=-1)
    with pytest.raises((InvalidParameterError, ValueError)):
        cod(D, x[:, :4], 0.1)
    with pytest.raises(InvalidParameterError, match="unit-norm"):
        LCoD(torch.tensor(2 * D), 0.1, n_steps=3)
    with pytest.raises(InvalidParameterError, match="n_steps"):
        LCoD(torch.tensor(D), 0.1, n_steps=0)
    with pytest.raises(InvalidParameterError, match="LCoD expects"):
        LCoD(torch.tensor(D), 0.1, n_steps=2)(torch.zeros(3, 4, dtype=torch.float64))
