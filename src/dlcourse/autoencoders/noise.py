"""Corruption for denoising auto-encoders: additive Gaussian noise and masking noise.

Taught in the chapter *Autoencoders* (``book/autoencoders.ipynb``); Vincent et al. (2008).

A denoising auto-encoder is trained to map a corrupted :math:`\\tilde x \\sim q(\\tilde x\\mid x)`
back to the clean :math:`x`, minimising :math:`L(x, g(f(\\tilde x)))`. Two corruptions:

.. math:: \\text{gaussian:}\\ \\tilde x = x + \\sigma\\varepsilon,
   \\ \\varepsilon\\sim\\mathcal N(0, I);
   \\qquad \\text{mask:}\\ \\tilde x_j = m_j x_j,\\ m_j \\sim \\mathrm{Bernoulli}(1 - p),

with ``level`` :math:`\\sigma \\ge 0` for Gaussian noise and :math:`p \\in [0, 1]` (the fraction of
entries set to zero) for masking. The masked auto-encoder of the chapter on energy-based
models hides a square instead of independent pixels.
"""

from __future__ import annotations

from typing import Any

from .._validation import as_float_array, check_option, check_scalar, check_torch_seed
from ..utils import is_torch

__all__ = ["corrupt"]

KINDS = ("gaussian", "mask")


def corrupt(x: Any, kind: str = "gaussian", level: float = 0.1, seed: Any = 0) -> Any:
    """A corrupted copy :math:`\\tilde x` of ``x`` (see the module docstring).

    Parameters
    ----------
    x : Tensor or ndarray, any shape
        Left unchanged.
    kind : {"gaussian", "mask"}, default "gaussian"
    level : float
        The noise's standard deviation :math:`\\sigma \\ge 0` (``"gaussian"``), or the
        probability :math:`p \\in [0, 1]` that an entry is set to zero (``"mask"``).
    seed : int, torch.Generator, numpy.random.Generator or None, default 0
        The same int gives the same noise; a generator advances. The global random state is
        neither used (except for None) nor changed.

    Returns
    -------
    Tensor or ndarray like ``x`` (same device and dtype for a tensor).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((2, 4))
    >>> corrupt(x, "mask", 0.5, seed=0)
    array([[0., 1., 0., 0.],
           [0., 1., 0., 1.]])
    >>> float(corrupt(x, "gaussian", 0.0).sum())
    8.0
    """
    import torch

    kind = check_option(kind, "kind", KINDS)
    if kind == "gaussian":
        level = check_scalar(level, "level", float, low=0)
    else:
        level = check_scalar(level, "level", float, low=0, high=1)
    was_torch = is_torch(x)
    if was_torch:
        xt = x.detach()
        if not xt.is_floating_point():
            xt = xt.to(torch.get_default_dtype())
    else:
        xt = torch.from_numpy(as_float_array(x, "x", dtype=None).copy())
    gen = check_torch_seed(seed)
    if kind == "gaussian":
        noise = torch.randn(xt.shape, generator=gen, dtype=xt.dtype).to(xt.device)
        out = xt + level * noise
    else:
        keep = torch.rand(xt.shape, generator=gen).to(xt.device) >= level
        out = xt * keep
    if was_torch:
        return out
    return out.numpy()
