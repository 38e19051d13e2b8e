"""Generative models: variational auto-encoders, GANs and energy-based GANs.

Taught in :ref:`generative-models` (``book/generative-models.ipynb``). One idea per module:

* :mod:`~dlcourse.generative.discriminative`: :func:`naive_bayes_data` and
  :func:`learning_curves`, naive Bayes (generative) against logistic regression
  (discriminative) as the training set grows;
* :mod:`~dlcourse.generative.kl`: :func:`gaussian_kl`, the KL term of the ELBO in closed form;
* :mod:`~dlcourse.generative.reparameterize`: :func:`reparameterize` and
  :func:`gradient_estimates` (reparameterisation against the score-function estimator);
* :mod:`~dlcourse.generative.vae`: :class:`VAE` with :meth:`~VAE.elbo` and :meth:`~VAE.sample`;
* :mod:`~dlcourse.generative.linear_gaussian`: probabilistic PCA, whose exact log-likelihood
  bounds the ELBO of a linear VAE;
* :mod:`~dlcourse.generative.gan`: :func:`gan_losses` (saturating and non-saturating, from
  logits), :func:`optimal_discriminator`, :func:`jensen_shannon`;
* :mod:`~dlcourse.generative.ebgan`: :func:`ebgan_losses`, the margin loss of the energy-based
  GAN;
* :mod:`~dlcourse.generative.mixture`: :func:`mixture_of_gaussians` on a ring and
  :func:`mode_coverage`;
* :mod:`~dlcourse.generative.training`: :func:`train_gan`, the alternating training loop.

Everything is PyTorch except :func:`learning_curves`, :func:`optimal_discriminator` and
:func:`jensen_shannon` (NumPy / scikit-learn).
"""

from .discriminative import learning_curves, naive_bayes_data
from .ebgan import ebgan_losses
from .gan import gan_losses, jensen_shannon, optimal_discriminator
from .kl import gaussian_kl
from .linear_gaussian import (
    linear_gaussian_elbo,
    linear_gaussian_log_likelihood,
    linear_gaussian_posterior,
    linear_gaussian_vae,
)
from .mixture import ModeCoverage, mixture_of_gaussians, mode_coverage, ring_centers
from .reparameterize import gradient_estimates, reparameterize
from .training import GANHistory, train_gan
from .vae import VAE

__all__ = [
    "naive_bayes_data",
    "learning_curves",
    "gaussian_kl",
    "reparameterize",
    "gradient_estimates",
    "VAE",
    "linear_gaussian_log_likelihood",
    "linear_gaussian_posterior",
    "linear_gaussian_elbo",
    "linear_gaussian_vae",
    "gan_losses",
    "optimal_discriminator",
    "jensen_shannon",
    "ebgan_losses",
    "ring_centers",
    "mixture_of_gaussians",
    "ModeCoverage",
    "mode_coverage",
    "GANHistory",
    "train_gan",
]
