"""Auto-encoder modules: :class:`AE` (any encoder and decoder) and :class:`LinearAE`.

Taught in the chapter *Autoencoders* (``book/autoencoders.ipynb``).

An auto-encoder computes a code :math:`h = f(x)` and a reconstruction :math:`r = g(h)`.
:class:`LinearAE` is the linear case :math:`f(x) = W_e x + b_e`, :math:`g(h) = W_d h + b_d`:
with a code smaller than the input and the squared error, every minimum spans the principal
subspace of the data (Baldi and Hornik, 1989), although :math:`W_d`'s columns need not be the
principal directions themselves. :class:`SoftThreshold` is the shrinkage
:math:`\\rho_t(v) = \\mathrm{sign}(v)\\max(|v| - t, 0)` of :func:`dlcourse.sparse.soft_threshold`
as a layer with one learnable threshold per unit, the activation of a sparse encoder.
"""

from __future__ import annotations

from typing import Any

from .._validation import InvalidParameterError, check_scalar, check_type, invalid

__all__ = ["AE", "LinearAE", "SoftThreshold"]


def _module_base():
    import torch

    return torch.nn.Module


def _in_features(module: Any) -> int | None:
    """The input size a module declares: a ``Linear``'s ``in_features``, or that of the first
    layer of a ``Sequential`` (recursively); None when it cannot be read off (then any input is
    passed on, and the module raises its own error)."""
    import torch

    while isinstance(module, torch.nn.Sequential) and len(module) > 0:
        module = module[0]
    return module.in_features if isinstance(module, torch.nn.Linear) else None


def _check_features(x: Any, module: Any, name: str, role: str, caller: str) -> None:
    """Raise the package's error when tensor ``x``'s last dimension is not what ``module`` takes."""
    import torch

    if not isinstance(x, torch.Tensor):
        raise invalid(name, "a torch.Tensor", x, caller)
    want = _in_features(module)
    if want is not None and (x.ndim == 0 or x.shape[-1] != want):
        raise invalid(
            name,
            f"a tensor whose last dimension is {want} (the {role}'s in_features)",
            caller=caller,
            got=f"shape {tuple(x.shape)}",
        )


def _init_under_seed(seed: Any, build):
    """Call ``build()`` with torch's global RNG seeded by ``seed`` inside a fork (None: as is)."""
    import torch

    if seed is None:
        return build()
    seed = check_scalar(seed, "seed", int, low=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


class AE(_module_base()):
    """An auto-encoder :math:`r = g(f(x))` from any encoder :math:`f` and decoder :math:`g`.

    Parameters
    ----------
    encoder, decoder : torch.nn.Module
        ``encoder`` maps (n, n_features) to codes (n, code_dim); ``decoder`` maps codes back.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> ae = AE(nn.Sequential(nn.Linear(6, 2), nn.Sigmoid()), nn.Linear(2, 6))
    >>> x = torch.zeros(3, 6)
    >>> ae(x).shape, ae.encode(x).shape
    (torch.Size([3, 6]), torch.Size([3, 2]))
    """

    def __init__(self, encoder: Any, decoder: Any) -> None:
        import torch

        super().__init__()
        self.encoder = check_type(encoder, "encoder", torch.nn.Module, "a torch.nn.Module")
        self.decoder = check_type(decoder, "decoder", torch.nn.Module, "a torch.nn.Module")

    def encode(self, x):
        """The code :math:`h = f(x)`."""
        _check_features(x, self.encoder, "x", "encoder", "encode")
        return self.encoder(x)

    def decode(self, h):
        """The reconstruction :math:`g(h)` of a code."""
        _check_features(h, self.decoder, "h", "decoder", "decode")
        return self.decoder(h)

    def forward(self, x):
        """The reconstruction :math:`r = g(f(x))`."""
        _check_features(x, self.encoder, "x", "encoder", "AE")
        return self.decoder(self.encoder(x))


class LinearAE(AE):
    """A linear auto-encoder :math:`r = W_d (W_e x + b_e) + b_d`.

    Parameters
    ----------
    in_dim : int >= 1
        Input size :math:`d`.
    code_dim : int >= 1
        Code size :math:`k` (undercomplete when :math:`k < d`).
    bias : bool, default True
        Learn :math:`b_e` and :math:`b_d` (then the data need not be centred).
    seed : int or None, default None
        Seeds the initial weights without touching torch's global random state; None draws
        them from the global generator, as ``torch.nn.Linear`` does.
    dtype, device : optional
        Of the parameters.

    Examples
    --------
    >>> ae = LinearAE(10, 3, seed=0)
    >>> ae.encoder.weight.shape, ae.decoder.weight.shape
    (torch.Size([3, 10]), torch.Size([10, 3]))
    """

    def __init__(
        self,
        in_dim: int,
        code_dim: int,
        bias: bool = True,
        seed: Any = None,
        dtype: Any = None,
        device: Any = None,
    ) -> None:
        import torch

        in_dim = check_scalar(in_dim, "in_dim", int, low=1)
        code_dim = check_scalar(code_dim, "code_dim", int, low=1)
        bias = check_scalar(bias, "bias", bool)
        enc, dec = _init_under_seed(
            seed,
            lambda: (
                torch.nn.Linear(in_dim, code_dim, bias=bias, dtype=dtype, device=device),
                torch.nn.Linear(code_dim, in_dim, bias=bias, dtype=dtype, device=device),
            ),
        )
        super().__init__(enc, dec)
        self.in_dim, self.code_dim = in_dim, code_dim

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, code_dim={self.code_dim}"


class SoftThreshold(_module_base()):
    """Soft thresholding with one learnable threshold per unit, :math:`\\rho_t(v)`.

    .. math:: \\rho_t(v)_i = \\operatorname{sign}(v_i)\\max(|v_i| - t_i, 0),

    computed by :func:`dlcourse.sparse.soft_threshold`. The thresholds are stored as
    :math:`t = |\\theta|` so that they stay >= 0 while trained.

    Parameters
    ----------
    n_units : int >= 1
    init : float >= 0, default 0.1
        Initial threshold of every unit.
    dtype, device : optional

    Examples
    --------
    >>> import torch
    >>> SoftThreshold(3, init=1.0)(torch.tensor([[-3.0, 0.5, 2.0]]))
    tensor([[-2.,  0.,  1.]], grad_fn=<SubBackward0>)
    """

    def __init__(self, n_units: int, init: float = 0.1, dtype: Any = None, device: Any = None):
        import torch

        super().__init__()
        n_units = check_scalar(n_units, "n_units", int, low=1)
        init = check_scalar(init, "init", float, low=0)
        self.theta = torch.nn.Parameter(torch.full((n_units,), init, dtype=dtype, device=device))

    def forward(self, v):
        from ..sparse.prox import shrink

        if v.shape[-1] != self.theta.shape[0]:
            raise InvalidParameterError(
                f"SoftThreshold has {self.theta.shape[0]} units but got inputs of shape "
                f"{tuple(v.shape)}."
            )
        return shrink(v, self.theta.abs())

    def extra_repr(self) -> str:
        return f"n_units={self.theta.shape[0]}"


def _check_model(model: Any, name: str = "model"):
    import torch

    if not isinstance(model, torch.nn.Module):
        raise invalid(name, "a torch.nn.Module", model)
    return model
