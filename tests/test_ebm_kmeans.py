"""Tests of dlcourse.ebm.KMeansEBM against scikit-learn's KMeans and the energy's definition."""

import math

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from dlcourse.ebm import KMeansEBM


@pytest.fixture
def blobs():
    y, _ = make_blobs(n_samples=300, centers=4, cluster_std=0.8, random_state=0)
    return y


def test_same_start_same_result_as_sklearn(blobs):
    init = blobs[[0, 50, 100, 150]]
    ours = KMeansEBM(4, init=init, n_iter=300, tol=0).fit(blobs)
    ref = KMeans(4, init=init, n_init=1, max_iter=300, tol=0, algorithm="lloyd").fit(blobs)
    order = np.lexsort(ours.prototypes_.T)
    ref_order = np.lexsort(ref.cluster_centers_.T)
    np.testing.assert_allclose(ours.prototypes_[order], ref.cluster_centers_[ref_order], atol=1e-10)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-10)
    # the same partition (labels up to renaming)
    pairs = set(zip(ours.predict(blobs), ref.predict(blobs), strict=True))
    assert len(pairs) == 4


def test_restarts_find_the_global_optimum_of_separated_blobs(blobs):
    ours = KMeansEBM(4, n_init=4, seed=1).fit(blobs)
    ref = KMeans(4, n_init=10, random_state=0).fit(blobs)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)


def test_energy_is_the_definition_with_one_hot_codes(blobs):
    model = KMeansEBM(4, seed=0).fit(blobs)
    W = model.W_
    assert W.shape == (2, 4)
    y = blobs[:20]
    by_definition = np.array(
        [[np.sum((yi - W @ z) ** 2) for z in np.eye(4)] for yi in y]
    )  # E(y, z) = ||y - W z||^2 for every one-hot z
    np.testing.assert_allclose(model.latent_energies(y), by_definition, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.energy(y), by_definition.min(axis=1), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(model.predict(y), by_definition.argmin(axis=1))
    z = model.infer(y)
    assert z.shape == (20, 4) and np.all(z.sum(axis=1) == 1)
    np.testing.assert_allclose(model.decode(z), W.T[by_definition.argmin(axis=1)])
    assert model.inertia_ == pytest.approx(model.energy(blobs).sum(), rel=1e-9)


def test_energy_is_zero_at_prototypes_and_quadratic_away(blobs):
    model = KMeansEBM(4, seed=0).fit(blobs)
    np.testing.assert_allclose(model.energy(model.prototypes_), 0.0, atol=1e-9)
    far = model.prototypes_[0] + np.array([100.0, 0.0])
    assert model.energy(far[None])[0] > 90.0**2


def test_free_energy_tends_to_energy(blobs):
    model = KMeansEBM(4, seed=0).fit(blobs)
    y = blobs[:10]
    values = [model.free_energy(y, b) for b in [0.1, 1.0, 10.0, 1e4]]
    for lo, hi in zip(values, values[1:], strict=False):
        assert np.all(lo <= hi + 1e-12)
    np.testing.assert_allclose(values[-1], model.energy(y), atol=math.log(4) / 1e4)
    np.testing.assert_allclose(model.free_energy(y), model.energy(y))


def test_lloyd_never_increases_the_energy(blobs):
    init = blobs[:4]
    start = KMeansEBM(4, init=init, n_iter=1).fit(blobs)
    previous = np.inf
    for it in [1, 2, 3, 5, 10]:
        model = KMeansEBM(4, init=init, n_iter=it, tol=0).fit(blobs)
        assert model.inertia_ <= previous + 1e-9
        previous = model.inertia_
    assert previous < start.inertia_ or start.n_iter_ == 1


def test_seeded_and_one_cluster_is_the_mean(blobs):
    a = KMeansEBM(3, seed=5).fit(blobs).prototypes_
    b = KMeansEBM(3, seed=5).fit(blobs).prototypes_
    np.testing.assert_array_equal(a, b)
    one = KMeansEBM(1).fit(blobs)
    np.testing.assert_allclose(one.prototypes_[0], blobs.mean(axis=0))
    assert one.inertia_ == pytest.approx(((blobs - blobs.mean(0)) ** 2).sum())


def test_errors(blobs):
    with pytest.raises(RuntimeError, match="fit"):
        KMeansEBM(2).energy(blobs)
    with pytest.raises(ValueError, match="n_clusters"):
        KMeansEBM(0).fit(blobs)
    with pytest.raises(ValueError, match="at least"):
        KMeansEBM(5).fit(blobs[:3])
    model = KMeansEBM(2).fit(blobs)
    with pytest.raises(ValueError, match="2 features"):
        model.energy(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="inf or NaN"):
        KMeansEBM(2).fit(np.array([[0.0, np.nan], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="init"):
        KMeansEBM(3, init=blobs[:2]).fit(blobs)
    with pytest.raises(ValueError, match="beta"):
        model.free_energy(blobs, beta=0.0)
