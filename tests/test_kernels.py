"""dlcourse.kernels: the perceptron, kernels, the circle lift, kernel machines.

References: scikit-learn's Perceptron (same order, same updates), its pairwise kernels, its
KernelRidge and SVC; Novikoff's mistake bound; the primal perceptron for the dual one with a
linear kernel; finite differences for the loss's gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import make_circles
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Perceptron as SkPerceptron
from sklearn.metrics.pairwise import linear_kernel, polynomial_kernel, rbf_kernel
from sklearn.svm import SVC, LinearSVC

from dlcourse.kernels import (
    KernelPerceptron,
    KernelRidgeClassifier,
    Perceptron,
    kernel_matrix,
    lift_circle,
    perceptron_loss,
)

pytestmark = pytest.mark.timeout(120)


def _separable(n=120, d=3, margin=0.3, seed=0):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    X = rng.uniform(-1, 1, (4 * n, d))
    s = X @ u + 0.1
    keep = np.abs(s) > margin
    X, s = X[keep][:n], s[keep][:n]
    return X, np.where(s > 0, 1, -1)


# ----------------------------------------------------------------------------- perceptron
def test_perceptron_matches_scikit_learn_update_for_update():
    X, y = _separable()
    for epochs in (1, 3):
        ours = Perceptron(n_iter=epochs, shuffle=False).fit(X, y)
        ref = SkPerceptron(max_iter=epochs, tol=None, shuffle=False, eta0=1.0, penalty=None).fit(
            X, y
        )
        if ours.n_iter_ == epochs:  # sklearn does not stop early on a clean epoch
            np.testing.assert_allclose(ours.coef_, ref.coef_[0], atol=1e-12)
            assert ours.intercept_ == pytest.approx(ref.intercept_[0], abs=1e-12)


def test_perceptron_separates_within_novikoffs_bound():
    X, y = _separable(margin=0.25)
    clf = Perceptron(n_iter=1000, seed=0).fit(X, y)
    assert clf.score(X, y) == 1.0 and clf.n_mistakes_[-1] == 0
    # Novikoff, with the bias folded in as a constant feature: mistakes <= (R / gamma)^2
    Xa = np.hstack([X, np.ones((len(X), 1))])
    svm = LinearSVC(C=1e6, fit_intercept=False, max_iter=200_000, tol=1e-10).fit(Xa, y)
    w = svm.coef_[0] / np.linalg.norm(svm.coef_[0])
    gamma = np.min(y * (Xa @ w))
    assert gamma > 0
    R = np.max(np.linalg.norm(Xa, axis=1))
    assert sum(clf.n_mistakes_) <= (R / gamma) ** 2


def test_perceptron_labels_and_decision_function():
    X, y = _separable()
    labels = np.where(y > 0, "cat", "ant")
    clf = Perceptron(seed=1).fit(X, labels)
    assert list(clf.classes_) == ["ant", "cat"]
    d = clf.decision_function(X)
    np.testing.assert_array_equal(clf.predict(X), np.where(d > 0, "cat", "ant"))
    np.testing.assert_allclose(d, X @ clf.coef_ + clf.intercept_)


def test_perceptron_is_deterministic_for_a_seed_and_leaves_inputs_alone():
    X, y = _separable()
    X0 = X.copy()
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    a = Perceptron(seed=3).fit(X, y)
    b = Perceptron(seed=3).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(state, np.random.get_state()[1])  # noqa: NPY002


def test_perceptron_loss_closed_form_and_its_gradient_is_the_update():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    y = np.where(rng.random(30) > 0.5, 1.0, -1.0)
    w, b = rng.standard_normal(4), 0.2
    m = y * (X @ w + b)
    assert perceptron_loss(w, b, X, y) == pytest.approx(np.mean(np.maximum(0, -m)))
    # the gradient of the mean loss is -(1/n) sum over mistakes of y x: the update direction
    grad = -(y[m < 0, None] * X[m < 0]).sum(0) / len(X)
    h = 1e-6
    fd = [
        (perceptron_loss(w + h * e, b, X, y) - perceptron_loss(w - h * e, b, X, y)) / (2 * h)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(fd, grad, atol=1e-6)
    assert perceptron_loss(w, b, X, np.sign(X @ w + b)) == 0.0  # right side, no margin needed


# ----------------------------------------------------------------------------- kernels, lift
def test_kernel_matrix_matches_scikit_learn():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((7, 3)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(kernel_matrix(X, Y, "linear"), linear_kernel(X, Y))
    np.testing.assert_allclose(
        kernel_matrix(X, Y, "poly", gamma=0.5, degree=3, coef0=2.0),
        polynomial_kernel(X, Y, degree=3, gamma=0.5, coef0=2.0),
    )
    np.testing.assert_allclose(kernel_matrix(X, Y, "rbf", gamma=0.7), rbf_kernel(X, Y, gamma=0.7))
    np.testing.assert_allclose(kernel_matrix(X, kernel="rbf"), rbf_kernel(X, gamma=1 / 3))


def test_lift_makes_circles_linearly_separable_numpy_and_torch():
    X, y = make_circles(300, factor=0.5, noise=0.03, random_state=0)
    assert SVC(kernel="linear").fit(X, y).score(X, y) < 0.75  # not separable in the plane
    Z = lift_circle(X)
    assert SVC(kernel="linear", C=1e3).fit(Z, y).score(Z, y) == 1.0
    assert Perceptron(n_iter=500, seed=0).fit(Z, y).score(Z, y) == 1.0
    Zt = lift_circle(torch.tensor(X, dtype=torch.float32))
    assert Zt.dtype == torch.float32 and Zt.shape == (300, 3)
    np.testing.assert_allclose(Zt.numpy(), Z, rtol=1e-6)
    np.testing.assert_allclose(Z[:, 2], (X**2).sum(1))


# ----------------------------------------------------------------------------- machines
def test_kernel_perceptron_with_a_linear_kernel_is_the_perceptron():
    X, y = _separable()
    for shuffle in (False, True):
        primal = Perceptron(n_iter=50, shuffle=shuffle, seed=4).fit(X, y)
        dual = KernelPerceptron("linear", n_iter=50, shuffle=shuffle, seed=4).fit(X, y)
        np.testing.assert_allclose(dual.X_fit_.T @ dual.dual_coef_, primal.coef_, atol=1e-10)
        assert dual.intercept_ == pytest.approx(primal.intercept_)
        assert dual.n_mistakes_ == primal.n_mistakes_


def test_kernel_ridge_classifier_matches_scikit_learn_kernel_ridge():
    X, y = make_circles(200, factor=0.5, noise=0.1, random_state=1)
    ours = KernelRidgeClassifier("rbf", lam=0.3, gamma=1.5).fit(X, y)
    ypm = np.where(y == 1, 1.0, -1.0)
    ref = KernelRidge(alpha=0.3, kernel="rbf", gamma=1.5).fit(X, ypm - ypm.mean())
    np.testing.assert_allclose(
        ours.decision_function(X), ref.predict(X) + ypm.mean(), rtol=1e-8, atol=1e-10
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: KernelPerceptron("rbf", gamma=2.0, seed=0),
        lambda: KernelRidgeClassifier("rbf", lam=0.1, gamma=2.0),
    ],
)
def test_kernel_machines_match_svc_accuracy_on_noisy_circles(make):
    X, y = make_circles(600, factor=0.5, noise=0.12, random_state=2)
    Xtr, ytr, Xte, yte = X[:400], y[:400], X[400:], y[400:]
    svc = SVC(kernel="rbf", gamma=2.0).fit(Xtr, ytr).score(Xte, yte)
    ours = make().fit(Xtr, ytr).score(Xte, yte)
    assert ours >= svc - 0.05


# ----------------------------------------------------------------------------- errors
def test_clear_errors():
    X, y = _separable()
    with pytest.raises(ValueError, match="'n_iter' argument.*integer >= 1"):
        Perceptron(n_iter=0).fit(X, y)
    with pytest.raises(ValueError, match="'lr' argument"):
        Perceptron(lr=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="exactly two classes"):
        Perceptron().fit(X, np.arange(len(X)) % 3)
    with pytest.raises(ValueError, match="not fitted"):
        Perceptron().predict(X)
    with pytest.raises(ValueError, match="'kernel' argument"):
        KernelPerceptron("sigmoid").fit(X, y)
    with pytest.raises(ValueError, match=r"lift_circle must have shape \(n, 2\)"):
        lift_circle(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"lift_circle must have shape \(n, 2\)"):
        lift_circle(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="'x' argument.*2-D"):
        lift_circle(np.zeros(4))
    with pytest.raises(ValueError, match="same number of features"):
        kernel_matrix(np.zeros((2, 3)), np.zeros((2, 2)))
    clf = Perceptron().fit(X, y)
    with pytest.raises(ValueError, match="features but the model was fitted on 3"):
        clf.predict(X[:, :2])
