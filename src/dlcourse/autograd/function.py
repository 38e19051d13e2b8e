"""The operation side of the engine: :class:`Function`, :class:`Context` and the grad mode.

Taught in the chapter *Training neural networks* (book/training).

Every operation on tensors is a small class derived from :class:`Function` with two static
methods:

* ``forward(ctx, *arrays, **params) -> array`` computes the output from plain arrays
  and stores in ``ctx`` whatever the backward rule will need;
* ``backward(ctx, grad) -> tuple of arrays`` receives :math:`\\bar y = \\partial L/\\partial y`
  (same shape as the output ``y``) and returns one :math:`\\bar x_i = \\partial L/\\partial x_i`
  per input (same shape as that input), or ``None`` for an input that needs no gradient.
  This is a vector-Jacobian product, :math:`\\bar x_i = J_{y,x_i}^\\top \\bar y`.

``Function.apply`` runs ``forward`` and, when some input requires a gradient, records the
output's parents and its ``ctx``: the computation graph is built as the code runs.

The modules depend on each other in one direction: ``function`` (this module) <- ``ops``
(one :class:`Function` per operation) <- ``tensor`` (:class:`~dlcourse.autograd.tensor.Tensor`,
whose operators call the operations). This module never imports ``tensor``:
:meth:`Function.apply` makes its output with the class of its tensor inputs, through the
small :class:`Node` interface that ``Tensor`` implements.
"""

from __future__ import annotations

from contextlib import ContextDecorator
from typing import TYPE_CHECKING, Any, cast

import numpy as np

if TYPE_CHECKING:  # for annotations only: tensor.py imports this module, not the reverse
    from .tensor import Tensor

__all__ = ["Function", "Context", "Node", "no_grad", "is_grad_enabled", "unbroadcast"]


# --------------------------------------------------------------------------- gradient mode
class _GradMode:
    """Whether operations record the graph (switched off inside :class:`no_grad`)."""

    enabled = True


def is_grad_enabled() -> bool:
    """Return ``True`` unless the code runs inside a :class:`no_grad` block."""
    return _GradMode.enabled


class no_grad(ContextDecorator):
    """Context manager (or decorator) under which operations build no graph.

    Use it for evaluation and for parameter updates: outputs computed inside the block
    have ``requires_grad=False`` and keep no reference to their inputs.

    Examples
    --------
    >>> from dlcourse.autograd import Tensor
    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __init__(self) -> None:
        self._previous: list[bool] = []  # a stack, so a decorated function may recurse

    def __enter__(self) -> no_grad:
        self._previous.append(_GradMode.enabled)
        _GradMode.enabled = False
        return self

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled = self._previous.pop()


# --------------------------------------------------------------------------- helpers
def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes along which an operand of ``shape`` was broadcast.

    If ``x`` of shape ``shape`` was broadcast to ``y`` (NumPy rules: missing leading axes
    are added, axes of length 1 are repeated), every entry of ``x`` was used once per copy,
    so its gradient is the sum of ``grad`` over the copies:
    :math:`\\bar x_{j} = \\sum_{i \\text{ copies of } j} \\bar y_i`.

    Parameters
    ----------
    grad : ndarray
        Gradient with respect to the broadcast result.
    shape : tuple of int
        Shape of the operand before broadcasting.

    Returns
    -------
    ndarray of shape ``shape`` (``grad`` itself when the shapes already match).

    Examples
    --------
    >>> unbroadcast(np.ones((2, 3, 4)), (3, 1)).tolist()
    [[8.0], [8.0], [8.0]]
    """
    if grad.shape == shape:  # the common case: nothing was broadcast
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    repeated = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if repeated:
        grad = grad.sum(axis=repeated, keepdims=True)
    return grad.reshape(shape)


# --------------------------------------------------------------------------- Node
class Node:
    """What :meth:`Function.apply` needs of a value in the graph.

    :class:`~dlcourse.autograd.tensor.Tensor` is the one kind of node. Declaring the
    interface here lets this module build graphs without importing ``tensor.py``.
    """

    __slots__ = ()

    data: np.ndarray
    requires_grad: bool
    _op: type[Function] | None
    _ctx: Context | None
    _parents: tuple[Any, ...]

    @classmethod
    def _make(cls, data: Any, requires_grad: bool = False) -> Any:
        """A new node holding ``data`` without validation or copy."""
        raise NotImplementedError

    @classmethod
    def _lift(cls, x: Any, dtype: Any = None) -> Any:
        """A constant node for a non-node input (a number takes ``dtype``)."""
        raise NotImplementedError


# --------------------------------------------------------------------------- Function
class Context:
    """Scratch space an operation fills in ``forward`` and reads in ``backward``.

    Attributes
    ----------
    saved : tuple of ndarray
        What :meth:`save_for_backward` stored.
    needs_input_grad : tuple of bool
        For each input, whether a gradient must be computed for it; ``backward`` may
        return ``None`` for the others and skip their (possibly costly) computation.
    """

    saved: tuple
    needs_input_grad: tuple[bool, ...]

    def save_for_backward(self, *values: Any) -> None:
        """Keep ``values`` (arrays the backward rule needs) in ``ctx.saved``."""
        self.saved = values

    if TYPE_CHECKING:  # operations keep any other state as attributes (``ctx.axis = axis``)

        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...


class Function:
    """Base class of every differentiable operation (the "op-as-class" shape).

    Subclasses define two static methods and inherit :meth:`apply`::

        class Mul(Function):
            @staticmethod
            def forward(ctx, a, b):
                ctx.save_for_backward(a, b)
                return a * b

            @staticmethod
            def backward(ctx, grad):
                a, b = ctx.saved
                return unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)

    ``forward`` and ``backward`` see plain NumPy arrays, never tensors; ``backward`` must
    not modify ``grad`` in place.
    """

    # Each operation has its own inputs and parameters (``forward(ctx, a, b)``,
    # ``forward(ctx, x, axis, keepdims)``): ``*args: Any`` lets it narrow them.
    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Tensor:
        """Run ``forward`` on the inputs' arrays and record the graph node.

        Non-tensor inputs (numbers, arrays) become constant tensors; a number takes the
        dtype of the first tensor input. Keyword arguments (``axis``, ``shape``...) are
        passed to ``forward`` and are not differentiated.
        """
        kind = next((type(x) for x in inputs if isinstance(x, Node)), None)
        if kind is None:
            raise TypeError(
                f"{cls.__name__}.apply needs at least one Tensor input; got "
                f"{', '.join(type(x).__name__ for x in inputs) or 'no inputs'}."
            )
        if not all(isinstance(x, Node) for x in inputs):
            dtype = next(x.data.dtype for x in inputs if isinstance(x, Node))
            inputs = tuple(x if isinstance(x, Node) else kind._lift(x, dtype) for x in inputs)
        ctx = Context()
        ctx.needs_input_grad = tuple(t.requires_grad for t in inputs)
        requires_grad = _GradMode.enabled and any(ctx.needs_input_grad)
        out = kind._make(cls.forward(ctx, *[t.data for t in inputs], **params), requires_grad)
        if requires_grad:
            out._op, out._ctx, out._parents = cls, ctx, inputs
        return cast("Tensor", out)
