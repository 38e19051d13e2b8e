"""The Kullback-Leibler divergence of a diagonal Gaussian from the standard normal.

Taught in :ref:`generative-models` (``book/generative-models.ipynb``).

The encoder of a variational auto-encoder outputs, for each input, the mean :math:`\\mu` and the
log-variance :math:`\\log\\sigma^2` of a Gaussian :math:`q(z \\mid x) = \\mathcal N(\\mu,
\\operatorname{diag}\\sigma^2)` over a :math:`d`-dimensional code. Its divergence from the prior
:math:`p(z) = \\mathcal N(0, I)` has the closed form

.. math::
   \\mathrm{KL}\\big(q \\,\\|\\, p\\big) = \\tfrac12 \\sum_{j=1}^{d}
   \\big(\\mu_j^2 + \\sigma_j^2 - \\log\\sigma_j^2 - 1\\big) \\;\\ge\\; 0,

zero exactly when :math:`\\mu = 0` and :math:`\\sigma = 1`.
"""

from __future__ import annotations

from ._checks import float_tensor, same_shape

__all__ = ["gaussian_kl"]


def gaussian_kl(mu, logvar):
    """KL divergence of :math:`\\mathcal N(\\mu, \\operatorname{diag} e^{\\text{logvar}})` from
    :math:`\\mathcal N(0, I)`, per sample, summed over the code dimensions.

    .. math:: \\mathrm{KL} = \\tfrac12 \\sum_j \\big(\\mu_j^2 + e^{\\ell_j} - \\ell_j - 1\\big),
       \\qquad \\ell_j = \\log\\sigma_j^2 .

    Parameters
    ----------
    mu, logvar : torch.Tensor of shape (n, d) (or (d,) for one sample)
        Means and log-variances of the diagonal Gaussians, same shape.

    Returns
    -------
    torch.Tensor of shape (n,) (a scalar for one sample), differentiable, on the inputs' device.

    Examples
    --------
    >>> import torch
    >>> gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3))
    tensor([0., 0.])
    >>> float(gaussian_kl(torch.tensor([1.0]), torch.tensor([0.0])))   # mu^2 / 2
    0.5
    """
    mu = float_tensor(mu, "mu", ndim=(1, 2))
    logvar = float_tensor(logvar, "logvar", ndim=(1, 2))
    same_shape(mu, logvar, ("mu", "logvar"))
    return 0.5 * (mu**2 + logvar.exp() - logvar - 1.0).sum(-1)
