"""Closed-form attacks on linear classifiers: the smallest perturbation that reaches the boundary.

Binary classifier with score :math:`f(x) = w^\\top x + b` (predict the sign). The smallest
:math:`\\delta` (in a norm :math:`\\|\\cdot\\|_p`) with :math:`f(x_0 + \\delta) = 0` solves

.. math:: \\min_\\delta \\|\\delta\\|_p \\quad \\text{s.t.} \\quad w^\\top (x_0 + \\delta) + b = 0 .

* L2 (Lagrange multiplier): :math:`\\delta = -\\dfrac{f(x_0)}{\\|w\\|_2^2}\\, w`, the orthogonal
  projection onto the hyperplane, of length :math:`|f(x_0)| / \\|w\\|_2`;
* L-inf (Hoelder's inequality, the dual norm of L-inf is L1):
  :math:`\\delta = -\\dfrac{f(x_0)}{\\|w\\|_1}\\, \\mathrm{sign}(w)`, of L-inf length
  :math:`|f(x_0)| / \\|w\\|_1`;
* the maximum-allowable L-inf attack with budget :math:`\\varepsilon`,
  :math:`\\delta = -\\varepsilon\\, \\mathrm{sign}(f(x_0))\\, \\mathrm{sign}(w)`, moves the score by
  :math:`\\varepsilon \\|w\\|_1` towards the boundary: FGSM for a linear model.

Multi-class, scores :math:`f_j(x) = w_j^\\top x + b_j` (``w`` of shape (K, d)): with the
predicted class :math:`k`, the boundary with class :math:`j` is the hyperplane
:math:`f_j - f_k = 0` with normal :math:`w_j - w_k`; the nearest one is
:math:`j^* = \\arg\\min_{j \\ne k} |f_j - f_k| / \\|w_j - w_k\\|_q` (:math:`q = 2` for L2,
:math:`q = 1` for L-inf) and :math:`\\delta` is the binary formula for that hyperplane. This is
one step of DeepFool (:func:`~dlcourse.attacks.deepfool`), exact for a linear model.

All functions are batched over ``x0`` (shape (d,) or (n, d)); NumPy in -> NumPy out (float64),
torch in -> torch out (``x0``'s dtype and device).
"""

from __future__ import annotations

import numpy as np

from .._validation import InvalidParameterError, check_scalar, invalid
from ..utils import is_torch

__all__ = ["linear_min_norm_l2", "linear_min_norm_linf", "linear_max_linf", "linear_scores"]


def _to_torch(w, b, x0):
    """Convert (w, b, x0) to torch tensors in a common floating dtype on x0's device."""
    import torch

    any_torch = any(is_torch(a) for a in (w, b, x0))
    ref = next((a for a in (x0, w, b) if is_torch(a) and a.is_floating_point()), None)
    dtype = ref.dtype if ref is not None else torch.float64
    device = ref.device if ref is not None else torch.device("cpu")
    out = []
    for name, a in (("w", w), ("b", b), ("x0", x0)):
        if not is_torch(a):
            try:
                a = torch.as_tensor(np.asarray(a, dtype=np.float64))
            except (TypeError, ValueError):
                raise invalid(
                    name, "an array or tensor of real numbers", got=f"{type(a).__name__}"
                ) from None
        out.append(a.to(device=device, dtype=dtype))
    return (*out, any_torch)


