"""The engine of :mod:`dlcourse.autograd`: :class:`Tensor` and ``backward``.

Taught in the chapter *Training neural networks* (book/training).

A :class:`Tensor` wraps a NumPy array. Every operation on tensors is a small class derived
from :class:`~dlcourse.autograd.function.Function` (in :mod:`dlcourse.autograd.function`,
with ``Context``, ``no_grad`` and ``unbroadcast``, which this module re-exports) with two
static methods:

* ``forward(ctx, *arrays, **params) -> array`` computes the output from plain arrays
  and stores in ``ctx`` whatever the backward rule will need;
* ``backward(ctx, grad) -> tuple of arrays`` receives :math:`\\bar y = \\partial L/\\partial y`
  (same shape as the output ``y``) and returns one :math:`\\bar x_i = \\partial L/\\partial x_i`
  per input (same shape as that input), or ``None`` for an input that needs no gradient.
  This is a vector-Jacobian product, :math:`\\bar x_i = J_{y,x_i}^\\top \\bar y`.

``Function.apply`` runs ``forward`` and, when some input requires a gradient, records the
output's parents and its ``ctx``: the computation graph is built as the code runs.
``Tensor.backward`` then visits the graph once, from the output to the leaves, in reverse
topological order, and applies the chain rule at every node. A tensor used by several
operations receives the *sum* of the gradients flowing back from each use:

.. math:: \\bar x = \\sum_{k:\\, x \\to y_k} J_{y_k,x}^\\top \\bar y_k .

Gradients are stored in ``.grad`` of the leaves that have ``requires_grad=True`` (and of
intermediate tensors on which :meth:`Tensor.retain_grad` was called), and accumulate over
successive ``backward`` calls until :meth:`Tensor.zero_grad`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from . import ops
from .function import Context, Function, Node, is_grad_enabled, no_grad, unbroadcast

__all__ = [
    "Tensor",
    "Function",
    "Context",
    "no_grad",
    "is_grad_enabled",
    "unbroadcast",
    "as_tensor",
]


# --------------------------------------------------------------------------- helpers
def _to_float_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert ``data`` to a new floating-point array, with an error a student can read."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"Tensor: dtype must be a NumPy float type. Got {dtype!r}.") from None
        if dtype.kind != "f":
            raise TypeError(
                f"Tensor: dtype must be a floating-point type (float32, float64). Got {dtype}."
            )
    if data is None or isinstance(data, (str, bytes)):
        raise TypeError(
            "Tensor data must be numbers: a number, a (nested) list of numbers or a numeric "
            f"array. Got {type(data).__name__} {data!r:.60}."
        )
    try:
        array = np.array(data, copy=True, order="C")
    except (TypeError, ValueError) as err:  # ragged nested lists, for instance
        raise TypeError(
            "Tensor data must be numbers: a number, a (nested) list of numbers or a numeric "
            f"array. Got {type(data).__name__} that NumPy cannot convert ({err})."
        ) from None
    if array.dtype.kind not in "biuf":
        what = "complex numbers" if array.dtype.kind == "c" else f"dtype {array.dtype}"
        raise TypeError(
            "Tensor data must be real numbers (bool, int or float), but it holds "
            f"{what}: {data!r:.60}."
        )
    if dtype is not None:
        return array.astype(dtype, copy=False)  # C order is kept
    if array.dtype.kind != "f":  # bool and integer input become float64
        return array.astype(np.float64)
    return array


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, np.ndarray)


def as_tensor(x: Any, dtype: Any = None) -> Tensor:
    """Return ``x`` if it is already a :class:`Tensor`, otherwise wrap it in a constant one.

    A Python or NumPy number is cast to ``dtype`` (the dtype of the tensor it meets), so that
    ``x * 2`` keeps a float32 tensor in float32.
    """
    if isinstance(x, Tensor):
        return x
    if dtype is not None and _is_number(x):
        return Tensor._make(np.asarray(x, dtype=dtype))
    return Tensor(x)


# --------------------------------------------------------------------------- Tensor
class Tensor(Node):
    """An array that remembers how it was computed, so that gradients can flow back.

    Parameters
    ----------
    data : number, nested list of numbers or ndarray
        The values, copied (in C order). Python numbers, lists, bool and integer arrays become
        ``float64``; a float array keeps its dtype (e.g. ``float32``) unless ``dtype`` is
        given.
    requires_grad : bool, default False
        Whether ``backward`` should compute and store ``.grad`` for this tensor.
    dtype : float dtype, optional
        Force the floating-point type of ``data``.

    Attributes
    ----------
    data : ndarray
        The values.
    grad : ndarray or None
        :math:`\\partial L / \\partial \\text{data}` accumulated by ``backward``, same shape
        as ``data``; ``None`` until a backward pass reaches this tensor.
    requires_grad : bool

    Examples
    --------
    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()          # y = sum_i x_i^2
    >>> y.backward()
    >>> x.grad                     # dy/dx = 2 x
    array([2., 4., 6.])
    """

    __slots__ = ("data", "grad", "requires_grad", "_op", "_ctx", "_parents", "_retains_grad")
    # Make ``ndarray + Tensor`` call ``Tensor.__radd__`` instead of looping over the array.
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = _to_float_array(data, dtype)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._op: type[Function] | None = None
        self._ctx: Context | None = None
        self._parents: tuple[Tensor, ...] = ()
        self._retains_grad = False

    @classmethod
    def _make(cls, data: Any, requires_grad: bool = False) -> Tensor:
        """Fast constructor for the engine: no validation and no copy."""
        t = object.__new__(cls)
        t.data = data if type(data) is np.ndarray else np.asarray(data)
        t.grad = None
        t.requires_grad = requires_grad
        t._op, t._ctx, t._parents, t._retains_grad = None, None, (), False
        return t

    @classmethod
    def _lift(cls, x: Any, dtype: Any = None) -> Tensor:
        """What :meth:`Function.apply` makes of a non-tensor input: :func:`as_tensor`."""
        return as_tensor(x, dtype)

    # ----------------------------------------------------------------- array-like
    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``data``."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """Number of dimensions of ``data``."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """Number of elements of ``data``."""
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        """Floating-point type of ``data``."""
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """``True`` for a tensor created by the user, not by an operation on tensors."""
        return self._op is None

    @property
    def parents(self) -> tuple[Tensor, ...]:
        """The tensors this one was computed from (empty for a leaf): its edges in the graph."""
        return self._parents

    @property
    def grad_fn(self) -> str | None:
        """Name of the operation that produced this tensor (``None`` for a leaf)."""
        return None if self._op is None else self._op.__name__

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no first axis.")
        return len(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        if self._op is not None:
            return f"Tensor({body}, grad_fn={self._op.__name__})"
        if self.requires_grad:
            return f"Tensor({body}, requires_grad=True)"
        return f"Tensor({body})"

    def item(self) -> float:
        """Return the value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a tensor with exactly one element, but this one has shape "
                f"{self.shape}."
            )
        return float(self.data.reshape(()))

    def numpy(self) -> np.ndarray:
        """Return ``data`` (the same array, not a copy)."""
        return self.data

    def detach(self) -> Tensor:
        """Return a tensor with the same ``data`` (shared, not copied) and no graph."""
        return Tensor._make(self.data)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad`` becomes ``None``)."""
        self.grad = None

    def retain_grad(self) -> None:
        """Also store ``.grad`` on this intermediate (non-leaf) tensor during ``backward``."""
        self._retains_grad = True

    # ----------------------------------------------------------------- backward
    def backward(self, grad: Any = None) -> None:
        """Compute the gradient of this tensor with respect to every leaf that needs one.

        Parameters
        ----------
        grad : array_like, optional
            :math:`\\partial L/\\partial \\text{self}`, same shape as ``self``. It may be
            left out only for a one-element tensor (a scalar loss), where it is 1.

        Notes
        -----
        The nodes are visited in reverse topological order, computed *iteratively*, so
        graphs of any depth work (no recursion limit). A node's gradient is complete
        before its backward rule runs, because every tensor computed from it comes
        earlier in that order.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() was called on a tensor that does not require grad: no input of "
                "the computation had requires_grad=True, or it ran under no_grad()."
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() without a gradient works only on a scalar (one-element) "
                    f"tensor, but this one has shape {self.shape}. Reduce it first (e.g. "
                    f"loss.sum() or loss.mean()) or pass grad= with shape {self.shape}."
                )
            grad = np.ones_like(self.data)
        else:
            grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, self.data.dtype)
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward(grad): grad has shape {grad.shape} but the tensor has shape "
                    f"{self.shape}; they must be equal."
                )

        grads = {id(self): grad}
        shared = {id(grad if grad.base is None else grad.base)}  # arrays leaves must not keep
        for node in reversed(_topological_order(self)):
            g = grads.pop(id(node), None)
            if g is None:  # no path carried a gradient to this node
                continue
            if node._op is None or node._retains_grad:
                node._accumulate(g, shared)
            if node._op is None:
                continue
            input_grads = node._op.backward(cast(Context, node._ctx), g)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            if len(input_grads) != len(node._parents):
                raise RuntimeError(
                    f"{node._op.__name__}.backward returned {len(input_grads)} gradients for "
                    f"{len(node._parents)} inputs; return one per input (None if not needed)."
                )
            for parent, pg in zip(node._parents, input_grads, strict=True):
                if pg is None or not parent.requires_grad:
                    continue
                if type(pg) is not np.ndarray:
                    pg = np.asarray(pg)
                if pg.shape != parent.data.shape:
                    raise RuntimeError(
                        f"{node._op.__name__}.backward returned a gradient of shape {pg.shape} "
                        f"for an input of shape {parent.data.shape}; they must be equal."
                    )
                key = id(parent)
                grads[key] = pg if key not in grads else grads[key] + pg

    def _accumulate(self, g: np.ndarray, shared: set[int]) -> None:
        """Add ``g`` to ``self.grad``; keep ``g`` itself only if no one else holds it."""
        if g.dtype != self.data.dtype:
            g = g.astype(self.data.dtype)
        if self.grad is not None:
            self.grad = self.grad + g
            return
        # Keep ``g`` without copying when it is a fresh array (or a full, contiguous view of
        # one, like a reshape) that no other tensor received; otherwise keep a private copy.
        owner = g if g.base is None else g.base
        if (
            isinstance(owner, np.ndarray)
            and owner.base is None
            and owner.size == g.size
            and g.flags.c_contiguous
            and g.flags.writeable
            and id(owner) not in shared
        ):
            self.grad = g
            shared.add(id(owner))
        else:
            self.grad = np.array(g, order="C")

    # ----------------------------------------------------------------- operators
    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(other, self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __abs__(self) -> Tensor:
        return ops.Abs.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.GetItem.apply(self, index=index)

    # ----------------------------------------------------------------- methods
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all axes by default); see :class:`~dlcourse.autograd.ops.Sum`."""
        return ops.Sum.apply(self, axis=_axis(axis), keepdims=keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (all axes by default); see :class:`~dlcourse.autograd.ops.Mean`."""
        return ops.Mean.apply(self, axis=_axis(axis), keepdims=keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Maximum over ``axis``; ties share the gradient (see :class:`~.ops.Max`)."""
        return ops.Max.apply(self, axis=_axis(axis), keepdims=keepdims)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """Same values in a new shape, ``x.reshape(2, 3)`` or ``x.reshape((2, 3))``."""
        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
            shape = tuple(cast("Sequence[int]", shape[0]))
        return ops.Reshape.apply(self, shape=shape)

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """Permute the axes (reverse them when none are given), as ``np.transpose``."""
        if len(axes) == 1 and not isinstance(axes[0], numbers.Integral):
            axes = tuple(cast("Sequence[int]", axes[0]))
        return ops.Transpose.apply(self, axes=axes or None)

    @property
    def T(self) -> Tensor:
        """The tensor with its axes reversed (the transpose of a matrix)."""
        return ops.Transpose.apply(self, axes=None)

    def exp(self) -> Tensor:
        """Elementwise :math:`e^x`."""
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        """Elementwise natural logarithm."""
        return ops.Log.apply(self)

    def relu(self) -> Tensor:
        """Elementwise :math:`\\max(x, 0)`."""
        return ops.ReLU.apply(self)

    def tanh(self) -> Tensor:
        """Elementwise hyperbolic tangent."""
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        """Elementwise logistic function :math:`1/(1+e^{-x})`."""
        return ops.Sigmoid.apply(self)

    def abs(self) -> Tensor:
        """Elementwise absolute value."""
        return ops.Abs.apply(self)

    def sqrt(self) -> Tensor:
        """Elementwise square root."""
        return ops.Sqrt.apply(self)

    def astype(self, dtype: Any) -> Tensor:
        """Cast to another float dtype; the gradient is cast back."""
        return ops.Cast.apply(self, dtype=np.dtype(dtype))


def _axis(axis: Any) -> int | tuple[int, ...] | None:
    """Normalise an ``axis`` argument to None, an int or a tuple of ints."""
    if axis is None:
        return None
    if isinstance(axis, numbers.Integral):
        return int(axis)
    return tuple(int(a) for a in axis)


def _topological_order(root: Tensor) -> list[Tensor]:
    """Return the tensors ``root`` depends on (through ``requires_grad`` ones), inputs first.

    An iterative depth-first search: a node is appended once all its parents are, so a
    deep chain of operations needs no recursion.
    """
    order: list[Tensor] = []
    visited = {id(root)}
    stack = [(root, iter(root._parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent.requires_grad and id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, iter(parent._parents)))
                break
        else:  # every parent is in ``order`` already
            stack.pop()
            order.append(node)
    return order
