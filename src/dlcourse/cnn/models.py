"""Convolutional networks of the chapter: LeNet, residual and plain blocks, deep stacks.

Taught in the chapter *Convolutions, invariance and equivariance* (``book/convolutions``).

* :class:`LeNet`: conv(5x5, 6) - ReLU - maxpool 2 - conv(5x5, 16) - ReLU - maxpool 2 -
  fc 120 - ReLU - fc 84 - ReLU - fc ``n_classes``, for 28 x 28 digits (no padding:
  28 -> 24 -> 12 -> 8 -> 4, so the first fully connected layer sees 16*4*4 = 256 numbers).
* :class:`ResidualBlock` and :class:`PlainBlock` share the same branch
  :math:`F(x) = \\mathrm{BN}(\\mathrm{conv}(\\mathrm{ReLU}(\\mathrm{BN}(\\mathrm{conv}(x)))))`
  (two 3 x 3 convolutions keeping the size and the number of channels; batch norm can be
  switched off). The residual block returns :math:`\\mathrm{ReLU}(x + F(x))` (the "basic
  block" of He et al., 2016), the plain block :math:`\\mathrm{ReLU}(F(x))`. Through the
  skip connection the gradient reaching block ``l`` contains the identity term, so it
  does not have to pass through every layer above it; a plain stack of the same depth has
  only the product of the layers' Jacobians, and trains worse.
* :func:`deep_net` stacks ``n_blocks`` of either kind behind a small stem and before a
  global-average-pooling head: the residual-vs-plain experiment at equal depth.

``backend="dlcourse"`` (default) builds the layers from this package's from-scratch
:class:`~dlcourse.cnn.conv.Conv2d` and :class:`~dlcourse.cnn.pooling.MaxPool2d`;
``backend="torch"`` uses ``torch.nn.Conv2d`` / ``torch.nn.MaxPool2d`` (same parameters, a
state dict loads into either).
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import check_option, check_pair, check_scalar, invalid
from .conv import Conv2d
from .im2col import output_size
from .pooling import AvgPool2d, MaxPool2d

__all__ = ["LeNet", "ResidualBlock", "PlainBlock", "deep_net"]

_BACKENDS = ("dlcourse", "torch")


def _check_backend(backend: str) -> str:
    check_option(backend, "backend", _BACKENDS)
    return backend


def _conv(backend, in_channels, out_channels, kernel_size, padding=0, bias=True):
    cls = Conv2d if backend == "dlcourse" else nn.Conv2d
    return cls(in_channels, out_channels, kernel_size, padding=padding, bias=bias)


def _max_pool(backend, k):
    return MaxPool2d(k) if backend == "dlcourse" else nn.MaxPool2d(k)


def _avg_pool(backend, k):
    return AvgPool2d(k) if backend == "dlcourse" else nn.AvgPool2d(k)


class LeNet(nn.Module):
    """LeNet-5 for 28 x 28 images: two conv-ReLU-maxpool stages and three linear layers.

    Parameters
    ----------
    in_channels : int
        Image channels (1 for MNIST).
    n_classes : int
        Number of outputs (logits).
    input_size : pair of ints, default (28, 28)
        Height and width of the images (sets the size of the first linear layer).
    backend : {"dlcourse", "torch"}
        From-scratch layers of this package, or torch's own.

    Examples
    --------
    >>> import torch
    >>> LeNet()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 10,
        *,
        input_size=(28, 28),
        backend: str = "dlcourse",
    ):
        super().__init__()
        in_channels = check_scalar(in_channels, "in_channels", int, low=1)
        n_classes = check_scalar(n_classes, "n_classes", int, low=1)
        backend = _check_backend(backend)
        h, w = check_pair(tuple(input_size), "input_size", low=1)
        for _ in range(2):  # conv 5x5 then pool 2
            h, w = output_size((h, w), 5)
            h, w = output_size((h, w), 2, stride=2)
        self.features = nn.Sequential(
            _conv(backend, in_channels, 6, 5),
            nn.ReLU(),
            _max_pool(backend, 2),
            _conv(backend, 6, 16, 5),
            nn.ReLU(),
            _max_pool(backend, 2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * h * w, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, n_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class _Branch(nn.Module):
    """F(x) = BN(conv3x3(ReLU(BN(conv3x3(x))))), size and channels kept."""

    def __init__(self, channels: int, batch_norm: bool, backend: str):
        super().__init__()
        channels = check_scalar(channels, "channels", int, low=1)
        backend = _check_backend(backend)
        norm = (lambda: nn.BatchNorm2d(channels)) if batch_norm else nn.Identity
        self.conv1 = _conv(backend, channels, channels, 3, padding=1, bias=not batch_norm)
        self.bn1 = norm()
        self.conv2 = _conv(backend, channels, channels, 3, padding=1, bias=not batch_norm)
        self.bn2 = norm()

    def forward(self, x):
        return self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))


