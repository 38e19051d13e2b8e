r"""Linear regions of a ReLU network on a 2-D box: activation patterns on a grid, and exactly.

Taught in *From kernels to neural networks* (``book/kernels-to-networks.ipynb``).

*Grid count.* Evaluate the activation pattern (:func:`~dlcourse.regions.activation_patterns`)
at the ``resolution x resolution`` centres of a grid on the box and count distinct patterns.
Regions smaller than a cell can be missed, so this is a lower bound that grows to the exact
count as the grid is refined.

*Exact count* (small networks). Start from the box as one convex polygon. Inside a polygon on
which every earlier unit keeps its state, a unit :math:`z_j` of the next layer is affine,

.. math::

    z_j(x) = w^\top x + c ,

so its zero set is a straight line and it cuts the polygon into at most two convex polygons
(half-plane clipping; :math:`z_j` is interpolated linearly along the edges, which is exact
since it is affine on the polygon). Cutting every polygon by every unit, layer after layer,
leaves one polygon per activation region. Polygons of area below ``1e-12`` of the box's are
dropped (a unit touching a corner).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, as_float_array, check_scalar
from ._net import forward_pre, model_device, relu_layers
from .patterns import activation_patterns, pattern_ids

__all__ = ["check_box", "region_map", "count_regions_2d", "count_regions_2d_exact"]


def check_box(box: Any) -> tuple[float, float, float, float]:
    """Validate ``box = (x_min, x_max, y_min, y_max)`` and return it as floats.

    Examples
    --------
    >>> check_box([-1, 1, 0, 2])
    (-1.0, 1.0, 0.0, 2.0)
    """
    b = as_float_array(box, "box", ndim=1)
    if b.shape != (4,):
        raise InvalidParameterError(
            f"The 'box' argument must be (x_min, x_max, y_min, y_max), 4 numbers. "
            f"Got {b.shape[0]} numbers."
        )
    if not (b[0] < b[1] and b[2] < b[3]):
        raise InvalidParameterError(
            f"The 'box' argument (x_min, x_max, y_min, y_max) is empty: it needs "
            f"x_min < x_max and y_min < y_max. Got {tuple(float(v) for v in b)}."
        )
    return tuple(float(v) for v in b)  # type: ignore[return-value]


def _two_inputs(layers: list) -> None:
    if layers[0][0].shape[1] != 2:
        raise InvalidParameterError(
            f"The 'model' argument must take 2 input features for a 2-D region count; its "
            f"first nn.Linear takes {layers[0][0].shape[1]}."
        )


def region_map(model: Any, box: Any, resolution: int = 256, *, batch_size: int = 65536):
    """Label every cell of a grid on ``box`` by its activation pattern.

    Parameters
    ----------
    model : torch.nn.Sequential
        ``Linear(2, .), ReLU, ..., Linear``.
    box : sequence of 4 floats
        ``(x_min, x_max, y_min, y_max)``; must not be empty.
    resolution : int
        Cells per side; the patterns are read at the cell centres.
    batch_size : int
        Points per forward pass.

    Returns
    -------
    ndarray of int64, shape (resolution, resolution)
        ``labels[i, j]`` is the region id of the centre with ``y`` index ``i`` and ``x``
        index ``j`` (image layout, ``y`` growing with ``i``), ids numbered by first
        appearance.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    >>> region_map(net, (-1, 1, -1, 1), 8).shape
    (8, 8)
    """
    import torch

    layers, _ = relu_layers(model)
    _two_inputs(layers)
    x0, x1, y0, y1 = check_box(box)
    resolution = check_scalar(resolution, "resolution", int, low=1)
    batch_size = check_scalar(batch_size, "batch_size", int, low=1)
    xs = x0 + (np.arange(resolution) + 0.5) * (x1 - x0) / resolution
    ys = y0 + (np.arange(resolution) + 0.5) * (y1 - y0) / resolution
    gx, gy = np.meshgrid(xs, ys)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    dev = model_device(model)
    dtype = next(model.parameters()).dtype
    pats = []
    for s in range(0, pts.shape[0], batch_size):
        xb = torch.as_tensor(pts[s : s + batch_size], dtype=dtype, device=dev)
        pats.append(activation_patterns(model, xb).cpu().numpy())
    return pattern_ids(np.concatenate(pats, axis=0)).reshape(resolution, resolution)


def count_regions_2d(model: Any, box: Any, resolution: int = 256) -> int:
    """Number of distinct activation patterns at the centres of a grid on ``box``.

    A lower bound on the number of linear regions that meet the box (a region thinner than a
    cell can be missed); :func:`count_regions_2d_exact` gives the exact number for small
    networks.

    Parameters
    ----------
    model : torch.nn.Sequential
        ``Linear(2, .), ReLU, ..., Linear`` (any other activation raises).
    box : sequence of 4 floats
        ``(x_min, x_max, y_min, y_max)``.
    resolution : int
        Grid cells per side.

    Returns
    -------
    int

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.eye(2))
    ...     _ = net[0].bias.zero_()
    >>> count_regions_2d(net, (-1, 1, -1, 1), 64)  # the four quadrants
    4
    """
    labels = region_map(model, box, resolution)
    return int(labels.max()) + 1


def _area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _clip(poly: np.ndarray, z: np.ndarray, keep_positive: bool) -> np.ndarray:
    """The part of a convex polygon where the affine ``z`` (given at vertices) is >= / <= 0."""
    s = z if keep_positive else -z
    out = []
    n = len(poly)
    for i in range(n):
        j = (i + 1) % n
        if s[i] >= 0:
            out.append(poly[i])
        if (s[i] > 0 and s[j] < 0) or (s[i] < 0 and s[j] > 0):
            lam = s[i] / (s[i] - s[j])
            out.append(poly[i] + lam * (poly[j] - poly[i]))
    return np.array(out) if out else np.zeros((0, 2))


def count_regions_2d_exact(
    model: Any, box: Any, *, max_regions: int = 200_000, return_polygons: bool = False
):
    """The exact number of linear regions of a small ReLU network on a 2-D box.

    Cuts the box by every unit's zero line, layer by layer (see the module docstring).
    The cost grows with the number of regions times the number of units, so keep to
    networks of a few hundred units.

    Parameters
    ----------
    model : torch.nn.Sequential
        ``Linear(2, .), ReLU, ..., Linear`` (any other activation raises).
    box : sequence of 4 floats
        ``(x_min, x_max, y_min, y_max)``.
    max_regions : int
        Stop with an error when more polygons than this appear (too large a network).
    return_polygons : bool
        Also return the list of polygons, each an ``(n_vertices, 2)`` array.

    Returns
    -------
    int, or (int, list of ndarray)

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    >>> with torch.no_grad():  # three lines through the origin: six sectors
    ...     _ = net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    ...     _ = net[0].bias.zero_()
    >>> count_regions_2d_exact(net, (-1, 1, -1, 1))
    6
    """
    layers, final_relu = relu_layers(model)
    _two_inputs(layers)
    x0, x1, y0, y1 = check_box(box)
    max_regions = check_scalar(max_regions, "max_regions", int, low=1)
    return_polygons = check_scalar(return_polygons, "return_polygons", bool)
    min_area = 1e-12 * (x1 - x0) * (y1 - y0)
    polys = [np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)]
    n_relu = len(layers) if final_relu else len(layers) - 1
    for k in range(n_relu):
        sub = layers[: k + 1]
        width = layers[k][0].shape[0]
        zs = [forward_pre(sub, True, p)[k] for p in polys]  # (n_vertices, width) each
        for j in range(width):
            new_polys, new_zs = [], []
            for p, z in zip(polys, zs, strict=True):
                zj = z[:, j]
                if np.all(zj >= 0) or np.all(zj <= 0):
                    new_polys.append(p)
                    new_zs.append(z)
                    continue
                for keep in (True, False):
                    q = _clip(p, zj, keep)
                    if len(q) >= 3 and _area(q) > min_area:
                        new_polys.append(q)
                        new_zs.append(forward_pre(sub, True, q)[k])
            polys, zs = new_polys, new_zs
            if len(polys) > max_regions:
                raise InvalidParameterError(
                    f"count_regions_2d_exact found more than max_regions={max_regions} "
                    "regions; the network is too large for the exact method (use "
                    "count_regions_2d with a grid, or raise max_regions)."
                )
    return (len(polys), polys) if return_polygons else len(polys)
