"""Class activation maps: the decomposition identity, a brute-force reference, and errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlcourse.interpret import GAPNet, cam_parts, class_activation_map

pytestmark = pytest.mark.timeout(120)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("dev", DEVICES)
def test_cam_mean_plus_bias_is_the_logit(dev):
    torch.manual_seed(0)
    net = GAPNet().to(dev).double()
    x = torch.rand(6, 1, 28, 28, device=dev, dtype=torch.float64)
    with torch.no_grad():
        z = net(x)
    for c in range(10):
        cam = class_activation_map(net, x, target=c)
        assert cam.shape == (6, 7, 7) and cam.device.type == dev
        assert torch.allclose(cam.mean((1, 2)) + net.head.bias[c], z[:, c], atol=1e-12)


def test_cam_against_an_explicit_sum_over_channels():
    torch.manual_seed(1)
    net = GAPNet(channels=(4, 6, 5))
    x = torch.rand(3, 1, 20, 20)
    with torch.no_grad():
        f = net.features(x)  # (3, 5, 5, 5)
    t = torch.tensor([2, 0, 9])
    want = torch.zeros(3, *f.shape[2:])
    for n in range(3):
        for k in range(f.shape[1]):
            want[n] += net.head.weight[t[n], k].detach() * f[n, k]
    got = class_activation_map(net, x, target=t)
    assert torch.allclose(got, want, atol=1e-6)
    # predicted class by default, and the logits returned agree with the model
    cam, z = class_activation_map(net, x, return_logits=True)
    with torch.no_grad():
        assert torch.allclose(z, net(x), atol=1e-6)
    assert torch.allclose(cam, class_activation_map(net, x, target=z.argmax(1)))


def test_cam_sums_to_the_logit_differences():
    # M_c - M_d has mean S_c - S_d - (b_c - b_d): the map of a class comparison
    torch.manual_seed(2)
    net = GAPNet()
    x = torch.rand(2, 1, 28, 28)
    cam3, z = class_activation_map(net, x, 3, return_logits=True)
    cam5 = class_activation_map(net, x, 5)
    b = net.head.bias.detach()
    assert torch.allclose((cam3 - cam5).mean((1, 2)), z[:, 3] - z[:, 5] - (b[3] - b[5]), atol=1e-5)


def test_upsampled_cam_has_the_image_size_and_keeps_the_mean_roughly():
    torch.manual_seed(3)
    net = GAPNet()
    x = torch.rand(2, 1, 28, 28)
    small = class_activation_map(net, x, 1)
    big = class_activation_map(net, x, 1, size=(28, 28))
    assert big.shape == (2, 28, 28)
    assert torch.allclose(big.mean((1, 2)), small.mean((1, 2)), rtol=0.05, atol=1e-3)


def test_other_gap_models_are_accepted():
    torch.manual_seed(4)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU())
            self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 4))

        def forward(self, x):
            return self.classifier(self.features(x))

    net = Net()
    x = torch.rand(2, 1, 10, 10)
    cam, z = class_activation_map(net, x, 2, return_logits=True)
    assert cam.shape == (2, 8, 8)
    assert torch.allclose(cam.mean((1, 2)) + net.classifier[2].bias[2], net(x)[:, 2], atol=1e-6)
    assert cam_parts(net)[1] is net.classifier[2]


def test_model_mode_and_input_unchanged():
    net = GAPNet()
    net.train()
    x = torch.rand(2, 1, 28, 28)
    x0 = x.clone()
    class_activation_map(net, x, 0)
    assert net.training and torch.equal(x, x0)
    assert all(p.requires_grad and p.grad is None for p in net.parameters())


def test_errors():
    lenet_like = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with pytest.raises(ValueError, match="'features' module"):
        class_activation_map(lenet_like, torch.rand(1, 1, 28, 28))
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\)"):
        class_activation_map(GAPNet(), torch.rand(2, 28, 28))
    with pytest.raises(ValueError, match="'target' argument.*0..9"):
        class_activation_map(GAPNet(), torch.rand(2, 1, 28, 28), target=10)
