"""Measuring and improving robustness: robust accuracy, success rate, adversarial training.

* :func:`robust_accuracy`: accuracy of the model on ``attack(x, y)`` (clean accuracy with
  ``attack=None``);
* :func:`attack_success_rate`: how often adversarial examples change the answer (or reach a
  target);
* :func:`adversarial_training`: Madry et al.'s min-max training

  .. math::

   \\min_\\theta \\mathbb{E}\\,\\max_{\\|\\delta\\| \\le \\varepsilon} L(f_\\theta(x + \\delta), y)

  with the inner maximisation approximated by an attack crafted against the current model at
  every step (a fraction ``mix`` of each batch), through :func:`dlcourse.trainer.train`.
"""

from __future__ import annotations

from .._validation import InvalidParameterError, check_scalar, invalid
from ..trainer import History, as_tensor, predict, train
from .base import Attack

__all__ = ["robust_accuracy", "attack_success_rate", "adversarial_training"]


def _check_xy(x, y):
    x, y = as_tensor(x), as_tensor(y)
    if x.ndim < 2 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise InvalidParameterError(
            "x must be a non-empty batch (N, ...) and y labels of shape (N,); got x "
            f"{tuple(x.shape)} and y {tuple(y.shape)}."
        )
    if y.is_floating_point():
        raise InvalidParameterError(
            f"The 'y' argument must hold integer labels. Got dtype {y.dtype}."
        )
    return x, y


def _check_attack(attack):
    if attack is not None and not callable(attack):
        raise invalid(
            "attack",
            "an Attack (e.g. PGD(model, eps=0.1)), a callable (x, y) -> x_adv, or None",
            got=f"{type(attack).__name__}",
        )
    return attack


