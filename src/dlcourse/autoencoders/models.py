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

from .._validation import check_scalar, check_type, invalid

__all__ = ["AE", "LinearAE", "SoftThreshold"]


def _module_base():
    import torch

    return torch.nn.Module


def _first_linear(module: Any) -> Any:
    """The ``Linear`` that first sees a module's input: the module itself, or the first layer
    of a ``Sequential`` (recursively); None when there is none, or when its weights are not
    yet materialised (``LazyLinear``), so that nothing can be read off."""
    import torch

    while isinstance(module, torch.nn.Sequential) and len(module) > 0:
        module = module[0]
    if not isinstance(module, torch.nn.Linear):
        return None
    if any(torch.nn.parameter.is_lazy(p) for p in module.parameters(recurse=False)):
        return None
    return module


def _in_features(module: Any) -> int | None:
    """The input size a module declares (see :func:`_first_linear`); None when unknown (then
    any input is passed on, and the module raises its own error)."""
    lin = _first_linear(module)
    return None if lin is None else lin.in_features


def _autocast_on(device_type: str) -> bool:
    """Whether autocast is on for ``device_type`` (it then casts float inputs itself)."""
    import torch

    try:
        return bool(torch.is_autocast_enabled(device_type))  # torch >= 2.4
    except TypeError:  # older torch: one function per device type
        if device_type == "cpu":
            return bool(torch.is_autocast_cpu_enabled())
        return bool(torch.is_autocast_enabled()) if device_type == "cuda" else True


def _autocast_casts(t: Any) -> bool:
    """Whether autocast casts tensor ``t`` (floating, but not float64) for a ``Linear``."""
    import torch

    return t.is_floating_point() and t.dtype != torch.float64


def _check_features(
    x: Any, module: Any, name: str, role: str, caller: str | None = None, *, matrix: bool = False
) -> Any:
    """Raise the package's error unless ``x`` is a tensor that ``module`` can take.

    ``x`` must be a ``torch.Tensor``; with ``matrix``, of shape (n_samples, n_features). When
    the module starts with a ``Linear`` (see :func:`_first_linear`), its last dimension must
    be that layer's ``in_features`` and, for a plain ``Linear``, its dtype that of the layer's
    parameters (under autocast, which casts both, any floating dtype but float64). Only
    shapes and dtypes are read: no copy, no device synchronisation. Returns ``x`` unchanged.
    """
    import torch

    if not isinstance(x, torch.Tensor):
        raise invalid(name, "a torch.Tensor", x, caller)
    lin = _first_linear(module)
    if matrix and x.ndim != 2:
        size = "n_features" if lin is None else str(lin.in_features)
        raise invalid(
            name,
            f"a tensor of shape (n_samples, {size})",
            caller=caller,
            got=f"shape {tuple(x.shape)}",
        )
    if lin is None:
        return x
    want = lin.in_features
    if x.ndim == 0 or x.shape[-1] != want:
        raise invalid(
            name,
            f"a tensor whose last dimension is {want} (the {role}'s in_features)",
            caller=caller,
            got=f"shape {tuple(x.shape)}",
        )
    if type(lin).forward is not torch.nn.Linear.forward:
        return x  # a subclass with its own forward (e.g. quantised weights) may cast inputs
    param = next(lin.parameters(), None)  # not lin.weight: that would run a parametrization
    if param is not None and x.dtype != param.dtype:
        if not (_autocast_casts(x) and _autocast_casts(param) and _autocast_on(x.device.type)):
            raise invalid(
                name,
                f"a tensor of dtype {param.dtype}, the dtype of the {role}'s weights",
                caller=caller,
                got=f"dtype {x.dtype}",
            )
    return x


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
        _check_features(x, self.encoder, "x", "encoder", f"{type(self).__name__}.encode")
        return self.encoder(x)

    def decode(self, h):
        """The reconstruction :math:`g(h)` of a code."""
        _check_features(h, self.decoder, "h", "decoder", f"{type(self).__name__}.decode")
        return self.decoder(h)

    def forward(self, x):
        """The reconstruction :math:`r = g(f(x))`."""
        _check_features(x, self.encoder, "x", "encoder", type(self).__name__)
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
        import torch

        from ..sparse.prox import shrink

        n = self.theta.shape[0]
        if not isinstance(v, torch.Tensor):
            raise invalid("v", "a torch.Tensor", v, type(self).__name__)
        if v.ndim == 0 or v.shape[-1] != n:
            raise invalid(
                "v",
                f"a tensor whose last dimension is {n} (the layer has {n} units)",
                caller=type(self).__name__,
                got=f"shape {tuple(v.shape)}",
            )
        return shrink(v, self.theta.abs())

    def extra_repr(self) -> str:
        return f"n_units={self.theta.shape[0]}"


def _check_model(model: Any, name: str = "model"):
    import torch

    if not isinstance(model, torch.nn.Module):
        raise invalid(name, "a torch.nn.Module", model)
    return model
