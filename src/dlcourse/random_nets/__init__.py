"""What random networks already do: random Gaussian layers, angles, mean width, hashing.

Taught in the chapter *What random networks already do* (``book/random-networks.ipynb``);
Giryes, Sapiro and Bronstein (2016). One idea per module:

==========================  ==========================================================
:mod:`.layers`              a random Gaussian layer, :math:`a_{ij} \\sim \\mathcal{N}(0, 1/m)`,
                            and recovering the input of a wide random ReLU layer
:mod:`.angles`              how a random ReLU layer maps angles and distances (closed form
                            :math:`\\psi(\\alpha) = (\\sin\\alpha - \\alpha\\cos\\alpha)/\\pi`
                            and its Monte Carlo check)
:mod:`.width`               the Gaussian mean width :math:`\\omega(K)` by Monte Carlo
:mod:`.embedding`           the sign embedding :math:`h(u) = \\mathrm{sign}(Au)` and its
                            :math:`\\delta` of isometry between sphere and Hamming cube
:mod:`.hashing`             similarity-preserving hashing: random LSH, a learned hash,
                            Hamming distances and retrieval mAP
:mod:`.ratios`              intra- vs inter-class distance ratios (average and boundary points)
==========================  ==========================================================

Shapes: points are rows, ``x`` of shape ``(n_points, n_features)``; binary codes are rows of
0/1 (or -1/+1) entries, shape ``(n_points, n_bits)``. NumPy in gives NumPy out, torch in gives
torch out (same device and dtype) unless a docstring says otherwise.
"""

from .angles import empirical_angle, psi, relu_angle, relu_cosine, relu_sq_distance
from .embedding import angular_distances, embedding_delta
from .hashing import (
    LearnedHash,
    average_precisions,
    hamming_distances,
    pairwise_hash_loss,
    retrieval_map,
    sign_hash,
    train_hash,
)
from .layers import gaussian_layer, relu_inverse
from .ratios import distance_ratios
from .width import gaussian_mixture, mean_width, sparse_maximizers

__all__ = [
    "gaussian_layer",
    "relu_inverse",
    "psi",
    "relu_cosine",
    "relu_angle",
    "relu_sq_distance",
    "empirical_angle",
    "mean_width",
    "sparse_maximizers",
    "gaussian_mixture",
    "angular_distances",
    "embedding_delta",
    "sign_hash",
    "hamming_distances",
    "average_precisions",
    "retrieval_map",
    "LearnedHash",
    "pairwise_hash_loss",
    "train_hash",
    "distance_ratios",
]
