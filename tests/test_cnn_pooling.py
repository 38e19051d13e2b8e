"""Pooling from scratch against torch.nn.functional.max_pool2d / avg_pool2d."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.cnn import (
    AvgPool2d,
    MaxPool2d,
    avg_pool2d,
    global_avg_pool,
    global_max_pool,
    max_pool2d,
    translate,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

CONFIGS = [  # kernel_size, stride, padding
    (2, None, 0),
    (3, None, 0),
    (3, 1, 1),
    (3, 2, 1),
    ((2, 3), (1, 2), (1, 1)),
    (4, 3, 2),
    (1, None, 0),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize(
    "ours,ref", [(max_pool2d, F.max_pool2d), (avg_pool2d, F.avg_pool2d)], ids=["max", "avg"]
)
def test_pooling_matches_torch_in_values_and_gradients(ours, ref, config, device):
    k, s, p = config
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 10, dtype=torch.float64, device=device, requires_grad=True)
    got, expected = ours(x, k, s, p), ref(x, k, s, p)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected)
    g = torch.randn_like(expected)
    torch.testing.assert_close(
        torch.autograd.grad(got, x, g)[0], torch.autograd.grad(expected, x, g)[0]
    )


@pytest.mark.parametrize("config", [(2, None, 0), (3, 1, 1), (3, 2, 1)], ids=str)
def test_max_pool_gradient_with_ties_goes_to_one_entry_as_in_torch(config):
    k, s, p = config
    x = torch.tensor(
        np.random.default_rng(0).integers(0, 3, (2, 2, 8, 8)), dtype=torch.float64
    ).requires_grad_()  # many equal values in every window
    got, expected = max_pool2d(x, k, s, p), F.max_pool2d(x, k, s, p)
    torch.testing.assert_close(got, expected)
    g = torch.ones_like(expected)
    gx, gx_ref = torch.autograd.grad(got, x, g)[0], torch.autograd.grad(expected, x, g)[0]
    # each window sends its whole gradient to exactly one winner: the totals agree
    assert float(gx.sum()) == float(gx_ref.sum()) == expected.numel()
    torch.testing.assert_close(gx, gx_ref)


def test_avg_pool_gradcheck_and_max_pool_random_shapes_float32():
    x = torch.randn(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: avg_pool2d(t, 3, 2, 1), (x,))
    rng = np.random.default_rng(1)
    for _ in range(30):
        k = int(rng.integers(1, 5))
        s = int(rng.integers(1, 4))
        p = int(rng.integers(0, k // 2 + 1))
        h, w = rng.integers(k, 12, size=2)
        xs = torch.randn(2, 3, int(h), int(w))
        for ours, ref in ((max_pool2d, F.max_pool2d), (avg_pool2d, F.avg_pool2d)):
            torch.testing.assert_close(ours(xs, k, s, p), ref(xs, k, s, p))


def test_unbatched_input_and_module_forms():
    x = torch.randn(3, 8, 8)
    torch.testing.assert_close(max_pool2d(x, 2), F.max_pool2d(x, 2))
    torch.testing.assert_close(MaxPool2d(3, 2, 1)(x[None]), torch.nn.MaxPool2d(3, 2, 1)(x[None]))
    torch.testing.assert_close(AvgPool2d(2)(x[None]), torch.nn.AvgPool2d(2)(x[None]))
    assert "kernel_size=3" in repr(MaxPool2d(3))


def test_max_pool_never_picks_the_padding():
    x = -torch.ones(1, 1, 4, 4)  # all negative: zero padding would win, -inf padding cannot
    assert torch.equal(max_pool2d(x, 3, 1, 1), -torch.ones(1, 1, 4, 4))


@pytest.mark.parametrize("device", DEVICES)
def test_global_pooling_values_and_invariance_to_circular_shifts(device):
    torch.manual_seed(0)
    x = torch.randn(4, 5, 7, 6, dtype=torch.float64, device=device)
    torch.testing.assert_close(global_max_pool(x), x.flatten(2).max(dim=2).values)
    torch.testing.assert_close(global_avg_pool(x), F.adaptive_avg_pool2d(x, 1)[..., 0, 0])
    for shift in [(1, 0), (3, -2), (6, 5)]:
        torch.testing.assert_close(global_max_pool(translate(x, shift)), global_max_pool(x))
        torch.testing.assert_close(global_avg_pool(translate(x, shift)), global_avg_pool(x))
    # any permutation of the pixels, in fact
    perm = torch.randperm(42)
    shuffled = x.flatten(2)[..., perm].reshape(x.shape)
    torch.testing.assert_close(global_max_pool(shuffled), global_max_pool(x))


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: max_pool2d(torch.zeros(1, 1, 4, 4), 2, padding=2), ValueError, "at most half"),
        (lambda: avg_pool2d(torch.zeros(1, 1, 4, 4), 0), ValueError, "'kernel_size'"),
        (lambda: max_pool2d(torch.zeros(1, 1, 4, 4), 2, stride=0), ValueError, "'stride'"),
        (lambda: max_pool2d(torch.zeros(1, 1, 2, 2), 3), ValueError, "larger than the padded"),
        (lambda: max_pool2d(torch.zeros(4, 4), 2), ValueError, r"shape \(N, C, H, W\)"),
        (lambda: max_pool2d(torch.zeros(1, 1, 4, 4, dtype=torch.long), 2), TypeError, "floating"),
        (lambda: global_max_pool(torch.zeros(4)), ValueError, "at least 2 dimensions"),
        (lambda: MaxPool2d(2, padding=3), ValueError, "at most half"),
    ],
)
def test_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
