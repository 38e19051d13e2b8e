"""Interpretability: what a network computes, and why it decides as it does.

Taught in the chapter *Interpretability* (``book/interpretability.ipynb``). One idea per
module:

==========================  ==========================================================
:mod:`.saliency`            input-gradient saliency maps and SmoothGrad
:mod:`.activation`          activation maximization with L2 / blur / jitter priors
:mod:`.cam`                 class activation maps of a global-average-pooling CNN
:mod:`.fourier_mask`        the sparsest Fourier mask that keeps a network's loss
:mod:`.cue_conflict`        a synthetic texture-vs-shape cue-conflict set, shape bias
:mod:`.operators`           sparse regression of a learned operator on finite differences
==========================  ==========================================================

Two meanings of "interpretable" run through the chapter: explaining a *prediction* (saliency,
CAM, Fourier masks, cue conflict) and understanding a *component* (activation maximization,
the learned operator written in known terms). Every function that takes a model leaves its
mode, parameters and their gradients as they were, and never changes its inputs.

Examples
--------
>>> import torch
>>> from dlcourse.interpret import GAPNet, class_activation_map
>>> net = GAPNet()
>>> class_activation_map(net, torch.rand(2, 1, 28, 28), target=3).shape
torch.Size([2, 7, 7])
"""

from .activation import activation_maximization, gaussian_blur
from .cam import GAPNet, cam_parts, class_activation_map
from .cue_conflict import SHAPES, TEXTURES, cue_conflict_images, shape_bias
from .fourier_mask import fourier_filter, fourier_mask
from .operators import (
    TERMS,
    advection_diffusion,
    finite_difference_library,
    random_fields,
    sparse_operator_fit,
)
from .saliency import saliency, smoothgrad

__all__ = [
    "saliency",
    "smoothgrad",
    "activation_maximization",
    "gaussian_blur",
    "GAPNet",
    "class_activation_map",
    "cam_parts",
    "fourier_filter",
    "fourier_mask",
    "SHAPES",
    "TEXTURES",
    "cue_conflict_images",
    "shape_bias",
    "TERMS",
    "finite_difference_library",
    "sparse_operator_fit",
    "advection_diffusion",
    "random_fields",
]
