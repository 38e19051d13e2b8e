"""The reparameterisation trick and the score-function gradient estimator.

Taught in :ref:`generative-models` (``book/generative-models.ipynb``).

A sample :math:`z \\sim \\mathcal N(\\mu, \\sigma^2)` drawn by a random number generator has no
derivative with respect to :math:`\\mu` or :math:`\\sigma`. Writing it as a deterministic,
differentiable function of the parameters and of parameter-free noise,

.. math:: z = \\mu + \\sigma \\odot \\varepsilon, \\qquad \\varepsilon \\sim \\mathcal N(0, I),
   \\qquad \\sigma = e^{\\frac12 \\log\\sigma^2},

moves the randomness out of the way: :math:`\\nabla_\\mu\\, \\mathbb E[f(z)] =
\\mathbb E_\\varepsilon[\\nabla_\\mu f(\\mu + \\sigma\\varepsilon)]`, estimated by back-propagating
through the sample. The alternative that needs no derivative of :math:`f`, the *score-function*
(REINFORCE) estimator :math:`\\mathbb E[f(z)\\, \\nabla_\\mu \\log q(z)]`, is unbiased too but has a
much larger variance; :func:`gradient_estimates` computes both for a comparison.
"""

from __future__ import annotations

from collections.abc import Callable

from .._validation import check_callable, check_scalar, check_torch_seed
from ._checks import float_tensor, same_shape

__all__ = ["reparameterize", "gradient_estimates"]


def reparameterize(mu, logvar, seed=None):
    """A differentiable sample :math:`z = \\mu + e^{\\frac12\\text{logvar}} \\odot \\varepsilon`.

    Parameters
    ----------
    mu, logvar : torch.Tensor, same shape
        Means and log-variances (any shape; typically (n, d)).
    seed : int, torch.Generator, numpy.random.Generator or None
        Randomness of :math:`\\varepsilon \\sim \\mathcal N(0, I)`. ``None`` draws from torch's
        global generator (without seeding it).

    Returns
    -------
    z : torch.Tensor
        Of the shape of ``mu``; gradients flow to ``mu`` and ``logvar``:
        :math:`\\partial z/\\partial\\mu = 1` and
        :math:`\\partial z/\\partial\\text{logvar} = \\tfrac12 \\sigma\\varepsilon`.

    Examples
    --------
    >>> import torch
    >>> logvar = torch.log(torch.full((100_000,), 9.0))            # sigma = 3
    >>> z = reparameterize(torch.zeros(100_000), logvar, seed=0)
    >>> round(float(z.std()), 1)
    3.0
    >>> float(reparameterize(torch.tensor([5.0]), torch.tensor([-float("inf")]), seed=0)[0])
    5.0
    """
    import torch

    mu = float_tensor(mu, "mu")
    logvar = float_tensor(logvar, "logvar")
    same_shape(mu, logvar, ("mu", "logvar"))
    generator = check_torch_seed(seed, mu.device)
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def gradient_estimates(f: Callable, mu, logvar, n_samples: int = 1, seed=None):
    """Per-sample estimates of :math:`\\nabla_\\mu \\mathbb E_{z \\sim q} f(z)`,
    :math:`q = \\mathcal N(\\mu, \\sigma^2)`, by the reparameterisation and by the score-function
    estimators.

    .. math::
       g_{\\text{reparam}} = \\nabla_\\mu f(\\mu + \\sigma\\varepsilon), \\qquad
       g_{\\text{score}} = f(z)\\, \\frac{z - \\mu}{\\sigma^2},
       \\quad z = \\mu + \\sigma\\varepsilon,

    both unbiased; their averages over ``n_samples`` draws agree, their variances do not.

    Parameters
    ----------
    f : callable
        Differentiable torch function, batch of codes ``(n_samples, d)`` -> values ``(n_samples,)``.
    mu, logvar : torch.Tensor of shape (d,)
        The Gaussian's parameters (not modified; no gradient is left on them).
    n_samples : int >= 1
    seed : int, torch.Generator, numpy.random.Generator or None

    Returns
    -------
    (reparam, score) : two tensors of shape (n_samples, d), one gradient estimate per row.

    Examples
    --------
    >>> import torch
    >>> f = lambda z: (z**2).sum(1)                 # E f = mu^2 + sigma^2, gradient 2 mu
    >>> r, s = gradient_estimates(f, torch.tensor([1.0]), torch.tensor([0.0]), 200_000, seed=0)
    >>> round(float(r.mean()), 1), round(float(s.mean()), 1)
    (2.0, 2.0)
    >>> bool(r.var() < s.var())
    True
    """
    import torch

    check_callable(f, "f")
    mu = float_tensor(mu, "mu", ndim=1).detach()
    logvar = float_tensor(logvar, "logvar", ndim=1).detach()
    same_shape(mu, logvar, ("mu", "logvar"))
    n = check_scalar(n_samples, "n_samples", int, low=1)
    generator = check_torch_seed(seed, mu.device)
    eps = torch.randn((n, mu.shape[0]), generator=generator, device=mu.device, dtype=mu.dtype)
    sigma = torch.exp(0.5 * logvar)
    mus = mu.expand(n, -1).clone().requires_grad_(True)
    with torch.enable_grad():
        values = f(mus + sigma * eps)
        (reparam,) = torch.autograd.grad(values.sum(), mus)
    z = (mu + sigma * eps).detach()
    with torch.no_grad():
        score = f(z).reshape(n, 1) * (z - mu) / sigma**2
    return reparam.detach(), score
