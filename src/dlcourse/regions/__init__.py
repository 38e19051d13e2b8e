"""Linear regions of ReLU networks: piecewise-linear functions from ReLUs, and region counts.

Taught in the chapter *From kernels to neural networks* (``book/kernels-to-networks.ipynb``).
A network here is a ``torch.nn.Sequential`` of ``nn.Linear`` and ``nn.ReLU`` layers
(``Linear, ReLU, ..., Linear``); it computes a continuous piecewise-linear function, affine on
each set of inputs that share one activation pattern. One idea per module:

==========================  ==========================================================
:mod:`.pwl`                 a piecewise-linear interpolant written exactly with ReLUs
:mod:`.patterns`            activation patterns (which units are on) and their labels
:mod:`.count1d`             exact breakpoints and region counts along a segment
:mod:`.count2d`             region counts on a 2-D box: grid of patterns, and exact
==========================  ==========================================================

The model is only read: its parameters, mode and device are left as they are, and the
global random state is not touched.
"""

from .count1d import breakpoints_1d, count_regions_1d
from .count2d import check_box, count_regions_2d, count_regions_2d_exact, region_map
from .patterns import activation_patterns, pattern_ids
from .pwl import pwl_slopes, relu_pwl

__all__ = [
    "relu_pwl",
    "pwl_slopes",
    "activation_patterns",
    "pattern_ids",
    "breakpoints_1d",
    "count_regions_1d",
    "count_regions_2d",
    "count_regions_2d_exact",
    "region_map",
    "check_box",
]
