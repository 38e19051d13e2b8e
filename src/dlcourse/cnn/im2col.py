"""Sliding windows and im2col: the patches a convolution or a pooling layer looks at.

Taught in the chapter *Convolutions, invariance and equivariance* (``book/convolutions``).

A 2-D layer with a ``kh x kw`` window, stride ``(sh, sw)`` and padding ``(ph, pw)`` looks at
the patch of the padded input :math:`\\tilde x` whose top-left corner is ``(i*sh, j*sw)``,
for every output position

.. math::

    0 \\le i < H_{out} = \\lfloor (H + 2p_h - k_h) / s_h \\rfloor + 1, \\qquad
    0 \\le j < W_{out} = \\lfloor (W + 2p_w - k_w) / s_w \\rfloor + 1 .

``sliding_windows`` returns all those patches as a *view* of the padded input (no copy:
``Tensor.unfold`` along the height, then along the width), of shape
``(N, C, H_out, W_out, kh, kw)``. ``im2col`` copies them into the columns of a matrix,
``(N, C*kh*kw, H_out*W_out)``, the layout of ``torch.nn.functional.unfold``; a convolution is
then one matrix product with the ``(C_out, C*kh*kw)`` matrix of flattened filters.

``col2im`` is the *adjoint* (transpose) of ``im2col``: it adds every column back onto the
pixels it was copied from, so a pixel covered by several windows receives the sum,

.. math:: \\langle \\mathrm{im2col}(x), c \\rangle = \\langle x, \\mathrm{col2im}(c) \\rangle .

That is exactly the gradient of ``im2col``, and ``im2col`` uses it as its backward rule
(one strided slice-add per kernel offset, ``kh*kw`` of them, instead of autograd's generic
rule for overlapping views, which is slower). Internally the columns are built with their
rows ordered (kernel row, kernel column, channel), so that the block of every kernel
offset is contiguous; ``conv._conv2d_autograd`` (the plain im2col convolution) orders the
filters' entries the same way. ``conv2d`` itself uses ``_patch_matrix`` (the layout of
``im2col``, one copy, no autograd) and its own backward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validation import (
    InvalidParameterError,
    as_image_batch,
    as_tensor,
    check_option,
    check_pair,
    invalid,
)

__all__ = ["output_size", "pad2d", "sliding_windows", "im2col", "col2im"]

_PADDING_MODES = ("zeros", "circular")


def output_size(
    input_size: tuple[int, int],
    kernel_size,
    stride=1,
    padding=0,
) -> tuple[int, int]:
    """Spatial output size ``(H_out, W_out)`` of a window sliding over ``input_size``.

    :math:`H_{out} = \\lfloor (H + 2p_h - k_h)/s_h \\rfloor + 1` (and the same for widths).

    Examples
    --------
    >>> output_size((28, 28), 5)
    (24, 24)
    >>> output_size((5, 5), 3, stride=2, padding=1)
    (3, 3)
    """
    h, w = check_pair(tuple(input_size), "input_size", low=1)
    kh, kw = check_pair(kernel_size, "kernel_size", low=1)
    sh, sw = check_pair(stride, "stride", low=1)
    ph, pw = check_pair(padding, "padding", low=0)
    if kh > h + 2 * ph or kw > w + 2 * pw:
        raise InvalidParameterError(
            f"The kernel ({kh}, {kw}) is larger than the padded input ({h + 2 * ph}, "
            f"{w + 2 * pw}) = input ({h}, {w}) + 2 * padding ({ph}, {pw}); "
            "use a smaller kernel_size or more padding."
        )
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def pad2d(x, padding, value: float = 0.0, mode: str = "zeros"):
    """Pad the last two dimensions of ``x`` by ``padding = (ph, pw)`` on each side.

    ``mode="zeros"`` fills with ``value`` (``-inf`` for max-pooling); ``mode="circular"``
    wraps around (the padding of a convolution on a torus, which makes it exactly
    equivariant to circular shifts).
    """
    ph, pw = check_pair(padding, "padding", low=0)
    check_option(mode, "padding_mode", _PADDING_MODES)
    if ph == 0 and pw == 0:
        return x
    if mode == "circular":
        if ph > x.shape[-2] or pw > x.shape[-1]:
            raise InvalidParameterError(
                f"Circular padding ({ph}, {pw}) cannot exceed the input size {tuple(x.shape[-2:])}."
            )
        return F.pad(x, (pw, pw, ph, ph), mode="circular")
    return F.pad(x, (pw, pw, ph, ph), mode="constant", value=value)


def sliding_windows(
    x,
    kernel_size,
    stride=1,
    padding=0,
    *,
    pad_value: float = 0.0,
    padding_mode: str = "zeros",
):
    """All ``kh x kw`` windows of a batch of images, as a view of shape (N, C, Ho, Wo, kh, kw).

    ``out[n, c, i, j, p, q] = x_pad[n, c, i*sh + p, j*sw + q]`` where ``x_pad`` is ``x``
    padded by ``padding`` (with ``pad_value``, or circularly).

    Parameters
    ----------
    x : tensor of shape (N, C, H, W) or (C, H, W)
    kernel_size, stride, padding : int or pair of ints
        ``stride >= 1``, ``padding >= 0``.
    pad_value : float
        Value of the padded border for ``padding_mode="zeros"`` (``-inf`` for max-pooling).
    padding_mode : {"zeros", "circular"}

    Returns
    -------
    tensor of shape (N, C, Ho, Wo, kh, kw) (or (C, Ho, Wo, kh, kw) for an unbatched ``x``)

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> sliding_windows(x, 2, stride=2)[0, 0, 1, 0]
    tensor([[ 8.,  9.],
            [12., 13.]])
    """
    x = as_tensor(x, "x")
    x4, unbatched = as_image_batch(x, "x")
    kh, kw = check_pair(kernel_size, "kernel_size", low=1)
    sh, sw = check_pair(stride, "stride", low=1)
    ph, pw = check_pair(padding, "padding", low=0)
    output_size(tuple(x4.shape[-2:]), (kh, kw), (sh, sw), (ph, pw))  # validates the sizes
    xp = pad2d(x4, (ph, pw), value=pad_value, mode=padding_mode)
    windows = xp.unfold(2, kh, sh).unfold(3, kw, sw)
    return windows[0] if unbatched else windows


def _col2im_core(cols, input_size, stride):
    """Adjoint of the column layout: cols (kh, kw, C, N, Ho, Wo) -> image (N, C, H, W).

    For each kernel offset (p, q), the block ``cols[p, q]`` came from the strided slice
    ``x[:, :, p::sh, q::sw]`` of the (padded) image: add it back there.
    """
    kh, kw, c, n, ho, wo = cols.shape
    h, w = input_size
    sh, sw = stride
    img = cols.new_zeros((c, n, h, w))
    for p in range(kh):
        for q in range(kw):
            img[:, :, p : p + sh * (ho - 1) + 1 : sh, q : q + sw * (wo - 1) + 1 : sw].add_(
                cols[p, q]
            )
    return img.permute(1, 0, 2, 3)


class _Im2Col(torch.autograd.Function):
    """im2col of an already padded batch (N, C, H, W) into columns of shape
    (kh, kw, C, N, Ho, Wo): ``cols[p, q, c, n, i, j] = x[n, c, i*sh + p, j*sw + q]``.
    Reshaped to (kh*kw*C, N*Ho*Wo) it is the matrix a convolution multiplies.
    Backward: col2im, the adjoint (one slice-add per kernel offset)."""

    @staticmethod
    def forward(ctx, xp, kernel_size, stride):
        kh, kw = kernel_size
        win = xp.unfold(2, kh, stride[0]).unfold(3, kw, stride[1])  # N C Ho Wo kh kw
        ctx.stride, ctx.input_size = stride, tuple(xp.shape[-2:])
        return win.permute(4, 5, 1, 0, 2, 3).contiguous()

    @staticmethod
    def backward(ctx, grad):
        return _col2im_core(grad, ctx.input_size, ctx.stride), None, None


def _patch_matrix(xp, kernel_size, stride):
    """The im2col matrix of an already padded batch, as one copy: (N, C*kh*kw, Ho*Wo).

    ``out[n, (c, p, q), i*Wo + j] = xp[n, c, i*sh + p, j*sw + q]``: the layout of
    :func:`im2col` and ``F.unfold`` (rows in the order of ``w.reshape(O, -1)``), built from
    the strided view of :func:`sliding_windows` by a single ``reshape`` copy. Plain torch
    operations, so autograd can differentiate it (``conv2d`` uses it without autograd in its
    forward, and with autograd only for second derivatives).
    """
    kh, kw = kernel_size
    n, c = xp.shape[:2]
    win = xp.unfold(2, kh, stride[0]).unfold(3, kw, stride[1])  # N C Ho Wo kh kw, a view
    ho, wo = win.shape[2:4]
    return win.permute(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)


def _unfold_columns(xp, kernel_size, stride):
    """Differentiable im2col of a padded batch: (kh, kw, C, N, Ho, Wo)."""
    return _Im2Col.apply(xp, kernel_size, stride)


def im2col(x, kernel_size, stride=1, padding=0, *, padding_mode: str = "zeros"):
    """Unfold the patches of ``x`` into columns: (N, C*kh*kw, L), as ``F.unfold`` does.

    Column ``l = i*W_out + j`` holds the patch under output position ``(i, j)``, flattened
    in the order (channel, row, column) of a filter ``w.reshape(C_out, -1)``, so that

    .. math:: \\mathrm{conv2d}(x, w)[n, o, l] = \\sum_r w_{\\text{flat}}[o, r]\\,
        \\mathrm{im2col}(x)[n, r, l].

    Its gradient is :func:`col2im`.

    Parameters
    ----------
    x : tensor of shape (N, C, H, W) or (C, H, W)
    kernel_size, stride, padding : int or pair of ints
    padding_mode : {"zeros", "circular"}

    Returns
    -------
    tensor of shape (N, C*kh*kw, H_out*W_out) (or (C*kh*kw, L) for an unbatched ``x``)

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(9.0).reshape(1, 1, 3, 3)
    >>> im2col(x, 2)[0]
    tensor([[0., 1., 3., 4.],
            [1., 2., 4., 5.],
            [3., 4., 6., 7.],
            [4., 5., 7., 8.]])
    """
    x = as_tensor(x, "x")
    x4, unbatched = as_image_batch(x, "x")
    kernel = check_pair(kernel_size, "kernel_size", low=1)
    stride = check_pair(stride, "stride", low=1)
    padding = check_pair(padding, "padding", low=0)
    ho, wo = output_size(tuple(x4.shape[-2:]), kernel, stride, padding)
    xp = pad2d(x4, padding, mode=padding_mode)
    blocks = _unfold_columns(xp, kernel, stride)  # (kh, kw, C, N, Ho, Wo)
    kh, kw, c, n = blocks.shape[:4]
    cols = blocks.permute(3, 2, 0, 1, 4, 5).reshape(n, c * kh * kw, ho * wo)
    return cols[0] if unbatched else cols


def col2im(cols, input_size, kernel_size, stride=1, padding=0):
    """Add columns back onto the image they came from: the adjoint of :func:`im2col`.

    ``out[n, c, i*sh + p - ph, j*sw + q - pw] += cols[n, (c, p, q), i*W_out + j]`` for every
    window position ``(i, j)`` and kernel offset ``(p, q)``; contributions falling on the
    padding are dropped. Same result as ``torch.nn.functional.fold``.

    Parameters
    ----------
    cols : tensor of shape (N, C*kh*kw, L) or (C*kh*kw, L)
    input_size : pair of ints
        ``(H, W)`` of the image the columns were taken from.
    kernel_size, stride, padding : int or pair of ints

    Returns
    -------
    tensor of shape (N, C, H, W) (or (C, H, W) for unbatched ``cols``)

    Examples
    --------
    >>> import torch
    >>> col2im(torch.ones(1, 4, 4), (3, 3), 2)[0, 0]  # how many 2x2 windows cover a pixel
    tensor([[1., 2., 1.],
            [2., 4., 2.],
            [1., 2., 1.]])
    """
    cols = as_tensor(cols, "cols")
    unbatched = cols.ndim == 2
    if unbatched:
        cols = cols.unsqueeze(0)
    if cols.ndim != 3:
        raise invalid(
            "cols", "3-D (N, C*kh*kw, L) or 2-D (C*kh*kw, L)", got=f"shape {tuple(cols.shape)}"
        )
    h, w = check_pair(tuple(input_size), "input_size", low=1)
    kh, kw = check_pair(kernel_size, "kernel_size", low=1)
    stride = check_pair(stride, "stride", low=1)
    ph, pw = check_pair(padding, "padding", low=0)
    ho, wo = output_size((h, w), (kh, kw), stride, (ph, pw))
    n, rows, length = cols.shape
    if rows % (kh * kw) != 0 or length != ho * wo:
        raise invalid(
            "cols",
            f"of shape (N, C*{kh}*{kw}, {ho * wo}) for input_size {(h, w)}, "
            f"kernel_size {(kh, kw)}, stride {stride}, padding {(ph, pw)}",
            got=f"shape {tuple(cols.shape)}",
        )
    c = rows // (kh * kw)
    core = cols.reshape(n, c, kh, kw, ho, wo).permute(2, 3, 1, 0, 4, 5)  # kh kw C N Ho Wo
    img = _col2im_core(core, (h + 2 * ph, w + 2 * pw), stride)
    img = img[:, :, ph : ph + h, pw : pw + w]
    return img[0] if unbatched else img
