"""Probabilistic PCA: a linear-Gaussian latent model whose likelihood is known exactly.

Taught in :ref:`generative-models` (``book/generative-models.ipynb``).

With :math:`z \\sim \\mathcal N(0, I_d)` and :math:`x \\mid z \\sim \\mathcal N(Wz + b, v I_p)`,
the marginal is Gaussian, :math:`x \\sim \\mathcal N(b,\\ C)` with :math:`C = WW^\\top + vI_p`,
and so is the posterior:

.. math::
   z \\mid x \\sim \\mathcal N\\big(M^{-1}W^\\top(x - b),\\ v M^{-1}\\big), \\qquad
   M = W^\\top W + v I_d .

A linear VAE with this decoder therefore has an ELBO that can be compared with the exact
:math:`\\log p(x)`: equal when the encoder outputs the true posterior (possible with a diagonal
Gaussian when the columns of :math:`W` are orthogonal, as at the maximum-likelihood solution of
Tipping and Bishop), strictly smaller otherwise.
"""

from __future__ import annotations

import math

from .._validation import InvalidParameterError, check_scalar
from ._checks import float_tensor

__all__ = [
    "linear_gaussian_log_likelihood",
    "linear_gaussian_posterior",
    "linear_gaussian_elbo",
    "linear_gaussian_vae",
]


def _check(x, W, b, obs_var):
    W = float_tensor(W, "W", ndim=2)
    b = float_tensor(b, "b", ndim=1).to(W)
    v = check_scalar(obs_var, "obs_var", float, low=0, closed="neither")
    if b.shape[0] != W.shape[0]:
        raise InvalidParameterError(
            f"'b' must have one entry per row of 'W' ({W.shape[0]}). Got {b.shape[0]} instead."
        )
    if x is not None:
        x = float_tensor(x, "x", ndim=2).to(W)
        if x.shape[1] != W.shape[0]:
            raise InvalidParameterError(
                f"'x' must have shape (n, {W.shape[0]}) to match 'W' of shape "
                f"{tuple(W.shape)}. Got {tuple(x.shape)} instead."
            )
    return x, W, b, v


def linear_gaussian_log_likelihood(x, W, b, obs_var):
    """Exact :math:`\\log p(x) = \\log\\mathcal N(x;\\ b,\\ WW^\\top + vI)` of each row of ``x``.

    Parameters
    ----------
    x : torch.Tensor of shape (n, p)
    W : torch.Tensor of shape (p, d)
    b : torch.Tensor of shape (p,)
    obs_var : float > 0
        :math:`v`, the noise variance.

    Returns
    -------
    torch.Tensor of shape (n,) (in ``W``'s dtype and device).

    Examples
    --------
    >>> import torch
    >>> W, b = torch.zeros(2, 1, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    >>> ll = linear_gaussian_log_likelihood(torch.zeros(1, 2), W, b, 1.0)
    >>> round(float(ll[0]), 4)    # log N(0; 0, I_2) = -log(2 pi)
    -1.8379
    """
    import torch

    x, W, b, v = _check(x, W, b, obs_var)
    p = W.shape[0]
    C = W @ W.T + v * torch.eye(p, dtype=W.dtype, device=W.device)
    L = torch.linalg.cholesky(C)
    r = torch.linalg.solve_triangular(L, (x - b).T, upper=False)  # (p, n)
    logdet = 2 * torch.log(torch.diagonal(L)).sum()
    return -0.5 * ((r**2).sum(0) + logdet + p * math.log(2 * math.pi))


def linear_gaussian_posterior(x, W, b, obs_var):
    """The exact posterior :math:`p(z \\mid x) = \\mathcal N(M^{-1}W^\\top(x-b),\\ vM^{-1})`.

    Returns
    -------
    mean : torch.Tensor of shape (n, d)
    cov : torch.Tensor of shape (d, d), the same for every ``x``.

    Examples
    --------
    >>> import torch
    >>> W = torch.tensor([[2.0], [0.0]], dtype=torch.float64)
    >>> m, c = linear_gaussian_posterior(torch.tensor([[5.0, 1.0]]), W, torch.zeros(2), 1.0)
    >>> float(m[0, 0]), float(c[0, 0])     # M = 5: mean 2 * 5 / 5, variance 1 / 5
    (2.0, 0.2)
    """
    import torch

    x, W, b, v = _check(x, W, b, obs_var)
    M = W.T @ W + v * torch.eye(W.shape[1], dtype=W.dtype, device=W.device)
    Minv = torch.linalg.inv(M)
    return (x - b) @ W @ Minv.T, v * Minv


