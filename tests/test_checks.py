"""Tests of dlcourse.checks, the answer checks of the assignments' test cells."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from dlcourse.checks import as_array, check_array, check_close, check_float, check_tensor, raises


def test_as_array_copies_numbers_lists_arrays_and_tensors_to_float64():
    t = torch.tensor([1.0, 2.0], requires_grad=True) * 3
    for x, want in [(2, [2.0]), ([1, 2], [1.0, 2.0]), (np.float32([0.5]), [0.5]), (t, [3.0, 6.0])]:
        a = as_array(x)
        assert a.dtype == np.float64
        np.testing.assert_array_equal(a.reshape(-1), want)
    src = np.zeros(3)
    as_array(src)[0] = 1.0
    assert src[0] == 0.0, "as_array must not hand back the caller's array"


def test_check_array_accepts_and_returns_a_good_array():
    a = np.ones((2, 3), dtype=np.float32)
    assert check_array(a, (2, 3), "a") is a


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([[1.0, 2.0]], "should be a NumPy ndarray, got list"),
        (np.ones((1, 2), dtype=int), "should hold floats, got dtype int64"),
        (np.ones((2, 1)), "should have shape (1, 2), got (2, 1)"),
        (np.array([[1.0, np.nan]]), "contains inf or nan"),
        (np.array([[np.inf, 1.0]]), "contains inf or nan"),
    ],
)
def test_check_array_names_what_is_wrong(value, message):
    with pytest.raises(AssertionError, match="^answer " + re.escape(message)):
        check_array(value, (1, 2), "answer")


def test_check_tensor_returns_detached_float64_values():
    t = torch.arange(6.0, requires_grad=True).reshape(2, 3) * 2
    a = check_tensor(t, (2, 3), "t")
    assert isinstance(a, np.ndarray) and a.dtype == np.float64
    np.testing.assert_array_equal(a, np.arange(6.0).reshape(2, 3) * 2)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.zeros(3), "should be a torch.Tensor, got ndarray"),
        (torch.zeros(3, dtype=torch.long), "should hold floats, got dtype torch.int64"),
        (torch.zeros(4), "should have shape (3,), got (4,)"),
        (torch.tensor([0.0, float("nan"), 1.0]), "contains inf or nan"),
    ],
)
def test_check_tensor_names_what_is_wrong(value, message):
    with pytest.raises(AssertionError, match="^x " + re.escape(message)):
        check_tensor(value, (3,), "x")


def test_check_float():
    assert check_float(np.float32(0.25), "v") == 0.25
    assert check_float(torch.tensor([[1.5]]), "v") == 1.5
    assert isinstance(check_float(2, "v"), float)
    for bad, message in [
        (torch.ones(2), "single number, got shape (2,)"),
        ("1.0", "should be a float, got str"),
        (True, "should be a float, got bool"),
        (float("inf"), "is not finite"),
    ]:
        with pytest.raises(AssertionError, match=re.escape(message)):
            check_float(bad, "v")


def test_check_close_follows_np_allclose_exactly():
    rng = np.random.default_rng(0)
    want = rng.normal(size=200)
    for scale in [1e-12, 1e-9, 1e-7, 1e-6, 1e-5]:
        got = want + scale * rng.normal(size=200)
        expected = bool(np.allclose(got, want, rtol=1e-6, atol=1e-9))
        try:
            check_close(got, want, "x")
            passed = True
        except AssertionError:
            passed = False
        assert passed == expected, scale
    # the boundary: |got - want| <= atol + rtol * |want| passes, a little more fails
    check_close(np.array([1.0 + 1.9e-6]), np.array([1.0]), "x", rtol=1e-6, atol=1e-6)
    with pytest.raises(AssertionError, match=r"largest difference 2\.1e-06"):
        check_close(np.array([1.0 + 2.1e-6]), np.array([1.0]), "x", rtol=1e-6, atol=1e-6)


def test_check_close_accepts_tensors_and_reports_shape_and_nan():
    check_close(torch.tensor([1.0, 2.0], requires_grad=True) * 1, np.array([1.0, 2.0]), "t")
    check_close(3.0, torch.tensor(3.0), "scalar")
    with pytest.raises(AssertionError, match=r"should have shape \(3,\), got \(2,\)"):
        check_close([1.0, 2.0], [1.0, 2.0, 3.0], "t")
    with pytest.raises(AssertionError, match="contains inf or nan"):
        check_close([np.nan], [np.nan], "t")  # nan is never close, even to nan
    with pytest.raises(AssertionError, match=r"expected:\n\[0\.1235\]\ngot:\n\[1\.\]"):
        check_close([1.0], [0.123456], "t", decimals=4)


def test_raises():
    def boom(kind):
        raise kind("no")

    assert raises(ValueError, boom, ValueError)
    assert not raises(ValueError, lambda: None)
    with pytest.raises(KeyError):
        raises(ValueError, boom, KeyError)  # a different error is not swallowed


def test_checks_still_fail_under_python_dash_o():
    code = (
        "from dlcourse.checks import check_close\n"
        "try:\n    check_close([1.0], [2.0], 'x')\nexcept AssertionError:\n    print('raised')\n"
    )
    out = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "raised"
