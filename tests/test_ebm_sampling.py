"""Tests of Langevin sampling, energy descent and (persistent) contrastive divergence.

References: the exact stationary law of the Langevin chain on a quadratic energy, the closed-form
iterates of gradient descent, and the closed-form gradient of the CD loss.
"""

import math

import numpy as np
import pytest
import torch

from dlcourse.ebm import (
    contrastive_divergence_loss,
    contrastive_divergence_step,
    energy_descent,
    langevin_sample,
    persistent_contrastive_divergence_step,
)


def quadratic(x):
    return 0.5 * (x**2).sum(dim=1)


@pytest.mark.parametrize("step, noise", [(0.1, None), (0.05, 0.2), (0.3, 0.5)])
def test_langevin_stationary_law_on_a_quadratic(step, noise):
    # x' = (1 - step) x + noise * eps is AR(1): stationary N(0, noise^2 / (2 step - step^2))
    g = torch.Generator().manual_seed(0)
    x = langevin_sample(
        quadratic, torch.zeros(10000, 2, dtype=torch.float64), 150, step, noise, seed=g
    )
    sigma = math.sqrt(2 * step) if noise is None else noise
    var = sigma**2 / (2 * step - step**2)
    assert x.mean().item() == pytest.approx(0.0, abs=5 * math.sqrt(var / 20000))
    # the variance of a sample variance of n Gaussians is 2 var^2 / n
    assert x.var().item() == pytest.approx(var, abs=5 * var * math.sqrt(2 / 20000))


def test_zero_noise_is_gradient_descent():
    x0 = torch.tensor([[1.0, -2.0], [3.0, 0.5]], dtype=torch.float64)
    x, path = langevin_sample(quadratic, x0, 7, 0.2, noise=0.0, return_path=True)
    np.testing.assert_allclose(x.numpy(), (0.8**7) * x0.numpy(), rtol=1e-12)
    assert path.shape == (8, 2, 2)
    np.testing.assert_allclose(path[3].numpy(), (0.8**3) * x0.numpy(), rtol=1e-12)
    y = energy_descent(lambda y: ((y - 3.0) ** 2).sum(1), torch.zeros(4, 3), 200, 0.1)
    np.testing.assert_allclose(y.numpy(), 3.0, atol=1e-5)


def test_langevin_leaves_inputs_and_parameters_alone():
    w = torch.nn.Parameter(torch.tensor(2.0))
    x0 = torch.randn(5, 3)
    before = x0.clone()
    x = langevin_sample(lambda x: w * (x**2).sum(1), x0, 5, 0.01)
    assert torch.equal(x0, before)
    assert w.grad is None
    assert not x.requires_grad


def test_seeded_chains_repeat_and_clamp():
    a = langevin_sample(
        quadratic, torch.zeros(3, 2), 10, 0.1, seed=torch.Generator().manual_seed(4)
    )
    b = langevin_sample(
        quadratic, torch.zeros(3, 2), 10, 0.1, seed=torch.Generator().manual_seed(4)
    )
    assert torch.equal(a, b)
    c = langevin_sample(quadratic, torch.zeros(200, 2), 10, 0.5, noise=3.0, clamp=(0.0, 1.0))
    assert c.min() >= 0 and c.max() <= 1


def test_langevin_errors():
    x0 = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="step_size"):
        langevin_sample(quadratic, x0, 5, 0.0)
    with pytest.raises(ValueError, match="noise"):
        langevin_sample(quadratic, x0, 5, 0.1, noise=-1.0)
    with pytest.raises(ValueError, match="n_iter"):
        langevin_sample(quadratic, x0, -1, 0.1)
    with pytest.raises(TypeError, match="x0"):
        langevin_sample(quadratic, np.zeros((3, 2)), 5, 0.1)
    with pytest.raises(ValueError, match="one energy per row"):
        langevin_sample(lambda x: x**2, x0, 1, 0.1)


