"""Energy-based models and self-supervised learning.

Taught in :ref:`energy-based-models` (``book/energy-based-models.ipynb``). One idea per module:

* :mod:`~dlcourse.ebm.free_energy`: :func:`free_energy` (soft minimum over a latent, any
  :math:`\\beta`) and :func:`min_energy`;
* :mod:`~dlcourse.ebm.kmeans`: :class:`KMeansEBM`, K-means as a latent-variable EBM;
* :mod:`~dlcourse.ebm.langevin`: :func:`energy_descent` (inference by gradient descent) and
  :func:`langevin_sample`;
* :mod:`~dlcourse.ebm.contrastive_divergence`: CD and persistent CD updates for any energy;
* :mod:`~dlcourse.ebm.rbm`: :class:`RBM`, closed-form free energy, Gibbs sampling, CD-k loss;
* :mod:`~dlcourse.ebm.contrastive`: :func:`info_nce` and :func:`contrastive_hinge_loss`;
* :mod:`~dlcourse.ebm.augment`: :func:`random_affine` views for contrastive learning;
* :mod:`~dlcourse.ebm.pretrain`: :func:`pretrain_info_nce` (SimCLR-style pretraining);
* :mod:`~dlcourse.ebm.probe`: :func:`linear_probe` with a labelled fraction, and a supervised
  baseline;
* :mod:`~dlcourse.ebm.slow`: :class:`SlowFeatureAnalysis`, linear slow features of sequences
  (whitening, then the slowest directions of the temporal differences).

:func:`free_energy`, :func:`min_energy`, :class:`KMeansEBM` and :class:`SlowFeatureAnalysis`
work on NumPy arrays (the first two also on torch tensors); everything else is PyTorch.
"""

from .augment import random_affine
from .contrastive import contrastive_hinge_loss, cosine_similarity_matrix, info_nce
from .contrastive_divergence import (
    CDStep,
    contrastive_divergence_loss,
    contrastive_divergence_step,
    persistent_contrastive_divergence_step,
)
from .free_energy import free_energy, min_energy
from .kmeans import KMeansEBM
from .langevin import energy_descent, langevin_sample
from .pretrain import pretrain_info_nce
from .probe import encode, label_subset, linear_probe, supervised_baseline
from .rbm import RBM
from .slow import SlowFeatureAnalysis

__all__ = [
    "free_energy",
    "min_energy",
    "KMeansEBM",
    "energy_descent",
    "langevin_sample",
    "CDStep",
    "contrastive_divergence_loss",
    "contrastive_divergence_step",
    "persistent_contrastive_divergence_step",
    "RBM",
    "SlowFeatureAnalysis",
    "info_nce",
    "contrastive_hinge_loss",
    "cosine_similarity_matrix",
    "random_affine",
    "pretrain_info_nce",
    "label_subset",
    "encode",
    "linear_probe",
    "supervised_baseline",
]
