"""Tests of dlcourse.utils: seeding and device choice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.utils import check_positive, device, seed_everything


def test_seed_everything_makes_numpy_and_torch_repeatable():
    rng = seed_everything(7)
    a = (rng.random(3), np.random.rand(3), torch.rand(3))  # noqa: NPY002
    rng = seed_everything(7)
    b = (rng.random(3), np.random.rand(3), torch.rand(3))  # noqa: NPY002
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_must_be_a_non_negative_integer(bad):
    with pytest.raises(ValueError, match="seed"):
        seed_everything(bad)


def test_device_prefers_cuda_only_when_present():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert device().type == expected
    assert device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="prefer"):
        device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA"):
            device("cuda")


def test_device_follows_dlcourse_device(monkeypatch):
    monkeypatch.setenv("DLCOURSE_DEVICE", "cpu")
    assert device().type == "cpu"
    monkeypatch.setenv("DLCOURSE_DEVICE", " CPU ")
    assert device().type == "cpu"
    monkeypatch.setenv("DLCOURSE_DEVICE", "gpu")
    with pytest.raises(ValueError, match="DLCOURSE_DEVICE"):
        device()
    assert device("cpu").type == "cpu"  # an explicit choice wins over the variable
    monkeypatch.setenv("DLCOURSE_DEVICE", "cuda")
    if torch.cuda.is_available():
        assert device().type == "cuda"
    else:
        with pytest.raises(RuntimeError, match="no CUDA"):
            device()
    monkeypatch.setenv("DLCOURSE_DEVICE", "")
    assert device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_check_positive_is_a_deprecated_alias_of_check_scalar():
    with pytest.warns(DeprecationWarning, match="check_positive is deprecated"):
        assert check_positive("lr", 0.1) == 0.1
    with (
        pytest.warns(DeprecationWarning),
        pytest.raises(
            ValueError,
            match=r"'lr' argument"
            r".* must be a real number > 0\. Got -1",
        ),
    ):
        check_positive("lr", -1)
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="'lr'"):
        check_positive("lr", "fast")
    with pytest.warns(DeprecationWarning):
        assert check_positive("lam", 0, strict=False) == 0.0


def test_check_int_accepts_numpy_integers_and_refuses_bools_floats_and_small_values():
    import numpy as np

    from dlcourse.utils import check_int

    with pytest.warns(DeprecationWarning, match="check_int is deprecated"):
        assert type(check_int("n", np.int64(3), 1)) is int
    for bad in [True, 2.0, "3", 0]:
        with (
            pytest.warns(DeprecationWarning),
            pytest.raises(ValueError, match=r"'n' argument .*must be an integer >= 1"),
        ):
            check_int("n", bad, 1)


def test_is_torch_tells_tensors_from_arrays():
    import numpy as np
    import torch

    from dlcourse.utils import is_torch

    assert is_torch(torch.zeros(2)) and not is_torch(np.zeros(2)) and not is_torch([0.0])
