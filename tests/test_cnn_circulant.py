"""Convolution as a matrix: circulant / doubly block Toeplitz / doubly block circulant,
checked against torch's conv2d, the FFT and the definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.cnn import (
    circulant,
    circulant2d,
    conv1d_circular,
    conv2d,
    conv2d_circular,
    conv_matrix,
)


def _corr_by_definition(x, w):
    n, k = len(x), len(w)
    return np.array([sum(w[j] * x[(i + j) % n] for j in range(k)) for i in range(n)])


@pytest.mark.parametrize("n,k", [(1, 1), (5, 3), (8, 8), (12, 4)])
def test_circulant_times_x_is_circular_correlation(n, k):
    rng = np.random.default_rng(n * 10 + k)
    w, x = rng.standard_normal(k), rng.standard_normal(n)
    c = circulant(w, n)
    assert c.shape == (n, n) and isinstance(c, np.ndarray)
    expected = _corr_by_definition(x, w)
    np.testing.assert_allclose(c @ x, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv1d_circular(x, w), expected, rtol=1e-12, atol=1e-12)
    # the FFT (an independent route): correlation = ifft(conj(fft(w_pad)) * fft(x))
    w_pad = np.concatenate([w, np.zeros(n - k)])
    via_fft = np.fft.ifft(np.conj(np.fft.fft(w_pad)) * np.fft.fft(x)).real
    np.testing.assert_allclose(c @ x, via_fft, rtol=1e-10, atol=1e-10)


def test_circulant_rows_are_shifts_of_the_first_row_and_it_commutes_with_the_shift():
    w = np.array([1.0, 2.0, 3.0])
    c = circulant(w, 6)
    np.testing.assert_array_equal(c[0], [1, 2, 3, 0, 0, 0])
    for i in range(1, 6):
        np.testing.assert_array_equal(c[i], np.roll(c[i - 1], 1))
    shift = np.roll(np.eye(6), 1, axis=0)  # the cyclic shift as a permutation matrix
    np.testing.assert_allclose(c @ shift, shift @ c)


@pytest.mark.parametrize("n,k", [(6, 3), (7, 2), (16, 5)])
def test_circulant_is_diagonalised_by_the_dft(n, k):
    rng = np.random.default_rng(n)
    w = rng.standard_normal(k)
    c = circulant(w, n)
    # Fourier modes v_m[j] = exp(2 pi i j m / n) are eigenvectors, eigenvalues = conj(DFT(row 0))
    j = np.arange(n)
    modes = np.exp(2j * np.pi * np.outer(j, j) / n)
    lam = np.conj(np.fft.fft(c[0]))
    np.testing.assert_allclose(c @ modes, modes * lam[None, :], atol=1e-10)
    # and they are all the eigenvalues, with multiplicity (compare the sorted spectra)
    eig = np.linalg.eigvals(c)
    key = lambda z: (np.round(z.real, 8), np.round(z.imag, 8))  # noqa: E731
    np.testing.assert_allclose(sorted(eig, key=key), sorted(lam, key=key), atol=1e-8)


def test_circulant_torch_in_torch_out_and_differentiable():
    w = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    x = torch.randn(7, dtype=torch.float64)
    c = circulant(w, 7)
    assert isinstance(c, torch.Tensor) and c.dtype == torch.float64
    torch.testing.assert_close(c @ x, conv1d_circular(x, w))
    (c @ x).sum().backward()
    # d/dw_j sum_i sum_j w_j x[i+j] = sum_i x[i+j] = sum(x) for every j
    torch.testing.assert_close(w.grad, x.sum().expand(3))


def test_conv1d_circular_batched_over_leading_axes():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 2, 9)), rng.standard_normal(4)
    got = conv1d_circular(x, w)
    for idx in np.ndindex(3, 2):
        np.testing.assert_allclose(got[idx], circulant(w, 9) @ x[idx])


def test_conv_matrix_of_the_5x5_by_3x3_example():
    w = np.arange(1.0, 10.0).reshape(3, 3)
    m = conv_matrix(w, (5, 5))
    assert m.shape == (9, 25)
    # row 0: the filter's rows land on input rows 0, 1, 2, each followed by 2 zeros
    np.testing.assert_array_equal(m[0], [1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 7, 8, 9] + [0] * 12)
    x = np.arange(25.0).reshape(5, 5)
    expected = F.conv2d(torch.tensor(x)[None, None], torch.tensor(w)[None, None])
    np.testing.assert_allclose(m @ x.ravel(), expected.numpy().ravel())
    assert np.count_nonzero(m) == 9 * 9  # each output pixel reads 9 inputs


def test_conv_matrix_is_doubly_block_toeplitz():
    rng = np.random.default_rng(0)
    kh, kw, h, wd = 3, 2, 6, 5
    w = rng.standard_normal((kh, kw))
    m = conv_matrix(w, (h, wd))
    ho, wo = h - kh + 1, wd - kw + 1
    blocks = m.reshape(ho, wo, h, wd).transpose(0, 2, 1, 3)  # blocks[i, r]: (wo, wd)
    for i in range(ho):
        for r in range(h):
            d = r - i
            if 0 <= d < kh:  # block (i, r) depends only on r - i ...
                np.testing.assert_array_equal(blocks[i, r], blocks[0, d])
                # ... and is itself Toeplitz: entry (j, s) depends only on s - j, = w[d, s - j]
                for j in range(wo):
                    for s in range(wd):
                        expected = w[d, s - j] if 0 <= s - j < kw else 0.0
                        assert blocks[i, r][j, s] == expected
            else:
                assert not blocks[i, r].any()


@pytest.mark.parametrize(
    "shape,k,stride,padding",
    [((5, 5), (3, 3), 1, 0), ((6, 7), (3, 2), 2, 1), ((4, 9), (1, 4), (1, 3), (2, 0))],
)
def test_conv_matrix_matches_conv2d_with_stride_and_padding(shape, k, stride, padding):
    rng = np.random.default_rng(1)
    w, x = rng.standard_normal(k), rng.standard_normal(shape)
    m = conv_matrix(w, shape, stride, padding)
    got = m @ x.ravel()
    expected = F.conv2d(
        torch.tensor(x)[None, None], torch.tensor(w)[None, None], None, stride, padding
    )
    assert m.shape == (expected.numel(), x.size)
    np.testing.assert_allclose(got, expected.numpy().ravel(), rtol=1e-12, atol=1e-12)
    # the same with our conv2d and torch inputs (differentiable in w)
    wt = torch.tensor(w, requires_grad=True)
    mt = conv_matrix(wt, shape, stride, padding)
    out = conv2d(torch.tensor(x)[None, None], wt[None, None], None, stride, padding)
    torch.testing.assert_close(mt @ torch.tensor(x).ravel(), out.ravel())
    g = torch.autograd.grad((mt @ torch.tensor(x).ravel()).sum(), wt)[0]
    g_ref = torch.autograd.grad(out.sum(), wt)[0]
    torch.testing.assert_close(g, g_ref)


def test_conv_matrix_transpose_is_the_gradient_wrt_the_input():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((3, 3))
    m = conv_matrix(w, (6, 6), stride=2, padding=1)
    x = torch.tensor(rng.standard_normal((1, 1, 6, 6)), requires_grad=True)
    out = conv2d(x, torch.tensor(w)[None, None], stride=2, padding=1)
    g = torch.tensor(rng.standard_normal(out.shape))
    (gx,) = torch.autograd.grad(out, x, g)
    np.testing.assert_allclose(gx.numpy().ravel(), m.T @ g.numpy().ravel())


@pytest.mark.parametrize("shape,k", [((4, 5), (2, 3)), ((6, 6), (3, 3)), ((3, 3), (3, 3))])
def test_circulant2d_matches_torch_conv_with_circular_padding(shape, k):
    rng = np.random.default_rng(3)
    w, x = rng.standard_normal(k), rng.standard_normal(shape)
    c = circulant2d(w, shape)
    assert c.shape == (x.size, x.size)
    xt = torch.tensor(x)[None, None]
    padded = F.pad(xt, (0, k[1] - 1, 0, k[0] - 1), mode="circular")  # wrap right/bottom
    expected = F.conv2d(padded, torch.tensor(w)[None, None]).numpy().ravel()
    np.testing.assert_allclose(c @ x.ravel(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv2d_circular(x, w).ravel(), expected, rtol=1e-12, atol=1e-12)


def test_circulant2d_is_doubly_block_circulant_and_diagonalised_by_the_2d_dft():
    rng = np.random.default_rng(4)
    h, wd = 4, 5
    w = rng.standard_normal((3, 2))
    c = circulant2d(w, (h, wd))
    blocks = c.reshape(h, wd, h, wd).transpose(0, 2, 1, 3)
    for a in range(h):
        for b in range(h):
            np.testing.assert_array_equal(blocks[a, b], blocks[0, (b - a) % h])
            blk = blocks[a, b]
            for i in range(1, wd):
                np.testing.assert_array_equal(blk[i], np.roll(blk[i - 1], 1))
    # eigenvalues: conj of the 2-D DFT of the zero-padded filter
    w_pad = np.zeros((h, wd))
    w_pad[:3, :2] = w
    lam = np.conj(np.fft.fft2(w_pad)).ravel()
    yy, xx = np.meshgrid(np.arange(h), np.arange(wd), indexing="ij")
    for m in range(h):
        for n in range(wd):
            v = np.exp(2j * np.pi * (yy * m / h + xx * n / wd)).ravel()
            np.testing.assert_allclose(c @ v, lam[m * wd + n] * v, atol=1e-10)


def test_torch_versions_keep_dtype_and_device():
    w = torch.randn(2, 3, dtype=torch.float32)
    assert circulant2d(w, (4, 4)).dtype == torch.float32
    assert conv_matrix(w, (4, 4)).dtype == torch.float32
    x = torch.randn(4, 4)
    torch.testing.assert_close(circulant2d(w, (4, 4)) @ x.ravel(), conv2d_circular(x, w).ravel())


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: circulant(np.ones(5), 3), ValueError, "longer than the signal length n = 3"),
        (lambda: circulant(np.ones((2, 2)), 3), ValueError, "'w' argument.* must be 1-D"),
        (lambda: circulant(np.ones(2), 0), ValueError, "'n' argument.* must be a positive integer"),
        (lambda: circulant("abc", 4), TypeError, "a NumPy array, a torch tensor or a list"),
        (lambda: conv1d_circular(np.ones(3), np.ones(4)), ValueError, "longer than the signal"),
        (lambda: conv_matrix(np.ones((3, 3)), (2, 2)), ValueError, "larger than the padded input"),
        (lambda: conv_matrix(np.ones(3), (5, 5)), ValueError, "'w' argument.* must be 2-D"),
        (lambda: conv_matrix(np.ones((3, 3)), (5, 5), stride=0), ValueError, "'stride'"),
        (lambda: circulant2d(np.ones((3, 3)), (2, 5)), ValueError, "larger than the image"),
        (lambda: conv2d_circular(np.ones(4), np.ones((1, 1))), ValueError, "at least 2"),
    ],
)
def test_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
