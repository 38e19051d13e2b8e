"""A random Gaussian layer and recovering the input of a wide random ReLU layer.

Taught in the chapter *What random networks already do* (``book/random-networks.ipynb``).

A random layer is the linear map :math:`u \\mapsto A u` with :math:`A \\in \\mathbb{R}^{m
\\times n}` and i.i.d. :math:`a_{ij} \\sim \\mathcal{N}(0, 1/m)`, so that
:math:`\\mathbb{E}\\|Au\\|^2 = \\|u\\|^2`: the scaling of compressed sensing
(:func:`dlcourse.sparse.gaussian_measurements` draws the same matrix as a NumPy array).

After a ReLU, :math:`y = \\max(Au, 0)`, the active units :math:`S = \\{i : y_i > 0\\}` give the
linear equations :math:`A_S u = y_S`. When the layer is wide enough that
:math:`|S| \\ge n` (about :math:`m/2` units are active), the input is their least-squares
solution, :math:`\\hat u = A_S^{+} y_S`, exact in the absence of noise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import (
    InvalidParameterError,
    as_float_array,
    check_scalar,
    check_torch_seed,
)
from ..utils import is_torch

__all__ = ["gaussian_layer", "relu_inverse"]


def gaussian_layer(n_in: int, n_out: int, seed: Any = None):
    """A ``torch.nn.Linear(n_in, n_out, bias=False)`` with weights :math:`\\mathcal{N}(0, 1/m)`.

    .. math:: a_{ij} \\sim \\mathcal{N}(0, 1/m), \\quad m = n_{out},
              \\qquad \\mathbb{E}\\|A u\\|^2 = \\|u\\|^2.

    Parameters
    ----------
    n_in : int >= 1
        Input dimension :math:`n`.
    n_out : int >= 1
        Output dimension :math:`m` (the number of random projections).
    seed : int, torch.Generator, numpy.random.Generator or None
        An int gives the same weights every time; the global RNG is never seeded.

    Returns
    -------
    torch.nn.Linear
        float32 on the CPU, weight of shape ``(n_out, n_in)``; move it with ``.to(device)``.

    Examples
    --------
    >>> import torch
    >>> layer = gaussian_layer(100, 2000, seed=0)
    >>> layer.weight.shape, layer.bias
    (torch.Size([2000, 100]), None)
    >>> round(float(layer.weight.detach().var() * 2000), 1)   # variance 1/m
    1.0
    """
    import torch

    n_in = check_scalar(n_in, "n_in", int, low=1)
    n_out = check_scalar(n_out, "n_out", int, low=1)
    generator = check_torch_seed(seed)
    layer = torch.nn.utils.skip_init(torch.nn.Linear, n_in, n_out, bias=False)
    with torch.no_grad():
        w = torch.randn(n_out, n_in, generator=generator, dtype=torch.float32)
        layer.weight.copy_(w / math.sqrt(n_out))
    return layer


def relu_inverse(y: Any, weight: Any) -> Any:
    """Recover inputs of a random ReLU layer by least squares on its active units.

    For one output :math:`y = \\max(Au, 0)` with active set :math:`S = \\{i : y_i > 0\\}`,

    .. math:: \\hat u = \\arg\\min_u \\|A_S u - y_S\\|_2^2 = A_S^{+} y_S .

    Exact (up to rounding) when :math:`A_S` has full column rank, which needs
    :math:`|S| \\ge n`: a random layer of width :math:`m \\gtrsim 2n`.

    Parameters
    ----------
    y : ndarray or tensor of shape (n_points, m) or (m,)
        ReLU outputs (non-negative).
    weight : ndarray, tensor of shape (m, n), or a torch.nn.Linear without bias
        The layer's matrix :math:`A` (a ``Linear``'s ``weight``).

    Returns
    -------
    ndarray or tensor of shape (n_points, n) or (n,)
        Same type as ``y`` (a tensor on ``y``'s device and dtype).

    Examples
    --------
    >>> import torch
    >>> layer = gaussian_layer(20, 100, seed=0)
    >>> u = torch.randn(3, 20, generator=torch.Generator().manual_seed(1))
    >>> y = torch.relu(layer(u)).detach()
    >>> bool(torch.allclose(relu_inverse(y, layer), u, atol=1e-4))
    True
    """
    import torch

    if isinstance(weight, torch.nn.Linear):
        if weight.bias is not None:
            raise InvalidParameterError(
                "relu_inverse needs a layer without bias (torch.nn.Linear(..., bias=False)); "
                "this one has a bias."
            )
        weight = weight.weight
    A = as_float_array(weight, "weight", ndim=2)
    was_torch = is_torch(y)
    like = y
    Y = as_float_array(y, "y", ndim=(1, 2))
    one = Y.ndim == 1
    Y = Y[None] if one else Y
    m, n = A.shape
    if Y.shape[1] != m:
        raise InvalidParameterError(
            f"y has {Y.shape[1]} units per row but weight has m = {m} rows (weight must be of "
            f"shape (m, n) = (n_out, n_in)); they must match."
        )
    if np.any(Y < 0):
        raise InvalidParameterError(
            "The 'y' argument of relu_inverse must hold ReLU outputs (>= 0); got negative entries."
        )
    U = np.zeros((Y.shape[0], n))
    for i, row in enumerate(Y):
        active = row > 0
        if active.any():
            U[i], *_ = np.linalg.lstsq(A[active], row[active], rcond=None)
    U = U[0] if one else U
    if was_torch:
        return torch.as_tensor(U, dtype=like.dtype, device=like.device)
    return U
