"""Adversarial examples and robustness: the package behind ``book/adversarial``.

* :mod:`~dlcourse.attacks.linear`: the closed-form minimum-norm attacks on linear classifiers
  (L2: projection onto the hyperplane; L-inf: a step along ``sign(w)``), two-class and
  multi-class, and the maximum-allowable L-inf attack (FGSM for a linear model);
* :mod:`~dlcourse.attacks.base`: :class:`Attack`, the one base class that does the
  bookkeeping (input checks, eval mode and its restoration, frozen parameters, clamping);
* :mod:`~dlcourse.attacks.fgsm`, :mod:`~dlcourse.attacks.pgd`,
  :mod:`~dlcourse.attacks.deepfool`: the attacks, each as a function (``fgsm(model, x, y,
  eps)``) and as an object in the style of attack libraries (``atk = PGD(model, eps=0.3,
  alpha=0.01, steps=40); x_adv = atk(x, y)``);
* :mod:`~dlcourse.attacks.training`: ``robust_accuracy``, ``attack_success_rate``,
  ``adversarial_training``;
* :mod:`~dlcourse.attacks.fourier`: Fourier basis images and the error-rate heat map per
  frequency.

Inputs are batches ``x`` of shape (N, ...) in the valid range ``clamp`` (default [0, 1]) and
integer labels ``y`` of shape (N,); every attack works on the model's device, returns a
detached tensor like ``x`` and leaves the model's parameters, gradients, ``requires_grad``
flags and train/eval mode as they were.

Examples
--------
>>> import torch
>>> from dlcourse.attacks import PGD, robust_accuracy
>>> _ = torch.manual_seed(0)
>>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
>>> x, y = torch.rand(32, 1, 4, 4), torch.randint(0, 3, (32,))
>>> atk = PGD(model, eps=0.1, alpha=0.02, steps=10, seed=0)
>>> atk
PGD(eps=0.1, alpha=0.02, steps=10, random_start=True, norm='inf', targeted=False, seed=0)
>>> robust_accuracy(model, x, y, atk) <= robust_accuracy(model, x, y)
True
"""

from .base import Attack, frozen_model
from .deepfool import DeepFool, deepfool
from .fgsm import FGSM, fgsm
from .fourier import fourier_basis, fourier_heatmap
from .linear import linear_max_linf, linear_min_norm_l2, linear_min_norm_linf, linear_scores
from .pgd import PGD, pgd
from .training import adversarial_training, attack_success_rate, robust_accuracy

__all__ = [
    # closed forms
    "linear_min_norm_l2",
    "linear_min_norm_linf",
    "linear_max_linf",
    "linear_scores",
    # attacks
    "Attack",
    "frozen_model",
    "FGSM",
    "fgsm",
    "PGD",
    "pgd",
    "DeepFool",
    "deepfool",
    # robustness
    "robust_accuracy",
    "attack_success_rate",
    "adversarial_training",
    "fourier_basis",
    "fourier_heatmap",
]
