"""Tests of info_nce and contrastive_hinge_loss against direct (naive) loops, plus properties."""

import math

import numpy as np
import pytest
import torch

from dlcourse.ebm import contrastive_hinge_loss, cosine_similarity_matrix, info_nce


def naive_info_nce(z1, z2, tau):
    """Literal formula in float64 with Python loops: -log(e^{s_ii/tau} / sum_j e^{s_ij/tau})."""
    a, b = z1.double().numpy(), z2.double().numpy()
    n = len(a)
    out = []
    for i in range(n):
        s = [a[i] @ b[j] / (np.linalg.norm(a[i]) * np.linalg.norm(b[j])) for j in range(n)]
        num = math.exp(s[i] / tau)
        den = sum(math.exp(sj / tau) for sj in s)
        out.append(-math.log(num / den))
    return np.array(out)


@pytest.fixture
def pair():
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(9, 5, generator=g, dtype=torch.float64)
    z2 = z1 + 0.5 * torch.randn(9, 5, generator=g, dtype=torch.float64)
    return z1, z2


@pytest.mark.parametrize("tau", [0.05, 0.2, 1.0, 5.0])
def test_matches_the_naive_formula(pair, tau):
    z1, z2 = pair
    ref = naive_info_nce(z1, z2, tau)
    per = info_nce(z1, z2, tau, reduction="none")
    np.testing.assert_allclose(per.numpy(), ref, rtol=1e-10)
    assert info_nce(z1, z2, tau).item() == pytest.approx(ref.mean(), rel=1e-10)
    assert info_nce(z1, z2, tau, reduction="sum").item() == pytest.approx(ref.sum(), rel=1e-10)
    sym = info_nce(z1, z2, tau, symmetric=True).item()
    assert sym == pytest.approx(0.5 * (ref.mean() + naive_info_nce(z2, z1, tau).mean()), rel=1e-10)


def test_stable_at_low_temperature_in_float32(pair):
    z1, z2 = (z.float() for z in pair)
    tau = 1e-3  # 1 / tau = 1000: exp overflows float32 (and float64)
    with np.errstate(over="ignore", invalid="ignore"):
        s = cosine_similarity_matrix(z1, z2).numpy()
        naive32 = -np.log(np.exp(s.diagonal() / tau) / np.exp(s / tau).sum(1))
    assert not np.all(np.isfinite(naive32))  # the literal formula breaks down
    loss = info_nce(z1, z2, tau, reduction="none")
    assert torch.isfinite(loss).all()
    s64 = cosine_similarity_matrix(*(z.double() for z in pair)).numpy()
    stable_ref = (np.log(np.exp((s64 - s64.max(1, keepdims=True)) / tau).sum(1))
                  + (s64.max(1) - s64.diagonal()) / tau)  # fmt: skip
    np.testing.assert_allclose(loss.numpy(), stable_ref, rtol=1e-3, atol=1e-2)


def test_limits():
    n = 6
    z = torch.eye(n, dtype=torch.float64)
    assert info_nce(z, z, 1e-3).item() == pytest.approx(0.0, abs=1e-12)  # perfectly separated
    same = torch.ones(n, 4)
    assert info_nce(same, same, 0.3).item() == pytest.approx(math.log(n), rel=1e-6)  # no signal


def test_cosine_scale_invariance_and_permutation_equivariance(pair):
    z1, z2 = pair
    base = info_nce(z1, z2, 0.2, reduction="none")
    scaled = info_nce(7.0 * z1, 0.1 * z2, 0.2, reduction="none")
    np.testing.assert_allclose(scaled.numpy(), base.numpy(), rtol=1e-10)
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(1))
    permuted = info_nce(z1[perm], z2[perm], 0.2, reduction="none")
    np.testing.assert_allclose(permuted.numpy(), base[perm].numpy(), rtol=1e-10)


def test_gradients(pair):
    z1, z2 = (z.clone().requires_grad_(True) for z in pair)
    assert torch.autograd.gradcheck(lambda a, b: info_nce(a, b, 0.3, symmetric=True), (z1, z2))
    assert torch.autograd.gradcheck(lambda a, b: contrastive_hinge_loss(a, b, 2.0), (z1, z2))
    assert torch.autograd.gradcheck(
        lambda a, b: contrastive_hinge_loss(a, b, 2.0, mining="hard"), (z1, z2)
    )


@pytest.mark.parametrize("tau", [0.0, -0.5, float("nan"), float("inf")])
def test_bad_temperature(pair, tau):
    with pytest.raises(ValueError, match="temperature"):
        info_nce(*pair, tau)


def test_shape_errors(pair):
    z1, z2 = pair
    with pytest.raises(ValueError, match="batch sizes 9 and 8"):
        info_nce(z1, z2[:8], 0.1)
    with pytest.raises(ValueError, match="dimension"):
        info_nce(z1, z2[:, :4], 0.1)
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        info_nce(z1[0], z2[0], 0.1)
    with pytest.raises(TypeError, match="torch.Tensor"):
        info_nce(z1.numpy(), z2, 0.1)
    with pytest.raises(ValueError, match="reduction"):
        info_nce(z1, z2, 0.1, reduction="avg")
    with pytest.raises(ValueError, match="batch sizes"):
        contrastive_hinge_loss(z1, z2[:3])
    with pytest.raises(ValueError, match="margin"):
        contrastive_hinge_loss(z1, z2, margin=0.0)
    with pytest.raises(ValueError, match="mining"):
        contrastive_hinge_loss(z1, z2, mining="semi")
    with pytest.raises(ValueError, match="at least 2"):
        contrastive_hinge_loss(z1[:1], z2[:1])


def naive_hinge(z1, z2, m, hard):
    a, b = z1.numpy(), z2.numpy()
    n = len(a)
    out = []
    for i in range(n):
        pos = 0.5 * np.sum((a[i] - b[i]) ** 2)
        d = [np.linalg.norm(a[i] - b[j]) for j in range(n) if j != i]
        if hard:
            neg = 0.5 * max(0.0, m - min(d)) ** 2
        else:
            neg = np.mean([0.5 * max(0.0, m - dj) ** 2 for dj in d])
        out.append(pos + neg)
    return np.array(out)


@pytest.mark.parametrize("mining", ["all", "hard"])
@pytest.mark.parametrize("margin", [0.5, 3.0])
def test_hinge_matches_naive_loops(pair, mining, margin):
    z1, z2 = pair
    ref = naive_hinge(z1, z2, margin, mining == "hard")
    got = contrastive_hinge_loss(z1, z2, margin, mining=mining, reduction="none")
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-10)
    assert contrastive_hinge_loss(z1, z2, margin, mining=mining).item() == pytest.approx(ref.mean())


def test_hard_mining_costs_at_least_the_average(pair):
    z1, z2 = pair
    hard = contrastive_hinge_loss(z1, z2, 3.0, mining="hard", reduction="none")
    avg = contrastive_hinge_loss(z1, z2, 3.0, mining="all", reduction="none")
    assert torch.all(hard >= avg - 1e-12)
