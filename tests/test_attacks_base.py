"""The Attack base class: model bookkeeping, input checks with clear errors, types, devices."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.attacks import FGSM, PGD, Attack, DeepFool, deepfool, fgsm, frozen_model, pgd


class _Net(torch.nn.Module):
    """Conv + BatchNorm + Dropout: train and eval mode give different outputs."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.drop = torch.nn.Dropout(0.5)
        self.fc = torch.nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        return self.fc(self.drop(F.relu(self.bn(self.conv(x))).flatten(1)))


def _setup(seed=0):
    torch.manual_seed(seed)
    model = _Net()
    x = torch.rand(16, 1, 8, 8)
    y = torch.randint(0, 5, (16,))
    # some history: running statistics, gradients, a frozen layer, a module in eval mode
    model.train()
    model(x).sum().backward()
    model.conv.weight.requires_grad_(False)
    model.fc.eval()
    return model, x, y


def _snapshot(model):
    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "grad": {
            n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()
        },
        "flags": {n: p.requires_grad for n, p in model.named_parameters()},
        "modes": {n: m.training for n, m in model.named_modules()},
    }


ATTACKS = {
    "fgsm": lambda m: FGSM(m, eps=0.1),
    "pgd-inf": lambda m: PGD(m, eps=0.1, alpha=0.02, steps=3, seed=0),
    "pgd-2": lambda m: PGD(m, eps=0.5, alpha=0.2, steps=3, norm="2", seed=0),
    "pgd-targeted": lambda m: PGD(m, eps=0.1, alpha=0.02, steps=3, targeted=True, seed=0),
    "deepfool": lambda m: DeepFool(m, n_classes=5, steps=5),
}


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_leaves_the_model_as_it_was(name):
    model, x, y = _setup()
    before = _snapshot(model)
    x_copy = x.clone()
    ATTACKS[name](model)(x, y)
    after = _snapshot(model)
    assert after["modes"] == before["modes"]
    assert model.training and not model.fc.training  # train mode stays train, eval stays eval
    assert after["flags"] == before["flags"]
    for k, v in before["state"].items():  # parameters and BatchNorm running statistics
        torch.testing.assert_close(after["state"][k], v, rtol=0, atol=0)
    for k, g in before["grad"].items():
        if g is None:
            assert after["grad"][k] is None
        else:
            torch.testing.assert_close(after["grad"][k], g, rtol=0, atol=0)
    torch.testing.assert_close(x, x_copy, rtol=0, atol=0)  # the input is not modified


def test_attack_runs_the_model_in_eval_mode():
    model, x, y = _setup()
    model.eval()
    expected = fgsm(model, x, y, 0.1)
    model.train()  # dropout and batch statistics would change the gradient
    torch.testing.assert_close(fgsm(model, x, y, 0.1), expected, rtol=0, atol=0)


def test_model_is_restored_when_the_attack_raises():
    model, x, _ = _setup()
    before = _snapshot(model)

    class Broken(Attack):
        needs_labels = False

        def forward(self, x, y):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Broken(model)(x)
    assert _snapshot(model)["modes"] == before["modes"]
    assert _snapshot(model)["flags"] == before["flags"]


def test_frozen_model_context():
    model, _, _ = _setup()
    with frozen_model(model):
        assert not model.training
        assert not any(p.requires_grad for p in model.parameters())
    assert model.training and model.bn.weight.requires_grad and not model.conv.weight.requires_grad


def test_attack_works_under_no_grad_and_returns_a_detached_tensor_like_x():
    model, x, y = _setup()
    with torch.no_grad():
        x_adv = pgd(model, x, y, 0.1, 0.02, 2)
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype and x_adv.device == x.device
    assert not x_adv.requires_grad and x_adv.grad_fn is None
    assert not torch.equal(x_adv, x)


def test_numpy_in_numpy_out_and_2d_inputs():
    torch.manual_seed(0)
    model = torch.nn.Linear(6, 3)
    x = np.random.default_rng(0).random((5, 6)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1])
    out = fgsm(model, x, y, 0.1)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out, fgsm(model, torch.from_numpy(x), torch.from_numpy(y), 0.1))
    assert deepfool(model, torch.from_numpy(x), n_classes=3).shape == (5, 6)


def test_float64_inputs_are_attacked_in_the_models_dtype_and_returned_as_float64():
    model, x, y = _setup()
    out = fgsm(model, x.double(), y, 0.1)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out.float(), fgsm(model, x, y, 0.1))


def test_repr_shows_the_parameters():
    model = torch.nn.Linear(2, 2)
    assert repr(FGSM(model, eps=0.2)) == "FGSM(eps=0.2, targeted=False)"
    assert repr(PGD(model)) == (
        "PGD(eps=0.3, alpha=0.01, steps=40, random_start=True, norm='inf', targeted=False, "
        "seed=None)"
    )
    assert repr(DeepFool(model)) == "DeepFool(n_classes=10, overshoot=0.02, steps=50)"