def robust_accuracy(model, x, y, attack=None, *, batch_size: int = 500) -> float:
    """Accuracy of ``model`` on ``attack(x, y)``, computed batch by batch.

    .. math:: \\frac{1}{N} \\sum_i [\\arg\\max_j f_j(x^{adv}_i) = y_i]

    Parameters
    ----------
    model : torch.nn.Module
    x, y : tensors or arrays
        Inputs (N, ...) and integer labels (N,).
    attack : Attack or callable or None
        ``attack(x_batch, y_batch) -> x_adv``; ``None`` gives the clean accuracy.
    batch_size : int
        Examples attacked at once.

    Returns
    -------
    float in [0, 1]
    """
    import torch

    x, y = _check_xy(x, y)
    attack = _check_attack(attack)
    batch_size = check_scalar(batch_size, "batch_size", int, low=1)
    correct = 0
    for start in range(0, x.shape[0], batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        if attack is not None:
            xb = attack(xb, yb)
        pred = predict(model, xb).argmax(dim=1)
        correct += int((pred == torch.as_tensor(yb).to(pred.device)).sum())
    return correct / x.shape[0]


def attack_success_rate(
    model, x, x_adv, y, *, targeted: bool = False, only_correct: bool = False
) -> float:
    """Fraction of adversarial examples that fool the model.

    Untargeted: :math:`\\frac{1}{N}\\sum_i [\\arg\\max f(x^{adv}_i) \\ne y_i]`; targeted (``y``
    holds the target labels): :math:`\\frac{1}{N}\\sum_i [\\arg\\max f(x^{adv}_i) = y_i]`.

    Parameters
    ----------
    model : torch.nn.Module
    x : tensor (N, ...)
        The clean inputs (used with ``only_correct`` and to check shapes).
    x_adv : tensor (N, ...)
        Their adversarial versions.
    y : integer labels (N,)
        True labels, or the targets when ``targeted``.
    targeted : bool
    only_correct : bool
        Count only the examples the model classifies correctly when clean (untargeted only):
        the rate at which the attack *turns* right answers into wrong ones.
    """
    x, y = _check_xy(x, y)
    x_adv = as_tensor(x_adv)
    if tuple(x_adv.shape) != tuple(x.shape):
        raise InvalidParameterError(
            f"x_adv must have the shape of x {tuple(x.shape)}. Got {tuple(x_adv.shape)}."
        )
    pred = predict(model, x_adv).argmax(dim=1)
    y = y.to(pred.device)
    hit = pred == y if targeted else pred != y
    if only_correct:
        if targeted:
            raise InvalidParameterError(
                "only_correct applies to untargeted attacks (targeted=False)."
            )
        mask = predict(model, x).argmax(dim=1) == y
        if not bool(mask.any()):
            raise InvalidParameterError(
                "only_correct=True but the model gets no clean example right."
            )
        hit = hit[mask]
    return float(hit.float().mean())


def adversarial_training(
    model,
    data,
    attack,
    *,
    epochs: int = 1,
    lr: float = 1e-3,
    batch_size: int = 64,
    mix: float = 0.5,
    optimizer="adam",
    val=None,
    seed: int | None = None,
    progress: bool = False,
) -> History:
    """Train ``model`` on batches in which a fraction ``mix`` is replaced by adversarial examples.

    Each step takes a shuffled batch :math:`B`, replaces its first ``round(mix * |B|)``
    examples by ``attack(x, y)`` crafted against the *current* parameters, and takes an
    optimizer step on the cross-entropy of the mixed batch: with ``mix = 1`` this is the
    min-max objective of Madry et al.; ``mix = 0.5`` is Goodfellow et al.'s mixture of clean
    and adversarial loss.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place (left in train mode, as :func:`dlcourse.trainer.train` leaves it).
    data : (x, y) pair or iterable of (x_batch, y_batch)
        As for :func:`dlcourse.trainer.train`.
    attack : Attack or callable
        Built on this same model, e.g. ``FGSM(model, eps=0.2)`` or
        ``PGD(model, eps=0.2, alpha=0.05, steps=5)``; or any ``(x, y) -> x_adv``.
    epochs, lr, batch_size, val, progress
        As for :func:`dlcourse.trainer.train`.
    mix : float in [0, 1]
        Fraction of each batch that is adversarial.
    optimizer : "adam", "sgd" or torch.optim.Optimizer
        The optimizer (the strings use ``lr``; "sgd" with momentum 0.9).
    seed : int, optional
        Seeds the shuffling (default 0).

    Returns
    -------
    dlcourse.trainer.History
    """
    import torch

    if attack is None or not callable(attack):
        raise invalid(
            "attack",
            "an Attack built on this model (e.g. FGSM(model, eps=0.2)) or a callable "
            "(x, y) -> x_adv",
            got=f"{type(attack).__name__}",
        )
    if isinstance(attack, Attack) and attack.model is not model:
        raise InvalidParameterError(
            "The 'attack' was built on a different model: adversarial training needs attacks "
            "against the model being trained, e.g. FGSM(model, eps=0.2) with this model."
        )
    try:
        mix = float(mix)
    except (TypeError, ValueError):
        raise invalid("mix", "a number in [0, 1]", mix) from None
    if not 0.0 <= mix <= 1.0:
        raise invalid("mix", "in [0, 1]", mix)
    if isinstance(optimizer, str):
        if optimizer.lower() == "adam":
            optimizer = None  # train's default: Adam with learning rate lr
        elif optimizer.lower() == "sgd":
            optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        else:
            raise invalid("optimizer", "'adam', 'sgd' or a torch optimizer", optimizer)
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise invalid(
            "optimizer",
            "'adam', 'sgd' or a torch.optim.Optimizer",
            got=f"{type(optimizer).__name__}",
        )
    seed = 0 if seed is None else check_scalar(seed, "seed", int, low=0)

    def mix_in_attacks(model_, xb, yb):
        n_adv = int(round(mix * xb.shape[0]))
        if n_adv == 0:
            return xb
        x_adv = attack(xb[:n_adv], yb[:n_adv])
        return torch.cat([x_adv.to(xb.device, xb.dtype), xb[n_adv:]])

    return train(
        model,
        data,
        epochs=epochs,
        lr=lr,
        optimizer=optimizer,
        batch_size=batch_size,
        val=val,
        batch_transform=mix_in_attacks,
        seed=seed,
        progress=progress,
        desc="adversarial training",
    )
