"""Tests of dlcourse.ebm.RBM against brute-force sums over every hidden and visible state."""

import itertools

import numpy as np
import pytest
import torch

from dlcourse.ebm import RBM, contrastive_divergence_step


def all_states(n):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


@pytest.fixture
def tiny():
    g = torch.Generator().manual_seed(0)
    rbm = RBM(5, 3, weight_std=1.0, seed=g).double()
    with torch.no_grad():
        rbm.b.copy_(torch.randn(5, generator=g, dtype=torch.float64))
        rbm.c.copy_(torch.randn(3, generator=g, dtype=torch.float64))
    return rbm


def test_energy_formula(tiny):
    v, h = all_states(5)[[3, 17]], all_states(3)[[5, 2]]
    W, b, c = tiny.W.detach(), tiny.b.detach(), tiny.c.detach()
    expected = [-(h[i] @ W @ v[i]) - b @ v[i] - c @ h[i] for i in range(2)]
    np.testing.assert_allclose(tiny.energy(v, h).detach().numpy(), expected, rtol=1e-12)


def test_free_energy_equals_brute_force_sum_over_hidden_states(tiny):
    vs, hs = all_states(5), all_states(3)
    brute = torch.stack(
        [-torch.logsumexp(-tiny.energy(v.expand(len(hs), 5), hs), dim=0) for v in vs]
    )
    np.testing.assert_allclose(
        tiny.free_energy(vs).detach().numpy(), brute.detach().numpy(), rtol=1e-12
    )
    assert torch.equal(tiny(vs), tiny.free_energy(vs))


@pytest.mark.parametrize("n_visible, n_hidden", [(5, 3), (3, 5), (4, 4)])
def test_log_partition_equals_brute_force_over_all_pairs(n_visible, n_hidden):
    g = torch.Generator().manual_seed(n_visible)
    rbm = RBM(n_visible, n_hidden, weight_std=1.0, seed=g)
    with torch.no_grad():
        rbm.b.normal_(generator=g)
        rbm.c.normal_(generator=g)
    vs, hs = all_states(n_visible), all_states(n_hidden)
    pairs_v = vs.repeat_interleave(len(hs), 0)
    pairs_h = hs.repeat(len(vs), 1)
    log_z = torch.logsumexp(-rbm.double().energy(pairs_v, pairs_h), dim=0).item()
    assert rbm.log_partition() == pytest.approx(log_z, rel=1e-10)
    # log p sums to one over all visible states
    log_p = -rbm.free_energy(vs).detach() - rbm.log_partition()
    assert torch.logsumexp(log_p, 0).item() == pytest.approx(0.0, abs=1e-10)
    assert rbm.log_likelihood(vs[:3]) == pytest.approx(log_p[:3].mean().item(), rel=1e-10)


def test_conditionals_equal_brute_force_marginals(tiny):
    vs, hs = all_states(5), all_states(3)
    v = vs[[6, 25]]
    for i in range(2):
        weights = torch.softmax(-tiny.energy(v[i].expand(8, 5), hs), dim=0)  # p(h | v)
        np.testing.assert_allclose(
            tiny.hidden_probs(v[i : i + 1])[0].detach().numpy(),
            (weights[:, None] * hs).sum(0).detach().numpy(),
            rtol=1e-10,
        )
    h = hs[[1, 6]]
    for i in range(2):
        weights = torch.softmax(-tiny.energy(vs, h[i].expand(32, 3)), dim=0)  # p(v | h)
        np.testing.assert_allclose(
            tiny.visible_probs(h[i : i + 1])[0].detach().numpy(),
            (weights[:, None] * vs).sum(0).detach().numpy(),
            rtol=1e-10,
        )


def test_samples_follow_the_conditionals(tiny):
    g = torch.Generator().manual_seed(1)
    v = all_states(5)[[9]].expand(20000, 5)
    h = tiny.sample_h(v, g)
    assert set(h.unique().tolist()) <= {0.0, 1.0}
    p = tiny.hidden_probs(v[:1])[0].detach()
    np.testing.assert_allclose(h.mean(0).numpy(), p.numpy(), atol=5 * 0.5 / np.sqrt(20000))
    vv = tiny.sample_v(h[:20000], g)
    assert vv.shape == (20000, 5)


