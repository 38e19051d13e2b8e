"""Tests of dlcourse.ebm.free_energy: SciPy logsumexp, the naive sum, bounds, limits, gradients."""

import math

import numpy as np
import pytest
import scipy.special
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlcourse.ebm import free_energy, min_energy


@pytest.fixture
def energies():
    return np.random.default_rng(0).normal(scale=2.0, size=(5, 7))


@pytest.mark.parametrize("beta", [0.1, 1.0, 3.7])
def test_matches_naive_sum_and_scipy(energies, beta):
    naive = -np.log(np.exp(-beta * energies).sum(axis=1)) / beta
    ref = -scipy.special.logsumexp(-beta * energies, axis=1) / beta
    np.testing.assert_allclose(free_energy(energies, beta), naive, rtol=1e-12)
    np.testing.assert_allclose(free_energy(energies, beta), ref, rtol=1e-12)
    np.testing.assert_allclose(free_energy(energies, beta, dim=0), -np.log(
        np.exp(-beta * energies).sum(axis=0)) / beta, rtol=1e-12)  # fmt: skip


def test_torch_input_gives_torch_output_equal_to_numpy(energies):
    t = torch.tensor(energies)
    out = free_energy(t, 2.0, dim=1)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), free_energy(energies, 2.0, dim=1), rtol=1e-12)
    np.testing.assert_allclose(min_energy(t).numpy(), energies.min(axis=1))


def test_keepdim(energies):
    assert free_energy(energies, 1.0, dim=0, keepdim=True).shape == (1, 7)
    assert min_energy(energies, dim=1, keepdim=True).shape == (5, 1)
    assert free_energy(torch.tensor(energies), 1.0, keepdim=True).shape == (5, 1)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, (6,), elements=st.floats(-30, 30)),
    st.floats(1e-3, 1e3),
)
def test_bounds_between_min_minus_entropy_and_min(e, beta):
    m = e.min()
    k0 = np.sum(e == m)
    f = free_energy(e, beta)
    assert m - np.log(len(e)) / beta - 1e-9 <= f <= m - np.log(k0) / beta + 1e-9


def test_increases_with_beta_towards_the_min(energies):
    betas = np.geomspace(1e-2, 1e4, 40)
    values = np.array([free_energy(energies, b) for b in betas])  # (40, 5)
    assert np.all(np.diff(values, axis=0) >= -1e-12)  # dF/dbeta = entropy / beta^2 >= 0
    np.testing.assert_allclose(values[-1], energies.min(axis=1), atol=np.log(7) / 1e4)


@pytest.mark.parametrize("beta", [1e6, 1e12, 1e300, math.inf])
def test_huge_beta_is_the_min_without_overflow(energies, beta):
    out = free_energy(energies, beta)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, energies.min(axis=1), atol=np.log(7) / min(beta, 1e300))
    t32 = torch.tensor(energies, dtype=torch.float32)
    out32 = free_energy(t32, beta)
    assert torch.isfinite(out32).all()
    np.testing.assert_allclose(out32.numpy(), energies.min(axis=1), atol=1e-5)


def test_tie_at_the_minimum_counts_twice():
    # two equal minima: F = m - log(2) / beta exactly, for any beta
    for beta in [0.5, 10.0, 1e8]:
        assert free_energy([1.0, 1.0, 50.0], beta) == pytest.approx(
            1.0 - np.log(2.0 + np.exp(-49.0 * beta)) / beta, rel=1e-12
        )


def test_small_beta_is_mean_minus_entropy(energies):
    beta = 1e-6
    expected = energies.mean(axis=1) - np.log(7) / beta
    np.testing.assert_allclose(free_energy(energies, beta), expected, rtol=1e-9)


def test_gradient_is_the_gibbs_distribution(energies):
    t = torch.tensor(energies, requires_grad=True)
    free_energy(t, 1.7).sum().backward()
    gibbs = scipy.special.softmax(-1.7 * energies, axis=1)
    np.testing.assert_allclose(t.grad.numpy(), gibbs, rtol=1e-10)
    t = torch.tensor(energies, requires_grad=True)
    assert torch.autograd.gradcheck(lambda e: free_energy(e, 0.8), (t,))


def test_infinite_energies_are_forbidden_states():
    assert free_energy([np.inf, 2.0], 3.0) == pytest.approx(2.0)
    assert free_energy([np.inf, np.inf], 3.0) == np.inf
    assert free_energy([-np.inf, 2.0], 3.0) == -np.inf
    t = free_energy(torch.tensor([[math.inf, 2.0], [math.inf, math.inf]]), 3.0)
    assert t[0].item() == pytest.approx(2.0) and t[1].item() == math.inf


def test_inputs_are_not_modified(energies):
    before = energies.copy()
    free_energy(energies, 2.0)
    np.testing.assert_array_equal(energies, before)


@pytest.mark.parametrize("beta", [0.0, -1.0, float("nan"), -math.inf])
def test_nonpositive_beta_is_refused(beta):
    with pytest.raises(ValueError, match="beta"):
        free_energy([1.0, 2.0], beta)


def test_bad_arguments():
    with pytest.raises(TypeError, match="beta"):
        free_energy([1.0, 2.0], "hot")
    with pytest.raises(TypeError, match="beta"):
        free_energy([1.0, 2.0], True)
    with pytest.raises(ValueError, match="NaN"):
        free_energy([1.0, float("nan")], 1.0)
    with pytest.raises(ValueError, match="dim"):
        free_energy(np.zeros((2, 3)), 1.0, dim=2)
    with pytest.raises(ValueError, match="at least one axis"):
        min_energy(3.0)
    with pytest.raises(ValueError, match="empty"):
        free_energy(np.zeros((2, 0)), 1.0)
