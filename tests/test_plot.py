"""Tests of dlcourse.plot: helpers draw on the given Axes, return it, and validate inputs."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlcourse import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_helpers_draw_on_the_given_axes():
    fig, ax = plt.subplots()
    assert plot.quadratic_contour(np.diag([1.0, 10.0]), ax=ax) is ax
    assert plot.trajectory(np.array([[1.0, 1.0], [0.0, 0.0]]), ax=ax, label="GD") is ax
    assert plot.loss_curves({"GD": [1.0, 0.5]}, ax=ax) is ax
    assert len(fig.axes) == 1


def test_trajectory_marks_start_and_end():
    path = np.array([[1.0, 2.0], [0.5, 1.0], [0.0, 0.0]])
    ax = plot.trajectory(path)
    line, start, end = ax.lines
    np.testing.assert_array_equal(line.get_xydata(), path)
    np.testing.assert_array_equal(start.get_xydata(), path[:1])
    np.testing.assert_array_equal(end.get_xydata(), path[-1:])


def test_contour_respects_limits_and_does_not_show(monkeypatch):
    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(True))
    ax = plot.contour2d(lambda x, y: x**2 + y**2, (-2, 3), (-1, 1), n=30, log=True)
    assert tuple(map(float, ax.get_xlim())) == (-2.0, 3.0)
    assert not shown


def test_loss_curves_log_scale_and_abscissae():
    ax = plot.loss_curves({"a": [1.0, 0.1]}, x={"a": [1, 2]}, logy=True)
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2])


def test_validation():
    with pytest.raises(ValueError, match="'xlim'"):
        plot.contour2d(lambda x, y: x, (1, 0), (0, 1))
    with pytest.raises(ValueError, match="'path'"):
        plot.trajectory(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="'H'"):
        plot.quadratic_contour([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="'curves'"):
        plot.loss_curves({})
