"""2-D convolution from scratch: im2col + one matrix product, and a loop-by-loop reference.

Taught in the chapter *Convolutions, invariance and equivariance* (``book/convolutions``).

A convolution layer (in deep learning: a cross-correlation, the kernel is not flipped) maps
``x`` of shape (N, C, H, W) with filters ``w`` of shape (O, C, kh, kw) and bias ``b`` to

.. math::

    y[n, o, i, j] = b[o] + \\sum_{c=0}^{C-1} \\sum_{p=0}^{k_h-1} \\sum_{q=0}^{k_w-1}
        w[o, c, p, q]\\; \\tilde x[n, c, i s_h + p, j s_w + q],

where :math:`\\tilde x` is ``x`` zero-padded by ``padding`` (or wrapped around with
``padding_mode="circular"``). ``conv2d_direct`` computes this with a Python loop over the
output positions (slow, a readable reference). ``conv2d`` copies every patch into a column
(:func:`~dlcourse.cnn.im2col.im2col`) so that the whole layer is one matrix product
``W_flat @ cols[n]`` of a (O, C*kh*kw) by a (C*kh*kw, H_out*W_out) matrix per image (one
batched product, ``torch.bmm``). Same results as ``torch.nn.functional.conv2d``.

``conv2d`` is one autograd node with a hand-written backward (``_Conv2dIm2col``): the
bias gradient is a sum of the output gradient g, the filters' gradient one batched product
``g[n] @ cols[n]^T``, and the input's gradient a *transposed convolution*: the convolution
of g, zero-padded by k - 1 - p, with the flipped filters ``w[:, :, ::-1, ::-1]`` with the
channel axes swapped (stride 1), or col2im, the adjoint of im2col, of ``W_flat^T @ g``.
Stride-1 layers are computed on the full padded width ("wide rows", see ``_columns``), so
that the copies move long contiguous runs. Together about 1.5-2 times the time of
``F.conv2d`` on the chapter's 3x3 layers (``tests/benchmarks/bench_cnn.py``).

``_conv2d_autograd`` is the plainer version the chapter's text describes line by line:
im2col (its backward is col2im), one ``addmm``, and autograd for everything else. Same
numbers; on the 3x3 layers it is slower (about 1.3 times with one thread, several times
with two threads on a busy machine), on LeNet's 5x5 layers about as fast.
"""

from __future__ import annotations

import math

import torch

from .._validation import (
    InvalidParameterError,
    as_image_batch,
    as_tensor,
    check_option,
    check_pair,
    check_scalar,
    invalid,
)
from .im2col import _patch_matrix, _unfold_columns, output_size, pad2d

__all__ = ["conv2d", "conv2d_direct", "Conv2d"]


def _check_conv_args(x, w, b, stride, padding, padding_mode):
    """Validate and normalise the arguments of conv2d / conv2d_direct."""
    x = as_tensor(x, "x")
    w = as_tensor(w, "w", like=x)
    x4, unbatched = as_image_batch(x, "x")
    if w.ndim != 4:
        raise invalid(
            "w",
            "a 4-D tensor of filters (out_channels, in_channels, kh, kw)",
            got=f"shape {tuple(w.shape)} ({w.ndim}-D)",
        )
    if x4.shape[1] != w.shape[1]:
        raise InvalidParameterError(
            f"Channel mismatch: x has {x4.shape[1]} channels (shape {tuple(x.shape)}) but the "
            f"filters w expect {w.shape[1]} input channels (shape {tuple(w.shape)})."
        )
    if not (x4.is_floating_point() and w.is_floating_point()):
        raise InvalidParameterError(
            f"conv2d needs floating-point x and w. Got x of dtype {x4.dtype} and w of dtype "
            f"{w.dtype}; convert with .float()."
        )
    if x4.dtype != w.dtype:
        raise InvalidParameterError(
            f"x and w must have the same dtype. Got x {x4.dtype} and w {w.dtype}; convert one "
            "of them with .to(other.dtype)."
        )
    if x4.device != w.device:
        raise InvalidParameterError(
            f"x and w must be on the same device. Got x on {x4.device}, w on {w.device}."
        )
    if b is not None:
        b = as_tensor(b, "b", like=x4)
        if b.shape != (w.shape[0],):
            raise InvalidParameterError(
                f"The bias 'b' must have shape (out_channels,) = ({w.shape[0]},). "
                f"Got shape {tuple(b.shape)}."
            )
        if b.dtype != x4.dtype:
            raise InvalidParameterError(f"b must have the dtype of x ({x4.dtype}). Got {b.dtype}.")
    stride = check_pair(stride, "stride", low=1)
    padding = check_pair(padding, "padding", low=0)
    out_hw = output_size(tuple(x4.shape[-2:]), tuple(w.shape[-2:]), stride, padding)
    check_option(padding_mode, "padding_mode", ("zeros", "circular"))
    return x4, unbatched, w, b, stride, padding, out_hw


