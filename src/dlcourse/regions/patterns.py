r"""Activation patterns of a ReLU network: which units are on at an input.

Taught in *From kernels to neural networks* (``book/kernels-to-networks.ipynb``). For a network
:math:`f = A_L \circ \mathrm{ReLU} \circ A_{L-1} \circ \dots \circ \mathrm{ReLU} \circ A_1`
with affine maps :math:`A_k`, the pattern of :math:`x` is the vector of bits
:math:`\mathbb{1}[z_j(x) > 0]` over every hidden unit :math:`j` (its pre-activation
:math:`z_j`). On the set of inputs that share one pattern the network is one affine map, and
that set is convex (each bit is a linear inequality once the earlier bits are fixed): it is a
*linear region* (an activation region in Hanin & Rolnick's words).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, as_tensor
from ._net import model_device, relu_layers

__all__ = ["activation_patterns", "pattern_ids"]


def _check_inputs(model: Any, x: Any, n_in: int):
    import torch

    dev = model_device(model)
    x = as_tensor(x, "x", ndim=2, allow_nan=False)
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    if x.shape[1] != n_in:
        raise InvalidParameterError(
            f"The 'x' argument must have shape (n, {n_in}) to match the model's first "
            f"nn.Linear ({n_in} input features). Got shape {tuple(x.shape)}."
        )
    return x, dev


def activation_patterns(model: Any, x: Any):
    r"""The on/off state :math:`\mathbb{1}[z_j(x) > 0]` of every hidden ReLU unit.

    Parameters
    ----------
    model : torch.nn.Sequential
        ``Linear, ReLU, ..., Linear`` (any other activation raises).
    x : torch.Tensor or array_like of shape (n, in_features)
        Inputs, one per row.

    Returns
    -------
    torch.Tensor of bool, shape (n, n_hidden)
        The patterns, hidden layers concatenated in order, on ``x``'s device (a NumPy input
        gives a CPU tensor). The pre-activations are computed with the model's own
        parameters in ``x``'s dtype, on the model's device.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
    ...     _ = net[0].bias.zero_()
    >>> activation_patterns(net, torch.tensor([[-2.0], [3.0]]))
    tensor([[False,  True],
            [ True, False]])
    """
    import torch
    from torch import nn

    layers, final_relu = relu_layers(model)
    x, dev = _check_inputs(model, x, layers[0][0].shape[1])
    out_device = x.device
    bits = []
    with torch.no_grad():
        h = x.to(dev)
        mods = [m for m in model if not isinstance(m, (nn.Identity, nn.Flatten))]
        for m in mods:
            if isinstance(m, nn.Linear):
                h = torch.nn.functional.linear(
                    h, m.weight.to(h.dtype), None if m.bias is None else m.bias.to(h.dtype)
                )
            else:
                bits.append(h > 0)
                h = torch.relu(h)
    if not bits:
        return torch.zeros((x.shape[0], 0), dtype=torch.bool, device=out_device)
    return torch.cat(bits, dim=1).to(out_device)


def pattern_ids(patterns: Any) -> np.ndarray:
    """Integer labels of the distinct rows of a boolean pattern matrix (0, 1, 2, ...).

    Two rows get the same label exactly when they are equal; labels follow the order of
    first appearance. ``len(np.unique(pattern_ids(p)))`` is the number of distinct patterns.

    Parameters
    ----------
    patterns : torch.Tensor or ndarray of bool, shape (n, n_hidden)

    Returns
    -------
    ndarray of int64, shape (n,)

    Examples
    --------
    >>> pattern_ids(np.array([[1, 0], [0, 1], [1, 0]], dtype=bool))
    array([0, 1, 0])
    """
    if hasattr(patterns, "detach"):
        patterns = patterns.detach().cpu().numpy()
    p = np.asarray(patterns)
    if p.ndim != 2:
        raise InvalidParameterError(
            f"The 'patterns' argument of pattern_ids must be 2-D (n, n_hidden). "
            f"Got shape {p.shape}."
        )
    packed = np.packbits(p.astype(bool), axis=1)
    if packed.shape[1] == 0:
        return np.zeros(p.shape[0], dtype=np.int64)
    rows = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))  # relabel by first appearance
    return order[inverse.ravel()].astype(np.int64)
