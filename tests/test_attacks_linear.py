"""dlcourse.attacks.linear: the closed forms against constrained optimisation and brute force.

References are independent of the formulas: scipy's SLSQP for the L2 problem, a linear
program (scipy's linprog) for the L-inf problem, random boundary points, and a brute force
over the classes of a multi-class model.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import linprog, minimize

from dlcourse.attacks import (
    linear_max_linf,
    linear_min_norm_l2,
    linear_min_norm_linf,
    linear_scores,
)


def _binary(seed=0, d=7, n=20):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(d), float(rng.standard_normal()), rng.standard_normal((n, d))


def _multi(seed=0, k=5, d=6, n=30):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((k, d)), rng.standard_normal(k), rng.standard_normal((n, d))


# --------------------------------------------------------------------------- binary, L2
def test_l2_lands_on_the_hyperplane_with_the_predicted_norm():
    w, b, x0 = _binary()
    delta = linear_min_norm_l2(w, b, x0)
    assert delta.shape == x0.shape and delta.dtype == np.float64
    f0 = x0 @ w + b
    np.testing.assert_array_less(np.abs((x0 + delta) @ w + b), 1e-10)
    np.testing.assert_allclose(np.linalg.norm(delta, axis=1), np.abs(f0) / np.linalg.norm(w))
    # the step is along w (the normal), towards the boundary
    cos = (delta @ w) / (np.linalg.norm(delta, axis=1) * np.linalg.norm(w))
    np.testing.assert_allclose(cos, -np.sign(f0), atol=1e-12)


def test_l2_is_the_minimum_found_by_constrained_optimisation():
    w, b, x0 = _binary(seed=1, n=5)
    delta = linear_min_norm_l2(w, b, x0)
    for i in range(len(x0)):
        res = minimize(
            lambda d: d @ d,
            x0=np.zeros_like(w),
            jac=lambda d: 2 * d,
            constraints=[
                {"type": "eq", "fun": lambda d, i=i: w @ (x0[i] + d) + b, "jac": lambda d: w}
            ],
            method="SLSQP",
            options={"ftol": 1e-14, "maxiter": 200},
        )
        assert res.success
        np.testing.assert_allclose(delta[i], res.x, atol=1e-6)


def test_no_random_boundary_point_is_closer_than_the_l2_or_linf_answer():
    w, b, x0 = _binary(seed=2, d=5, n=4)
    rng = np.random.default_rng(0)
    d2 = np.linalg.norm(linear_min_norm_l2(w, b, x0), axis=1)
    dinf = np.abs(linear_min_norm_linf(w, b, x0)).max(axis=1)
    for i in range(len(x0)):
        # random points of the hyperplane: x0 + v moved along a random direction u onto it
        v = rng.standard_normal((5000, 5))
        u = rng.standard_normal((5000, 5))
        t = -(w @ x0[i] + b + v @ w) / (u @ w)
        p = v + t[:, None] * u
        np.testing.assert_allclose((x0[i] + p) @ w + b, 0.0, atol=1e-8)
        assert np.linalg.norm(p, axis=1).min() >= d2[i] - 1e-12
        assert np.abs(p).max(axis=1).min() >= dinf[i] - 1e-12


# --------------------------------------------------------------------------- binary, L-inf
def test_linf_lands_on_the_hyperplane_with_the_predicted_norm():
    w, b, x0 = _binary(seed=3)
    delta = linear_min_norm_linf(w, b, x0)
    f0 = x0 @ w + b
    np.testing.assert_array_less(np.abs((x0 + delta) @ w + b), 1e-10)
    np.testing.assert_allclose(np.abs(delta).max(axis=1), np.abs(f0) / np.abs(w).sum())
    # every coordinate moves by the same amount
    np.testing.assert_allclose(
        np.abs(delta), np.broadcast_to(np.abs(delta).max(axis=1, keepdims=True), delta.shape)
    )


def _linf_by_linear_program(w, b, x0):
    """min t subject to -t <= delta_i <= t and w . (x0 + delta) + b = 0 (variables delta, t)."""
    d = len(w)
    c = np.r_[np.zeros(d), 1.0]
    eye = np.eye(d)
    a_ub = np.block([[eye, -np.ones((d, 1))], [-eye, -np.ones((d, 1))]])
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=np.zeros(2 * d),
        A_eq=np.r_[w, 0.0][None],
        b_eq=[-(w @ x0 + b)],
        bounds=[(None, None)] * d + [(0, None)],
    )
    assert res.status == 0
    return res.fun


def test_linf_norm_equals_the_linear_program_optimum():
    w, b, x0 = _binary(seed=4, n=6)
    dinf = np.abs(linear_min_norm_linf(w, b, x0)).max(axis=1)
    for i in range(len(x0)):
        assert dinf[i] == pytest.approx(_linf_by_linear_program(w, b, x0[i]), rel=1e-7)


# --------------------------------------------------------------------------- multi-class
def _brute_force(w, b, x0, q):
    """Per row: min over j != k of the q-dual-norm distance to the hyperplane f_j = f_k."""
    scores = x0 @ w.T + b
    out = []
    for i, s in enumerate(scores):
        k = int(s.argmax())
        dists = []
        for j in range(len(b)):
            if j == k:
                continue
            normal = w[j] - w[k]
            gap = abs(s[j] - s[k])
            if q == 2:
                dists.append(gap / np.linalg.norm(normal))
            else:  # the L-inf distance through the linear program, not the formula
                dists.append(_linf_by_linear_program(normal, b[j] - b[k], x0[i]))
        out.append(min(dists))
    return np.array(out)


@pytest.mark.parametrize("attack, q", [(linear_min_norm_l2, 2), (linear_min_norm_linf, 1)])
def test_multiclass_goes_to_the_nearest_boundary(attack, q):
    w, b, x0 = _multi(n=12)
    delta = attack(w, b, x0)
    norms = np.linalg.norm(delta, axis=1) if q == 2 else np.abs(delta).max(axis=1)
    np.testing.assert_allclose(norms, _brute_force(w, b, x0, q), rtol=1e-7)
    # x0 + delta is on the decision boundary: the top two scores tie, nothing is above them
    scores = (x0 + delta) @ w.T + b
    top2 = np.sort(scores, axis=1)[:, -2:]
    np.testing.assert_array_less(np.abs(top2[:, 1] - top2[:, 0]), 1e-10)
    k = (x0 @ w.T + b).argmax(axis=1)
    np.testing.assert_allclose(scores[np.arange(len(k)), k], top2[:, 1], atol=1e-10)


@pytest.mark.parametrize("attack", [linear_min_norm_l2, linear_min_norm_linf])
def test_overshoot_crosses_the_boundary(attack):
    w, b, x0 = _multi(seed=5)
    plain = attack(w, b, x0)
    over = attack(w, b, x0, overshoot=0.02)
    np.testing.assert_allclose(over, 1.02 * plain)
    before = (x0 @ w.T + b).argmax(axis=1)
    after = ((x0 + over) @ w.T + b).argmax(axis=1)
    assert (before != after).all()
    wb, bb, xb = _binary(seed=5)
    crossed = attack(wb, bb, xb, overshoot=0.01)
    assert (np.sign(xb @ wb + bb) != np.sign((xb + crossed) @ wb + bb)).all()


def test_point_on_a_boundary_does_not_move():
    w = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    b = np.zeros(3)
    x0 = np.array([[2.0, 2.0], [3.0, 1.0]])  # row 0 ties classes 0 and 1
    delta = linear_min_norm_l2(w, b, x0)
    np.testing.assert_array_equal(delta[0], 0.0)
    assert np.linalg.norm(delta[1]) == pytest.approx(2 / np.sqrt(2))


# --------------------------------------------------------------------------- max L-inf
def test_max_linf_moves_the_score_by_eps_times_l1_norm_and_nothing_moves_it_more():
    w, b, x0 = _binary(seed=6)
    eps = 0.3
    delta = linear_max_linf(w, b, x0, eps)
    f0 = x0 @ w + b
    np.testing.assert_allclose(np.abs(delta), eps)
    np.testing.assert_allclose((x0 + delta) @ w + b, f0 - np.sign(f0) * eps * np.abs(w).sum())
    # the vertices of the eps-cube hold the extreme scores; none goes further toward 0
    rng = np.random.default_rng(1)
    vertices = eps * rng.choice([-1.0, 1.0], size=(4000, len(w)))
    moves = vertices @ w
    assert (np.abs(moves) <= eps * np.abs(w).sum() + 1e-12).all()
    # it crosses exactly when eps exceeds the min-norm L-inf distance
    dist = np.abs(f0) / np.abs(w).sum()
    crossed = np.sign((x0 + delta) @ w + b) != np.sign(f0)
    np.testing.assert_array_equal(crossed, eps > dist)


def test_max_linf_is_zero_at_the_boundary_and_checks_eps():
    w = np.array([1.0, -2.0])
    np.testing.assert_array_equal(linear_max_linf(w, 0.0, np.array([2.0, 1.0]), 0.5), 0.0)
    with pytest.raises(ValueError, match="'eps'"):
        linear_max_linf(w, 0.0, np.zeros(2), -0.1)
    with pytest.raises(ValueError, match="two-class"):
        linear_max_linf(np.ones((3, 2)), np.zeros(3), np.zeros(2), 0.1)


# --------------------------------------------------------------------------- types, batching
@pytest.mark.parametrize("attack", [linear_min_norm_l2, linear_min_norm_linf])
@pytest.mark.parametrize("multi", [False, True])
def test_batched_equals_per_row_and_torch_equals_numpy(attack, multi):
    w, b, x0 = _multi(seed=7) if multi else _binary(seed=7)
    batched = attack(w, b, x0)
    rows = np.stack([attack(w, b, x) for x in x0])
    np.testing.assert_allclose(batched, rows, rtol=1e-13, atol=1e-15)
    assert attack(w, b, x0[0]).shape == (x0.shape[1],)
    tw, tb, tx = (torch.tensor(a, dtype=torch.float64) for a in (w, b, x0))
    t = attack(tw, tb, tx)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64
    np.testing.assert_allclose(t.numpy(), batched, rtol=1e-13, atol=1e-15)
    t32 = attack(tw.float(), tb.float(), tx.float())
    assert t32.dtype == torch.float32
    np.testing.assert_allclose(t32.numpy(), batched, rtol=1e-4, atol=1e-5)
    # mixed: a torch x0 with NumPy weights gives torch out
    assert isinstance(attack(w, b, tx), torch.Tensor)


def test_linear_scores_matches_the_formula():
    w, b, x0 = _multi(seed=8)
    np.testing.assert_allclose(linear_scores(w, b, x0), x0 @ w.T + b)
    wb, bb, xb = _binary(seed=8)
    np.testing.assert_allclose(linear_scores(wb, bb, xb), xb @ wb + bb)


# --------------------------------------------------------------------------- errors
def test_clear_errors():
    with pytest.raises(ValueError, match="must not be all zeros"):
        linear_min_norm_l2(np.zeros(3), 1.0, np.ones(3))
    with pytest.raises(ValueError, match=r"'x0' argument.* must be of shape \(3,\) or \(n, 3\)"):
        linear_min_norm_l2(np.ones(3), 0.0, np.ones(4))
    with pytest.raises(ValueError, match="'b' argument.* must be a scalar"):
        linear_min_norm_linf(np.ones(3), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match=r"'b' argument.* must be of shape \(4,\)"):
        linear_min_norm_l2(np.ones((4, 3)), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="K >= 2"):
        linear_min_norm_l2(np.ones((1, 3)), np.ones(1), np.ones(3))
    with pytest.raises(ValueError, match="'w' argument.* must be a weight vector"):
        linear_min_norm_l2(np.ones((2, 3, 4)), 0.0, np.ones(4))
    with pytest.raises(ValueError, match="no reachable boundary"):
        linear_min_norm_l2(np.ones((3, 2)), np.array([0.0, 1.0, 2.0]), np.ones(2))
    with pytest.raises(ValueError, match="'overshoot'"):
        linear_min_norm_l2(np.ones(3), 0.0, np.ones(3), overshoot=-1)
    with pytest.raises(ValueError, match="finite"):
        linear_min_norm_l2(np.array([1.0, np.nan]), 0.0, np.ones(2))
    with pytest.raises(TypeError, match="'w' argument.* must be an array"):
        linear_min_norm_l2("abc", 0.0, np.ones(2))