def conv2d(x, w, b=None, stride=1, padding=0, *, padding_mode: str = "zeros"):
    """2-D convolution (cross-correlation) of a batch by im2col and one matrix product.

    .. math:: y[n, o, i, j] = b[o] + \\sum_{c, p, q} w[o, c, p, q]\\,
        \\tilde x[n, c, i s_h + p, j s_w + q]

    computed as ``W_flat @ im2col(x)[n]`` with ``W_flat = w.reshape(O, C*kh*kw)`` (one
    batched matrix product for the whole batch), with a hand-written backward (the input's
    gradient is a transposed convolution or col2im; see the module docstring). Never calls
    ``F.conv2d`` or ``F.unfold``; matches ``torch.nn.functional.conv2d`` (values and
    gradients, on any device; second derivatives too).

    Parameters
    ----------
    x : tensor of shape (N, C, H, W) or (C, H, W)
        Floating point. NumPy arrays are converted to tensors.
    w : tensor of shape (O, C, kh, kw)
        The filters, same dtype and device as ``x``.
    b : tensor of shape (O,), optional
        One bias per output channel.
    stride : int or pair of ints, >= 1
    padding : int or pair of ints, >= 0
        Added on both sides of the height and the width.
    padding_mode : {"zeros", "circular"}
        ``"circular"`` pads by wrapping around (a convolution on the torus), which makes a
        stride-1 convolution exactly equivariant to circular shifts.

    Returns
    -------
    tensor of shape (N, O, H_out, W_out) (or (O, H_out, W_out) for an unbatched ``x``),
    with :math:`H_{out} = \\lfloor (H + 2p_h - k_h)/s_h \\rfloor + 1`.

    Raises
    ------
    ValueError
        Wrong number of dimensions, channel mismatch, a kernel larger than the padded input,
        non-positive stride or negative padding.

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(25.0).reshape(1, 1, 5, 5)
    >>> w = torch.ones(1, 1, 3, 3)          # sums each 3x3 patch
    >>> conv2d(x, w)[0, 0]
    tensor([[ 54.,  63.,  72.],
            [ 99., 108., 117.],
            [144., 153., 162.]])
    """
    x4, unbatched, w, b, stride, padding, _ = _check_conv_args(
        x, w, b, stride, padding, padding_mode
    )
    if padding_mode == "circular":  # wrap around first; autograd folds the border back
        x4, padding = pad2d(x4, padding, mode="circular"), (0, 0)
    out = _Conv2dIm2col.apply(x4, w, b, stride, padding)
    return out[0] if unbatched else out


_WIDE_WASTE = 4


def _wide_rows(stride, kw, wo) -> bool:
    """Compute a stride-1 layer on the full padded width (see :func:`_columns`)?

    Yes when the kw - 1 extra columns per row cost at most a quarter more work."""
    return tuple(stride) == (1, 1) and _WIDE_WASTE * (kw - 1) <= wo


