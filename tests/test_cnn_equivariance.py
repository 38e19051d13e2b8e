"""Translations, rotations and the equivariance / invariance checks of dlcourse.cnn."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.cnn import (
    conv2d,
    equivariance_error,
    global_avg_pool,
    global_max_pool,
    invariance_error,
    max_pool2d,
    orbit_average,
    rotate90,
    rotation_group,
    translate,
    translation_group,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _shift(d, circular=True):
    return lambda t: translate(t, d, circular=circular)


def _images(n=6, size=16, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, size, size, generator=g, dtype=torch.float64).to(device)


def test_translate_matches_a_pixel_by_pixel_definition():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 7))
    for dy, dx in [(0, 0), (1, 2), (-2, 3), (6, -9)]:
        circ = translate(x, (dy, dx))
        flat = translate(x, (dy, dx), circular=False)
        for i in range(5):
            for j in range(7):
                np.testing.assert_array_equal(circ[:, i, j], x[:, (i - dy) % 5, (j - dx) % 7])
                inside = 0 <= i - dy < 5 and 0 <= j - dx < 7
                expected = x[:, i - dy, j - dx] if inside else 0.0
                np.testing.assert_array_equal(flat[:, i, j], expected)


def test_translate_torch_equals_numpy_and_does_not_modify_the_input():
    x = torch.randn(3, 6, 6)
    before = x.clone()
    for circular in (True, False):
        got = translate(x, (2, -1), circular=circular)
        assert isinstance(got, torch.Tensor)
        np.testing.assert_array_equal(got.numpy(), translate(x.numpy(), (2, -1), circular=circular))
    assert torch.equal(x, before)


def test_translate_int_shift_moves_a_1d_signal_and_shifts_compose():
    x = np.arange(6.0)
    np.testing.assert_array_equal(translate(x, 2), [4, 5, 0, 1, 2, 3])
    np.testing.assert_array_equal(translate(x, -2, circular=False), [2, 3, 4, 5, 0, 0])
    img = np.random.default_rng(1).standard_normal((5, 5))
    np.testing.assert_array_equal(
        translate(translate(img, (1, 2)), (3, -4)), translate(img, (4, -2))
    )
    np.testing.assert_array_equal(translate(translate(img, (2, 3)), (-2, -3)), img)  # inverse


def test_rotate90_matches_numpy_and_is_a_group_of_order_four():
    x = np.random.default_rng(0).standard_normal((2, 4, 4))
    np.testing.assert_array_equal(rotate90(x, 3), np.rot90(x, 3, axes=(1, 2)))
    t = torch.tensor(x)
    np.testing.assert_array_equal(rotate90(t, 1).numpy(), np.rot90(x, 1, axes=(1, 2)))
    np.testing.assert_array_equal(rotate90(rotate90(x, 1), 3), x)
    group = rotation_group()
    assert len(group) == 4
    np.testing.assert_array_equal(group[0](x), x)  # identity


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shift", [(1, 0), (3, -5), (-7, 2), (16, 16)])
def test_conv_with_circular_padding_is_translation_equivariant(shift, device):
    torch.manual_seed(0)
    x = _images(device=device)
    w = torch.randn(4, 1, 5, 5, dtype=torch.float64, device=device)

    def f(t):
        return conv2d(t, w, padding=2, padding_mode="circular")

    assert equivariance_error(f, _shift(shift), x) < 1e-6
    # in float32 too, the error is rounding only
    assert equivariance_error(lambda t: f(t.double()).float(), _shift(shift), x.float()) < 1e-6


def test_a_random_mlp_is_far_from_translation_equivariant():
    torch.manual_seed(0)
    x = _images()
    mlp = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Unflatten(1, (1, 16, 16)),
    ).double()
    for shift in [(1, 0), (0, 1), (3, -5)]:
        assert equivariance_error(mlp, _shift(shift), x) > 0.5


def test_zero_padded_conv_is_equivariant_away_from_the_border_only():
    torch.manual_seed(0)
    x = _images()
    w = torch.randn(3, 1, 3, 3, dtype=torch.float64)

    def f(t):
        return conv2d(t, w, padding=1)

    err = equivariance_error(f, _shift((2, 2)), x)
    assert 1e-3 < err < 1.0  # the wrapped-around rows and columns differ
    inner = (slice(None), slice(None), slice(3, -3), slice(3, -3))
    torch.testing.assert_close(f(translate(x, (2, 2)))[inner], translate(f(x), (2, 2))[inner])


def test_strided_conv_is_equivariant_only_to_multiples_of_the_stride():
    torch.manual_seed(0)
    x = _images()
    w = torch.randn(4, 1, 5, 5, dtype=torch.float64)

    def f(t):
        return conv2d(t, w, stride=2, padding=2, padding_mode="circular")

    assert equivariance_error(f, _shift((2, 4)), x, _shift((1, 2))) < 1e-10
    assert equivariance_error(f, _shift((1, 1)), x, _shift((1, 1))) > 0.1


def test_conv_is_not_rotation_equivariant_unless_the_filter_is_rotation_invariant():
    torch.manual_seed(0)
    x = _images()
    w = torch.randn(4, 1, 3, 3, dtype=torch.float64)

    def f(t):
        return conv2d(t, w, padding=1)

    assert equivariance_error(f, rotate90, x) > 0.2
    w_sym = sum(rotate90(w, k) for k in range(4))  # an invariant kernel: averaged over C4

    def g(t):
        return conv2d(t, w_sym, padding=1)

    assert equivariance_error(g, rotate90, x) < 1e-10


@pytest.mark.parametrize("pool", [global_max_pool, global_avg_pool])
def test_global_pooling_of_an_equivariant_map_is_exactly_invariant(pool):
    torch.manual_seed(0)
    x = _images()
    w = torch.randn(8, 1, 5, 5, dtype=torch.float64)

    def f(t):
        return pool(torch.relu(conv2d(t, w, padding=2, padding_mode="circular")))

    for shift in [(1, 0), (5, -3), (15, 15)]:
        assert invariance_error(f, _shift(shift), x) < 1e-12


def test_windowed_pooling_is_only_approximately_invariant_and_bigger_windows_help():
    torch.manual_seed(0)
    x = _images(n=8, size=16)
    w = torch.randn(8, 1, 5, 5, dtype=torch.float64)

    def features(t):
        return torch.relu(conv2d(t, w, padding=2, padding_mode="circular"))

    errors = []
    for k in (1, 2, 4, 8):
        f = (lambda t, k=k: max_pool2d(features(t), k)) if k > 1 else features
        errors.append(invariance_error(f, _shift((0, 1)), x))
    assert all(e > 0.02 for e in errors), errors  # never exactly invariant
    assert errors == sorted(errors, reverse=True), errors  # but less variant as k grows
    assert invariance_error(lambda t: global_max_pool(features(t)), _shift((0, 1)), x) < 1e-12


def test_orbit_average_is_exactly_invariant_for_a_finite_group():
    torch.manual_seed(0)
    x = _images(n=4, size=6)
    mlp = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(36, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)
    ).double()
    assert invariance_error(mlp, rotate90, x) > 0.05

    def averaged_rot(t):
        return orbit_average(mlp, t, rotation_group())

    assert invariance_error(averaged_rot, rotate90, x) < 1e-12

    def averaged_shift(t):
        return orbit_average(mlp, t, translation_group((6, 6)))

    assert len(translation_group((6, 6))) == 36
    assert invariance_error(averaged_shift, _shift((2, -1)), x) < 1e-12


def test_orbit_average_of_a_pixel_reader_is_the_mean_and_gradients_flow():
    x = torch.arange(12.0, dtype=torch.float64).reshape(3, 4).requires_grad_()
    avg = orbit_average(lambda t: t[0, 0], x, translation_group((3, 4)))
    torch.testing.assert_close(avg, x.mean())
    avg.backward()
    torch.testing.assert_close(x.grad, torch.full((3, 4), 1 / 12, dtype=torch.float64))


def test_errors_handle_a_zero_output_gracefully():
    x = np.random.default_rng(0).standard_normal((4, 4))
    assert equivariance_error(lambda t: 0 * t, _shift((1, 1)), x) == 0.0
    assert invariance_error(lambda t: np.zeros(3), _shift((1, 1)), x) == 0.0

    def first_row_marker(t):  # zero on x, non-zero on the shifted x
        return np.array([float(t[0, 0] == x[-1, -1])])

    assert invariance_error(first_row_marker, _shift((1, 1)), x) == 1.0


def test_errors_are_relative_and_returned_as_float():
    a = np.arange(9.0).reshape(3, 3)
    err = invariance_error(lambda t: t, rotate90, a)
    assert isinstance(err, float)
    assert err == pytest.approx(np.linalg.norm(np.rot90(a) - a) / np.linalg.norm(a))
    err = equivariance_error(lambda t: 2 * t, rotate90, a, transform_out=lambda t: t)
    assert err == pytest.approx(np.linalg.norm(2 * np.rot90(a) - 2 * a) / np.linalg.norm(2 * a))


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: translate(np.ones((3, 3)), (1.5, 0)), TypeError, "pair of ints"),
        (lambda: translate(np.ones(3), (1, 1)), ValueError, "at least 2 dimensions"),
        (lambda: rotate90(np.ones((3, 3)), 1.0), TypeError, "'k' argument.* must be an int"),
        (lambda: equivariance_error("f", rotate90, np.ones((3, 3))), TypeError, "'f'"),
        (lambda: invariance_error(np.sum, None, np.ones((3, 3))), TypeError, "'transform'"),
        (
            lambda: equivariance_error(lambda t: t[:, :2], rotate90, np.ones((3, 3))),
            ValueError,
            "transform_out",
        ),
        (lambda: orbit_average(np.sum, np.ones((3, 3)), []), ValueError, "at least one"),
        (lambda: translation_group((0, 3)), ValueError, "positive ints"),
    ],
)
def test_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