def test_gibbs_chains_reach_the_model_distribution(tiny):
    g = torch.Generator().manual_seed(2)
    start = torch.zeros(20000, 5, dtype=torch.float64)
    v = tiny.gibbs(start, k=60, seed=g)
    vs = all_states(5)
    exact = torch.exp(-tiny.free_energy(vs).detach() - tiny.log_partition())
    codes = (v * 2 ** torch.arange(4, -1, -1, dtype=torch.float64)).sum(1).long()
    empirical = torch.bincount(codes, minlength=32).double() / len(v)
    total_variation = 0.5 * (empirical - exact).abs().sum().item()
    assert total_variation < 0.03, total_variation


def test_cd_loss_gradient_is_the_cd_formula(tiny):
    g = torch.Generator().manual_seed(3)
    v = all_states(5)[torch.randint(0, 32, (7,), generator=g)]
    neg = all_states(5)[torch.randint(0, 32, (7,), generator=g)]
    tiny.zero_grad()
    tiny.cd_loss(v, negatives=neg).backward()
    W, c = tiny.W.detach(), tiny.c.detach()
    ph, pn = torch.sigmoid(v @ W.T + c), torch.sigmoid(neg @ W.T + c)
    np.testing.assert_allclose(
        tiny.W.grad.numpy(), (-(ph.T @ v) + pn.T @ neg).numpy() / 7, rtol=1e-10
    )
    np.testing.assert_allclose(tiny.b.grad.numpy(), (neg - v).mean(0).numpy(), rtol=1e-10)
    np.testing.assert_allclose(tiny.c.grad.numpy(), (pn - ph).mean(0).numpy(), rtol=1e-10)


def test_cd1_loss_uses_one_gibbs_step_from_the_data(tiny):
    v = all_states(5)[[3, 30, 12]]
    loss = tiny.cd_loss(v, k=1, seed=torch.Generator().manual_seed(7))
    neg = tiny.gibbs(v, 1, seed=torch.Generator().manual_seed(7))
    expected = tiny.free_energy(v).mean() - tiny.free_energy(neg).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    assert torch.equal(tiny.gibbs(v, 0), v)


@pytest.mark.parametrize("persistent", [False, True])
def test_training_raises_the_exact_log_likelihood(persistent):
    torch.manual_seed(0)
    protos = torch.tensor([[1, 1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]], dtype=torch.float32)
    flips = (torch.rand(400, 8) < 0.05).float()
    data = (protos[torch.randint(0, 2, (400,))] + flips) % 2
    rbm = RBM(8, 4)
    before = rbm.log_likelihood(data)
    opt = torch.optim.SGD(rbm.parameters(), lr=0.1)
    chains = torch.bernoulli(torch.full((50, 8), 0.5))
    for it in range(300):
        batch = data[(it * 50) % 400 : (it * 50) % 400 + 50]
        step = contrastive_divergence_step(
            rbm,
            batch,
            opt,
            sampler=lambda s: rbm.gibbs(s, 1),
            chains=chains if persistent else None,
        )
        chains = step.negatives
    after = rbm.log_likelihood(data)
    assert before == pytest.approx(-8 * np.log(2), abs=0.1)  # small weights: uniform model
    assert after > before + 2.0, (before, after)


def test_reconstruction_and_errors(tiny):
    v = all_states(5)[:4]
    r = tiny.reconstruct(v)
    assert r.shape == (4, 5) and torch.all((r > 0) & (r < 1))
    err = tiny.reconstruction_error(v)
    assert err == pytest.approx(((v - r) ** 2).mean().item())
    with pytest.raises(ValueError, match=r"\(n, 5\)"):
        tiny.free_energy(torch.zeros(2, 4))
    with pytest.raises(TypeError, match="torch.Tensor"):
        tiny.free_energy(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="same number of rows"):
        tiny.energy(torch.zeros(2, 5), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="n_hidden"):
        RBM(5, 0)
    with pytest.raises(ValueError, match="too"):
        RBM(30, 30).log_partition()
