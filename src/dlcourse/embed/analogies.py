"""Visual analogies: a synthetic shapes dataset with known attributes and an analogy network.

Taught in :ref:`embeddings` (``book/embeddings.ipynb``).

*a is to b as c is to d*: if b differs from a by a change of one attribute (bigger, moved right,
rotated), d is c with the same change. Reed et al. (2015) encode the images, add the difference
of the first pair to the third, and decode:

.. math::
   \\min_{\\Phi, g} \\sum_{(a, b, c, d)}
   \\big\\lVert d - g\\big(\\Phi(b) - \\Phi(a) + \\Phi(c)\\big)\\big\\rVert^2 .

:func:`shapes_dataset` renders an asymmetric shape (an "L", so that every rotation looks
different) under all combinations of size, horizontal and vertical position and rotation, so the
right answer of every analogy is known; :func:`analogy_quadruples` samples such analogies and
:func:`analogy_accuracy` counts how often the nearest image of the prediction is the right one.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import InvalidParameterError, as_tensor, check_callable, check_scalar, check_seed

__all__ = [
    "ATTRIBUTES",
    "shapes_dataset",
    "analogy_quadruples",
    "VisualAnalogyNet",
    "fit_visual_analogy",
    "analogy_accuracy",
]

ATTRIBUTES = ("size", "x", "y", "angle")
_L_SHAPE = np.array([[-1, -1], [1, -1], [1, -0.4], [-0.4, -0.4], [-0.4, 1], [-1, 1]], float)


def _inside(px, py, poly):
    """Even-odd rule: which points (px, py) lie inside the polygon (rows of ``poly``)."""
    inside = np.zeros(px.shape, dtype=bool)
    n = len(poly)
    for k in range(n):
        (x1, y1), (x2, y2) = poly[k], poly[(k + 1) % n]
        crosses = (y1 > py) != (y2 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (px < x_at)
    return inside


def shapes_dataset(
    image_size: int = 20,
    sizes=(3.0, 4.0, 5.0),
    xs=(-3.0, -1.0, 1.0, 3.0),
    ys=(-3.0, -1.0, 1.0, 3.0),
    angles=(0.0, 30.0, 60.0, 90.0),
):
    """Images of an L shape for every combination of size, x, y and angle.

    Parameters
    ----------
    image_size : int >= 8
        Images are ``image_size x image_size`` pixels, values in [0, 1] (anti-aliased by 4x4
        supersampling).
    sizes : sequence of float
        Half-widths of the shape, in pixels.
    xs, ys : sequence of float
        Offsets of its centre from the image centre, in pixels (y grows downwards).
    angles : sequence of float
        Rotations in degrees.

    Returns
    -------
    images : ndarray of float32, shape (n, image_size * image_size)
    attributes : ndarray of int64, shape (n, 4)
        Index of each attribute (columns in the order of :data:`ATTRIBUTES`) in its sequence.

    Examples
    --------
    >>> images, attributes = shapes_dataset()
    >>> images.shape, attributes.shape
    ((192, 400), (192, 4))
    """
    image_size = check_scalar(image_size, "image_size", int, low=8)
    levels = [np.asarray(v, dtype=float) for v in (sizes, xs, ys, angles)]
    for name, v in zip(ATTRIBUTES, levels, strict=True):
        if v.ndim != 1 or len(v) < 1:
            raise InvalidParameterError(f"The attribute '{name}' needs a sequence of values.")
    sub = 4
    grid = (np.arange(image_size * sub) + 0.5) / sub - image_size / 2
    px, py = np.meshgrid(grid, grid)
    combos = np.stack(np.meshgrid(*[np.arange(len(v)) for v in levels], indexing="ij"), -1)
    attributes = combos.reshape(-1, 4)
    images = np.empty((len(attributes), image_size * image_size), dtype=np.float32)
    for n, (i_s, i_x, i_y, i_a) in enumerate(attributes):
        t = np.deg2rad(levels[3][i_a])
        rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        poly = _L_SHAPE * levels[0][i_s] @ rot.T + [levels[1][i_x], levels[2][i_y]]
        mask = _inside(px, py, poly).reshape(image_size, sub, image_size, sub).mean(axis=(1, 3))
        images[n] = mask.ravel()
    return images, attributes.astype(np.int64)


def analogy_quadruples(attributes, n: int, seed=None):
    """Sample ``n`` analogies *a : b :: c : d* with one attribute changed by the same step.

    For each analogy an attribute :math:`k` and a step :math:`\\delta \\ne 0` are drawn;
    ``b`` is ``a`` with attribute :math:`k` moved by :math:`\\delta`, and ``d`` is ``c`` moved by
    the same :math:`\\delta` (both moves staying inside the attribute's range; ``a != c``).

    Parameters
    ----------
    attributes : array-like of int, shape (n_images, n_attributes)
        As returned by :func:`shapes_dataset`; every combination must occur once.
    n : int >= 1
    seed : int, numpy or torch Generator, or None

    Returns
    -------
    ndarray of int64, shape (n, 4)
        Columns: indices of a, b, c, d.

    Examples
    --------
    >>> _, attributes = shapes_dataset()
    >>> q = analogy_quadruples(attributes, 5, seed=0)
    >>> bool(((attributes[q[:, 1]] - attributes[q[:, 0]])
    ...       == (attributes[q[:, 3]] - attributes[q[:, 2]])).all())
    True
    """
    n = check_scalar(n, "n", int, low=1)
    A = np.asarray(attributes)
    if A.ndim != 2 or not np.issubdtype(A.dtype, np.integer):
        raise InvalidParameterError(
            "The 'attributes' argument must be an integer array of shape (n_images, n_attributes)."
        )
    rng = check_seed(seed)
    levels = A.max(axis=0) + 1
    lookup = {tuple(row): i for i, row in enumerate(A)}
    if len(lookup) != int(np.prod(levels)):
        raise InvalidParameterError(
            "The 'attributes' must hold every combination of attribute values exactly once."
        )
    movable = np.flatnonzero(levels >= 2)
    if movable.size == 0:
        raise InvalidParameterError("No attribute takes two values: nothing can change.")
    out = np.empty((n, 4), dtype=np.int64)
    filled = 0
    while filled < n:
        m = 2 * (n - filled)
        k = rng.choice(movable, m)
        step = rng.integers(1, levels[k]) * rng.choice([-1, 1], m)
        ia, ic = rng.integers(0, len(A), m), rng.integers(0, len(A), m)
        ra, rc = A[ia].copy(), A[ic].copy()
        rows = np.arange(m)
        ra[rows, k] += step
        rc[rows, k] += step
        ok = (ia != ic) & (ra[rows, k] >= 0) & (ra[rows, k] < levels[k])
        ok &= (rc[rows, k] >= 0) & (rc[rows, k] < levels[k])
        for t in np.flatnonzero(ok)[: n - filled]:
            out[filled] = ia[t], lookup[tuple(ra[t])], ic[t], lookup[tuple(rc[t])]
            filled += 1
    return out


class VisualAnalogyNet(torch.nn.Module):
    """:math:`g(\\Phi(b) - \\Phi(a) + \\Phi(c))`, an encoder and a decoder around vector arithmetic.

    Parameters
    ----------
    encoder : torch.nn.Module
        :math:`\\Phi`, images (n, p) to codes (n, d).
    decoder : torch.nn.Module
        :math:`g`, codes (n, d) to images (n, p).

    Examples
    --------
    >>> import torch
    >>> net = VisualAnalogyNet(torch.nn.Linear(4, 2), torch.nn.Linear(2, 4))
    >>> tuple(net(torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(3, 4)).shape)
    (3, 4)
    """

    def __init__(self, encoder, decoder):
        super().__init__()
        check_callable(encoder, "encoder", "a torch.nn.Module")
        check_callable(decoder, "decoder", "a torch.nn.Module")
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, xa, xb, xc):
        """The predicted fourth image, shape (n, p)."""
        return self.decoder(self.encoder(xb) - self.encoder(xa) + self.encoder(xc))


def fit_visual_analogy(
    model, images, quadruples, *, epochs: int = 50, lr: float = 3e-3, batch_size=64, seed=0
):
    """Train ``model`` (in place) on :math:`\\lVert d - \\text{model}(a, b, c)\\rVert^2`.

    Parameters
    ----------
    model : VisualAnalogyNet (or any module of three image batches)
    images : torch.Tensor of shape (n_images, p), on the model's device
    quadruples : array-like of int, shape (n, 4)
        Indices (a, b, c, d), as from :func:`analogy_quadruples`.
    epochs, batch_size : int >= 1
    lr : float > 0
        Adam's learning rate.
    seed : int, numpy or torch Generator, or None
        Order of the mini-batches.

    Returns
    -------
    list of float
        Mean squared error (summed over pixels, averaged over analogies) of each epoch.
    """
    import torch

    check_callable(model, "model", "a torch.nn.Module")
    images = as_tensor(images, "images", ndim=2)
    q = as_tensor(quadruples, "quadruples", ndim=2, device=images.device).long()
    if q.shape[1] != 4:
        raise InvalidParameterError(
            f"'quadruples' must have 4 columns (a, b, c, d). Got shape {tuple(q.shape)}."
        )
    epochs = check_scalar(epochs, "epochs", int, low=1)
    batch_size = check_scalar(batch_size, "batch_size", int, low=1)
    lr = check_scalar(lr, "lr", float, low=0, closed="neither")
    rng = check_seed(seed)
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    was_training = model.training
    model.train()
    history = []
    try:
        for _ in range(epochs):
            perm = torch.randperm(len(q), generator=gen).to(images.device)
            total = 0.0
            for s in range(0, len(q), batch_size):
                b = q[perm[s : s + batch_size]]
                pred = model(images[b[:, 0]], images[b[:, 1]], images[b[:, 2]])
                loss = ((pred - images[b[:, 3]]) ** 2).sum(dim=1).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(b)
            history.append(total / len(q))
    finally:
        model.train(was_training)
    return history


def analogy_accuracy(predictions, images, answers) -> float:
    """Share of predictions whose nearest image (Euclidean) is the right answer.

    Parameters
    ----------
    predictions : array-like or torch.Tensor of shape (n, p)
    images : array-like or torch.Tensor of shape (n_images, p)
        All candidate images.
    answers : array-like of int, shape (n,)
        Index of the right image for each prediction.

    Examples
    --------
    >>> import numpy as np
    >>> analogy_accuracy(np.array([[0.9, 0.0], [0.1, 0.0]]), np.eye(2), [0, 1])
    0.5
    """
    import torch

    images = as_tensor(images, "images", ndim=2)
    predictions = as_tensor(predictions, "predictions", ndim=2, like=images).to(images.dtype)
    answers = as_tensor(answers, "answers", ndim=1, device=images.device).long()
    if predictions.shape[1] != images.shape[1] or len(answers) != len(predictions):
        raise InvalidParameterError(
            f"'predictions' {tuple(predictions.shape)}, 'images' {tuple(images.shape)} and "
            f"'answers' ({len(answers)},) do not fit: one answer per prediction, same width."
        )
    with torch.no_grad():
        hit = torch.cdist(predictions, images).argmin(dim=1) == answers
    return float(hit.double().mean())
