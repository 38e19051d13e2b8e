"""Convolutions, invariance and equivariance: the package behind ``book/convolutions``.

* :mod:`~dlcourse.cnn.im2col`: sliding windows, ``im2col`` and its adjoint ``col2im``;
* :mod:`~dlcourse.cnn.conv`: ``conv2d`` (im2col + one matrix product), ``conv2d_direct``
  (loops, the readable reference), the ``Conv2d`` layer;
* :mod:`~dlcourse.cnn.circulant`: convolution as a matrix (circulant, doubly block
  Toeplitz / circulant);
* :mod:`~dlcourse.cnn.equivariance`: translations, rotations, equivariance and invariance
  errors, orbit averaging;
* :mod:`~dlcourse.cnn.pooling`: max / average pooling from scratch, global pooling;
* :mod:`~dlcourse.cnn.distance_transform`: the deformable-parts distance transform (brute
  force and the O(n) parabola envelope), max-pooling as its special case;
* :mod:`~dlcourse.cnn.models`: ``LeNet``, ``ResidualBlock``, ``PlainBlock``, ``deep_net``;
* ``train``, ``evaluate``, ``predict``: re-exported from :mod:`dlcourse.trainer`.

Examples
--------
>>> import torch
>>> import torch.nn.functional as F
>>> from dlcourse.cnn import conv2d
>>> x, w = torch.randn(2, 3, 8, 8), torch.randn(4, 3, 3, 3)
>>> torch.allclose(conv2d(x, w, stride=2, padding=1), F.conv2d(x, w, stride=2, padding=1),
...                atol=1e-5)
True
"""

from ..trainer import evaluate, predict, train
from .circulant import circulant, circulant2d, conv1d_circular, conv2d_circular, conv_matrix
from .conv import Conv2d, conv2d, conv2d_direct
from .distance_transform import (
    box_cost,
    distance_transform,
    distance_transform_quadratic,
    max_pool_via_distance_transform,
)
from .equivariance import (
    equivariance_error,
    invariance_error,
    orbit_average,
    rotate90,
    rotation_group,
    translate,
    translation_group,
)
from .im2col import col2im, im2col, output_size, pad2d, sliding_windows
from .models import LeNet, PlainBlock, ResidualBlock, deep_net
from .pooling import (
    AvgPool2d,
    MaxPool2d,
    avg_pool2d,
    global_avg_pool,
    global_max_pool,
    max_pool2d,
)

__all__ = [
    # im2col
    "im2col",
    "col2im",
    "sliding_windows",
    "output_size",
    "pad2d",
    # convolution
    "conv2d",
    "conv2d_direct",
    "Conv2d",
    # matrices
    "conv1d_circular",
    "conv2d_circular",
    "circulant",
    "circulant2d",
    "conv_matrix",
    # equivariance
    "translate",
    "rotate90",
    "translation_group",
    "rotation_group",
    "equivariance_error",
    "invariance_error",
    "orbit_average",
    # pooling
    "max_pool2d",
    "avg_pool2d",
    "global_max_pool",
    "global_avg_pool",
    "MaxPool2d",
    "AvgPool2d",
    # distance transform
    "distance_transform",
    "distance_transform_quadratic",
    "box_cost",
    "max_pool_via_distance_transform",
    # models
    "LeNet",
    "ResidualBlock",
    "PlainBlock",
    "deep_net",
    # training (from dlcourse.trainer)
    "train",
    "evaluate",
    "predict",
]
