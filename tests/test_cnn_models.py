"""LeNet, residual and plain blocks, deep_net: shapes, parameter counts, equivalence of the
two backends, a training step, and (slow) real training on the offline MNIST-5k."""

from __future__ import annotations

import pytest
import torch

from dlcourse.cnn import LeNet, PlainBlock, ResidualBlock, deep_net, evaluate, train
from dlcourse.data import load_mnist5k
from dlcourse.utils import seed_everything

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backend", ["dlcourse", "torch"])
def test_lenet_shapes_and_parameter_count(backend, device):
    model = LeNet(backend=backend).to(device)
    assert model(torch.zeros(5, 1, 28, 28, device=device)).shape == (5, 10)
    # conv 1->6 5x5, conv 6->16 5x5, fc 256->120->84->10
    expected = (
        (6 * 25 + 6) + (16 * 6 * 25 + 16) + (256 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    )
    assert _n_params(model) == expected == 44426
    wide = LeNet(in_channels=3, n_classes=7, input_size=(32, 32), backend=backend).to(device)
    assert wide(torch.zeros(2, 3, 32, 32, device=device)).shape == (2, 7)


def test_lenet_backends_compute_the_same_function_with_the_same_weights():
    seed_everything(0)
    ours, ref = LeNet(), LeNet(backend="torch")
    ref.load_state_dict(ours.state_dict())
    x = torch.rand(8, 1, 28, 28)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-4, atol=1e-5)
    ours(x).logsumexp(1).sum().backward()
    ref(x).logsumexp(1).sum().backward()
    for p, q in zip(ours.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-3, atol=1e-5)


def test_one_sgd_step_on_a_batch_reduces_the_loss():
    seed_everything(0)
    x, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    model = LeNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss0 = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss0.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    opt.step()
    with torch.no_grad():
        loss1 = torch.nn.functional.cross_entropy(model(x), y)
    assert float(loss1) < float(loss0.detach())


@pytest.mark.parametrize("backend", ["dlcourse", "torch"])
@pytest.mark.parametrize("batch_norm", [True, False])
def test_residual_and_plain_blocks_share_the_branch(batch_norm, backend):
    seed_everything(0)
    res = ResidualBlock(4, batch_norm=batch_norm, backend=backend).eval()
    plain = PlainBlock(4, batch_norm=batch_norm, backend=backend).eval()
    plain.load_state_dict(res.state_dict())  # same parameters, same names
    x = torch.randn(3, 4, 6, 5)
    branch = res.branch(x)
    torch.testing.assert_close(res(x), torch.relu(x + branch))
    torch.testing.assert_close(plain(x), torch.relu(branch))
    assert res(x).shape == x.shape


def test_a_residual_block_with_a_zero_branch_passes_its_input_through():
    block = ResidualBlock(3).eval()
    torch.nn.init.zeros_(block.branch.bn2.weight)  # F(x) = BN with gamma 0 and beta 0: zero
    x = torch.rand(2, 3, 5, 5)  # non-negative, so ReLU(x + 0) = x
    torch.testing.assert_close(block(x), x)
    plain = PlainBlock(3).eval()
    plain.load_state_dict(block.state_dict())
    with torch.no_grad():
        assert float(plain(x).abs().max()) == 0.0  # the plain block loses the signal


@pytest.mark.parametrize("residual", [True, False])
def test_deep_net_structure(residual):
    net = deep_net(5, residual=residual, channels=4, downsample=2)
    blocks = [m for m in net if isinstance(m, (ResidualBlock, PlainBlock))]
    assert len(blocks) == 5
    assert all(isinstance(b, ResidualBlock if residual else PlainBlock) for b in blocks)
    convs = [m for m in net.modules() if hasattr(m, "weight") and m.weight.ndim == 4]
    assert len(convs) == 2 * 5 + 1  # + the linear head: 2 * n_blocks + 2 weight layers
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert deep_net(0, channels=2)(torch.zeros(1, 1, 8, 8)).shape == (1, 10)
    assert _n_params(deep_net(5, True, channels=4)) == _n_params(deep_net(5, False, channels=4))


def test_deep_plain_net_loses_the_gradient_the_residual_net_keeps():
    # at initialisation (no batch norm), the gradient reaching the first layer of a deep
    # plain stack is a product of many Jacobians and vanishes; the skips keep it alive
    seed_everything(0)
    x = torch.rand(8, 1, 10, 10)
    norms = {}
    for residual in (True, False):
        seed_everything(0)
        net = deep_net(12, residual=residual, channels=4, batch_norm=False, backend="torch")
        net(x).square().sum().backward()
        norms[residual] = float(net[0].weight.grad.norm())
    assert norms[True] > 1e3 * norms[False], norms


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: LeNet(backend="keras"), ValueError, "'backend'"),
        (lambda: LeNet(in_channels=0), ValueError, "'in_channels'"),
        (lambda: LeNet(input_size=(8, 8)), ValueError, "larger than the padded input"),
        (lambda: deep_net(-1), ValueError, "'n_blocks'"),
        (lambda: deep_net(2, downsample=0), ValueError, "'downsample'"),
        (lambda: ResidualBlock(0), ValueError, "'channels'"),
    ],
)
def test_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.slow
def test_lenet_reaches_95_percent_on_mnist5k():
    seed_everything(0)
    split = load_mnist5k(flatten=False)
    model = LeNet()
    train(model, (split.x_train, split.y_train), epochs=8, lr=2e-3, batch_size=32, progress=False)
    acc = evaluate(model, split.x_test, split.y_test)
    assert acc >= 0.95, acc


@pytest.mark.slow
def test_residual_net_trains_better_than_the_plain_net_of_the_same_depth():
    split = load_mnist5k(flatten=False)
    losses = {}
    for residual in (True, False):
        seed_everything(0)
        # torch's layers: the same network at half the cost (LeNet above trains ours)
        net = deep_net(20, residual=residual, channels=8, downsample=2, backend="torch")
        history = train(net, (split.x_train, split.y_train), epochs=2, lr=3e-3, progress=False)
        losses[residual] = history.loss[-1]
    assert losses[True] < 0.8 * losses[False], losses