def test_cd_loss_gradient_is_data_term_minus_sample_term():
    # E_mu(y) = 0.5 ||y - mu||^2: dE/dmu = mu - y, so dL/dmu = mean(mu - x) - mean(mu - neg)
    mu = torch.nn.Parameter(torch.tensor([0.5, -1.0], dtype=torch.float64))

    def energy(y):
        return 0.5 * ((y - mu) ** 2).sum(1)

    x = torch.randn(6, 2, dtype=torch.float64)
    neg = torch.randn(9, 2, dtype=torch.float64)
    contrastive_divergence_loss(energy, x, neg).backward()
    expected = (neg.mean(0) - x.mean(0)).numpy()
    np.testing.assert_allclose(mu.grad.numpy(), expected, rtol=1e-12)


def test_cd_loss_regulariser():
    x, neg = torch.ones(2, 1), torch.zeros(3, 1)
    loss = contrastive_divergence_loss(lambda y: 2 * y.sum(1) + 1, x, neg, alpha=0.5)
    # mean E(x) = 3, mean E(neg) = 1: 3 - 1 + 0.5 * (9 + 1)
    assert loss.item() == pytest.approx(7.0)


@pytest.mark.parametrize("persistent", [False, True])
def test_cd_learns_the_mean_of_a_gaussian(persistent):
    torch.manual_seed(0)
    mu = torch.nn.Parameter(torch.zeros(2))

    def energy(y):
        return 0.5 * ((y - mu) ** 2).sum(1)

    opt = torch.optim.SGD([mu], lr=0.2)
    target = torch.tensor([2.0, -1.0])
    chains = torch.randn(128, 2)
    for _ in range(150):
        data = target + torch.randn(128, 2)
        if persistent:
            step = persistent_contrastive_divergence_step(
                energy, data, chains, opt, n_iter=5, step_size=0.1
            )
            chains = step.negatives
        else:
            step = contrastive_divergence_step(energy, data, opt, n_iter=5, step_size=0.1)
        assert step.negatives.shape == (128, 2) and isinstance(step.loss, float)
    np.testing.assert_allclose(mu.detach().numpy(), target.numpy(), atol=0.25)


def test_cd_step_with_a_custom_sampler_and_errors():
    w = torch.nn.Parameter(torch.tensor([1.0]))
    opt = torch.optim.SGD([w], lr=1.0)
    x = torch.ones(4, 1)
    step = contrastive_divergence_step(
        lambda y: w * y.sum(1), x, opt, sampler=lambda s: torch.zeros_like(s)
    )
    # loss = w * 1 - w * 0; dL/dw = 1, so SGD with lr 1 moves w from 1 to 0
    assert step.loss == pytest.approx(1.0) and w.item() == pytest.approx(0.0)
    with pytest.raises(ValueError, match="chains"):
        persistent_contrastive_divergence_step(lambda y: y.sum(1), x, None, opt)
    with pytest.raises(ValueError, match="chains"):
        contrastive_divergence_step(lambda y: y.sum(1), x, opt, chains=torch.zeros(4, 3))
    with pytest.raises(ValueError, match="alpha"):
        contrastive_divergence_loss(lambda y: y.sum(1), x, x, alpha=-1.0)


def test_renamed_arguments_warn_and_give_the_same_chains():
    """steps/generator (langevin_sample), y0/steps (energy_descent) are deprecated aliases."""
    with pytest.warns(FutureWarning, match="'generator' argument of langevin_sample"):
        old = langevin_sample(
            quadratic, torch.zeros(3, 2), 4, 0.1, generator=torch.Generator().manual_seed(4)
        )
    new = langevin_sample(quadratic, torch.zeros(3, 2), 4, 0.1, seed=4)
    assert torch.equal(old, new)
    with pytest.warns(FutureWarning, match="'steps' argument of energy_descent"):
        with pytest.warns(FutureWarning, match="'y0' argument of energy_descent"):
            y = energy_descent(quadratic, y0=torch.ones(2, 2), steps=3, step_size=0.1)
    assert torch.equal(y, energy_descent(quadratic, x0=torch.ones(2, 2), n_iter=3, step_size=0.1))
