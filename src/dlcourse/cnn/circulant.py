"""Convolution as a matrix: circulant, Toeplitz and their 2-D (doubly block) versions.

Taught in the chapter *Convolutions, invariance and equivariance* (``book/convolutions``).

A convolution is linear, so it is a matrix; weight sharing makes that matrix constant along
its diagonals. For the 1-D *circular* cross-correlation of a signal of length ``n`` with a
filter ``w`` of length ``k <= n``,

.. math:: (C x)_i = \\sum_{j=0}^{k-1} w_j\\, x_{(i + j) \\bmod n},
    \\qquad C_{i, (i + j) \\bmod n} = w_j ,

``C`` is *circulant*: each row is the previous one shifted right by one place. Circulant
matrices commute with the cyclic shift, and the discrete Fourier basis diagonalises all of
them at once (the eigenvalues of ``C`` are the DFT of its first row, up to conjugation).
Without wrap-around (a "valid" 2-D convolution of an ``H x W`` image) the matrix is *doubly
block Toeplitz*: a block matrix whose blocks are constant along block diagonals and are
themselves Toeplitz. With wrap-around in 2-D it is *doubly block circulant*.

Every function takes NumPy arrays or torch tensors and returns the same kind (torch
results are differentiable in ``w``).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._validation import InvalidParameterError, as_array_or_tensor, check_pair, invalid
from .im2col import output_size

__all__ = ["conv1d_circular", "conv2d_circular", "circulant", "circulant2d", "conv_matrix"]


def _check_array(name: str, value, ndim: int):
    value = as_array_or_tensor(value, name)
    if value.ndim != ndim:
        raise invalid(name, f"{ndim}-D", got=f"shape {tuple(value.shape)} ({value.ndim}-D)")
    return value


def _check_size(name: str, value) -> int:
    if (
        not isinstance(value, (numbers.Integral, np.integer))
        or isinstance(value, bool)
        or value < 1
    ):
        raise invalid(name, "a positive integer", value)
    return int(value)


def _zeros_like(w, shape):
    if isinstance(w, torch.Tensor):
        return torch.zeros(shape, dtype=w.dtype, device=w.device)
    return np.zeros(shape, dtype=np.result_type(w.dtype, np.float64))


def _roll(x, shift: int, axis: int):
    if isinstance(x, torch.Tensor):
        return torch.roll(x, shift, dims=axis)
    return np.roll(x, shift, axis=axis)


def conv1d_circular(x, w):
    """1-D circular cross-correlation along the last axis: (Cx)[i] = sum_k w[k] x[(i+k) mod n].

    Parameters
    ----------
    x : array or tensor of shape (..., n)
    w : 1-D array or tensor of length k <= n

    Returns
    -------
    array or tensor of shape (..., n), the kind of ``x``

    Examples
    --------
    >>> import numpy as np
    >>> conv1d_circular(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, -1.0]))
    array([-1., -1., -1.,  3.])
    """
    if not isinstance(x, (np.ndarray, torch.Tensor)):
        x = np.asarray(x, dtype=float)
    if x.ndim < 1:
        raise InvalidParameterError(
            "The 'x' argument must have at least one dimension (the signal)."
        )
    w = _check_array("w", w, 1)
    n, k = x.shape[-1], w.shape[0]
    if k > n:
        raise InvalidParameterError(
            f"The filter w (length {k}) is longer than the signal x (length {n})."
        )
    if isinstance(x, torch.Tensor) and not isinstance(w, torch.Tensor):
        w = torch.as_tensor(w, dtype=x.dtype, device=x.device)
    out = 0
    for j in range(k):
        out = out + w[j] * _roll(x, -j, -1)  # _roll(x, -j)[i] = x[(i + j) mod n]
    return out


def conv2d_circular(x, w):
    """2-D circular cross-correlation of the last two axes (a single-channel filter).

    :math:`y[i, j] = \\sum_{p, q} w[p, q]\\, x[(i + p) \\bmod H, (j + q) \\bmod W]`.

    Parameters
    ----------
    x : array or tensor of shape (..., H, W)
    w : 2-D array or tensor of shape (kh, kw) with kh <= H, kw <= W

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(9.0).reshape(3, 3)
    >>> conv2d_circular(x, np.array([[0.0, 1.0]]))    # shifts the columns left by one
    array([[1., 2., 0.],
           [4., 5., 3.],
           [7., 8., 6.]])
    """
    if not isinstance(x, (np.ndarray, torch.Tensor)):
        x = np.asarray(x, dtype=float)
    if x.ndim < 2:
        raise InvalidParameterError(
            f"The 'x' argument must have at least 2 dimensions. Got {x.ndim}."
        )
    w = _check_array("w", w, 2)
    (h, wd), (kh, kw) = x.shape[-2:], w.shape
    if kh > h or kw > wd:
        raise InvalidParameterError(
            f"The filter w {tuple(w.shape)} is larger than the image {(h, wd)}."
        )
    if isinstance(x, torch.Tensor) and not isinstance(w, torch.Tensor):
        w = torch.as_tensor(w, dtype=x.dtype, device=x.device)
    out = 0
    for p in range(kh):
        for q in range(kw):
            out = out + w[p, q] * _roll(_roll(x, -p, -2), -q, -1)
    return out


def circulant(w, n: int):
    """The n x n circulant matrix C of the circular cross-correlation with ``w``.

    :math:`C_{i,(i+j) \\bmod n} = w_j` for :math:`0 \\le j < k`, zero elsewhere, so that
    ``C @ x == conv1d_circular(x, w)``. Row ``i`` is row 0 shifted right by ``i`` places.

    Parameters
    ----------
    w : 1-D array or tensor of length k
    n : int >= k
        Length of the signals.

    Returns
    -------
    array or tensor of shape (n, n), the kind of ``w`` (differentiable in ``w`` for torch)

    Examples
    --------
    >>> import numpy as np
    >>> circulant(np.array([1.0, 2.0, 3.0]), 4)
    array([[1., 2., 3., 0.],
           [0., 1., 2., 3.],
           [3., 0., 1., 2.],
           [2., 3., 0., 1.]])
    """
    w = _check_array("w", w, 1)
    n = _check_size("n", n)
    k = w.shape[0]
    if k > n:
        raise InvalidParameterError(
            f"The filter w (length {k}) is longer than the signal length n = {n}."
        )
    first_row = _zeros_like(w, (n,))
    first_row[:k] = w  # row 0: w followed by zeros
    idx = (np.arange(n)[None, :] - np.arange(n)[:, None]) % n  # C[i, j] = row0[(j - i) mod n]
    if isinstance(w, torch.Tensor):
        return first_row[torch.as_tensor(idx, device=w.device)]
    return first_row[idx]


def circulant2d(w, shape):
    """The (H*W) x (H*W) doubly block circulant matrix of 2-D circular cross-correlation.

    ``circulant2d(w, (H, W)) @ x.ravel() == conv2d_circular(x, w).ravel()`` for an image
    ``x`` of shape (H, W). It is an H x H circulant arrangement of W x W blocks, block
    ``(a, (a + p) mod H)`` being ``circulant(w[p], W)``.

    Parameters
    ----------
    w : 2-D array or tensor of shape (kh, kw)
    shape : pair of ints (H, W) with H >= kh, W >= kw

    Returns
    -------
    array or tensor of shape (H*W, H*W), the kind of ``w``

    Examples
    --------
    >>> import numpy as np
    >>> circulant2d(np.ones((2, 2)), (3, 3)).shape
    (9, 9)
    """
    w = _check_array("w", w, 2)
    h, wd = check_pair(tuple(shape), "shape", low=1)
    kh, kw = w.shape
    if kh > h or kw > wd:
        raise InvalidParameterError(
            f"The filter w {tuple(w.shape)} is larger than the image shape {(h, wd)}."
        )
    m = _zeros_like(w, (h * wd, h * wd))
    for p in range(kh):
        block = circulant(w[p], wd)
        for a in range(h):
            col = (a + p) % h
            m[a * wd : (a + 1) * wd, col * wd : (col + 1) * wd] = (
                m[a * wd : (a + 1) * wd, col * wd : (col + 1) * wd] + block
            )
    return m


def conv_matrix(w, input_shape, stride=1, padding=0):
    """The matrix M of a single-channel 2-D convolution: M @ x.ravel() == conv2d(x, w).ravel().

    Row ``i*W_out + j`` (output position) holds the filter laid over the input pixels that
    window covers: :math:`M[iW_{out}+j,\\ rW + s] = w[r - i s_h + p_h,\\ s - j s_w + p_w]` when
    that index lies in the filter, 0 otherwise; pixels of the zero padding have no column.
    For stride 1 it is *doubly block Toeplitz*: an H_out x H block matrix, block
    ``(i, r)`` depending only on ``r - i``, each block a W_out x W Toeplitz matrix. A 5x5
    input and a 3x3 filter give a 9 x 25 matrix.

    Parameters
    ----------
    w : 2-D array or tensor of shape (kh, kw)
    input_shape : pair of ints (H, W)
    stride, padding : int or pair of ints

    Returns
    -------
    array or tensor of shape (H_out*W_out, H*W), the kind of ``w``

    Examples
    --------
    >>> import numpy as np
    >>> conv_matrix(np.ones((3, 3)), (5, 5)).shape
    (9, 25)
    >>> conv_matrix(np.array([[1.0, 2.0]]), (1, 3))
    array([[1., 2., 0.],
           [0., 1., 2.]])
    """
    w = _check_array("w", w, 2)
    h, wd = check_pair(tuple(input_shape), "input_shape", low=1)
    sh, sw = check_pair(stride, "stride", low=1)
    ph, pw = check_pair(padding, "padding", low=0)
    kh, kw = w.shape
    ho, wo = output_size((h, wd), (kh, kw), (sh, sw), (ph, pw))
    # every (output position, filter offset) pair and the input pixel it touches
    i, j, p, q = np.meshgrid(
        np.arange(ho), np.arange(wo), np.arange(kh), np.arange(kw), indexing="ij"
    )
    r, s = i * sh + p - ph, j * sw + q - pw
    inside = (r >= 0) & (r < h) & (s >= 0) & (s < wd)
    rows = (i * wo + j)[inside]
    cols = (r * wd + s)[inside]
    m = _zeros_like(w, (ho * wo, h * wd))
    if isinstance(w, torch.Tensor):
        dev = w.device
        m = m.index_put(
            (torch.as_tensor(rows, device=dev), torch.as_tensor(cols, device=dev)),
            w[torch.as_tensor(p[inside], device=dev), torch.as_tensor(q[inside], device=dev)],
        )
    else:
        m[rows, cols] = w[p[inside], q[inside]]  # each (row, col) pair occurs once
    return m
