"""Structured prediction: linear-chain CRFs and mean-field grid CRFs as CNN layers.

Taught in the chapter *Structured prediction* (``book/structured-prediction.ipynb``). One idea
per module:

====================  ================================================================
:mod:`.chain`         the linear-chain CRF: forward algorithm (log Z), marginals,
                      Viterbi, negative log-likelihood, and brute-force references
:mod:`.mean_field`    grid CRFs (unary + pairwise, Potts), mean-field inference as
                      convolutions, its free energy, and the unrolled :class:`MeanFieldCRF`
====================  ================================================================

Both use the energy convention of :mod:`dlcourse.ebm`: :math:`p(y \\mid x) = e^{-F(y, x)} / Z`.
A chain is scored by emissions ``(B, T, K)`` and transitions ``(K, K)``; a grid by unary
energies ``(B, K, H, W)``, a spatial kernel ``(kh, kw)`` and a compatibility ``(K, K)``.
The deformable-parts score, the other structured model of the lecture, lives in
:func:`dlcourse.cnn.distance_transform`.
"""

from .chain import (
    ChainCRF,
    brute_force_log_partition,
    brute_force_viterbi,
    chain_log_partition,
    chain_marginals,
    chain_pair_marginals,
    chain_score,
    chain_viterbi,
)
from .mean_field import (
    MeanFieldCRF,
    crf_energy,
    four_neighbour_kernel,
    gaussian_kernel,
    mean_field,
    mean_field_free_energy,
    mean_field_step,
    potts_compat,
    potts_energy,
)

__all__ = [
    "ChainCRF",
    "chain_score",
    "chain_log_partition",
    "chain_marginals",
    "chain_pair_marginals",
    "chain_viterbi",
    "brute_force_log_partition",
    "brute_force_viterbi",
    "MeanFieldCRF",
    "mean_field_step",
    "mean_field",
    "mean_field_free_energy",
    "crf_energy",
    "potts_energy",
    "potts_compat",
    "four_neighbour_kernel",
    "gaussian_kernel",
]
