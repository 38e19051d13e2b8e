"""Tests of the self-supervised pipeline: views, InfoNCE pretraining, linear probes, baseline."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from dlcourse.data import load_digits
from dlcourse.ebm import (
    encode,
    label_subset,
    linear_probe,
    pretrain_info_nce,
    random_affine,
    supervised_baseline,
)


def test_label_subset_is_balanced_and_seeded():
    y = np.repeat(np.arange(10), [50, 60, 70, 80, 90, 100, 110, 120, 130, 140])
    idx = label_subset(y, 0.1, seed=3)
    np.testing.assert_array_equal(np.bincount(y[idx]), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
    np.testing.assert_array_equal(idx, label_subset(y, 0.1, seed=3))
    assert not np.array_equal(idx, label_subset(y, 0.1, seed=4))
    assert len(np.unique(idx)) == len(idx)
    np.testing.assert_array_equal(np.bincount(y[label_subset(y, 0.001)]), np.ones(10))
    for bad in [0.0, -0.1, 1.5]:
        with pytest.raises(ValueError, match="fraction"):
            label_subset(y, bad)
    with pytest.raises(ValueError, match="integer class labels"):
        label_subset(y.astype(float), 0.1)


def test_linear_probe_is_a_logistic_regression_on_the_labelled_subset():
    d = load_digits(seed=0)
    acc = linear_probe(lambda t: t, d.x_train, d.y_train, 0.1, x_test=d.x_test, y_test=d.y_test)
    idx = label_subset(d.y_train, 0.1, seed=0)
    scaler = StandardScaler().fit(d.x_train[idx])
    clf = LogisticRegression(max_iter=2000).fit(scaler.transform(d.x_train[idx]), d.y_train[idx])
    assert acc == pytest.approx(clf.score(scaler.transform(d.x_test), d.y_test))
    # default test set: the unlabelled rest of the pool
    rest = np.setdiff1d(np.arange(len(d.y_train)), idx)
    acc_rest = linear_probe(lambda t: t, d.x_train, d.y_train, 0.1)
    assert acc_rest == pytest.approx(clf.score(scaler.transform(d.x_train[rest]), d.y_train[rest]))


def test_probe_freezes_the_encoder_and_uses_eval_mode():
    d = load_digits(seed=0)
    torch.manual_seed(0)
    enc = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Dropout(0.5), torch.nn.ReLU())
    before = [p.detach().clone() for p in enc.parameters()]
    enc.train()
    a = linear_probe(enc, d.x_train, d.y_train, 0.2, x_test=d.x_test, y_test=d.y_test)
    b = linear_probe(enc, d.x_train, d.y_train, 0.2, x_test=d.x_test, y_test=d.y_test)
    assert a == b  # dropout off while encoding
    assert enc.training  # mode restored
    for p, q in zip(before, enc.parameters(), strict=True):
        assert torch.equal(p, q)
    feats = encode(enc, d.x_test[:5])
    assert feats.shape == (5, 32) and feats.dtype == np.float64


def test_informative_features_beat_noise():
    d = load_digits(seed=0)
    rng = np.random.default_rng(0)
    noise = linear_probe(
        lambda t: torch.as_tensor(rng.normal(size=(len(t), 64))),
        d.x_train, d.y_train, 0.1, x_test=d.x_test, y_test=d.y_test,
    )  # fmt: skip
    pixels = linear_probe(lambda t: t, d.x_train, d.y_train, 0.1, x_test=d.x_test, y_test=d.y_test)
    assert noise < 0.25 and pixels > 0.8


def test_probe_errors():
    x, y = np.zeros((10, 3), dtype=np.float32), np.repeat([0, 1], 5)
    with pytest.raises(ValueError, match="same length"):
        linear_probe(lambda t: t, x, y[:9], 0.5)
    with pytest.raises(ValueError, match="both"):
        linear_probe(lambda t: t, x, y, 0.5, x_test=x)
    with pytest.raises(ValueError, match="no test data"):
        linear_probe(lambda t: t, x, y, 1.0)
    with pytest.raises(ValueError, match="inf or NaN"):
        linear_probe(lambda t: t * np.nan, x, y, 0.5)


def test_random_affine():
    x = torch.zeros(4, 1, 28, 28)
    x[:, :, 10:18, 12:16] = 1.0
    before = x.clone()
    same = random_affine(x, max_rotation=0, max_scale=0, max_shift=0)
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    a, b = random_affine(x, seed=g1), random_affine(x, seed=g2)
    assert torch.equal(a, b) and torch.equal(x, before)
    # pure shifts move the centre of mass by at most max_shift pixels, and keep the mass
    shifted = random_affine(x, max_rotation=0, max_scale=0, max_shift=3)
    grid = torch.arange(28.0)
    com = (shifted[:, 0].sum(1) * grid).sum(1) / shifted[:, 0].sum((1, 2))
    com0 = (x[:, 0].sum(1) * grid).sum(1) / x[:, 0].sum((1, 2))
    assert torch.all((com - com0).abs() <= 3 + 1e-4)
    torch.testing.assert_close(shifted.sum((1, 2, 3)), x.sum((1, 2, 3)), rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match=r"\(n, c, h, w\)"):
        random_affine(torch.zeros(28, 28))
    with pytest.raises(ValueError, match="max_scale"):
        random_affine(x, max_scale=1.0)


def test_pretraining_lowers_the_loss_and_beats_a_random_encoder():
    d = load_digits(seed=0, flatten=False)

    def make():
        return torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 32)
        )

    torch.manual_seed(0)
    random_enc = make()
    torch.manual_seed(0)
    enc = make()

    def views(xb, g):
        return random_affine(xb, max_rotation=10, max_scale=0.1, max_shift=1, seed=g)

    history = pretrain_info_nce(enc, d.x_train, epochs=15, batch_size=128, augment=views, lr=3e-3)
    assert history.loss[-1] < 0.6 * history.loss[0]
    kwargs = dict(x_test=d.x_test, y_test=d.y_test)
    pre = np.mean(
        [linear_probe(enc, d.x_train, d.y_train, 0.05, seed=s, **kwargs) for s in range(3)]
    )
    rnd = np.mean(
        [linear_probe(random_enc, d.x_train, d.y_train, 0.05, seed=s, **kwargs) for s in range(3)]
    )
    assert pre > rnd + 0.03, (pre, rnd)


def test_supervised_baseline_learns_separable_data():
    rng = np.random.default_rng(0)
    y = rng.permutation(np.repeat(np.arange(3), 100))
    x = (rng.normal(size=(300, 4)) + 3 * np.eye(3, 4)[y]).astype(np.float32)
    torch.manual_seed(0)
    acc = supervised_baseline(
        torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU()),
        x[:200], y[:200], 0.5, x_test=x[200:], y_test=y[200:], epochs=40, lr=0.01,
    )  # fmt: skip
    assert acc > 0.9
