"""FGSM, PGD and DeepFool against hand-written steps, closed forms and the torchattacks library.

Models: a small MLP trained for a second on scikit-learn's 8x8 digits (inputs (N, 1, 8, 8) in
[0, 1]) and fixed random linear models, where the attacks have closed forms. The comparisons
with ``torchattacks`` skip when it is not installed (it is installed for benchmarks only).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.attacks import (
    FGSM,
    PGD,
    DeepFool,
    deepfool,
    fgsm,
    linear_max_linf,
    linear_min_norm_l2,
    pgd,
)

from .digits_mlp import digits_tensors, trained_mlp


@pytest.fixture(scope="module")
def digits():
    train_set, (x, y) = digits_tensors()
    model = trained_mlp(train_set)
    model.eval()
    return model, x[:120], y[:120]


def _loss_grad(model, x, y):
    x = x.clone().requires_grad_(True)
    return torch.autograd.grad(F.cross_entropy(model(x), y), x)[0]


def _linear_model(w, b):
    """nn.Linear with the given weights (float64); the scores are x @ w.T + b."""
    layer = torch.nn.Linear(w.shape[1], w.shape[0]).double()
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(w))
        layer.bias.copy_(torch.as_tensor(b))
    return layer


# --------------------------------------------------------------------------- FGSM
def test_fgsm_is_one_signed_gradient_step(digits):
    model, x, y = digits
    eps = 0.1
    expected = torch.clamp(x + eps * _loss_grad(model, x, y).sign(), 0, 1)
    got = fgsm(model, x, y, eps)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    assert got.min() >= 0 and got.max() <= 1
    # the clamp mattered: unclamped, the background (0) pixels would go negative
    unclamped = fgsm(model, x, y, eps, clamp=None)
    assert unclamped.min() < 0
    torch.testing.assert_close(unclamped.clamp(0, 1), got, rtol=0, atol=0)


def test_targeted_fgsm_descends_the_loss_of_the_target(digits):
    model, x, y = digits
    target = (y + 1) % 10
    expected = torch.clamp(x - 0.1 * _loss_grad(model, x, target).sign(), 0, 1)
    torch.testing.assert_close(fgsm(model, x, target, 0.1, targeted=True), expected)
    with torch.no_grad():
        assert F.cross_entropy(model(expected), target) < F.cross_entropy(model(x), target)


def test_fgsm_on_a_two_class_linear_model_is_the_max_linf_closed_form():
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal(6), 0.3
    # two logits (0, f): class 1 wins when f = w . x + b > 0
    model = _linear_model(np.stack([np.zeros(6), w]), np.array([0.0, b]))
    x0 = rng.standard_normal((25, 6))
    y = torch.as_tensor((x0 @ w + b > 0).astype(np.int64))  # the model's own prediction
    got = fgsm(model, torch.as_tensor(x0), y, 0.2, clamp=None)
    np.testing.assert_allclose(got.numpy() - x0, linear_max_linf(w, b, x0, 0.2), atol=1e-15)


def test_fgsm_with_eps_zero_returns_x(digits):
    model, x, y = digits
    torch.testing.assert_close(fgsm(model, x, y, 0.0), x, rtol=0, atol=0)


# --------------------------------------------------------------------------- PGD
@pytest.mark.parametrize("norm", ["inf", "2"])
@pytest.mark.parametrize("random_start", [False, True])
def test_pgd_stays_in_the_ball_and_the_valid_range(digits, norm, random_start):
    model, x, y = digits
    eps = 0.15 if norm == "inf" else 1.0
    x_adv = pgd(model, x, y, eps, eps / 4, 10, norm=norm, random_start=random_start)
    d = (x_adv - x).flatten(1)
    size = d.abs().max(dim=1).values if norm == "inf" else d.norm(dim=1)
    assert size.max() <= eps * (1 + 1e-5)
    assert size.max() >= 0.5 * eps  # it did move
    assert x_adv.min() >= 0 and x_adv.max() <= 1


def test_pgd_one_step_of_size_eps_without_random_start_is_fgsm(digits):
    model, x, y = digits
    torch.testing.assert_close(
        pgd(model, x, y, 0.1, 0.1, 1, random_start=False), fgsm(model, x, y, 0.1), atol=1e-6, rtol=0
    )


def test_pgd_l2_step_is_a_normalised_gradient_step(digits):
    model, x, y = digits
    g = _loss_grad(model, x, y)
    step = 0.3 * g / (g.flatten(1).norm(dim=1).view(-1, 1, 1, 1) + 1e-10)
    expected = torch.clamp(x + step, 0, 1)  # the L2 ball of radius 5 does not bind
    got = pgd(model, x, y, 5.0, 0.3, 1, random_start=False, norm="2")
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-7)


def test_more_pgd_steps_are_never_worse_than_fgsm(digits):
    model, x, y = digits
    eps = 0.1
    with torch.no_grad():
        loss_fgsm = F.cross_entropy(model(fgsm(model, x, y, eps)), y)
        x_pgd = pgd(model, x, y, eps, eps / 8, 20, random_start=False)
        loss_pgd = F.cross_entropy(model(x_pgd), y)
        acc_fgsm = (model(fgsm(model, x, y, eps)).argmax(1) == y).float().mean()
        acc_pgd = (model(x_pgd).argmax(1) == y).float().mean()
    assert loss_pgd > loss_fgsm
    assert acc_pgd <= acc_fgsm


def test_targeted_pgd_reaches_the_target(digits):
    model, x, y = digits
    target = (y + 3) % 10
    x_t = PGD(model, eps=0.3, alpha=0.03, steps=20, targeted=True, seed=0)(x, target)
    x_u = PGD(model, eps=0.3, alpha=0.03, steps=20, seed=0)(x, y)
    with torch.no_grad():
        hit_targeted = (model(x_t).argmax(1) == target).float().mean()
        hit_untargeted = (model(x_u).argmax(1) == target).float().mean()
    assert hit_targeted > 0.9
    assert hit_targeted > hit_untargeted + 0.5


def test_pgd_seed_makes_the_random_start_reproducible(digits):
    model, x, y = digits
    a = PGD(model, eps=0.2, alpha=0.05, steps=2, seed=3)(x, y)
    b = PGD(model, eps=0.2, alpha=0.05, steps=2, seed=3)(x, y)
    c = PGD(model, eps=0.2, alpha=0.05, steps=2, seed=4)(x, y)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    torch.testing.assert_close(
        pgd(model, x, y, 0.2, 0.05, 2, seed=g1), pgd(model, x, y, 0.2, 0.05, 2, seed=g2)
    )


def test_pgd_norm_spellings_agree(digits):
    model, x, y = digits
    ref = pgd(model, x, y, 1.0, 0.2, 3, random_start=False, norm="2")
    for norm in (2, 2.0, "l2"):
        torch.testing.assert_close(
            pgd(model, x, y, 1.0, 0.2, 3, random_start=False, norm=norm), ref
        )
    ref = pgd(model, x, y, 0.1, 0.02, 3, random_start=False)
    for norm in (float("inf"), np.inf, "Linf"):
        torch.testing.assert_close(
            pgd(model, x, y, 0.1, 0.02, 3, random_start=False, norm=norm), ref
        )


# --------------------------------------------------------------------------- DeepFool
def test_deepfool_on_a_linear_model_is_one_closed_form_step():
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal((5, 8)), rng.standard_normal(5)
    model = _linear_model(w, b)
    x0 = rng.standard_normal((30, 8))
    atk = DeepFool(model, n_classes=5, overshoot=0.02, clamp=None)
    got = atk(torch.as_tensor(x0)).numpy()
    np.testing.assert_allclose(got - x0, linear_min_norm_l2(w, b, x0, overshoot=0.02), atol=1e-12)
    assert (atk.n_iter == 1).all()  # one step crosses a linear boundary
    assert ((got @ w.T + b).argmax(1) != (x0 @ w.T + b).argmax(1)).all()


def test_deepfool_fools_a_small_mlp_in_a_few_steps(digits):
    model, x, _ = digits
    atk = DeepFool(model)
    x_adv = atk(x)
    with torch.no_grad():
        fooled = (model(x_adv).argmax(1) != model(x).argmax(1)).float().mean()
    assert fooled == 1.0
    assert atk.n_iter.float().mean() < 6
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    # it found small perturbations: far smaller than the images themselves
    ratio = (x_adv - x).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1)
    assert ratio.median() < 0.2


def test_deepfool_overshoot_zero_stops_at_a_tie_and_candidates_limit_the_targets():
    rng = np.random.default_rng(2)
    w, b = rng.standard_normal((4, 5)), rng.standard_normal(4)
    model = _linear_model(w, b)
    x0 = torch.as_tensor(rng.standard_normal((10, 5)))
    # with only the top-2 classes as candidates, the step goes to the runner-up's boundary
    got = deepfool(model, x0, n_classes=2, overshoot=0.0, steps=1, clamp=None).numpy()
    s0 = x0.numpy() @ w.T + b
    top2 = np.argsort(s0, axis=1)[:, -2:]
    s1 = got @ w.T + b
    rows = np.arange(10)
    np.testing.assert_allclose(s1[rows, top2[:, 0]], s1[rows, top2[:, 1]], atol=1e-10)


def test_deepfool_functional_equals_object(digits):
    model, x, _ = digits
    torch.testing.assert_close(
        deepfool(model, x, overshoot=0.05), DeepFool(model, overshoot=0.05)(x)
    )


# --------------------------------------------------------------------------- torchattacks
@pytest.fixture(scope="module")
def torchattacks():
    return pytest.importorskip("torchattacks")


@pytest.mark.parametrize("eps", [0.05, 0.2])
def test_pgd_equals_torchattacks_pgd_without_random_start(digits, torchattacks, eps):
    model, x, y = digits
    ref = torchattacks.PGD(model, eps=eps, alpha=0.01, steps=15, random_start=False)(x, y)
    got = PGD(model, eps=eps, alpha=0.01, steps=15, random_start=False)(x, y)
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-6)


def test_pgd_l2_equals_torchattacks_pgdl2_without_random_start(digits, torchattacks):
    model, x, y = digits
    ref = torchattacks.PGDL2(model, eps=1.0, alpha=0.1, steps=15, random_start=False)(x, y)
    got = pgd(model, x, y, 1.0, 0.1, 15, random_start=False, norm="2")
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-6)


def test_fgsm_equals_torchattacks_fgsm(digits, torchattacks):
    model, x, y = digits
    torch.testing.assert_close(FGSM(model, eps=0.1)(x, y), torchattacks.FGSM(model, 0.1)(x, y))


def test_pgd_random_start_success_rate_is_the_peers(digits, torchattacks):
    model, x, y = digits
    torch.manual_seed(0)
    ref = torchattacks.PGD(model, eps=0.1, alpha=0.01, steps=20)(x, y)
    got = PGD(model, eps=0.1, alpha=0.01, steps=20, seed=0)(x, y)
    with torch.no_grad():
        ours = (model(got).argmax(1) != y).float().mean()
        peer = (model(ref).argmax(1) != y).float().mean()
    assert abs(float(ours - peer)) <= 0.05


def test_deepfool_median_norm_is_no_larger_than_the_peers(digits, torchattacks):
    """The peer clamps every step and stalls on saturated pixels; a failure counts as an
    infinite distance (no adversarial example found)."""
    model, x, _ = digits
    x = x[:24]
    with torch.no_grad():
        label = model(x).argmax(1)
    ref = torchattacks.DeepFool(model, steps=50, overshoot=0.02)(x, label)
    for p in model.parameters():  # the peer's backward passes leave gradients behind
        p.grad = None
    got = deepfool(model, x)

    def distances(x_adv):
        with torch.no_grad():
            fooled = model(x_adv).argmax(1) != label
        d = (x_adv - x).flatten(1).norm(dim=1)
        return torch.where(fooled, d, torch.inf), fooled

    ours, ours_ok = distances(got)
    peer, peer_ok = distances(ref)
    assert ours_ok.all() and peer_ok.float().mean() < 0.9
    assert ours.median() <= peer.median()
    both = ours_ok & peer_ok  # where both succeed, ours is within a few percent of the peer
    assert ours[both].median() <= 1.1 * peer[both].median()


# ------------------------------------------------------------------ hand-written references
def _pgd_by_hand(model, x, y, eps, alpha, steps):
    """The L-inf PGD iteration written out (no random start), independent of dlcourse."""
    adv = x.clone()
    for _ in range(steps):
        g = _loss_grad(model, adv, y)
        adv = adv + alpha * g.sign()
        adv = torch.clamp(x + torch.clamp(adv - x, -eps, eps), 0, 1)
    return adv


def test_pgd_equals_the_iteration_written_out(digits):
    model, x, y = digits
    got = pgd(model, x, y, 0.1, 0.02, 12, random_start=False)
    torch.testing.assert_close(got, _pgd_by_hand(model, x, y, 0.1, 0.02, 12), rtol=0, atol=1e-6)


def _deepfool_clamping_every_step(model, x, steps=50, overshoot=0.02):
    """DeepFool as attack libraries often write it: the image is clamped after every step and
    the overshoot multiplies each step (batched here; all classes are candidates)."""
    with torch.no_grad():
        label = model(x).argmax(1)
    adv = x.clone()
    for _ in range(steps):
        adv.requires_grad_(True)
        out = model(adv)
        active = out.argmax(1) == label
        if not active.any():
            break
        grads = torch.stack(
            [torch.autograd.grad(out[:, j].sum(), adv, retain_graph=True)[0] for j in range(10)],
            dim=1,
        ).flatten(2)
        f = out.detach()
        w = grads - grads[torch.arange(len(x)), label][:, None]
        gap = (f - f.gather(1, label[:, None])).abs()
        norm = w.norm(dim=2)
        dist = torch.where(norm > 0, gap / norm.clamp_min(1e-30), torch.inf)
        j = dist.argmin(1)
        rows = torch.arange(len(x))
        step = (gap[rows, j] / norm[rows, j].clamp_min(1e-30) ** 2)[:, None] * w[rows, j]
        step = step.view_as(x) * active.view(-1, *[1] * (x.ndim - 1))
        adv = torch.clamp(adv.detach() + (1 + overshoot) * step, 0, 1)
    return adv.detach(), label


def test_deepfool_does_not_stall_where_clamping_every_step_does(digits):
    model, x, _ = digits
    x = x[:60]
    stalled, label = _deepfool_clamping_every_step(model, x)
    with torch.no_grad():
        rate_clamped = (model(stalled).argmax(1) != label).float().mean()
        rate_ours = (model(deepfool(model, x)).argmax(1) != label).float().mean()
    assert rate_ours == 1.0
    assert rate_clamped < 0.9, rate_clamped
