"""The deformable-parts distance transform: brute force vs the parabola envelope vs
independent references (plain loops, scipy's Euclidean distance transform and maximum
filter), and max-pooling as the special case of a box cost."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from dlcourse.cnn import (
    box_cost,
    distance_transform,
    distance_transform_quadratic,
    max_pool2d,
    max_pool_via_distance_transform,
)


def _naive_1d(x, d):
    n = len(x)
    return np.array([max(x[q] - d(u - q) for q in range(n)) for u in range(n)])


def _naive_2d(x, d):
    h, w = x.shape
    out = np.full((h, w), -np.inf)
    for uy in range(h):
        for ux in range(w):
            for qy in range(h):
                for qx in range(w):
                    out[uy, ux] = max(out[uy, ux], x[qy, qx] - d(uy - qy, ux - qx))
    return out


def test_brute_force_matches_plain_loops_for_arbitrary_costs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(13)
    for d in (
        lambda r: np.abs(r) ** 1.5,
        lambda r: 0.3 * r**2 - r,
        lambda r: np.where(r > 0, 1.0, 0.0),
    ):
        np.testing.assert_allclose(distance_transform(x, d), _naive_1d(x, d), rtol=1e-12)
    x2 = rng.standard_normal((5, 6))

    def d2(ry, rx):
        return np.abs(ry) + 0.5 * rx**2

    np.testing.assert_allclose(distance_transform(x2, d2), _naive_2d(x2, d2), rtol=1e-12)


def test_argmax_attains_the_maximum_and_is_the_first_best():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, 15).astype(float)  # ties

    def d(r):
        return np.abs(r)

    dt, arg = distance_transform(x, d, return_argmax=True)
    u = np.arange(15)
    np.testing.assert_allclose(x[arg] - d(u - arg), dt)
    for i in range(15):
        scores = x - d(i - u)
        assert arg[i] == np.flatnonzero(scores == scores.max())[0]
    x2 = rng.standard_normal((4, 7))
    dt2, (qy, qx) = distance_transform(x2, lambda ry, rx: ry**2 + rx**2, return_argmax=True)
    uy, ux = np.indices(x2.shape)
    np.testing.assert_allclose(x2[qy, qx] - (uy - qy) ** 2 - (ux - qx) ** 2, dt2)


@pytest.mark.parametrize("seed", range(6))
def test_quadratic_envelope_equals_brute_force_1d(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(1, 40))
        x = rng.standard_normal(n) * rng.uniform(0.1, 30)
        if rng.random() < 0.5:
            x = np.round(x)  # ties between parabolas
        if rng.random() < 0.3:
            x[rng.random(n) < 0.4] = -np.inf  # forbidden locations
        a = float(rng.uniform(0.01, 5))
        b = float(rng.uniform(-4, 4)) if rng.random() < 0.7 else 0.0
        brute = distance_transform(x, lambda r, a=a, b=b: a * r**2 + b * r)
        fast, arg = distance_transform_quadratic(x, a, b, return_argmax=True)
        finite = np.isfinite(brute)
        np.testing.assert_array_equal(np.isfinite(fast), finite)
        np.testing.assert_allclose(fast[finite], brute[finite], rtol=1e-10, atol=1e-9)
        r = np.arange(n) - arg
        np.testing.assert_allclose((x[arg] - a * r**2 - b * r)[finite], fast[finite], atol=1e-9)


def test_quadratic_envelope_equals_brute_force_2d_separable():
    rng = np.random.default_rng(7)
    for a, b in [(1.0, 0.0), ((0.3, 2.0), (0.5, -1.0)), ((0.05, 0.05), 0.0)]:
        x = rng.standard_normal((9, 12)) * 5
        x[rng.random(x.shape) < 0.1] = -np.inf
        ay, ax = (a, a) if np.isscalar(a) else a
        by, bx = (b, b) if np.isscalar(b) else b
        coef = (ay, by, ax, bx)
        brute = distance_transform(
            x, lambda ry, rx, c=coef: c[0] * ry**2 + c[1] * ry + c[2] * rx**2 + c[3] * rx
        )
        fast, (qy, qx) = distance_transform_quadratic(x, a, b, return_argmax=True)
        np.testing.assert_allclose(fast, brute, rtol=1e-10, atol=1e-9)
        uy, ux = np.indices(x.shape)
        ry, rx = uy - qy, ux - qx
        np.testing.assert_allclose(x[qy, qx] - ay * ry**2 - by * ry - ax * rx**2 - bx * rx, fast)


def test_quadratic_transform_of_a_feature_mask_is_minus_the_squared_euclidean_distance():
    # x = 0 on feature pixels, -inf elsewhere: D(u) = -a * min_q |u - q|^2, the classical
    # distance transform, which scipy computes independently (distance to the nearest zero)
    rng = np.random.default_rng(3)
    mask = rng.random((20, 17)) < 0.05
    mask[0, 0] = True
    x = np.where(mask, 0.0, -np.inf)
    edt = ndimage.distance_transform_edt(~mask)
    np.testing.assert_allclose(distance_transform_quadratic(x, 0.7), -0.7 * edt**2, atol=1e-9)
    np.testing.assert_allclose(
        distance_transform_quadratic(x[3], 1.0), _naive_1d(x[3], lambda r: r**2)
    )


def test_box_cost_gives_a_sliding_window_max():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 9))
    dt = distance_transform(x, box_cost(-1, 1))
    np.testing.assert_allclose(dt, ndimage.maximum_filter(x, size=3, mode="constant", cval=-np.inf))
    ref = F.max_pool2d(torch.tensor(x)[None, None], 3, stride=1, padding=1)[0, 0].numpy()
    np.testing.assert_allclose(dt, ref)
    x1 = rng.standard_normal(10)
    np.testing.assert_allclose(
        distance_transform(x1, box_cost(-2, 2)),
        ndimage.maximum_filter1d(x1, size=5, mode="constant", cval=-np.inf),
    )


@pytest.mark.parametrize("k,s", [(2, None), (3, None), (3, 1), (3, 2), (4, 3)])
def test_max_pool_is_a_subsampled_distance_transform_with_a_box_cost(k, s):
    x = np.random.default_rng(k).standard_normal((10, 11))
    got = max_pool_via_distance_transform(x, k, s)
    expected = max_pool2d(torch.tensor(x)[None, None], k, s)[0, 0].numpy()
    np.testing.assert_allclose(got, expected)


def test_torch_in_torch_out():
    x = torch.randn(6, 7)
    out = distance_transform_quadratic(x, 0.5)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    torch.testing.assert_close(
        out, distance_transform(x, lambda ry, rx: 0.5 * (ry**2 + rx**2)), rtol=1e-5, atol=1e-5
    )
    torch.testing.assert_close(
        max_pool_via_distance_transform(x, 2), F.max_pool2d(x[None, None], 2)[0, 0]
    )


def test_a_stiffer_spring_keeps_parts_closer_and_scores_lower():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(50) * 3
    u = np.arange(50)
    prev_dist, prev = np.inf, np.inf * np.ones(50)
    for a in (0.01, 0.1, 1.0, 10.0):
        dt, arg = distance_transform_quadratic(x, a, return_argmax=True)
        dist = np.abs(u - arg).mean()
        assert dist <= prev_dist and np.all(dt <= prev + 1e-12) and np.all(dt >= x - 1e-12)
        prev_dist, prev = dist, dt
    np.testing.assert_allclose(distance_transform_quadratic(x, 1e6), x)  # infinitely stiff


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: distance_transform(np.ones((2, 2, 2)), np.abs), ValueError, "1-D or 2-D"),
        (lambda: distance_transform(np.ones(3), "abs"), TypeError, "'d' argument.* must be"),
        (lambda: distance_transform(np.array([1.0, np.nan]), np.abs), ValueError, "NaN"),
        (lambda: distance_transform(np.ones(3), lambda r: np.nan * r), ValueError, "NaN"),
        (lambda: distance_transform_quadratic(np.ones(3), 0.0), ValueError, "'a' argument"),
        (lambda: distance_transform_quadratic(np.ones(3), -1.0), ValueError, "> 0"),
        (lambda: distance_transform_quadratic(np.ones((3, 3)), (1.0,)), TypeError, "one per axis"),
        (lambda: distance_transform_quadratic(np.ones(3), 1.0, np.inf), ValueError, "'b'"),
        (lambda: box_cost(2, 1), ValueError, "low <= high"),
        (lambda: max_pool_via_distance_transform(np.ones(4), 2), ValueError, "2-D"),
        (lambda: max_pool_via_distance_transform(np.ones((2, 2)), 3), ValueError, "larger"),
    ],
)
def test_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