class ResidualBlock(nn.Module):
    """Residual block :math:`y = \\mathrm{ReLU}(x + F(x))` with
    :math:`F = \\mathrm{BN}\\circ\\mathrm{conv}_{3\\times3}\\circ\\mathrm{ReLU}\\circ
    \\mathrm{BN}\\circ\\mathrm{conv}_{3\\times 3}` (He et al.'s basic block).

    Parameters
    ----------
    channels : int
        Input and output channels (the spatial size is kept: padding 1).
    batch_norm : bool
        Use batch normalisation after each convolution (then the convolutions have no bias).
    backend : {"dlcourse", "torch"}

    Examples
    --------
    >>> import torch
    >>> ResidualBlock(8)(torch.zeros(2, 8, 7, 7)).shape
    torch.Size([2, 8, 7, 7])
    """

    def __init__(self, channels: int, *, batch_norm: bool = True, backend: str = "dlcourse"):
        super().__init__()
        self.branch = _Branch(channels, batch_norm, backend)

    def forward(self, x):
        return torch.relu(x + self.branch(x))


class PlainBlock(nn.Module):
    """The same two-convolution branch without the skip: :math:`y = \\mathrm{ReLU}(F(x))`.

    Same parameters as :class:`ResidualBlock`, so a plain and a residual network of the same
    depth have exactly the same number of weights.
    """

    def __init__(self, channels: int, *, batch_norm: bool = True, backend: str = "dlcourse"):
        super().__init__()
        self.branch = _Branch(channels, batch_norm, backend)

    def forward(self, x):
        return torch.relu(self.branch(x))


def deep_net(
    n_blocks: int,
    residual: bool = True,
    channels: int = 16,
    in_channels: int = 1,
    n_classes: int = 10,
    *,
    downsample: int = 1,
    batch_norm: bool = True,
    backend: str = "dlcourse",
) -> nn.Sequential:
    """A deep stack of residual (or plain) blocks for the residual-vs-plain experiment.

    ``[avg-pool downsample] - conv3x3(in_channels -> channels) - [BN] - ReLU -
    n_blocks x Block(channels) - global average pool - Linear(channels -> n_classes)``.
    The network has ``2 * n_blocks + 2`` weight layers; the residual and the plain version
    have the same parameters.

    Parameters
    ----------
    n_blocks : int >= 0
    residual : bool
        :class:`ResidualBlock` if True, :class:`PlainBlock` otherwise.
    channels : int
        Width of every block.
    in_channels, n_classes : int
    downsample : int >= 1
        Average-pool the input by this factor first (2 turns 28 x 28 digits into 14 x 14:
        four times cheaper).
    batch_norm : bool
    backend : {"dlcourse", "torch"}

    Examples
    --------
    >>> import torch
    >>> net = deep_net(3, residual=False, channels=4, downsample=2)
    >>> net(torch.zeros(5, 1, 28, 28)).shape
    torch.Size([5, 10])
    """
    if not isinstance(n_blocks, int) or isinstance(n_blocks, bool) or n_blocks < 0:
        raise invalid("n_blocks", "an int >= 0", n_blocks)
    channels = check_scalar(channels, "channels", int, low=1)
    in_channels = check_scalar(in_channels, "in_channels", int, low=1)
    n_classes = check_scalar(n_classes, "n_classes", int, low=1)
    downsample = check_scalar(downsample, "downsample", int, low=1)
    backend = _check_backend(backend)
    layers: list[nn.Module] = []
    if downsample > 1:
        layers.append(_avg_pool(backend, downsample))
    layers += [
        _conv(backend, in_channels, channels, 3, padding=1, bias=not batch_norm),
        nn.BatchNorm2d(channels) if batch_norm else nn.Identity(),
        nn.ReLU(),
    ]
    block = ResidualBlock if residual else PlainBlock
    layers += [block(channels, batch_norm=batch_norm, backend=backend) for _ in range(n_blocks)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, n_classes)]
    return nn.Sequential(*layers)
