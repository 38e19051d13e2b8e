"""Kernel machines: the perceptron, kernels, the circle lift, and the dual perceptron.

Taught in the chapter *From kernels to neural networks* (``book/kernels-to-networks.ipynb``).
One idea per module:

==========================  ==========================================================
:mod:`.perceptron`          the perceptron, its loss and update (scikit-learn style)
:mod:`.features`            the circle lift and the linear, polynomial and RBF kernels
:mod:`.machines`            the kernel perceptron and the kernel ridge classifier
==========================  ==========================================================

Estimators follow scikit-learn: ``fit(X, y)`` returns ``self``, ``predict``,
``decision_function`` and ``score``; they work in NumPy (a tensor is accepted and converted)
and answer NumPy arrays. Labels are any two classes; ``classes_[1]`` is the positive one.
"""

from .features import KERNELS, kernel_matrix, lift_circle
from .machines import KernelPerceptron, KernelRidgeClassifier
from .perceptron import Perceptron, perceptron_loss

__all__ = [
    "Perceptron",
    "perceptron_loss",
    "lift_circle",
    "kernel_matrix",
    "KERNELS",
    "KernelPerceptron",
    "KernelRidgeClassifier",
]
