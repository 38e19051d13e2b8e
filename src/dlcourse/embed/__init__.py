"""Embeddings and metric learning: siamese networks, triplets, visual analogies, word vectors.

Taught in :ref:`embeddings` (``book/embeddings.ipynb``). One idea per module:

==========================  ==========================================================
:mod:`.losses`              the hinge embedding loss (DrLIM), the triplet loss, hard negatives
:mod:`.siamese`             :class:`SiameseNet`, :func:`pair_sampler`, :func:`fit_siamese`
:mod:`.retrieval`           k-NN accuracy and precision@k of an embedding
:mod:`.analogies`           a shapes dataset with known attributes, the visual-analogy network
:mod:`.words`               co-occurrence counts, PPMI, SVD word vectors, neighbours, analogies
==========================  ==========================================================

Embeddings are rows: ``z`` of shape ``(n, d)``. The losses and networks are PyTorch (the input
decides the device); the retrieval scores take NumPy arrays or tensors; the word vectors are
NumPy/SciPy. In-batch contrastive losses (InfoNCE, the hinge loss with in-batch negatives) live
in :mod:`dlcourse.ebm` and are not repeated here.
"""

from .analogies import (
    ATTRIBUTES,
    VisualAnalogyNet,
    analogy_accuracy,
    analogy_quadruples,
    fit_visual_analogy,
    shapes_dataset,
)
from .losses import hardest_negatives, hinge_embedding_loss, pair_distances, triplet_loss
from .retrieval import knn_accuracy, nearest_indices, precision_at_k
from .siamese import SiameseNet, fit_siamese, pair_sampler
from .words import (
    analogy,
    build_vocab,
    cooccurrence,
    cosine_similarities,
    lee_corpus,
    nearest,
    ppmi,
    pydoc_corpus,
    svd_embeddings,
    tokenize,
)

__all__ = [
    "hinge_embedding_loss",
    "triplet_loss",
    "hardest_negatives",
    "pair_distances",
    "SiameseNet",
    "pair_sampler",
    "fit_siamese",
    "knn_accuracy",
    "precision_at_k",
    "nearest_indices",
    "ATTRIBUTES",
    "shapes_dataset",
    "analogy_quadruples",
    "VisualAnalogyNet",
    "fit_visual_analogy",
    "analogy_accuracy",
    "tokenize",
    "build_vocab",
    "pydoc_corpus",
    "lee_corpus",
    "cooccurrence",
    "ppmi",
    "svd_embeddings",
    "cosine_similarities",
    "nearest",
    "analogy",
]
