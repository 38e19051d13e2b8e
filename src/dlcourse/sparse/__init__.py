"""Sparse coding: the Lasso energy, ISTA/FISTA, LISTA, dictionary learning and PSD.

Taught in the chapter *Sparse coding: ISTA, FISTA, LISTA and learned dictionaries*
(``book/sparse-coding.ipynb``). One idea per module:

==========================  ==========================================================
:mod:`.prox`                the Lasso energy, soft thresholding and its group version
:mod:`.ista`                ISTA and FISTA, batched over signals (NumPy or torch)
==========================  ==========================================================

Shapes everywhere: signals are rows, ``x`` of shape ``(n_signals, n_features)``; a dictionary
``D`` of shape ``(n_features, n_atoms)`` holds one atom per column; codes ``z`` have shape
``(n_signals, n_atoms)``; the energy is :math:`\\frac12\\|x - Dz\\|^2 + \\lambda\\|z\\|_1` per
signal.
"""

from .ista import check_step, fista, ista
from .prox import group_soft_threshold, lasso_objective, lipschitz_constant, soft_threshold

__all__ = [
    "soft_threshold",
    "group_soft_threshold",
    "lasso_objective",
    "lipschitz_constant",
    "ista",
    "fista",
    "check_step",
]
