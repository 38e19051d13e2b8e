"""Activation maximization: closed forms for linear units, monotone ascent, priors, bookkeeping."""

from __future__ import annotations

import pytest
import torch

from dlcourse.interpret import GAPNet, activation_maximization, gaussian_blur

pytestmark = pytest.mark.timeout(120)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def linear_net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3)).double()


def test_linear_unit_without_clamp_follows_the_closed_form():
    # f = w.x + b, R = 1/2 ||x - m||^2 with clamp=None: x_{t+1} = x_t + lr (w - lam (x_t - m)),
    # which converges to m + w / lam
    net = linear_net()
    w = net[1].weight[1].detach().reshape(1, 4, 4)
    x0 = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    x = activation_maximization(
        net, 1, n_iter=400, lr=0.1, reg="l2", lam=0.5, x0=x0, clamp=None, shape=None
    )
    assert torch.allclose(x[0], w / 0.5, atol=1e-8)
    # one step by hand
    x1 = activation_maximization(net, 1, n_iter=1, lr=0.3, reg=None, x0=x0, clamp=None)
    assert torch.allclose(x1[0], 0.3 * w)


def test_linear_unit_with_clamp_goes_to_the_corner_sign_w():
    net = linear_net(1)
    w = net[1].weight.detach()
    x = activation_maximization(net, [0, 1, 2], n_iter=100, lr=50.0, reg=None, shape=(1, 4, 4))
    assert torch.equal(x.reshape(3, 16), (w > 0).to(x.dtype))


@pytest.mark.parametrize("dev", DEVICES)
@pytest.mark.parametrize("reg", [None, "l2", "blur", ("l2", "blur", "jitter")])
def test_ascent_raises_every_unit(dev, reg):
    torch.manual_seed(0)
    net = GAPNet().to(dev)
    x, hist = activation_maximization(
        net, [0, 3, 7], n_iter=30, lr=5.0, reg=reg, lam=0.01, seed=0, return_history=True
    )
    assert x.shape == (3, 1, 28, 28) and x.device.type == dev
    assert hist.shape == (31, 3)
    assert bool((hist[-1] > hist[0]).all())
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    with torch.no_grad():
        z = net(x)
    assert torch.allclose(z[[0, 1, 2], [0, 3, 7]], hist[-1], atol=1e-5)


def test_without_regulariser_the_unit_value_never_decreases_for_a_linear_model():
    net = linear_net(2)
    _, hist = activation_maximization(
        net, 0, n_iter=50, lr=0.05, reg=None, shape=(1, 4, 4), return_history=True
    )
    assert bool((hist[1:] >= hist[:-1] - 1e-12).all())


def test_hidden_channel_through_a_layer_hook():
    torch.manual_seed(0)
    net = GAPNet()
    layer = net.features[3]  # second convolution, 16 channels
    x, hist = activation_maximization(
        net, [1, 5], n_iter=30, lr=5.0, reg=None, layer=layer, seed=0, return_history=True
    )
    with torch.no_grad():
        h = net.features[:4](x).mean((2, 3))
    assert torch.allclose(h[[0, 1], [1, 5]], hist[-1], atol=1e-5)
    assert bool((hist[-1] > hist[0]).all())
    assert not layer._forward_hooks  # the hook is removed


def test_deterministic_and_model_unchanged():
    net = GAPNet()
    net.train()
    before = [p.detach().clone() for p in net.parameters()]
    rng_state = torch.random.get_rng_state()
    a = activation_maximization(net, 2, n_iter=5, reg=("jitter", "l2"), seed=3)
    b = activation_maximization(net, 2, n_iter=5, reg=("jitter", "l2"), seed=3)
    assert torch.equal(a, b)
    assert torch.equal(rng_state, torch.random.get_rng_state())
    assert net.training and all(p.grad is None and p.requires_grad for p in net.parameters())
    assert all(torch.equal(p, q) for p, q in zip(before, net.parameters(), strict=True))


def test_gaussian_blur_against_scipy():
    from scipy.ndimage import gaussian_filter

    torch.manual_seed(0)
    x = torch.rand(2, 1, 15, 15, dtype=torch.float64)
    got = gaussian_blur(x, 1.0)
    want = gaussian_filter(x.numpy(), sigma=(0, 0, 1.0, 1.0), mode="mirror", truncate=3.0)
    assert torch.allclose(got, torch.from_numpy(want), atol=1e-3)
    assert torch.allclose(got.sum((2, 3)), x.sum((2, 3)), rtol=0.02)


def test_errors():
    net = GAPNet()
    with pytest.raises(ValueError, match="'reg' argument"):
        activation_maximization(net, 0, reg="tv")
    with pytest.raises(ValueError, match="'unit' argument"):
        activation_maximization(net, -1)
    with pytest.raises(ValueError, match="'unit' argument.*below the number of units"):
        activation_maximization(net, 10, n_iter=1)
    with pytest.raises(ValueError, match="'lr' argument"):
        activation_maximization(net, 0, lr=0)
    with pytest.raises(ValueError, match="'layer' argument"):
        activation_maximization(net, 0, layer=torch.nn.ReLU())
