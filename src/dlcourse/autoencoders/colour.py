"""Grey-to-colour patch pairs from scikit-learn's sample photographs (colourisation).

Taught in the chapter *Autoencoders* (``book/autoencoders.ipynb``): a *conditional*
auto-encoder maps a grey patch (the luminance :math:`Y = 0.299R + 0.587G + 0.114B`) to the
colour patch it came from, through a small code. The baseline predicts, for every pixel, its
grey value plus the mean colour offset :math:`\\overline{(R, G, B) - Y}` of the training pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_scalar, check_seed

__all__ = ["colour_patches"]

LUMA = np.array([0.299, 0.587, 0.114])


def colour_patches(
    patch_size: int = 8, n_patches: int = 4000, seed: Any = 0, downscale: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Random patches of the two sample photographs, as (grey, colour) pairs.

    Parameters
    ----------
    patch_size : int >= 2
        Side of the square patches.
    n_patches : int >= 1
        How many, split evenly between ``china.jpg`` and ``flower.jpg``.
    seed : int, Generator or None
    downscale : int >= 1
        Average-pool the photographs by this factor first.

    Returns
    -------
    grey : ndarray of shape (n_patches, patch_size**2), float32 in [0, 1]
    colour : ndarray of shape (n_patches, 3 * patch_size**2), float32 in [0, 1]
        Row-major RGB: ``colour[i].reshape(patch_size, patch_size, 3)`` is the patch, and
        ``grey[i]`` is its luminance.

    Examples
    --------
    >>> g, c = colour_patches(4, 10)
    >>> g.shape, c.shape
    ((10, 16), (10, 48))
    >>> bool(np.allclose(c.reshape(10, 16, 3) @ LUMA, g, atol=1e-6))
    True
    """
    from sklearn.datasets import load_sample_images

    size = check_scalar(patch_size, "patch_size", int, low=2)
    n = check_scalar(n_patches, "n_patches", int, low=1)
    downscale = check_scalar(downscale, "downscale", int, low=1)
    rng = check_seed(seed)
    images = [img.astype(np.float64) / 255.0 for img in load_sample_images().images]
    counts = [n // len(images) + (i < n % len(images)) for i in range(len(images))]
    out = []
    for img, count in zip(images, counts, strict=True):
        h, w = (s // downscale * downscale for s in img.shape[:2])
        img = img[:h, :w].reshape(h // downscale, downscale, w // downscale, downscale, 3)
        img = img.mean(axis=(1, 3))
        rows = rng.integers(0, img.shape[0] - size + 1, count)
        cols = rng.integers(0, img.shape[1] - size + 1, count)
        idx_r = rows[:, None, None] + np.arange(size)[None, :, None]
        idx_c = cols[:, None, None] + np.arange(size)[None, None, :]
        out.append(img[idx_r, idx_c].reshape(count, size * size, 3))
    colour = np.concatenate(out)[rng.permutation(n)]
    grey = colour @ LUMA
    return grey.astype(np.float32), colour.reshape(n, -1).astype(np.float32)
