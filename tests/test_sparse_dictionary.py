"""dlcourse.sparse dictionary learning, natural-image patches, and compressed sensing.

References: a planted dictionary that learning must find, least squares for the atom update,
covariances for whitening, closed-form shapes for the atom statistics, and SciPy's linear
programming for basis pursuit.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from dlcourse.sparse import (
    DictionaryLearning,
    gaussian_measurements,
    learn_dictionary,
    normalize_atoms,
    phase_transition,
    recover,
    recovery_rate,
    sparse_vectors,
)
from dlcourse.sparse.patches import (
    atom_grid,
    atom_orientedness,
    atom_spread,
    image_patches,
    whiten,
)


def _planted(seed=0, p=20, K=8, n=1000, density=0.2):
    rng = np.random.default_rng(seed)
    D_true = normalize_atoms(rng.standard_normal((p, K)))
    Z = rng.standard_normal((n, K)) * (rng.random((n, K)) < density)
    return D_true, Z @ D_true.T


# ----------------------------------------------------------------------------- dictionary
@pytest.mark.parametrize("seed", [1, 2, 3])  # seed 0 would start from D_true itself
@pytest.mark.parametrize("batch_size", [None, 200])
def test_learning_finds_a_planted_dictionary(batch_size, seed):
    D_true, X = _planted()
    # memory=1: codes of the current batch only (long averages slow down small problems)
    D, energy = learn_dictionary(
        X,
        n_atoms=8,
        lam=0.05,
        n_iter=150,
        batch_size=batch_size,
        memory=1,
        seed=seed,
        return_energy=True,
    )
    assert D.shape == (20, 8)
    np.testing.assert_allclose(np.linalg.norm(D, axis=0), 1.0, atol=1e-12)
    match = np.abs(D.T @ D_true).max(axis=0)  # |cosine| of the best learned atom per true atom
    assert match.min() > 0.98, match
    assert energy[-10:].mean() < 0.5 * energy[:10].mean()


def test_atom_update_is_the_exact_least_squares_step():
    rng = np.random.default_rng(1)
    p, K, n = 6, 4, 50
    X = rng.standard_normal((n, p))
    Z = rng.standard_normal((n, K))
    A, B = Z.T @ Z / n, X.T @ Z / n
    D = normalize_atoms(rng.standard_normal((p, K)))
    D_new = DictionaryLearning._update_atoms(D, A, B, X, rng)
    # atom 0 first: with the others fixed, min ||X - D Z^T||^2 over d_0 by least squares
    R = X - Z[:, 1:] @ D[:, 1:].T
    d0, *_ = np.linalg.lstsq(Z[:, :1], R, rcond=None)
    np.testing.assert_allclose(D_new[:, 0], d0[0] / np.linalg.norm(d0[0]), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(D_new, axis=0), 1.0)


def test_dictionary_estimator_api_and_errors():
    _, X = _planted(n=200)
    model = DictionaryLearning(n_atoms=10, lam=0.1, n_iter=5, batch_size=50, seed=0)
    assert model.fit(X) is model
    assert model.dictionary_.shape == (20, 10) and model.energy_.shape == (5,)
    assert model.transform(X[:4]).shape == (4, 10)
    same = DictionaryLearning(n_atoms=10, lam=0.1, n_iter=5, batch_size=50, seed=0).fit(X)
    np.testing.assert_array_equal(same.dictionary_, model.dictionary_)  # deterministic
    assert learn_dictionary(X.astype(np.float32), 10, 0.1, 3).dtype == np.float32
    with pytest.raises(RuntimeError, match="fit"):
        DictionaryLearning(3, 0.1).transform(X)
    with pytest.raises(ValueError, match="n_signals, n_features"):
        learn_dictionary(X[0], 3, 0.1, 2)
    with pytest.raises(ValueError, match="'lam'"):
        learn_dictionary(X, 3, -0.1, 2)
    with pytest.raises(ValueError, match="D0"):
        learn_dictionary(X, 3, 0.1, 2, D0=np.ones((20, 4)))
    with pytest.raises(ValueError, match="n_atoms"):
        learn_dictionary(X, 0, 0.1, 2)


# ----------------------------------------------------------------------------- patches
def test_image_patches_are_real_photograph_patches():
    P = image_patches(8, 500, seed=0)
    assert P.shape == (500, 64) and P.min() >= 0 and P.max() <= 1
    np.testing.assert_array_equal(P, image_patches(8, 500, seed=0))
    assert not np.array_equal(P, image_patches(8, 500, seed=1))
    # neighbouring pixels of natural images are strongly correlated; noise would give ~0
    img = P.reshape(-1, 8, 8)
    corr = np.corrcoef(img[:, :, :-1].ravel(), img[:, :, 1:].ravel())[0, 1]
    assert corr > 0.8


def test_whitening_makes_the_covariance_the_identity_on_zero_mean_patches():
    P = image_patches(6, 5000, seed=0)
    Xw, W = whiten(P, eps=1e-8, return_matrix=True)
    np.testing.assert_allclose(W, W.T, atol=1e-10)
    C = Xw.T @ Xw / len(Xw)
    p = P.shape[1]
    projector = np.eye(p) - np.ones((p, p)) / p  # centred patches lose the mean direction
    np.testing.assert_allclose(C, projector, atol=1e-4)
    np.testing.assert_allclose(Xw.sum(axis=1), 0, atol=1e-8)


def _gabor(size, theta, sigma=1.5, freq=0.25):
    r, c = np.meshgrid(np.arange(size) - size / 2, np.arange(size) - size / 2, indexing="ij")
    u = r * np.cos(theta) + c * np.sin(theta)
    return np.exp(-(r**2 + c**2) / (2 * sigma**2)) * np.cos(2 * np.pi * freq * u)


def test_atom_statistics_tell_gabors_from_noise_and_blobs():
    size = 12
    rng = np.random.default_rng(0)
    noise = normalize_atoms(rng.standard_normal((size * size, 200)))
    gabors = np.stack([_gabor(size, t).ravel() for t in np.linspace(0, np.pi, 8)], axis=1)
    r, c = np.meshgrid(np.arange(size) - 6, np.arange(size) - 6, indexing="ij")
    blob = np.exp(-(r**2 + c**2) / 8.0).ravel()[:, None]
    delta = np.zeros((size * size, 1))
    delta[5 * size + 7] = 1.0
    # spread: a single pixel 0, white noise about size / sqrt(6), Gabors in between
    assert atom_spread(delta)[0] == pytest.approx(0.0, abs=1e-12)
    assert np.median(atom_spread(noise)) == pytest.approx(size / np.sqrt(6), rel=0.05)
    assert atom_spread(gabors).max() < 0.5 * np.median(atom_spread(noise))
    # orientedness: gratings near 1, isotropic blob near 0, noise small
    assert atom_orientedness(gabors).min() > 0.6
    assert atom_orientedness(blob)[0] < 0.05
    assert np.median(atom_orientedness(noise)) < 0.2
    # a vertical and a horizontal bar both count as oriented
    bar = np.zeros((size, size))
    bar[:, 5:7] = 1.0
    assert atom_orientedness(np.stack([bar.ravel(), bar.T.ravel()], 1)).min() > 0.95


def test_atom_grid_tiles_scaled_atoms():
    D = np.arange(2 * 9, dtype=float).reshape(9, 2)
    grid = atom_grid(D, n_cols=2, pad=1)
    assert grid.shape == (5, 9)
    np.testing.assert_allclose(grid[1:4, 1:4], D[:, 0].reshape(3, 3) / D[:, 0].max())
    assert np.abs(grid).max() <= 1
    with pytest.raises(ValueError, match="square"):
        atom_grid(np.ones((10, 2)))


# ----------------------------------------------------------------------------- sensing
def test_measurements_and_sparse_vectors():
    A = gaussian_measurements(200, 300, seed=0)
    assert A.shape == (200, 300)
    assert np.var(A) == pytest.approx(1 / 200, rel=0.02)
    U = sparse_vectors(50, 7, n_signals=30, seed=1)
    np.testing.assert_array_equal((U != 0).sum(axis=1), 7)
    with pytest.raises(ValueError, match="'k'"):
        sparse_vectors(5, 6)


def _basis_pursuit(A, y):
    """min ||u||_1 s.t. A u = y as a linear program in (u+, u-) >= 0."""
    m, n = A.shape
    res = linprog(np.ones(2 * n), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None))
    assert res.status == 0
    return res.x[:n] - res.x[n:]


def test_recovery_matches_basis_pursuit_and_the_truth():
    n, m, k = 80, 35, 6
    A = gaussian_measurements(m, n, seed=3)
    U = sparse_vectors(n, k, n_signals=8, seed=4)
    Y = U @ A.T
    U_hat = recover(A, Y)
    for i in range(8):
        bp = _basis_pursuit(A, Y[i])
        np.testing.assert_allclose(U_hat[i], bp, atol=1e-6)
    np.testing.assert_allclose(U_hat, U, atol=1e-8)
    # scale invariance and one signal at a time
    np.testing.assert_allclose(recover(A, 1e3 * Y[0]), 1e3 * U[0], rtol=1e-7, atol=1e-6)


def test_recovery_fails_with_too_few_measurements():
    assert recovery_rate(n=80, m=10, k=8, n_trials=10, seed=0) == 0.0
    assert recovery_rate(n=80, m=40, k=4, n_trials=10, seed=0) == 1.0


def test_phase_transition_shape_and_corners():
    P = phase_transition(40, deltas=[0.25, 0.9], rhos=[0.1, 0.9], n_trials=6, seed=0)
    assert P.shape == (2, 2)
    assert P[1, 0] == 1.0  # many measurements, very sparse: always recovered
    assert P[0, 1] == 0.0  # few measurements, dense: never
    with pytest.raises(ValueError, match="deltas"):
        phase_transition(40, deltas=[0.0], rhos=[0.5])


def test_recover_errors():
    A = gaussian_measurements(5, 10)
    with pytest.raises(ValueError, match="'y'"):
        recover(A, np.ones(4))
    with pytest.raises(ValueError, match="'lam'"):
        recover(A, np.ones(5), lam=0)


def test_atom_update_minimises_on_the_sphere_and_alternation_is_monotone():
    from dlcourse.sparse import ista, lasso_objective

    rng = np.random.default_rng(7)
    D_true, X = _planted(seed=7, p=10, K=6, n=200)
    D = normalize_atoms(rng.standard_normal((10, 6)))
    Z = np.zeros((200, 6))
    energies = [lasso_objective(D, X, Z, 0.05)]
    for _ in range(15):
        Z = ista(D, X, 0.05, n_iter=10, z0=Z)  # warm-started ISTA: monotone
        energies.append(lasso_objective(D, X, Z, 0.05))
        D_new = DictionaryLearning._update_atoms(D, Z.T @ Z, X.T @ Z, X, rng)
        # atom 0 (updated first) beats every random unit vector in its place
        R0 = X - Z[:, 1:] @ D[:, 1:].T
        cand = normalize_atoms(rng.standard_normal((10, 500)))
        data = 0.5 * ((R0[:, :, None] - Z[:, :1, None] * cand[None]) ** 2).sum(axis=(0, 1))
        best = 0.5 * ((R0 - np.outer(Z[:, 0], D_new[:, 0])) ** 2).sum()
        assert best <= data.min() + 1e-12
        D = D_new
        energies.append(lasso_objective(D, X, Z, 0.05))
    assert np.all(np.diff(energies) <= 1e-12 * energies[0])
    assert energies[-1] < 0.99 * energies[1]  # and it does go down
