"""Sparse coding: the Lasso energy, ISTA/FISTA, LISTA, dictionary learning and PSD.

Taught in the chapter *Sparse coding: ISTA, FISTA, LISTA and learned dictionaries*
(``book/sparse-coding.ipynb``). One idea per module:

==========================  ==========================================================
:mod:`.prox`                the Lasso energy, soft thresholding and its group version
:mod:`.ista`                ISTA and FISTA, batched over signals (NumPy or torch)
:mod:`.lista`               LISTA, ISTA unrolled into a trainable network
:mod:`.lcod`                coordinate descent (CoD) and LCoD, its learned unrolled version
:mod:`.dictionary`          dictionary learning by alternating minimisation
:mod:`.psd`                 predictive sparse decomposition (an encoder that predicts codes)
:mod:`.sensing`             compressed sensing: random measurements, recovery, phase transition
:mod:`.patches`             natural-image patches, whitening, and shape statistics of atoms
==========================  ==========================================================

Shapes everywhere: signals are rows, ``x`` of shape ``(n_signals, n_features)``; a dictionary
``D`` of shape ``(n_features, n_atoms)`` holds one atom per column; codes ``z`` have shape
``(n_signals, n_atoms)``; the energy is :math:`\\frac12\\|x - Dz\\|^2 + \\lambda\\|z\\|_1` per
signal. NumPy in gives NumPy out, torch in gives torch out.
"""

from .dictionary import DictionaryLearning, learn_dictionary, normalize_atoms
from .ista import check_step, fista, ista
from .lcod import LCoD, cod, cod_flops, ista_flops
from .lista import LISTA, code_error, train_lista
from .prox import group_soft_threshold, lasso_objective, lipschitz_constant, soft_threshold
from .psd import PSDEncoder, predictive_sparse_decomposition
from .sensing import (
    gaussian_measurements,
    phase_transition,
    recover,
    recovery_rate,
    sparse_vectors,
)

__all__ = [
    "soft_threshold",
    "group_soft_threshold",
    "lasso_objective",
    "lipschitz_constant",
    "ista",
    "fista",
    "check_step",
    "LISTA",
    "train_lista",
    "code_error",
    "cod",
    "LCoD",
    "cod_flops",
    "ista_flops",
    "learn_dictionary",
    "DictionaryLearning",
    "normalize_atoms",
    "PSDEncoder",
    "predictive_sparse_decomposition",
    "gaussian_measurements",
    "sparse_vectors",
    "recover",
    "recovery_rate",
    "phase_transition",
]
