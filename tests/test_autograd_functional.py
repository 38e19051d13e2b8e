"""softmax, log_softmax, cross_entropy, mse_loss and gradcheck of dlcourse.autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.autograd import (
    Function,
    Tensor,
    cross_entropy,
    gradcheck,
    log_softmax,
    mse_loss,
    numerical_grad,
    softmax,
)

EXTREME = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0], [5.0, 5.0, -1000.0]])


def _random(shape, seed=0, scale=3.0):
    return scale * np.random.default_rng(seed).standard_normal(shape)


def _both(ours, theirs, a, seed=1):
    """Values and gradients (through a random upstream gradient) of ours and torch's."""
    x = Tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    out, ref = ours(x), theirs(t)
    w = np.random.default_rng(seed).standard_normal(out.shape)
    (out * w).sum().backward()
    (ref * torch.from_numpy(w)).sum().backward()
    return out.data, ref.detach().numpy(), x.grad, t.grad.numpy()


# --------------------------------------------------------------------------- softmax
@pytest.mark.parametrize(
    ("shape", "axis"), [((4, 5), -1), ((4, 5), 0), ((2, 3, 4), 1), ((6,), 0)], ids=str
)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_and_log_softmax_match_torch(name, shape, axis):
    ours = {"softmax": softmax, "log_softmax": log_softmax}[name]
    theirs = {"softmax": torch.softmax, "log_softmax": torch.log_softmax}[name]
    for a in (_random(shape), 1000 * np.sign(_random(shape, seed=2))):
        value, ref, grad, ref_grad = _both(
            lambda x: ours(x, axis=axis), lambda t: theirs(t, axis), a
        )
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
        np.testing.assert_allclose(value, ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_with_extreme_logits_matches_torch(name):
    ours = {"softmax": softmax, "log_softmax": log_softmax}[name]
    theirs = {"softmax": torch.softmax, "log_softmax": torch.log_softmax}[name]
    value, ref, grad, ref_grad = _both(ours, lambda t: theirs(t, -1), EXTREME)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-12)


def test_softmax_properties_and_lecture_example():
    s = softmax(Tensor(_random((5, 7)))).data
    np.testing.assert_allclose(s.sum(axis=1), 1.0)
    assert np.all(s >= 0)
    z = np.array([1.1, 2.2, 0.2, -1.7])
    np.testing.assert_allclose(softmax(Tensor(z)).data, [0.224, 0.672, 0.091, 0.014], atol=5e-4)
    np.testing.assert_allclose(softmax(Tensor(z + 100.0)).data, softmax(Tensor(z)).data)


def test_softmax_and_log_softmax_pass_gradcheck():
    a = Tensor(_random((3, 4), scale=1.0), requires_grad=True)
    w = _random((3, 4), seed=5)
    assert gradcheck(lambda x: (softmax(x, axis=0) * w).sum(), a)
    assert gradcheck(lambda x: (log_softmax(x) * w).sum(), a)


def test_softmax_axis_is_validated():
    with pytest.raises(ValueError, match=r"'axis' argument.* must be in \[-2, 2\).*Got 2"):
        softmax(Tensor(np.ones((2, 3))), axis=2)
    with pytest.raises(TypeError, match="'axis' argument.* must be an int"):
        log_softmax(Tensor(np.ones((2, 3))), axis=1.0)


# --------------------------------------------------------------------------- cross-entropy
@pytest.mark.parametrize("logits", ["random", "extreme"])
def test_cross_entropy_matches_torch(logits):
    a = _random((6, 4)) if logits == "random" else EXTREME
    y = np.arange(len(a)) % a.shape[1]
    x = Tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    loss, ref = cross_entropy(x, y), F.cross_entropy(t, torch.from_numpy(y))
    loss.backward()
    ref.backward()
    assert loss.shape == () and np.isfinite(loss.item()) and np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_cross_entropy_in_float32_with_extreme_logits():
    a = EXTREME.astype(np.float32)
    y = np.array([1, 0, 2])
    x = Tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    loss = cross_entropy(x, y)
    loss.backward()
    ref = F.cross_entropy(t, torch.from_numpy(y))
    ref.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-6)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    a = _random((5, 3), seed=3)
    y = np.array([0, 2, 1, 1, 0])
    x = Tensor(a, requires_grad=True)
    cross_entropy(x, y).backward()
    expected = (softmax(Tensor(a)).data - np.eye(3)[y]) / 5
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)
    assert gradcheck(lambda z: cross_entropy(z, y), Tensor(a, requires_grad=True))


def test_cross_entropy_accepts_a_list_of_labels():
    assert np.isclose(cross_entropy(Tensor([[0.0, 0.0]]), [1]).item(), np.log(2))


