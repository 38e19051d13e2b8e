"""dlcourse.ebm on CUDA gives what it gives on the CPU (skipped, with the reason, without a GPU)."""

import numpy as np
import pytest
import torch

from dlcourse.ebm import (
    RBM,
    contrastive_hinge_loss,
    free_energy,
    info_nce,
    langevin_sample,
    linear_probe,
    persistent_contrastive_divergence_step,
    random_affine,
)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")


def test_losses_and_free_energy_match_the_cpu():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(64, 16, generator=g), torch.randn(64, 16, generator=g)
    for fn in (
        lambda a, b: info_nce(a, b, 0.05, symmetric=True),
        lambda a, b: contrastive_hinge_loss(a, b, 2.0, mining="hard"),
    ):
        cpu, gpu = fn(z1, z2), fn(z1.cuda(), z2.cuda())
        assert gpu.device.type == "cuda"
        assert gpu.item() == pytest.approx(cpu.item(), rel=1e-4)
    e = torch.randn(8, 10, generator=g)
    out = free_energy(e.cuda(), 1e30)
    assert out.device.type == "cuda"
    np.testing.assert_allclose(out.cpu().numpy(), e.min(1).values.numpy(), atol=1e-6)


def test_rbm_and_samplers_run_on_the_gpu():
    torch.manual_seed(0)
    rbm = RBM(20, 6).cuda()
    v = torch.bernoulli(torch.full((32, 20), 0.3, device="cuda"))
    gen = torch.Generator(device="cuda").manual_seed(0)
    neg = rbm.gibbs(v, 3, seed=gen)
    assert neg.device.type == "cuda"
    rbm.cd_loss(v, 1).backward()
    assert rbm.W.grad.device.type == "cuda"
    cpu = RBM(20, 6)
    cpu.load_state_dict({k: t.cpu() for k, t in rbm.state_dict().items()})
    assert rbm.log_partition() == pytest.approx(cpu.log_partition(), rel=1e-9)
    opt = torch.optim.SGD(rbm.parameters(), lr=0.01)
    step = persistent_contrastive_divergence_step(
        rbm, v, neg, opt, sampler=lambda s: rbm.gibbs(s, 1, seed=gen)
    )
    assert step.negatives.device.type == "cuda"
    x = langevin_sample(lambda x: (x**2).sum(1), torch.zeros(5, 2, device="cuda"), 3, 0.1)
    assert x.device.type == "cuda"
    img = random_affine(torch.rand(3, 1, 28, 28, device="cuda"), seed=gen)
    assert img.device.type == "cuda"


def test_linear_probe_with_a_gpu_encoder():
    rng = np.random.default_rng(0)
    y = rng.permutation(np.repeat([0, 1], 100))
    x = (rng.normal(size=(200, 5)) + 3 * y[:, None]).astype(np.float32)
    enc = torch.nn.Linear(5, 5).cuda()
    assert linear_probe(enc, x, y, 0.2) > 0.9
