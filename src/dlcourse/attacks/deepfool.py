"""DeepFool (Moosavi-Dezfooli et al., 2016): the linear multi-class attack, iterated.

For each example, with :math:`k` the class the model predicts for the clean input and the
candidate classes the top ``n_classes`` of its clean logits: at the current point
:math:`x_t` linearize every boundary :math:`f_j - f_k = 0`,

.. math:: f'_j = f_j(x_t) - f_k(x_t), \\qquad w'_j = \\nabla_x f_j(x_t) - \\nabla_x f_k(x_t),

step to the nearest linearized boundary (the L2 closed form of
:func:`~dlcourse.attacks.linear_min_norm_l2`)

.. math:: j^* = \\arg\\min_{j \\ne k} \\frac{|f'_j|}{\\|w'_j\\|_2}, \\qquad
   r_t = \\frac{|f'_{j^*}|}{\\|w'_{j^*}\\|_2^2}\\, w'_{j^*},

and accumulate :math:`r \\leftarrow r + r_t`. The point evaluated is
:math:`x_t = \\mathrm{clamp}(x + (1 + \\text{overshoot})\\, r)`, the example returned; an
example stops as soon as its label there differs from :math:`k`.

The valid range (``clamp``, default [0, 1]) is handled without stalling. A pixel at the
bound cannot move further out, so the coordinates of :math:`w'_j` that point out of the range
at a saturated pixel are set to 0 before the step is computed: the step is the minimum-norm
step to the linearized boundary among those that leave saturated pixels where they are, and
:math:`r` is kept in range (:math:`x + r` clamped after each step). The overshoot
multiplies the whole of :math:`r` once. (Clamping the image after a step computed with the
full gradient instead loses the part of the step that points out of range, so each step
falls short of the boundary; with the overshoot applied to each step only, it can stay
short for ever. On MNIST digits, whose background is saturated at 0, that is most of the
gradient.) With ``clamp=None`` the first step of a linear model is exactly the closed form
of :func:`~dlcourse.attacks.linear_min_norm_l2`.
"""

from __future__ import annotations

from .._validation import check_scalar, renamed_kwargs
from .base import Attack

__all__ = ["DeepFool", "deepfool"]


class DeepFool(Attack):
    """DeepFool as an attack object: ``atk = DeepFool(model); x_adv = atk(x)``.

    Parameters
    ----------
    model : torch.nn.Module
    n_classes : int >= 2
        How many of the top classes of the clean logits are candidate targets (all when
        larger than the number of outputs).
    overshoot : float >= 0
        The returned perturbation is ``(1 + overshoot) * r``, to cross the boundary.
    steps : int >= 1
        Maximum number of linearization steps per example.

    ``num_classes`` and ``max_iter`` are the deprecated old names of ``n_classes`` and
    ``steps`` (they warn).
    clamp : (float, float) or None
        Valid input range (default (0, 1)).

    Notes
    -----
    Labels are not needed (the attack moves away from the model's own prediction); ``atk(x,
    y)`` accepts them, checks them and ignores them. After a call, ``self.n_iter`` holds the
    number of steps each example took (a tensor of shape (N,)).
    """

    _repr_fields = ("n_classes", "overshoot", "steps")
    needs_labels = False

    @renamed_kwargs(num_classes="n_classes", max_iter="steps")
    def __init__(
        self,
        model,
        n_classes: int = 10,
        overshoot: float = 0.02,
        steps: int = 50,
        *,
        clamp=(0.0, 1.0),
    ):
        super().__init__(model, clamp=clamp)
        self.n_classes = check_scalar(n_classes, "n_classes", int, low=2)
        self.overshoot = check_scalar(overshoot, "overshoot", float, low=0)
        self.steps = check_scalar(steps, "steps", int, low=1)
        self.n_iter = None

    def forward(self, x, y=None):
        import torch

        n = x.shape[0]
        with torch.no_grad():
            logits = self.model(x)
        c = min(self.n_classes, logits.shape[1])
        candidates = logits.topk(c, dim=1).indices  # (n, c); column 0 = predicted class k
        label = candidates[:, 0]
        r = torch.zeros_like(x)
        scale = 1.0 + self.overshoot
        active = torch.ones(n, dtype=torch.bool, device=x.device)
        n_iter = torch.zeros(n, dtype=torch.long, device=x.device)
        for _ in range(self.steps):
            idx = active.nonzero().squeeze(1)
            if idx.numel() == 0:
                break
            point = self.project(x[idx] + scale * r[idx]).requires_grad_(True)
            out = self.model(point)
            fooled = out.argmax(dim=1) != label[idx]
            active[idx[fooled]] = False
            keep = ~fooled
            if not bool(keep.any()):
                break
            f = out.gather(1, candidates[idx])  # (m, c)
            grads = [
                torch.autograd.grad(f[:, j].sum(), point, retain_graph=j < c - 1)[0]
                for j in range(c)
            ]
            w_diff = torch.stack(grads, dim=1)[keep].flatten(2)  # (m', c, D)
            w_diff = w_diff[:, 1:] - w_diff[:, :1]  # w'_j = grad f_j - grad f_k
            f = f.detach()[keep]
            f_diff = (f[:, 1:] - f[:, :1]).abs()  # |f'_j|
            if self.clamp is not None:  # saturated pixels cannot move further out
                p = point.detach()[keep].flatten(1)[:, None, :]
                blocked = ((p <= self.clamp[0]) & (w_diff < 0)) | (
                    (p >= self.clamp[1]) & (w_diff > 0)
                )
                w_diff = w_diff.masked_fill(blocked, 0.0)
            norms = torch.linalg.vector_norm(w_diff, dim=2)
            dist = torch.where(norms > 0, f_diff / norms.clamp_min(1e-30), torch.inf)
            j = dist.argmin(dim=1)
            rows = torch.arange(j.shape[0], device=x.device)
            nrm = norms[rows, j].clamp_min(1e-30)
            step = (f_diff[rows, j] / nrm**2)[:, None] * w_diff[rows, j]
            moving = idx[keep]
            r_new = r[moving] + step.reshape(-1, *x.shape[1:])
            r[moving] = self.project(x[moving] + r_new) - x[moving]
            n_iter[moving] += 1
        self.n_iter = n_iter
        return self.project(x + scale * r)


@renamed_kwargs(num_classes="n_classes", max_iter="steps")
def deepfool(
    model,
    x,
    n_classes: int = 10,
    overshoot: float = 0.02,
    steps: int = 50,
    *,
    clamp=(0.0, 1.0),
):
    """DeepFool: iterated linearization towards the nearest decision boundary (L2).

    Functional form of :class:`DeepFool` (same arguments). Returns
    :math:`\\mathrm{clamp}(x + (1 + \\text{overshoot})\\, r)` detached, same shape, dtype and
    device as ``x``; no labels are needed.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    >>> x = torch.rand(5, 4)
    >>> x_adv = deepfool(model, x, clamp=None)
    >>> bool((model(x_adv).argmax(1) != model(x).argmax(1)).all())
    True
    """
    return DeepFool(model, n_classes, overshoot, steps, clamp=clamp)(x)