# --------------------------------------------------------------------------- errors
def test_clear_errors_for_bad_arguments():
    model, x, y = _setup()
    with pytest.raises(ValueError, match="'eps' argument.* must be a real number >= 0"):
        FGSM(model, eps=-0.1)
    with pytest.raises(ValueError, match="'eps'"):
        fgsm(model, x, y, -1)
    with pytest.raises(ValueError, match="'alpha' argument.* must be a real number > 0"):
        PGD(model, alpha=0.0)
    with pytest.raises(ValueError, match="'steps' argument.* must be an integer >= 1"):
        PGD(model, steps=0)
    with pytest.raises(ValueError, match="'steps'"):
        pgd(model, x, y, 0.1, 0.01, 2.5)
    with pytest.raises(ValueError, match="'norm' argument.* must be 'inf'"):
        PGD(model, norm="1")
    with pytest.raises(ValueError, match="'norm'"):
        PGD(model, norm=1)
    with pytest.raises(ValueError, match="'steps'"):
        DeepFool(model, steps=0)
    with pytest.raises(ValueError, match="'n_classes'"):
        DeepFool(model, n_classes=1)
    with pytest.raises(ValueError, match="'overshoot'"):
        DeepFool(model, overshoot=-0.5)
    with pytest.raises(ValueError, match="'clamp'"):
        FGSM(model, clamp=(1, 0))
    with pytest.raises(TypeError, match="'model' argument.* must be a torch.nn.Module"):
        FGSM("not a model")
    with pytest.raises(TypeError, match="'eps'"):
        FGSM(model, eps="big")


def test_clear_errors_for_bad_inputs():
    model, x, y = _setup()
    atk = FGSM(model, eps=0.1)
    with pytest.raises(ValueError, match=r"'y' argument.* must be of shape \(16,\)"):
        atk(x, y[:10])
    with pytest.raises(ValueError, match=r"labels in \[0, 5\).*Got values in \[1, 7\]"):
        atk(x, torch.where(y == 0, 7, y))
    with pytest.raises(ValueError, match=r"labels in \[0, 5\)"):
        atk(x, y - 1)
    with pytest.raises(ValueError, match=r"valid range \[0.0, 1.0\]"):
        atk(x * 2, y)
    with pytest.raises(ValueError, match=r"valid range"):
        atk(x - 0.5, y)
    with pytest.raises(TypeError, match="floating-point"):
        atk((x * 255).to(torch.uint8), y)
    with pytest.raises(TypeError, match="integer labels"):
        atk(x, y.float())
    with pytest.raises(ValueError, match="needs labels"):
        atk(x)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        atk(x[0, 0, 0], y[:1])
    with pytest.raises(TypeError, match="'x' argument.* must be a torch tensor"):
        atk([[0.5]], y[:1])
    with pytest.raises(ValueError, match="NaN"):
        atk(torch.full_like(x, float("nan")), y)
    # clamp=None lifts the range check
    assert FGSM(model, eps=0.1, clamp=None)(x * 2, y).max() > 1


# --------------------------------------------------------------------------- CUDA
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")
@pytest.mark.parametrize("name", ["fgsm", "pgd-inf", "pgd-2", "deepfool"])
def test_cuda_gives_the_cpu_result(name):
    model, x, y = _setup()
    model.eval()
    make = {
        "fgsm": lambda m: FGSM(m, eps=0.1),
        "pgd-inf": lambda m: PGD(m, eps=0.1, alpha=0.02, steps=5, random_start=False),
        "pgd-2": lambda m: PGD(m, eps=0.5, alpha=0.2, steps=5, norm="2", random_start=False),
        "deepfool": lambda m: DeepFool(m, n_classes=5),
    }[name]
    cpu = make(model)(x, y)
    model.cuda()
    gpu = make(model)(x.cuda(), y.cuda())
    assert gpu.device.type == "cuda"
    # a sign can flip where a gradient entry is ~0, so compare the bulk, not every pixel
    close = (gpu.cpu() - cpu).abs() <= 1e-4
    assert close.float().mean() > 0.99
    # a CPU batch attacked on the GPU model comes back on the CPU
    assert make(model)(x, y).device.type == "cpu"


def test_renamed_arguments_still_work_for_one_release_and_warn():
    """num_classes/max_iter (DeepFool) and generator (PGD) are the old names of
    n_classes/steps and seed: they warn and give the same result."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    x, y = torch.rand(5, 4), torch.tensor([0, 1, 2, 0, 1])
    with pytest.warns(FutureWarning, match="'num_classes' argument of .*deprecated"):
        with pytest.warns(FutureWarning, match="'max_iter' argument of deepfool"):
            old = deepfool(model, x, num_classes=3, max_iter=5, clamp=None)
    assert torch.equal(old, deepfool(model, x, n_classes=3, steps=5, clamp=None))
    with pytest.warns(FutureWarning, match="'generator' argument of pgd is deprecated"):
        old = pgd(model, x, y, 0.1, 0.02, 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(old, pgd(model, x, y, 0.1, 0.02, 3, seed=torch.Generator().manual_seed(0)))
    assert torch.equal(old, PGD(model, 0.1, 0.02, 3, seed=torch.Generator().manual_seed(0))(x, y))


@pytest.mark.parametrize("cls, fn", [(PGD, pgd), (FGSM, fgsm), (DeepFool, deepfool)])
def test_function_and_class_forms_take_the_same_arguments_and_defaults(cls, fn):
    import inspect

    cls_params = inspect.signature(cls.__init__).parameters
    fn_params = inspect.signature(fn).parameters
    shared = [k for k in cls_params if k not in ("self", "model")]
    assert shared == [k for k in fn_params if k not in ("model", "x", "y")]
    for k in shared:
        assert cls_params[k].default == fn_params[k].default, k
