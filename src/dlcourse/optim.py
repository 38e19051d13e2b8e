"""Gradient descent, SGD with momentum, Adam / AdamW, and learning-rate schedules.

Taught in the chapter *Training neural networks* (book/training).

:class:`SGD` updates every parameter :math:`w` with gradient :math:`g` as

.. math::
   d &= g + \\lambda w                       && \\text{(weight decay } \\lambda)\\\\
   v &\\leftarrow \\mu v + d                 && \\text{(momentum } \\mu,\\ v_0 = 0)\\\\
   w &\\leftarrow w - \\eta\\, v             && \\text{(learning rate } \\eta)

and, with ``nesterov=True``, :math:`w \\leftarrow w - \\eta (d + \\mu v)` (the gradient is
taken "one momentum step ahead"). With :math:`\\mu = 0` this is plain gradient descent,
:math:`w \\leftarrow w - \\eta (g + \\lambda w)`. These are exactly the rules of
``torch.optim.SGD`` (with ``dampening=0``), and the same :class:`SGD` object works on
:class:`dlcourse.autograd.Tensor` parameters and on ``torch`` tensors: it only reads
``p.grad`` and updates ``p.data`` in place.

Schedules change :math:`\\eta` over the steps :math:`t = 0, 1, \\dots`:

* step decay :math:`\\eta_t = \\eta_0\\, \\gamma^{\\lfloor t / s \\rfloor}` (:func:`step_lr`,
  :class:`StepLR`);
* cosine annealing :math:`\\eta_t = \\eta_{\\min} + \\frac12(\\eta_0 - \\eta_{\\min})
  (1 + \\cos(\\pi t / T))` (:func:`cosine_lr`, :class:`CosineLR`), optionally after a linear
  warm-up.

:class:`Adam` keeps running averages of the gradient and of its square and divides by the
root of the second, with bias correction for the zero initial state (step :math:`t = 1, 2, \\dots`):

.. math::
   m_t &= \\beta_1 m_{t-1} + (1 - \\beta_1)\\, g_t, \\qquad
   v_t = \\beta_2 v_{t-1} + (1 - \\beta_2)\\, g_t^2,\\\\
   w_t &= w_{t-1} - \\eta\\,
   \\frac{m_t / (1 - \\beta_1^t)}{\\sqrt{v_t / (1 - \\beta_2^t)} + \\epsilon}.

Weight decay comes in two forms: added to the gradient,
:math:`g_t \\leftarrow g_t + \\lambda w` (``torch.optim.Adam``'s ``weight_decay``), or
*decoupled*, :math:`w \\leftarrow (1 - \\eta\\lambda) w` before the Adam step (:class:`AdamW`,
``torch.optim.AdamW``).
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ._validation import InvalidParameterError, check_scalar, invalid
from .utils import is_torch

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "step_lr",
    "cosine_lr",
    "StepLR",
    "CosineLR",
    "gradient_descent",
]


def _copy(x: Any) -> Any:
    return x.clone() if is_torch(x) else np.array(x, copy=True)


class _Optimizer:
    """What the optimizers share: the checked parameter list, ``no_grad`` and ``zero_grad``."""

    def __init__(self, params: Iterable[Any]) -> None:
        name = type(self).__name__
        self.params = list(params)
        if not self.params:
            raise InvalidParameterError(
                f"{name}: the 'params' argument is empty; pass model.parameters()."
            )
        for i, p in enumerate(self.params):
            if not (hasattr(p, "data") and hasattr(p, "grad")):
                raise InvalidParameterError(
                    f"{name}: parameter {i} must be a Tensor (with .data and .grad). Got "
                    f"{type(p).__name__}."
                )

    def _no_grad(self):
        """``torch.no_grad()`` when a parameter is a torch tensor, else a no-op context."""
        if any(is_torch(p) for p in self.params):
            return sys.modules["torch"].no_grad()
        return contextlib.nullcontext()

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to ``None`` (as ``torch`` does by default)."""
        for p in self.params:
            p.grad = None


