"""dlcourse.cnn.conv and im2col against torch.nn.functional (conv2d, unfold, fold)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.cnn import Conv2d, col2im, conv2d, conv2d_direct, im2col, output_size, sliding_windows

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# (x shape, w shape, stride, padding)
CASES = [
    ((2, 3, 7, 8), (4, 3, 3, 3), 1, 0),
    ((2, 3, 7, 8), (4, 3, 3, 2), 2, 1),
    ((1, 1, 5, 5), (1, 1, 3, 3), 1, 0),
    ((3, 2, 9, 6), (5, 2, 4, 1), (2, 1), (0, 2)),
    ((2, 4, 6, 6), (3, 4, 6, 6), 1, 0),  # kernel as large as the input: one output pixel
    ((1, 2, 4, 5), (2, 2, 5, 5), 3, 2),  # kernel larger than the input, fits after padding
    ((4, 1, 28, 28), (6, 1, 5, 5), 1, 0),  # LeNet's first layer
]


def _random_case(rng):
    n, c, o = rng.integers(1, 4), rng.integers(1, 5), rng.integers(1, 5)
    kh, kw = rng.integers(1, 5, size=2)
    sh, sw = rng.integers(1, 4, size=2)
    ph, pw = rng.integers(0, 3, size=2)
    h = rng.integers(max(1, kh - 2 * ph), 11)
    w = rng.integers(max(1, kw - 2 * pw), 11)
    return (n, c, h, w), (o, c, kh, kw), (int(sh), int(sw)), (int(ph), int(pw))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: str(c))
@pytest.mark.parametrize("fn", [conv2d, conv2d_direct], ids=["im2col", "direct"])
def test_conv2d_values_and_gradients_match_torch(fn, case, device):
    xs, ws, stride, padding = case
    torch.manual_seed(0)
    x = torch.randn(*xs, dtype=torch.float64, device=device, requires_grad=True)
    w = torch.randn(*ws, dtype=torch.float64, device=device, requires_grad=True)
    b = torch.randn(ws[0], dtype=torch.float64, device=device, requires_grad=True)
    ours = fn(x, w, b, stride, padding)
    ref = F.conv2d(x, w, b, stride, padding)
    assert ours.shape == ref.shape and ours.device == ref.device
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-10)
    g = torch.randn_like(ref)
    got = torch.autograd.grad(ours, (x, w, b), g)
    expected = torch.autograd.grad(ref, (x, w, b), g)
    for a, e in zip(got, expected, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-10)


def test_conv2d_matches_torch_on_random_shapes_float32():
    rng = np.random.default_rng(1)
    for _ in range(30):
        xs, ws, stride, padding = _random_case(rng)
        x = torch.randn(*xs, requires_grad=True)
        w = torch.randn(*ws, requires_grad=True)
        b = torch.randn(ws[0], requires_grad=True) if rng.random() < 0.5 else None
        ours = conv2d(x, w, b, stride=stride, padding=padding)
        ref = F.conv2d(x, w, b, stride=stride, padding=padding)
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)
        g = torch.randn_like(ref)
        inputs = (x, w) if b is None else (x, w, b)
        for a, e in zip(
            torch.autograd.grad(ours, inputs, g), torch.autograd.grad(ref, inputs, g), strict=True
        ):
            torch.testing.assert_close(a, e, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), ((1, 2), (2, 0))])
def test_conv2d_gradcheck_float64(stride, padding):
    torch.manual_seed(0)
    x = torch.randn(1, 2, 5, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 2, 3, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: conv2d(x, w, b, stride, padding), (x, w, b))


def test_conv2d_second_derivatives_gradgradcheck():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 2, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda x, w: conv2d(x, w, None, 2, 1), (x, w))


def test_conv2d_circular_padding_matches_torch_conv2d_with_circular_padding():
    torch.manual_seed(0)
    x, w, b = torch.randn(2, 3, 7, 6), torch.randn(4, 3, 3, 3), torch.randn(4)
    ref = torch.nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular")
    with torch.no_grad():
        ref.weight.copy_(w)
        ref.bias.copy_(b)
        expected = ref(x)
    torch.testing.assert_close(conv2d(x, w, b, padding=1, padding_mode="circular"), expected)


def test_conv2d_unbatched_input_and_numpy_input():
    torch.manual_seed(0)
    x, w = torch.randn(3, 6, 6), torch.randn(2, 3, 3, 3)
    torch.testing.assert_close(conv2d(x, w, padding=1), F.conv2d(x, w, padding=1))
    got = conv2d(x.numpy(), w.numpy())
    assert isinstance(got, torch.Tensor)
    torch.testing.assert_close(got, F.conv2d(x, w))


def test_the_5x5_by_3x3_example_by_hand():
    x = torch.arange(25.0).reshape(1, 1, 5, 5)
    w = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])[None, None]
    # every 3x3 patch of a ramp x[i, j] = 5i + j has the same horizontal Sobel response:
    # sum_p c_p (x[., 0] - x[., 2]) = (1 + 2 + 1) * (-2) = -8
    assert torch.equal(conv2d(x, w)[0, 0], torch.full((3, 3), -8.0))


def test_conv2d_does_not_modify_its_inputs():
    torch.manual_seed(0)
    x, w, b = torch.randn(2, 3, 6, 6), torch.randn(4, 3, 3, 3), torch.randn(4)
    copies = [t.clone() for t in (x, w, b)]
    conv2d(x, w, b, stride=2, padding=1)
    for t, c in zip((x, w, b), copies, strict=True):
        assert torch.equal(t, c)


@pytest.mark.parametrize("device", DEVICES)
def test_conv2d_layer_matches_torch_nn_conv2d_with_the_same_state_dict(device):
    torch.manual_seed(0)
    ours = Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1).to(device)
    ref = torch.nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1).to(device)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(4, 3, 9, 7, device=device)
    torch.testing.assert_close(ours(x), ref(x))
    ours(x).square().sum().backward()
    ref(x).square().sum().backward()
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(ours.bias.grad, ref.bias.grad, rtol=1e-4, atol=1e-4)


def test_conv2d_layer_initialisation_has_torch_scale():
    torch.manual_seed(0)
    layer = Conv2d(16, 8, 5)
    bound = 1 / np.sqrt(16 * 25)  # kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(fan_in), ...)
    assert float(layer.weight.detach().abs().max()) <= bound
    assert float(layer.weight.detach().abs().max()) > 0.9 * bound
    assert Conv2d(2, 3, 3, bias=False).bias is None
    assert "bias=False" in repr(Conv2d(2, 3, 3, bias=False))


@pytest.mark.parametrize("case", CASES, ids=lambda c: str(c))
def test_im2col_matches_F_unfold_and_col2im_matches_F_fold(case):
    xs, ws, stride, padding = case
    torch.manual_seed(0)
    x = torch.randn(*xs, dtype=torch.float64)
    k = ws[2:]
    cols = im2col(x, k, stride, padding)
    torch.testing.assert_close(cols, F.unfold(x, k, padding=padding, stride=stride))
    c = torch.randn_like(cols)
    torch.testing.assert_close(
        col2im(c, xs[2:], k, stride, padding),
        F.fold(c, xs[2:], k, padding=padding, stride=stride),
    )


def test_col2im_is_the_adjoint_of_im2col():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64)
    cols = im2col(x, (3, 2), stride=(2, 1), padding=(1, 0))
    c = torch.randn_like(cols)
    lhs = (cols * c).sum()
    rhs = (x * col2im(c, (7, 6), (3, 2), stride=(2, 1), padding=(1, 0))).sum()
    torch.testing.assert_close(lhs, rhs)


def test_sliding_windows_is_a_view_with_the_documented_indexing():
    x = torch.arange(2 * 3 * 6 * 7, dtype=torch.float64).reshape(2, 3, 6, 7)
    win = sliding_windows(x, (3, 2), stride=(2, 3))
    assert win.shape == (2, 3, 2, 2, 3, 2)
    assert win.data_ptr() == x.data_ptr()  # no copy without padding
    n, c, i, j, p, q = 1, 2, 1, 1, 2, 1
    assert win[n, c, i, j, p, q] == x[n, c, i * 2 + p, j * 3 + q]


def test_output_size_formula():
    assert output_size((28, 28), 5) == (24, 24)
    assert output_size((7, 8), (3, 2), stride=(2, 3), padding=(1, 0)) == (4, 3)
    for h in range(3, 12):
        for k in range(1, 4):
            for s in range(1, 4):
                for p in range(0, 2):
                    expected = F.conv2d(
                        torch.zeros(1, 1, h, h), torch.zeros(1, 1, k, k), None, s, p
                    )
                    assert output_size((h, h), k, s, p) == tuple(expected.shape[-2:])


@pytest.mark.parametrize(
    "x_shape,w_shape,kwargs,error,match",
    [
        ((3, 5, 5, 2, 1), (1, 5, 3, 3), {}, ValueError, r"shape \(N, C, H, W\) or \(C, H, W\)"),
        ((5, 5), (1, 1, 3, 3), {}, ValueError, "'x' argument.* must be a tensor of shape"),
        ((1, 3, 5, 5), (2, 3, 3), {}, ValueError, "'w' argument.* must be a 4-D"),
        ((1, 3, 5, 5), (2, 2, 3, 3), {}, ValueError, "Channel mismatch: x has 3 channels"),
        ((1, 1, 4, 4), (1, 1, 5, 5), {}, ValueError, "larger than the padded input"),
        ((1, 1, 4, 4), (1, 1, 7, 3), {"padding": 1}, ValueError, "larger than the padded input"),
        (
            (1, 1, 5, 5),
            (1, 1, 3, 3),
            {"stride": 0},
            ValueError,
            "'stride' argument.* must be an integer >= 1",
        ),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"stride": (1, -2)}, ValueError, "'stride'"),
        (
            (1, 1, 5, 5),
            (1, 1, 3, 3),
            {"padding": -1},
            ValueError,
            "'padding' argument.* must be an integer >= 0",
        ),
        (
            (1, 1, 5, 5),
            (1, 1, 3, 3),
            {"stride": 1.5},
            TypeError,
            "'stride' argument.* must be an integer >= 1 or a pair",
        ),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"padding_mode": "reflect"}, ValueError, "padding_mode"),
    ],
)
@pytest.mark.parametrize("fn", [conv2d, conv2d_direct], ids=["im2col", "direct"])
def test_conv2d_clear_errors(fn, x_shape, w_shape, kwargs, error, match):
    with pytest.raises(error, match=match):
        fn(torch.zeros(x_shape), torch.zeros(w_shape), **kwargs)


def test_conv2d_errors_on_bias_dtype_and_device():
    x, w = torch.zeros(1, 2, 5, 5), torch.zeros(3, 2, 3, 3)
    with pytest.raises(ValueError, match=r"bias 'b' must have shape \(out_channels,\) = \(3,\)"):
        conv2d(x, w, torch.zeros(2))
    with pytest.raises(TypeError, match="same dtype"):
        conv2d(x, w.double())
    with pytest.raises(TypeError, match="floating-point"):
        conv2d(x.long(), w.long())
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        Conv2d(0, 3, 3)


# Shapes that take each path of conv2d's custom backward (dlcourse.cnn.conv._Conv2dIm2col):
# "wide" = stride 1 computed on the padded width (im2col and col2im in long runs),
# "transposed" = grad_x as a convolution of g with the flipped filters, "col2im" = scatter.
PATH_CASES = {
    "wide, transposed (the 3x3 block conv)": ((3, 4, 9, 10), (4, 4, 3, 3), 1, 1),
    "wide, transposed, padding > k - 1 (crops g)": ((2, 3, 6, 9), (3, 3, 3, 3), 1, (3, 2)),
    "wide, col2im (more output than input channels)": ((2, 2, 11, 12), (8, 2, 3, 3), 1, 0),
    "not wide, col2im (LeNet's conv2)": ((3, 6, 12, 12), (16, 6, 5, 5), 1, 0),
    "strided, col2im": ((2, 3, 9, 11), (4, 3, 3, 3), 2, 1),
}


def _path(xs, ws, stride, padding):
    from dlcourse.cnn.conv import _wide_rows

    s = (stride, stride) if isinstance(stride, int) else stride
    p = (padding, padding) if isinstance(padding, int) else padding
    ref = F.conv2d(torch.zeros(xs), torch.zeros(ws), None, s, p)
    ho, wo = ref.shape[-2:]
    wide = _wide_rows(s, ws[3], wo)
    transposed = wide and ws[0] * xs[2] * xs[3] <= 2 * ws[1] * ho * wo
    return wide, transposed


def test_path_cases_cover_every_path_of_the_backward():
    paths = {name: _path(*case) for name, case in PATH_CASES.items()}
    assert set(paths.values()) == {(True, True), (True, False), (False, False)}
    for name, (wide, transposed) in paths.items():
        assert name.startswith("wide" if wide else "not wide" if "strided" not in name else "s")
        assert ("transposed" in name) == transposed


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", PATH_CASES.values(), ids=list(PATH_CASES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_conv2d_paths_match_torch_values_and_gradients(case, dtype, device):
    xs, ws, stride, padding = case
    torch.manual_seed(0)
    x = torch.randn(*xs, dtype=dtype, device=device, requires_grad=True)
    w = torch.randn(*ws, dtype=dtype, device=device, requires_grad=True)
    b = torch.randn(ws[0], dtype=dtype, device=device, requires_grad=True)
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == torch.float32 else {"rtol": 1e-10, "atol": 1e-10}
    ours, ref = conv2d(x, w, b, stride, padding), F.conv2d(x, w, b, stride, padding)
    assert ours.is_contiguous() and ours.shape == ref.shape
    torch.testing.assert_close(ours, ref, **tol)
    g = torch.randn_like(ref)
    for a, e in zip(
        torch.autograd.grad(ours, (x, w, b), g), torch.autograd.grad(ref, (x, w, b), g), strict=True
    ):
        torch.testing.assert_close(a, e, **tol)


@pytest.mark.parametrize("case", PATH_CASES.values(), ids=list(PATH_CASES))
def test_conv2d_paths_gradcheck_and_gradgradcheck_float64(case):
    xs, ws, stride, padding = case
    c, o = min(xs[1], 2), min(ws[0], 3)  # smaller: gradcheck is O(numel^2)
    small_xs, small_ws = (1, c, *xs[2:]), (o, c, *ws[2:])
    assert _path(small_xs, small_ws, stride, padding) == _path(xs, ws, stride, padding)
    xs, ws = small_xs, small_ws
    torch.manual_seed(0)
    x = torch.randn(*xs, dtype=torch.float64, requires_grad=True)
    w = torch.randn(*ws, dtype=torch.float64, requires_grad=True)
    b = torch.randn(ws[0], dtype=torch.float64, requires_grad=True)

    def f(x, w, b):
        return conv2d(x, w, b, stride, padding)

    assert torch.autograd.gradcheck(f, (x, w, b))
    assert torch.autograd.gradgradcheck(f, (x, w, b))


def test_conv2d_wide_rows_with_circular_padding_matches_torch_gradients():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 10, dtype=torch.float64, requires_grad=True)
    ref = torch.nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular").double()
    w = ref.weight.detach().clone().requires_grad_(True)
    b = ref.bias.detach().clone().requires_grad_(True)
    ours = conv2d(x, w, b, padding=1, padding_mode="circular")
    expected = ref(x)
    torch.testing.assert_close(ours, expected)
    g = torch.randn_like(ours)
    got = torch.autograd.grad(ours, (x, w, b), g)
    want = torch.autograd.grad(expected, (x, ref.weight, ref.bias), g)
    for a, e in zip(got, want, strict=True):
        torch.testing.assert_close(a, e)


def test_previous_implementation_kept_for_the_benchmark_matches_torch():
    from dlcourse.cnn.conv import _conv2d_autograd

    torch.manual_seed(0)
    x = torch.randn(2, 3, 7, 8, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    ours, ref = _conv2d_autograd(x, w, None, 2, 1), F.conv2d(x, w, None, 2, 1)
    torch.testing.assert_close(ours, ref)
    g = torch.randn_like(ref)
    for a, e in zip(
        torch.autograd.grad(ours, (x, w), g), torch.autograd.grad(ref, (x, w), g), strict=True
    ):
        torch.testing.assert_close(a, e)
