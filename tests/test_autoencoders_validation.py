"""Inputs of the wrong shape or dtype get the package's error, naming the argument, not torch's.

Before, ``LinearAE(10, 3)(torch.zeros(4, 7))`` raised torch's "mat1 and mat2 shapes cannot be
multiplied (4x7 and 10x3)", and ``LinearAE(10, 3)(x.double())`` "mat1 and mat2 must have the
same dtype"; every case below did the same or worse (an AttributeError, an IndexError).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlcourse._validation import InvalidParameterError
from dlcourse.autoencoders import (
    AE,
    LinearAE,
    SoftThreshold,
    contractive_penalty,
    encoder_jacobian,
    fit_autoencoder,
    jacobian_spectrum,
    reconstruction_error,
    sparse_penalty,
)

pytestmark = pytest.mark.timeout(60)


def deep_encoder():
    return nn.Sequential(nn.Linear(20, 16), nn.Tanh(), nn.Linear(16, 4), nn.Sigmoid())


def mlp_ae():
    return AE(deep_encoder(), nn.Sequential(nn.Sequential(nn.Linear(4, 16)), nn.Linear(16, 20)))


def sigmoid_encoder():  # the closed form of contractive_penalty
    return nn.Sequential(nn.Linear(20, 4), nn.Sigmoid())


def lin():
    return LinearAE(10, 3, seed=0)


Z = torch.zeros
F64, I64 = torch.float64, torch.int64

# (call, what the message must contain: the argument and its function, and what was expected)
CASES = {
    # wrong number of features (last dimension)
    "forward features": (
        lambda: lin()(Z(4, 7)),
        "'x' argument of LinearAE",
        "last dimension is 10",
    ),
    "encode features": (lambda: lin().encode(Z(7)), "'x' argument of LinearAE.encode", "is 10"),
    "decode features": (lambda: lin().decode(Z(2, 5)), "'h' argument of LinearAE.decode", "is 3"),
    "forward 0-d": (lambda: lin()(torch.tensor(1.0)), "'x' argument of LinearAE", "is 10"),
    "AE in Sequential": (lambda: mlp_ae()(Z(4, 21)), "'x' argument of AE", "is 20"),
    "AE decode": (lambda: mlp_ae().decode(Z(4, 16)), "'h' argument of AE.decode", "is 4"),
    "jacobian_spectrum features": (
        lambda: jacobian_spectrum(deep_encoder(), Z(3, 5)),
        "'x' argument of jacobian_spectrum",
        "last dimension is 20",
    ),
    "encoder_jacobian features": (
        lambda: encoder_jacobian(deep_encoder(), Z(3, 5)),
        "'x' argument of encoder_jacobian",
        "is 20",
    ),
    "contractive autograd features": (
        lambda: contractive_penalty(deep_encoder(), Z(3, 5), method="autograd"),
        "'x' argument of contractive_penalty",
        "is 20",
    ),
    "contractive closed features": (
        lambda: contractive_penalty(sigmoid_encoder(), Z(3, 5), method="closed"),
        "'x' argument of contractive_penalty",
        "is 20",
    ),
    "SoftThreshold units": (
        lambda: SoftThreshold(4)(Z(2, 3)),
        "'v' argument of SoftThreshold",
        "last dimension is 4",
    ),
    "SoftThreshold 0-d": (lambda: SoftThreshold(4)(torch.tensor(1.0)), "'v' argument", "is 4"),
    "fit_autoencoder features": (
        lambda: fit_autoencoder(lin(), Z(8, 7), epochs=1),
        "'x' argument of fit_autoencoder",
        "(n_samples, 10)",
    ),
    "fit_autoencoder contractive": (
        lambda: fit_autoencoder(mlp_ae(), Z(8, 7), epochs=1, penalty="contractive", lam=0.1),
        "'x' argument of fit_autoencoder",
        "(n_samples, 20)",
    ),
    "reconstruction_error features": (
        lambda: reconstruction_error(lin(), Z(8, 7)),
        "'x' argument of reconstruction_error",
        "(n_samples, 10)",
    ),
    # wrong number of dimensions
    "contractive 3-D": (
        lambda: contractive_penalty(sigmoid_encoder(), Z(3, 20, 1)),
        "'x' argument of contractive_penalty",
        "shape (n_samples, 20)",
    ),
    "jacobian_spectrum 1-D": (
        lambda: jacobian_spectrum(deep_encoder(), Z(20)),
        "'x' argument of jacobian_spectrum",
        "shape (n_samples, 20)",
    ),
    "sparse_penalty 3-D": (
        lambda: sparse_penalty(Z(2, 3, 4)),
        "'h' argument of sparse_penalty",
        "(n_samples, code_dim)",
    ),
    # wrong dtype
    "forward float64": (lambda: lin()(Z(4, 10, dtype=F64)), "'x' argument of LinearAE", "float32"),
    "forward int": (lambda: lin()(Z(4, 10, dtype=I64)), "'x' argument of LinearAE", "float32"),
    "forward bool": (lambda: lin()(Z(4, 10, dtype=torch.bool)), "'x' argument", "float32"),
    "encode int": (
        lambda: lin().encode(Z(10, dtype=I64)),
        "'x' argument of LinearAE.encode",
        "dtype",
    ),
    "decode float64": (lambda: lin().decode(Z(1, 3, dtype=F64)), "'h' argument", "float32"),
    "float64 model, float32 x": (
        lambda: LinearAE(10, 3, seed=0, dtype=F64)(Z(4, 10)),
        "'x' argument of LinearAE",
        "float64",
    ),
    "contractive float64": (
        lambda: contractive_penalty(sigmoid_encoder(), Z(3, 20, dtype=F64)),
        "'x' argument of contractive_penalty",
        "float32",
    ),
    "jacobian_spectrum float64": (
        lambda: jacobian_spectrum(deep_encoder(), Z(3, 20, dtype=F64)),
        "'x' argument of jacobian_spectrum",
        "float32",
    ),
    "encoder_jacobian int, unknown encoder": (
        lambda: encoder_jacobian(torch.tanh, Z(3, 20, dtype=I64)),
        "'x' argument of encoder_jacobian",
        "floating-point",
    ),
    # not a tensor
    "forward list": (lambda: lin()([[0.0] * 10]), "'x' argument of LinearAE", "torch.Tensor"),
    "decode list": (lambda: lin().decode([[0.0] * 3]), "'h' argument", "torch.Tensor"),
    "contractive ndarray": (
        lambda: contractive_penalty(sigmoid_encoder(), Z(3, 20).numpy()),
        "'x' argument of contractive_penalty",
        "torch.Tensor",
    ),
    "SoftThreshold list": (lambda: SoftThreshold(3)([[0.0] * 3]), "'v' argument", "torch.Tensor"),
}


@pytest.mark.parametrize("call, argument, expected", CASES.values(), ids=CASES.keys())
def test_wrong_inputs_name_the_argument_and_what_was_expected(call, argument, expected):
    with pytest.raises(InvalidParameterError) as error:
        call()
    assert isinstance(error.value, ValueError) and isinstance(error.value, TypeError)
    text = str(error.value)
    assert argument in text and expected in text and "Got " in text, text
    assert "mat1" not in text and "mat2" not in text


def test_right_inputs_still_work_and_give_the_same_numbers():
    torch.manual_seed(0)
    ae = mlp_ae()
    x = torch.rand(5, 20)
    want = ae.decoder(ae.encoder(x))
    assert torch.equal(ae(x), want)
    assert torch.equal(ae.decode(ae.encode(x)), want)
    assert ae(x[0]).shape == (20,)  # one sample without a batch axis: last dimension checked
    assert ae(x.reshape(5, 1, 20)).shape == (5, 1, 20)  # extra batch axes, as nn.Linear allows
    assert jacobian_spectrum(ae.encoder, x).shape == (5, 4)
    assert contractive_penalty(ae.encoder, x, method="autograd").ndim == 0
    enc = sigmoid_encoder()
    closed = contractive_penalty(enc, x, method="closed", reduction="none")
    torch.testing.assert_close(
        closed, contractive_penalty(enc, x, method="autograd", reduction="none")
    )
    ae64 = LinearAE(10, 3, seed=0, dtype=F64)
    x64 = torch.rand(4, 10, dtype=F64)
    assert torch.equal(ae64(x64), ae64.decoder(ae64.encoder(x64)))
    layer = SoftThreshold(3, init=0.5)
    v = torch.tensor([[-2.0, 0.25, 1.0]])
    torch.testing.assert_close(layer(v), torch.tensor([[-1.5, 0.0, 0.5]]))


def test_fit_and_error_still_cast_the_data_to_the_model():
    ae = LinearAE(10, 3, seed=0)
    x = torch.rand(16, 10, dtype=F64)  # float64 data, float32 model: cast, as before
    assert len(fit_autoencoder(ae, x, epochs=1).loss) == 1
    assert reconstruction_error(ae, x) >= 0
    assert reconstruction_error(ae, torch.ones(4, 10, dtype=I64)) >= 0


def test_autocast_casts_so_float_dtypes_other_than_float64_pass():
    ae = LinearAE(10, 3, seed=0)
    x = torch.rand(4, 10)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert ae(x).dtype == torch.bfloat16
        assert ae(x.half()).dtype == torch.bfloat16
        with pytest.raises(InvalidParameterError, match="'x' argument of LinearAE.*float32"):
            ae(x.double())  # autocast leaves float64 alone: torch would refuse it too


def test_a_module_whose_input_size_is_unknown_is_left_alone():
    class Flatten(nn.Module):  # no Linear in front: nothing to read off, the data decide
        def forward(self, x):
            return x.reshape(len(x), -1)

    ae = AE(nn.Sequential(Flatten(), nn.Linear(12, 2)), nn.Linear(2, 12))
    assert ae(torch.zeros(3, 3, 4)).shape == (3, 12)
    lazy = AE(nn.LazyLinear(2), nn.Linear(2, 12))  # in_features is 0 until the first call
    assert lazy(torch.zeros(3, 12)).shape == (3, 12)


def test_the_checks_read_no_parametrised_weight():
    """Reading ``weight`` of a spectral-norm Linear would run a power iteration in train mode."""
    enc = nn.utils.parametrizations.spectral_norm(nn.Linear(10, 3))
    u = enc.parametrizations.weight[0]._u.clone()
    with pytest.raises(InvalidParameterError, match="'x' argument of AE.*last dimension is 10"):
        AE(enc, nn.Linear(3, 10))(torch.zeros(2, 7))
    with pytest.raises(InvalidParameterError, match="'x' argument of AE.*float32"):
        AE(enc, nn.Linear(3, 10))(torch.zeros(2, 10, dtype=F64))
    assert torch.equal(u, enc.parametrizations.weight[0]._u)


def test_fit_checks_only_models_that_hand_x_to_their_first_linear():
    class Halves(AE):  # its own forward: the encoder sees half of each row
        def forward(self, x):
            return self.decoder(self.encoder(x[:, :5])).repeat(1, 2)

    model = Halves(nn.Linear(5, 2), nn.Linear(2, 5))
    x = torch.rand(8, 10)
    assert len(fit_autoencoder(model, x, epochs=1).loss) == 1
    assert reconstruction_error(model, x) >= 0
    seq = nn.Sequential(nn.Linear(10, 3), nn.Linear(3, 10))
    with pytest.raises(InvalidParameterError, match="'x' argument of reconstruction_error.*10"):
        reconstruction_error(seq, torch.rand(8, 7))
