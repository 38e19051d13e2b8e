"""The fast gradient sign method (Goodfellow et al., 2015): one L-inf step of size eps.

.. math:: x_{adv} = \\mathrm{clamp}\\big(x + \\varepsilon\\, \\mathrm{sign}(\\nabla_x
   L(f(x), y))\\big)

the maximum-allowable L-inf attack on the model's linearization around ``x`` (exact for a
linear model, see :func:`~dlcourse.attacks.linear_max_linf`). Targeted: ``y`` are the
target labels and the step descends the loss, :math:`x - \\varepsilon\\, \\mathrm{sign}(\\nabla_x
L(f(x), y_{target}))`.
"""

from __future__ import annotations

from .._validation import check_scalar
from .base import Attack

__all__ = ["FGSM", "fgsm"]


class FGSM(Attack):
    """FGSM as an attack object: ``atk = FGSM(model, eps=0.1); x_adv = atk(x, y)``.

    Parameters
    ----------
    model : torch.nn.Module
    eps : float >= 0
        The L-inf budget :math:`\\varepsilon` (in units of the input range).
    targeted : bool
        ``y`` holds target labels; the attack pushes towards them.
    loss_fn : callable, optional
        ``loss_fn(logits, y)`` to increase; default mean cross-entropy.
    clamp : (float, float) or None
        Valid input range (default (0, 1)).
    """

    _repr_fields = ("eps", "targeted")

    def __init__(
        self, model, eps: float = 0.1, *, targeted: bool = False, loss_fn=None, clamp=(0.0, 1.0)
    ):
        super().__init__(model, clamp=clamp)
        self.eps = check_scalar(eps, "eps", float, low=0)
        self.targeted = bool(targeted)
        if loss_fn is not None:
            self.loss_fn = loss_fn

    def forward(self, x, y):
        import torch

        x_var = x.clone().requires_grad_(True)
        loss = self.loss_fn(self.model(x_var), y)
        if self.targeted:
            loss = -loss
        (grad,) = torch.autograd.grad(loss, x_var)
        return self.project(x + self.eps * grad.sign())


def fgsm(model, x, y, eps: float = 0.1, *, targeted: bool = False, loss_fn=None, clamp=(0.0, 1.0)):
    """Fast gradient sign method: one step of size eps along the sign of the loss gradient.

    Functional form of :class:`FGSM` (same arguments and defaults); returns ``x_adv``
    detached, with the shape, dtype and device of ``x``. The model's parameters and mode are
    left unchanged.

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    >>> x, y = torch.rand(5, 4), torch.tensor([0, 1, 2, 0, 1])
    >>> x_adv = fgsm(model, x, y, eps=0.1)
    >>> bool((x_adv - x).abs().max() <= 0.1 + 1e-7)
    True
    """
    return FGSM(model, eps, targeted=targeted, loss_fn=loss_fn, clamp=clamp)(x, y)