def _columns(x, kernel_size, stride, padding, wide):
    """Pad ``x`` with zeros and build its im2col matrix with one copy: (N, C*kh*kw, L).

    Rows are ordered (c, p, q) like ``w.reshape(O, -1)``. Plain layout (``wide=False``):
    ``L = Ho*Wo``, column ``i*Wo + j`` is the window at (i, j) (:func:`_patch_matrix`).

    Wide layout (stride 1): ``L = Ho*Wp``, one column per position of the *padded* width.
    Row (c, p, q) of image n is then a single contiguous run of the flattened padded image,
    ``xp[n, c].ravel()[p*Wp + q : p*Wp + q + Ho*Wp]`` (a strided view, copied in long runs
    instead of rows of Wo numbers: 2-3 times faster); the ``kw - 1`` columns ``j >= Wo`` of
    every row straddle two image rows and are thrown away after the product (an extra zero
    row at the bottom keeps the last runs inside the image). ``padding`` may be negative
    (crops; the transposed convolution of the backward pass, outside autograd, uses it).
    """
    (kh, kw), (ph, pw) = kernel_size, padding
    n, c = x.shape[:2]
    if not wide:
        xp = torch.nn.functional.pad(x, (pw, pw, ph, ph)) if (ph, pw) != (0, 0) else x
        return _patch_matrix(xp, (kh, kw), stride)
    xp = torch.nn.functional.pad(x, (pw, pw, ph, ph + 1))  # contiguous, one slack row
    hp, wp = xp.shape[2] - 1, xp.shape[3]
    ho = hp - kh + 1
    runs = xp.as_strided((n, c, kh, kw, ho * wp), (xp.stride(0), xp.stride(1), wp, 1, 1))
    return runs.reshape(n, c * kh * kw, ho * wp)


def _conv_forward(x, w, b, stride, padding, wide):
    """``conv2d`` with zero padding, without autograd: (output, im2col matrix).

    One copy (the im2col matrix) and one batched matrix product ``w.reshape(O, -1) @
    cols[n]`` for every image n (the batch of ``bmm``), written straight into an
    (N, O, Ho, ·) output: no permutation afterwards (only the wide layout's crop).
    """
    n = x.shape[0]
    o, _, kh, kw = w.shape
    cols = _columns(x, (kh, kw), stride, padding, wide)  # (N, C*kh*kw, L)
    w_flat = w.reshape(o, -1).expand(n, -1, -1)  # the same matrix for every image, no copy
    if b is None:
        out = torch.bmm(w_flat, cols)
    else:
        out = torch.baddbmm(b.view(1, o, 1).expand(n, -1, cols.shape[2]), w_flat, cols)
    ho = (x.shape[2] + 2 * padding[0] - kh) // stride[0] + 1
    wo = (x.shape[3] + 2 * padding[1] - kw) // stride[1] + 1
    out = out.view(n, o, ho, -1)
    return (out[..., :wo].contiguous() if wide else out), cols


def _input_grad(g, w, input_hw, stride, padding, g_rows=None):
    """Gradient of ``conv2d`` with respect to its (unpadded) input x, shape (N, C, H, W).

    ``dL/dx[n, c, u, v] = sum_{o, p, q} g[n, o, i, j] w[o, c, p, q]`` over the windows with
    ``i*sh + p - ph = u``, ``j*sw + q - pw = v``. Two ways, both one matrix product:

    * a convolution of ``g`` zero-padded by ``k - 1 - p`` with the flipped, transposed
      filters ``w[:, :, ::-1, ::-1].transpose(0, 1)`` (a "transposed convolution", stride 1
      only; no scatter). Its im2col matrix has O*kh*kw rows per input pixel;
    * col2im: the columns' gradient ``w_flat^T @ g`` (C*kh*kw rows per output pixel; fewer
      when the layer shrinks the image and adds channels, like LeNet's second layer), added
      back onto the image, one slice-add per kernel offset. With stride 1 in the wide
      layout of :func:`_columns` (``g_rows``: g with zero columns up to the padded width
      Wp) every slice is one contiguous run of the flattened padded image.

    Written with differentiable operations, so that second derivatives work.
    """
    n, o, ho, wo = g.shape
    _, c, kh, kw = w.shape
    (h, wd), (sh, sw), (ph, pw) = input_hw, stride, padding
    if g_rows is not None and o * h * wd <= 2 * c * ho * wo:
        w_t = w.flip(2, 3).transpose(0, 1)  # (C, O, kh, kw)
        pad_t = (kh - 1 - ph, kw - 1 - pw)
        if torch.is_grad_enabled():  # create_graph: a differentiable convolution, whose
            # own backward wants padding >= 0: crop g first where pad_t < 0 (ph > kh - 1)
            ch, cw = max(0, -pad_t[0]), max(0, -pad_t[1])
            g_in = g[:, :, ch : g.shape[2] - ch, cw : g.shape[3] - cw]
            return _Conv2dIm2col.apply(g_in, w_t, None, (1, 1), (pad_t[0] + ch, pad_t[1] + cw))
        return _conv_forward(g, w_t, None, (1, 1), pad_t, _wide_rows((1, 1), kw, wd))[0]
    w_t = w.reshape(o, -1).t().expand(n, -1, -1)  # (N, C*kh*kw, O), no copy
    if g_rows is not None:  # wide layout, stride 1: runs of Ho*Wp numbers
        hp, wp = h + 2 * ph, wd + 2 * pw
        g_cols = torch.bmm(w_t, g_rows.reshape(n, o, -1)).view(n, c, kh, kw, ho * wp)
        img = g.new_zeros((n, c, (hp + 1) * wp))  # one slack row, as in _columns
        for p in range(kh):
            for q in range(kw):
                img[:, :, p * wp + q : p * wp + q + ho * wp] += g_cols[:, :, p, q]
        return img.view(n, c, hp + 1, wp)[:, :, ph : ph + h, pw : pw + wd]
    g_cols = torch.bmm(w_t, g.reshape(n, o, -1)).view(n, c, kh, kw, ho, wo)
    img = g.new_zeros((n, c, h + 2 * ph, wd + 2 * pw))
    for p in range(kh):
        for q in range(kw):
            img[:, :, p : p + sh * (ho - 1) + 1 : sh, q : q + sw * (wo - 1) + 1 : sw] += g_cols[
                :, :, p, q
            ]
    return img[:, :, ph : ph + h, pw : pw + wd]


