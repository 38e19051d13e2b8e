"""A ring of Gaussians in the plane, and how many of its modes a generator covers.

Taught in :ref:`generative-models` (``book/generative-models.ipynb``).

The standard toy for *mode collapse* (Metz et al. 2017, Srivastava et al. 2017): :math:`k`
isotropic Gaussians of standard deviation :math:`s` centred at
:math:`c_j = r(\\cos 2\\pi j/k,\\ \\sin 2\\pi j/k)`, mixed with equal weights. A generator
*covers* mode :math:`j` when at least ``min_count`` of its samples fall within distance
``radius`` of :math:`c_j` (three standard deviations is customary); samples farther than
``radius`` from every centre are *off-mode* (low quality).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from .._validation import as_tensor, check_scalar, check_torch_seed, invalid

__all__ = ["ring_centers", "mixture_of_gaussians", "ModeCoverage", "mode_coverage"]


def ring_centers(k: int = 8, radius: float = 2.0):
    """The :math:`k` centres :math:`r(\\cos 2\\pi j/k, \\sin 2\\pi j/k)`: a float32 tensor (k, 2).

    Examples
    --------
    >>> ring_centers(4, 1.0).round().abs().tolist()
    [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    """
    import torch

    k = check_scalar(k, "k", int, low=1)
    radius = check_scalar(radius, "radius", float, low=0, closed="neither")
    angles = 2 * math.pi * torch.arange(k, dtype=torch.float64) / k
    return (radius * torch.stack([angles.cos(), angles.sin()], 1)).float()


def mixture_of_gaussians(
    n: int, k: int = 8, radius: float = 2.0, std: float = 0.02, seed=None, return_labels=False
):
    """``n`` points from the equal mixture of ``k`` Gaussians on a ring (see the module).

    Parameters
    ----------
    n : int >= 1
    k : int >= 1
        Number of modes.
    radius : float > 0
        Radius of the ring of centres (:func:`ring_centers`).
    std : float >= 0
        Standard deviation of each Gaussian.
    seed : int, torch.Generator, numpy.random.Generator or None
    return_labels : bool
        Also return the mode of each point.

    Returns
    -------
    torch.Tensor of shape (n, 2), float32 (and the labels, int64 of shape (n,)).

    Examples
    --------
    >>> x = mixture_of_gaussians(1000, k=8, seed=0)
    >>> x.shape, round(float(x.norm(dim=1).mean()), 1)
    (torch.Size([1000, 2]), 2.0)
    """
    import torch

    n = check_scalar(n, "n", int, low=1)
    std = check_scalar(std, "std", float, low=0)
    centers = ring_centers(k, radius)
    generator = check_torch_seed(seed)
    labels = torch.randint(0, centers.shape[0], (n,), generator=generator)
    x = centers[labels] + std * torch.randn((n, 2), generator=generator)
    return (x, labels) if return_labels else x


class ModeCoverage(NamedTuple):
    """What :func:`mode_coverage` measures."""

    n_covered: int
    """Modes with at least ``min_count`` samples within ``radius`` of their centre."""
    counts: list
    """Samples within ``radius`` of each centre (nearest centre only)."""
    quality: float
    """Fraction of the samples within ``radius`` of some centre (high-quality samples)."""


def mode_coverage(samples, centers, radius: float, min_count: int = 1) -> ModeCoverage:
    """How many modes ``samples`` cover: each sample is assigned to its nearest centre and counts
    for it when it lies within ``radius``.

    Parameters
    ----------
    samples : torch.Tensor or ndarray of shape (n, d)
    centers : torch.Tensor or ndarray of shape (k, d)
    radius : float > 0
        Distance within which a sample counts for a mode (e.g. 3 standard deviations).
    min_count : int >= 1
        Samples a mode needs to count as covered.

    Returns
    -------
    ModeCoverage(n_covered, counts, quality)

    Examples
    --------
    >>> import torch
    >>> c = ring_centers(8, 2.0)
    >>> cov = mode_coverage(c[[0, 0, 3]] + 0.01, c, radius=0.1)
    >>> cov.n_covered, cov.counts[:4], cov.quality
    (2, [2, 0, 0, 1], 1.0)
    """
    import torch

    samples = as_tensor(samples, "samples", ndim=2).detach()
    centers = as_tensor(centers, "centers", ndim=2).detach().to(samples)
    if samples.shape[1] != centers.shape[1]:
        raise invalid(
            "centers",
            f"a tensor of shape (k, {samples.shape[1]}) (the dimension of 'samples')",
            got=f"shape {tuple(centers.shape)}",
        )
    r = check_scalar(radius, "radius", float, low=0, closed="neither")
    min_count = check_scalar(min_count, "min_count", int, low=1)
    if samples.shape[0] == 0:
        return ModeCoverage(0, [0] * centers.shape[0], 0.0)
    dist = torch.cdist(samples.double(), centers.double())
    nearest = dist.min(1)
    good = nearest.values <= r
    counts = torch.bincount(nearest.indices[good], minlength=centers.shape[0]).tolist()
    n_cov = sum(c >= min_count for c in counts)
    return ModeCoverage(int(n_cov), counts, float(good.double().mean()))
