"""Natural-image patches for dictionary learning, whitening, and what learned atoms look like.

Taught in the chapter *Sparse coding* (``book/sparse-coding.ipynb``).

* :func:`image_patches` samples square patches from the two photographs that ship with
  scikit-learn (``sklearn.datasets.load_sample_images``: no download), in grey levels.
* :func:`whiten` centres each patch (removes its mean grey level) and applies ZCA whitening,
  :math:`W = U (\\Lambda + \\epsilon I)^{-1/2} U^\\top` with :math:`C = U\\Lambda U^\\top` the
  patch covariance. Natural images have a power spectrum falling like :math:`1/f^2`; whitening
  flattens it so that dictionary learning is not dominated by the low frequencies.
* :func:`atom_spread` and :func:`atom_orientedness` measure two properties of V1-like receptive
  fields: an atom is *localised* when its energy :math:`a^2` sits in a small region (small
  spatial standard deviation around its centre) and *oriented* when its gradients point along
  one direction (the structure tensor :math:`J = \\sum_u \\nabla a(u) \\nabla a(u)^\\top` has
  eigenvalues :math:`\\mu_1 \\ge \\mu_2` with coherence :math:`(\\mu_1 - \\mu_2)/(\\mu_1 +
  \\mu_2)` near 1; white noise gives values near 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import (
    InvalidParameterError,
    as_float_array,
    check_ndim,
    check_scalar,
    check_seed,
    invalid,
)

__all__ = ["image_patches", "whiten", "atom_spread", "atom_orientedness", "atom_grid"]


def _grey_images() -> list[np.ndarray]:
    from sklearn.datasets import load_sample_images

    images = load_sample_images().images  # two RGB photographs, uint8, 427 x 640
    return [img.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255.0 for img in images]


def image_patches(
    patch_size: int = 12, n_patches: int = 10_000, seed: Any = 0, downscale: int = 2
) -> np.ndarray:
    """Random grey-level patches of the scikit-learn sample photographs.

    Parameters
    ----------
    patch_size : int
        Side of the square patches.
    n_patches : int
        How many, split evenly between the two photographs.
    seed : int or Generator
    downscale : int >= 1
        Average-pool the photographs by this factor first (fewer flat, blurry patches).

    Returns
    -------
    ndarray of shape (n_patches, patch_size**2), values in [0, 1], rows are flattened patches
    (row-major, ``patch.reshape(patch_size, patch_size)`` gives the image back).
    """
    size = check_scalar(patch_size, "patch_size", int, low=2)
    n_patches = check_scalar(n_patches, "n_patches", int, low=1)
    downscale = check_scalar(downscale, "downscale", int, low=1)
    rng = check_seed(seed)
    out = []
    images = _grey_images()
    counts = [n_patches // len(images) + (i < n_patches % len(images)) for i in range(len(images))]
    for img, count in zip(images, counts, strict=True):
        h, w = (s // downscale * downscale for s in img.shape)
        img = img[:h, :w].reshape(h // downscale, downscale, w // downscale, downscale)
        img = img.mean(axis=(1, 3))
        rows = rng.integers(0, img.shape[0] - size + 1, count)
        cols = rng.integers(0, img.shape[1] - size + 1, count)
        idx_r = rows[:, None, None] + np.arange(size)[None, :, None]
        idx_c = cols[:, None, None] + np.arange(size)[None, None, :]
        out.append(img[idx_r, idx_c].reshape(count, size * size))
    return np.concatenate(out)[rng.permutation(n_patches)]


def whiten(X: Any, eps: float = 1e-2, return_matrix: bool = False):
    """Centre each row, then ZCA-whiten the rows: :math:`x \\mapsto W(x - \\bar x)`.

    Parameters
    ----------
    X : ndarray of shape (n_signals, n_features)
    eps : float > 0
        Regulariser added to the covariance eigenvalues, relative to their mean (it keeps the
        noisiest, highest frequencies from being amplified without bound).
    return_matrix : bool
        Also return :math:`W` (symmetric, shape (n_features, n_features)).

    Returns
    -------
    ndarray of shape (n_signals, n_features), and W if asked.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise invalid("X", "of shape (n_signals >= 2, n_features)", got=f"{X.shape}")
    eps = check_scalar(eps, "eps", float, low=0, closed="neither")
    Xc = X - X.mean(axis=1, keepdims=True)
    C = Xc.T @ Xc / Xc.shape[0]
    evals, U = np.linalg.eigh(C)
    evals = np.maximum(evals, 0)
    W = (U / np.sqrt(evals + eps * evals.mean())) @ U.T
    Xw = Xc @ W
    return (Xw, W) if return_matrix else Xw


