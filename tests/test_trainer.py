"""dlcourse.trainer: the shared training loop, checked against scikit-learn and plain torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score

from dlcourse.trainer import History, evaluate, predict, train


def blobs(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    x = centers[y] + rng.normal(size=(n, 2))
    return x.astype(np.float32), y.astype(np.int64)


def test_training_reaches_the_accuracy_of_logistic_regression():
    x, y = blobs()
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 3)
    history = train(model, (x, y), epochs=30, lr=0.05, progress=False)
    assert isinstance(history, History)
    assert len(history.loss) == 30
    assert len(history.step_loss) == 30 * int(np.ceil(len(x) / 64))
    assert history.loss[-1] < 0.5 * history.loss[0]
    reference = accuracy_score(y, LogisticRegression().fit(x, y).predict(x))
    assert evaluate(model, x, y) >= reference - 0.01


def test_evaluate_is_the_accuracy_of_the_argmax():
    x, y = blobs(n=300, seed=1)
    model = torch.nn.Linear(2, 3)
    logits = model(torch.as_tensor(x)).detach().numpy()
    assert evaluate(model, x, y, batch_size=7) == pytest.approx(accuracy_score(y, logits.argmax(1)))


def test_predict_restores_the_mode_and_builds_no_graph():
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Dropout(0.5))
    model.train()
    x = torch.randn(50, 2)
    out = predict(model, x, batch_size=16)
    assert model.training, "predict must give the model back in train mode"
    assert not out.requires_grad
    model.eval()
    torch.testing.assert_close(out, model(x).detach())  # eval mode: dropout off
    predict(model, x)
    assert not model.training


def test_same_seed_same_run_and_another_seed_another_order():
    x, y = blobs(n=200, seed=2)

    def run(seed):
        torch.manual_seed(0)
        model = torch.nn.Linear(2, 3)
        return train(model, (x, y), epochs=2, lr=0.1, seed=seed, progress=False).step_loss

    assert run(0) == run(0)
    assert run(0) != run(1)


def test_matches_a_hand_written_sgd_loop():
    x, y = blobs(n=128, seed=3)
    torch.manual_seed(0)
    a = torch.nn.Linear(2, 3)
    b = torch.nn.Linear(2, 3)
    b.load_state_dict(a.state_dict())
    train(a, (x, y), epochs=1, batch_size=128, optimizer=torch.optim.SGD(a.parameters(), lr=0.3),
          progress=False)  # fmt: skip
    opt = torch.optim.SGD(b.parameters(), lr=0.3)
    loss = torch.nn.functional.cross_entropy(b(torch.as_tensor(x)), torch.as_tensor(y))
    loss.backward()
    opt.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q)  # one full batch: the order does not matter


def test_data_loader_validation_and_batch_transform():
    x, y = blobs(n=96, seed=4)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y)), batch_size=32
    )
    seen = []

    def transform(model, xb, yb):
        seen.append(len(yb))
        return xb * 0.0  # the model then sees no signal at all

    model = torch.nn.Linear(2, 3)
    w0, b0 = model.weight.detach().clone(), model.bias.detach().clone()
    h = train(model, loader, epochs=2, val=(x, y), batch_transform=transform, progress=False)
    assert seen == [32, 32, 32] * 2
    assert len(h.val_accuracy) == 2
    # Trained on zeroed inputs, the weights get zero gradients (Adam leaves them alone);
    # only the bias learns.
    torch.testing.assert_close(model.weight.detach(), w0)
    assert not torch.allclose(model.bias.detach(), b0)
    assert h.seconds > 0


def test_clear_errors():
    x, y = blobs(n=10)
    model = torch.nn.Linear(2, 3)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        train(lambda t: t, (x, y))
    with pytest.raises(ValueError, match="epochs"):
        train(model, (x, y), epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        train(model, (x, y), batch_size=0)
    with pytest.raises(ValueError, match="same|shape"):
        train(model, (x, y[:5]))
    with pytest.raises(ValueError, match="lr"):
        train(model, (x, y), lr=-1.0)
    with pytest.raises(ValueError, match="at least one"):
        evaluate(model, x[:0], y[:0])


def test_regression_targets_of_any_shape():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(256, 3))
    w = rng.normal(size=(3, 2))
    y = x @ w  # float64 targets, shape (n, 2): cast to the model's float32
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2, bias=False)
    history = train(model, (x, y), epochs=60, lr=0.05, loss_fn=torch.nn.functional.mse_loss,
                    progress=False)  # fmt: skip
    assert history.loss[-1] < 1e-3
    np.testing.assert_allclose(model.weight.detach().numpy().T, w, atol=0.02)
    with pytest.raises(ValueError, match=r"\(n,\)"):
        evaluate(model, x, y)  # accuracy needs integer labels
