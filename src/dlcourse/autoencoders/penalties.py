"""Regularisers of auto-encoders: the sparse penalty and the contractive penalty.

Taught in the chapter *Autoencoders* (``book/autoencoders.ipynb``).

The **sparse** auto-encoder adds :math:`R(h) = \\lambda \\sum_i |h_i|` on the code
:math:`h = f(x)`, the :math:`\\ell_1` term of sparse coding (:mod:`dlcourse.sparse`), so that
an overcomplete code cannot copy its input and keeps few active units.

The **contractive** auto-encoder (Rifai et al., 2011) adds the squared Frobenius norm of the
encoder's Jacobian,

.. math:: R(x) = \\lambda \\sum_i \\|\\nabla_x h_i(x)\\|^2 = \\lambda \\|J_f(x)\\|_F^2,
   \\qquad J_f(x)_{ij} = \\frac{\\partial h_i}{\\partial x_j},

which asks the code to be insensitive to every direction of the input except those that the
reconstruction needs: the directions along the data manifold. For a sigmoid encoder
:math:`h = \\sigma(W x + b)` the Jacobian is :math:`J = \\mathrm{diag}(h \\odot (1 - h))\\,W`, so

.. math:: \\|J_f(x)\\|_F^2 = \\sum_i \\bigl(h_i (1 - h_i)\\bigr)^2 \\|W_{i,:}\\|^2 ,

one matrix product instead of :math:`d` backward passes. Any other encoder goes through
``torch.func.vmap(torch.func.jacrev(encoder))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_ndim, check_option, check_scalar, invalid
from ..utils import is_torch
from .models import _check_features

__all__ = ["sparse_penalty", "code_sparsity", "contractive_penalty", "encoder_jacobian"]


def _reduce(values, reduction: str):
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


def sparse_penalty(h: Any, lam: float = 1.0, reduction: str = "mean") -> Any:
    """The sparse penalty :math:`R(h) = \\lambda \\sum_i |h_i|` of each code, then reduced.

    Parameters
    ----------
    h : Tensor or ndarray of shape (n_samples, code_dim), or (code_dim,) for one code
    lam : float >= 0, default 1
        The weight :math:`\\lambda`.
    reduction : {"mean", "sum", "none"}, default "mean"
        Mean or sum over the samples, or the per-sample values of shape (n_samples,).

    Returns
    -------
    Tensor (differentiable in ``h``) or float/ndarray for NumPy input.

    Examples
    --------
    >>> import torch
    >>> sparse_penalty(torch.tensor([[1.0, -2.0], [0.0, 3.0]]), lam=0.5)
    tensor(1.5000)
    >>> sparse_penalty(np.array([[1.0, -2.0], [0.0, 3.0]]), lam=0.5, reduction="none")
    array([1.5, 1.5])
    """
    lam = check_scalar(lam, "lam", float, low=0)
    reduction = check_option(reduction, "reduction", ("mean", "sum", "none"))
    if not is_torch(h):
        from .._validation import as_float_array

        h = as_float_array(h, "h", ndim=(1, 2), allow_nan=True)
    check_ndim(h, "h", (1, 2), what="a tensor of shape (n_samples, code_dim) or (code_dim,)")
    per = lam * abs(h).sum(-1)
    if per.ndim == 0:
        return per if is_torch(per) else float(per)
    out = _reduce(per, reduction)
    return float(out) if isinstance(out, np.floating) else out


def code_sparsity(h: Any, tol: float = 1e-6) -> float:
    """The fraction of code entries that are (numerically) zero, :math:`|h_{ni}| \\le` ``tol``.

    Parameters
    ----------
    h : Tensor or ndarray of shape (n_samples, code_dim)
    tol : float >= 0

    Examples
    --------
    >>> code_sparsity(np.array([[0.0, 1.0], [0.0, 0.0]]))
    0.75
    """
    tol = check_scalar(tol, "tol", float, low=0)
    if is_torch(h):
        h = h.detach().cpu().double().numpy()
    from .._validation import as_float_array

    h = as_float_array(h, "h", ndim=(1, 2))
    return float(np.mean(np.abs(h) <= tol))


def _sigmoid_linear(encoder: Any):
    """The ``Linear`` of an encoder that is exactly ``Sequential(Linear, Sigmoid)``, else None."""
    import torch

    if (
        isinstance(encoder, torch.nn.Sequential)
        and len(encoder) == 2
        and isinstance(encoder[0], torch.nn.Linear)
        and isinstance(encoder[1], torch.nn.Sigmoid)
    ):
        return encoder[0]
    return None


def _check_encoder_input(encoder: Any, x: Any, caller: str):
    """``x`` must be a floating tensor of shape (n_samples, n_features) that ``encoder`` takes
    (its first ``Linear``'s ``in_features`` and dtype, when it has one)."""
    import torch

    if not isinstance(encoder, torch.nn.Module) and not callable(encoder):
        raise invalid("encoder", "a torch.nn.Module or a callable", encoder, caller)
    _check_features(x, encoder, "x", "encoder", caller, matrix=True)
    if not x.is_floating_point():
        raise invalid("x", "a floating-point tensor", caller=caller, got=f"dtype {x.dtype}")
    return x


def encoder_jacobian(encoder: Any, x: Any) -> Any:
    """The Jacobians :math:`J_f(x_n)` of an encoder at each sample, by ``torch.func``.

    .. math:: J_f(x)_{ij} = \\partial h_i / \\partial x_j

    Computed as ``torch.func.vmap(torch.func.jacrev(encoder))(x)``; the result stays
    differentiable in the encoder's parameters (for training with the contractive penalty).
    The encoder must treat samples independently (no batch norm in train mode).

    Parameters
    ----------
    encoder : torch.nn.Module or callable
        Maps (n, n_features) to (n, code_dim).
    x : Tensor of shape (n_samples, n_features)

    Returns
    -------
    Tensor of shape (n_samples, code_dim, n_features)

    Examples
    --------
    >>> import torch
    >>> lin = torch.nn.Linear(3, 2)
    >>> J = encoder_jacobian(lin, torch.zeros(4, 3))
    >>> J.shape, torch.allclose(J[0], lin.weight)
    (torch.Size([4, 2, 3]), True)
    """
    from torch.func import jacrev, vmap

    x = _check_encoder_input(encoder, x, "encoder_jacobian")

    def one(xi):
        return encoder(xi.unsqueeze(0)).squeeze(0)

    return vmap(jacrev(one))(x)


def contractive_penalty(
    encoder: Any,
    x: Any,
    lam: float = 1.0,
    reduction: str = "mean",
    method: str = "auto",
) -> Any:
    """The contractive penalty :math:`\\lambda \\|J_f(x)\\|_F^2` of each sample, then reduced.

    Parameters
    ----------
    encoder : torch.nn.Module or callable
        The encoder :math:`f`, mapping (n, n_features) to codes (n, code_dim).
    x : Tensor of shape (n_samples, n_features)
    lam : float >= 0, default 1
    reduction : {"mean", "sum", "none"}, default "mean"
    method : {"auto", "closed", "autograd"}, default "auto"
        ``"closed"``: :math:`\\sum_i (h_i(1 - h_i))^2 \\|W_{i,:}\\|^2`, only for an encoder
        ``Sequential(Linear, Sigmoid)``; ``"autograd"``: the squared entries of
        :func:`encoder_jacobian` summed; ``"auto"``: the closed form where it applies.

    Returns
    -------
    Tensor
        A scalar (or shape (n_samples,) for ``reduction="none"``), differentiable in the
        encoder's parameters and in ``x``.

    Examples
    --------
    >>> import torch
    >>> enc = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.Sigmoid())
    >>> x = torch.randn(4, 5)
    >>> a = contractive_penalty(enc, x, method="closed")
    >>> b = contractive_penalty(enc, x, method="autograd")
    >>> bool(torch.allclose(a, b))
    True
    """
    lam = check_scalar(lam, "lam", float, low=0)
    reduction = check_option(reduction, "reduction", ("mean", "sum", "none"))
    method = check_option(method, "method", ("auto", "closed", "autograd"))
    x = _check_encoder_input(encoder, x, "contractive_penalty")
    lin = _sigmoid_linear(encoder)
    if method == "closed" and lin is None:
        raise invalid(
            "encoder",
            "nn.Sequential(nn.Linear, nn.Sigmoid) for method='closed' (use 'autograd')",
            type(encoder).__name__,
            "contractive_penalty",
        )
    if lin is not None and method != "autograd":
        h = encoder(x)
        per = ((h * (1 - h)) ** 2) @ (lin.weight**2).sum(1)
    else:
        per = encoder_jacobian(encoder, x).pow(2).sum((1, 2))
    return _reduce(lam * per, reduction)