def linear_gaussian_elbo(x, W, b, obs_var, mu, logvar):
    """The ELBO of a linear-Gaussian model in closed form, for a diagonal Gaussian
    :math:`q(z \\mid x) = \\mathcal N(\\mu, \\operatorname{diag}\\sigma^2)` (no sampling).

    .. math::
       \\mathrm{ELBO} = -\\frac{1}{2v}\\Big(\\lVert x - W\\mu - b\\rVert^2
       + \\sum_j \\sigma_j^2 \\lVert W_{:j}\\rVert^2\\Big) - \\frac p2 \\log(2\\pi v)
       - \\mathrm{KL}\\big(q \\,\\|\\, \\mathcal N(0, I)\\big)
       \\;\\le\\; \\log p(x),

    with equality iff :math:`q` is the exact posterior (:func:`linear_gaussian_posterior`).

    Parameters
    ----------
    x : torch.Tensor of shape (n, p)
    W, b, obs_var : as in :func:`linear_gaussian_log_likelihood`
    mu, logvar : torch.Tensor of shape (n, d)
        The parameters of :math:`q` for each row of ``x``.

    Returns
    -------
    torch.Tensor of shape (n,), differentiable.

    Examples
    --------
    >>> import torch
    >>> W = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]], dtype=torch.float64)
    >>> b, x = torch.zeros(3, dtype=torch.float64), torch.tensor([[1.0, -1.0, 0.5]])
    >>> m, cov = linear_gaussian_posterior(x, W, b, 0.5)     # diagonal: W has orthogonal columns
    >>> elbo = linear_gaussian_elbo(x, W, b, 0.5, m, torch.log(torch.diagonal(cov))[None])
    >>> bool(torch.allclose(elbo, linear_gaussian_log_likelihood(x, W, b, 0.5)))
    True
    """
    from .kl import gaussian_kl

    x, W, b, v = _check(x, W, b, obs_var)
    mu = float_tensor(mu, "mu", ndim=2).to(W)
    logvar = float_tensor(logvar, "logvar", ndim=2).to(W)
    if mu.shape != (x.shape[0], W.shape[1]) or logvar.shape != mu.shape:
        raise InvalidParameterError(
            f"'mu' and 'logvar' must have shape (n, d) = {(x.shape[0], W.shape[1])}. "
            f"Got {tuple(mu.shape)} and {tuple(logvar.shape)} instead."
        )
    resid = ((x - mu @ W.T - b) ** 2).sum(1)
    trace = (logvar.exp() * (W**2).sum(0)).sum(1)
    p = W.shape[0]
    rec = -0.5 * (resid + trace) / v - 0.5 * p * math.log(2 * math.pi * v)
    return rec - gaussian_kl(mu, logvar)


def linear_gaussian_vae(W, b, obs_var):
    """A :class:`~dlcourse.generative.VAE` whose decoder is :math:`z \\mapsto Wz + b` and whose
    linear encoder outputs the exact posterior mean and the *diagonal* of its covariance.

    When the columns of ``W`` are orthogonal the posterior covariance is diagonal, the encoder is
    exact and the ELBO equals :math:`\\log p(x)`; otherwise the ELBO is strictly smaller.
    (:meth:`VAE.elbo` estimates the reconstruction term by sampling, so it matches only up to
    Monte Carlo error; :func:`linear_gaussian_elbo` is the exact value.)

    Returns
    -------
    VAE with ``likelihood="gaussian"``, in ``W``'s dtype and device (parameters copied).

    Examples
    --------
    >>> import torch
    >>> W = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]], dtype=torch.float64)
    >>> b = torch.zeros(3, dtype=torch.float64)
    >>> x = torch.tensor([[1.0, -1.0, 0.5]], dtype=torch.float64)
    >>> vae = linear_gaussian_vae(W, b, 0.5)
    >>> exact = linear_gaussian_log_likelihood(x, W, b, 0.5)
    >>> est = vae.elbo(x, n_samples=100_000, seed=0)
    >>> bool(torch.allclose(est, exact, atol=0.01))
    True
    """
    import torch
    from torch import nn

    from .vae import VAE

    _, W, b, v = _check(None, W, b, obs_var)
    p, d = W.shape
    M = W.T @ W + v * torch.eye(d, dtype=W.dtype, device=W.device)
    Minv = torch.linalg.inv(M)
    A = Minv @ W.T  # mean = A (x - b)
    with torch.random.fork_rng(devices=[]):  # the layers' random init must not move torch's RNG
        enc = nn.Linear(p, 2 * d).to(dtype=W.dtype, device=W.device)
        dec = nn.Linear(d, p).to(dtype=W.dtype, device=W.device)
    with torch.no_grad():
        enc.weight.copy_(torch.cat([A, torch.zeros_like(A)]))
        enc.bias.copy_(torch.cat([-A @ b, torch.log(v * torch.diagonal(Minv))]))
        dec.weight.copy_(W)
        dec.bias.copy_(b)
    return VAE(enc, dec, d, likelihood="gaussian", obs_var=v)
