"""Intra- vs inter-class distance ratios, for average points and for boundary points.

Taught in the chapter *What random networks already do* (``book/random-networks.ipynb``);
Giryes, Sapiro and Bronstein (2016).

For features :math:`f_i` with labels :math:`y_i` and Euclidean distances
:math:`d_{ij} = \\|f_i - f_j\\|`:

* *average points*: the mean distance within classes over the mean distance between classes,

  .. math:: r_{\\text{avg}} = \\frac{\\operatorname{mean}_{y_i = y_j,\\, i \\ne j} d_{ij}}
            {\\operatorname{mean}_{y_i \\ne y_j} d_{ij}} ;

* *boundary points*: the distance from each point to its nearest neighbour in its own class,
  averaged over the points, over the distance to its nearest point of another class (the pair
  across the class boundary), averaged the same way (a ratio of means):

  .. math:: r_{\\text{bnd}} = \\frac{\\operatorname{mean}_i \\min_{y_j = y_i, j \\ne i} d_{ij}}
            {\\operatorname{mean}_i \\min_{y_j \\ne y_i} d_{ij}} .

Both are scale-free (multiplying the features by a constant changes neither). A random
ReLU layer keeps them close to their values in the input (it ignores the labels, and its
shrinking of angles makes :math:`r_{\\text{bnd}}` slightly larger); training lowers both.
In the chapter's 784-256-10 network on MNIST the average ratio falls a little more than the
boundary ratio; the lecture's CNN on CIFAR-10 shows the change concentrated at the boundary.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, as_float_array

__all__ = ["distance_ratios"]


def distance_ratios(features: Any, labels: Any) -> dict[str, float]:
    """Intra/inter-class distance ratios of ``features``: ``{"average": ..., "boundary": ...}``.

    Parameters
    ----------
    features : array_like or tensor of shape (n_points, n_features)
    labels : array_like of shape (n_points,)
        At least two classes, each with at least two points.

    Returns
    -------
    dict
        ``"average"``: :math:`r_{\\text{avg}}`; ``"boundary"``: :math:`r_{\\text{bnd}}` (see
        the module docstring); both floats > 0, smaller is better separated.

    Examples
    --------
    >>> f = np.array([[0.0], [1.0], [10.0], [12.0]])
    >>> distance_ratios(f, [0, 0, 1, 1])   # 1.5 / 10.5 and (1+1+2+2)/4 / (10+9+9+11)/4
    {'average': 0.14285714285714285, 'boundary': 0.15384615384615385}
    """
    F = as_float_array(features, "features", ndim=2)
    y = labels.detach().cpu().numpy() if hasattr(labels, "detach") else np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != F.shape[0]:
        raise InvalidParameterError(
            f"labels must hold one label per row of features: shape ({F.shape[0]},); got {y.shape}."
        )
    classes, counts = np.unique(y, return_counts=True)
    if classes.size < 2 or counts.min() < 2:
        raise InvalidParameterError(
            "distance_ratios needs at least two classes with at least two points each; got "
            f"counts {dict(zip(classes.tolist(), counts.tolist(), strict=True))}."
        )
    sq = np.sum(F**2, axis=1)
    D = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * F @ F.T, 0.0))
    same = y[:, None] == y[None, :]
    np.fill_diagonal(same, False)
    diff = y[:, None] != y[None, :]
    inter = D[diff].mean()
    if inter == 0:
        raise InvalidParameterError("All features are equal: the distance ratios are undefined.")
    nn_same = np.where(same, D, np.inf).min(axis=1)
    nn_diff = np.where(diff, D, np.inf).min(axis=1)
    boundary = nn_same.mean() / nn_diff.mean() if nn_diff.mean() > 0 else np.inf
    return {"average": float(D[same].mean() / inter), "boundary": float(boundary)}
