"""LISTA: ISTA unrolled into a recurrent network whose weights are then learned.

Taught in the chapter *Sparse coding* (``book/sparse-coding.ipynb``); Gregor and LeCun (2010).

ISTA with step :math:`\\gamma` can be rewritten as a recurrent network,

.. math::
   b = W_e x, \\qquad z_1 = \\rho_\\theta(b), \\qquad z_{k+1} = \\rho_\\theta(b + S z_k),

with :math:`W_e = \\gamma D^\\top`, :math:`S = I - \\gamma D^\\top D` and
:math:`\\theta = \\gamma\\lambda` (one threshold per atom). :class:`LISTA` is that network with
``n_layers`` = :math:`K` steps, initialised exactly so (an untrained ``LISTA`` *is* ISTA with
:math:`K` iterations from :math:`z_0 = 0`), and with :math:`W_e`, :math:`S`, :math:`\\theta`
as trainable parameters shared by all steps. Training by back-propagation through the
:math:`K` unrolled steps (:func:`train_lista`) teaches the network to reach, in :math:`K`
steps, codes that ISTA needs many more iterations to reach.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .._validation import (
    InvalidParameterError,
    as_float_array,
    check_ndim,
    check_scalar,
    check_torch_seed,
    invalid,
)
from ..utils import is_torch
from ._arrays import check_lam, spectral_norm_sq
from .ista import check_step, fista
from .prox import shrink

__all__ = ["LISTA", "train_lista", "code_error"]


@functools.cache
def _unrolled_encoder_base():
    """``torch.nn.Module`` with what LISTA and LCoD share: the sizes of ``W_e`` and the check of
    the signals' shape (torch is imported lazily, so the class is made on first use)."""
    import torch

    class UnrolledEncoder(torch.nn.Module):
        W_e: torch.nn.Linear  # the encoder of the signals, set by the subclass

        @property
        def n_features(self) -> int:
            return self.W_e.in_features

        @property
        def n_atoms(self) -> int:
            return self.W_e.out_features

        def _check_signals(self, x) -> None:
            if x.ndim not in (1, 2) or x.shape[-1] != self.n_features:
                raise InvalidParameterError(
                    f"{type(self).__name__} expects signals of shape (n_signals, "
                    f"{self.n_features}) or ({self.n_features},). Got {tuple(x.shape)}."
                )

    return UnrolledEncoder


def _as_dictionary_tensor(D: Any):
    import torch

    if is_torch(D):
        t = D.detach().clone()
        if not t.is_floating_point():
            t = t.to(torch.get_default_dtype())
    else:
        arr = as_float_array(D, "D", dtype=None, allow_nan=True)
        t = torch.as_tensor(arr, dtype=torch.get_default_dtype())
    check_ndim(t, "D", 2, what="a dictionary of shape (n_features, n_atoms)")
    if not bool(torch.isfinite(t).all()):
        raise InvalidParameterError("The 'D' argument contains NaN or infinite values.")
    return t


class LISTA(_unrolled_encoder_base()):  # type: ignore[misc]  # torch is imported lazily
    """Learned ISTA (Gregor and LeCun, 2010): :math:`K` ISTA steps with learnable weights.

    .. math:: z_1 = \\rho_\\theta(W_e x), \\qquad z_{k+1} = \\rho_\\theta(W_e x + S z_k),
       \\qquad k = 1, \\dots, K - 1,

    initialised with :math:`W_e = \\gamma D^\\top`, :math:`S = I - \\gamma D^\\top D`,
    :math:`\\theta = \\gamma\\lambda` and :math:`\\gamma = 1/L`, so that before training
    ``LISTA(D, lam, K)(x)`` equals ``ista(D, x, lam, n_iter=K)``.

    Parameters
    ----------
    D : ndarray or Tensor of shape (n_features, n_atoms)
        The dictionary. A tensor keeps its dtype and device; a NumPy array becomes a tensor
        of torch's default dtype on the CPU (move the module with ``.to(device)``).
    lam : float >= 0
        The Lasso weight :math:`\\lambda` the initialisation imitates.
    n_layers : int >= 1
        :math:`K`, the number of unrolled steps (the depth).
    step : float in (0, 1/L], optional
        ISTA's step :math:`\\gamma`, default :math:`1/L` with :math:`L = \\|D^\\top D\\|_2`.

    Attributes
    ----------
    W_e : torch.nn.Linear (n_features -> n_atoms, no bias)
        The filter matrix; ``W_e.weight`` has shape (n_atoms, n_features).
    S : torch.nn.Linear (n_atoms -> n_atoms, no bias)
        The mutual-inhibition matrix; ``S.weight`` has shape (n_atoms, n_atoms).
    theta : torch.nn.Parameter of shape (n_atoms,)
        The thresholds.
    D : buffer of shape (n_features, n_atoms)
        The dictionary (not trained), to decode: ``x_hat = z @ model.D.T``.

    Examples
    --------
    >>> import torch
    >>> from dlcourse.sparse import ista
    >>> D = torch.randn(16, 32, dtype=torch.float64); x = torch.randn(5, 16, dtype=torch.float64)
    >>> model = LISTA(D, lam=0.1, n_layers=3)
    >>> torch.allclose(model(x), ista(D, x, 0.1, n_iter=3), atol=1e-12)
    True
    """

    def __init__(self, D: Any, lam: float, n_layers: int, step: float | None = None) -> None:
        import torch

        super().__init__()
        D = _as_dictionary_tensor(D)
        lam = check_lam(lam)
        self.n_layers = check_scalar(n_layers, "n_layers", int, low=1)
        gamma = check_step(step, spectral_norm_sq(D))
        n_features, n_atoms = D.shape
        self.lam, self.step = lam, gamma
        self.W_e = torch.nn.Linear(n_features, n_atoms, bias=False, dtype=D.dtype, device=D.device)
        self.S = torch.nn.Linear(n_atoms, n_atoms, bias=False, dtype=D.dtype, device=D.device)
        eye = torch.eye(n_atoms, dtype=D.dtype, device=D.device)
        with torch.no_grad():
            self.W_e.weight.copy_(gamma * D.T)
            self.S.weight.copy_(eye - gamma * (D.T @ D))
        self.theta = torch.nn.Parameter(
            torch.full((n_atoms,), gamma * lam, dtype=D.dtype, device=D.device)
        )
        self.register_buffer("D", D)

    def forward(self, x):
        """Codes (n_signals, n_atoms) of signals ``x`` of shape (n_signals, n_features)."""
        self._check_signals(x)
        b = self.W_e(x)
        z = shrink(b, self.theta)
        for _ in range(self.n_layers - 1):
            z = shrink(b + self.S(z), self.theta)
        return z

    def extra_repr(self) -> str:
        return (
            f"n_features={self.n_features}, n_atoms={self.n_atoms}, n_layers={self.n_layers}, "
            f"lam={self.lam:g}, step={self.step:.4g}"
        )