def _prepare(w, b, x0):
    """Validate shapes; return torch (w (d,) or (K, d), b (1,) or (K,), x (n, d), flags)."""
    import torch

    w, b, x0, any_torch = _to_torch(w, b, x0)
    if w.ndim not in (1, 2) or w.shape[-1] == 0:
        raise invalid(
            "w",
            "a weight vector of shape (d,) (two classes) or a matrix of shape (K, d) (K classes)",
            got=f"shape {tuple(w.shape)}",
        )
    d = w.shape[-1]
    if x0.ndim not in (1, 2) or x0.shape[-1] != d:
        raise invalid(
            "x0",
            f"of shape ({d},) or (n, {d}) to match w of shape {tuple(w.shape)}",
            got=f"shape {tuple(x0.shape)}",
        )
    if w.ndim == 1:
        if b.numel() != 1:
            raise invalid(
                "b", "a scalar for a weight vector w of shape (d,)", got=f"shape {tuple(b.shape)}"
            )
        b = b.reshape(1)
        if not bool((w != 0).any()):
            raise InvalidParameterError(
                "The 'w' argument must not be all zeros: there is no boundary."
            )
    else:
        if w.shape[0] < 2:
            raise InvalidParameterError(
                f"The 'w' argument of shape (K, d) needs K >= 2 classes. Got K = {w.shape[0]}."
            )
        if b.shape != (w.shape[0],):
            raise invalid(
                "b", f"of shape ({w.shape[0]},), one bias per class", got=f"shape {tuple(b.shape)}"
            )
    if not all(bool(torch.isfinite(a).all()) for a in (w, b, x0)):
        raise InvalidParameterError("The arguments w, b and x0 must contain only finite numbers.")
    single = x0.ndim == 1
    x = x0.reshape(1, d) if single else x0
    return w, b, x, single, any_torch


def _output(delta, single: bool, any_torch: bool):
    if single:
        delta = delta[0]
    return delta if any_torch else delta.cpu().numpy()


def _min_norm(w, b, x0, q: int, overshoot: float):
    """Shared body of the two min-norm attacks; ``q`` is the dual norm (2 or 1)."""
    import torch

    overshoot = check_scalar(overshoot, "overshoot", float, low=0)
    w, b, x, single, any_torch = _prepare(w, b, x0)
    if w.ndim == 1:
        f = x @ w + b  # (n,)
        direction = w if q == 2 else torch.sign(w)
        norm = torch.linalg.vector_norm(w, ord=q)
        # L2: -f w / ||w||^2 ; L-inf: -f sign(w) / ||w||_1 (sign(w) . w = ||w||_1)
        scale = -f / (norm**2 if q == 2 else norm)
        delta = scale[:, None] * direction[None, :]
    else:
        scores = x @ w.T + b  # (n, K)
        k = scores.argmax(dim=1)  # predicted class
        gap = scores - scores.gather(1, k[:, None])  # f_j - f_k <= 0
        normals = w[None, :, :] - w[k][:, None, :]  # (n, K, d): w_j - w_k
        norms = torch.linalg.vector_norm(normals, ord=q, dim=2)  # (n, K)
        dist = torch.where(norms > 0, gap.abs() / norms.clamp_min(1e-300), torch.inf)
        dist.scatter_(1, k[:, None], torch.inf)  # j != k
        if not bool(torch.isfinite(dist.min(dim=1).values).all()):
            raise InvalidParameterError(
                "Some rows of x0 have no reachable boundary: every other class has the same "
                "weight vector as the predicted one (w_j == w_k)."
            )
        j = dist.argmin(dim=1)
        g = gap.gather(1, j[:, None])[:, 0]  # f_j* - f_k
        normal = normals[torch.arange(x.shape[0]), j]  # (n, d)
        nrm = norms.gather(1, j[:, None])[:, 0]
        direction = normal if q == 2 else torch.sign(normal)
        scale = -g / (nrm**2 if q == 2 else nrm)
        delta = scale[:, None] * direction
    return _output(delta * (1.0 + overshoot), single, any_torch)


def linear_min_norm_l2(w, b, x0, *, overshoot: float = 0.0):
    """Smallest L2 perturbation that brings ``x0`` onto the decision boundary of a linear model.

    Binary (``w`` of shape (d,), ``b`` scalar): :math:`\\delta = -\\dfrac{w^\\top x_0 + b}
    {\\|w\\|_2^2}\\, w`, so :math:`f(x_0 + \\delta) = 0` and
    :math:`\\|\\delta\\|_2 = |f(x_0)| / \\|w\\|_2`.

    Multi-class (``w`` (K, d), ``b`` (K,)): the same projection onto the nearest boundary
    :math:`f_{j^*} = f_k` of the predicted class :math:`k`, with normal :math:`w_{j^*} - w_k`
    and :math:`j^* = \\arg\\min_{j \\ne k} |f_j - f_k| / \\|w_j - w_k\\|_2`.

    Parameters
    ----------
    w, b : array or tensor
        Weights (d,) and scalar bias, or (K, d) and (K,).
    x0 : array or tensor
        One point (d,) or a batch (n, d).
    overshoot : float
        Multiply :math:`\\delta` by ``1 + overshoot`` to cross the boundary instead of
        landing on it.

    Returns
    -------
    delta : same shape as ``x0`` (NumPy float64 for NumPy inputs, torch for torch inputs).

    Examples
    --------
    >>> import numpy as np
    >>> w, b, x0 = np.array([3.0, 4.0]), -1.0, np.array([1.0, 1.0])
    >>> delta = linear_min_norm_l2(w, b, x0)
    >>> round(float(w @ (x0 + delta) + b), 12), float(np.linalg.norm(delta))  # f = 6, ||w|| = 5
    (0.0, 1.2)
    """
    return _min_norm(w, b, x0, q=2, overshoot=overshoot)


