"""The small layer API of dlcourse.autograd (Module, Linear, Sequential, MLP) and training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.autograd import MLP, Linear, Module, ReLU, Sequential, Tanh, Tensor, cross_entropy
from dlcourse.optim import SGD


def test_linear_matches_torch_linear_with_the_same_weights():
    rng = np.random.default_rng(0)
    layer = Linear(4, 3, seed=rng)
    layer.bias.data[:] = rng.standard_normal(3)
    ref = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.weight.data))
        ref.bias.copy_(torch.from_numpy(layer.bias.data))
    x = rng.standard_normal((5, 4))
    w = rng.standard_normal((5, 3))
    out, ref_out = layer(Tensor(x)), ref(torch.from_numpy(x))
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), rtol=1e-12)
    (out * w).sum().backward()
    (ref_out * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), rtol=1e-12)


def test_linear_accepts_an_array_and_works_without_bias():
    layer = Linear(2, 2, bias=False, seed=0)
    assert layer.bias is None and len(layer.parameters()) == 1
    np.testing.assert_allclose(layer(np.eye(2)).data, layer.weight.data.T)


def test_linear_initialisations_have_the_documented_scale():
    he = Linear(1000, 300, seed=0).weight.data
    assert abs(he.std() / np.sqrt(2 / 1000) - 1) < 0.02 and abs(he.mean()) < 1e-3
    glorot = Linear(1000, 300, seed=0, init="glorot").weight.data
    bound = np.sqrt(6 / 1300)
    assert glorot.max() <= bound and glorot.min() >= -bound and glorot.max() > 0.99 * bound
    assert np.all(Linear(10, 5, seed=0).bias.data == 0)


def test_initialisation_is_deterministic_given_a_seed():
    a, b = MLP([3, 5, 2], seed=42), MLP([3, 5, 2], seed=np.random.default_rng(42))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    assert not np.array_equal(MLP([3, 5, 2], seed=1)[0].weight.data, a[0].weight.data)


def test_float32_layers():
    model = MLP([3, 4, 2], seed=0, dtype=np.float32)
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert model(Tensor(np.ones((2, 3), dtype=np.float32))).dtype == np.float32


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: Linear(0, 3), ValueError, "'in_features' argument.* must be an integer >= 1"),
        (lambda: Linear(2.5, 3), TypeError, "'in_features' argument.* must be an integer >= 1"),
        (lambda: Linear(2, -1), ValueError, "'out_features'"),
        (
            lambda: Linear(2, 3, init="zeros"),
            ValueError,
            "'init' argument.* must be 'he' or 'glorot'",
        ),
        (lambda: Linear(2, 3, seed="seed"), TypeError, "'seed' argument.* must be"),
        (lambda: MLP([3]), ValueError, "at least two widths"),
        (lambda: Sequential(Linear(2, 2), "relu"), TypeError, "layer 1 is not a Module"),
    ],
    ids=["zero", "float", "negative", "init", "rng", "one size", "not a module"],
)
def test_layer_arguments_are_validated(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_parameters_are_listed_once_in_order_and_zero_grad_clears_them():
    shared = Linear(2, 2, seed=0)
    model = Sequential(shared, ReLU(), shared, Tanh())
    params = model.parameters()
    assert params == [shared.weight, shared.bias]
    model(Tensor(np.ones((1, 2)))).sum().backward()
    assert all(p.grad is not None for p in params)
    model.zero_grad()
    assert all(p.grad is None for p in params)


def test_custom_module_finds_nested_parameters():
    class Net(Module):
        def __init__(self):
            self.scale = Tensor([2.0], requires_grad=True)
            self.blocks = [Linear(2, 2, seed=0), Linear(2, 1, seed=1)]
            self.constant = Tensor([1.0])

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return x * self.scale

    net = Net()
    assert len(net.parameters()) == 5
    assert net(Tensor(np.ones((3, 2)))).shape == (3, 1)


def test_mlp_structure_and_repr():
    model = MLP([4, 8, 8, 3], seed=0)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert "(0): Linear(4, 8, bias=True)" in repr(model)


def _two_moons(n=200, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    y = rng.integers(0, 2, n)
    x = np.where(y[:, None] == 0, upper, lower) + 0.1 * rng.standard_normal((n, 2))
    return x, y


def test_mlp_trained_with_sgd_fits_two_moons():
    x, y = _two_moons()
    model = MLP([2, 32, 32, 2], seed=0)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    xt = Tensor(x)
    first = cross_entropy(model(xt), y).item()
    for _ in range(300):
        opt.zero_grad()
        loss = cross_entropy(model(xt), y)
        loss.backward()
        opt.step()
    accuracy = np.mean(model(xt).data.argmax(axis=1) == y)
    assert first > 0.3
    assert loss.item() < 0.05, f"loss after 300 steps: {loss.item():.3f}"
    assert accuracy > 0.98


def test_rng_is_a_deprecated_alias_of_seed():
    with pytest.warns(FutureWarning, match="'rng' argument of Linear is deprecated"):
        old = Linear(3, 2, rng=0)
    np.testing.assert_array_equal(old.weight.data, Linear(3, 2, seed=0).weight.data)
    with pytest.warns(FutureWarning, match="'rng' argument of MLP"):
        MLP([3, 2], rng=0)