def code_error(z: Any, z_target: Any) -> float:
    """Mean squared code error :math:`\\frac1N \\sum_i \\|z_i - z_i^\\star\\|^2` (a float).

    The quantity LISTA is trained to reduce; accepts NumPy arrays or tensors.
    """
    if is_torch(z) or is_torch(z_target):
        import torch

        z = torch.as_tensor(z).detach().double().cpu()
        z_target = torch.as_tensor(z_target).detach().double().cpu()
        a, b = z.numpy(), z_target.numpy()
    else:
        a, b = np.asarray(z, dtype=np.float64), np.asarray(z_target, dtype=np.float64)
    if a.shape != b.shape:
        raise InvalidParameterError(
            f"The 'z' and 'z_target' arguments must have the same shape. Got {a.shape} and "
            f"{b.shape}."
        )
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    return float(np.mean(np.sum((a - b) ** 2, axis=-1)))


def train_lista(
    model: Any,
    x: Any,
    z_target: Any = None,
    *,
    epochs: int = 10,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
    n_target_iter: int = 1000,
    progress: bool = False,
):
    """Train a :class:`LISTA` (or any encoder) to predict optimal sparse codes.

    Minimises :math:`\\frac1N\\sum_i \\|f_W(x_i) - z_i^\\star\\|^2` by Adam with
    back-propagation through the unrolled steps, using :func:`dlcourse.trainer.train`.

    Parameters
    ----------
    model : torch.nn.Module
        Maps signals (n, n_features) to codes (n, n_atoms); trained in place.
    x : ndarray or Tensor of shape (n_signals, n_features)
    z_target : ndarray or Tensor of shape (n_signals, n_atoms), optional
        The codes to imitate. By default the Lasso solution computed by
        :func:`fista` with ``n_target_iter`` iterations on ``model.D``, ``model.lam``.
    epochs, lr, batch_size, seed, progress
        As in :func:`dlcourse.trainer.train` (mini-batches are reshuffled each epoch).

    Returns
    -------
    dlcourse.trainer.History
    """
    import torch

    from ..trainer import train

    params = list(model.parameters())
    if not params:
        raise InvalidParameterError("The 'model' argument has no parameters to train.")
    dtype, dev = params[0].dtype, params[0].device
    x = torch.as_tensor(np.asarray(x) if not is_torch(x) else x).to(dtype=dtype, device=dev)
    if x.ndim != 2:
        raise invalid("x", "of shape (n_signals, n_features)", got=f"{x.shape}")
    if z_target is None:
        if not (hasattr(model, "D") and hasattr(model, "lam")):
            raise InvalidParameterError(
                "Pass 'z_target': the model has no dictionary 'D' and 'lam'."
            )
        n_target_iter = check_scalar(n_target_iter, "n_target_iter", int, low=1)
        with torch.no_grad():
            z_target = fista(model.D, x, model.lam, n_iter=n_target_iter)
    z_target = torch.as_tensor(np.asarray(z_target) if not is_torch(z_target) else z_target).to(
        dtype=dtype, device=dev
    )
    if z_target.ndim != 2 or z_target.shape[0] != x.shape[0]:
        raise invalid(
            "z_target",
            f"of shape (n_signals, n_atoms) with n_signals = {x.shape[0]}",
            got=f"{tuple(z_target.shape)}",
        )
    generator = check_torch_seed(seed)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, z_target),
        batch_size=batch_size,
        shuffle=True,
        generator=generator,
    )

    def loss_fn(z, zt):
        return ((z - zt) ** 2).sum(dim=-1).mean()

    return train(
        model,
        loader,
        epochs=epochs,
        lr=lr,
        loss_fn=loss_fn,
        seed=seed,
        progress=progress,
        desc="LISTA",
    )
