"""Every operation of dlcourse.autograd against torch.autograd and central differences.

Values and gradients are compared in float64 on seeded random inputs, with broadcasting
operand shapes; the gradient of a non-scalar output is checked through a random upstream
gradient ``w`` (the loss is ``sum(out * w)``), which tests the whole vector-Jacobian product.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dlcourse.autograd import Tensor, gradcheck

RTOL, ATOL = 1e-10, 1e-12


def _inputs(shapes, seed, low=None):
    rng = np.random.default_rng(seed)
    arrays = []
    for shape in shapes:
        a = rng.standard_normal(shape)
        if low is not None:  # keep away from a singular point (log, sqrt, division...)
            a = low + np.abs(a)
        arrays.append(a)
    return arrays


def compare_with_torch(ours, theirs, arrays, seed=0):
    """Check value and every input gradient of ``ours`` against ``theirs``."""
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, ref = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=RTOL, atol=ATOL)
    assert out.shape == tuple(ref.shape)
    w = np.random.default_rng(seed + 1).standard_normal(out.shape)
    (out * w).sum().backward()
    (ref * torch.from_numpy(w)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts, strict=True)):
        expected = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
        got = np.zeros(x.shape) if x.grad is None else x.grad
        assert got.shape == x.shape, f"gradient of input {i} has shape {got.shape}"
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12, err_msg=f"input {i}")


def check_finite_differences(ours, arrays, seed=0):
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    w = np.random.default_rng(seed + 1).standard_normal(ours(*xs).shape)
    assert gradcheck(lambda *t: (ours(*t) * w).sum(), *xs, atol=1e-6, rtol=1e-5)


# --------------------------------------------------------------------------- binary ops
BROADCAST_PAIRS = [
    ((3, 4), (3, 4)),
    ((3, 1, 4), (2, 1)),
    ((5,), (4, 5)),
    ((4, 5), (5,)),
    ((2, 3), ()),
    ((), (4,)),
    ((1,), (3, 1)),
    ((4, 1), (1, 5)),
    ((2, 1, 3, 1), (4, 1, 5)),
]

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, None),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, None),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, None),
    "div": (lambda a, b: a / b, lambda a, b: a / b, 0.5),
    "pow": (lambda a, b: a**b, lambda a, b: a**b, 0.5),
}


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_op_matches_torch(name, shapes):
    ours, theirs, low = BINARY[name]
    compare_with_torch(ours, theirs, _inputs(shapes, seed=len(name), low=low))


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_op_matches_finite_differences(name):
    ours, _, low = BINARY[name]
    check_finite_differences(ours, _inputs(((3, 1, 4), (2, 1)), seed=3, low=low))


REFLECTED = {
    "scalar + x": (lambda x: 2.5 + x, lambda x: 2.5 + x),
    "x + scalar": (lambda x: x + 2.5, lambda x: x + 2.5),
    "scalar - x": (lambda x: 2.5 - x, lambda x: 2.5 - x),
    "x - scalar": (lambda x: x - 1, lambda x: x - 1),
    "scalar * x": (lambda x: 3 * x, lambda x: 3 * x),
    "scalar / x": (lambda x: 3.0 / x, lambda x: 3.0 / x),
    "x / scalar": (lambda x: x / 4, lambda x: x / 4),
    "x ** 3": (lambda x: x**3, lambda x: x**3),
    "x ** -0.5": (lambda x: x**-0.5, lambda x: x**-0.5),
    "2 ** x": (lambda x: 2.0**x, lambda x: 2.0**x),
    "-x": (lambda x: -x, lambda x: -x),
    "array + x": (
        lambda x: np.arange(4.0) + x,
        lambda x: torch.arange(4.0, dtype=torch.float64) + x,
    ),
    "array * x": (
        lambda x: np.arange(4.0) * x,
        lambda x: torch.arange(4.0, dtype=torch.float64) * x,
    ),
    "array - x": (
        lambda x: np.ones((2, 1, 4)) - x,
        lambda x: torch.ones((2, 1, 4), dtype=torch.float64) - x,
    ),
    "array / x": (
        lambda x: np.arange(1.0, 5.0) / x,
        lambda x: torch.arange(1.0, 5.0, dtype=torch.float64) / x,
    ),
    "array @ x": (
        lambda x: np.ones((2, 3)) @ x,
        lambda x: torch.ones((2, 3), dtype=torch.float64) @ x,
    ),
}


@pytest.mark.parametrize("name", list(REFLECTED))
def test_operators_with_numbers_and_arrays_match_torch(name):
    ours, theirs = REFLECTED[name]
    shape = (3, 4)
    compare_with_torch(ours, theirs, _inputs([shape], seed=7, low=0.5))
    result = ours(Tensor(np.ones(shape)))
    assert isinstance(result, Tensor), f"{name} returned {type(result).__name__}, not a Tensor"


def test_pow_with_tensor_exponent_at_zero_base_is_finite():
    a = Tensor([0.0, 2.0], requires_grad=True)
    b = Tensor([2.0, 3.0], requires_grad=True)
    (a**b).sum().backward()
    np.testing.assert_allclose(a.grad, [0.0, 12.0])
    np.testing.assert_allclose(b.grad, [0.0, 8 * np.log(2.0)])


@settings(max_examples=25, deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
    name=st.sampled_from(["add", "sub", "mul", "div"]),
    seed=st.integers(0, 2**16),
)
def test_broadcasting_property_matches_torch(shapes, name, seed):
    ours, theirs, low = BINARY[name]
    compare_with_torch(ours, theirs, _inputs(shapes.input_shapes, seed, low=low), seed)


# --------------------------------------------------------------------------- matmul
MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((6, 2, 3), (6, 3, 4)),
    ((2, 1, 2, 3), (4, 3, 2)),
    ((5, 2, 3), (3,)),
    ((3,), (5, 3, 2)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_matches_torch(shapes):
    compare_with_torch(lambda a, b: a @ b, lambda a, b: a @ b, _inputs(shapes, seed=11))


def test_matmul_with_transposed_operand_matches_torch():
    # x @ W.T is the Linear layer; its W gradient takes a layout-preserving path.
    compare_with_torch(lambda x, w: x @ w.T, lambda x, w: x @ w.T, _inputs([(4, 3), (5, 3)], 2))
    compare_with_torch(lambda x, w: x.T @ w, lambda x, w: x.T @ w, _inputs([(3, 4), (3, 5)], 2))


def test_matmul_matches_finite_differences():
    check_finite_differences(lambda a, b: a @ b, _inputs(((2, 1, 2, 3), (4, 3, 2)), seed=5))
    check_finite_differences(lambda a, b: a @ b, _inputs(((3,), (3, 4)), seed=5))


def test_matmul_with_a_constant_computes_only_the_needed_gradient():
    x = Tensor(np.ones((2, 3)))  # a constant: no gradient wanted
    w = Tensor(np.ones((3, 4)), requires_grad=True)
    (x @ w).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad, np.full((3, 4), 2.0))


# --------------------------------------------------------------------------- unary ops
UNARY = {
    "exp": (lambda x: x.exp(), torch.exp, None),
    "log": (lambda x: x.log(), torch.log, 0.1),
    "relu": (lambda x: x.relu(), torch.relu, None),
    "tanh": (lambda x: x.tanh(), torch.tanh, None),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid, None),
    "abs": (lambda x: x.abs(), torch.abs, None),
    "abs()": (lambda x: abs(x), torch.abs, None),
    "sqrt": (lambda x: x.sqrt(), torch.sqrt, 0.1),
    "neg": (lambda x: -x, torch.neg, None),
}


@pytest.mark.parametrize("shape", [(), (5,), (3, 1, 4)], ids=str)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_op_matches_torch(name, shape):
    ours, theirs, low = UNARY[name]
    compare_with_torch(ours, theirs, _inputs([shape], seed=13, low=low))


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_op_matches_finite_differences(name):
    ours, _, low = UNARY[name]
    (a,) = _inputs([(3, 4)], seed=17, low=low)
    if low is None:  # relu and abs have a kink at 0: keep the entries away from it
        a = np.where(np.abs(a) < 0.05, 0.5, a)
    check_finite_differences(ours, [a])


def test_relu_and_abs_have_zero_gradient_at_zero_like_torch():
    compare_with_torch(lambda x: x.relu() + x.abs(), lambda x: x.relu() + x.abs(), [np.zeros(3)])


def test_sigmoid_is_stable_for_large_inputs():
    x = Tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    y = x.sigmoid()
    np.testing.assert_allclose(y.data, [0.0, 0.5, 1.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.25, 0.0])


# --------------------------------------------------------------------------- reductions
REDUCTION_CASES = [
    (None, False),
    (0, False),
    (-1, False),
    (1, True),
    ((0, 2), False),
    ((0, -1), True),
]


@pytest.mark.parametrize(("axis", "keepdims"), REDUCTION_CASES, ids=str)
@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reduction_matches_torch(name, axis, keepdims):
    def theirs(t):
        dim = tuple(range(t.ndim)) if axis is None else axis
        if name == "max":  # amax shares the gradient among ties, as ours does
            return torch.amax(t, dim=dim, keepdim=keepdims)
        return getattr(torch, name)(t, dim=dim, keepdim=keepdims)

    def ours(x):
        return getattr(x, name)(axis=axis, keepdims=keepdims)

    compare_with_torch(ours, theirs, _inputs([(3, 4, 5)], seed=19))


def test_max_shares_the_gradient_between_ties_like_torch_amax():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x = Tensor(a, requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    compare_with_torch(lambda x: x.max(), torch.amax, [a])


def test_reductions_match_finite_differences():
    (a,) = _inputs([(3, 4, 5)], seed=23)
    check_finite_differences(lambda x: x.sum(axis=(0, 2)) * x.mean(axis=1).sum(), [a])
    check_finite_differences(lambda x: x.max(axis=-1, keepdims=True), [a])


# --------------------------------------------------------------------------- shape ops
SHAPE_OPS = {
    "reshape(args)": (lambda x: x.reshape(4, 6), lambda x: x.reshape(4, 6)),
    "reshape(tuple)": (lambda x: x.reshape((2, -1)), lambda x: x.reshape((2, -1))),
    "T": (lambda x: x.T, lambda x: x.permute(2, 1, 0)),
    "transpose()": (lambda x: x.transpose(), lambda x: x.permute(2, 1, 0)),
    "transpose(axes)": (lambda x: x.transpose(1, 2, 0), lambda x: x.permute(1, 2, 0)),
    "transpose(tuple)": (lambda x: x.transpose((2, 0, 1)), lambda x: x.permute(2, 0, 1)),
}


@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_op_matches_torch(name):
    ours, theirs = SHAPE_OPS[name]
    compare_with_torch(ours, theirs, _inputs([(2, 3, 4)], seed=29))


INDEXES = {
    "int": (1,),
    "slice": (slice(1, None),),
    "step slice": (slice(None), slice(None, None, 2)),
    "ellipsis": (Ellipsis, 1),
    "newaxis": (None, slice(None), 0),
    "repeated ints": ([0, 0, 2],),
    "int arrays": (np.array([0, 2, 2]), np.array([1, 1, 3])),
    "mixed": (slice(None), np.array([3, 3, 0])),
}


@pytest.mark.parametrize("name", list(INDEXES))
def test_getitem_matches_torch(name):
    index = INDEXES[name]

    def torch_index(part):
        return torch.as_tensor(part) if isinstance(part, (list, np.ndarray)) else part

    tindex = tuple(torch_index(p) for p in index)
    compare_with_torch(lambda x: x[index], lambda t: t[tindex], _inputs([(3, 4)], seed=31))


def test_getitem_with_boolean_mask_and_repeated_rows():
    a = np.array([[1.0, -2.0], [-3.0, 4.0]])
    compare_with_torch(lambda x: x[a > 0], lambda t: t[torch.from_numpy(a > 0)], [a])
    x = Tensor(a, requires_grad=True)
    x[[1, 1, 1]].sum().backward()  # row 1 picked three times: its gradient adds up
    np.testing.assert_allclose(x.grad, [[0, 0], [3, 3]])


def test_getitem_accepts_a_tensor_of_indices():
    x = Tensor(np.arange(4.0), requires_grad=True)
    x[Tensor([3, 3])].sum().backward()
    np.testing.assert_allclose(x.grad, [0, 0, 0, 2])


def test_astype_casts_the_gradient_back():
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, 2.0)


def test_composite_expression_matches_torch():
    def f(x, w, b):
        h = (x @ w + b).tanh()
        top = h.max(axis=1, keepdims=True) if isinstance(h, Tensor) else h.amax(1, keepdim=True)
        return (h * h).mean(axis=0).sqrt() - top.exp().sum() / 3

    compare_with_torch(f, f, _inputs([(4, 3), (3, 5), (5,)], seed=37))
