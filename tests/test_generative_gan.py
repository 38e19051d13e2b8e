"""dlcourse.generative: GAN and EBGAN losses against torch's binary cross-entropy and brute force,
the optimal discriminator and the Jensen-Shannon value on 1-D Gaussians, the ring of Gaussians,
mode coverage, the training loop and the naive-Bayes learning curves."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import norm
from torch import nn

from dlcourse.generative import (
    ebgan_losses,
    gan_losses,
    jensen_shannon,
    learning_curves,
    mixture_of_gaussians,
    mode_coverage,
    naive_bayes_data,
    optimal_discriminator,
    ring_centers,
    train_gan,
)

pytestmark = pytest.mark.timeout(180)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


# ---------------------------------------------------------------------------- GAN losses
@pytest.mark.parametrize("device", DEVICES)
def test_gan_losses_match_binary_cross_entropy(device):
    g = torch.Generator().manual_seed(0)
    d_real, d_fake = 3 * torch.randn(20, generator=g), 3 * torch.randn(30, 1, generator=g)
    d_real, d_fake = d_real.to(device), d_fake.to(device)
    bce = F.binary_cross_entropy_with_logits
    ref_d = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
    for kind, ref_g in [
        ("non_saturating", bce(d_fake, torch.ones_like(d_fake))),
        ("saturating", -bce(d_fake, torch.zeros_like(d_fake))),
    ]:
        loss_d, loss_g = gan_losses(d_real, d_fake, kind=kind)
        assert loss_d.device.type == device
        torch.testing.assert_close(loss_d, ref_d)
        torch.testing.assert_close(loss_g, ref_g)


def test_gan_losses_are_finite_at_extreme_logits_where_the_naive_formula_is_not():
    d_real = torch.tensor([100.0, -100.0], requires_grad=True)
    d_fake = torch.tensor([-100.0, 100.0], requires_grad=True)
    naive = -(torch.log(torch.sigmoid(d_real)).mean() + torch.log(1 - torch.sigmoid(d_fake)).mean())
    assert not math.isfinite(float(naive.detach()))
    loss_d, loss_g = gan_losses(d_real, d_fake)
    assert float(loss_d) == pytest.approx(100.0) and float(loss_g) == pytest.approx(50.0)
    (loss_d + loss_g).backward()
    assert torch.isfinite(d_real.grad).all() and torch.isfinite(d_fake.grad).all()


def test_saturating_loss_has_a_vanishing_gradient_when_the_discriminator_wins():
    d_fake = torch.full((10,), -8.0, requires_grad=True)  # D(G(z)) = sigmoid(-8) ~ 3e-4
    grads = {}
    for kind in ("saturating", "non_saturating"):
        (grad,) = torch.autograd.grad(gan_losses(torch.zeros(10), d_fake, kind)[1], d_fake)
        grads[kind] = grad.abs().sum().item()
    assert grads["saturating"] == pytest.approx(torch.sigmoid(torch.tensor(-8.0)).item(), rel=1e-4)
    assert grads["non_saturating"] == pytest.approx(1 - torch.sigmoid(torch.tensor(-8.0)).item())
    assert grads["non_saturating"] > 1000 * grads["saturating"]


def test_gan_losses_errors():
    with pytest.raises(ValueError, match="'kind' argument of gan_losses must be one of"):
        gan_losses(torch.zeros(3), torch.zeros(3), kind="wasserstein")
    with pytest.raises(ValueError, match=r"'d_fake' argument .* shape \(n,\) or \(n, 1\)"):
        gan_losses(torch.zeros(3), torch.zeros(3, 2))


# ---------------------------------------------------------------------------- D* and JS
def test_optimal_discriminator_attains_log4_minus_2js_on_gaussians():
    x = np.linspace(-12, 14, 200_001)
    dx = x[1] - x[0]
    p, q = norm(0, 1).pdf(x), norm(2, 1.5).pdf(x)
    d_star = optimal_discriminator(p, q)
    np.testing.assert_allclose(d_star, p / (p + q), rtol=1e-12)

    def loss(d):  # the discriminator's BCE, as integrals
        d = np.clip(d, 1e-300, 1 - 1e-16)
        return -(np.sum(p * np.log(d)) + np.sum(q * np.log(1 - d))) * dx

    js = jensen_shannon(p, q, dx)
    assert 0 < js < math.log(2)
    assert loss(d_star) == pytest.approx(math.log(4) - 2 * js, abs=1e-6)
    for other in (np.full_like(x, 0.5), np.clip(d_star + 0.05, 0, 1), d_star**1.2):
        assert loss(other) > loss(d_star)
    assert jensen_shannon(p, p, dx) == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------------------- EBGAN
def test_ebgan_losses_brute_force_and_gradient_stops_beyond_the_margin():
    e_real = torch.tensor([0.2, 0.4, 1.0])
    e_fake = torch.tensor([0.5, 2.5, 4.0], requires_grad=True)
    loss_e, loss_g = ebgan_losses(e_real, e_fake, margin=3.0)
    assert float(loss_e) == pytest.approx(np.mean([0.2, 0.4, 1.0]) + np.mean([2.5, 0.5, 0.0]))
    assert float(loss_g) == pytest.approx(7.0 / 3)
    (grad,) = torch.autograd.grad(loss_e, e_fake)
    torch.testing.assert_close(grad, torch.tensor([-1 / 3, -1 / 3, 0.0]))
    with pytest.raises(
        ValueError, match="'margin' argument of ebgan_losses must be a real number >= 0"
    ):
        ebgan_losses(e_real, e_fake, margin=-1.0)


# ---------------------------------------------------------------------------- mixture and coverage
def test_mixture_statistics_and_determinism():
    x, labels = mixture_of_gaussians(40_000, k=8, radius=2.0, std=0.1, seed=0, return_labels=True)
    c = ring_centers(8, 2.0)
    assert x.shape == (40_000, 2) and x.dtype == torch.float32
    assert torch.equal(x, mixture_of_gaussians(40_000, 8, 2.0, 0.1, seed=0))
    for j in range(8):
        sel = x[labels == j]
        assert abs(len(sel) / 40_000 - 1 / 8) < 0.01
        torch.testing.assert_close(sel.mean(0), c[j], atol=0.01, rtol=0)
        assert float(sel.std(0).mean()) == pytest.approx(0.1, rel=0.05)


def test_mode_coverage_matches_brute_force():
    rng = np.random.default_rng(0)
    centers = ring_centers(8, 2.0).numpy()
    samples = np.concatenate([centers[[0, 0, 2, 5]] + 0.05, rng.uniform(-3, 3, (50, 2))])
    r = 0.3
    counts = [0] * 8
    good = 0
    for s in samples:
        d = [np.linalg.norm(s - c) for c in centers]
        j = int(np.argmin(d))
        if d[j] <= r:
            counts[j] += 1
            good += 1
    cov = mode_coverage(samples, centers, r)
    assert cov.counts == counts
    assert cov.n_covered == sum(c >= 1 for c in counts)
    assert cov.quality == pytest.approx(good / len(samples))
    assert mode_coverage(samples, centers, r, min_count=2).n_covered == sum(c >= 2 for c in counts)
    with pytest.raises(ValueError, match=r"'centers' argument .* shape \(k, 2\)"):
        mode_coverage(samples, np.zeros((8, 3)), r)
    with pytest.raises(ValueError, match="'radius' argument .* > 0"):
        mode_coverage(samples, centers, 0.0)


# ---------------------------------------------------------------------------- training
def test_train_gan_learns_a_one_dimensional_gaussian_and_is_reproducible():
    def run():
        torch.manual_seed(0)
        G = nn.Linear(1, 1)
        D = nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Linear(16, 1))
        x = 3.0 + 0.5 * torch.randn(512, 1, generator=torch.Generator().manual_seed(1))
        h = train_gan(
            G,
            D,
            x,
            latent_dim=1,
            n_iter=600,
            lr=0.01,
            seed=0,
            record_every=200,
            callback=lambda g: float(g(torch.zeros(1, 1))),
        )
        return G, h

    G, h = run()
    with torch.no_grad():
        fake = G(torch.randn(4000, 1, generator=torch.Generator().manual_seed(2)))
    assert float(fake.mean()) == pytest.approx(3.0, abs=0.3)
    assert [it for it, _ in h.records] == [1, 200, 400, 600]
    assert len(h.loss_d) == len(h.loss_g) == 600
    assert run()[1].loss_g == h.loss_g


def test_train_gan_errors():
    with pytest.raises(ValueError, match="'kind' argument of train_gan must be one of"):
        train_gan(
            nn.Linear(1, 1), nn.Linear(1, 1), torch.zeros(4, 1), latent_dim=1, n_iter=1, kind="wgan"
        )
    with pytest.raises(ValueError, match="'generator' argument of train_gan must be a torch"):
        train_gan(lambda z: z, nn.Linear(1, 1), torch.zeros(4, 1), latent_dim=1, n_iter=1)


# ---------------------------------------------------------------------------- NB vs logistic
def test_learning_curves_against_direct_sklearn_fits():
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import BernoulliNB

    x, y = naive_bayes_data(600, n_features=20, seed=1)
    xt, yt = naive_bayes_data(400, n_features=20, seed=2)
    c = learning_curves(x, y, xt, yt, [600], n_repeats=1)  # the full set: no randomness left
    assert c["naive_bayes"][0] == pytest.approx(BernoulliNB().fit(x, y).score(xt, yt))
    assert c["logistic"][0] == pytest.approx(
        LogisticRegression(max_iter=300).fit(x, y).score(xt, yt)
    )
    with pytest.raises(ValueError, match="'sizes' argument of learning_curves"):
        learning_curves(x, y, xt, yt, [1])


def test_naive_bayes_data_has_the_stated_conditionals():
    x, y = naive_bayes_data(50_000, n_features=4, n_copies=3, delta=0.1, copy_delta=0.3, seed=0)
    assert x.shape == (50_000, 7)
    np.testing.assert_allclose(x[y == 1, :4].mean(0), 0.6, atol=0.01)
    np.testing.assert_allclose(x[y == 0, :4].mean(0), 0.4, atol=0.01)
    assert x[y == 1, 4].mean() == pytest.approx(0.8, abs=0.01)
    assert (x[:, 4:] == x[:, [4]]).all()