def _as_atoms(D: Any, patch_size: int | None) -> tuple[np.ndarray, int]:
    D = as_float_array(D, "D", allow_nan=True)
    check_ndim(D, "D", 2, what="a dictionary of shape (n_features, n_atoms)")
    size = int(round(np.sqrt(D.shape[0]))) if patch_size is None else patch_size
    if size * size != D.shape[0]:
        raise InvalidParameterError(
            f"The atoms must be square patches: n_features = {D.shape[0]} is not "
            f"patch_size**2 = {size}**2."
        )
    return D.T.reshape(-1, size, size), size


def atom_spread(D: Any, patch_size: int | None = None) -> np.ndarray:
    """Spatial standard deviation (in pixels) of each atom's energy map :math:`a(u)^2`.

    :math:`\\sigma = \\bigl(\\sum_u w_u \\|u - \\bar u\\|^2\\bigr)^{1/2}` with
    :math:`w_u = a(u)^2/\\sum a^2` and :math:`\\bar u = \\sum_u w_u u`. For an
    :math:`s \\times s` patch of white noise :math:`\\sigma \\approx s/\\sqrt6`; a localised
    atom has a much smaller value. Returns shape (n_atoms,).
    """
    atoms, size = _as_atoms(D, patch_size)
    w = atoms**2
    w = w / np.maximum(w.sum(axis=(1, 2), keepdims=True), 1e-300)
    r, c = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    mr = (w * r).sum(axis=(1, 2), keepdims=True)
    mc = (w * c).sum(axis=(1, 2), keepdims=True)
    return np.sqrt((w * ((r - mr) ** 2 + (c - mc) ** 2)).sum(axis=(1, 2)))


def atom_orientedness(D: Any, patch_size: int | None = None) -> np.ndarray:
    """Coherence :math:`(\\mu_1 - \\mu_2)/(\\mu_1 + \\mu_2)` of each atom's structure tensor.

    1 for a pattern that varies along one direction only (a bar, an edge, a grating), about 0
    for an isotropic one (a dot, white noise). Returns shape (n_atoms,).
    """
    atoms, _ = _as_atoms(D, patch_size)
    # central differences at the interior pixels: for white noise the two components are
    # uncorrelated (forward differences would share a pixel and fake an orientation)
    gr = 0.5 * (atoms[:, 2:, 1:-1] - atoms[:, :-2, 1:-1])
    gc = 0.5 * (atoms[:, 1:-1, 2:] - atoms[:, 1:-1, :-2])
    jrr = (gr * gr).sum(axis=(1, 2))
    jcc = (gc * gc).sum(axis=(1, 2))
    jrc = (gr * gc).sum(axis=(1, 2))
    trace = jrr + jcc
    gap = np.sqrt((jrr - jcc) ** 2 + 4 * jrc**2)
    return gap / np.maximum(trace, 1e-300)


def atom_grid(D: Any, patch_size: int | None = None, n_cols: int | None = None, pad: int = 1):
    """Tile the atoms (columns of ``D``) into one image for ``imshow``; each atom is scaled to
    [-1, 1] by its largest absolute value, the padding is 0 (grey in a diverging colormap)."""
    atoms, size = _as_atoms(D, patch_size)
    n = atoms.shape[0]
    n_cols = (
        int(np.ceil(np.sqrt(n))) if n_cols is None else check_scalar(n_cols, "n_cols", int, low=1)
    )
    n_rows = int(np.ceil(n / n_cols))
    grid = np.zeros((n_rows * (size + pad) + pad, n_cols * (size + pad) + pad))
    scale = np.maximum(np.abs(atoms).max(axis=(1, 2)), 1e-300)
    for i in range(n):
        r, c = divmod(i, n_cols)
        y0, x0 = pad + r * (size + pad), pad + c * (size + pad)
        grid[y0 : y0 + size, x0 : x0 + size] = atoms[i] / scale[i]
    return grid
