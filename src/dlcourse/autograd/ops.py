"""The differentiable operations of :mod:`dlcourse.autograd`, one small class each.

Taught in the chapter *Training neural networks* (book/training).

Each class implements ``forward(ctx, *arrays, **params)`` and the backward rule
``backward(ctx, grad)``, where ``grad`` is :math:`\\bar y = \\partial L/\\partial y` for the
output ``y`` and the rule returns :math:`\\bar x = \\partial L/\\partial x` for each input
(see :mod:`dlcourse.autograd.tensor`). Elementwise binary operations broadcast like NumPy;
their backward rules sum the gradient back to each operand's shape with
:func:`~dlcourse.autograd.tensor.unbroadcast`. Users reach these classes through the
operators and methods of :class:`~dlcourse.autograd.tensor.Tensor` (``a * b`` is
``Mul.apply(a, b)``).

In the table, ``g`` is the incoming gradient :math:`\\bar y` and ``ga`` the returned
:math:`\\bar a` (NumPy notation, before ``unbroadcast``)::

    op          forward            backward
    Add         y = a + b          ga = g              gb = g
    Sub         y = a - b          ga = g              gb = -g
    Mul         y = a * b          ga = g * b          gb = g * a
    Div         y = a / b          ga = g / b          gb = -g * a / b**2
    Pow         y = a ** b         ga = g * b * a**(b - 1)
                                   gb = g * y * log(a)
    MatMul      Y = A @ B          gA = G @ B.T        gB = A.T @ G
    Neg         y = -x             gx = -g
    Exp         y = exp(x)         gx = g * y
    Log         y = log(x)         gx = g / x
    ReLU        y = max(x, 0)      gx = g * (x > 0)
    Tanh        y = tanh(x)        gx = g * (1 - y**2)
    Sigmoid     y = 1/(1+e^-x)     gx = g * y * (1 - y)
    Abs         y = |x|            gx = g * sign(x)
    Sqrt        y = sqrt(x)        gx = g / (2 * y)
    Sum         y = x.sum(axis)    gx = g copied along the summed axes
    Mean        y = x.mean(axis)   gx = g / n copied along the averaged axes
    Max         y = x.max(axis)    gx = g at the maximal entries (ties share it)
    Reshape     y = x.reshape(s)   gx = g.reshape(x.shape)
    Transpose   y = x.transpose(p) gx = g.transpose(inverse of p)
    GetItem     y = x[index]       gx = zeros, with g added at index
    Cast        y = x.astype(t)    gx = g.astype(x.dtype)
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._validation import InvalidParameterError
from .function import Context, Function, Node, unbroadcast

__all__ = [
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "MatMul",
    "Neg",
    "Exp",
    "Log",
    "ReLU",
    "Tanh",
    "Sigmoid",
    "Abs",
    "Sqrt",
    "Sum",
    "Mean",
    "Max",
    "Reshape",
    "Transpose",
    "GetItem",
    "Cast",
]


def _broadcast_error(name: str, a_shape: tuple, b_shape: tuple) -> ValueError:
    """Explain which axis stops two shapes from broadcasting (NumPy aligns them from the right)."""
    for k in range(1, min(len(a_shape), len(b_shape)) + 1):
        m, n = a_shape[-k], b_shape[-k]
        if m != n and m != 1 and n != 1:
            return ValueError(
                f"{name}: shapes {a_shape} and {b_shape} cannot be broadcast together: "
                f"axis -{k} has lengths {m} and {n}, which are neither equal nor 1."
            )
    return ValueError(f"{name}: shapes {a_shape} and {b_shape} cannot be broadcast together.")


def _binary(name: str, op: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return op(a, b)
    except ValueError:
        raise _broadcast_error(name, a.shape, b.shape) from None


# --------------------------------------------------------------------------- arithmetic
class Add(Function):
    """:math:`y = a + b` (broadcasting); :math:`\\bar a = \\bar y`, :math:`\\bar b = \\bar y`."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.shapes = a.shape, b.shape
        return _binary("add", np.add, a, b)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        (a_shape, b_shape), (need_a, need_b) = ctx.shapes, ctx.needs_input_grad
        return (
            unbroadcast(grad, a_shape) if need_a else None,
            unbroadcast(grad, b_shape) if need_b else None,
        )


class Sub(Function):
    """:math:`y = a - b` (broadcasting); :math:`\\bar a = \\bar y`, :math:`\\bar b = -\\bar y`."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.shapes = a.shape, b.shape
        return _binary("subtract", np.subtract, a, b)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        (a_shape, b_shape), (need_a, need_b) = ctx.shapes, ctx.needs_input_grad
        return (
            unbroadcast(grad, a_shape) if need_a else None,
            unbroadcast(-grad, b_shape) if need_b else None,
        )


class Mul(Function):
    """:math:`y = a b` elementwise; :math:`\\bar a = \\bar y b`, :math:`\\bar b = \\bar y a`."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return _binary("multiply", np.multiply, a, b)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        (a, b), (need_a, need_b) = ctx.saved, ctx.needs_input_grad
        return (
            unbroadcast(grad * b, a.shape) if need_a else None,
            unbroadcast(grad * a, b.shape) if need_b else None,
        )


