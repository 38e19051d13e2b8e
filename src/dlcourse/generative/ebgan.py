"""The energy-based GAN: a margin (hinge) loss on an energy instead of a probability.

Taught in :ref:`generative-models` (``book/generative-models.ipynb``).

Zhao, Mathieu and LeCun (2017) replace the discriminator by an energy :math:`E(x) \\ge 0` (an
auto-encoder's reconstruction error in their paper), trained as in the EBM chapter's
contrastive methods: push the energy of data down and the energy of generated samples up, but
only until it reaches a margin :math:`m`,

.. math::
   \\mathcal L_E = \\overline{E(x)} + \\overline{\\max\\big(0,\\ m - E(G(z))\\big)}, \\qquad
   \\mathcal L_G = \\overline{E(G(z))},

while the generator moves its samples to low energy. At the equilibrium the generator's
distribution matches the data (Theorem 2 of the paper).
"""

from __future__ import annotations

from .._validation import check_scalar
from ._checks import float_tensor

__all__ = ["ebgan_losses"]


def ebgan_losses(e_real, e_fake, margin: float):
    """Energy and generator losses of an EBGAN (hinge on the fakes' energy).

    .. math:: \\mathcal L_E = \\overline{E_{\\text{real}}}
       + \\overline{\\max(0, m - E_{\\text{fake}})}, \\qquad
       \\mathcal L_G = \\overline{E_{\\text{fake}}} .

    Parameters
    ----------
    e_real, e_fake : torch.Tensor of shape (n,) and (m,)
        Energies of real and generated examples (usually >= 0).
    margin : float >= 0
        :math:`m`: fakes with an energy above it cost the energy model nothing.

    Returns
    -------
    (loss_e, loss_g) : two scalar tensors, differentiable.

    Examples
    --------
    >>> import torch
    >>> le, lg = ebgan_losses(torch.tensor([0.5, 1.5]), torch.tensor([0.0, 3.0]), margin=2.0)
    >>> float(le), float(lg)            # 1.0 + (2 + 0) / 2,  (0 + 3) / 2
    (2.0, 1.5)
    """
    import torch

    e_real = float_tensor(e_real, "e_real", ndim=1)
    e_fake = float_tensor(e_fake, "e_fake", ndim=1)
    m = check_scalar(margin, "margin", float, low=0)
    return e_real.mean() + torch.relu(m - e_fake).mean(), e_fake.mean()
