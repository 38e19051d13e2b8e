"""The synthetic cue-conflict images and the shape-bias statistic."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.interpret import cue_conflict_images, shape_bias

pytestmark = pytest.mark.timeout(60)


def test_images_are_binary_and_reproducible():
    s = np.array([0, 1, 2, 3, 0])
    t = np.array([0, 0, 1, 2, 3])
    a = cue_conflict_images(s, t, seed=1)
    assert a.shape == (5, 1, 28, 28) and a.dtype == np.float32
    assert set(np.unique(a)) <= {0.0, 1.0}
    assert np.array_equal(a, cue_conflict_images(s, t, seed=1))
    assert not np.array_equal(a, cue_conflict_images(s, t, seed=2))


def test_textures_have_their_orientation():
    n = 40
    for tex, (axis_same, axis_diff) in {0: (1, 0), 1: (0, 1)}.items():
        x = cue_conflict_images(np.zeros(n, int), np.full(n, tex), seed=0)[:, 0]
        # inside a square, horizontal stripes are constant along rows (axis 1), vary along axis 0
        centre = x[:, 10:18, 10:18]
        var_same = np.abs(np.diff(centre, axis=axis_same + 1)).mean()
        var_diff = np.abs(np.diff(centre, axis=axis_diff + 1)).mean()
        assert var_same < 0.01 < var_diff


def test_shapes_differ_in_area_in_the_expected_order():
    n = 50
    area = {k: cue_conflict_images(np.full(n, k), np.full(n, 2), seed=k).mean() for k in range(4)}
    # square > disk (pi 1.15^2 / 4 ~ 1.04 of the square, but clipped less) > triangle, cross
    assert area[0] > area[2] and area[0] > area[3] and area[1] > area[2]


def test_shape_bias_by_hand():
    shapes = [0, 1, 2, 3, 0]
    textures = [1, 2, 3, 0, 0]  # the last image has no conflict: ignored
    assert shape_bias([0, 1, 2, 3, 0], shapes, textures) == 1.0
    assert shape_bias([1, 2, 3, 0, 0], shapes, textures) == 0.0
    assert shape_bias([0, 2, 0, 1, 1], shapes, textures) == 0.5
    assert np.isnan(shape_bias([2, 0, 1, 1, 1], shapes, textures))


def test_errors():
    with pytest.raises(ValueError, match="same length"):
        cue_conflict_images([0, 1], [0])
    with pytest.raises(ValueError, match="0..3"):
        cue_conflict_images([0, 4], [0, 1])
    with pytest.raises(ValueError, match="'size' argument"):
        cue_conflict_images([0], [0], size=8)