class SGD(_Optimizer):
    """Stochastic gradient descent with optional momentum, weight decay and Nesterov.

    Update of each parameter :math:`w` with gradient :math:`g` (see the module docstring):
    :math:`d = g + \\lambda w`, :math:`v \\leftarrow \\mu v + d`,
    :math:`w \\leftarrow w - \\eta v` (Nesterov: :math:`w \\leftarrow w - \\eta (d + \\mu v)`).

    Parameters
    ----------
    params : iterable of Tensor
        ``dlcourse.autograd.Tensor`` parameters (their ``.data`` arrays are updated in
        place) or ``torch`` tensors / ``nn.Parameter`` (updated under ``torch.no_grad()``).
    lr : float > 0
        Learning rate :math:`\\eta`; a schedule may change ``optimizer.lr`` between steps.
    momentum : float in [0, 1), default 0
        :math:`\\mu`.
    weight_decay : float >= 0, default 0
        :math:`\\lambda`, an L2 penalty :math:`\\frac\\lambda2 \\|w\\|^2` added to the loss.
    nesterov : bool, default False
        Use Nesterov momentum (needs ``momentum > 0``).

    Examples
    --------
    >>> from dlcourse.autograd import Tensor
    >>> w = Tensor([1.0, -2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).sum().backward()         # gradient 2 w
    >>> opt.step()
    >>> w.data                           # w - 0.1 * 2 w
    array([ 0.8, -1.6])
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params)
        self.lr = check_scalar(lr, "lr", float, low=0, closed="neither")
        self.momentum = check_scalar(momentum, "momentum", float, low=0.0, high=1.0, closed="left")
        self.weight_decay = check_scalar(weight_decay, "weight_decay", float, low=0)
        if nesterov and self.momentum == 0:
            raise InvalidParameterError(
                "The 'nesterov' argument needs momentum > 0. Got momentum=0."
            )
        self.nesterov = bool(nesterov)
        self.velocity: list[Any] = [None] * len(self.params)

    def step(self) -> None:
        """Update every parameter that has a gradient (those with ``grad is None`` are skipped)."""
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        with self._no_grad():
            for i, p in enumerate(self.params):
                g = p.grad
                if g is None:
                    continue
                w = p.data  # the array (or torch storage) updated in place
                if wd:
                    g = g + wd * w
                if mu:
                    v = self.velocity[i]
                    if v is None:
                        v = self.velocity[i] = _copy(g)
                    else:
                        v *= mu
                        v += g
                    g = g + mu * v if self.nesterov else v
                w -= lr * g

    def __repr__(self) -> str:
        return (
            f"SGD(lr={self.lr:g}, momentum={self.momentum:g}, "
            f"weight_decay={self.weight_decay:g}, nesterov={self.nesterov})"
        )


class Adam(_Optimizer):
    """Adam with bias correction, and L2 or decoupled weight decay (AdamW).

    For each parameter :math:`w` with gradient :math:`g`, at step :math:`t = 1, 2, \\dots`
    (state :math:`m_0 = v_0 = 0`):

    .. math::
       g &\\leftarrow g + \\lambda w \\quad\\text{(only if not decoupled)}, \\qquad
       w \\leftarrow (1 - \\eta\\lambda)\\, w \\quad\\text{(only if decoupled)},\\\\
       m &\\leftarrow \\beta_1 m + (1 - \\beta_1) g, \\qquad
       v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2,\\\\
       w &\\leftarrow w - \\eta\\,
       \\frac{m / (1 - \\beta_1^t)}{\\sqrt{v / (1 - \\beta_2^t)} + \\epsilon}.

    With ``decoupled=False`` these are the rules of ``torch.optim.Adam``, with ``decoupled=True``
    those of ``torch.optim.AdamW`` (:class:`AdamW` is this class with ``decoupled=True``). The
    L2 form's penalty gradient :math:`\\lambda w` is divided by :math:`\\sqrt{v}` like the rest of
    the gradient, so weights with large gradients are barely decayed; the decoupled form shrinks
    every weight by the same factor :math:`1 - \\eta\\lambda` per step.

    Parameters
    ----------
    params : iterable of Tensor
        ``dlcourse.autograd.Tensor`` parameters or ``torch`` tensors, as for :class:`SGD`.
    lr : float > 0, default 1e-3
        Learning rate :math:`\\eta`.
    betas : (float, float) in [0, 1), default (0.9, 0.999)
        :math:`(\\beta_1, \\beta_2)`.
    eps : float >= 0, default 1e-8
        :math:`\\epsilon`, added to the denominator.
    weight_decay : float >= 0, default 0
        :math:`\\lambda`.
    decoupled : bool, default False
        Decoupled weight decay (AdamW) instead of the L2 gradient term.

    Examples
    --------
    >>> from dlcourse.autograd import Tensor
    >>> w = Tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).sum().backward()         # the first step is lr * sign(g), whatever |g|
    >>> opt.step()
    >>> w.data.round(6)
    array([ 0.9, -1.9])
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ) -> None:
        super().__init__(params)
        self.lr = check_scalar(lr, "lr", float, low=0, closed="neither")
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise invalid("betas", "a pair (beta1, beta2)", got=repr(betas))
        self.betas = (
            check_scalar(betas[0], "betas[0]", float, low=0.0, high=1.0, closed="left"),
            check_scalar(betas[1], "betas[1]", float, low=0.0, high=1.0, closed="left"),
        )
        self.eps = check_scalar(eps, "eps", float, low=0)
        self.weight_decay = check_scalar(weight_decay, "weight_decay", float, low=0)
        self.decoupled = bool(decoupled)
        self.t = 0
        self.m: list[Any] = [None] * len(self.params)
        self.v: list[Any] = [None] * len(self.params)

    def step(self) -> None:
        """One Adam step for every parameter with a gradient (``grad is None``: skipped)."""
        self.t += 1
        lr, (b1, b2), eps, wd = self.lr, self.betas, self.eps, self.weight_decay
        bc1, bc2 = 1 - b1**self.t, 1 - b2**self.t  # bias corrections
        with self._no_grad():
            for i, p in enumerate(self.params):
                g = p.grad
                if g is None:
                    continue
                w = p.data
                if wd and self.decoupled:
                    w *= 1 - lr * wd
                elif wd:
                    g = g + wd * w
                if self.m[i] is None:
                    self.m[i], self.v[i] = g * 0.0, g * 0.0
                m, v = self.m[i], self.v[i]
                m *= b1
                m += (1 - b1) * g
                v *= b2
                v += (1 - b2) * (g * g)
                w -= (lr / bc1) * m / (v**0.5 / math.sqrt(bc2) + eps)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(lr={self.lr:g}, betas={self.betas}, eps={self.eps:g}, "
            f"weight_decay={self.weight_decay:g}, decoupled={self.decoupled})"
        )


