"""The GAN losses from discriminator logits, and the optimal discriminator.

Taught in :ref:`generative-models` (``book/generative-models.ipynb``).

A discriminator :math:`D(x) = \\operatorname{sigmoid}(d(x))` with logit :math:`d` is trained by
binary cross-entropy to say 1 on real data and 0 on the generator's samples :math:`G(z)`:

.. math::
   \\mathcal L_D = -\\mathbb E_{x}\\log D(x) - \\mathbb E_{z}\\log\\big(1 - D(G(z))\\big)
   = \\mathbb E\\,\\operatorname{softplus}(-d_{\\text{real}})
   + \\mathbb E\\,\\operatorname{softplus}(d_{\\text{fake}}).

The generator plays the other side. The *saturating* (minimax) loss
:math:`\\mathbb E\\log(1 - D(G(z))) = -\\mathbb E\\operatorname{softplus}(d_{\\text{fake}})` has a
vanishing gradient when the discriminator wins (:math:`d_{\\text{fake}} \\ll 0`, the start of
training); the *non-saturating* loss :math:`-\\mathbb E\\log D(G(z)) =
\\mathbb E\\operatorname{softplus}(-d_{\\text{fake}})` has the same fixed point and a gradient of
magnitude about 1 there. Written with ``softplus`` of the logits, every loss is finite for any
logit (``log(sigmoid(-100))`` in float32 is ``-inf``; ``softplus(100)`` is 100).

For a fixed generator with density :math:`q` and data density :math:`p`, the best discriminator
is :math:`D^*(x) = p(x)/(p(x) + q(x))`, and the discriminator's objective at :math:`D^*` is
:math:`\\mathcal L_{D^*} = \\log 4 - 2\\,\\mathrm{JS}(p \\,\\|\\, q)`.
"""

from __future__ import annotations

from .._validation import as_float_array, check_option, invalid
from ._checks import float_tensor

__all__ = ["gan_losses", "optimal_discriminator", "jensen_shannon"]

KINDS = ("non_saturating", "saturating")


def gan_losses(d_real, d_fake, kind: str = "non_saturating"):
    """Discriminator and generator losses of a GAN, from the discriminator's logits.

    .. math::
       \\mathcal L_D = \\overline{\\operatorname{softplus}(-d_{\\text{real}})}
       + \\overline{\\operatorname{softplus}(d_{\\text{fake}})}, \\qquad
       \\mathcal L_G = \\begin{cases}
       \\overline{\\operatorname{softplus}(-d_{\\text{fake}})} & \\text{non-saturating}\\\\
       -\\overline{\\operatorname{softplus}(d_{\\text{fake}})} & \\text{saturating}
       \\end{cases}

    (bars are means over the batch).

    Parameters
    ----------
    d_real : torch.Tensor of shape (n,) or (n, 1)
        Discriminator logits on real examples.
    d_fake : torch.Tensor of shape (m,) or (m, 1)
        Discriminator logits on generated examples.
    kind : {"non_saturating", "saturating"}
        The generator's loss.

    Returns
    -------
    (loss_d, loss_g) : two scalar tensors, differentiable. When training, compute ``loss_d`` with
    ``d_fake`` from detached fakes (the generator is not trained by the discriminator's step).

    Examples
    --------
    >>> import torch
    >>> d, g = gan_losses(torch.zeros(4), torch.zeros(4))
    >>> round(float(d), 4), round(float(g), 4)     # 2 log 2, log 2
    (1.3863, 0.6931)
    >>> d, g = gan_losses(torch.tensor([100.0]), torch.tensor([-100.0]))
    >>> round(float(d), 6), float(g)                # finite at extreme logits
    (0.0, 100.0)
    """
    import torch.nn.functional as F

    d_real = float_tensor(d_real, "d_real", ndim=(1, 2))
    d_fake = float_tensor(d_fake, "d_fake", ndim=(1, 2))
    for name, t in (("d_real", d_real), ("d_fake", d_fake)):
        if t.ndim == 2 and t.shape[1] != 1:
            expected = "a tensor of logits of shape (n,) or (n, 1)"
            raise invalid(name, expected, got=f"shape {tuple(t.shape)}")
    check_option(kind, "kind", KINDS)
    loss_d = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
    if kind == "non_saturating":
        loss_g = F.softplus(-d_fake).mean()
    else:
        loss_g = -F.softplus(d_fake).mean()
    return loss_d, loss_g


def optimal_discriminator(p, q):
    """:math:`D^*(x) = p(x) / (p(x) + q(x))` from the two densities evaluated at the same points.

    Parameters
    ----------
    p, q : array_like, same shape, >= 0
        Data and generator densities at some points (where both vanish, :math:`D^* = 1/2`).

    Returns
    -------
    ndarray of the shape of ``p``.

    Examples
    --------
    >>> optimal_discriminator([1.0, 0.0, 0.0], [1.0, 2.0, 0.0])
    array([0.5, 0. , 0.5])
    """
    import numpy as np

    p = as_float_array(p, "p")
    q = as_float_array(q, "q", shape=p.shape)
    s = p + q
    return np.divide(p, s, out=np.full_like(s, 0.5), where=s > 0)


def jensen_shannon(p, q, dx: float = 1.0):
    """Jensen-Shannon divergence (natural log) of two densities tabulated on a regular grid.

    .. math:: \\mathrm{JS}(p\\,\\|\\,q) = \\tfrac12\\mathrm{KL}(p\\,\\|\\,m)
       + \\tfrac12\\mathrm{KL}(q\\,\\|\\,m), \\quad m = \\tfrac12(p + q),

    each KL a Riemann sum with step ``dx``. Between 0 and :math:`\\log 2`.

    Examples
    --------
    >>> round(float(jensen_shannon([1.0, 0.0], [0.0, 1.0])), 4)   # disjoint: log 2
    0.6931
    """
    import numpy as np

    p = as_float_array(p, "p")
    q = as_float_array(q, "q", shape=p.shape)
    m = 0.5 * (p + q)

    def kl(a):
        mask = a > 0
        return float(np.sum(a[mask] * np.log(a[mask] / m[mask])) * dx)

    return 0.5 * kl(p) + 0.5 * kl(q)
