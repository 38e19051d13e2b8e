"""Predictive sparse decomposition (PSD): a fast encoder trained to predict sparse codes.

Taught in the chapter *Sparse coding* (``book/sparse-coding.ipynb``); Kavukcuoglu, Ranzato
and LeCun (2008).

Sparse inference (FISTA) is an optimisation per signal. PSD adds a feed-forward encoder
:math:`F_W(x) = g \\odot \\tanh(W x + b)` and trains it *jointly* with the dictionary by
minimising, over :math:`D`, :math:`W` and the codes :math:`z`,

.. math:: E(x, z) = \\tfrac12\\|x - D z\\|^2 + \\lambda\\|z\\|_1
   + \\tfrac\\alpha2 \\|z - F_W(x)\\|^2 .

For fixed :math:`D, W` the optimal code is a Lasso again: stacking
:math:`\\tilde D = \\begin{bmatrix} D \\\\ \\sqrt\\alpha I\\end{bmatrix}` and
:math:`\\tilde x = \\begin{bmatrix} x \\\\ \\sqrt\\alpha F_W(x)\\end{bmatrix}` gives
:math:`E = \\frac12\\|\\tilde x - \\tilde D z\\|^2 + \\lambda \\|z\\|_1`, solved by
:func:`~dlcourse.sparse.fista` warm-started at the prediction :math:`F_W(x)`. Then the
dictionary takes a projected gradient step (step :math:`1/\\|\\overline{z z^\\top}\\|_2`, atoms
renormalised) and the encoder an Adam step on :math:`\\frac\\alpha2\\|z - F_W(x)\\|^2`. After
training, :math:`F_W(x)` alone gives approximate codes at the cost of one matrix product.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._validation import InvalidParameterError, check_scalar, check_torch_seed, invalid
from ..utils import is_torch
from ._arrays import check_lam
from .dictionary import normalize_atoms
from .ista import fista
from .prox import energy

__all__ = ["PSDEncoder", "predictive_sparse_decomposition"]


def _module_base():
    import torch

    return torch.nn.Module


class PSDEncoder(_module_base()):
    """The PSD encoder :math:`F_W(x) = g \\odot \\tanh(W x + b)`, one gain per atom.

    Parameters
    ----------
    n_features, n_atoms : int
        Input size and code size.
    dtype, device : optional
        Of the parameters (torch's defaults otherwise).

    Examples
    --------
    >>> import torch
    >>> enc = PSDEncoder(16, 32)
    >>> enc(torch.zeros(4, 16)).shape
    torch.Size([4, 32])
    """

    def __init__(self, n_features: int, n_atoms: int, dtype=None, device=None) -> None:
        import torch

        super().__init__()
        n_features = check_scalar(n_features, "n_features", int, low=1)
        n_atoms = check_scalar(n_atoms, "n_atoms", int, low=1)
        self.linear = torch.nn.Linear(n_features, n_atoms, dtype=dtype, device=device)
        self.gain = torch.nn.Parameter(torch.ones(n_atoms, dtype=dtype, device=device))

    def forward(self, x):
        return self.gain * self.linear(x).tanh()


def predictive_sparse_decomposition(
    X: Any,
    n_atoms: int,
    lam: float,
    alpha: float = 1.0,
    n_iter: int = 200,
    *,
    batch_size: int = 256,
    n_code_iter: int = 30,
    lr: float = 3e-3,
    D0: Any = None,
    encoder: Any = None,
    seed: int = 0,
    device: Any = None,
    return_energy: bool = False,
):
    """Train a dictionary and a :class:`PSDEncoder` jointly (see the module docstring).

    Parameters
    ----------
    X : ndarray or Tensor of shape (n_signals, n_features)
    n_atoms : int >= 1
    lam : float >= 0
        Sparsity weight :math:`\\lambda`.
    alpha : float > 0, default 1
        Weight :math:`\\alpha` of the prediction term :math:`\\frac\\alpha2\\|z - F_W(x)\\|^2`.
    n_iter : int >= 1
        Mini-batch steps.
    batch_size, n_code_iter : int
        Signals per step, FISTA iterations per coding step.
    lr : float > 0
        Adam learning rate of the encoder.
    D0 : array of shape (n_features, n_atoms), optional
        Starting dictionary (e.g. from :func:`learn_dictionary`); random signals otherwise.
    encoder : torch.nn.Module, optional
        Any module mapping (n, n_features) to (n, n_atoms), trained in place; by default a
        new :class:`PSDEncoder`. A one-layer :class:`~dlcourse.sparse.LISTA` built on ``D0``
        is a *shrinkage* encoder :math:`\\rho_\\theta(W_e x)` that starts as one ISTA step.
    seed : int, torch.Generator, numpy.random.Generator or None, default 0
        Randomness of the starting dictionary, the batches and a new encoder's weights. The
        global random state is neither seeded nor advanced by an int or a generator.
    device : torch.device, optional
        Where to compute: by default ``X``'s device for a tensor, the CPU for a NumPy array
        (never a global choice).
    return_energy : bool
        Also return the mean energy :math:`E` of each step's batch (shape (n_iter,)).

    Returns
    -------
    D : ndarray or Tensor of shape (n_features, n_atoms)
        Unit-norm atoms; NumPy (float64) for NumPy ``X``, a tensor for a tensor ``X``.
    encoder : torch.nn.Module
        The trained encoder, in eval mode, on ``device``.
    energy : ndarray of shape (n_iter,), only if ``return_energy``
    """
    import torch

    was_torch = is_torch(X)
    if was_torch:
        dev = X.device if device is None else torch.device(device)
        Xt = X.detach().to(dev)
        if not Xt.is_floating_point():
            Xt = Xt.to(torch.get_default_dtype())
    else:
        arr = np.asarray(X)
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            raise InvalidParameterError("The 'X' argument must be an array of real numbers.")
        dev = torch.device("cpu") if device is None else torch.device(device)
        Xt = torch.as_tensor(arr, dtype=torch.float64, device=dev)
    if Xt.ndim != 2:
        raise invalid("X", "of shape (n_signals, n_features)", got=f"{tuple(Xt.shape)}")
    n, p = Xt.shape
    K = check_scalar(n_atoms, "n_atoms", int, low=1)
    lam = check_lam(lam)
    alpha = check_scalar(alpha, "alpha", float, low=0, closed="neither")
    n_iter = check_scalar(n_iter, "n_iter", int, low=1)
    n_code_iter = check_scalar(n_code_iter, "n_code_iter", int, low=1)
    batch = min(check_scalar(batch_size, "batch_size", int, low=1), n)
    lr = check_scalar(lr, "lr", float, low=0, closed="neither")
    gen = check_torch_seed(seed)  # on the CPU; what it draws is moved to dev
    if isinstance(seed, numbers.Integral) or gen is None:
        init_seed = seed
    else:
        init_seed = int(torch.randint(0, 2**62, (1,), generator=gen))

    if D0 is None:
        D = Xt[torch.randint(n, (K,), generator=gen).to(dev)].T.clone()
        D = D + 1e-3 * torch.randn(D.shape, generator=gen, dtype=D.dtype).to(dev)
    else:
        D = torch.as_tensor(np.asarray(D0) if not is_torch(D0) else D0).to(Xt.dtype).to(dev)
        if tuple(D.shape) != (p, K):
            raise invalid(
                "D0", f"of shape (n_features, n_atoms) = ({p}, {K})", got=f"{tuple(D.shape)}"
            )
    D = normalize_atoms(D)
    if encoder is None:
        # a new encoder's weights come from init_seed, inside a fork of torch's global state,
        # so that the caller's random state is left exactly as it was
        cuda = [dev.index or 0] if dev.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda, enabled=init_seed is not None):
            if init_seed is not None:
                torch.manual_seed(init_seed)
            encoder = PSDEncoder(p, K, dtype=Xt.dtype, device=dev)
    else:
        params = list(encoder.parameters())
        if not params:
            raise InvalidParameterError("The 'encoder' argument has no parameters to train.")
        encoder = encoder.to(dtype=Xt.dtype, device=dev)
    opt = torch.optim.Adam(encoder.parameters(), lr=lr)
    eye = (alpha**0.5) * torch.eye(K, dtype=Xt.dtype, device=dev)
    energies = np.empty(n_iter)
    for t in range(n_iter):
        idx = torch.randperm(n, generator=gen)[:batch].to(dev)
        xb = Xt[idx]
        with torch.no_grad():
            pred = encoder(xb)
            # the PSD energy is a Lasso in the stacked dictionary [D; sqrt(alpha) I]
            z = fista(
                torch.cat([D, eye]),
                torch.cat([xb, alpha**0.5 * pred], 1),
                lam,
                n_iter=n_code_iter,
                z0=pred,
            )
            energies[t] = float(
                (energy(D, xb, z, lam) + 0.5 * alpha * ((z - pred) ** 2).sum(1)).mean()
            )
            # projected gradient step on the dictionary, step 1 / ||mean z z^T||_2
            A = z.T @ z / batch
            L_D = float(torch.linalg.matrix_norm(A, ord=2))
            if L_D > 0:
                grad = (z @ D.T - xb).T @ z / batch
                D = normalize_atoms(D - grad / L_D)
        loss = 0.5 * alpha * ((encoder(xb) - z) ** 2).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    encoder.eval()
    D_out = D if was_torch else D.cpu().numpy()
    if return_energy:
        return D_out, encoder, energies
    return D_out, encoder
