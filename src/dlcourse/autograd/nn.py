"""A tiny torch-like layer API on top of :mod:`dlcourse.autograd`.

Taught in the chapter *Training neural networks* (book/training).

A :class:`Module` holds parameters (tensors with ``requires_grad=True``) and sub-modules;
``model(x)`` calls ``model.forward(x)``; ``model.parameters()`` lists every parameter once,
which is what an optimizer needs. :class:`Linear` computes :math:`y = x W^\\top + b` with
``W`` of shape (out_features, in_features), as ``torch.nn.Linear`` does, so weights can be
copied between the two.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .._validation import InvalidParameterError, check_scalar, check_seed, invalid, renamed_kwargs
from .tensor import Tensor

__all__ = ["Module", "Linear", "ReLU", "Tanh", "Sequential", "MLP"]


class Module:
    """Base class of layers and models: parameters, sub-modules and ``__call__``.

    Subclasses set attributes (tensors, modules, lists of modules) in ``__init__`` and
    define ``forward``.
    """

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(self, x: Any) -> Tensor:
        return self.forward(x)

    def parameters(self) -> list[Tensor]:
        """Every tensor with ``requires_grad=True`` held by this module or its sub-modules."""
        unique: dict[int, Tensor] = {}
        for p in self._walk():
            unique.setdefault(id(p), p)  # first occurrence, in order
        return list(unique.values())

    def _walk(self) -> Iterator[Tensor]:
        for value in vars(self).values():
            items = value if isinstance(value, (list, tuple)) else (value,)
            for item in items:
                if isinstance(item, Tensor) and item.requires_grad:
                    yield item
                elif isinstance(item, Module):
                    yield from item._walk()

    def zero_grad(self) -> None:
        """Set ``grad`` of every parameter to ``None``."""
        for p in self.parameters():
            p.grad = None


class Linear(Module):
    """Affine layer :math:`y = x W^\\top + b`.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of the input and output.
    bias : bool, default True
        Whether to add the bias ``b``.
    seed : int, numpy.random.Generator, torch.Generator or None
        Source of the initial weights (an int seeds a new generator, a NumPy generator is
        used as is); ``None`` draws fresh entropy. ``rng=`` is its deprecated old name.
    init : {"he", "glorot"}, default "he"
        ``"he"`` (Kaiming): :math:`W_{ij} \\sim \\mathcal N(0, 2/n_{in})`, which keeps the
        variance of activations constant through ReLU layers. ``"glorot"`` (Xavier):
        :math:`W_{ij} \\sim \\mathcal U(-a, a)`, :math:`a = \\sqrt{6/(n_{in}+n_{out})}`,
        suited to tanh/sigmoid. The bias starts at 0.
    dtype : float dtype, default float64

    Attributes
    ----------
    weight : Tensor of shape (out_features, in_features)
    bias : Tensor of shape (out_features,) or None

    Examples
    --------
    >>> layer = Linear(3, 2, seed=0)
    >>> layer(Tensor(np.ones((5, 3)))).shape
    (5, 2)
    >>> [p.shape for p in layer.parameters()]
    [(2, 3), (2,)]
    """

    @renamed_kwargs(rng="seed")
    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        seed: Any = None,
        init: str = "he",
        dtype: Any = np.float64,
    ) -> None:
        n_in = check_scalar(in_features, "in_features", int, low=1)
        n_out = check_scalar(out_features, "out_features", int, low=1)
        rng = check_seed(seed)
        if init == "he":
            w = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))
        elif init == "glorot":
            a = np.sqrt(6.0 / (n_in + n_out))
            w = rng.uniform(-a, a, size=(n_out, n_in))
        else:
            raise invalid("init", "'he' or 'glorot'", init)
        self.in_features, self.out_features = n_in, n_out
        self.weight = Tensor(w, requires_grad=True, dtype=dtype)
        self.bias = Tensor(np.zeros(n_out), requires_grad=True, dtype=dtype) if bias else None

    def forward(self, x: Any) -> Tensor:
        y = x @ self.weight.T if isinstance(x, Tensor) else Tensor(x) @ self.weight.T
        return y if self.bias is None else y + self.bias

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features}, bias={self.bias is not None})"


class ReLU(Module):
    """Elementwise :math:`\\max(x, 0)` as a layer."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()

    def __repr__(self) -> str:
        return "ReLU()"


class Tanh(Module):
    """Elementwise :math:`\\tanh x` as a layer."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()

    def __repr__(self) -> str:
        return "Tanh()"


class Sequential(Module):
    """Apply modules one after the other: ``Sequential(f, g)(x) == g(f(x))``."""

    def __init__(self, *layers: Module) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise InvalidParameterError(
                    f"Sequential: layer {i} is not a Module. Got {layer!r}."
                )
        self.layers = list(layers)

    def forward(self, x: Any) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"{type(self).__name__}({inner}\n)"


class MLP(Sequential):
    """Fully connected ReLU network: ``Linear, ReLU, ..., Linear`` (no final activation).

    Parameters
    ----------
    sizes : sequence of int
        Layer widths from input to output, e.g. ``[784, 128, 10]``.
    seed : int, numpy.random.Generator, torch.Generator or None
        Source of the initial weights (He initialisation); one generator feeds every layer.
        ``rng=`` is its deprecated old name.
    dtype : float dtype, default float64

    Examples
    --------
    >>> model = MLP([4, 8, 3], seed=0)
    >>> model(Tensor(np.zeros((2, 4)))).shape
    (2, 3)
    >>> len(model.parameters())
    4
    """

    @renamed_kwargs(rng="seed")
    def __init__(
        self,
        sizes: Sequence[int],
        *,
        seed: Any = None,
        dtype: Any = np.float64,
    ) -> None:
        sizes = list(sizes)
        if len(sizes) < 2:
            raise InvalidParameterError(
                f"MLP: 'sizes' needs at least two widths (input and output). Got {sizes}."
            )
        rng = check_seed(seed)
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(Linear(n_in, n_out, seed=rng, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(ReLU())
        super().__init__(*layers)
