"""dlcourse.structured.chain: the linear-chain CRF.

References: brute-force enumeration of all K^T label sequences (log Z through
``torch.logsumexp``, independent of ``dlcourse.ebm``; marginals, pair marginals and the best
sequence), autograd (marginals are the gradient of log Z; the NLL gradient is expected minus
empirical counts), finite differences. Properties: stability on long chains, invariance of
log Z to a constant added to all emissions at one position, no mutation of inputs.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from dlcourse.structured import (
    ChainCRF,
    brute_force_log_partition,
    brute_force_viterbi,
    chain_log_partition,
    chain_marginals,
    chain_pair_marginals,
    chain_score,
    chain_viterbi,
)

pytestmark = pytest.mark.timeout(120)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _problem(B=3, T=5, K=3, seed=0, scale=2.0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    e = scale * torch.randn(B, T, K, generator=g, dtype=torch.float64)
    A = scale * torch.randn(K, K, generator=g, dtype=torch.float64)
    return e.to(device), A.to(device)


def _enumerate(e, A):
    """All sequences (N, T) and their scores (B, N), by plain loops."""
    B, T, K = e.shape
    seqs = list(itertools.product(range(K), repeat=T))
    scores = torch.empty(B, len(seqs), dtype=e.dtype)
    for b in range(B):
        for n, y in enumerate(seqs):
            s = sum(float(e[b, t, y[t]]) for t in range(T))
            s += sum(float(A[y[t - 1], y[t]]) for t in range(1, T))
            scores[b, n] = s
    return torch.tensor(seqs), scores


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("T,K", [(1, 4), (2, 2), (4, 3), (6, 2), (3, 5)])
def test_log_partition_matches_enumeration(T, K, device):
    e, A = _problem(T=T, K=K, seed=T * 10 + K, device=device)
    _, scores = _enumerate(e.cpu(), A.cpu())
    want = torch.logsumexp(scores, dim=1)
    got = chain_log_partition(e, A)
    assert got.device.type == device and got.dtype == torch.float64 and got.shape == (3,)
    torch.testing.assert_close(got.cpu(), want, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(brute_force_log_partition(e, A).cpu(), want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_marginals_match_enumeration_and_autograd(device):
    e, A = _problem(T=5, K=3, seed=1, device=device)
    seqs, scores = _enumerate(e.cpu(), A.cpu())
    p = torch.softmax(scores, dim=1)  # (B, N)
    B, T, K = e.shape
    onehot = torch.nn.functional.one_hot(seqs, K).double()  # (N, T, K)
    want = torch.einsum("bn,ntk->btk", p, onehot)
    got = chain_marginals(e, A)
    torch.testing.assert_close(got.cpu(), want, rtol=1e-9, atol=1e-12)
    pairs = torch.einsum("bn,ntj,ntk->btjk", p, onehot[:, :-1], onehot[:, 1:])
    torch.testing.assert_close(chain_pair_marginals(e, A).cpu(), pairs, rtol=1e-9, atol=1e-12)
    # marginals are the gradient of log Z with respect to the emissions
    e_ = e.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(chain_log_partition(e_, A).sum(), e_)
    torch.testing.assert_close(got, grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("seed", range(6))
def test_viterbi_matches_enumeration(seed, device):
    e, A = _problem(B=4, T=6, K=3, seed=seed, device=device)
    seqs, scores = _enumerate(e.cpu(), A.cpu())
    best, idx = scores.max(dim=1)
    tags, score = chain_viterbi(e, A)
    assert tags.dtype == torch.long and tags.shape == (4, 6) and tags.device.type == device
    torch.testing.assert_close(score.cpu(), best, rtol=1e-10, atol=1e-10)
    assert torch.equal(tags.cpu(), seqs[idx])  # continuous random scores: no ties
    bf_tags, bf_score = brute_force_viterbi(e, A)
    assert torch.equal(bf_tags.cpu(), seqs[idx])
    torch.testing.assert_close(chain_score(e, A, tags).cpu(), best)


def test_unbatched_inputs_drop_the_batch_axis():
    e, A = _problem(B=1, T=4, K=3)
    assert chain_log_partition(e[0], A).shape == ()
    assert chain_marginals(e[0], A).shape == (4, 3)
    assert chain_pair_marginals(e[0], A).shape == (3, 3, 3)
    tags, score = chain_viterbi(e[0], A)
    assert tags.shape == (4,) and score.shape == ()
    torch.testing.assert_close(chain_log_partition(e[0], A), chain_log_partition(e, A)[0])


def test_long_chains_are_stable():
    """T = 2000 with scores of size 50: exp overflows, log space does not."""
    g = torch.Generator().manual_seed(3)
    e = 50 * torch.randn(2, 2000, 4, generator=g)  # float32
    A = 50 * torch.randn(4, 4, generator=g)
    logz = chain_log_partition(e, A)
    assert torch.isfinite(logz).all() and logz.dtype == torch.float32
    _, best = chain_viterbi(e, A)
    # log Z lies between the best score and the best score + T log K
    assert (logz >= best - 1e-2 * best.abs()).all()
    assert (logz <= best + 2000 * math.log(4) + 1e-3 * best.abs()).all()
    m = chain_marginals(e, A)
    assert torch.isfinite(m).all()
    torch.testing.assert_close(m.sum(-1), torch.ones(2, 2000), rtol=1e-4, atol=1e-4)
    # float32 agrees with float64 to float32's relative precision
    logz64 = chain_log_partition(e.double(), A.double())
    torch.testing.assert_close(logz.double(), logz64, rtol=1e-5, atol=0.0)


def test_shift_of_one_position_shifts_log_z():
    e, A = _problem(T=5, K=3, seed=4)
    shifted = e.clone()
    shifted[:, 2] += 7.5
    torch.testing.assert_close(chain_log_partition(shifted, A), chain_log_partition(e, A) + 7.5)


def test_nll_gradient_is_expected_minus_empirical_counts():
    g = torch.Generator().manual_seed(5)
    crf = ChainCRF(3, 4, seed=0).double()
    with torch.no_grad():
        crf.transitions.copy_(torch.randn(3, 3, generator=g, dtype=torch.float64))
    x = torch.randn(2, 6, 4, generator=g, dtype=torch.float64)
    tags = torch.randint(0, 3, (2, 6), generator=g)
    loss = crf.nll(crf(x), tags, reduction="sum")
    gW, gb, gA = torch.autograd.grad(
        loss, [crf.emission.weight, crf.emission.bias, crf.transitions]
    )
    with torch.no_grad():
        em = crf(x)
        marg = crf.marginals(em)
        onehot = torch.nn.functional.one_hot(tags, 3).double()
        want_W = torch.einsum("btk,btf->kf", marg - onehot, x)
        want_b = (marg - onehot).sum((0, 1))
        counts = torch.einsum("btj,btk->jk", onehot[:, :-1], onehot[:, 1:])
        want_A = crf.pair_marginals(em).sum((0, 1)) - counts
    torch.testing.assert_close(gW, want_W)
    torch.testing.assert_close(gb, want_b)
    torch.testing.assert_close(gA, want_A)


def test_nll_matches_brute_force_and_finite_differences():
    e, A = _problem(B=2, T=4, K=3, seed=6)
    crf = ChainCRF(3, 1).double()
    with torch.no_grad():
        crf.transitions.copy_(A)
    tags = torch.tensor([[0, 1, 2, 1], [2, 2, 0, 0]])
    seqs, scores = _enumerate(e, A)
    idx = [seqs.tolist().index(t) for t in tags.tolist()]
    want = torch.logsumexp(scores, 1) - scores[torch.arange(2), idx]
    torch.testing.assert_close(crf.nll(e, tags, reduction="none"), want)
    torch.testing.assert_close(crf.nll(e, tags), want.mean())
    assert (want > 0).all()
    # finite differences on one transition entry
    h = 1e-6
    Ap, Am = A.clone(), A.clone()
    Ap[1, 2] += h
    Am[1, 2] -= h
    numeric = (
        (chain_log_partition(e, Ap) - chain_score(e, Ap, tags)).sum()
        - (chain_log_partition(e, Am) - chain_score(e, Am, tags)).sum()
    ) / (2 * h)
    A_ = A.clone().requires_grad_(True)
    (g,) = torch.autograd.grad((chain_log_partition(e, A_) - chain_score(e, A_, tags)).sum(), A_)
    assert abs(float(numeric) - float(g[1, 2])) < 1e-6


def test_inputs_are_not_mutated_and_params_unchanged():
    e, A = _problem()
    e0, A0 = e.clone(), A.clone()
    crf = ChainCRF(3, 2, seed=1).double()
    state = {k: v.clone() for k, v in crf.state_dict().items()}
    crf.eval()
    for f in (chain_log_partition, chain_marginals, chain_pair_marginals, chain_viterbi):
        f(e, A)
    crf.nll(e, torch.zeros(3, 5, dtype=torch.long))
    crf.viterbi(e)
    assert torch.equal(e, e0) and torch.equal(A, A0)
    assert all(torch.equal(v, crf.state_dict()[k]) for k, v in state.items())
    assert not crf.training


def test_seed_gives_same_init_and_leaves_global_rng_alone():
    before = torch.random.get_rng_state()
    a, b = ChainCRF(4, 3, seed=7), ChainCRF(4, 3, seed=7)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.equal(a.emission.weight, b.emission.weight)
    c = ChainCRF(4, 3, seed=8)
    assert not torch.equal(a.emission.weight, c.emission.weight)


def test_errors_name_the_arguments():
    e, A = _problem(T=4, K=3)
    with pytest.raises(
        ValueError, match="'transitions' argument of chain_log_partition.*\\(3, 3\\)"
    ):
        chain_log_partition(e, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="'emissions' argument.*non-empty sequence"):
        chain_log_partition(torch.zeros(2, 0, 3), A)
    with pytest.raises(ValueError, match="'emissions' argument.*shape \\(B, T, K\\)"):
        chain_viterbi(torch.zeros(3), A)
    with pytest.raises(ValueError, match="'tags' argument.*shape \\(B, T\\) = \\(3, 4\\)"):
        chain_score(e, A, torch.zeros(3, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="'tags' argument.*labels in 0 .. 2"):
        chain_score(e, A, torch.full((3, 4), 3))
    with pytest.raises(TypeError, match="'tags' argument.*integer"):
        chain_score(e, A, torch.zeros(3, 4))
    with pytest.raises(ValueError, match="'n_labels' argument of ChainCRF.*integer >= 1"):
        ChainCRF(0, 3)
    with pytest.raises(ValueError, match="more than"):
        brute_force_log_partition(torch.zeros(1, 30, 3), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="'x' argument.*\\(B, T, 2\\)"):
        ChainCRF(3, 2)(torch.zeros(1, 4, 5))
