"""The same code path on CUDA: runs where a GPU is visible, skipped (with the reason) elsewhere.

Run on a GPU machine with ``pytest tests/test_cuda.py``; CI machines have no GPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.optim import SGD, CosineLR
from dlcourse.utils import device, seed_everything

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")


def test_device_picks_the_gpu():
    assert device().type == "cuda"


def test_seed_everything_makes_cuda_sampling_repeatable():
    seed_everything(3)
    a = torch.randn(1000, device="cuda")
    seed_everything(3)
    b = torch.randn(1000, device="cuda")
    assert torch.equal(a, b)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_on_cuda_matches_torch_sgd_on_cuda(nesterov):
    seed_everything(0)
    model = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    model = model.to("cuda")
    twin = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    twin = twin.to("cuda")
    twin.load_state_dict(model.state_dict())
    ours = SGD(list(model.parameters()), lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=nesterov)
    ref = torch.optim.SGD(
        twin.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=nesterov
    )
    sched = CosineLR(ours, total_steps=5)
    ref_sched = torch.optim.lr_scheduler.CosineAnnealingLR(ref, T_max=5)
    x = torch.randn(64, 20, device="cuda")
    y = torch.randint(0, 3, (64,), device="cuda")
    for _ in range(5):
        for net, opt in ((model, ours), (twin, ref)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
        sched.step()
        ref_sched.step()
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        assert p.device.type == "cuda"
        np.testing.assert_allclose(
            p.detach().cpu().numpy(), q.detach().cpu().numpy(), rtol=1e-5, atol=1e-6
        )
