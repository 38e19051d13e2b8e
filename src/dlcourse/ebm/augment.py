"""Random views of images for contrastive self-supervised learning.

Taught in :ref:`energy-based-models` (``book/energy-based-models.ipynb``).

A contrastive method needs pairs that should have the same representation. Without labels we
make them: two random *views* of the same image, :math:`x' = T_1(x)` and :math:`x'' = T_2(x)`,
where :math:`T` is drawn from a family of transformations that change the pixels but not the
content. For handwritten digits a small random affine map (rotation, scaling, translation) is
enough; the representation learned is then (approximately) invariant to those transformations,
which is exactly what a digit classifier needs and what raw pixels lack.
"""

from __future__ import annotations

import math

from .._validation import InvalidParameterError, check_scalar, check_torch_seed, renamed_kwargs
from ..utils import is_torch

__all__ = ["random_affine"]


@renamed_kwargs(generator="seed")
def random_affine(
    x,
    *,
    max_rotation: float = 15.0,
    max_scale: float = 0.15,
    max_shift: float = 3.0,
    noise_std: float = 0.0,
    seed=None,
):
    """Apply an independent random affine transformation to each image of a batch.

    Each image is rotated by an angle uniform in ``[-max_rotation, max_rotation]`` degrees,
    scaled by a factor uniform in ``[1 - max_scale, 1 + max_scale]``, shifted by up to
    ``max_shift`` pixels in each direction (bilinear resampling, zeros outside), then Gaussian
    noise of standard deviation ``noise_std`` is added.

    Parameters
    ----------
    x : torch.Tensor of shape (n, c, h, w)
        Images (not modified).
    seed : int, torch.Generator, numpy.random.Generator or None
        Randomness of the views: an int seeds a new generator on ``x``'s device, a
        ``torch.Generator`` (on that device) is used as is, ``None`` draws from torch's global
        generator (never seeds it). ``generator=`` is its deprecated old name.

    Returns
    -------
    torch.Tensor of shape (n, c, h, w)

    Examples
    --------
    >>> import torch
    >>> x = torch.zeros(2, 1, 28, 28); x[:, :, 10:18, 12:16] = 1.0
    >>> same = random_affine(x, max_rotation=0, max_scale=0, max_shift=0)
    >>> bool(torch.allclose(same, x, atol=1e-5))
    True
    """
    import torch
    from torch.nn import functional as F

    if not is_torch(x) or x.ndim != 4 or not x.is_floating_point():
        raise InvalidParameterError(
            "The 'x' argument must be a floating-point torch.Tensor of shape (n, c, h, w). Got "
            + (f"shape {tuple(x.shape)}, dtype {x.dtype}." if is_torch(x) else type(x).__name__)
        )
    values = {
        "max_rotation": max_rotation,
        "max_scale": max_scale,
        "max_shift": max_shift,
        "noise_std": noise_std,
    }
    for name, value in values.items():
        check_scalar(value, name, float, low=0)
    check_scalar(max_scale, "max_scale", float, low=0, high=1, closed="left")
    generator = check_torch_seed(seed, x.device)
    n, _, h, w = x.shape

    def uniform(scale):
        u = torch.rand(n, generator=generator, device=x.device, dtype=x.dtype)
        return (2 * u - 1) * scale

    angle = uniform(math.radians(max_rotation))
    scale = 1 + uniform(max_scale)
    tx, ty = uniform(2 * max_shift / w), uniform(2 * max_shift / h)  # grid coordinates in [-1, 1]
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, tx], dim=1), torch.stack([sin, cos, ty], dim=1)], dim=1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if noise_std > 0:
        out = out + noise_std * torch.randn(
            out.shape, generator=generator, device=x.device, dtype=x.dtype
        )
    return out
