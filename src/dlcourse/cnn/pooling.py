"""Pooling from scratch: window max / mean over sliding windows, and global pooling.

Taught in the chapter *Convolutions, invariance and equivariance* (``book/convolutions``).

Pooling summarises each ``kh x kw`` window of every channel by one number,

.. math:: \\mathrm{maxpool}(x)[n, c, i, j] = \\max_{0 \\le p < k_h,\\, 0 \\le q < k_w}
    \\tilde x[n, c, i s_h + p, j s_w + q],

(``avg_pool2d``: the mean, the zero padding counted as in ``count_include_pad=True``). A
max over windows is not exactly invariant to shifts, only approximately: a shift by less
than the window moves the maximum between windows. Pooling over the *whole* image
(``global_max_pool``, ``global_avg_pool``) sums or maxes over the entire translation
group, so it is exactly invariant to circular shifts of its input.
"""

from __future__ import annotations

import torch

from .._validation import InvalidParameterError, as_image_batch, as_tensor, check_pair, invalid
from .im2col import sliding_windows

__all__ = [
    "max_pool2d",
    "avg_pool2d",
    "global_max_pool",
    "global_avg_pool",
    "MaxPool2d",
    "AvgPool2d",
]


def _pool_args(x, kernel_size, stride, padding):
    x = as_tensor(x, "x")
    x4, _ = as_image_batch(x, "x")
    kernel = check_pair(kernel_size, "kernel_size", low=1)
    stride = kernel if stride is None else check_pair(stride, "stride", low=1)
    ph, pw = check_pair(padding, "padding", low=0)
    if 2 * ph > kernel[0] or 2 * pw > kernel[1]:
        raise invalid(
            "padding",
            f"at most half the kernel size {kernel}",
            got=f"{(ph, pw)} (a window could then see only padding)",
        )
    if not x.is_floating_point():
        raise InvalidParameterError(f"Pooling needs a floating-point x. Got dtype {x.dtype}.")
    return x, kernel, stride, (ph, pw)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max over each ``kernel_size`` window, moving by ``stride`` (default: the kernel size).

    The padding is ``-inf`` (it never wins). Matches ``torch.nn.functional.max_pool2d`` in
    values and gradients: the gradient of a window goes to its (first) maximal entry, and a
    pixel in several overlapping windows collects the gradient of each window it wins.

    Parameters
    ----------
    x : tensor of shape (N, C, H, W) or (C, H, W)
    kernel_size : int or pair of ints
    stride : int or pair of ints, optional
    padding : int or pair of ints, at most half the kernel size

    Returns
    -------
    tensor of shape (N, C, H_out, W_out)

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[[[1.0, 2.0, 5.0, 0.0],
    ...                     [3.0, 4.0, 1.0, 1.0]]]])
    >>> max_pool2d(x, 2)
    tensor([[[[4., 5.]]]])
    """
    x, kernel, stride, padding = _pool_args(x, kernel_size, stride, padding)
    win = sliding_windows(x, kernel, stride, padding, pad_value=float("-inf"))
    return win.flatten(-2).max(dim=-1).values


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over each ``kernel_size`` window (zero padding counted in the mean).

    Equal to a convolution of each channel with the constant filter ``1/(kh*kw)``; matches
    ``torch.nn.functional.avg_pool2d`` with ``count_include_pad=True``.

    Examples
    --------
    >>> import torch
    >>> avg_pool2d(torch.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    x, kernel, stride, padding = _pool_args(x, kernel_size, stride, padding)
    win = sliding_windows(x, kernel, stride, padding, pad_value=0.0)
    return win.mean(dim=(-2, -1))


def _check_global(x):
    x = as_tensor(x, "x")
    if x.ndim < 2:
        raise InvalidParameterError(
            f"The 'x' argument must have at least 2 dimensions (..., H, W). Got shape "
            f"{tuple(x.shape)}."
        )
    return x


def global_max_pool(x):
    """Max over the last two axes: (N, C, H, W) -> (N, C). Invariant to any permutation of
    the pixels, so in particular to circular shifts.

    Examples
    --------
    >>> import torch
    >>> global_max_pool(torch.tensor([[[[1.0, 7.0], [3.0, 2.0]]]]))
    tensor([[7.]])
    """
    return _check_global(x).amax(dim=(-2, -1))


def global_avg_pool(x):
    """Mean over the last two axes: (N, C, H, W) -> (N, C). Invariant to circular shifts.

    Examples
    --------
    >>> import torch
    >>> global_avg_pool(torch.tensor([[[[1.0, 7.0], [3.0, 2.0]]]]))
    tensor([[3.2500]])
    """
    return _check_global(x).mean(dim=(-2, -1))


class MaxPool2d(torch.nn.Module):
    """Module form of :func:`max_pool2d` (no parameters)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        _pool_args(torch.zeros(1, 1, 1, 1), kernel_size, stride, padding)  # validate now

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(MaxPool2d):
    """Module form of :func:`avg_pool2d` (no parameters)."""

    def forward(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)
