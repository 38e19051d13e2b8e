"""The engine of dlcourse.autograd: graph building, backward, accumulation, no_grad, errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from dlcourse.autograd import Function, Tensor, is_grad_enabled, no_grad, unbroadcast


# --------------------------------------------------------------------------- construction
@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        (3, np.float64),
        (2.5, np.float64),
        ([1, 2, 3], np.float64),
        ([[True, False]], np.float64),
        (np.arange(3), np.float64),
        (np.ones(2, dtype=np.float32), np.float32),
        (np.ones(2, dtype=np.float64), np.float64),
    ],
    ids=["int", "float", "list", "bool", "int array", "float32 array", "float64 array"],
)
def test_tensor_dtype_rules(data, dtype):
    assert Tensor(data).dtype == dtype


def test_tensor_copies_its_data():
    a = np.zeros(3)
    x = Tensor(a)
    a[0] = 1.0
    assert x.data[0] == 0.0


def test_dtype_argument_and_its_errors():
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert Tensor([1, 2], dtype="float32").dtype == np.float32
    with pytest.raises(TypeError, match="dtype must be a floating-point type"):
        Tensor([1, 2], dtype=np.int64)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("abc", "Tensor data must be numbers.*str"),
        (None, "Tensor data must be numbers.*NoneType"),
        (object(), "Tensor data must be real numbers"),
        ([1, "a"], "Tensor data must be real numbers"),
        ([[1.0], [1.0, 2.0]], "NumPy cannot convert"),
        ([1 + 2j], "complex numbers"),
        (np.array(["x"]), "Tensor data must be real numbers"),
    ],
    ids=["str", "None", "object", "mixed list", "ragged", "complex", "str array"],
)
def test_non_numeric_data_is_rejected_with_a_clear_message(data, match):
    with pytest.raises(TypeError, match=match):
        Tensor(data)


def test_non_numeric_operand_is_rejected():
    with pytest.raises(TypeError, match="Tensor data must be"):
        Tensor([1.0]) + "a"
    with pytest.raises(TypeError, match="Tensor data must be"):
        Tensor([1.0]) * None


def test_basic_attributes_and_repr():
    x = Tensor([[1.0, 2.0]], requires_grad=True)
    assert (x.shape, x.ndim, x.size, len(x)) == ((1, 2), 2, 2, 1)
    assert repr(x) == "Tensor([[1., 2.]], requires_grad=True)"
    assert repr(Tensor(1.5)) == "Tensor(1.5)"
    assert repr(x * 2) == "Tensor([[2., 4.]], grad_fn=Mul)"
    assert x.is_leaf and not (x * 2).is_leaf
    assert (x + 1).grad_fn == "Add"
    assert x.numpy() is x.data
    np.testing.assert_array_equal(np.asarray(x), x.data)


def test_item():
    assert Tensor([[4.0]]).item() == 4.0
    assert isinstance(Tensor(4.0).item(), float)
    with pytest.raises(
        ValueError, match=r"item\(\) needs a tensor with exactly one element.*\(2,\)"
    ):
        Tensor([1.0, 2.0]).item()


def test_len_of_a_scalar_is_an_error():
    with pytest.raises(TypeError, match="0-d tensor"):
        len(Tensor(1.0))


def test_detach_shares_data_and_drops_the_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).detach()
    assert not y.requires_grad and y.is_leaf
    z = x.detach()
    assert z.data is x.data


def test_ndarray_on_the_left_gives_a_tensor():
    x = Tensor([1.0, 2.0], requires_grad=True)
    for y in (np.ones(2) + x, np.ones(2) * x, np.ones(2) - x, np.ones(2) / x):
        assert isinstance(y, Tensor) and y.requires_grad


def test_float32_stays_float32_with_python_numbers():
    x = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    y = ((2 * x + 1.5) / 3 - 0.5) ** 2
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


# --------------------------------------------------------------------------- backward
def test_tensor_used_twice_gets_the_summed_gradient():
    x = Tensor([3.0, -1.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, -2.0])


def test_diamond_graph_matches_torch():
    a = np.array([0.3, -1.2, 2.0])
    x = Tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    for v, exp in ((x, Tensor.exp), (t, torch.exp)):
        h = v * 2
        ((h + exp(h)) * h).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


def test_gradients_accumulate_over_backward_calls_until_zero_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [4.0, 8.0])
    loss = (3 * x).sum()
    loss.backward()
    loss.backward()  # the graph is kept: a second pass through the same graph also adds
    np.testing.assert_allclose(x.grad, [10.0, 14.0])
    x.zero_grad()
    assert x.grad is None


def test_leaves_never_share_a_gradient_array():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    seed = np.ones(2)
    (a + b).backward(seed)  # Add hands the same array to both inputs
    assert a.grad is not b.grad and not np.shares_memory(a.grad, b.grad)
    assert not np.shares_memory(a.grad, seed)
    a.grad += 10  # editing one gradient must not change the other
    np.testing.assert_allclose(b.grad, [1.0, 1.0])
    np.testing.assert_allclose(seed, [1.0, 1.0])


def test_backward_of_a_leaf_copies_the_seed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    seed = np.array([5.0, 6.0])
    x.backward(seed)
    seed[0] = 0
    np.testing.assert_allclose(x.grad, [5.0, 6.0])


def test_backward_with_an_explicit_gradient_matches_torch():
    a = np.random.default_rng(0).standard_normal((3, 4))
    g = np.random.default_rng(1).standard_normal((3,))
    x = Tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    x.tanh().sum(axis=1).backward(g)
    t.tanh().sum(dim=1).backward(torch.from_numpy(g))
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


def test_constants_and_unused_inputs_get_no_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([5.0, 5.0])
    unused = Tensor([1.0], requires_grad=True)
    (x * c).sum().backward()
    assert c.grad is None and unused.grad is None
    np.testing.assert_allclose(x.grad, [5.0, 5.0])


def test_retain_grad_keeps_an_intermediate_gradient():
    x = Tensor([1.0, -2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.data)
    np.testing.assert_allclose(x.grad, 6 * h.data)
    assert (x * 2).grad is None


def test_deep_chain_of_ten_thousand_operations():
    limit = sys.getrecursionlimit()
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert sys.getrecursionlimit() == limit
    np.testing.assert_allclose(x.grad, 1.0001**10_000, rtol=1e-9)
    del y  # freeing the long chain must not overflow the stack either


def test_backward_on_a_non_scalar_without_gradient_is_an_error():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(
        ValueError, match=r"backward\(\) without a gradient works only on a scalar.*\(2, 3\)"
    ):
        (x * 2).backward()


def test_backward_with_a_gradient_of_the_wrong_shape_is_an_error():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(
        ValueError, match=r"grad has shape \(3,\) but the tensor has shape \(2, 3\)"
    ):
        (x * 2).backward(np.ones(3))


def test_backward_without_requires_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor([1.0]) * 2).sum().backward()


def test_a_backward_rule_returning_a_wrong_shape_is_reported():
    class Broken(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad.sum()

    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Broken.backward returned a gradient of shape \(\)"):
        Broken.apply(x).sum().backward()


# --------------------------------------------------------------------------- no_grad
def test_no_grad_builds_no_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        y = (x * 2 + 1).exp().sum()
    assert is_grad_enabled()
    assert not y.requires_grad and y.is_leaf and y._parents == () and y._ctx is None


def test_no_grad_nests_restores_on_error_and_decorates():
    with no_grad():
        with no_grad():
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()
    with pytest.raises(ZeroDivisionError), no_grad():
        _ = 1 / 0
    assert is_grad_enabled()

    @no_grad()
    def double(t):
        return t * 2

    assert not double(Tensor([1.0], requires_grad=True)).requires_grad
    assert is_grad_enabled()

    @no_grad()
    def countdown(n):
        return Tensor([1.0], requires_grad=True) * 2 if n == 0 else countdown(n - 1)

    assert not countdown(3).requires_grad
    assert is_grad_enabled(), "a recursive decorated function must restore the grad mode"


# --------------------------------------------------------------------------- errors in ops
@pytest.mark.parametrize(
    ("op", "name"),
    [
        (lambda a, b: a + b, "add"),
        (lambda a, b: a - b, "subtract"),
        (lambda a, b: a * b, "multiply"),
        (lambda a, b: a / b, "divide"),
    ],
)
def test_incompatible_broadcasting_names_both_shapes(op, name):
    a, b = Tensor(np.ones((3, 4))), Tensor(np.ones((5,)))
    with pytest.raises(
        ValueError,
        match=rf"{name}: shapes \(3, 4\) and \(5,\) cannot be broadcast together: "
        r"axis -1 has lengths 4 and 5",
    ):
        op(a, b)


def test_matmul_errors_name_both_shapes():
    with pytest.raises(
        ValueError, match=r"matmul: cannot multiply \(3, 4\) by \(5, 2\): inner dimensions 4 and 5"
    ):
        Tensor(np.ones((3, 4))) @ Tensor(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"matmul: cannot multiply \(4,\) by \(3,\)"):
        Tensor(np.ones(4)) @ Tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"batch dimensions \(2,\) and \(3,\)"):
        Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((3, 4, 5)))
    with pytest.raises(ValueError, match="at least one dimension.*use \\*"):
        Tensor(2.0) @ Tensor(np.ones(3))


def test_reshape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"cannot reshape a tensor of shape \(2, 3\).*\(4,\)"):
        Tensor(np.ones((2, 3))).reshape(4)


# --------------------------------------------------------------------------- unbroadcast
@pytest.mark.parametrize(
    ("grad_shape", "shape"),
    [((2, 3, 4), (3, 1)), ((2, 3, 4), (4,)), ((5,), ()), ((4, 5), (1, 5)), ((3,), (3,))],
)
def test_unbroadcast_sums_what_broadcasting_copied(grad_shape, shape):
    g = np.random.default_rng(0).standard_normal(grad_shape)
    x = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    (x.expand(grad_shape) * torch.from_numpy(g)).sum().backward()
    out = unbroadcast(g, shape)
    assert out.shape == shape
    np.testing.assert_allclose(out, x.grad.numpy(), rtol=1e-12)


def test_parents_are_the_graph_edges():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor(3.0)
    z = x * y
    assert z.parents == (x, y) and x.parents == () and z.grad_fn == "Mul"
