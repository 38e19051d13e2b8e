"""dlcourse.random_nets hashing and distance ratios.

References: scipy's Hamming distance, scikit-learn's ``average_precision_score`` per query,
brute-force loops for the mAP and the distance ratios, the LSH collision probability
theta/pi, and random LSH as the baseline a trained hash must beat.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from sklearn.metrics import average_precision_score

from dlcourse.data import load_digits
from dlcourse.random_nets import (
    LearnedHash,
    average_precisions,
    distance_ratios,
    hamming_distances,
    pairwise_hash_loss,
    retrieval_map,
    sign_hash,
    train_hash,
)

pytestmark = pytest.mark.timeout(180)
CUDA = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")),
]


def _codes(n, b, seed):
    return np.random.default_rng(seed).integers(0, 2, size=(n, b)).astype(np.uint8)


# ----------------------------------------------------------------------------- sign hash
def test_sign_hash_collision_probability_is_angle_over_pi():
    theta = 1.0
    x = np.array([[1.0, 0.0, 0.0], [math.cos(theta), math.sin(theta), 0.0]])
    codes = sign_hash(x, 20000, seed=0)
    frac = np.mean(codes[0] != codes[1])
    se = math.sqrt(theta / math.pi * (1 - theta / math.pi) / 20000)
    assert abs(frac - theta / math.pi) < 5 * se


def test_sign_hash_seed_mean_and_inputs_untouched():
    x = np.random.default_rng(0).random((10, 5))
    before = x.copy()
    a, b = sign_hash(x, 16, seed=1), sign_hash(x, 16, seed=1)
    assert np.array_equal(a, b) and a.dtype == np.uint8 and set(np.unique(a)) <= {0, 1}
    assert np.array_equal(x, before)
    mu = x.mean(0)
    A = np.random.default_rng(1).standard_normal((5, 16))
    assert np.array_equal(sign_hash(x, 16, seed=1, mean=mu), ((x - mu) @ A >= 0))
    with pytest.raises(ValueError, match="'n_bits' argument.* an integer >= 1"):
        sign_hash(x, 0)
    with pytest.raises(ValueError, match="'mean' argument"):
        sign_hash(x, 4, mean=np.zeros(3))


@pytest.mark.parametrize("device", CUDA)
def test_sign_hash_and_hamming_on_tensors(device):
    x = np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)
    t = torch.from_numpy(x).to(device)
    codes_t = sign_hash(t, 12, seed=2)
    assert isinstance(codes_t, torch.Tensor) and codes_t.device == t.device
    assert np.array_equal(codes_t.cpu().numpy(), sign_hash(x, 12, seed=2))
    D = hamming_distances(codes_t, codes_t)
    assert isinstance(D, torch.Tensor) and D.device == t.device and D.dtype == torch.int64
    assert torch.equal(
        D.cpu(), torch.from_numpy(hamming_distances(codes_t.cpu().numpy(), codes_t.cpu().numpy()))
    )


# ----------------------------------------------------------------------------- Hamming
def test_hamming_distances_against_scipy_and_pm1_codes():
    q, db = _codes(6, 24, 0), _codes(9, 24, 1)
    want = np.rint(cdist(q, db, metric="hamming") * 24).astype(np.int64)
    got = hamming_distances(q, db)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(
        hamming_distances(2 * q.astype(int) - 1, 2 * db.astype(int) - 1), want
    )
    assert np.all(hamming_distances(db, db).diagonal() == 0)
    np.testing.assert_array_equal(hamming_distances(db, q), want.T)  # symmetric


def test_hamming_distances_errors():
    with pytest.raises(ValueError, match="binary codes"):
        hamming_distances(np.array([[0.2, 1.0]]), np.array([[0, 1]]))
    with pytest.raises(ValueError, match="same length"):
        hamming_distances(_codes(2, 4, 0), _codes(2, 5, 0))
    with pytest.raises(ValueError, match="at least 1 bit"):
        hamming_distances(np.zeros((2, 0)), np.zeros((2, 0)))
    with pytest.raises(ValueError, match="'codes_q' argument"):
        hamming_distances(np.zeros(4), np.zeros((2, 4)))


# ----------------------------------------------------------------------------- mAP
def test_average_precisions_equal_sklearn_per_query_with_ties():
    rng = np.random.default_rng(0)
    q, db = _codes(30, 8, 2), _codes(200, 8, 3)  # 8 bits: many ties
    yq, ydb = rng.integers(0, 4, 30), rng.integers(0, 4, 200)
    D = hamming_distances(q, db)
    got = average_precisions(D, yq, ydb)
    for i in range(30):
        want = average_precision_score(ydb == yq[i], -D[i])
        assert got[i] == pytest.approx(want, abs=1e-12)
    assert retrieval_map(q, db, yq, ydb) == pytest.approx(np.mean(got), abs=1e-15)


def test_average_precision_by_brute_force_without_ties():
    rng = np.random.default_rng(1)
    D = rng.random((5, 40))
    yq, ydb = rng.integers(0, 3, 5), rng.integers(0, 3, 40)
    got = average_precisions(D, yq, ydb)
    for i in range(5):
        order = np.argsort(D[i])
        rel = ydb[order] == yq[i]
        precisions = [rel[: r + 1].mean() for r in range(40) if rel[r]]
        assert got[i] == pytest.approx(np.mean(precisions), abs=1e-12)


def test_retrieval_map_limits_and_errors():
    codes = _codes(20, 16, 0)
    labels = np.arange(20) % 2
    ideal = np.where(labels[:, None] == 1, 1, 0) * np.ones((1, 16), dtype=np.uint8)
    assert retrieval_map(ideal, ideal, labels, labels) == 1.0
    ap = average_precisions(hamming_distances(codes, codes), [5] + [0] * 19, labels)
    assert np.isnan(ap[0]) and np.all(np.isfinite(ap[1:]))
    with pytest.raises(ValueError, match="No query has a relevant item"):
        retrieval_map(codes, codes, np.full(20, 9), labels)
    with pytest.raises(ValueError, match="'labels_db' argument must be a 1-D array of 20"):
        retrieval_map(codes, codes, labels, labels[:5])


# ----------------------------------------------------------------------------- learned hash
def test_pairwise_hash_loss_closed_form_and_gradient():
    o = torch.tensor(
        [[0.5, -0.2], [0.1, 0.3], [-0.4, 0.9]], dtype=torch.float64, requires_grad=True
    )
    y = torch.tensor([0, 0, 1])
    loss = pairwise_hash_loss(o, y, quantization=0.0)
    brute = 0.0
    for i in range(3):
        for j in range(3):
            if i != j:
                th = 0.5 * float(o[i].detach() @ o[j].detach())
                brute += math.log1p(math.exp(th)) - int(y[i] == y[j]) * th
    assert float(loss) == pytest.approx(brute / 6, abs=1e-12)
    assert torch.autograd.gradcheck(lambda t: pairwise_hash_loss(t, y, quantization=0.0), (o,))
    with pytest.raises(ValueError, match="one label per row"):
        pairwise_hash_loss(o, torch.tensor([0, 1]))


@pytest.mark.parametrize("device", CUDA)
def test_learned_hash_beats_random_lsh_on_digits(device):
    x_tr, y_tr, x_te, y_te = load_digits()
    mu = x_tr.mean(0)
    lsh = retrieval_map(sign_hash(x_te, 12, 0, mu), sign_hash(x_tr, 12, 0, mu), y_te, y_tr)
    state = torch.random.get_rng_state()
    model = LearnedHash(64, 12, seed=0).to(device)
    assert torch.equal(state, torch.random.get_rng_state())
    model.eval()
    history = train_hash(model, x_tr, y_tr, epochs=8)
    assert history.loss[-1] < history.loss[0]
    assert not model.training  # the mode it had before training
    learned = retrieval_map(model.codes(x_te), model.codes(x_tr), y_te, y_tr)
    assert learned > lsh + 0.15
    t = torch.from_numpy(x_te).to(device)
    assert model.codes(t).device == t.device


def test_learned_hash_errors():
    with pytest.raises(ValueError, match="'n_bits' argument.* an integer >= 1"):
        LearnedHash(4, 0)


# ----------------------------------------------------------------------------- ratios
def test_distance_ratios_by_brute_force_and_scale_invariance():
    rng = np.random.default_rng(0)
    f = rng.standard_normal((25, 3))
    y = rng.integers(0, 3, 25)
    got = distance_ratios(f, y)
    intra, inter, nn_s, nn_d = [], [], [], []
    for i in range(25):
        ds = [np.linalg.norm(f[i] - f[j]) for j in range(25) if j != i and y[j] == y[i]]
        dd = [np.linalg.norm(f[i] - f[j]) for j in range(25) if y[j] != y[i]]
        intra += ds
        inter += dd
        nn_s.append(min(ds))
        nn_d.append(min(dd))
    assert got["average"] == pytest.approx(np.mean(intra) / np.mean(inter), rel=1e-9)
    assert got["boundary"] == pytest.approx(np.mean(nn_s) / np.mean(nn_d), rel=1e-9)
    scaled = distance_ratios(7.0 * f, y)
    assert scaled["average"] == pytest.approx(got["average"], rel=1e-9)
    assert scaled["boundary"] == pytest.approx(got["boundary"], rel=1e-9)
    assert distance_ratios(torch.from_numpy(f), torch.from_numpy(y)) == pytest.approx(got)


def test_distance_ratios_errors():
    with pytest.raises(ValueError, match="at least two classes"):
        distance_ratios(np.ones((3, 2)), [0, 0, 0])
    with pytest.raises(ValueError, match="at least two points each"):
        distance_ratios(np.random.default_rng(0).random((3, 2)), [0, 0, 1])
    with pytest.raises(ValueError, match="one label per row"):
        distance_ratios(np.ones((3, 2)), [0, 1])
