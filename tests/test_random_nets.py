"""dlcourse.random_nets: random layers, angle map, mean width, sign embedding, inversion.

References: Gauss-Hermite quadrature of the ReLU correlation (independent of the closed form),
Monte Carlo with its standard error, closed forms of the mean width (unit ball, {+-u}, 1-sparse
vectors), brute-force loops, and the explicit sign(Au) codes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import gammaln

from dlcourse.random_nets import (
    angular_distances,
    embedding_delta,
    empirical_angle,
    gaussian_layer,
    gaussian_mixture,
    mean_width,
    psi,
    relu_angle,
    relu_cosine,
    relu_inverse,
    relu_sq_distance,
    sparse_maximizers,
)

pytestmark = pytest.mark.timeout(120)
CUDA = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")),
]


# ----------------------------------------------------------------------------- layers
def test_gaussian_layer_shape_variance_seed_and_global_rng_untouched():
    state = torch.random.get_rng_state()
    a = gaussian_layer(50, 400, seed=3)
    assert torch.equal(state, torch.random.get_rng_state())
    b = gaussian_layer(50, 400, seed=3)
    assert a.bias is None and a.weight.shape == (400, 50)
    assert torch.equal(a.weight, b.weight)
    w = a.weight.detach().double()
    # variance 1/m: the sample variance of 20,000 entries is within 5 standard errors
    se = math.sqrt(2 / w.numel()) / 400
    assert abs(float(w.var()) - 1 / 400) < 5 * se
    # E||Au||^2 = ||u||^2
    u = torch.randn(200, 50, generator=torch.Generator().manual_seed(0))
    ratio = (a(u).detach().norm(dim=1) ** 2 / u.norm(dim=1) ** 2).mean()
    assert abs(float(ratio) - 1) < 0.05


def test_gaussian_layer_errors():
    with pytest.raises(ValueError, match="'n_out' argument.* an integer >= 1"):
        gaussian_layer(3, 0)
    with pytest.raises(ValueError, match="'n_in' argument"):
        gaussian_layer(2.5, 3)


@pytest.mark.parametrize("device", CUDA)
def test_relu_inverse_recovers_inputs_of_a_wide_layer(device):
    layer = gaussian_layer(30, 120, seed=1).to(device)
    u = torch.randn(5, 30, generator=torch.Generator().manual_seed(2)).to(device)
    y = torch.relu(layer(u)).detach()
    y_before = y.clone()
    u_hat = relu_inverse(y, layer)
    assert u_hat.device == y.device and u_hat.dtype == y.dtype
    assert torch.allclose(u_hat, u, atol=1e-4)
    assert torch.equal(y, y_before)
    # NumPy in, NumPy out, one signal
    W = layer.weight.detach().cpu().numpy().astype(np.float64)
    u1 = u[0].cpu().numpy().astype(np.float64)
    np.testing.assert_allclose(relu_inverse(np.maximum(W @ u1, 0), W), u1, atol=1e-8)


def test_relu_inverse_fails_when_too_narrow_and_checks_shapes():
    W = gaussian_layer(30, 20, seed=0).weight.detach().numpy().astype(np.float64)
    u = np.random.default_rng(0).standard_normal(30)
    assert np.linalg.norm(relu_inverse(np.maximum(W @ u, 0), W) - u) > 0.5
    with pytest.raises(ValueError, match="must match"):
        relu_inverse(np.ones(7), W)
    with pytest.raises(ValueError, match=">= 0"):
        relu_inverse(-np.ones(20), W)


# ----------------------------------------------------------------------------- angles
def _quadrature_relu_cosine(alpha, n_nodes=200):
    """E[relu(X) relu(Y)] / E[relu(X)^2] for standard normals with correlation cos(alpha),
    by Gauss-Hermite quadrature in two independent coordinates (no closed form used)."""
    t, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / w.sum()
    X = t[:, None]
    Y = math.cos(alpha) * t[:, None] + math.sin(alpha) * t[None, :]
    num = np.sum(w[:, None] * w[None, :] * np.maximum(X, 0) * np.maximum(Y, 0))
    return num / np.sum(w * np.maximum(t, 0) ** 2)


def test_relu_cosine_matches_quadrature_of_the_gaussian_integral():
    a = np.linspace(0, np.pi, 13)
    want = np.array([_quadrature_relu_cosine(x) for x in a])
    np.testing.assert_allclose(relu_cosine(a), want, atol=2e-3)
    np.testing.assert_allclose(relu_cosine(a), np.cos(a) + psi(a), atol=1e-15)


def test_relu_angle_properties():
    a = np.linspace(0, np.pi, 101)
    beta = relu_angle(a)
    assert beta.shape == a.shape
    assert np.all(beta <= a + 1e-12)  # angles shrink
    assert np.all(np.diff(beta) > 0)  # and keep their order
    assert beta[-1] == pytest.approx(np.pi / 2)
    assert np.all(psi(a) >= -1e-15)
    assert relu_angle(np.pi / 3).shape == ()
    with pytest.raises(ValueError, match="'a' argument.* angles in \\[0, pi\\]"):
        relu_angle([4.0])


def test_empirical_angle_converges_to_the_closed_form_and_spread_shrinks_with_width():
    a = np.linspace(0.2, np.pi, 8)
    mean, std = empirical_angle(a, n_in=20, n_out=4000, n_trials=30, seed=0)
    se = std / np.sqrt(30)
    assert np.all(np.abs(mean - relu_angle(a)) < 5 * se + 2e-3)
    _, std_small = empirical_angle(a, n_in=20, n_out=250, n_trials=30, seed=1)
    ratio = np.mean(std_small / std)  # spread ~ 1/sqrt(m): sqrt(4000/250) = 4
    assert 2.5 < ratio < 6
    cos_mean, _ = empirical_angle(a, n_in=20, n_out=4000, n_trials=30, seed=0, what="cosine")
    np.testing.assert_allclose(cos_mean, relu_cosine(a), atol=0.01)


def test_relu_sq_distance_by_monte_carlo():
    rng = np.random.default_rng(0)
    n, m = 10, 20000
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    for alpha in (0.3, 1.5, 2.8):
        u = np.eye(n)[0]
        v = math.cos(alpha) * u + math.sin(alpha) * np.eye(n)[1]
        got = np.sum((np.maximum(A @ u, 0) - np.maximum(A @ v, 0)) ** 2)
        assert got == pytest.approx(float(relu_sq_distance(alpha)), rel=0.03)
        assert float(relu_sq_distance(alpha)) == pytest.approx(
            np.sum((u - v) ** 2) / 2 - float(psi(alpha))
        )


# ----------------------------------------------------------------------------- mean width
def test_mean_width_closed_forms():
    n = 30
    e_norm = math.sqrt(2) * math.exp(gammaln((n + 1) / 2) - gammaln(n / 2))  # E||g||
    w_ball = mean_width(lambda G: sparse_maximizers(G, n), 4000, seed=0, n_features=n)
    assert w_ball == pytest.approx(2 * e_norm, rel=0.01)
    u = np.zeros(n)
    u[:3] = [1.0, 2.0, 2.0]  # ||u|| = 3; K = {u, -u}: w = E|<2u, g>| = 6 sqrt(2/pi)
    w_pair = mean_width(np.stack([u, -u]), 20000, seed=1)
    assert w_pair == pytest.approx(6 * math.sqrt(2 / math.pi), rel=0.02)


def test_mean_width_callable_equals_finite_set_for_one_sparse_vectors():
    n = 25
    points = np.vstack([np.eye(n), -np.eye(n)])  # the 1-sparse unit vectors
    w_fn = mean_width(lambda G: sparse_maximizers(G, 1), 500, seed=4, n_features=n)
    assert w_fn == pytest.approx(mean_width(points, 500, seed=4), rel=1e-12)


def test_sparse_maximizers_by_brute_force():
    rng = np.random.default_rng(0)
    G = rng.standard_normal((4, 8))
    U = sparse_maximizers(G, 3)
    from itertools import combinations

    for g, u in zip(G, U, strict=True):
        best = max(np.linalg.norm(g[list(s)]) for s in combinations(range(8), 3))
        assert u @ g == pytest.approx(best)
        assert np.count_nonzero(u) == 3 and np.linalg.norm(u) == pytest.approx(1)


def test_mean_width_scalings():
    n = 1000
    ks = np.array([2, 4, 8, 16, 32])
    w2 = [
        mean_width(lambda G, k=k: sparse_maximizers(G, k), 300, seed=0, n_features=n) ** 2
        for k in ks
    ]
    slope = np.polyfit(np.log(ks * np.log(n / ks)), np.log(w2), 1)[0]
    assert 0.8 < slope < 1.2
    w2g = [mean_width(gaussian_mixture(200, k, 3, 1000, seed=k), 300, seed=0) ** 2 for k in ks]
    slope_g = np.polyfit(np.log(ks), np.log(w2g), 1)[0]
    assert 0.8 < slope_g < 1.2


def test_mean_width_errors():
    with pytest.raises(ValueError, match="n_features"):
        mean_width(lambda G: G, 10)
    with pytest.raises(ValueError, match="one point per direction"):
        mean_width(lambda G: G[:1], 10, n_features=3)
    with pytest.raises(ValueError, match="'n_dirs' argument.* an integer >= 1"):
        mean_width(np.eye(3), 0)
    with pytest.raises(ValueError, match="'k' argument"):
        sparse_maximizers(np.ones((2, 3)), 4)


# ----------------------------------------------------------------------------- embedding
def test_angular_distances_and_embedding_delta_by_brute_force():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 6))
    d = angular_distances(x)
    for i in range(12):
        for j in range(12):
            c = x[i] @ x[j] / np.linalg.norm(x[i]) / np.linalg.norm(x[j])
            assert d[i, j] == pytest.approx(math.acos(min(1.0, max(-1.0, c))) / math.pi, abs=1e-7)
    m = 200
    A = np.random.default_rng(5).standard_normal((6, m))  # what sign_hash(seed=5) draws
    H = x @ A >= 0
    brute = max(abs(np.sum(H[i] != H[j]) / m - d[i, j]) for i in range(12) for j in range(12))
    assert embedding_delta(x, m, seed=5) == pytest.approx(brute, abs=1e-12)


def test_embedding_delta_shrinks_with_m():
    x = np.random.default_rng(1).standard_normal((40, 20))
    deltas = [np.mean([embedding_delta(x, m, seed=s) for s in range(5)]) for m in (50, 800)]
    assert deltas[1] < deltas[0] / 2.5  # about m^(-1/2): a factor 4