class Div(Function):
    """:math:`y = a / b`; :math:`\\bar a = \\bar y / b`, :math:`\\bar b = -\\bar y\\, a / b^2`."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return _binary("divide", np.divide, a, b)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        (a, b), (need_a, need_b) = ctx.saved, ctx.needs_input_grad
        return (
            unbroadcast(grad / b, a.shape) if need_a else None,
            unbroadcast(-grad * a / (b * b), b.shape) if need_b else None,
        )


class Pow(Function):
    """:math:`y = a^b`; :math:`\\bar a = \\bar y b a^{b-1}`, :math:`\\bar b = \\bar y y \\log a`.

    The exponent may be a number (``x ** 2``) or a tensor. Where :math:`a = 0` the
    gradient with respect to ``b`` is taken as 0, the limit of :math:`a^b \\log a`.
    """

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        y = _binary("power", np.power, a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        (a, b, y), (need_a, need_b) = ctx.saved, ctx.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            grad_a = unbroadcast(grad * b * a ** (b - 1), a.shape)
        if need_b:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where(a == 0, 0.0, np.log(a))
            grad_b = unbroadcast(grad * y * log_a, b.shape)
        return grad_a, grad_b


class MatMul(Function):
    """Matrix product :math:`Y = A B` with NumPy's rules (1-D, 2-D and batched operands).

    For matrices, :math:`\\bar A = \\bar Y B^\\top` and :math:`\\bar B = A^\\top \\bar Y`. A 1-D
    ``a`` is treated as a row :math:`(1, n)` and a 1-D ``b`` as a column :math:`(n, 1)`;
    stacked (batch) axes broadcast and their gradients are summed back by ``unbroadcast``.
    """

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.ndim == 0 or b.ndim == 0:
            raise InvalidParameterError(
                f"matmul: both operands need at least one dimension, got shapes {a.shape} and "
                f"{b.shape}; use * to multiply by a scalar."
            )
        inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if a.shape[-1] != inner_b:
            raise InvalidParameterError(
                f"matmul: cannot multiply {a.shape} by {b.shape}: inner dimensions "
                f"{a.shape[-1]} and {inner_b} differ."
            )
        ctx.save_for_backward(a, b)
        try:
            return a @ b
        except ValueError:
            raise InvalidParameterError(
                f"matmul: cannot multiply {a.shape} by {b.shape}: the batch dimensions "
                f"{a.shape[:-2]} and {b.shape[:-2]} cannot be broadcast together."
            ) from None

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        (a, b), (need_a, need_b) = ctx.saved, ctx.needs_input_grad
        # View vectors as matrices: a (n,) -> (1, n), b (n,) -> (n, 1); grad gets those axes too.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:
            grad = np.expand_dims(grad, -1)
        if a.ndim == 1:
            grad = np.expand_dims(grad, -2)
        grad_a = grad_b = None
        if need_a:
            grad_a = unbroadcast(_matmul_like(grad, np.swapaxes(b2, -1, -2), a2), a2.shape)
            grad_a = grad_a.reshape(a.shape) if a.ndim == 1 else grad_a
        if need_b:
            grad_b = unbroadcast(_matmul_like(np.swapaxes(a2, -1, -2), grad, b2), b2.shape)
            grad_b = grad_b.reshape(b.shape) if b.ndim == 1 else grad_b
        return grad_a, grad_b


def _matmul_like(x: np.ndarray, y: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``x @ y``, laid out in memory like ``like`` (speed only, the values are the same).

    When ``like`` is a transposed matrix (``W.T`` in ``x @ W.T``), computing
    :math:`(y^\top x^\top)^\top` gives a gradient that is contiguous once transposed back
    to ``W``'s layout, so later elementwise updates of ``W`` run on contiguous memory.
    """
    if like.ndim == 2 and like.flags.f_contiguous and not like.flags.c_contiguous:
        return (y.T @ x.T).T
    return x @ y


# --------------------------------------------------------------------------- elementwise
class Neg(Function):
    """:math:`y = -x`; :math:`\\bar x = -\\bar y`."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        return -x

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return -grad


class Exp(Function):
    """:math:`y = e^x`; :math:`\\bar x = \\bar y\\, y`."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (y,) = ctx.saved
        return grad * y


class Log(Function):
    """:math:`y = \\log x`; :math:`\\bar x = \\bar y / x`."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved
        return grad / x


class ReLU(Function):
    """:math:`y = \\max(x, 0)`; :math:`\\bar x = \\bar y\\, [x > 0]` (0 at :math:`x = 0`)."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x > 0)
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (positive,) = ctx.saved
        return grad * positive


