"""Tests of dlcourse.losses: closed forms, PyTorch, SciPy, scikit-learn, and properties."""

import numpy as np
import pytest
import scipy.special
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import hinge_loss as sk_hinge
from sklearn.metrics import log_loss as sk_log_loss

from dlcourse import losses as L


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    o = rng.normal(scale=3.0, size=(7, 5))
    y = rng.integers(0, 5, size=7)
    return o, y


# ----------------------------------------------------------------------------- softmax family
def test_worked_example():
    z = np.array([1.1, 2.2, 0.2, -1.7])
    p = L.softmax(z)
    e = np.exp(z)
    np.testing.assert_allclose(p, e / e.sum(), rtol=1e-12)
    np.testing.assert_allclose(p, [0.2236, 0.6719, 0.0909, 0.0136], atol=1e-4)
    assert L.cross_entropy(z[None], [1]) == pytest.approx(-np.log(p[1]), rel=1e-12)
    np.testing.assert_allclose(L.cross_entropy_grad(z[None], [1])[0], p - np.eye(4)[1])


def test_softmax_and_logsumexp_match_scipy(batch):
    o, _ = batch
    np.testing.assert_allclose(L.softmax(o), scipy.special.softmax(o, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(L.softmax(o, axis=0), scipy.special.softmax(o, axis=0), rtol=1e-12)
    np.testing.assert_allclose(L.logsumexp(o), scipy.special.logsumexp(o, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(L.log_softmax(o), scipy.special.log_softmax(o, axis=-1), rtol=1e-12)


def test_softmax_is_stable_on_large_logits():
    o = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0]])
    p = L.softmax(o)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p[0], L.softmax([0.0, 1.0, 2.0]), rtol=1e-12)
    np.testing.assert_allclose(p[1], L.softmax([2.0, 1.0, 0.0]), rtol=1e-12)
    assert np.isfinite(L.cross_entropy(o, [0, 2]))
    assert L.cross_entropy([[0.0, 800.0]], [0]) == pytest.approx(800.0)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (3, 4), elements=st.floats(-50, 50)), st.floats(-100, 100))
def test_softmax_shift_invariance_and_simplex(o, c):
    p = L.softmax(o)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(p >= 0)
    np.testing.assert_allclose(L.softmax(o + c), p, atol=1e-12)


def test_one_hot():
    np.testing.assert_array_equal(L.one_hot(np.array([1, 0, 2]), 3), np.eye(3)[[1, 0, 2]])
    with pytest.raises(ValueError, match="labels in"):
        L.one_hot([0, 3], 3)
    with pytest.raises(ValueError, match="n_classes"):
        L.one_hot([0], 0)
    with pytest.raises(ValueError, match="integer labels"):
        L.one_hot([0.5], 2)


# ----------------------------------------------------------------------------- vs torch / sklearn
def test_cross_entropy_matches_torch_and_sklearn(batch):
    o, y = batch
    ref = F.cross_entropy(torch.tensor(o), torch.tensor(y)).item()
    assert L.cross_entropy(o, y) == pytest.approx(ref, rel=1e-12)
    assert L.cross_entropy(o, y) == pytest.approx(
        sk_log_loss(y, scipy.special.softmax(o, axis=1), labels=range(5)), rel=1e-9
    )
    ref_none = F.cross_entropy(torch.tensor(o), torch.tensor(y), reduction="none").numpy()
    np.testing.assert_allclose(L.cross_entropy(o, y, reduction="none"), ref_none, rtol=1e-12)
    assert L.cross_entropy(o, y, reduction="sum") == pytest.approx(ref_none.sum(), rel=1e-12)
    # soft targets, as torch accepts them too
    t = scipy.special.softmax(np.arange(35.0).reshape(7, 5) / 10, axis=1)
    ref_soft = F.cross_entropy(torch.tensor(o), torch.tensor(t)).item()
    assert L.cross_entropy(o, t) == pytest.approx(ref_soft, rel=1e-12)


