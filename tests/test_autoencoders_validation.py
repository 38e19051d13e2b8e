"""Inputs of the wrong shape get the package's error, naming the argument, not torch's matmul error.

Before, ``LinearAE(10, 3)(torch.zeros(4, 7))`` raised torch's "mat1 and mat2 shapes cannot be
multiplied (4x7 and 10x3)"; every case below did the same or worse.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlcourse._validation import InvalidParameterError
from dlcourse.autoencoders import (
    AE,
    LinearAE,
    contractive_penalty,
    encoder_jacobian,
    jacobian_spectrum,
)

pytestmark = pytest.mark.timeout(60)


def deep_encoder():
    return nn.Sequential(nn.Linear(20, 16), nn.Tanh(), nn.Linear(16, 4), nn.Sigmoid())


def mlp_ae():
    return AE(deep_encoder(), nn.Sequential(nn.Sequential(nn.Linear(4, 16)), nn.Linear(16, 20)))


@pytest.mark.parametrize(
    "call, argument, expected",
    [
        (lambda: LinearAE(10, 3, seed=0)(torch.zeros(4, 7)), "'x' argument of AE", "10"),
        (lambda: LinearAE(10, 3, seed=0).encode(torch.zeros(7)), "'x' argument of encode", "10"),
        (lambda: LinearAE(10, 3, seed=0).decode(torch.zeros(2, 5)), "'h' argument of decode", "3"),
        (lambda: LinearAE(10, 3, seed=0)(torch.tensor(1.0)), "'x' argument of AE", "10"),
        (lambda: mlp_ae()(torch.zeros(4, 21)), "'x' argument of AE", "20"),
        (lambda: mlp_ae().decode(torch.zeros(4, 16)), "'h' argument of decode", "4"),
        (lambda: LinearAE(10, 3)([[0.0] * 10]), "'x' argument of AE", "torch.Tensor"),
        (
            lambda: jacobian_spectrum(deep_encoder(), torch.zeros(3, 5)),
            "'x' argument of jacobian_spectrum",
            "20",
        ),
        (
            lambda: encoder_jacobian(deep_encoder(), torch.zeros(3, 5)),
            "'x' argument of encoder_jacobian",
            "20",
        ),
        (
            lambda: contractive_penalty(deep_encoder(), torch.zeros(3, 5), method="autograd"),
            "'x' argument of contractive_penalty",
            "20",
        ),
    ],
)
def test_wrong_shapes_name_the_argument_and_the_size(call, argument, expected):
    with pytest.raises(InvalidParameterError) as error:
        call()
    text = str(error.value)
    assert argument in text and expected in text, text
    assert "mat1 and mat2" not in text


def test_right_shapes_still_work_and_give_the_same_numbers():
    torch.manual_seed(0)
    ae = mlp_ae()
    x = torch.rand(5, 20)
    want = ae.decoder(ae.encoder(x))
    assert torch.equal(ae(x), want)
    assert torch.equal(ae.decode(ae.encode(x)), want)
    assert ae(x[0]).shape == (20,)  # one sample without a batch axis: last dimension checked
    assert jacobian_spectrum(ae.encoder, x).shape == (5, 4)
    assert contractive_penalty(ae.encoder, x, method="autograd").ndim == 0


def test_a_module_whose_input_size_is_unknown_is_left_alone():
    class Flatten(nn.Module):  # no Linear in front: nothing to read off, the data decide
        def forward(self, x):
            return x.reshape(len(x), -1)

    ae = AE(nn.Sequential(Flatten(), nn.Linear(12, 2)), nn.Linear(2, 12))
    assert ae(torch.zeros(3, 3, 4)).shape == (3, 12)
