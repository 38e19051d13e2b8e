"""Projected gradient descent (Madry et al., 2018): iterated FGSM projected onto the eps-ball.

With :math:`\\Pi` the projection onto :math:`\\{\\|x' - x\\| \\le \\varepsilon\\}` followed by the
clamp to the valid range, starting from :math:`x^0 = x` (or a random point of the ball):

* L-inf: :math:`x^{t+1} = \\Pi\\big(x^t + \\alpha\\, \\mathrm{sign}(\\nabla_x L(f(x^t), y))\\big)`,
  the projection clips :math:`x^{t+1} - x` coordinate-wise to :math:`[-\\varepsilon, \\varepsilon]`;
* L2: :math:`x^{t+1} = \\Pi\\big(x^t + \\alpha\\, g / \\|g\\|_2\\big)` with
  :math:`g = \\nabla_x L`, the projection rescales :math:`x^{t+1} - x` to length
  :math:`\\varepsilon` when it is longer.

The operations follow the ``torchattacks`` library's PGD and PGDL2 step by step, so that with
``random_start=False`` both give the same images (the benchmark checks it). Targeted: ``y``
are target labels and the loss is descended.
"""

from __future__ import annotations

from .._validation import check_scalar, check_torch_seed, renamed_kwargs
from .base import Attack, check_norm

__all__ = ["PGD", "pgd"]

# added to the gradient's L2 norm before dividing (as torchattacks.PGDL2 does)
_EPS_DIV = 1e-10


class PGD(Attack):
    """PGD as an attack object: ``atk = PGD(model, eps=0.3, alpha=0.01, steps=40)``.

    Parameters
    ----------
    model : torch.nn.Module
    eps : float >= 0
        Radius of the ball (L-inf or L2).
    alpha : float > 0
        Step size.
    steps : int >= 1
        Number of gradient steps.
    random_start : bool
        Start from a random point of the ball (L-inf: uniform in the cube; L2: a random
        direction scaled by ``eps * U(0, 1)``, as ``torchattacks.PGDL2``), clamped.
    norm : {"inf", "2"}
        Which ball (``float("inf")`` and ``2`` are accepted too).
    targeted : bool
        ``y`` holds target labels; the attack pushes towards them.
    seed : int, torch.Generator, numpy.random.Generator or None
        Randomness of the random start. An int (or a NumPy generator, which gives one
        number) seeds a generator owned by the attack on the batch's device, so repeated
        calls give a reproducible sequence; a ``torch.Generator`` (on the batch's device)
        is used as is; ``None`` draws from torch's global generator (never seeds it).
        ``generator=`` is the deprecated old name of a ``torch.Generator`` seed.
    loss_fn : callable, optional
        ``loss_fn(logits, y)``; default mean cross-entropy.
    clamp : (float, float) or None
        Valid input range (default (0, 1)).
    """

    _repr_fields = ("eps", "alpha", "steps", "random_start", "norm", "targeted", "seed")

    @renamed_kwargs(generator="seed")
    def __init__(
        self,
        model,
        eps: float = 0.3,
        alpha: float = 0.01,
        steps: int = 40,
        *,
        random_start: bool = True,
        norm="inf",
        targeted: bool = False,
        seed=None,
        loss_fn=None,
        clamp=(0.0, 1.0),
    ):
        super().__init__(model, clamp=clamp)
        self.eps = check_scalar(eps, "eps", float, low=0)
        self.alpha = check_scalar(alpha, "alpha", float, low=0, closed="neither")
        self.steps = check_scalar(steps, "steps", int, low=1)
        self.random_start = bool(random_start)
        self.norm = check_norm(norm)
        self.targeted = bool(targeted)
        if seed is not None and not _is_generator(seed):
            seed = check_scalar(seed, "seed", int, low=0)
        self.seed = seed
        self._generator = None
        if loss_fn is not None:
            self.loss_fn = loss_fn

    def _rng(self, device):
        import torch

        if self.seed is None:
            return None
        if isinstance(self.seed, torch.Generator):
            return check_torch_seed(self.seed, device)
        if self._generator is None or self._generator.device != torch.device(device):
            self._generator = check_torch_seed(self.seed, device)
        return self._generator

    def _start(self, x):
        import torch

        gen = self._rng(x.device)
        if self.norm == "inf":
            noise = torch.empty_like(x).uniform_(-self.eps, self.eps, generator=gen)
        else:
            direction = torch.empty_like(x).normal_(generator=gen)
            length = _batch_norm(direction)
            radius = torch.zeros_like(length).uniform_(0, 1, generator=gen)
            noise = direction * (radius / length * self.eps)
        return self.project(x + noise).detach()

    def forward(self, x, y):
        import torch

        adv = self._start(x) if self.random_start else x.clone()
        for _ in range(self.steps):
            adv.requires_grad_(True)
            loss = self.loss_fn(self.model(adv), y)
            if self.targeted:
                loss = -loss
            (grad,) = torch.autograd.grad(loss, adv)
            if self.norm == "inf":
                adv = adv.detach() + self.alpha * grad.sign()
                delta = torch.clamp(adv - x, min=-self.eps, max=self.eps)
            else:
                grad = grad / (_batch_norm(grad) + _EPS_DIV)
                adv = adv.detach() + self.alpha * grad
                delta = adv - x
                length = _batch_norm(delta)
                factor = torch.where(length > self.eps, self.eps / length, 1.0)
                delta = delta * factor
            adv = self.project(x + delta).detach()
        return adv


def _batch_norm(t):
    """Per-example L2 norm of a batch (N, ...), shaped (N, 1, ..., 1) to broadcast."""
    import torch

    n = torch.linalg.vector_norm(t.reshape(t.shape[0], -1), ord=2, dim=1)
    return n.reshape(t.shape[0], *([1] * (t.ndim - 1)))


@renamed_kwargs(generator="seed")
def pgd(
    model,
    x,
    y,
    eps: float = 0.3,
    alpha: float = 0.01,
    steps: int = 40,
    *,
    random_start: bool = True,
    norm="inf",
    targeted: bool = False,
    seed=None,
    loss_fn=None,
    clamp=(0.0, 1.0),
):
    """Projected gradient descent on the loss inside the eps-ball (L-inf or L2).

    Functional form of :class:`PGD`: the same arguments with the same defaults, ``seed``
    included. Returns ``x_adv`` detached, same shape, dtype and device as ``x``, with
    :math:`\\|x_{adv} - x\\| \\le \\varepsilon` and values in ``clamp``.

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    >>> x, y = torch.rand(5, 4), torch.tensor([0, 1, 2, 0, 1])
    >>> x_adv = pgd(model, x, y, eps=0.1, alpha=0.02, steps=10)
    >>> bool((x_adv - x).abs().max() <= 0.1 + 1e-6)
    True
    """
    return PGD(
        model,
        eps,
        alpha,
        steps,
        random_start=random_start,
        norm=norm,
        targeted=targeted,
        seed=seed,
        loss_fn=loss_fn,
        clamp=clamp,
    )(x, y)


def _is_generator(seed) -> bool:
    import numpy as np
    import torch

    return isinstance(seed, (torch.Generator, np.random.Generator))