def test_cross_entropy_grad_matches_torch(batch):
    o, y = batch
    ot = torch.tensor(o, requires_grad=True)
    F.cross_entropy(ot, torch.tensor(y)).backward()
    np.testing.assert_allclose(L.cross_entropy_grad(o, y), ot.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(
        L.cross_entropy_grad(o, y, reduction="sum"), L.softmax(o) - L.one_hot(y, 5), rtol=1e-12
    )


def test_l1_l2_match_torch(batch):
    o, _ = batch
    y = np.cos(o)
    to, ty = torch.tensor(o), torch.tensor(y)
    n = o.shape[0]
    assert L.l1_loss(o, y) == pytest.approx(F.l1_loss(to, ty, reduction="sum").item() / n)
    assert L.l2_loss(o, y) == pytest.approx(F.mse_loss(to, ty, reduction="sum").item() / n)
    np.testing.assert_allclose(L.l2_loss(o, y, reduction="none"), ((o - y) ** 2).sum(1))
    # 1-D inputs: one output per sample
    assert L.l1_loss(o[:, 0], y[:, 0]) == pytest.approx(F.l1_loss(to[:, 0], ty[:, 0]).item())


def test_hinge_matches_sklearn_and_closed_form():
    rng = np.random.default_rng(1)
    o = rng.normal(size=50)
    y = rng.choice([-1.0, 1.0], size=50)
    assert L.hinge_loss(o, y) == pytest.approx(sk_hinge(y, o), rel=1e-12)
    for p in (2, 3):
        assert L.hinge_loss(o, y, power=p) == pytest.approx(np.mean(np.maximum(0, 1 - y * o) ** p))
    assert L.hinge_loss(o, y, margin=0.5) == pytest.approx(np.mean(np.maximum(0, 0.5 - y * o)))
    # multi-output form, torch's multilabel margin-free counterpart: sum over outputs
    O = rng.normal(size=(4, 3))
    Y = np.where(rng.random((4, 3)) < 0.5, -1.0, 1.0)
    np.testing.assert_allclose(
        L.hinge_loss(O, Y, reduction="none"), np.maximum(0, 1 - Y * O).sum(1)
    )


def test_logistic_matches_torch_soft_margin():
    rng = np.random.default_rng(2)
    o = rng.normal(scale=5, size=30)
    y = rng.choice([-1.0, 1.0], size=30)
    ref = F.soft_margin_loss(torch.tensor(o), torch.tensor(y)).item()
    assert L.logistic_loss(o, y) == pytest.approx(ref, rel=1e-12)
    # two-class cross-entropy with logits (0, o) is the same loss
    logits = np.stack([np.zeros_like(o), o], axis=1)
    labels = (y > 0).astype(int)
    assert L.logistic_loss(o, y) == pytest.approx(L.cross_entropy(logits, labels), rel=1e-12)


# ----------------------------------------------------------------------------- Tanimoto, C-S
def test_tanimoto_closed_form_and_range(batch):
    o, y = batch
    p = scipy.special.softmax(o, axis=1)
    t = np.eye(5)[y]
    pt = (p * t).sum(1)
    ref = -pt / ((p**2).sum(1) + 1.0 - pt)
    np.testing.assert_allclose(L.tanimoto_loss(o, y, reduction="none"), ref, rtol=1e-12)
    assert np.all((ref >= -1) & (ref <= 0))
    # a confident correct prediction approaches the minimum -1
    confident = 30.0 * np.eye(5)[y]
    assert L.tanimoto_loss(confident, y) == pytest.approx(-1.0, abs=1e-10)


def test_cauchy_schwarz_closed_form_and_properties(batch):
    o, y = batch
    p = scipy.special.softmax(o, axis=1)
    t = np.eye(5)[y]
    ref = -np.log((p * t).sum(1) / np.linalg.norm(p, axis=1))
    np.testing.assert_allclose(L.cauchy_schwarz_loss(o, y, reduction="none"), ref, rtol=1e-10)
    assert np.all(ref >= 0)
    # p parallel to the target gives 0; the loss is scale-free in the target
    soft = scipy.special.softmax(o, axis=1)
    np.testing.assert_allclose(L.cauchy_schwarz_loss(o, soft, reduction="none"), 0, atol=1e-12)
    np.testing.assert_allclose(L.cauchy_schwarz_loss(o, 3 * soft, reduction="none"), 0, atol=1e-12)
    # log-domain computation: finite even where p_y underflows to 0
    assert L.cauchy_schwarz_loss([[0.0, 900.0]], [0]) == pytest.approx(900.0)


# ----------------------------------------------------------------------------- properties
@pytest.mark.parametrize("loss", [L.cross_entropy, L.tanimoto_loss, L.cauchy_schwarz_loss])
def test_classification_losses_decrease_when_true_logit_grows(loss, batch):
    o, y = batch
    bumped = o.copy()
    bumped[np.arange(len(y)), y] += 1.0
    assert np.all(loss(bumped, y, reduction="none") < loss(o, y, reduction="none"))


@pytest.mark.parametrize("loss", [L.l1_loss, L.l2_loss])
def test_regression_losses_zero_iff_equal(loss):
    o = np.arange(6.0).reshape(3, 2)
    assert loss(o, o) == 0.0
    assert loss(o, o + 1e-3) > 0.0


@pytest.mark.parametrize("power", [1, 2, 3])
def test_hinge_zero_beyond_margin_and_monotone(power):
    m = np.linspace(-3, 3, 61)
    h = L.hinge_loss(m, np.ones_like(m), power=power, reduction="none")
    assert np.all(h[m >= 1] == 0)
    assert np.all(np.diff(h) <= 0)


def test_inputs_are_not_modified(batch):
    o, y = batch
    o0, y0 = o.copy(), y.copy()
    for f in (L.cross_entropy, L.cross_entropy_grad, L.tanimoto_loss, L.cauchy_schwarz_loss):
        f(o, y)
    np.testing.assert_array_equal(o, o0)
    np.testing.assert_array_equal(y, y0)


# ----------------------------------------------------------------------------- validation
def test_validation_messages():
    with pytest.raises(ValueError, match="'reduction'"):
        L.l2_loss([1.0], [1.0], reduction="avg")
    with pytest.raises(ValueError, match="same shape"):
        L.l1_loss([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="-1 and \\+1"):
        L.hinge_loss([1.0, 2.0], [0, 1])
    with pytest.raises(ValueError, match="'power'"):
        L.hinge_loss([1.0], [1], power=0)
    with pytest.raises(ValueError, match="'margin'"):
        L.hinge_loss([1.0], [1], margin=-1)
    with pytest.raises(ValueError, match="finite"):
        L.softmax([np.nan, 1.0])
    with pytest.raises(ValueError, match=r"shape \(n, k\)"):
        L.cross_entropy([1.0, 2.0], [0])
    with pytest.raises(ValueError, match="labels in"):
        L.cross_entropy([[1.0, 2.0]], [2])
    with pytest.raises(ValueError, match="one per row"):
        L.cross_entropy([[1.0, 2.0]], [0, 1])
    with pytest.raises(TypeError, match="'o'"):
        L.l1_loss(["a"], [1.0])
