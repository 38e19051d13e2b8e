"""Figure helpers shared by the chapters.

First used in :ref:`training` (``book/training.ipynb``) for optimization
trajectories on 2-D loss surfaces, e.g. gradient descent and momentum on the
quadratic bowl :math:`L(w) = \\tfrac12 w^\\top H w`. Every helper draws on the
``Axes`` it is given (or on a new one), returns that ``Axes``, and never calls
``plt.show()``: the notebook decides when a figure is finished.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ._validation import InvalidParameterError, check_scalar, invalid

__all__ = ["contour2d", "quadratic_contour", "trajectory", "loss_curves"]


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    return ax


def _check_lim(name: str, lim) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in lim)
    except (TypeError, ValueError):
        raise invalid(name, "a pair (low, high)", lim) from None
    if not lo < hi:
        raise InvalidParameterError(f"The '{name}' argument must satisfy low < high. Got {lim!r}.")
    return lo, hi


def contour2d(
    f: Callable[[np.ndarray, np.ndarray], np.ndarray],
    xlim: Sequence[float],
    ylim: Sequence[float],
    ax=None,
    n: int = 200,
    levels: int | Sequence[float] = 20,
    log: bool = False,
    cmap: str = "viridis",
):
    """Contour lines of a function of two variables.

    Parameters
    ----------
    f : callable
        ``f(X, Y)`` takes two arrays of shape (n, n) (a grid) and returns the
        values, shape (n, n). NumPy expressions broadcast as needed.
    xlim, ylim : pair of float
        Plotted rectangle.
    ax : matplotlib Axes, optional
        Drawn on a new 4x4-inch figure when omitted.
    n : int
        Grid points per axis.
    levels : int or sequence of float
        Number of contour levels, or the levels themselves.
    log : bool
        Space the levels geometrically (for values spanning decades; ``f`` > 0).
    cmap : str
        Matplotlib colormap name.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = contour2d(lambda x, y: x**2 + 10 * y**2, (-1, 1), (-1, 1), levels=5)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('$w_1$', '$w_2$')
    >>> plt.close("all")
    """
    x0, x1 = _check_lim("xlim", xlim)
    y0, y1 = _check_lim("ylim", ylim)
    n = check_scalar(n, "n", int, low=2)
    ax = _axes(ax)
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    Z = np.asarray(f(X, Y), dtype=float)
    if log:
        if np.isscalar(levels) or isinstance(levels, (int, np.integer)):
            lo = max(Z[Z > 0].min(), Z.max() * 1e-6)
            levels = np.geomspace(lo, Z.max(), int(levels))
    ax.contour(X, Y, Z, levels=levels, cmap=cmap, linewidths=0.8)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.grid(False)
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    return ax


def quadratic_contour(H, xlim=(-1.0, 1.0), ylim=(-1.0, 1.0), ax=None, levels: int = 12):
    """Contours of the quadratic bowl :math:`L(w) = \\tfrac12 w^\\top H w` in 2-D.

    Parameters
    ----------
    H : array-like of shape (2, 2)
        Symmetric positive semi-definite Hessian.
    xlim, ylim : pair of float
    ax : matplotlib Axes, optional
    levels : int
        Number of (geometrically spaced) levels.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = quadratic_contour([[1.0, 0.0], [0.0, 10.0]])
    >>> tuple(float(v) for v in ax.get_xlim())
    (-1.0, 1.0)
    >>> plt.close("all")
    """
    H = np.asarray(H, dtype=float)
    if H.shape != (2, 2) or not np.allclose(H, H.T):
        raise invalid("H", "a symmetric (2, 2) matrix", got=f"{H.tolist()}")

    def f(x, y):
        return 0.5 * (H[0, 0] * x * x + 2 * H[0, 1] * x * y + H[1, 1] * y * y)

    return contour2d(f, xlim, ylim, ax=ax, levels=levels, log=True, cmap="Greys_r")


def trajectory(
    path,
    ax=None,
    label: str | None = None,
    color=None,
    marker: str = "o",
    markersize: float = 2.5,
    **kwargs,
):
    """Draw an optimization path :math:`w_0, w_1, \\dots` in the plane.

    The start is marked with a hollow circle, the end with a star.

    Parameters
    ----------
    path : array-like of shape (T, 2)
        Iterates, one per row.
    ax : matplotlib Axes, optional
    label, color, marker, markersize
        Passed to ``Axes.plot``.
    **kwargs
        More ``Axes.plot`` keyword arguments.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = trajectory([[1.0, 1.0], [0.5, -0.5], [0.0, 0.0]], label="GD")
    >>> len(ax.lines)  # path, start, end
    3
    >>> plt.close("all")
    """
    path = np.asarray(path, dtype=float)
    if path.ndim != 2 or path.shape[1] != 2 or path.shape[0] < 1:
        raise invalid("path", "of shape (T, 2) with T >= 1", got=f"{path.shape}")
    ax = _axes(ax)
    (line,) = ax.plot(
        path[:, 0],
        path[:, 1],
        marker=marker,
        markersize=markersize,
        linewidth=1.0,
        label=label,
        color=color,
        **kwargs,
    )
    c = line.get_color()
    ax.plot(*path[0], marker="o", markersize=7, markerfacecolor="none", color=c)
    ax.plot(*path[-1], marker="*", markersize=9, color=c)
    return ax


def loss_curves(
    curves: Mapping[str, Sequence[float]],
    ax=None,
    logy: bool = True,
    xlabel: str = "iteration",
    ylabel: str = "loss",
    x=None,
):
    """Plot one curve per entry of ``curves`` (label -> values), with a legend.

    Parameters
    ----------
    curves : mapping of str to array-like of shape (T,)
    ax : matplotlib Axes, optional
    logy : bool
        Logarithmic y axis (non-positive values are masked).
    xlabel, ylabel : str
    x : mapping of str to array-like, optional
        Abscissae per label; ``range(T)`` when omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = loss_curves({"a": [1.0, 0.1, 0.01], "b": [1.0, 0.5, 0.25]})
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['a', 'b']
    >>> plt.close("all")
    """
    if not isinstance(curves, Mapping) or not curves:
        raise InvalidParameterError(
            "The 'curves' argument must be a non-empty mapping label -> values."
        )
    ax = _axes(ax)
    for name, values in curves.items():
        v = np.asarray(values, dtype=float)
        xs = np.arange(len(v)) if x is None else np.asarray(x[name], dtype=float)
        ax.plot(xs, v, label=name, linewidth=1.2)
    if logy:
        ax.set_yscale("log", nonpositive="mask")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    return ax
