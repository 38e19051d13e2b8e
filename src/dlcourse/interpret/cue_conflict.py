"""A synthetic texture-vs-shape cue-conflict set (after Geirhos et al., 2019).

Taught in the chapter *Interpretability* (``book/interpretability``). Each image is a shape
(``SHAPES``: square, disk, triangle, cross) at a random position and size, filled with a
texture (``TEXTURES``: horizontal stripes, vertical stripes, checkerboard, diagonal stripes) at a
random phase, on a black background. When the training set pairs shape :math:`i` always with
texture :math:`i`, either cue predicts the class; images whose shape and texture disagree
(*cue conflict*) then reveal which one the network uses. The **shape bias** is the fraction of
its decisions, among those that follow one of the two cues, that follow the shape.
"""

from __future__ import annotations

import numpy as np

from .._validation import InvalidParameterError, check_scalar, check_seed

__all__ = ["SHAPES", "TEXTURES", "cue_conflict_images", "shape_bias"]

SHAPES = ("square", "disk", "triangle", "cross")
TEXTURES = ("horizontal", "vertical", "checker", "diagonal")


def _shape_mask(kind, ii, jj, ci, cj, r):
    di, dj = ii - ci, jj - cj
    if kind == 0:
        return (np.abs(di) <= r) & (np.abs(dj) <= r)
    if kind == 1:
        return di**2 + dj**2 <= (1.15 * r) ** 2
    if kind == 2:  # apex up, base at ci + r
        return (di <= r) & (di >= -r) & (np.abs(dj) <= (di + r) / 2)
    return ((np.abs(di) <= r) & (np.abs(dj) <= r / 2.5)) | (
        (np.abs(dj) <= r) & (np.abs(di) <= r / 2.5)
    )


def _texture(kind, ii, jj, phase, period):
    if kind == 0:
        return ((ii + phase) % period) < period / 2
    if kind == 1:
        return ((jj + phase) % period) < period / 2
    if kind == 2:
        half = period // 2
        return (((ii + phase) // half) + ((jj + phase) // half)) % 2 == 0
    return ((ii + jj + phase) % period) < period / 2


def cue_conflict_images(shapes, textures, size: int = 28, seed=0, *, period: int = 4):
    """Images with the given shape and texture classes, shape (N, 1, size, size), float32.

    Parameters
    ----------
    shapes, textures : sequences of ints in 0..3, of equal length N
        The shape class (index into :data:`SHAPES`) and texture class (:data:`TEXTURES`) of
        every image.
    size : int >= 16
        Image height and width.
    seed : int, numpy.random.Generator or None
        Randomness of positions, sizes and texture phases.
    period : int >= 2
        Period of the textures in pixels.

    Returns
    -------
    numpy.ndarray of shape (N, 1, size, size), values in {0, 1}

    Examples
    --------
    >>> x = cue_conflict_images([0, 1, 2, 3], [3, 2, 1, 0], seed=0)
    >>> x.shape, x.dtype, float(x.max())
    ((4, 1, 28, 28), dtype('float32'), 1.0)
    """
    shapes = np.asarray(shapes)
    textures = np.asarray(textures)
    if (
        shapes.ndim != 1
        or shapes.shape != textures.shape
        or not np.issubdtype(shapes.dtype, np.integer)
        or not np.issubdtype(textures.dtype, np.integer)
        or shapes.size == 0
    ):
        raise InvalidParameterError(
            "The 'shapes' and 'textures' arguments must be non-empty 1-D integer sequences of "
            f"the same length; got shapes {shapes.shape} and textures {textures.shape}."
        )
    if shapes.min() < 0 or shapes.max() > 3 or textures.min() < 0 or textures.max() > 3:
        raise InvalidParameterError(
            "The 'shapes' and 'textures' arguments must hold class indices in 0..3."
        )
    size = check_scalar(size, "size", int, low=16)
    period = check_scalar(period, "period", int, low=2)
    rng = check_seed(seed)
    n = shapes.size
    ii, jj = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    out = np.zeros((n, 1, size, size), dtype=np.float32)
    r = rng.uniform(0.25, 0.36, n) * size
    ci = size / 2 + rng.uniform(-0.08, 0.08, n) * size
    cj = size / 2 + rng.uniform(-0.08, 0.08, n) * size
    phase = rng.integers(0, period, n)
    for k in range(n):
        mask = _shape_mask(int(shapes[k]), ii, jj, ci[k], cj[k], r[k])
        tex = _texture(int(textures[k]), ii, jj, int(phase[k]), period)
        out[k, 0] = mask & tex
    return out


def shape_bias(pred, shapes, textures) -> float:
    """Fraction of cue-conflict decisions that follow the shape.

    .. math:: \\frac{\\#\\{\\hat y = \\text{shape}\\}}
       {\\#\\{\\hat y = \\text{shape}\\} + \\#\\{\\hat y = \\text{texture}\\}}

    over images whose shape and texture classes differ (NaN when no decision follows a cue).

    Examples
    --------
    >>> shape_bias([0, 1, 3], [0, 2, 1], [1, 1, 2])
    0.5
    """
    pred, shapes, textures = (np.asarray(a).reshape(-1) for a in (pred, shapes, textures))
    if not pred.shape == shapes.shape == textures.shape:
        raise InvalidParameterError(
            f"pred, shapes and textures must have the same length; got {pred.size}, "
            f"{shapes.size} and {textures.size}."
        )
    conflict = shapes != textures
    s = int(np.sum((pred == shapes) & conflict))
    t = int(np.sum((pred == textures) & conflict))
    return s / (s + t) if s + t else float("nan")
