"""Grid CRFs for pixel labelling, and mean-field inference written as CNN layers.

Taught in the chapter *Structured prediction* (``book/structured-prediction.ipynb``).

A labelling :math:`y \\in \\{0, \\dots, K-1\\}^{H \\times W}` of an image has the energy

.. math::
   E(y) = \\sum_u \\psi_u(y_u) + \\sum_{\\{u, v\\}} k(u - v)\\, \\mu(y_u, y_v),

unary energies :math:`\\psi_u(l)` (``unary``, shape (B, K, H, W), low = likely) and a pairwise
term: a spatial kernel :math:`k` (``kernel``, odd size, symmetric, zero at its centre) times a
label compatibility :math:`\\mu` (``compat``, (K, K)). The **Potts** model is
:math:`\\mu(l, l') = w\\,[l \\ne l']` with the 4-neighbour kernel: every pair of neighbours with
different labels pays :math:`w`.

**Mean field** approximates :math:`p(y) \\propto e^{-E(y)}` by a product
:math:`q(y) = \\prod_u q_u(y_u)`, minimising the variational free energy

.. math::
   \\mathcal F(q) = \\mathbb E_q[E(y)] - H(q)
   = \\mathrm{KL}(q \\,\\|\\, p) - \\log Z \\;\\ge\\; -\\log Z .

Setting its derivative in :math:`q_u` to zero gives the update

.. math::
   q_u(l) \\propto
   \\exp\\Big(-\\psi_u(l) - \\sum_{l'} \\mu(l, l') \\sum_{v} k(u - v)\\, q_v(l')\\Big),

and every piece is a CNN layer (Zheng et al., 2015): *message passing*
:math:`\\tilde q = k * q` is a depthwise convolution (one shared kernel per label channel), the
*compatibility transform* :math:`\\mu \\tilde q` is a 1x1 convolution, then the unaries are
added and a softmax over the label channel normalises (:func:`mean_field_step`). Unrolling
``n_iter`` steps gives a recurrent network trainable end to end (:class:`MeanFieldCRF`).

Updating *all* pixels at once (``schedule="parallel"``, as in CRF-as-RNN) is not guaranteed to
decrease :math:`\\mathcal F`; updating one pixel at a time is (each update minimises
:math:`\\mathcal F` exactly in :math:`q_u`). With the 4-neighbour kernel the pixels of one colour of
a checkerboard do not interact, so ``schedule="checkerboard"`` updates half of them at once and
keeps that guarantee.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import InvalidParameterError, as_tensor, check_option, check_scalar, invalid

__all__ = [
    "four_neighbour_kernel",
    "gaussian_kernel",
    "potts_compat",
    "crf_energy",
    "potts_energy",
    "mean_field_step",
    "mean_field_free_energy",
    "mean_field",
    "MeanFieldCRF",
]


def four_neighbour_kernel(dtype=torch.float64, device=None):
    """The 3x3 kernel of the 4-neighbour grid: 1 at the four neighbours, 0 elsewhere.

    Examples
    --------
    >>> four_neighbour_kernel()
    tensor([[0., 1., 0.],
            [1., 0., 1.],
            [0., 1., 0.]], dtype=torch.float64)
    """
    k = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype=dtype)
    return k.to(device) if device is not None else k


def gaussian_kernel(kernel_size: int, sigma: float, dtype=torch.float64, device=None):
    """A Gaussian kernel :math:`k(r) = e^{-\\|r\\|^2 / 2\\sigma^2}` with its centre set to 0.

    The centre is zero because a pixel sends no message to itself. Not normalised: the
    strength of the smoothing is the compatibility's job.

    Examples
    --------
    >>> k = gaussian_kernel(3, 1.0)
    >>> float(k[1, 1]), round(float(k[0, 1]), 4)
    (0.0, 0.6065)
    """
    kernel_size = check_scalar(kernel_size, "kernel_size", int, low=1)
    if kernel_size % 2 == 0:
        raise invalid("kernel_size", "an odd integer >= 1", kernel_size)
    sigma = check_scalar(sigma, "sigma", float, low=0, closed="neither")
    r = torch.arange(kernel_size, dtype=dtype) - kernel_size // 2
    k = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    k[kernel_size // 2, kernel_size // 2] = 0.0
    return k.to(device) if device is not None else k


def potts_compat(n_labels: int, w: float = 1.0, dtype=torch.float64, device=None):
    """The Potts compatibility :math:`\\mu(l, l') = w\\,[l \\ne l']` as a (K, K) matrix.

    Examples
    --------
    >>> potts_compat(2, 0.5)
    tensor([[0.0000, 0.5000],
            [0.5000, 0.0000]], dtype=torch.float64)
    """
    n_labels = check_scalar(n_labels, "n_labels", int, low=1)
    w = check_scalar(w, "w", float)
    mu = w * (1.0 - torch.eye(n_labels, dtype=dtype))
    return mu.to(device) if device is not None else mu


# --------------------------------------------------------------------------- checks
def _check_unary(unary, caller):
    unary = as_tensor(unary, "unary", caller=caller)
    if unary.ndim != 4 or min(unary.shape) == 0:
        raise invalid(
            "unary",
            "a non-empty tensor of shape (B, K, H, W)",
            got=f"a tensor of shape {tuple(unary.shape)}",
            caller=caller,
        )
    if not unary.is_floating_point():
        unary = unary.double()
    return unary


def _check_kernel(kernel, like, caller):
    kernel = as_tensor(kernel, "kernel", dtype=like.dtype, like=like, caller=caller)
    if kernel.ndim != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise invalid(
            "kernel",
            "a 2-D tensor of odd shape (kh, kw)",
            got=f"a tensor of shape {tuple(kernel.shape)}",
            caller=caller,
        )
    return kernel


def _check_compat(compat, like, caller):
    K = like.shape[1]
    compat = as_tensor(compat, "compat", dtype=like.dtype, like=like, caller=caller)
    if tuple(compat.shape) != (K, K):
        raise InvalidParameterError(
            f"The 'compat' argument of {caller} must have shape (K, K) = ({K}, {K}) to match "
            f"the K = {K} label channels of 'unary' (shape {tuple(like.shape)}). Got shape "
            f"{tuple(compat.shape)} instead."
        )
    return compat


def _check_q(q, unary, caller):
    q = as_tensor(q, "q", dtype=unary.dtype, like=unary, caller=caller)
    if tuple(q.shape) != tuple(unary.shape):
        raise InvalidParameterError(
            f"The 'q' argument of {caller} must have the shape of 'unary', "
            f"{tuple(unary.shape)} (B, K, H, W). Got shape {tuple(q.shape)} instead."
        )
    return q


# --------------------------------------------------------------------------- energies
def _check_labels(labels, unary, caller):
    labels = as_tensor(labels, "labels", caller=caller)
    B, K, H, W = unary.shape
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise invalid("labels", "an integer tensor", got=f"dtype {labels.dtype}", caller=caller)
    if tuple(labels.shape) != (B, H, W):
        raise InvalidParameterError(
            f"The 'labels' argument of {caller} must have shape (B, H, W) = ({B}, {H}, {W}) to "
            f"match 'unary' of shape {tuple(unary.shape)} (B, K, H, W). Got shape "
            f"{tuple(labels.shape)} instead."
        )
    if int(labels.min()) < 0 or int(labels.max()) >= K:
        raise InvalidParameterError(
            f"The 'labels' argument of {caller} must hold labels in 0 .. {K - 1} ('unary' has "
            f"K = {K} label channels). Got labels from {int(labels.min())} to "
            f"{int(labels.max())} instead."
        )
    return labels.to(unary.device, torch.long)


def crf_energy(labels, unary, kernel, compat):
    """The energy of a labelling, each unordered pair of pixels counted once.

    .. math:: E(y) = \\sum_u \\psi_u(y_u) + \\sum_{\\{u,v\\}} k(u-v)\\,\\mu(y_u, y_v)


    The kernel must be symmetric with a zero centre and the compatibility symmetric; zero
    padding: no pairs across the border.

    Parameters
    ----------
    labels : integer tensor of shape (B, H, W), values in 0 .. K-1
    unary : tensor of shape (B, K, H, W)
    kernel : tensor of shape (kh, kw), odd sizes
    compat : tensor of shape (K, K)

    Returns
    -------
    tensor of shape (B,)

    Examples
    --------
    >>> import torch
    >>> labels = torch.tensor([[[0, 1], [0, 0]]])
    >>> unary = torch.zeros(1, 2, 2, 2)
    >>> float(crf_energy(labels, unary, four_neighbour_kernel(), potts_compat(2, 3.0)))
    6.0
    """
    return _energy(labels, unary, kernel, compat, "crf_energy")


def _energy(labels, unary, kernel, compat, caller):
    unary = _check_unary(unary, caller)
    labels = _check_labels(labels, unary, caller)
    kernel = _check_kernel(kernel, unary, caller)
    compat = _check_compat(compat, unary, caller)
    onehot = F.one_hot(labels, unary.shape[1]).permute(0, 3, 1, 2).to(unary.dtype)
    pairwise = _compat_transform(_message(onehot, kernel), compat)
    return (onehot * unary + 0.5 * onehot * pairwise).sum(dim=(1, 2, 3))


def potts_energy(labels, unary, w, kernel=None):
    """The Potts energy :math:`E(y) = \\sum_u \\psi_u(y_u) + w \\sum_{u \\sim v} [y_u \\ne y_v]`.

    The sum runs over the pairs of 4-neighbours (or, with ``kernel``, over all pairs, weighted
    by :math:`k(u - v)`): :func:`crf_energy` with :func:`potts_compat`.

    Parameters
    ----------
    labels : integer tensor of shape (B, H, W)
    unary : tensor of shape (B, K, H, W)
        Unary energies (low = likely).
    w : float
        The price of a pair of neighbours with different labels.
    kernel : tensor of shape (kh, kw), optional
        Default :func:`four_neighbour_kernel`.

    Returns
    -------
    tensor of shape (B,)

    Examples
    --------
    >>> import torch
    >>> labels = torch.tensor([[[0, 0, 1]]])  # one row of 3 pixels, one label change
    >>> unary = torch.tensor([[[[0.0, 1.0, 2.0]], [[5.0, 5.0, 0.5]]]])
    >>> float(potts_energy(labels, unary, w=2.0))  # 0 + 1 + 0.5 + 2
    3.5
    """
    unary = _check_unary(unary, "potts_energy")
    w = check_scalar(w, "w", float)
    if kernel is None:
        kernel = four_neighbour_kernel(unary.dtype, unary.device)
    compat = potts_compat(unary.shape[1], w, dtype=unary.dtype, device=unary.device)
    return _energy(labels, unary, kernel, compat, "potts_energy")


# --------------------------------------------------------------------------- the layers
def _message(q, kernel):
    """Depthwise convolution of every label channel with the same kernel (zero padding)."""
    K = q.shape[1]
    kh, kw = kernel.shape
    weight = kernel.expand(K, 1, kh, kw)
    return F.conv2d(q, weight, padding=(kh // 2, kw // 2), groups=K)


def _compat_transform(m, compat):
    """The 1x1 convolution :math:`(\\mu m)_u(l) = \\sum_{l'} \\mu(l, l') m_u(l')`."""
    return F.conv2d(m, compat[:, :, None, None])


def mean_field_step(q, unary, kernel, compat):
    """One mean-field update, as CNN layers: message passing, compatibility, unaries, softmax.

    .. math::
       q_u(l) \\leftarrow \\operatorname{softmax}_l\\Big(-\\psi_u(l) -
       \\sum_{l'} \\mu(l, l')\\, (k * q)_u(l')\\Big)

    Parameters
    ----------
    q : tensor of shape (B, K, H, W)
        Current marginals (each pixel's K entries sum to 1).
    unary : tensor of shape (B, K, H, W)
        Unary energies :math:`\\psi_u(l)` (not scores: low means likely).
    kernel : tensor of shape (kh, kw), odd sizes
        The spatial kernel, shared by all label channels; zero padding at the border.
    compat : tensor of shape (K, K)
        The compatibility :math:`\\mu`.

    Returns
    -------
    tensor of shape (B, K, H, W), the new marginals (differentiable in all arguments).

    Examples
    --------
    >>> import torch
    >>> unary = torch.zeros(1, 2, 3, 3, dtype=torch.float64)
    >>> unary[0, 0, 1, 1] = 5.0  # the centre pixel dislikes label 0 ...
    >>> q = torch.full_like(unary, 0.5)
    >>> q[0, 0], q[0, 1] = 1.0, 0.0  # ... but its neighbours all have label 0
    >>> new = mean_field_step(q, unary, four_neighbour_kernel(), potts_compat(2, 2.0))
    >>> round(float(new[0, 0, 1, 1]), 4)  # 4 neighbours x 2.0 outweigh the unary 5.0
    0.9526
    """
    unary = _check_unary(unary, "mean_field_step")
    q = _check_q(q, unary, "mean_field_step")
    kernel = _check_kernel(kernel, unary, "mean_field_step")
    compat = _check_compat(compat, unary, "mean_field_step")
    return _step(q, unary, kernel, compat)


def _step(q, unary, kernel, compat):
    pairwise = _compat_transform(_message(q, kernel), compat)
    return torch.softmax(-unary - pairwise, dim=1)


def _free_energy(q, unary, kernel, compat):
    pairwise = _compat_transform(_message(q, kernel), compat)
    entropy_term = torch.xlogy(q, q)
    return (q * unary + 0.5 * q * pairwise + entropy_term).sum(dim=(1, 2, 3))


def mean_field_free_energy(q, unary, kernel, compat):
    """The variational free energy :math:`\\mathcal F(q) = \\mathbb E_q[E] - H(q)` of a product q.

    .. math::
       \\mathcal F(q) = \\sum_{u, l} q_u(l)\\psi_u(l)
       + \\tfrac12 \\sum_{u, l} q_u(l) \\sum_{l'} \\mu(l, l') (k * q)_u(l')
       + \\sum_{u, l} q_u(l) \\log q_u(l)
       = \\mathrm{KL}(q \\,\\|\\, p) - \\log Z ,

    valid for a symmetric kernel with a zero centre and a symmetric compatibility (each pair
    ``{u, v}`` is counted once). Always :math:`\\ge -\\log Z`, with equality iff :math:`q = p`.

    Returns
    -------
    tensor of shape (B,)

    Examples
    --------
    >>> import torch
    >>> unary = torch.zeros(1, 2, 1, 1, dtype=torch.float64)  # one pixel, two equal labels
    >>> q = torch.full_like(unary, 0.5)
    >>> k, mu = four_neighbour_kernel(), potts_compat(2)
    >>> F_q = mean_field_free_energy(q, unary, k, mu)  # = -log 2 = -log Z: here q = p
    >>> bool(torch.isclose(F_q, -torch.tensor(2.0, dtype=torch.float64).log()))
    True
    """
    unary = _check_unary(unary, "mean_field_free_energy")
    q = _check_q(q, unary, "mean_field_free_energy")
    kernel = _check_kernel(kernel, unary, "mean_field_free_energy")
    compat = _check_compat(compat, unary, "mean_field_free_energy")
    return _free_energy(q, unary, kernel, compat)


def mean_field(
    unary,
    kernel,
    compat,
    n_iter: int = 5,
    schedule: str = "parallel",
    q0=None,
    return_history: bool = False,
):
    """Run ``n_iter`` mean-field iterations from :math:`q^{(0)} = \\operatorname{softmax}(-\\psi)`.

    Parameters
    ----------
    unary, kernel, compat
        As in :func:`mean_field_step`.
    n_iter : int >= 0
        Number of iterations (a checkerboard iteration updates both colours once).
    schedule : {"parallel", "checkerboard"}
        ``"parallel"`` updates every pixel at once (a recurrent CNN); ``"checkerboard"`` updates
        the pixels with :math:`i + j` even, then the odd ones. The latter requires a kernel that
        is zero at every even offset (such as :func:`four_neighbour_kernel`), so that pixels of
        one colour do not interact; then the free energy never increases.
    q0 : tensor of shape (B, K, H, W), optional
        Starting marginals instead of the softmax of the negative unaries.
    return_history : bool
        Also return the list of free energies (shape (B,) each), from :math:`q^{(0)}` to the end.

    Returns
    -------
    q : tensor of shape (B, K, H, W)
    history : list of tensors (only with ``return_history``)

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> unary = torch.randn(1, 3, 8, 8, generator=g, dtype=torch.float64)
    >>> q, F_hist = mean_field(unary, four_neighbour_kernel(), potts_compat(3, 1.0), n_iter=5,
    ...                        schedule="checkerboard", return_history=True)
    >>> all(bool(b <= a + 1e-12) for a, b in zip(F_hist, F_hist[1:]))
    True
    """
    unary = _check_unary(unary, "mean_field")
    kernel = _check_kernel(kernel, unary, "mean_field")
    compat = _check_compat(compat, unary, "mean_field")
    n_iter = check_scalar(n_iter, "n_iter", int, low=0)
    schedule = check_option(schedule, "schedule", ("parallel", "checkerboard"))
    return_history = check_scalar(return_history, "return_history", bool)
    if q0 is None:
        q = torch.softmax(-unary, dim=1)
    else:
        q = _check_q(q0, unary, "mean_field")
    if schedule == "checkerboard":
        kh, kw = kernel.shape
        dy = torch.arange(kh, device=kernel.device)[:, None] - kh // 2
        dx = torch.arange(kw, device=kernel.device)[None, :] - kw // 2
        if bool((kernel[(dy + dx) % 2 == 0] != 0).any()):
            raise InvalidParameterError(
                "The 'kernel' argument of mean_field must be zero at every even offset "
                "(dy + dx even, the centre included) for schedule='checkerboard'; the "
                "4-neighbour kernel is. Use schedule='parallel' for this kernel."
            )
        H, W = unary.shape[2:]
        parity = (
            torch.arange(H, device=unary.device)[:, None]
            + torch.arange(W, device=unary.device)[None, :]
        ) % 2
        masks = [(parity == c).to(unary.dtype) for c in (0, 1)]
    history = []
    if return_history:
        history.append(_free_energy(q, unary, kernel, compat))
    for _ in range(n_iter):
        if schedule == "parallel":
            q = _step(q, unary, kernel, compat)
        else:
            for m in masks:
                q = m * _step(q, unary, kernel, compat) + (1 - m) * q
        if return_history:
            history.append(_free_energy(q, unary, kernel, compat))
    return (q, history) if return_history else q


class MeanFieldCRF(nn.Module):
    """Mean-field inference unrolled as a recurrent CNN with a learned kernel and compatibility.

    ``forward(unary)`` starts from :math:`q^{(0)} = \\operatorname{softmax}(-\\psi)` and applies
    ``n_iter`` parallel :func:`mean_field_step` updates with the parameters

    * ``kernel``, shape (kernel_size, kernel_size), initialised to :func:`gaussian_kernel`
      (its centre is forced to 0 in every forward pass: no message to oneself);
    * ``compat``, shape (K, K), initialised to the Potts matrix :math:`w\\,(1 - I)`.

    It returns the final marginals; :math:`-\\log q` is a per-pixel loss, so the whole stack
    (and the network producing ``unary``) trains end to end by backpropagation.

    Parameters
    ----------
    n_labels : int >= 2
    kernel_size : int, odd
    n_iter : int >= 0
    sigma : float > 0
        Width of the initial Gaussian kernel.
    w : float
        Initial Potts weight.

    Examples
    --------
    >>> import torch
    >>> crf = MeanFieldCRF(3, kernel_size=5, n_iter=4)
    >>> q = crf(torch.randn(2, 3, 10, 10))
    >>> q.shape, bool(torch.allclose(q.sum(1), torch.ones(2, 10, 10)))
    (torch.Size([2, 3, 10, 10]), True)
    """

    def __init__(
        self,
        n_labels: int,
        kernel_size: int = 5,
        n_iter: int = 5,
        sigma: float = 1.0,
        w: float = 1.0,
    ):
        super().__init__()
        self.n_labels = check_scalar(n_labels, "n_labels", int, low=2)
        self.n_iter = check_scalar(n_iter, "n_iter", int, low=0)
        kernel = gaussian_kernel(kernel_size, sigma, dtype=torch.float32)
        self.kernel = nn.Parameter(kernel)
        self.compat = nn.Parameter(potts_compat(self.n_labels, w, dtype=torch.float32))
        centre = torch.ones_like(kernel)
        centre[kernel_size // 2, kernel_size // 2] = 0.0
        self.register_buffer("_centre_mask", centre)

    def effective_kernel(self):
        """The kernel used by :meth:`forward`: ``kernel`` with its centre set to 0."""
        return self.kernel * self._centre_mask

    def forward(self, unary, n_iter: int | None = None):
        """Marginals (B, K, H, W) after ``n_iter`` (default ``self.n_iter``) mean-field steps."""
        unary = _check_unary(unary, "MeanFieldCRF.forward")
        if unary.shape[1] != self.n_labels:
            raise invalid(
                "unary",
                f"a tensor with K = {self.n_labels} label channels (B, K, H, W)",
                got=f"a tensor of shape {tuple(unary.shape)}",
                caller="MeanFieldCRF.forward",
            )
        n_iter = self.n_iter if n_iter is None else check_scalar(n_iter, "n_iter", int, low=0)
        kernel = self.effective_kernel().to(unary.dtype)
        compat = self.compat.to(unary.dtype)
        q = torch.softmax(-unary, dim=1)
        for _ in range(n_iter):
            q = _step(q, unary, kernel, compat)
        return q
