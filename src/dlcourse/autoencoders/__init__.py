"""Auto-encoders: undercomplete, sparse, denoising and contractive.

Taught in the chapter *Autoencoders: undercomplete, sparse, denoising, contractive*
(``book/autoencoders.ipynb``). An auto-encoder is an encoder :math:`f` and a decoder :math:`g`
trained so that the reconstruction :math:`r = g(f(x))` is close to :math:`x`,

.. math:: \\min_{f, g}\\ \\frac1n \\sum_{i} L\\bigl(x_i, g(f(x_i))\\bigr) + R(f, x_i),

with a bottleneck or a regulariser :math:`R` that rules out the identity. One idea per module:

==========================  ==========================================================
:mod:`.models`              ``AE(encoder, decoder)``, ``LinearAE``, a soft-threshold layer
:mod:`.penalties`           the sparse penalty :math:`\\lambda\\sum_i |h_i|` and the contractive
                            penalty :math:`\\|J_f(x)\\|_F^2` (closed form and autograd)
:mod:`.noise`               corruption for denoising: additive Gaussian and masking noise
:mod:`.geometry`            principal angles, the Jacobian's spectrum, intrinsic dimension
:mod:`.manifolds`           points on known manifolds (circle, swiss roll) with their tangents
:mod:`.training`            ``fit_autoencoder`` (on :func:`dlcourse.trainer.train`) and errors
:mod:`.colour`              grey-to-colour patch pairs for a conditional auto-encoder
==========================  ==========================================================

Shapes everywhere: inputs are rows, ``x`` of shape ``(n_samples, n_features)``; codes ``h``
have shape ``(n_samples, code_dim)``.
"""

from .colour import colour_patches
from .geometry import intrinsic_dimension, jacobian_spectrum, principal_angles
from .manifolds import embedded_circle, embedded_swiss_roll
from .models import AE, LinearAE, SoftThreshold
from .noise import corrupt
from .penalties import code_sparsity, contractive_penalty, encoder_jacobian, sparse_penalty
from .training import fit_autoencoder, reconstruction_error

__all__ = [
    "AE",
    "LinearAE",
    "SoftThreshold",
    "sparse_penalty",
    "code_sparsity",
    "contractive_penalty",
    "encoder_jacobian",
    "corrupt",
    "principal_angles",
    "jacobian_spectrum",
    "intrinsic_dimension",
    "embedded_circle",
    "embedded_swiss_roll",
    "fit_autoencoder",
    "reconstruction_error",
    "colour_patches",
]