class Tanh(Function):
    """:math:`y = \\tanh x`; :math:`\\bar x = \\bar y\\, (1 - y^2)`."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (y,) = ctx.saved
        return grad * (1 - y * y)


class Sigmoid(Function):
    """:math:`y = \\sigma(x) = 1/(1 + e^{-x})`; :math:`\\bar x = \\bar y\\, y (1 - y)`.

    Computed as :math:`(1 + \\tanh(x/2))/2`, which never overflows.
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        y = 0.5 * (1 + np.tanh(0.5 * x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (y,) = ctx.saved
        return grad * y * (1 - y)


class Abs(Function):
    """:math:`y = |x|`; :math:`\\bar x = \\bar y\\, \\mathrm{sign}(x)` (0 at :math:`x = 0`)."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved
        return grad * np.sign(x)


class Sqrt(Function):
    """:math:`y = \\sqrt x`; :math:`\\bar x = \\bar y / (2 y)`."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (y,) = ctx.saved
        return grad / (2 * y)


class Cast(Function):
    """Change the float dtype; the gradient is cast back to the input's dtype."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        if dtype.kind != "f":
            raise InvalidParameterError(
                f"astype: tensors hold floating-point numbers only. Got {dtype}."
            )
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return grad.astype(ctx.dtype)


# --------------------------------------------------------------------------- reductions
def _expand_reduced(grad: np.ndarray, ndim: int, axis: Any, keepdims: bool) -> np.ndarray:
    """Put back, with length 1, the axes a reduction removed, so ``grad`` broadcasts."""
    if keepdims:
        return grad
    if axis is None:
        return grad.reshape((1,) * ndim)
    axes = (axis,) if isinstance(axis, numbers.Integral) else axis
    return np.expand_dims(grad, tuple(sorted(int(a) % ndim for a in axes)))


class Sum(Function):
    """:math:`y = \\sum_{\\text{axis}} x`; every summed entry gets :math:`\\bar x = \\bar y`."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: Any = None, keepdims: bool = False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        grad = _expand_reduced(grad, len(ctx.shape), ctx.axis, ctx.keepdims)
        return np.broadcast_to(grad, ctx.shape)


class Mean(Function):
    """:math:`y = \\frac1n \\sum_{\\text{axis}} x` over n entries; :math:`\\bar x = \\bar y / n`."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: Any = None, keepdims: bool = False):
        y = x.mean(axis=axis, keepdims=keepdims)
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        ctx.n = x.size // max(np.size(y), 1)
        return y

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        grad = _expand_reduced(grad, len(ctx.shape), ctx.axis, ctx.keepdims)
        return np.broadcast_to(grad / ctx.n, ctx.shape)


class Max(Function):
    """:math:`y = \\max_{\\text{axis}} x`; the gradient goes to the maximal entries.

    :math:`\\bar x_i = \\bar y \\, [x_i = y] / m`, where :math:`m` is the number of entries
    tied for the maximum: ties share the gradient evenly (as ``torch.amax`` does), which is
    a valid subgradient and keeps ``gradcheck``-style symmetry.
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: Any = None, keepdims: bool = False):
        y = x.max(axis=axis, keepdims=True)
        is_max = x == y
        ctx.save_for_backward(is_max, is_max.sum(axis=axis, keepdims=True))
        ctx.ndim, ctx.axis, ctx.keepdims = x.ndim, axis, keepdims
        if keepdims:
            return y
        return y.reshape(()) if axis is None else np.squeeze(y, axis=axis)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        is_max, count = ctx.saved
        grad = _expand_reduced(grad, ctx.ndim, ctx.axis, ctx.keepdims)
        return is_max * (grad / count)


# --------------------------------------------------------------------------- shapes
class Reshape(Function):
    """Same entries in a new shape; :math:`\\bar x` is :math:`\\bar y` in the old shape."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, shape: tuple) -> np.ndarray:
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise InvalidParameterError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} entries) "
                f"into shape {tuple(shape)}."
            ) from None

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return grad.reshape(ctx.shape)


class Transpose(Function):
    """Permute the axes (``axes=None`` reverses them); the backward applies the inverse."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axes: tuple | None = None) -> np.ndarray:
        ctx.axes = axes
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        if ctx.axes is None:
            return np.transpose(grad)
        return np.transpose(grad, np.argsort(ctx.axes))


def _has_integer_array(index: Any) -> bool:
    """Whether ``index`` uses integer-array ("advanced") indexing, which may repeat entries."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if isinstance(part, (list, np.ndarray)) and np.asarray(part).dtype.kind in "iu":
            return True
    return False


class GetItem(Function):
    """``y = x[index]``: basic (ints, slices) and integer-array indexing.

    The backward rule scatters :math:`\\bar y` into zeros of the input's shape. With integer
    arrays an entry may be picked several times (``x[[0, 0]]``); its gradient is then the
    sum of the copies, which ``np.add.at`` computes (plain assignment would keep one).
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, index: Any) -> np.ndarray:
        index = _plain_index(index)
        ctx.shape, ctx.index = x.shape, index
        return x[index]

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        if _has_integer_array(ctx.index):
            np.add.at(out, ctx.index, grad)
        else:
            out[ctx.index] = grad
        return out


def _plain_index(index: Any) -> Any:
    """Replace tensors inside an index by integer arrays."""

    def plain(part: Any) -> Any:
        if isinstance(part, Node):  # a Tensor
            return part.data.astype(np.intp)
        return part

    return tuple(plain(p) for p in index) if isinstance(index, tuple) else plain(index)
