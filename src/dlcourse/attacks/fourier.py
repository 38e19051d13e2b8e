"""Perturbations in Fourier space (Yin et al., 2019): which frequencies fool a model.

:func:`fourier_basis` gives the real image :math:`U_{u,v}` of unit L2 norm whose 2-D Fourier
transform is supported on the frequency :math:`(u, v)` and its mirror :math:`(-u, -v)`:

.. math:: U_{u,v}[i, j] \\propto \\cos\\big(2\\pi (f_u i / H + f_v j / W)\\big),

with :math:`(f_u, f_v) = (u - \\lfloor H/2 \\rfloor, v - \\lfloor W/2 \\rfloor)` the frequency in
the ``fftshift`` layout (zero frequency at the centre of the grid, high frequencies at the
border). :func:`fourier_heatmap` adds :math:`\\varepsilon\\, s\\, U_{u,v}` (a random sign
:math:`s` per image, the same image in every channel) to each input and records the error
rate for every :math:`(u, v)`: a map of the model's sensitivity to each frequency.
"""

from __future__ import annotations

import numpy as np

from .._validation import InvalidParameterError, check_scalar, check_torch_seed, invalid
from ..trainer import as_tensor, predict
from .base import check_clamp

__all__ = ["fourier_basis", "fourier_heatmap"]


def _size_pair(size):
    if isinstance(size, (tuple, list)) and len(size) == 2:
        return check_scalar(size[0], "size", int, low=1), check_scalar(size[1], "size", int, low=1)
    n = check_scalar(size, "size", int, low=1)
    return n, n


def fourier_basis(size, u: int, v: int) -> np.ndarray:
    """The real Fourier basis image for frequency index ``(u, v)`` (fftshift layout), unit norm.

    Parameters
    ----------
    size : int or (H, W)
        Image size.
    u, v : int
        Row and column of the frequency in the centred grid: ``0 <= u < H``, ``0 <= v < W``;
        ``(H // 2, W // 2)`` is the constant image.

    Returns
    -------
    numpy.ndarray of shape (H, W), float64, with :math:`\\|U\\|_2 = 1`. Images of two
    frequencies are orthogonal unless one is the mirror ``(-f_u, -f_v)`` of the other (then
    they are equal: a real image cannot tell a frequency from its mirror).

    Examples
    --------
    >>> U = fourier_basis(8, 4, 5)  # frequency (0, 1): one period along the columns
    >>> round(float((U**2).sum()), 12)
    1.0
    """
    h, w = _size_pair(size)
    u = check_scalar(u, "u", int, low=0)
    v = check_scalar(v, "v", int, low=0)
    if u >= h or v >= w:
        raise InvalidParameterError(
            f"The frequency index (u, v) must satisfy 0 <= u < {h} and 0 <= v < {w}. "
            f"Got ({u}, {v})."
        )
    fu, fv = u - h // 2, v - w // 2
    i, j = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    image = np.cos(2 * np.pi * (fu * i / h + fv * j / w))
    return image / np.linalg.norm(image)


def fourier_heatmap(
    model,
    x,
    y,
    eps: float,
    *,
    batch_size: int = 500,
    stride: int = 1,
    seed: int = 0,
    clamp=(0.0, 1.0),
) -> np.ndarray:
    """Error rate of ``model`` under the perturbation ``eps * s * U_{u,v}`` for every frequency.

    For each frequency index :math:`(u, v)` on the grid (every ``stride``-th row and column,
    counted from the centre), each image gets :math:`x + \\varepsilon s_n U_{u,v}` (sign
    :math:`s_n = \\pm 1` drawn per image, the same for every frequency; the same basis image in
    every channel), clamped to ``clamp``; the entry is the fraction misclassified.

    Parameters
    ----------
    model : torch.nn.Module
    x : tensor or array (N, C, H, W) or (N, H, W)
    y : integer labels (N,)
    eps : float >= 0
        L2 norm of the perturbation (per channel).
    batch_size : int
        Images evaluated at once.
    stride : int
        Compute every ``stride``-th frequency only (the others are NaN): a coarser, cheaper map.
    seed : int, torch.Generator, numpy.random.Generator or None
        Randomness of the random signs (``None``: torch's global generator, never seeded).
    clamp : (float, float) or None
        Valid input range.

    Returns
    -------
    numpy.ndarray (H, W)
        Error rates, zero frequency at the centre ``(H // 2, W // 2)`` (fftshift layout).
        A frequency and its mirror give the same image, so each pair is computed once.
    """
    import torch

    eps = check_scalar(eps, "eps", float, low=0)
    stride = check_scalar(stride, "stride", int, low=1)
    batch_size = check_scalar(batch_size, "batch_size", int, low=1)
    clamp = check_clamp(clamp)
    x, y = as_tensor(x), as_tensor(y)
    if x.ndim not in (3, 4) or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise InvalidParameterError(
            "fourier_heatmap needs images x of shape (N, C, H, W) or (N, H, W) and labels y "
            f"of shape (N,); got x {tuple(x.shape)} and y {tuple(y.shape)}."
        )
    if not x.is_floating_point():
        raise invalid("x", "a floating-point tensor", got=f"{x.dtype}")
    h, w = x.shape[-2:]
    gen = check_torch_seed(seed)  # None: the global generator, read but never seeded
    signs = (torch.randint(0, 2, (x.shape[0],), generator=gen) * 2 - 1).to(x.dtype)
    signs = signs.reshape(-1, *([1] * (x.ndim - 1)))
    y = y.long()
    heat = np.full((h, w), np.nan)
    ch, cw = h // 2, w // 2
    rows = [u for u in range(h) if (u - ch) % stride == 0]
    cols = [v for v in range(w) if (v - cw) % stride == 0]
    for u in rows:
        for v in cols:
            if not np.isnan(heat[u, v]):
                continue
            basis = torch.as_tensor(fourier_basis((h, w), u, v), dtype=x.dtype)
            wrong = 0
            for start in range(0, x.shape[0], batch_size):
                xb = x[start : start + batch_size] + eps * signs[start : start + batch_size] * basis
                if clamp is not None:
                    xb = xb.clamp(*clamp)
                pred = predict(model, xb).argmax(dim=1)
                wrong += int((pred != y[start : start + batch_size]).sum())
            heat[u, v] = wrong / x.shape[0]
            mu, mv = (2 * ch - u) % h, (2 * cw - v) % w  # the mirror frequency's index
            if mu in rows and mv in cols:
                heat[mu, mv] = heat[u, v]
    return heat
