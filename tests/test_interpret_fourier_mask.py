"""Fourier filtering against the basis images of dlcourse.attacks.fourier, and mask search."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.attacks import fourier_basis
from dlcourse.interpret import fourier_filter, fourier_mask

pytestmark = pytest.mark.timeout(120)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("dev", DEVICES)
def test_filtering_a_basis_image_multiplies_it_by_the_symmetrised_mask(dev):
    rng = np.random.default_rng(0)
    mask = torch.as_tensor(rng.uniform(size=(8, 8)), device=dev)
    for u, v in [(4, 5), (2, 7), (6, 1), (0, 0), (4, 4)]:
        basis = torch.as_tensor(fourier_basis(8, u, v), device=dev)
        mu, mv = (8 - u) % 8, (8 - v) % 8  # the mirror frequency (-f_u, -f_v) in this layout
        factor = 0.5 * (mask[u, v] + mask[mu, mv])
        got = fourier_filter(basis[None, None], mask)[0, 0]
        assert got.device.type == dev
        assert torch.allclose(got, factor * basis, atol=1e-12), (u, v)


def test_filter_is_numpy_fft_and_linear():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(3, 1, 10, 12))
    mask = rng.uniform(size=(10, 12))
    want = np.fft.ifft2(
        np.fft.ifftshift(np.fft.fftshift(np.fft.fft2(x), axes=(-2, -1)) * mask, axes=(-2, -1))
    ).real
    got = fourier_filter(torch.from_numpy(x), torch.from_numpy(mask))
    assert np.allclose(got.numpy(), want)
    xt = torch.from_numpy(x)
    assert torch.allclose(
        fourier_filter(2 * xt + 1, mask),
        2 * fourier_filter(xt, mask) + fourier_filter(torch.ones_like(xt), mask),
    )


def test_mask_keeps_the_frequency_a_linear_model_reads():
    # a linear "network" that reads only the frequency (3, 1) from the centre: its loss depends
    # on the image only through that frequency, so the sparsest mask keeps it and drops the rest
    h = w = 12
    u, v = h // 2 + 3, w // 2 + 1
    basis = torch.as_tensor(fourier_basis(h, u, v), dtype=torch.float32)
    head = torch.nn.Linear(1, 2)
    with torch.no_grad():
        head.weight[:] = torch.tensor([[4.0], [-4.0]])
        head.bias.zero_()

    class Net(torch.nn.Module):
        def forward(self, x):
            return head((x[:, 0] * basis).sum((1, 2))[:, None])

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, h, w, generator=gen) + torch.randn(64, 1, 1, 1, generator=gen) * basis
    net = Net()
    mask, hist = fourier_mask(net, x, lam=2.0, n_iter=300, lr=0.05, return_history=True)
    mirror = mask[(2 * (h // 2) - u) % h, (2 * (w // 2) - v) % w]
    kept = float(mask[u, v] + mirror) / 2
    others = mask.clone()
    others[u, v] = 0
    others[(2 * (h // 2) - u) % h, (2 * (w // 2) - v) % w] = 0
    assert kept > 0.5 and float(others.max()) < 0.1 * kept
    assert hist[-1] < hist[0]
    # the masked images give (almost) the model's loss on the clean images
    with torch.no_grad():
        y = net(x).argmax(1)
        clean = F.cross_entropy(net(x), y)
        masked = F.cross_entropy(net(fourier_filter(x, mask)), y)
    assert abs(float(masked - clean)) < 0.2


def test_lam_zero_keeps_the_loss_and_model_is_unchanged():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    net.train()
    x = torch.rand(8, 1, 8, 8)
    x0 = x.clone()
    mask = fourier_mask(net, x, lam=0.0, n_iter=20)
    y = net(x).argmax(1)
    with torch.no_grad():
        gap = F.cross_entropy(net(fourier_filter(x, mask)), y) - F.cross_entropy(net(x), y)
    assert float(mask.mean()) > 0.8 and abs(float(gap)) < 0.01
    assert net.training and torch.equal(x, x0)
    assert all(p.grad is None and p.requires_grad for p in net.parameters())


def test_errors():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    with pytest.raises(ValueError, match="'lam' argument"):
        fourier_mask(net, torch.rand(2, 1, 8, 8), lam=-1.0)
    with pytest.raises(ValueError, match=r"images \(N, C, H, W\)"):
        fourier_mask(net, torch.rand(2, 8, 8))
    with pytest.raises(ValueError, match="'mask' argument.*image size"):
        fourier_filter(torch.rand(2, 1, 8, 8), torch.ones(4, 4))
