"""Reading a ReLU network as a list of affine layers (private to :mod:`dlcourse.regions`).

A network here is a ``torch.nn.Sequential`` of ``nn.Linear`` and ``nn.ReLU`` modules that
alternate, starting and ending with a ``Linear``: ``Linear, ReLU, Linear, ReLU, ..., Linear``
(a trailing ``ReLU`` is accepted too). ``nn.Identity`` and ``nn.Flatten`` are skipped. Exact
region counting needs every activation to be a ReLU; any other module is refused with a
message that names it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, invalid


def relu_layers(model: Any, name: str = "model") -> tuple[list, bool]:
    """``([(W, b), ...], final_relu)`` with float64 NumPy copies of the Linear layers.

    ``W`` has shape ``(out_features, in_features)``. Every layer but the last is followed by
    a ReLU; ``final_relu`` says the last one is too. The model is only read (no copy of its
    parameters is written back, its mode is untouched).
    """
    import torch
    from torch import nn

    if not isinstance(model, nn.Sequential):
        raise invalid(
            name,
            "a torch.nn.Sequential of nn.Linear and nn.ReLU layers",
            got=f"a {type(model).__name__}",
        )
    layers: list = []
    kinds: list[str] = []
    for i, m in enumerate(model):
        if isinstance(m, (nn.Identity, nn.Flatten)):
            continue
        if isinstance(m, nn.Linear):
            if kinds and kinds[-1] == "linear":
                raise InvalidParameterError(
                    f"The 'model' argument has two nn.Linear layers in a row (module {i}); "
                    "put an nn.ReLU between them (or merge them: two affine maps are one)."
                )
            with torch.no_grad():
                W = m.weight.detach().to("cpu", torch.float64).numpy().copy()
                b = (
                    m.bias.detach().to("cpu", torch.float64).numpy().copy()
                    if m.bias is not None
                    else np.zeros(m.out_features)
                )
            if layers and W.shape[1] != layers[-1][0].shape[0]:
                raise InvalidParameterError(
                    f"The 'model' argument's module {i} expects {W.shape[1]} inputs but the "
                    f"layer before it gives {layers[-1][0].shape[0]}."
                )
            layers.append((W, b))
            kinds.append("linear")
        elif type(m) is nn.ReLU:
            if not kinds or kinds[-1] != "linear":
                raise InvalidParameterError(
                    f"The 'model' argument's module {i} is an nn.ReLU that does not follow an "
                    "nn.Linear; the network must read Linear, ReLU, Linear, ..., Linear."
                )
            kinds.append("relu")
        else:
            raise InvalidParameterError(
                f"The 'model' argument's module {i} is {type(m).__name__}; exact linear-region "
                "computations need a network of nn.Linear and nn.ReLU layers only (a "
                f"{type(m).__name__} is not piecewise linear with ReLU kinks)."
            )
    if not layers:
        raise InvalidParameterError("The 'model' argument has no nn.Linear layer.")
    return layers, kinds[-1] == "relu"


def hidden_sizes(layers: list, final_relu: bool) -> list[int]:
    """The widths of the ReLU layers (those whose units have an on/off state)."""
    n = len(layers) if final_relu else len(layers) - 1
    return [layers[k][0].shape[0] for k in range(n)]


def forward_pre(layers: list, final_relu: bool, x: np.ndarray) -> list[np.ndarray]:
    """Pre-activations of every ReLU layer at the rows of ``x`` (float64), a list."""
    out = []
    h = x
    n_relu = len(layers) if final_relu else len(layers) - 1
    for k in range(n_relu):
        W, b = layers[k]
        z = h @ W.T + b
        out.append(z)
        h = np.maximum(z, 0.0)
    return out


def model_device(model: Any):
    """The device of the model's first parameter (CPU when it has none)."""
    import torch

    for p in model.parameters():
        return p.device
    return torch.device("cpu")
