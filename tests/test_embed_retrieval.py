"""dlcourse.embed.retrieval and .analogies: k-NN accuracy and precision@k, the shapes analogies.

References: scikit-learn's ``KNeighborsClassifier`` and ``NearestNeighbors``, brute force.
"""

import numpy as np
import pytest
import torch

from dlcourse._validation import InvalidParameterError
from dlcourse.embed import (
    VisualAnalogyNet,
    analogy_accuracy,
    analogy_quadruples,
    fit_visual_analogy,
    knn_accuracy,
    nearest_indices,
    precision_at_k,
    shapes_dataset,
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


@pytest.mark.parametrize("k", [1, 3, 6, 15])
def test_knn_accuracy_matches_scikit_learn(k):
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    z_tr, z_te = rng.standard_normal((200, 5)), rng.standard_normal((80, 5))
    y_tr, y_te = rng.integers(0, 4, 200), rng.integers(0, 4, 80)
    z_tr[:, 0] += y_tr  # some signal
    z_te[:, 0] += y_te
    want = KNeighborsClassifier(n_neighbors=k).fit(z_tr, y_tr).score(z_te, y_te)
    assert knn_accuracy(z_tr, y_tr, z_te, y_te, k=k) == pytest.approx(want)
    for device in DEVICES:
        t = [torch.tensor(a, device=device) for a in (z_tr, y_tr, z_te, y_te)]
        assert knn_accuracy(*t, k=k) == pytest.approx(want)


def test_precision_at_k_matches_nearest_neighbors():
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(1)
    z, y = rng.standard_normal((150, 4)), rng.integers(0, 3, 150)
    z[:, 1] += 2 * y
    idx = NearestNeighbors(n_neighbors=11).fit(z).kneighbors(z, return_distance=False)[:, 1:]
    want = (y[idx] == y[:, None]).mean()
    assert precision_at_k(z, y, k=10) == pytest.approx(want)
    np.testing.assert_array_equal(nearest_indices(z, z, 10, exclude_self=True), idx)
    q, yq = rng.standard_normal((20, 4)), rng.integers(0, 3, 20)
    idx = NearestNeighbors(n_neighbors=5).fit(z).kneighbors(q, return_distance=False)
    assert precision_at_k(q, yq, z, y, k=5) == pytest.approx((y[idx] == yq[:, None]).mean())
    with pytest.raises(InvalidParameterError, match="'k' argument"):
        precision_at_k(z, y, k=150)
    with pytest.raises(InvalidParameterError, match="one label per embedding"):
        knn_accuracy(z, y[:-1], z, y)
    with pytest.raises(InvalidParameterError, match="both 'z_db' and 'y_db'"):
        precision_at_k(z, y, z_db=z, k=3)


def test_shapes_dataset_has_every_combination_and_distinct_images():
    images, attributes = shapes_dataset()
    assert images.shape == (192, 400) and images.dtype == np.float32
    assert len({tuple(a) for a in attributes}) == 192
    assert images.min() >= 0 and images.max() <= 1
    assert len({im.tobytes() for im in images}) == 192  # no two images alike
    # bigger shapes cover more pixels
    area = images.sum(1)
    assert all(
        area[attributes[:, 0] == s].mean() < area[attributes[:, 0] == s + 1].mean() for s in (0, 1)
    )


def test_analogy_quadruples_change_one_attribute_by_the_same_step():
    _, A = shapes_dataset()
    q = analogy_quadruples(A, 500, seed=0)
    assert q.shape == (500, 4)
    d_ab, d_cd = A[q[:, 1]] - A[q[:, 0]], A[q[:, 3]] - A[q[:, 2]]
    np.testing.assert_array_equal(d_ab, d_cd)
    assert ((d_ab != 0).sum(1) == 1).all()
    assert (q[:, 0] != q[:, 2]).all()
    assert len(np.unique(np.argmax(d_ab != 0, axis=1))) == 4  # all attributes get changed
    np.testing.assert_array_equal(q, analogy_quadruples(A, 500, seed=0))
    with pytest.raises(InvalidParameterError, match="every combination"):
        analogy_quadruples(A[:-1], 5, seed=0)


def test_a_visual_analogy_net_learns_to_solve_analogies():
    images, A = shapes_dataset()
    x = torch.tensor(images)
    train, test = analogy_quadruples(A, 3000, seed=0), analogy_quadruples(A, 300, seed=1)
    torch.manual_seed(0)
    enc = torch.nn.Sequential(torch.nn.Linear(400, 128), torch.nn.ReLU(), torch.nn.Linear(128, 16))
    dec = torch.nn.Sequential(torch.nn.Linear(16, 128), torch.nn.ReLU(), torch.nn.Linear(128, 400))
    net = VisualAnalogyNet(enc, dec)
    hist = fit_visual_analogy(net, x, train, epochs=10, seed=0)
    assert hist[-1] < 0.5 * hist[0]
    with torch.no_grad():
        pred = net(x[test[:, 0]], x[test[:, 1]], x[test[:, 2]])
    acc = analogy_accuracy(pred, x, test[:, 3])
    pixel = analogy_accuracy(x[test[:, 1]] - x[test[:, 0]] + x[test[:, 2]], x, test[:, 3])
    assert acc > 0.8 and acc > pixel + 0.2, (acc, pixel)