class AdamW(Adam):
    """Adam with decoupled weight decay, ``Adam(..., decoupled=True)``; default decay 0.01.

    Same defaults as ``torch.optim.AdamW``. See :class:`Adam` for the update.

    Examples
    --------
    >>> from dlcourse.autograd import Tensor
    >>> w = Tensor([1.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = np.array([0.0])          # no gradient: only the decay acts
    >>> opt.step()
    >>> w.data                            # (1 - 0.1 * 0.5) * 1
    array([0.95])
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, decoupled=True)


# --------------------------------------------------------------------------- schedules
def step_lr(t: int, lr0: float, step_size: int, gamma: float = 0.1) -> float:
    """Step decay: :math:`\\eta_t = \\eta_0\\, \\gamma^{\\lfloor t / s \\rfloor}`.

    Examples
    --------
    >>> [step_lr(t, 1.0, step_size=2, gamma=0.5) for t in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    return lr0 * gamma ** (t // step_size)


def cosine_lr(
    t: int, lr0: float, total_steps: int, lr_min: float = 0.0, warmup_steps: int = 0
) -> float:
    """Cosine annealing from ``lr0`` to ``lr_min`` over ``total_steps``, after an optional warm-up.

    .. math:: \\eta_t = \\eta_{\\min} + \\tfrac12 (\\eta_0 - \\eta_{\\min})
       \\bigl(1 + \\cos(\\pi\\, \\tfrac{t - W}{T - W})\\bigr), \\qquad W \\le t \\le T,

    and :math:`\\eta_t = \\eta_0 (t + 1) / W` during the warm-up :math:`t < W`. After
    :math:`T` the rate stays at :math:`\\eta_{\\min}` (``torch``'s ``CosineAnnealingLR``
    would start climbing again).

    Examples
    --------
    >>> [round(cosine_lr(t, 1.0, total_steps=4), 3) for t in range(6)]
    [1.0, 0.854, 0.5, 0.146, 0.0, 0.0]
    """
    if t < warmup_steps:
        return lr0 * (t + 1) / warmup_steps
    if t >= total_steps:
        return lr_min
    phase = (t - warmup_steps) / (total_steps - warmup_steps)
    return lr_min + 0.5 * (lr0 - lr_min) * (1 + math.cos(math.pi * phase))


class _Schedule:
    """Base of the schedules: ``step()`` advances ``t`` and writes the new rate."""

    def __init__(self, optimizer: Any) -> None:
        if hasattr(optimizer, "param_groups"):  # a torch optimizer
            self.lr0 = float(optimizer.param_groups[0]["lr"])
        elif hasattr(optimizer, "lr"):
            self.lr0 = float(optimizer.lr)
        else:
            raise InvalidParameterError(
                f"The 'optimizer' argument must have an 'lr' attribute (or torch "
                f"param_groups). Got {type(optimizer).__name__}."
            )
        self.optimizer = optimizer
        self.t = 0
        self._write(self.lr_at(0))

    def lr_at(self, t: int) -> float:
        raise NotImplementedError

    def _write(self, lr: float) -> None:
        if hasattr(self.optimizer, "param_groups"):
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        else:
            self.optimizer.lr = lr

    def step(self) -> float:
        """Advance one step and set the optimizer's learning rate; return it."""
        self.t += 1
        lr = self.lr_at(self.t)
        self._write(lr)
        return lr

    def get_last_lr(self) -> float:
        """The learning rate for the current step ``t``."""
        return self.lr_at(self.t)


class StepLR(_Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps (see :func:`step_lr`).

    Examples
    --------
    >>> from dlcourse.autograd import Tensor
    >>> opt = SGD([Tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.1)
    >>> [round(sched.step(), 4) for _ in range(4)]
    [1.0, 0.1, 0.1, 0.01]
    """

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = check_scalar(step_size, "step_size", int, low=1)
        self.gamma = check_scalar(gamma, "gamma", float, low=0, closed="neither")
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return step_lr(t, self.lr0, self.step_size, self.gamma)


class CosineLR(_Schedule):
    """Cosine annealing to ``lr_min`` over ``total_steps`` (see :func:`cosine_lr`).

    Examples
    --------
    >>> from dlcourse.autograd import Tensor
    >>> opt = SGD([Tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = CosineLR(opt, total_steps=2)
    >>> [round(sched.step(), 4) for _ in range(2)]
    [0.5, 0.0]
    """

    def __init__(
        self, optimizer: Any, total_steps: int, lr_min: float = 0.0, warmup_steps: int = 0
    ) -> None:
        self.total_steps = check_scalar(total_steps, "total_steps", int, low=1)
        self.lr_min = check_scalar(lr_min, "lr_min", float, low=0)
        self.warmup_steps = check_scalar(warmup_steps, "warmup_steps", int, low=0)
        if self.warmup_steps >= self.total_steps:
            raise invalid("warmup_steps", f"< total_steps = {total_steps}", got=f"{warmup_steps}")
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return cosine_lr(t, self.lr0, self.total_steps, self.lr_min, self.warmup_steps)


# --------------------------------------------------------------------------- plain GD
def gradient_descent(
    grad_fn: Callable[[np.ndarray], np.ndarray],
    x0: Any,
    lr: float,
    n_iter: int,
    momentum: float = 0.0,
) -> np.ndarray:
    """Run (heavy-ball) gradient descent on NumPy arrays and return every iterate.

    :math:`v_{k+1} = \\mu v_k + \\nabla f(x_k)`, :math:`x_{k+1} = x_k - \\eta v_{k+1}`
    (plain gradient descent when :math:`\\mu = 0`).

    Parameters
    ----------
    grad_fn : callable
        ``grad_fn(x)`` returns :math:`\\nabla f(x)`, an array of the shape of ``x``.
    x0 : array_like
        Starting point (not modified).
    lr : float > 0
        Step size :math:`\\eta`.
    n_iter : int >= 0
        Number of steps.
    momentum : float in [0, 1), default 0

    Returns
    -------
    ndarray of shape (n_iter + 1, *x0.shape)
        :math:`x_0, x_1, \\dots, x_{n\\_iter}`.

    Examples
    --------
    >>> xs = gradient_descent(lambda x: 2 * x, [1.0], lr=0.25, n_iter=3)   # f = x^2
    >>> xs.ravel().tolist()
    [1.0, 0.5, 0.25, 0.125]
    """
    lr = check_scalar(lr, "lr", float, low=0, closed="neither")
    n_iter = check_scalar(n_iter, "n_iter", int, low=0)
    momentum = check_scalar(momentum, "momentum", float, low=0.0, high=1.0, closed="left")
    x = np.array(x0, dtype=np.float64)
    v = np.zeros_like(x)
    xs = np.empty((n_iter + 1, *x.shape))
    xs[0] = x
    for k in range(n_iter):
        g = np.asarray(grad_fn(x.copy()), dtype=np.float64)
        if g.shape != x.shape:
            raise InvalidParameterError(
                f"gradient_descent: grad_fn returned shape {g.shape} for x of shape {x.shape}."
            )
        v = momentum * v + g
        x = x - lr * v
        xs[k + 1] = x
    return xs