@pytest.mark.parametrize(
    ("targets", "error", "match"),
    [
        (
            np.array([[0], [1], [2]]),
            ValueError,
            r"targets must have shape \(N,\) = \(3,\).*\(3, 1\)",
        ),
        (np.array([0, 1]), ValueError, r"targets must have shape \(N,\) = \(3,\).*\(2,\)"),
        (np.array([0.0, 1.0, 2.0]), TypeError, "targets must be integer class indices.*float64"),
        (np.array([True, False, True]), TypeError, "targets must be integer class indices.*bool"),
        (np.array([0, 4, 1]), ValueError, r"class indices in \[0, 4\) for 4 classes\. Got 4"),
        (np.array([0, -1, 1]), ValueError, r"class indices in \[0, 4\).*Got -1"),
        (Tensor([0, 1, 2]), TypeError, "not a Tensor"),
    ],
    ids=["column", "too short", "float", "bool", "too large", "negative", "tensor"],
)
def test_cross_entropy_rejects_bad_targets(targets, error, match):
    with pytest.raises(error, match=match):
        cross_entropy(Tensor(np.zeros((3, 4))), targets)


def test_cross_entropy_rejects_logits_that_are_not_a_matrix():
    with pytest.raises(ValueError, match=r"logits must have shape \(N, K\).*Got shape \(4,\)"):
        cross_entropy(Tensor(np.zeros(4)), np.array([1]))


# --------------------------------------------------------------------------- MSE
def test_mse_loss_matches_torch():
    a, b = _random((4, 3)), _random((4, 3), seed=9)
    x = Tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    loss = mse_loss(x, b)
    ref = F.mse_loss(t, torch.from_numpy(b))
    loss.backward()
    ref.backward()
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


def test_mse_loss_rejects_mismatched_shapes():
    with pytest.raises(
        ValueError, match=r"prediction has shape \(4, 1\) but target has shape \(4,\)"
    ):
        mse_loss(Tensor(np.zeros((4, 1))), np.zeros(4))


# --------------------------------------------------------------------------- gradcheck
class WrongSquare(Function):
    """x**2 with a deliberately wrong backward rule (x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * x


class RightSquare(WrongSquare):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return 2 * grad * x


def test_gradcheck_accepts_correct_and_rejects_wrong_backward(capsys):
    x = Tensor(_random((2, 3), scale=1.0), requires_grad=True)
    assert gradcheck(lambda t: RightSquare.apply(t).sum(), x) is True
    assert capsys.readouterr().out == ""
    assert gradcheck(lambda t: WrongSquare.apply(t).sum(), x) is False
    report = capsys.readouterr().out
    assert "gradcheck failed for input 0" in report
    assert "worst entry (" in report and "analytic" in report and "numeric" in report
    worst = np.unravel_index(np.argmax(np.abs(x.data)), x.shape)
    assert f"worst entry {tuple(int(i) for i in worst)}" in report


def test_gradcheck_names_the_failing_input_among_several(capsys):
    a = Tensor(_random(3, seed=1), requires_grad=True)
    b = Tensor(_random(3, seed=2), requires_grad=True)
    assert not gradcheck(lambda u, v: (u * WrongSquare.apply(v)).sum(), a, b)
    report = capsys.readouterr().out
    assert "input 1 (of 2)" in report and "input 0" not in report


def test_gradcheck_restores_data_and_grad():
    x = Tensor(np.array([0.5, -1.5], dtype=np.float32), requires_grad=True)
    sentinel = np.array([7.0, 8.0], dtype=np.float32)
    x.grad = sentinel
    data = x.data
    for op in (RightSquare, WrongSquare):
        gradcheck(lambda t, op=op: op.apply(t).sum(), x)
        assert x.grad is sentinel and x.data is data
        np.testing.assert_array_equal(x.grad, [7.0, 8.0])
        np.testing.assert_array_equal(x.data, np.array([0.5, -1.5], dtype=np.float32))
    y = Tensor([1.0], requires_grad=True)
    gradcheck(lambda t: (t * t).sum(), y)
    assert y.grad is None


def test_gradcheck_works_on_float32_inputs_by_promoting_them():
    x = Tensor(_random((3, 3), scale=1.0).astype(np.float32), requires_grad=True)
    assert gradcheck(lambda t: (t.tanh() @ t).sum(), x)


def test_gradcheck_validates_its_arguments():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="must return a one-element Tensor.*\\(2,\\)"):
        gradcheck(lambda t: t * 2, x)
    with pytest.raises(ValueError, match="no input has requires_grad=True"):
        gradcheck(lambda t: t.sum(), Tensor([1.0]))
    with pytest.raises(TypeError, match="input 0 must be a Tensor"):
        gradcheck(lambda t: t.sum(), np.ones(2))


def test_numerical_grad_matches_the_closed_form():
    a = _random((2, 3), scale=1.0)
    (g,) = numerical_grad(lambda t: (t.exp() * t).sum(), Tensor(a))
    np.testing.assert_allclose(g, np.exp(a) * (1 + a), rtol=1e-7)
