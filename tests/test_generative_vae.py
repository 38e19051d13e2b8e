"""dlcourse.generative: the KL term, the reparameterisation trick, the VAE and its ELBO against
closed forms (torch.distributions, scipy's multivariate normal, probabilistic PCA)."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal
from torch import nn

from dlcourse.generative import (
    VAE,
    gaussian_kl,
    gradient_estimates,
    linear_gaussian_elbo,
    linear_gaussian_log_likelihood,
    linear_gaussian_posterior,
    linear_gaussian_vae,
    reparameterize,
)
from dlcourse.trainer import train

pytestmark = pytest.mark.timeout(120)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


# ---------------------------------------------------------------------------- KL
@pytest.mark.parametrize("device", DEVICES)
def test_gaussian_kl_matches_torch_distributions(device):
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(7, 5), torch.ones(7, 5))
    ref = torch.distributions.kl_divergence(q, p).sum(1)
    got = gaussian_kl(mu.to(device), logvar.to(device))
    assert got.shape == (7,) and got.device.type == device
    torch.testing.assert_close(got.cpu(), ref, rtol=1e-5, atol=1e-6)


def test_gaussian_kl_matches_monte_carlo_and_is_zero_only_at_the_prior():
    mu = torch.tensor([[0.7, -1.2]], dtype=torch.float64)
    logvar = torch.tensor([[-0.5, 0.8]], dtype=torch.float64)
    z = reparameterize(mu.expand(400_000, 2), logvar.expand(400_000, 2), seed=1)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    mc = (q.log_prob(z) - torch.distributions.Normal(0.0, 1.0).log_prob(z)).sum(1).mean()
    assert float(gaussian_kl(mu, logvar)[0]) == pytest.approx(float(mc), abs=0.01)
    assert float(gaussian_kl(torch.zeros(3), torch.zeros(3))) == 0.0
    assert float(gaussian_kl(torch.zeros(3), torch.full((3,), 0.1))) > 0


def test_gaussian_kl_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="'mu' and 'logvar' must have the same shape"):
        gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="'mu' argument of gaussian_kl must be a 1-D or 2-D"):
        gaussian_kl(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4))


# ---------------------------------------------------------------------------- reparameterisation
@pytest.mark.parametrize("device", DEVICES)
def test_reparameterize_distribution_gradient_and_seed(device):
    mu = torch.full((200_000,), 1.5, device=device, requires_grad=True)
    logvar = torch.full((200_000,), math.log(0.25), device=device, requires_grad=True)
    state = torch.random.get_rng_state()
    z = reparameterize(mu, logvar, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is not touched
    assert z.device.type == device
    assert float(z.detach().mean()) == pytest.approx(1.5, abs=0.01)
    assert float(z.detach().std()) == pytest.approx(0.5, abs=0.01)
    z.sum().backward()
    eps = (z.detach() - 1.5) / 0.5
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))  # dz/dmu = 1
    torch.testing.assert_close(logvar.grad, 0.5 * 0.5 * eps, rtol=1e-4, atol=1e-5)
    assert torch.equal(reparameterize(mu, logvar, seed=3), z)
    assert not torch.equal(reparameterize(mu, logvar, seed=4), z)


def test_both_gradient_estimators_are_unbiased_and_reparam_has_less_variance():
    f = lambda z: torch.sin(z).sum(1) + (z**2).sum(1)  # noqa: E731
    mu = torch.tensor([0.3, -0.8], dtype=torch.float64)
    logvar = torch.tensor([0.0, -1.0], dtype=torch.float64)
    sigma2 = logvar.exp()
    exact = torch.cos(mu) * torch.exp(-sigma2 / 2) + 2 * mu  # d/dmu E[sin z + z^2]
    r, s = gradient_estimates(f, mu, logvar, 400_000, seed=0)
    torch.testing.assert_close(r.mean(0), exact, atol=5e-3, rtol=0)
    torch.testing.assert_close(s.mean(0), exact, atol=3e-2, rtol=0)
    assert bool((s.var(0) > 5 * r.var(0)).all())


# ---------------------------------------------------------------------------- linear Gaussian
def _random_model(p=5, d=2, seed=0, orthogonal=False):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((p, d))
    if orthogonal:
        q, _ = np.linalg.qr(W)
        W = q * np.array([2.0, 0.7])[:d]
    return torch.tensor(W), torch.tensor(rng.standard_normal(p)), 0.3


def test_linear_gaussian_log_likelihood_matches_scipy():
    W, b, v = _random_model()
    x = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    C = (W @ W.T).numpy() + v * np.eye(5)
    ref = multivariate_normal(b.numpy(), C).logpdf(x.numpy())
    np.testing.assert_allclose(linear_gaussian_log_likelihood(x, W, b, v).numpy(), ref)


def test_linear_gaussian_posterior_is_bayes_rule():
    # the conditional of the joint Gaussian (z, x):
    # mean S_zx S_xx^-1 (x - b), covariance I - S_zx S_xx^-1 S_xz
    W, b, v = _random_model()
    x = torch.randn(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    S_xx = (W @ W.T).numpy() + v * np.eye(5)
    S_zx = W.T.numpy()
    K = S_zx @ np.linalg.inv(S_xx)
    m, c = linear_gaussian_posterior(x, W, b, v)
    np.testing.assert_allclose(m.numpy(), (x.numpy() - b.numpy()) @ K.T, atol=1e-12)
    np.testing.assert_allclose(c.numpy(), np.eye(2) - K @ S_zx.T, atol=1e-12)


def test_elbo_is_below_log_likelihood_with_equality_at_the_exact_posterior():
    x = torch.randn(8, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    for orthogonal in (True, False):
        W, b, v = _random_model(orthogonal=orthogonal)
        exact = linear_gaussian_log_likelihood(x, W, b, v)
        m, c = linear_gaussian_posterior(x, W, b, v)
        logvar = torch.log(torch.diagonal(c)).expand(8, 2)
        best = linear_gaussian_elbo(x, W, b, v, m, logvar)
        if orthogonal:  # diagonal posterior: the bound is tight
            torch.testing.assert_close(best, exact, rtol=0, atol=1e-10)
        else:  # the diagonal q misses the posterior correlation: a strict gap
            assert bool((best < exact - 1e-6).all())
        for shift in (0.1, 1.0):  # any other q is worse
            worse = linear_gaussian_elbo(x, W, b, v, m + shift, logvar - shift)
            assert bool((worse < best).all())


def test_vae_elbo_estimates_the_closed_form():
    W, b, v = _random_model(orthogonal=False, seed=5)
    x = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    vae = linear_gaussian_vae(W, b, v)
    mu, logvar = vae.encode(x)
    exact = linear_gaussian_elbo(x, W, b, v, mu, logvar)
    est = vae.elbo(x, n_samples=200_000, seed=0)
    torch.testing.assert_close(est, exact, rtol=0, atol=0.01)
    assert bool((exact < linear_gaussian_log_likelihood(x, W, b, v)).all())


# ---------------------------------------------------------------------------- VAE
def _mlp_vae(p=12, d=2, seed=0):
    torch.manual_seed(seed)
    enc = nn.Sequential(nn.Linear(p, 16), nn.Tanh(), nn.Linear(16, 2 * d))
    dec = nn.Sequential(nn.Linear(d, 16), nn.Tanh(), nn.Linear(16, p))
    return VAE(enc, dec, d)


def test_bernoulli_likelihood_matches_torch_distributions():
    vae = _mlp_vae()
    x = torch.rand(5, 12, generator=torch.Generator().manual_seed(0)).round()
    z = torch.randn(5, 2)
    ref = torch.distributions.Bernoulli(logits=vae.decoder(z)).log_prob(x).sum(1)
    torch.testing.assert_close(vae.log_likelihood(x, z), ref)


def test_vae_trains_with_the_trainer_and_leaves_mode_and_inputs_alone():
    vae = _mlp_vae()
    g = torch.Generator().manual_seed(0)
    protos = torch.rand(3, 12, generator=g).round()
    x = protos[torch.randint(0, 3, (300,), generator=g)]
    x_copy = x.clone()
    before = float(vae.elbo(x, n_samples=20, seed=0).mean())
    train(vae, (x, x), loss_fn=lambda nelbo, _: nelbo.mean(), epochs=30, lr=1e-2, progress=False)
    after = float(vae.elbo(x, n_samples=20, seed=0).mean())
    assert after > before + 2.0
    assert torch.equal(x, x_copy)
    vae.eval()
    s = vae.sample(7, seed=1)
    assert s.shape == (7, 12) and not vae.training and not s.requires_grad
    assert bool(((s >= 0) & (s <= 1)).all())
    assert torch.equal(vae.sample(7, seed=1), s)


def test_vae_errors_are_clear():
    vae = VAE(nn.Linear(4, 3), nn.Linear(2, 4), 2)
    with pytest.raises(ValueError, match=r"shape \(n, 2 \* latent_dim\) = \(n, 4\)"):
        vae.elbo(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="'likelihood' argument of VAE must be one of"):
        VAE(nn.Linear(4, 4), nn.Linear(2, 4), 2, likelihood="poisson")
    with pytest.raises(ValueError, match="'n_samples' argument .* an integer >= 1"):
        _mlp_vae().elbo(torch.zeros(2, 12), n_samples=0)
    vae = VAE(nn.Linear(4, 4), nn.Linear(2, 5), 2)
    with pytest.raises(ValueError, match="decoder's output must have the shape of 'x'"):
        vae.elbo(torch.zeros(2, 4))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")
def test_vae_on_cuda_matches_cpu():
    vae = _mlp_vae()
    x = torch.rand(6, 12, generator=torch.Generator().manual_seed(0)).round()
    cpu = vae.elbo(x, n_samples=3, seed=0)
    gpu_vae = _mlp_vae().cuda()
    mu_c, lv_c = vae.encode(x)
    mu_g, lv_g = gpu_vae.encode(x.cuda())
    torch.testing.assert_close(mu_g.cpu(), mu_c, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(lv_g.cpu(), lv_c, rtol=1e-4, atol=1e-5)
    gpu = gpu_vae.elbo(x.cuda(), n_samples=3, seed=0)
    assert gpu.device.type == "cuda" and gpu.shape == cpu.shape
    assert gpu_vae.sample(4, seed=0).device.type == "cuda"
