"""dlcourse.optim against torch.optim: SGD and Adam steps, schedules, and plain gradient descent."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dlcourse.autograd import Tensor
from dlcourse.optim import (
    SGD,
    Adam,
    AdamW,
    CosineLR,
    StepLR,
    cosine_lr,
    gradient_descent,
    step_lr,
)

CONFIGS = [
    {"momentum": 0.0, "weight_decay": 0.0, "nesterov": False},
    {"momentum": 0.9, "weight_decay": 0.0, "nesterov": False},
    {"momentum": 0.0, "weight_decay": 0.01, "nesterov": False},
    {"momentum": 0.8, "weight_decay": 0.05, "nesterov": False},
    {"momentum": 0.9, "weight_decay": 0.01, "nesterov": True},
]


def _params_and_grads(seed=0, steps=3):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    grads = [[rng.standard_normal(p.shape) for p in params] for _ in range(steps)]
    return params, grads


def _torch_reference(params, grads, lr, **config):
    ref = [torch.tensor(p, requires_grad=True) for p in params]
    opt = torch.optim.SGD(ref, lr=lr, **config)
    for step_grads in grads:
        for p, g in zip(ref, step_grads, strict=True):
            p.grad = torch.from_numpy(g.copy())
        opt.step()
    return [p.detach().numpy() for p in ref]


@pytest.mark.parametrize(
    "config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items())
)
@pytest.mark.parametrize("kind", ["autograd", "torch"])
def test_sgd_steps_match_torch_optim_sgd(kind, config):
    params, grads = _params_and_grads()
    expected = _torch_reference(params, grads, lr=0.1, **config)
    if kind == "autograd":
        ours = [Tensor(p, requires_grad=True) for p in params]
    else:
        ours = [torch.tensor(p, requires_grad=True) for p in params]
    opt = SGD(ours, lr=0.1, **config)
    for step_grads in grads:
        for p, g in zip(ours, step_grads, strict=True):
            p.grad = g.copy() if kind == "autograd" else torch.from_numpy(g.copy())
        opt.step()
    for p, e in zip(ours, expected, strict=True):
        got = p.data if kind == "autograd" else p.detach().numpy()
        np.testing.assert_allclose(got, e, rtol=1e-12, atol=1e-14)


def test_sgd_updates_torch_parameters_of_a_module_in_place():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    weight = model.weight
    before = weight.detach().clone()
    opt = SGD(model.parameters(), lr=0.5)
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    assert model.weight is weight and weight.requires_grad
    torch.testing.assert_close(weight.detach(), before - 0.5 * 4 * torch.ones(2, 3))
    opt.zero_grad()
    assert weight.grad is None


def test_sgd_on_autograd_tensors_updates_data_in_place_and_skips_missing_grads():
    w = Tensor([1.0, 2.0], requires_grad=True)
    untouched = Tensor([5.0], requires_grad=True)
    data = w.data
    opt = SGD([w, untouched], lr=0.5)
    (w * w).sum().backward()
    opt.step()
    assert w.data is data
    np.testing.assert_allclose(w.data, [0.0, 0.0])
    np.testing.assert_allclose(untouched.data, [5.0])
    opt.zero_grad()
    assert w.grad is None


def test_sgd_keeps_float32_parameters_in_float32():
    w = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    w.grad = np.ones(3)  # a float64 gradient
    SGD([w], lr=0.1, momentum=0.9).step()
    assert w.dtype == np.float32


def test_gradient_descent_minimises_a_quadratic():
    w = Tensor([3.0, -4.0], requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.5)
    for _ in range(100):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    assert np.linalg.norm(w.data) < 1e-6


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lr": 0}, ValueError, r"'lr' argument.* must be a real number > 0\. Got 0"),
        ({"lr": -0.1}, ValueError, r"'lr' argument.* must be a real number > 0\. Got -0\.1"),
        ({"lr": "fast"}, TypeError, r"'lr' argument.* must be a real number"),
        (
            {"lr": 0.1, "momentum": 1.0},
            ValueError,
            r"'momentum' argument.* must be a real number in \[0, 1\)",
        ),
        ({"lr": 0.1, "momentum": -0.5}, ValueError, r"'momentum'.*Got -0\.5"),
        ({"lr": 0.1, "weight_decay": -1}, ValueError, r"'weight_decay' argument.*>= 0\. Got -1"),
        ({"lr": 0.1, "nesterov": True}, ValueError, r"'nesterov' argument needs momentum > 0"),
    ],
    ids=["lr zero", "lr negative", "lr str", "momentum 1", "momentum negative", "wd", "nesterov"],
)
def test_sgd_arguments_are_validated(kwargs, error, match):
    with pytest.raises(error, match=match):
        SGD([Tensor([1.0], requires_grad=True)], **kwargs)


def test_sgd_rejects_empty_or_non_tensor_params():
    with pytest.raises(ValueError, match="'params' argument is empty"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="parameter 0 must be a Tensor"):
        SGD([1.0], lr=0.1)


# --------------------------------------------------------------------------- Adam
ADAM_CONFIGS = [
    ("Adam", {}),
    ("Adam", {"betas": (0.8, 0.99), "eps": 1e-6}),
    ("Adam", {"weight_decay": 0.1}),
    ("AdamW", {"weight_decay": 0.1}),
    ("AdamW", {"weight_decay": 0.0, "betas": (0.5, 0.9)}),
]


@pytest.mark.parametrize(
    ("which", "config"), ADAM_CONFIGS, ids=lambda c: c if isinstance(c, str) else str(c)
)
@pytest.mark.parametrize("kind", ["autograd", "torch"])
def test_adam_matches_torch_after_every_step(kind, which, config):
    # step by step from the first step, where the bias corrections 1 - beta^t matter most
    params, grads = _params_and_grads(seed=1, steps=6)
    ref = [torch.tensor(p, requires_grad=True) for p in params]
    torch_opt = getattr(torch.optim, which)(ref, lr=0.01, **config)
    if kind == "autograd":
        ours = [Tensor(p, requires_grad=True) for p in params]
    else:
        ours = [torch.tensor(p, requires_grad=True) for p in params]
    opt = (AdamW if which == "AdamW" else Adam)(ours, lr=0.01, **config)
    for step_grads in grads:
        for p, q, g in zip(ours, ref, step_grads, strict=True):
            p.grad = g.copy() if kind == "autograd" else torch.from_numpy(g.copy())
            q.grad = torch.from_numpy(g.copy())
        opt.step()
        torch_opt.step()
        for p, q in zip(ours, ref, strict=True):
            got = p.data if kind == "autograd" else p.detach().numpy()
            np.testing.assert_allclose(got, q.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_adam_first_step_is_lr_times_the_sign_of_the_gradient():
    # bias correction: m_1 / (1 - b1) = g and v_1 / (1 - b2) = g^2, so the step is lr * g / |g|
    g = np.array([1e-4, -3.0, 250.0])
    w = Tensor(np.zeros(3), requires_grad=True)
    w.grad = g
    Adam([w], lr=0.01, eps=0.0).step()
    np.testing.assert_allclose(w.data, -0.01 * np.sign(g), rtol=1e-12)


def test_adam_weight_decay_forms_differ_as_documented():
    # without gradient, AdamW shrinks w by (1 - lr wd); Adam's L2 term becomes a gradient wd*w,
    # normalised by sqrt(v): a first step of lr * sign(w) whatever the size of w
    w_dec, w_l2 = Tensor([2.0, -0.01], requires_grad=True), Tensor([2.0, -0.01], requires_grad=True)
    for w in (w_dec, w_l2):
        w.grad = np.zeros(2)
    AdamW([w_dec], lr=0.1, weight_decay=0.5).step()
    Adam([w_l2], lr=0.1, weight_decay=0.5, eps=0.0).step()
    np.testing.assert_allclose(w_dec.data, [2.0 * 0.95, -0.01 * 0.95], rtol=1e-12)
    np.testing.assert_allclose(w_l2.data, [1.9, 0.09], rtol=1e-12)


def test_adam_minimises_a_badly_scaled_quadratic():
    w = Tensor([3.0, -4.0], requires_grad=True)
    h = np.array([1.0, 1000.0])
    opt = Adam([w], lr=0.05)
    for _ in range(1000):
        opt.zero_grad()
        (0.5 * w * w * h).sum().backward()
        opt.step()
    assert np.abs(w.data).max() < 1e-2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": 0}, r"'lr' argument.* must be a real number > 0\. Got 0"),
        ({"betas": (1.0, 0.999)}, r"'betas\[0\]' argument.* in \[0, 1\)"),
        ({"betas": (0.9, -0.1)}, r"'betas\[1\]' argument"),
        ({"betas": 0.9}, r"'betas' argument.* a pair"),
        ({"eps": -1e-8}, r"'eps' argument.*>= 0"),
        ({"weight_decay": -0.1}, r"'weight_decay' argument.*>= 0"),
    ],
    ids=["lr", "beta1", "beta2", "betas", "eps", "wd"],
)
def test_adam_arguments_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Adam([Tensor([1.0], requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match="'params' argument is empty"):
        AdamW([])


# --------------------------------------------------------------------------- schedules
def _torch_lrs(make_scheduler, steps, lr=0.5):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make_scheduler(opt)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


def _our_lrs(make_scheduler, steps, lr=0.5):
    opt = SGD([Tensor([0.0], requires_grad=True)], lr=lr)
    sched = make_scheduler(opt)
    lrs = [opt.lr]
    for _ in range(steps):
        opt.step()
        lrs.append(sched.step())
        assert opt.lr == lrs[-1] == sched.get_last_lr()
    return lrs


@pytest.mark.parametrize(("step_size", "gamma"), [(1, 0.9), (3, 0.5), (7, 0.1)])
def test_step_lr_matches_torch(step_size, gamma):
    ours = _our_lrs(lambda o: StepLR(o, step_size=step_size, gamma=gamma), 25)
    theirs = _torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, gamma), 25)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert ours == [step_lr(t, 0.5, step_size, gamma) for t in range(26)]


@pytest.mark.parametrize(("total", "lr_min"), [(10, 0.0), (25, 0.01)])
def test_cosine_lr_matches_torch_cosine_annealing(total, lr_min):
    ours = _our_lrs(lambda o: CosineLR(o, total_steps=total, lr_min=lr_min), total)
    theirs = _torch_lrs(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=total, eta_min=lr_min),
        total,
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-15)
    assert ours[0] == 0.5 and math.isclose(ours[-1], lr_min, abs_tol=1e-15)


def test_cosine_lr_with_warmup_and_after_the_end():
    lrs = [cosine_lr(t, 1.0, total_steps=10, warmup_steps=4) for t in range(12)]
    np.testing.assert_allclose(lrs[:4], [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(lrs[4], 1.0)
    np.testing.assert_allclose(lrs[7], 0.5)
    assert lrs[10] == lrs[11] == 0.0
    assert all(a >= b for a, b in zip(lrs[3:-1], lrs[4:], strict=True))


def test_schedules_drive_a_torch_optimizer_too():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    sched.step()
    assert opt.param_groups[0]["lr"] == 0.5


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda o: StepLR(o, step_size=0), r"'step_size' argument.* an integer >= 1\. Got 0"),
        (lambda o: StepLR(o, step_size=2, gamma=0), r"'gamma' argument.* a real number > 0"),
        (lambda o: CosineLR(o, total_steps=2.5), r"'total_steps' argument.* must be an integer"),
        (lambda o: CosineLR(o, total_steps=5, lr_min=-1), r"'lr_min' argument.*>= 0"),
        (lambda o: CosineLR(o, total_steps=5, warmup_steps=5), r"'warmup_steps'.*< total_steps"),
    ],
    ids=["step_size", "gamma", "total_steps", "lr_min", "warmup"],
)
def test_schedule_arguments_are_validated(make, match):
    with pytest.raises(ValueError, match=match):
        make(SGD([Tensor([0.0], requires_grad=True)], lr=0.1))


def test_schedule_needs_an_optimizer_with_a_learning_rate():
    with pytest.raises(TypeError, match="'optimizer' argument must have an 'lr' attribute"):
        StepLR(object(), step_size=1)


# --------------------------------------------------------------------------- plain GD
def test_gradient_descent_iterates_follow_the_closed_form():
    a = np.diag([1.0, 4.0])
    x0 = np.array([1.0, 1.0])
    xs = gradient_descent(lambda x: a @ x, x0, lr=0.1, n_iter=20)
    assert xs.shape == (21, 2)
    expected = np.stack([np.linalg.matrix_power(np.eye(2) - 0.1 * a, k) @ x0 for k in range(21)])
    np.testing.assert_allclose(xs, expected, rtol=1e-12)
    np.testing.assert_array_equal(x0, [1.0, 1.0])


def test_gradient_descent_with_momentum_matches_sgd():
    a = np.diag([1.0, 10.0])
    xs = gradient_descent(lambda x: a @ x, [1.0, 1.0], lr=0.05, n_iter=5, momentum=0.9)
    w = Tensor([1.0, 1.0], requires_grad=True)
    opt = SGD([w], lr=0.05, momentum=0.9)
    for k in range(5):
        w.grad = a @ w.data
        opt.step()
        np.testing.assert_allclose(w.data, xs[k + 1], rtol=1e-12)


def test_gradient_descent_from_zero_finds_the_minimum_norm_least_squares_solution():
    rng = np.random.default_rng(0)
    a, y = rng.standard_normal((5, 12)), rng.standard_normal(5)
    lr = 1 / np.linalg.norm(a, 2) ** 2
    xs = gradient_descent(lambda x: a.T @ (a @ x - y), np.zeros(12), lr=lr, n_iter=3000)
    np.testing.assert_allclose(xs[-1], np.linalg.pinv(a) @ y, atol=1e-8)


def test_gradient_descent_validates_its_arguments():
    with pytest.raises(ValueError, match="'lr' argument"):
        gradient_descent(lambda x: x, [1.0], lr=0, n_iter=3)
    with pytest.raises(ValueError, match=r"'n_iter' argument.* must be an integer >= 0\. Got -1"):
        gradient_descent(lambda x: x, [1.0], lr=0.1, n_iter=-1)
    with pytest.raises(ValueError, match=r"grad_fn returned shape \(2,\) for x of shape \(1,\)"):
        gradient_descent(lambda x: np.ones(2), [1.0], lr=0.1, n_iter=1)
