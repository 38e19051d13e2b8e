"""Saliency and SmoothGrad against closed forms, finite differences and a brute-force average."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.interpret import saliency, smoothgrad

pytestmark = pytest.mark.timeout(120)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def small_net(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(16, 12), torch.nn.Tanh(), torch.nn.Linear(12, 3)
    )
    return net.to(dtype)


@pytest.mark.parametrize("dev", DEVICES)
def test_linear_model_saliency_is_the_weight_row(dev):
    torch.manual_seed(0)
    lin = torch.nn.Linear(7, 4).to(dev)
    x = torch.randn(5, 7, device=dev)
    for c in range(4):
        s = saliency(lin, x, target=c)
        assert s.device.type == dev and s.dtype == x.dtype
        assert torch.allclose(s, lin.weight[c].detach().expand(5, 7))
    # per-input targets, and the absolute value
    t = torch.tensor([0, 3, 1, 1, 2], device=dev)
    s = saliency(lin, x, target=t, absolute=True)
    assert torch.allclose(s, lin.weight[t].detach().abs())


def test_saliency_matches_finite_differences():
    net = small_net()
    x = torch.rand(3, 1, 4, 4, dtype=torch.float64)
    s = saliency(net, x, target=2)
    eps = 1e-6
    fd = torch.zeros_like(x)
    flat = x.reshape(3, -1)
    for i in range(16):
        e = torch.zeros_like(flat)
        e[:, i] = eps
        with torch.no_grad():
            up = net((flat + e).reshape(x.shape))[:, 2]
            down = net((flat - e).reshape(x.shape))[:, 2]
        fd.reshape(3, -1)[:, i] = (up - down) / (2 * eps)
    assert torch.allclose(s, fd, atol=1e-8)


def test_default_target_is_the_prediction():
    net = small_net()
    x = torch.rand(6, 1, 4, 4, dtype=torch.float64)
    with torch.no_grad():
        pred = net(x).argmax(1)
    assert torch.equal(saliency(net, x), saliency(net, x, target=pred))


def test_model_and_input_left_unchanged():
    net = small_net()
    net.train()
    net[1].weight.requires_grad_(False)
    before = [p.detach().clone() for p in net.parameters()]
    x = torch.rand(2, 1, 4, 4, dtype=torch.float64)
    x_copy = x.clone()
    smoothgrad(net, x, 1, n_samples=3)
    saliency(net, x, 0)
    assert net.training and not net[1].weight.requires_grad and net[3].weight.requires_grad
    assert all(p.grad is None for p in net.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    assert torch.equal(x, x_copy) and not x.requires_grad


def test_smoothgrad_is_the_average_of_noisy_saliencies():
    net = small_net()
    x = torch.rand(2, 1, 4, 4, dtype=torch.float64)
    got = smoothgrad(net, x, target=1, sigma=0.2, n_samples=7, seed=3)
    gen = torch.Generator().manual_seed(3)
    want = (
        sum(
            saliency(net, x + 0.2 * torch.randn(x.shape, generator=gen, dtype=x.dtype), 1)
            for _ in range(7)
        )
        / 7
    )
    assert torch.allclose(got, want, atol=1e-12)
    # sigma = 0 gives the plain saliency; the same seed gives the same result
    assert torch.allclose(smoothgrad(net, x, 1, sigma=0.0, n_samples=2), saliency(net, x, 1))
    assert torch.equal(smoothgrad(net, x, 1, seed=5), smoothgrad(net, x, 1, seed=5))


def test_smoothgrad_of_a_linear_model_is_its_weight():
    lin = torch.nn.Linear(5, 3).double()
    x = torch.randn(4, 5, dtype=torch.float64)
    s = smoothgrad(lin, x, 2, sigma=1.0, n_samples=4)
    assert torch.allclose(s, lin.weight[2].detach().expand(4, 5))


def test_smoothgrad_reduces_variance_of_a_relu_net():
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(10, 200), torch.nn.ReLU(), torch.nn.Linear(200, 1))
    x = torch.randn(1, 10)
    # saliency at nearby points jumps between linear regions; SmoothGrad averages it out
    near = torch.stack([saliency(net, x + 0.05 * torch.randn(1, 10), 0)[0] for _ in range(20)])
    smooth = torch.stack(
        [smoothgrad(net, x + 0.05 * torch.randn(1, 10), 0, sigma=0.5, seed=s)[0] for s in range(20)]
    )
    assert float(smooth.var(0).sum()) < float(near.var(0).sum())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"x": np.zeros((2, 3), dtype=np.int64)}, "'x' argument.*floating-point"),
        ({"target": 7}, "'target' argument.*class indices in 0..2"),
        ({"target": [0, 1, 2]}, "'target'.*one class per input"),
        ({"target": 0.5}, "'target' argument"),
    ],
)
def test_errors(kwargs, match):
    lin = torch.nn.Linear(3, 3)
    args = {"x": torch.zeros(2, 3), "target": None, **kwargs}
    with pytest.raises(ValueError, match=match):
        saliency(lin, args["x"], args["target"])


def test_smoothgrad_errors():
    lin = torch.nn.Linear(3, 3)
    with pytest.raises(ValueError, match="'n_samples' argument.*integer >= 1"):
        smoothgrad(lin, torch.zeros(2, 3), n_samples=0)
    with pytest.raises(ValueError, match="'sigma' argument"):
        smoothgrad(lin, torch.zeros(2, 3), sigma=-1)