def linear_min_norm_linf(w, b, x0, *, overshoot: float = 0.0):
    """Smallest L-inf perturbation that brings ``x0`` onto the decision boundary.

    Binary: :math:`\\delta = -\\dfrac{w^\\top x_0 + b}{\\|w\\|_1}\\, \\mathrm{sign}(w)`, so
    :math:`f(x_0 + \\delta) = 0` and :math:`\\|\\delta\\|_\\infty = |f(x_0)| / \\|w\\|_1`: every
    coordinate moves by the same amount in the direction that changes the score fastest.

    Multi-class: the same formula for the nearest boundary in the L-inf sense,
    :math:`j^* = \\arg\\min_{j \\ne k} |f_j - f_k| / \\|w_j - w_k\\|_1`.

    Parameters and return value as :func:`linear_min_norm_l2`.

    Examples
    --------
    >>> import numpy as np
    >>> w, b, x0 = np.array([3.0, -1.0]), 0.0, np.array([1.0, 1.0])
    >>> linear_min_norm_linf(w, b, x0)  # f = 2, ||w||_1 = 4
    array([-0.5,  0.5])
    """
    return _min_norm(w, b, x0, q=1, overshoot=overshoot)


def linear_max_linf(w, b, x0, eps: float):
    """Maximum-allowable L-inf attack on a binary linear classifier (FGSM for a linear model).

    :math:`\\delta = -\\varepsilon\\, \\mathrm{sign}(f(x_0))\\, \\mathrm{sign}(w)` with
    :math:`\\|\\delta\\|_\\infty = \\varepsilon`: among all perturbations in the L-inf ball of
    radius :math:`\\varepsilon` it moves the score the most towards the boundary, by
    :math:`\\varepsilon \\|w\\|_1`. It crosses the boundary when
    :math:`\\varepsilon > |f(x_0)| / \\|w\\|_1` (the min-norm L-inf distance). A point already on
    the boundary (:math:`f(x_0) = 0`) is not moved.

    Parameters
    ----------
    w : array or tensor of shape (d,)
    b : scalar
    x0 : (d,) or (n, d)
    eps : float >= 0
        The budget :math:`\\varepsilon`.

    Returns
    -------
    delta : same shape as ``x0``.
    """
    import torch

    eps = check_scalar(eps, "eps", float, low=0)
    w_, b_, x, single, any_torch = _prepare(w, b, x0)
    if w_.ndim != 1:
        raise InvalidParameterError(
            "linear_max_linf is the two-class attack: 'w' must have shape (d,). Got shape "
            f"{tuple(w_.shape)}; for K classes use fgsm on the linear model."
        )
    f = x @ w_ + b_
    delta = -eps * torch.sign(f)[:, None] * torch.sign(w_)[None, :]
    return _output(delta, single, any_torch)


def linear_scores(w, b, x):
    """The scores :math:`f(x) = w^\\top x + b` (binary, (n,)) or :math:`W x + b` ((n, K)).

    A helper to check the attacks: ``linear_scores(w, b, x0 + delta)`` is 0 (binary) or has a
    tie between the two top classes (multi-class) after a min-norm attack.
    """
    w_, b_, xx, single, any_torch = _prepare(w, b, x)
    out = xx @ w_ + b_ if w_.ndim == 1 else xx @ w_.T + b_
    return _output(out, single, any_torch)
