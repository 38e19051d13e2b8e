"""dlcourse.embed.losses and .siamese: the hinge embedding loss, the triplet loss, pairs, training.

References: a brute-force loop over pairs, PyTorch's ``triplet_margin_loss``, finite differences
(``torch.autograd.gradcheck``) and the closed-form gradient at and around the margin.
"""

import numpy as np
import pytest
import torch

from dlcourse._validation import InvalidParameterError
from dlcourse.embed import (
    SiameseNet,
    fit_siamese,
    hardest_negatives,
    hinge_embedding_loss,
    knn_accuracy,
    pair_distances,
    pair_sampler,
    triplet_loss,
)

pytestmark = pytest.mark.timeout(120)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks: one thread is fastest (threads wait for each other on a busy machine)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _brute_hinge(z1, z2, same, margin, lam):
    out = []
    for a, b, s in zip(z1.tolist(), z2.tolist(), same.tolist(), strict=True):
        d = float(np.linalg.norm(np.subtract(a, b)))
        out.append(d * d if s else lam * max(0.0, margin - d) ** 2)
    return np.array(out)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("margin,lam", [(1.0, 1.0), (2.5, 0.3), (0.0, 1.0)])
def test_hinge_embedding_loss_matches_a_loop_over_pairs(device, margin, lam):
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(40, 3, generator=g), torch.randn(40, 3, generator=g)
    same = torch.randint(0, 2, (40,), generator=g)
    want = _brute_hinge(z1, z2, same, margin, lam)
    args = (z1.to(device), z2.to(device), same.to(device), margin, lam)
    got = hinge_embedding_loss(*args, reduction="none")
    assert got.device.type == device and got.dtype == torch.float32
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=1e-5, atol=1e-6)
    assert float(hinge_embedding_loss(*args)) == pytest.approx(want.mean(), rel=1e-5)
    assert float(hinge_embedding_loss(*args, reduction="sum")) == pytest.approx(
        want.sum(), rel=1e-5
    )


