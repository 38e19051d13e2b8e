"""Robust accuracy, success rate, adversarial training and the Fourier view of robustness."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
import torch

from dlcourse.attacks import (
    FGSM,
    PGD,
    adversarial_training,
    attack_success_rate,
    fgsm,
    fourier_basis,
    fourier_heatmap,
    robust_accuracy,
)
from dlcourse.trainer import evaluate, train

from .digits_mlp import digits_tensors, mlp, trained_mlp


@pytest.fixture(scope="module")
def data():
    return digits_tensors()


@pytest.fixture(scope="module")
def model(data):
    return trained_mlp(data[0])


# --------------------------------------------------------------------------- measuring
def test_robust_accuracy_matches_a_manual_loop(model, data):
    x, y = data[1]
    atk = FGSM(model, eps=0.1)
    with torch.no_grad():
        manual = (model(fgsm(model, x, y, 0.1)).argmax(1) == y).sum().item() / len(y)
    # FGSM is per-example (the mean loss only scales each gradient), so batching is invisible
    assert robust_accuracy(model, x, y, atk, batch_size=37) == pytest.approx(manual, abs=1e-12)
    assert robust_accuracy(model, x, y, lambda a, b: fgsm(model, a, b, 0.1)) == pytest.approx(
        manual, abs=1e-12
    )
    assert robust_accuracy(model, x, y) == pytest.approx(evaluate(model, x, y), abs=1e-6)
    assert robust_accuracy(model, x.numpy(), y.numpy()) == robust_accuracy(model, x, y)
    assert manual < evaluate(model, x, y) - 0.2


def test_attack_success_rate_counts_by_hand(model, data):
    x, y = data[1]
    x, y = x[:100], y[:100]
    x_adv = fgsm(model, x, y, 0.1)
    with torch.no_grad():
        pred_adv, pred = model(x_adv).argmax(1), model(x).argmax(1)
    assert attack_success_rate(model, x, x_adv, y) == pytest.approx(
        (pred_adv != y).float().mean().item()
    )
    right = pred == y
    assert attack_success_rate(model, x, x_adv, y, only_correct=True) == pytest.approx(
        (pred_adv[right] != y[right]).float().mean().item()
    )
    target = (y + 1) % 10
    x_t = fgsm(model, x, target, 0.2, targeted=True)
    with torch.no_grad():
        hit = (model(x_t).argmax(1) == target).float().mean().item()
    assert attack_success_rate(model, x, x_t, target, targeted=True) == pytest.approx(hit)
    with pytest.raises(ValueError, match="x_adv must have the shape of x"):
        attack_success_rate(model, x, x_adv[:5], y)
    with pytest.raises(ValueError, match="untargeted"):
        attack_success_rate(model, x, x_t, target, targeted=True, only_correct=True)


def test_robust_accuracy_errors(model, data):
    x, y = data[1]
    with pytest.raises(ValueError, match=r"labels of shape \(N,\)"):
        robust_accuracy(model, x, y[:3])
    with pytest.raises(TypeError, match="'attack' argument.* must be an Attack"):
        robust_accuracy(model, x, y, attack="pgd")
    with pytest.raises(ValueError, match="'batch_size'"):
        robust_accuracy(model, x, y, batch_size=0)


# --------------------------------------------------------------------------- training
def test_adversarial_training_raises_robust_accuracy(model, data):
    (x_te, y_te) = data[1]
    robust = mlp()
    history = adversarial_training(
        robust, data[0], FGSM(robust, eps=0.1), epochs=8, lr=1e-2, batch_size=128, seed=0
    )
    assert len(history.loss) == 8 and history.loss[-1] < history.loss[0]

    def robust_acc(m):
        return robust_accuracy(m, x_te, y_te, PGD(m, eps=0.1, alpha=0.025, steps=10, seed=0))

    before, after = robust_acc(model), robust_acc(robust)
    assert after > before + 0.1, (before, after)
    assert evaluate(robust, x_te, y_te) > evaluate(model, x_te, y_te) - 0.03  # clean cost small


def test_adversarial_training_mixes_the_batches_as_asked(data):
    x, y = data[0]
    x, y = x[:256], y[:256]
    seen = []

    def spy(xb, yb):
        seen.append(len(xb))
        return xb.clamp(0, 1)  # an "attack" that changes nothing

    model = mlp()
    adversarial_training(model, (x, y), spy, epochs=1, batch_size=64, mix=0.25)
    assert seen == [16, 16, 16, 16]
    # mix=0 (and an attack that changes nothing) is plain training: same parameters
    a, b = mlp(), mlp()
    adversarial_training(a, (x, y), spy, epochs=2, batch_size=64, mix=0.0, seed=3)
    train(b, (x, y), epochs=2, batch_size=64, lr=1e-3, seed=3, progress=False)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)


def test_adversarial_training_errors(data):
    model, other = mlp(), mlp(1)
    with pytest.raises(ValueError, match="built on a different model"):
        adversarial_training(model, data[0], FGSM(other, eps=0.1))
    with pytest.raises(ValueError, match="'mix' argument.* must be in"):
        adversarial_training(model, data[0], FGSM(model, eps=0.1), mix=1.5)
    with pytest.raises(ValueError, match="'optimizer' argument.* must be"):
        adversarial_training(model, data[0], FGSM(model, eps=0.1), optimizer="rmsprop")
    with pytest.raises(TypeError, match="'attack' argument.* must be an Attack"):
        adversarial_training(model, data[0], None)


# --------------------------------------------------------------------------- Fourier
def test_fourier_basis_is_orthonormal_up_to_mirror_pairs():
    h, w = 6, 7
    grid = [(u, v) for u in range(h) for v in range(w)]
    basis = np.stack([fourier_basis((h, w), u, v).ravel() for u, v in grid])
    np.testing.assert_allclose(np.linalg.norm(basis, axis=1), 1.0)
    gram = basis @ basis.T

    def mirror(u, v):
        return (2 * (h // 2) - u) % h, (2 * (w // 2) - v) % w

    for i, (u, v) in enumerate(grid):
        for j, (s, t) in enumerate(grid):
            same = (s, t) in {(u, v), mirror(u, v)}
            assert gram[i, j] == pytest.approx(1.0 if same else 0.0, abs=1e-12)
    # the distinct images span the whole space: a real orthonormal basis has h*w elements
    assert np.linalg.matrix_rank(basis) == (h * w + 2) // 2  # 6x7: 21 pairs + DC


def test_fourier_basis_has_one_frequency_in_the_fft():
    n = 8
    for u, v in [(4, 4), (4, 5), (1, 6), (0, 0), (2, 3)]:
        spectrum = np.abs(np.fft.fftshift(np.fft.fft2(fourier_basis(n, u, v))))
        support = set(zip(*np.nonzero(spectrum > 1e-9), strict=True))
        assert support == {(u, v), ((2 * (n // 2) - u) % n, (2 * (n // 2) - v) % n)}
    np.testing.assert_allclose(fourier_basis(n, n // 2, n // 2), 1 / n)  # the constant image
    with pytest.raises(ValueError, match=r"0 <= u < 8"):
        fourier_basis(8, 8, 0)


def _low_pass_model(size=8, radius=1, seed=0):
    """A linear classifier whose weights contain only frequencies with |f| <= radius."""
    rng = np.random.default_rng(seed)
    c = size // 2
    low = [
        fourier_basis(size, u, v).ravel()
        for u in range(c - radius, c + radius + 1)
        for v in range(c - radius, c + radius + 1)
    ]
    weights = rng.standard_normal((3, len(low))) @ np.stack(low) * 5
    layer = torch.nn.Linear(size * size, 3).double()
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weights))
        layer.bias.zero_()
    return torch.nn.Sequential(torch.nn.Flatten(), layer)


def test_heatmap_is_zero_where_the_model_is_blind():
    model = _low_pass_model()
    rng = np.random.default_rng(1)
    x = torch.as_tensor(0.5 + 0.1 * rng.standard_normal((200, 1, 8, 8))).clamp(0, 1)
    with torch.no_grad():
        y = model(x).argmax(1)  # the clean error rate is 0
    heat = fourier_heatmap(model, x, y, eps=2.0, clamp=None)
    assert heat.shape == (8, 8) and not np.isnan(heat).any()
    f = np.abs(np.arange(8) - 4)
    high = np.maximum(f[:, None], f[None, :]) > 1
    np.testing.assert_array_equal(heat[high], 0.0)
    assert heat[~high].max() > 0.2
    np.testing.assert_array_equal(heat, np.roll(heat[::-1, ::-1], (1, 1), axis=(0, 1)))


def test_heatmap_entry_matches_a_manual_computation_and_stride_subsamples(model, data):
    x, y = data[1]
    x, y = x[:150], y[:150]
    heat = fourier_heatmap(model, x, y, eps=3.0, seed=5, batch_size=64)
    signs = torch.randint(0, 2, (150,), generator=torch.Generator().manual_seed(5)) * 2 - 1
    for u, v in [(4, 4), (1, 6), (6, 2)]:
        pert = x + 3.0 * signs.view(-1, 1, 1, 1) * torch.as_tensor(
            fourier_basis(8, u, v), dtype=torch.float32
        )
        with torch.no_grad():
            err = (model(pert.clamp(0, 1)).argmax(1) != y).float().mean().item()
        assert heat[u, v] == pytest.approx(err)
    coarse = fourier_heatmap(model, x, y, eps=3.0, seed=5, stride=2)
    computed = ~np.isnan(coarse)
    assert computed.sum() == 16 and computed[4, 4] and computed[0, 0] and not computed[1, 1]
    np.testing.assert_array_equal(coarse[computed], heat[computed])
    with pytest.raises(ValueError, match="fourier_heatmap needs images"):
        fourier_heatmap(model, x.flatten(1), y, eps=1.0)


# --------------------------------------------------------------------------- doctests
@pytest.mark.parametrize(
    "name", ["", ".linear", ".fgsm", ".pgd", ".deepfool", ".fourier", ".training"]
)
def test_docstring_examples_run(name):
    module = importlib.import_module("dlcourse.attacks" + name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