class _Conv2dIm2col(torch.autograd.Function):
    """``conv2d`` with zero padding as one autograd node (forward: :func:`_conv_forward`).

    Backward, from the output gradient g (N, O, Ho, Wo) and the saved im2col matrix:

    * bias: ``g.sum((0, 2, 3))``;
    * filters: ``sum_n g[n] @ cols[n]^T`` (one batched product, summed over the batch; in
      the wide layout g gets zero columns where the thrown-away outputs were);
    * input: :func:`_input_grad` (a transposed convolution, or col2im).
    """

    @staticmethod
    def forward(ctx, x, w, b, stride, padding):
        wo = (x.shape[3] + 2 * padding[1] - w.shape[3]) // stride[1] + 1
        wide = _wide_rows(stride, w.shape[3], wo)
        out, cols = _conv_forward(x, w, b, stride, padding, wide)
        ctx.save_for_backward(x, w, cols)
        ctx.stride, ctx.padding, ctx.wide = stride, padding, wide
        return out

    @staticmethod
    def backward(ctx, g):
        x, w, cols = ctx.saved_tensors
        n, o = g.shape[:2]
        gx = gw = gb = None
        g_rows = g
        if ctx.wide:  # zero columns where the discarded outputs j >= Wo were
            wp = x.shape[3] + 2 * ctx.padding[1]
            g_rows = torch.nn.functional.pad(g, (0, wp - g.shape[3]))
        if ctx.needs_input_grad[2]:
            gb = g.sum((0, 2, 3))
        if ctx.needs_input_grad[1]:
            if torch.is_grad_enabled():  # create_graph: the columns must depend on x
                cols = _columns(x, w.shape[-2:], ctx.stride, ctx.padding, ctx.wide)
            gw = torch.bmm(g_rows.reshape(n, o, -1), cols.transpose(1, 2)).sum(0).view_as(w)
        if ctx.needs_input_grad[0]:
            gx = _input_grad(
                g, w, tuple(x.shape[-2:]), ctx.stride, ctx.padding, g_rows if ctx.wide else None
            )
        return gx, gw, gb, None, None


def _conv2d_autograd(x, w, b=None, stride=1, padding=0, *, padding_mode: str = "zeros"):
    """The previous ``conv2d``: im2col + one ``addmm``, differentiated by autograd.

    Kept as a readable reference (and for ``tests/benchmarks/bench_cnn.py``, which times it
    next to :func:`conv2d`): columns (kh, kw, C, N, Ho, Wo) from ``_unfold_columns`` (its
    backward is col2im), ``W_flat @ cols``, then a permutation of the (O, N, Ho, Wo) result.
    """
    x4, unbatched, w, b, stride, padding, (ho, wo) = _check_conv_args(
        x, w, b, stride, padding, padding_mode
    )
    xp = pad2d(x4, padding, mode=padding_mode)
    n = x4.shape[0]
    o, _, kh, kw = w.shape
    cols = _unfold_columns(xp, (kh, kw), stride)  # (kh, kw, C, N, Ho, Wo), a copy
    cols = cols.reshape(-1, n * ho * wo)  # rows (p, q, c), columns (n, i, j)
    w_flat = w.permute(0, 2, 3, 1).reshape(o, -1)  # (O, kh*kw*C), the same row order
    out = w_flat @ cols if b is None else torch.addmm(b[:, None], w_flat, cols)
    out = out.reshape(o, n, ho, wo).permute(1, 0, 2, 3).contiguous()
    return out[0] if unbatched else out


