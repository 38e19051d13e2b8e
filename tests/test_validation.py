"""Tests of dlcourse._validation: one error class, one message template, the same wording
for the same mistake in every sub-package."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

from dlcourse import attacks, cnn, gnn
from dlcourse._validation import (
    InvalidParameterError,
    as_float_array,
    as_tensor,
    check_ndim,
    check_option,
    check_pair,
    check_reduction,
    check_scalar,
    check_seed,
    check_torch_seed,
    message,
    renamed_kwargs,
)
from dlcourse.autograd import nn as ag_nn

TEMPLATE = re.compile(r"^The '(\w+)' argument of ([\w.]+) must be (.+)\. Got (.+) instead\.$")


def test_the_error_is_both_a_value_error_and_a_type_error():
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(InvalidParameterError, TypeError)
    for catch in (ValueError, TypeError):
        with pytest.raises(catch):
            check_scalar(0, "steps", int, low=1)


def test_the_message_template():
    assert (
        message("steps", "an integer >= 1", 0, caller="pgd")
        == "The 'steps' argument of pgd must be an integer >= 1. Got 0 instead."
    )
    with pytest.raises(InvalidParameterError) as err:
        check_scalar(0, "steps", int, low=1, caller="pgd")
    assert str(err.value) == "The 'steps' argument of pgd must be an integer >= 1. Got 0 instead."


def _example(model=None):
    model = torch.nn.Linear(4, 2)
    x, y = torch.zeros(1, 4), torch.zeros(1, dtype=torch.long)
    image, kernel = torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3)
    return {
        "stride": lambda v: cnn.conv2d(image, kernel, stride=v),
        "steps": lambda v: attacks.pgd(model, x, y, eps=0.1, alpha=0.01, steps=v),
        "in_dim": lambda v: gnn.GraphConv(v, 2),
        "in_features": lambda v: ag_nn.Linear(v, 2),
    }


CALLERS = {"stride": "conv2d", "steps": "pgd", "in_dim": "GraphConv", "in_features": "Linear"}


@pytest.mark.parametrize("name", list(CALLERS))
@pytest.mark.parametrize("bad", [0, 1.5, True, "3"])
def test_the_four_examples_of_issue_18_read_the_same(name, bad):
    """stride=0 in conv2d, steps=0 in pgd, in_dim=0 in GraphConv, Linear(0, 2): one wording,
    and 1.5 (or a bool, or a string) as an integer is the same error everywhere."""
    call = _example()[name]
    with pytest.raises(InvalidParameterError) as err:
        call(bad)
    text = str(err.value)
    m = TEMPLATE.match(text)
    assert m, text
    assert m.group(1) == name and m.group(2) == CALLERS[name]
    assert m.group(3).startswith("an integer >= 1"), text
    assert m.group(4) == repr(bad)


def test_check_scalar_kinds_and_bounds():
    assert check_scalar(np.int64(3), "n", int, low=1) == 3
    assert type(check_scalar(np.int64(3), "n", int)) is int
    assert check_scalar(2, "lr", float, low=0, closed="neither") == 2.0
    assert check_scalar(torch.tensor(0.5), "lam", float, low=0) == 0.5
    assert check_scalar(np.bool_(True), "flag", bool) is True
    assert check_scalar(float("inf"), "beta", float, low=0, allow_inf=True) == float("inf")
    for bad in (True, 2.0, "3", None):
        with pytest.raises(InvalidParameterError, match="must be an integer"):
            check_scalar(bad, "n", int)
    for bad in (True, "x", float("nan"), float("inf"), None):
        with pytest.raises(InvalidParameterError, match="must be a real number"):
            check_scalar(bad, "lr", float)
    with pytest.raises(InvalidParameterError, match=r"in \[0, 1\)\. Got 1\.0"):
        check_scalar(1.0, "momentum", float, low=0, high=1, closed="left")
    with pytest.raises(InvalidParameterError, match=r"> 0\. Got 0"):
        check_scalar(0, "lr", float, low=0, closed="neither")
    with pytest.raises(InvalidParameterError, match="must be a bool"):
        check_scalar(1, "flag", bool)


def test_check_option_is_type_strict():
    assert check_option("sum", "reduction", ("mean", "sum")) == "sum"
    with pytest.raises(InvalidParameterError, match="one of 'mean', 'sum', 'none'. Got 'avg'"):
        check_reduction("avg")
    with pytest.raises(InvalidParameterError):
        check_option(True, "k", (1, 2))
    with pytest.raises(InvalidParameterError):
        check_option([1], "k", (1, 2))  # unhashable is simply not an option


def test_check_pair():
    assert check_pair(2, "stride") == (2, 2)
    assert check_pair((1, np.int64(3)), "stride") == (1, 3)
    assert check_pair(0, "padding", low=0) == (0, 0)
    for bad in (0, (1, 0), (1, 2, 3), 1.5, (True, 1)):
        with pytest.raises(InvalidParameterError, match="'stride'"):
            check_pair(bad, "stride")


def test_as_float_array_converts_and_checks_shapes():
    a = as_float_array([[1, 2], [3, 4]], "x", ndim=2, shape=(None, 2))
    assert a.dtype == np.float64 and a.shape == (2, 2)
    assert as_float_array(np.ones(3, np.float32), "x", dtype=None).dtype == np.float32
    assert as_float_array(torch.ones(2, requires_grad=True), "x").dtype == np.float64
    with pytest.raises(InvalidParameterError, match=r"a 2-D array\. Got an array of shape \(3,\)"):
        as_float_array([1, 2, 3], "x", ndim=2)
    with pytest.raises(InvalidParameterError, match=r"of shape \(n, 2\)"):
        as_float_array(np.ones((2, 3)), "x", shape=(None, 2))
    with pytest.raises(InvalidParameterError, match="finite"):
        as_float_array([1.0, np.nan], "x")
    assert np.isnan(as_float_array([1.0, np.nan], "x", allow_nan=True)[1])
    with pytest.raises(InvalidParameterError, match="real numbers"):
        as_float_array("abc", "x")
    with pytest.raises(InvalidParameterError, match="at least 1 dimension"):
        as_float_array(3.0, "x", min_ndim=1)


def test_as_tensor_keeps_device_and_dtype_unless_told():
    t = torch.ones(2, dtype=torch.float16)
    assert as_tensor(t, "x") is t
    assert as_tensor(np.ones(2, np.float32), "x").dtype == torch.float32
    assert as_tensor([1.0], "x", dtype=torch.float64).dtype == torch.float64
    assert as_tensor(np.ones(2), "x", like=t).device == t.device
    with pytest.raises(InvalidParameterError, match=r"a 2-D tensor\. Got a tensor of shape"):
        as_tensor(np.ones(3), "x", ndim=2)
    with pytest.raises(InvalidParameterError, match=r"shape \(N, C\)\. Got a tensor of shape"):
        check_ndim(torch.ones(3), "x", 2, what="a tensor of shape (N, C)")


def test_check_seed_never_touches_the_global_rngs():
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 - the legacy global
    torch_state = torch.get_rng_state().clone()
    a = check_seed(0).random(3)
    assert np.array_equal(a, check_seed(0).random(3))
    g = np.random.default_rng(1)
    assert check_seed(g) is g
    from_torch = check_seed(torch.Generator().manual_seed(5)).random()
    assert from_torch == check_seed(torch.Generator().manual_seed(5)).random()
    t = torch.rand(3, generator=check_torch_seed(0))
    assert torch.equal(t, torch.rand(3, generator=check_torch_seed(0)))
    assert check_torch_seed(None) is None
    tg = torch.Generator()
    assert check_torch_seed(tg) is tg
    assert isinstance(check_torch_seed(np.random.default_rng(0)), torch.Generator)
    assert np.array_equal(np_state, np.random.get_state()[1])  # noqa: NPY002
    assert torch.equal(torch_state, torch.get_rng_state())
    for bad in (-1, 1.5, "0", True):
        with pytest.raises(InvalidParameterError, match="'seed'"):
            check_seed(bad)


def test_renamed_kwargs_warn_and_forward():
    @renamed_kwargs(max_iter="n_iter")
    def f(x, n_iter=10):
        return x, n_iter

    with pytest.warns(FutureWarning, match="'max_iter' argument of .*f is deprecated"):
        assert f(1, max_iter=3) == (1, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(1, n_iter=4) == (1, 4)
    with pytest.raises(InvalidParameterError, match="both"):
        f(1, max_iter=3, n_iter=4)


def test_no_argument_check_outside_the_validation_module():
    """Every argument error of dlcourse is an InvalidParameterError raised through
    dlcourse._validation; only the autograd Tensor class (Python protocol errors such as
    len() of a 0-d tensor) raises the built-in exceptions itself."""
    import pathlib

    import dlcourse

    root = pathlib.Path(dlcourse.__file__).parent
    allowed = {"_validation.py", "tensor.py", "function.py"}
    offenders = [
        f"{p.relative_to(root)}:{i}"
        for p in root.rglob("*.py")
        if p.name not in allowed
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"raise (ValueError|TypeError)\(", line)
    ]
    assert not offenders, offenders


def test_invalid_with_a_description_instead_of_a_repr():
    from dlcourse._validation import invalid

    err = invalid("x", "of shape (N, C)", got="shape (3,)", caller="f")
    assert str(err) == "The 'x' argument of f must be of shape (N, C). Got shape (3,) instead."
    with pytest.raises(
        InvalidParameterError, match=r"'y' argument of fgsm must be of shape \(2,\)"
    ):
        attacks.fgsm(
            torch.nn.Linear(4, 3), torch.zeros(2, 4), torch.zeros(3, dtype=torch.long), 0.1
        )
