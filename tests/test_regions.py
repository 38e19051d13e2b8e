"""dlcourse.regions: ReLU piecewise-linear functions and linear-region counts.

References: np.interp for the interpolant, dense-grid brute force for the 1-D breakpoints,
the line-arrangement formula (regions = 1 + lines + crossings inside the box) for one hidden
layer in 2-D, the grid pattern count for deeper nets, forward hooks for the patterns.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from dlcourse.regions import (
    activation_patterns,
    breakpoints_1d,
    count_regions_1d,
    count_regions_2d,
    count_regions_2d_exact,
    pattern_ids,
    pwl_slopes,
    region_map,
    relu_pwl,
)

pytestmark = pytest.mark.timeout(120)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _net(sizes, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    mods = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        lin = nn.Linear(a, b).to(dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(b, a, generator=g, dtype=dtype) / np.sqrt(a))
            lin.bias.copy_(0.5 * torch.randn(b, generator=g, dtype=dtype))
        mods.append(lin)
        if i < len(sizes) - 2:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


# ----------------------------------------------------------------------------- relu_pwl
@pytest.mark.parametrize("device", DEVICES)
def test_relu_pwl_equals_the_interpolant_and_continues_the_end_slopes(device):
    rng = np.random.default_rng(0)
    knots = np.sort(rng.uniform(-3, 3, 9))
    values = rng.standard_normal(9)
    net = relu_pwl(knots, values, dtype=torch.float64, device=device)
    x = np.linspace(knots[0], knots[-1], 2001)
    got = net(torch.tensor(x[:, None], device=device)).detach().cpu().numpy()[:, 0]
    np.testing.assert_allclose(got, np.interp(x, knots, values), atol=1e-12)
    s = pwl_slopes(knots, values)
    far = np.array([[knots[0] - 2.0], [knots[-1] + 3.0]])
    out = net(torch.tensor(far, device=device)).detach().cpu().numpy()[:, 0]
    np.testing.assert_allclose(out, [values[0] - 2 * s[0], values[-1] + 3 * s[-1]], atol=1e-12)
    assert net[0].out_features == 9  # one hidden unit per knot


def test_relu_pwl_breakpoints_are_the_inner_knots_where_the_slope_bends():
    knots = np.array([-1.54, -1.0, -0.5, 0.2, 0.55, 1.0])
    values = np.array([0.0, 1.0, -0.5, 0.3, 2.0, 0.0])
    net = relu_pwl(knots, values, dtype=torch.float64)
    np.testing.assert_allclose(breakpoints_1d(net, -3, 3), knots[:-1], atol=1e-12)
    assert count_regions_1d(net, -3, 3) == len(knots)


def test_relu_pwl_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    relu_pwl([0, 1, 2], [0, 1, 0])
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize(
    "knots, values, match",
    [
        ([0, 2, 1], [0, 1, 2], "strictly increasing.*unsorted"),
        ([0, 1, 1], [0, 1, 2], "strictly increasing.*duplicate"),
        ([0, 1, 2], [0, 1], "same length"),
        ([0], [1], "at least 2 knots"),
        ([[0, 1]], [0, 1], "'knots' argument.*1-D"),
        ([0, np.nan], [0, 1], "'knots' argument.*finite"),
    ],
)
def test_relu_pwl_refuses_bad_knots(knots, values, match):
    with pytest.raises(ValueError, match=match):
        relu_pwl(knots, values)


# ----------------------------------------------------------------------------- patterns
def test_activation_patterns_match_forward_hooks():
    net = _net([3, 7, 5, 2], seed=1)
    x = torch.randn(50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    seen = []
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append(o > 0)) for m in net[::2][:-1]]
    net(x)
    for h in hooks:
        h.remove()
    expected = torch.cat(seen, dim=1)
    assert torch.equal(activation_patterns(net, x), expected)
    assert activation_patterns(net, x.numpy()).shape == (50, 12)


def test_pattern_ids_label_equal_rows_equally():
    rng = np.random.default_rng(0)
    p = rng.random((200, 11)) > 0.8
    ids = pattern_ids(p)
    for i, j in [(0, 1), (3, 7), (10, 150)]:
        assert (ids[i] == ids[j]) == bool(np.all(p[i] == p[j]))
    assert len(np.unique(ids)) == len({r.tobytes() for r in p})
    assert ids[0] == 0


# ----------------------------------------------------------------------------- 1-D
def _grid_switches(net, lo, hi, n=400_001):
    x = torch.linspace(lo, hi, n, dtype=torch.float64)[:, None]
    ids = pattern_ids(activation_patterns(net, x))
    change = np.flatnonzero(ids[1:] != ids[:-1])
    return x[:, 0].numpy()[change], (hi - lo) / (n - 1)


@pytest.mark.parametrize("sizes", [[1, 8, 1], [1, 6, 6, 1], [1, 5, 5, 5, 1]])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_count_regions_1d_matches_a_dense_grid(sizes, seed):
    net = _net(sizes, seed=seed)
    b = breakpoints_1d(net, -4.0, 4.0)
    grid, h = _grid_switches(net, -4.0, 4.0)
    gaps = np.diff(np.concatenate([[-4.0], b, [4.0]]))
    if gaps.min() > 3 * h:  # every region wider than the grid's spacing: grid sees them all
        assert len(grid) == len(b)
        assert np.all(np.abs(grid - b) <= h + 1e-12)
    else:
        assert len(grid) <= len(b)
    assert count_regions_1d(net, -4.0, 4.0) == len(b) + 1


def test_count_regions_1d_along_a_segment_in_the_plane():
    net = _net([2, 10, 10, 1], seed=3)
    a, c = np.array([-2.0, -1.0]), np.array([2.0, 1.5])
    t = breakpoints_1d(net, a, c)
    assert np.all((t > 0) & (t < 1)) and np.all(np.diff(t) > 0)
    s = np.linspace(0, 1, 200_001)
    pts = torch.tensor(a[None] + s[:, None] * (c - a)[None])
    ids = pattern_ids(activation_patterns(net, pts))
    assert np.count_nonzero(ids[1:] != ids[:-1]) == len(t)
    assert count_regions_1d(net, a, c) == len(t) + 1


def test_count_regions_1d_merges_a_unit_that_only_touches_zero():
    net = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0], [1.0]]))
        net[0].bias.copy_(torch.tensor([0.0, 0.0]))  # two units switching at the same x
    assert count_regions_1d(net, -1, 1) == 2


# ----------------------------------------------------------------------------- 2-D
def _arrangement_regions(W, b, box):
    """1 + (lines meeting the box) + (crossings inside the box), lines in general position."""
    x0, x1, y0, y1 = box
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    n_lines = sum(1 for w, c in zip(W, b, strict=True) if np.ptp(np.sign(corners @ w + c)) > 0)
    crossings = 0
    for i, j in itertools.combinations(range(len(W)), 2):
        p = np.linalg.solve(np.stack([W[i], W[j]]), -np.array([b[i], b[j]]))
        crossings += int(x0 < p[0] < x1 and y0 < p[1] < y1)
    return 1 + n_lines + crossings


@pytest.mark.parametrize("seed", range(5))
def test_exact_2d_count_of_one_layer_is_the_line_arrangement_formula(seed):
    net = _net([2, 12, 1], seed=seed)
    box = (-2.0, 2.0, -1.5, 2.5)
    W, b = net[0].weight.detach().numpy(), net[0].bias.detach().numpy()
    assert count_regions_2d_exact(net, box) == _arrangement_regions(W, b, box)


@pytest.mark.parametrize("sizes", [[2, 6, 6, 1], [2, 5, 5, 5, 1]])
def test_exact_2d_count_agrees_with_patterns_on_a_fine_grid(sizes):
    net = _net(sizes, seed=4)
    box = (-2.0, 2.0, -2.0, 2.0)
    n, polys = count_regions_2d_exact(net, box, return_polygons=True)
    grid = count_regions_2d(net, box, resolution=600)
    assert grid <= n
    assert grid >= 0.95 * n  # only slivers thinner than a cell are missed
    # every polygon is one region: its centroid's pattern is unique among polygons
    cents = torch.tensor(np.array([p.mean(axis=0) for p in polys]))
    assert len(np.unique(pattern_ids(activation_patterns(net, cents)))) == n
    # the polygons tile the box
    area = sum(
        0.5 * abs(np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1)))
        for p in polys
    )
    assert area == pytest.approx(16.0, rel=1e-9)


def test_region_map_quadrants_and_layout():
    net = nn.Sequential(nn.Linear(2, 1), nn.ReLU(), nn.Linear(1, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[0.0, 1.0]]))  # on where y > 0
        net[0].bias.zero_()
    lab = region_map(net, (-1, 1, -1, 1), 10)
    assert (lab[:5] == lab[0, 0]).all() and (lab[5:] != lab[0, 0]).all()  # rows follow y
    assert count_regions_2d(net, (-1, 1, -1, 1), 10) == 2


@pytest.mark.parametrize("device", DEVICES)
def test_counts_leave_the_model_and_rng_alone(device):
    net = _net([2, 8, 8, 1], seed=5).to(device).train()
    before = [p.detach().clone() for p in net.parameters()]
    state = torch.random.get_rng_state()
    count_regions_2d(net, (-1, 1, -1, 1), 32)
    count_regions_2d_exact(net, (-1, 1, -1, 1))
    count_regions_1d(net, [-1.0, 0.0], [1.0, 0.5])
    x = torch.zeros(3, 2, dtype=torch.float64, device=device)
    assert activation_patterns(net, x).device == x.device
    assert net.training
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    assert torch.equal(state, torch.random.get_rng_state())
    assert next(net.parameters()).device.type == device


@pytest.mark.parametrize("device", DEVICES)
def test_counts_are_the_same_on_cpu_and_the_device(device):
    net = _net([2, 10, 10, 1], seed=6)
    box = (-1.5, 1.5, -1.5, 1.5)
    ref = count_regions_2d(net, box, 128)
    assert count_regions_2d(net.to(device), box, 128) == ref
    assert count_regions_1d(net, [-1.5, 0], [1.5, 0]) == count_regions_1d(
        net.cpu(), [-1.5, 0], [1.5, 0]
    )


# ----------------------------------------------------------------------------- errors
def test_clear_errors():
    tanh = nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match="Tanh.*nn.Linear and nn.ReLU"):
        count_regions_1d(tanh, 0, 1)
    with pytest.raises(ValueError, match="LeakyReLU"):
        activation_patterns(
            nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(), nn.Linear(3, 1)), torch.zeros(1, 2)
        )
    with pytest.raises(TypeError, match="'model' argument.*nn.Sequential"):
        count_regions_1d(nn.Linear(1, 1), 0, 1)
    net = _net([2, 4, 1])
    with pytest.raises(ValueError, match="'box' argument.*empty"):
        count_regions_2d(net, (1, 1, 0, 1), 8)
    with pytest.raises(ValueError, match="'box' argument.*empty"):
        count_regions_2d_exact(net, (0, 1, 2, 1))
    with pytest.raises(ValueError, match="'box' argument.*4 numbers"):
        count_regions_2d(net, (0, 1, 0), 8)
    with pytest.raises(ValueError, match="'resolution' argument.*integer >= 1"):
        count_regions_2d(net, (0, 1, 0, 1), 0)
    with pytest.raises(ValueError, match=r"'x' argument must have shape \(n, 2\)"):
        activation_patterns(net, torch.zeros(4, 3))
    with pytest.raises(ValueError, match="'x' argument.*2-D"):
        activation_patterns(net, torch.zeros(4))
    with pytest.raises(ValueError, match="lo < hi"):
        count_regions_1d(_net([1, 3, 1]), 1.0, 1.0)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        count_regions_1d(net, 0.0, 1.0)
    with pytest.raises(ValueError, match="2 input features"):
        count_regions_2d(_net([3, 4, 1]), (0, 1, 0, 1), 8)
    with pytest.raises(ValueError, match="max_regions"):
        count_regions_2d_exact(_net([2, 30, 1]), (-3, 3, -3, 3), max_regions=5)
