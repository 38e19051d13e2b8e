"""The model the attack tests attack: a small MLP on scikit-learn's 8x8 digits.

Trained for 8 epochs in a couple of seconds, it is accurate enough (about 95 %) for the
success rates and robust accuracies of the tests to mean something.
"""

from __future__ import annotations

import torch

from dlcourse.data import load_digits
from dlcourse.trainer import train


def mlp(seed: int = 0, hidden: int = 64) -> torch.nn.Module:
    """An untrained 64-hidden-10 MLP on 8x8 images, initialised from ``seed``."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(64, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 10),
    )


def digits_tensors():
    """``((x_train, y_train), (x_test, y_test))``: the digits as float32 images (N, 8, 8)."""
    d = load_digits(flatten=False)
    train_set = (torch.as_tensor(d.x_train, dtype=torch.float32), torch.as_tensor(d.y_train))
    test_set = (torch.as_tensor(d.x_test, dtype=torch.float32), torch.as_tensor(d.y_test))
    return train_set, test_set


def trained_mlp(train_set) -> torch.nn.Module:
    """:func:`mlp` (seed 0) trained on ``train_set`` (8 epochs of Adam, lr 1e-2, batches of 128)."""
    model = mlp()
    train(model, train_set, epochs=8, lr=1e-2, batch_size=128, progress=False)
    return model