def conv2d_direct(x, w, b=None, stride=1, padding=0, *, padding_mode: str = "zeros"):
    """2-D convolution by the definition: a Python loop over the output positions.

    For each output position ``(i, j)`` take the padded patch
    ``x_pad[:, :, i*sh : i*sh + kh, j*sw : j*sw + kw]`` and compute its dot product with
    every filter. Slow (``H_out * W_out`` small tensor operations), but every line is the
    formula; differentiable, and the reference that :func:`conv2d` is checked against.
    Same arguments and result as :func:`conv2d`.

    Examples
    --------
    >>> import torch
    >>> x, w = torch.randn(2, 3, 6, 6), torch.randn(4, 3, 3, 3)
    >>> torch.allclose(conv2d_direct(x, w, stride=2, padding=1),
    ...                conv2d(x, w, stride=2, padding=1), atol=1e-5)
    True
    """
    x4, unbatched, w, b, (sh, sw), padding, (ho, wo) = _check_conv_args(
        x, w, b, stride, padding, padding_mode
    )
    xp = pad2d(x4, padding, mode=padding_mode)
    kh, kw = w.shape[-2:]
    rows = []
    for i in range(ho):
        row = []
        for j in range(wo):
            patch = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]  # (N, C, kh, kw)
            row.append((patch[:, None] * w[None]).sum(dim=(2, 3, 4)))  # (N, O)
        rows.append(torch.stack(row, dim=-1))  # (N, O, W_out)
    out = torch.stack(rows, dim=-2)  # (N, O, H_out, W_out)
    if b is not None:
        out = out + b[:, None, None]
    return out[0] if unbatched else out


class Conv2d(torch.nn.Module):
    """A convolution layer with learnable filters, computed by :func:`conv2d`.

    A drop-in for ``torch.nn.Conv2d`` (same parameter names, shapes and default
    initialisation: Kaiming-uniform filters, biases uniform in
    :math:`\\pm 1/\\sqrt{C k_h k_w}`), so a state dict loads into either.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or pair of ints
    stride : int or pair of ints
    padding : int or pair of ints
    bias : bool
        Learn one bias per output channel.
    padding_mode : {"zeros", "circular"}

    Attributes
    ----------
    weight : Parameter of shape (out_channels, in_channels, kh, kw)
    bias : Parameter of shape (out_channels,) or None

    Examples
    --------
    >>> import torch
    >>> layer = Conv2d(1, 6, 5)
    >>> layer(torch.zeros(8, 1, 28, 28)).shape
    torch.Size([8, 6, 24, 24])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        bias: bool = True,
        *,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.in_channels = check_scalar(in_channels, "in_channels", int, low=1)
        self.out_channels = check_scalar(out_channels, "out_channels", int, low=1)
        self.kernel_size = check_pair(kernel_size, "kernel_size", low=1)
        self.stride = check_pair(stride, "stride", low=1)
        self.padding = check_pair(padding, "padding", low=0)
        check_option(padding_mode, "padding_mode", ("zeros", "circular"))
        self.padding_mode = padding_mode
        factory = {"device": device, "dtype": dtype}
        self.weight = torch.nn.Parameter(
            torch.empty(self.out_channels, self.in_channels, *self.kernel_size, **factory)
        )
        self.bias = torch.nn.Parameter(torch.empty(self.out_channels, **factory)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise as ``torch.nn.Conv2d`` does (Kaiming-uniform with a = sqrt(5))."""
        torch.nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            torch.nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return conv2d(
            x, self.weight, self.bias, self.stride, self.padding, padding_mode=self.padding_mode
        )

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}"
        )
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s