def test_hinge_embedding_loss_gradient_by_finite_differences_and_at_the_margin():
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(12, 4, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(12, 4, generator=g, dtype=torch.float64, requires_grad=True)
    same = torch.tensor([0, 1] * 6)
    assert torch.autograd.gradcheck(
        lambda a, b: hinge_embedding_loss(a, b, same, 3.0, 0.7), (z1, z2)
    )
    # a negative pair exactly at the margin: the squared hinge has a zero gradient there
    for d, want_grad in [(2.0, 0.0), (2.0 + 1e-3, 0.0), (1.0, -2 * (2.0 - 1.0))]:
        a = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
        b = torch.tensor([[d, 0.0]], dtype=torch.float64)
        hinge_embedding_loss(a, b, [0], margin=2.0).backward()
        # dL/da_x = 2 (M - d) * d(d)/da_x = 2 (M - d) * (-1) for d < M
        assert a.grad[0, 0].item() == pytest.approx(-want_grad, abs=1e-12)
    # a positive pair: gradient 2 (z1 - z2)
    a = torch.tensor([[1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    hinge_embedding_loss(a, torch.zeros(1, 2, dtype=torch.float64), [1]).backward()
    np.testing.assert_allclose(a.grad.numpy(), [[2.0, 4.0]])


def test_hinge_embedding_loss_leaves_its_inputs_alone_and_checks_them():
    z1, z2 = torch.randn(5, 2), torch.randn(5, 2)
    before = (z1.clone(), z2.clone())
    hinge_embedding_loss(z1, z2, np.array([1, 0, 1, 0, 1]), 1.0)
    assert torch.equal(z1, before[0]) and torch.equal(z2, before[1])
    with pytest.raises(InvalidParameterError, match="'margin' argument.* >= 0"):
        hinge_embedding_loss(z1, z2, [1] * 5, margin=-1.0)
    with pytest.raises(InvalidParameterError, match="same number of examples"):
        hinge_embedding_loss(z1, z2[:4], [1] * 5)
    with pytest.raises(InvalidParameterError, match="one 0/1 label per pair"):
        hinge_embedding_loss(z1, z2, [1] * 4)
    with pytest.raises(InvalidParameterError, match="only 0 and 1"):
        hinge_embedding_loss(z1, z2, [2] * 5)
    with pytest.raises(InvalidParameterError, match="'z1' argument"):
        hinge_embedding_loss(z1.numpy(), z2, [1] * 5)


@pytest.mark.parametrize("device", DEVICES)
def test_triplet_loss_matches_pytorch(device):
    g = torch.Generator().manual_seed(2)
    a, p, n = (torch.randn(30, 5, generator=g).to(device) for _ in range(3))
    for margin in (0.1, 0.5, 2.0):
        want = torch.nn.functional.triplet_margin_loss(
            a, p, n, margin=margin, eps=0.0, reduction="none"
        )
        got = triplet_loss(a, p, n, margin, reduction="none")
        np.testing.assert_allclose(got.cpu().numpy(), want.cpu().numpy(), rtol=1e-5, atol=1e-6)
    sq = triplet_loss(a, p, n, 1.0, squared=True, reduction="none")
    want = torch.relu(((a - p) ** 2).sum(1) - ((a - n) ** 2).sum(1) + 1.0)
    np.testing.assert_allclose(sq.cpu().numpy(), want.cpu().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(InvalidParameterError, match="same number of examples"):
        triplet_loss(a, p, n[:-1], 1.0)
    with pytest.raises(InvalidParameterError, match="'margin' argument"):
        triplet_loss(a, p, n, -0.1)


def test_hardest_negatives_by_brute_force():
    g = torch.Generator().manual_seed(3)
    z, y = torch.randn(25, 3, generator=g), torch.randint(0, 4, (25,), generator=g)
    got = hardest_negatives(z, y)
    D = torch.cdist(z, z)
    for i in range(25):
        others = [j for j in range(25) if y[j] != y[i]]
        assert got[i].item() == min(others, key=lambda j: D[i, j].item())
    assert hardest_negatives(z, torch.zeros(25)).eq(-1).all()
    with pytest.raises(InvalidParameterError, match="one label per row"):
        hardest_negatives(z, y[:3])


def test_pair_distances_is_the_euclidean_norm():
    z1, z2 = torch.randn(7, 3), torch.randn(7, 3)
    np.testing.assert_allclose(pair_distances(z1, z2), torch.linalg.norm(z1 - z2, dim=1), rtol=1e-6)


def test_pair_sampler_draws_what_it_says_and_is_deterministic():
    y = np.repeat(np.arange(5), [1, 3, 4, 10, 2])
    i, j, same = pair_sampler(np.zeros((20, 2)), y, 1001, seed=0, pos_fraction=0.3)
    assert i.shape == j.shape == same.shape == (1001,)
    assert int(same.sum()) == round(0.3 * 1001)
    assert np.all(i != j)
    np.testing.assert_array_equal(y[i] == y[j], same == 1)
    assert not np.isin(i[same == 1], [0]).any()  # class 0 has one member: no positive pair
    i2, j2, _ = pair_sampler(np.zeros((20, 2)), y, 1001, seed=0, pos_fraction=0.3)
    assert np.array_equal(i, i2) and np.array_equal(j, j2)
    # the partners of a positive are spread over its class (not always the same one)
    pos3 = j[(same == 1) & (y[i] == 3)]
    assert len(set(pos3.tolist())) == 10
    state = np.random.get_state()[1].copy()  # noqa: NPY002 - the global RNG is the point
    pair_sampler(np.zeros((20, 2)), y, 10, seed=1)
    assert np.array_equal(state, np.random.get_state()[1])  # noqa: NPY002 - untouched
    with pytest.raises(InvalidParameterError, match="same number of rows"):
        pair_sampler(np.zeros((3, 2)), y, 5, seed=0)
    with pytest.raises(InvalidParameterError, match="no label in 'y' occurs twice"):
        pair_sampler(np.zeros((3, 2)), [0, 1, 2], 5, seed=0)


def test_a_siamese_net_learns_an_embedding_that_separates_classes():
    from sklearn.datasets import make_blobs

    x, y = make_blobs(400, n_features=10, centers=4, cluster_std=3.0, random_state=0)
    x = torch.tensor(x, dtype=torch.float32)
    torch.manual_seed(0)
    encoder = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    net = SiameseNet(encoder)
    net.eval()
    z0 = net.embed(x)
    before = knn_accuracy(z0[:300], y[:300], z0[300:], y[300:], k=5)
    losses = fit_siamese(net, x[:300], y[:300], n_pairs=2000, epochs=8, margin=2.0, seed=0)
    assert not net.training  # the mode is restored
    assert losses[-1] < 0.5 * losses[0]
    z = net.embed(x)
    after = knn_accuracy(z[:300], y[:300], z[300:], y[300:], k=5)
    raw = knn_accuracy(x[:300], y[:300], x[300:], y[300:], k=5)
    assert after >= raw - 0.05 and after > before, (before, after, raw)
    # positives end up closer than negatives, on average
    i, j, same = pair_sampler(z, y, 2000, seed=5)
    d = torch.linalg.norm(z[i] - z[j], dim=1).numpy()
    assert d[same == 1].mean() < 0.5 * d[same == 0].mean()


def test_an_asymmetric_siamese_net_uses_two_encoders():
    e1, e2 = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    net = SiameseNet(e1, e2)
    x = torch.randn(4, 3)
    z1, z2 = net(x, x)
    assert torch.allclose(z1, e1(x)) and torch.allclose(z2, e2(x))
    assert not torch.allclose(z1, z2)
