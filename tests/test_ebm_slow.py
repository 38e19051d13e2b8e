"""Tests of dlcourse.ebm.SlowFeatureAnalysis against scipy's generalised eigensolver and a
synthetic signal whose slow source is known."""

import numpy as np
import pytest
import scipy.linalg
import torch

from dlcourse.ebm import SlowFeatureAnalysis


def mixed_sources(n_seq=3, T=400, d=5, seed=0):
    """Sequences that mix one slow sine, faster sines and white noise through a random matrix."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, T)
    seqs, slow = [], []
    for _ in range(n_seq):
        phase = rng.uniform(0, 2 * np.pi)
        s = np.stack(
            [np.sin(t + phase)]  # the slow source: one period per sequence
            + [np.sin(f * t + rng.uniform(0, 6)) for f in (11, 23, 41)]
            + [rng.standard_normal(T) for _ in range(d - 4)],
            axis=1,
        )
        seqs.append(s)
        slow.append(s[:, 0])
    A = rng.standard_normal((d, d)) + 2 * np.eye(d)
    return np.stack(seqs) @ A, np.stack(slow)


def reference_sfa(x):
    """Brute force: the generalised eigenproblem Cdot w = lambda C w solved by scipy."""
    frames = x.reshape(-1, x.shape[-1])
    C = np.cov(frames.T, bias=True)
    dx = np.diff(x, axis=1).reshape(-1, x.shape[-1])
    Cdot = dx.T @ dx / len(dx)
    lam, W = scipy.linalg.eigh(Cdot, C)  # W^T C W = I, increasing lambda
    return lam, W


def test_matches_the_generalised_eigenproblem():
    x, _ = mixed_sources()
    sfa = SlowFeatureAnalysis().fit(x)
    lam, W = reference_sfa(x)
    np.testing.assert_allclose(sfa.delta_, lam, rtol=1e-8, atol=1e-12)
    # the same directions up to sign (the eigenvalues are distinct)
    for j in range(W.shape[1]):
        w, ref = sfa.components_[:, j], W[:, j]
        sign = np.sign(w @ ref)
        np.testing.assert_allclose(w, sign * ref, rtol=1e-6, atol=1e-8)


def test_constraints_and_slowness_of_the_features():
    x, _ = mixed_sources()
    sfa = SlowFeatureAnalysis().fit(x)
    y = sfa.transform(x)  # (n_seq, T, d)
    frames = y.reshape(-1, y.shape[-1])
    np.testing.assert_allclose(frames.mean(0), 0, atol=1e-10)
    np.testing.assert_allclose(frames.T @ frames / len(frames), np.eye(5), atol=1e-9)
    measured = (np.diff(y, axis=1) ** 2).reshape(-1, 5).mean(0)
    np.testing.assert_allclose(measured, sfa.delta_, rtol=1e-9)  # Delta(y_j) = lambda_j
    assert np.all(np.diff(sfa.delta_) > 0)


def test_recovers_the_known_slow_source():
    x, slow = mixed_sources()
    y = SlowFeatureAnalysis(1).fit(x).transform(x)[..., 0]
    corr = np.corrcoef(y.ravel(), slow.ravel())[0, 1]
    assert abs(corr) > 0.999
    # and no direction of the input alone is that slow: the mixture hides it
    raw = x / x.reshape(-1, 5).std(0)
    raw_delta = (np.diff(raw, axis=1) ** 2).reshape(-1, 5).mean(0)
    assert raw_delta.min() > 20 * SlowFeatureAnalysis(1).fit(x).delta_[0]


def test_any_other_unit_variance_feature_is_faster():
    # the property SFA optimises: among unit-variance linear features, the first is slowest
    x, _ = mixed_sources(seed=1)
    sfa = SlowFeatureAnalysis().fit(x)
    frames = x.reshape(-1, 5) - sfa.mean_
    rng = np.random.default_rng(0)
    for _ in range(200):
        w = rng.standard_normal(5)
        w /= np.sqrt(np.mean((frames @ w) ** 2))
        slowness = np.mean((np.diff(x @ w, axis=1)) ** 2)
        assert slowness >= sfa.delta_[0] * (1 - 1e-9)


def test_differences_do_not_cross_sequence_boundaries():
    x, _ = mixed_sources()
    split = SlowFeatureAnalysis().fit(x)
    # concatenating the sequences adds two differences across boundaries: a different answer
    joined = SlowFeatureAnalysis().fit(x.reshape(-1, 5))
    assert not np.allclose(split.delta_, joined.delta_, rtol=1e-6)
    # a single 2-D sequence is the same as a batch of one
    one = SlowFeatureAnalysis().fit(x[0])
    np.testing.assert_allclose(one.delta_, SlowFeatureAnalysis().fit(x[:1]).delta_)


def test_rank_deficient_data_n_pca_and_invariance_to_affine_maps():
    x, _ = mixed_sources()
    rng = np.random.default_rng(3)
    B = rng.standard_normal((5, 12))  # 12 features, rank 5: directions of zero variance
    wide = x @ B + rng.standard_normal(12)
    sfa = SlowFeatureAnalysis().fit(wide)
    assert sfa.whitening_.shape == (12, 5)
    np.testing.assert_allclose(sfa.delta_, SlowFeatureAnalysis().fit(x).delta_, rtol=1e-6)
    y_wide = np.abs(sfa.transform(wide))
    y = np.abs(SlowFeatureAnalysis().fit(x).transform(x))
    np.testing.assert_allclose(y_wide, y, rtol=1e-5, atol=1e-6)  # SFA ignores invertible maps
    reduced = SlowFeatureAnalysis(2, n_pca=3).fit(x)
    assert reduced.whitening_.shape == (5, 3) and reduced.components_.shape == (5, 2)


def test_tensor_input_and_deterministic_signs():
    x, _ = mixed_sources()
    a = SlowFeatureAnalysis(2).fit(x)
    b = SlowFeatureAnalysis(2).fit(torch.from_numpy(x))
    np.testing.assert_allclose(a.components_, b.components_)
    rows = np.abs(a.components_).argmax(0)
    assert np.all(a.components_[rows, [0, 1]] > 0)
    assert a.transform(x[0, :3]).shape == (3, 2)


@pytest.mark.parametrize(
    ("kwargs", "x", "match"),
    [
        ({"n_components": 0}, np.ones((3, 10, 2)), "'n_components' argument.* an integer >= 1"),
        ({"n_pca": 1.5}, np.ones((3, 10, 2)), "'n_pca' argument.* an integer >= 1"),
        ({"tol": 1.0}, np.ones((3, 10, 2)), r"'tol' argument.* a real number in \[0, 1\)"),
        ({}, np.ones((3, 1, 2)), "'x' argument.* at least 2 frames"),
        ({}, np.ones(5), "'x' argument.* 2-D or 3-D"),
        ({}, np.ones((3, 10, 2)), "no variance"),
        ({"n_components": 3}, np.random.default_rng(0).random((2, 10, 2)), "at most"),
    ],
)
def test_errors(kwargs, x, match):
    with pytest.raises(ValueError, match=match):
        SlowFeatureAnalysis(**kwargs).fit(x)


def test_transform_errors():
    with pytest.raises(ValueError, match="not fitted"):
        SlowFeatureAnalysis().transform(np.ones((2, 3)))
    sfa = SlowFeatureAnalysis().fit(np.random.default_rng(0).random((2, 10, 3)))
    with pytest.raises(ValueError, match="3 features"):
        sfa.transform(np.ones((4, 2)))
