"""dlcourse.sparse.lista and .psd: learned encoders for sparse codes.

References: ISTA itself (an untrained LISTA must reproduce it), finite differences (gradients
through the unrolled steps), the optimal codes computed by a long FISTA run.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.sparse import (
    LISTA,
    PSDEncoder,
    code_error,
    fista,
    ista,
    lipschitz_constant,
    normalize_atoms,
    predictive_sparse_decomposition,
    train_lista,
)


def _sparse_data(n, D, k=3, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    n_atoms = D.shape[1]
    Z = np.zeros((n, n_atoms))
    for i in range(n):
        Z[i, rng.choice(n_atoms, k, replace=False)] = rng.standard_normal(k)
    return Z @ D.T + noise * rng.standard_normal((n, D.shape[0]))


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These problems are tiny: one intra-op thread is faster, and much faster on a busy
    machine, than several threads waiting for each other."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def dictionary():
    rng = np.random.default_rng(0)
    return normalize_atoms(rng.standard_normal((12, 24)))


@pytest.mark.parametrize("n_layers", [1, 2, 5, 17])
def test_untrained_lista_is_ista(dictionary, n_layers):
    D = torch.tensor(dictionary)
    x = torch.tensor(_sparse_data(30, dictionary))
    model = LISTA(D, lam=0.05, n_layers=n_layers)
    with torch.no_grad():
        z = model(x)
    expected = ista(D, x, 0.05, n_iter=n_layers)
    assert z.shape == (30, 24) and z.dtype == torch.float64
    torch.testing.assert_close(z, expected, rtol=0, atol=1e-12)
    # and against an independent NumPy loop of the ISTA update
    Dn, xn, L = dictionary, x.numpy(), lipschitz_constant(dictionary)
    zn = np.zeros((30, 24))
    for _ in range(n_layers):
        v = zn - (zn @ Dn.T - xn) @ Dn / L
        zn = np.sign(v) * np.maximum(np.abs(v) - 0.05 / L, 0)
    np.testing.assert_allclose(z.numpy(), zn, atol=1e-12)


def test_lista_initial_weights_and_custom_step(dictionary):
    D = torch.tensor(dictionary)
    L = lipschitz_constant(dictionary)
    model = LISTA(D, lam=0.2, n_layers=3, step=0.5 / L)
    np.testing.assert_allclose(model.W_e.weight.detach().numpy(), 0.5 / L * dictionary.T)
    np.testing.assert_allclose(
        model.S.weight.detach().numpy(), np.eye(24) - 0.5 / L * dictionary.T @ dictionary
    )
    np.testing.assert_allclose(model.theta.detach().numpy(), np.full(24, 0.1 / L))
    x = torch.tensor(_sparse_data(5, dictionary))
    with torch.no_grad():
        torch.testing.assert_close(
            model(x), ista(D, x, 0.2, n_iter=3, step=0.5 / L), atol=1e-12, rtol=0
        )
    assert {n for n, _ in model.named_parameters()} == {"W_e.weight", "S.weight", "theta"}
    assert "D" in dict(model.named_buffers())


def test_lista_gradients_match_finite_differences(dictionary):
    D = torch.tensor(dictionary[:6, :8])
    model = LISTA(D, lam=0.05, n_layers=3)
    x = torch.tensor(_sparse_data(4, dictionary[:6, :8], k=2, seed=3))
    named = dict(model.named_parameters())
    params = (named["W_e.weight"], named["S.weight"], named["theta"])

    def f(W_e, S, theta):
        b = x @ W_e.T
        z = torch.sign(b) * torch.clamp(b.abs() - theta, min=0)
        for _ in range(2):
            v = b + z @ S.T
            z = torch.sign(v) * torch.clamp(v.abs() - theta, min=0)
        return (z**2).sum()

    # our module's gradients equal those of an independent re-implementation ...
    (model(x) ** 2).sum().backward()
    leaves = [p.detach().clone().requires_grad_(True) for p in params]
    f(*leaves).backward()
    for p, q in zip(params, leaves, strict=True):
        torch.testing.assert_close(p.grad, q.grad)
    assert all(float(p.grad.abs().sum()) > 0 for p in params)
    # ... which are right by finite differences
    assert torch.autograd.gradcheck(f, tuple(leaves), eps=1e-6, atol=1e-6)


def test_one_training_step_moves_every_parameter_downhill(dictionary):
    D = torch.tensor(dictionary)
    x = torch.tensor(_sparse_data(64, dictionary, seed=4))
    z_star = fista(D, x, 0.05, n_iter=2000)
    model = LISTA(D, lam=0.05, n_layers=3)
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    loss0 = ((model(x) - z_star) ** 2).sum(1).mean()
    opt.zero_grad()
    loss0.backward()
    opt.step()
    loss1 = ((model(x) - z_star) ** 2).sum(1).mean()
    assert float(loss1.detach()) < float(loss0.detach())
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_trained_lista_beats_ista_at_equal_depth(dictionary):
    """The claim of Gregor and LeCun: K trained layers reach what ISTA needs many more
    iterations for (here: at least 3K) on held-out signals from the same distribution."""
    torch.manual_seed(0)
    lam, K = 0.05, 3
    x_train = _sparse_data(1500, dictionary, seed=5)
    x_test = _sparse_data(300, dictionary, seed=6)
    z_test = fista(dictionary, x_test, lam, n_iter=3000)
    model = LISTA(torch.tensor(dictionary, dtype=torch.float32), lam, K)
    history = train_lista(model, x_train, epochs=25, lr=3e-3, batch_size=64)
    assert history.loss[-1] < 0.5 * history.loss[0]
    with torch.no_grad():
        err = code_error(model(torch.tensor(x_test, dtype=torch.float32)), z_test)
    errs = [code_error(ista(dictionary, x_test, lam, n_iter=k), z_test) for k in (K, 3 * K)]
    assert err < errs[0]
    assert err < errs[1], f"LISTA({K}) error {err:.4f} vs ISTA({3 * K}) {errs[1]:.4f}"


def test_train_lista_accepts_targets_and_checks_them(dictionary):
    model = LISTA(torch.tensor(dictionary), 0.05, 2)
    x = _sparse_data(40, dictionary)
    z = fista(dictionary, x, 0.05, n_iter=500)
    h = train_lista(model, x, z, epochs=2, batch_size=20)
    assert len(h.step_loss) == 4
    with pytest.raises(ValueError, match="z_target"):
        train_lista(model, x, z[:10], epochs=1)


def test_lista_errors(dictionary):
    with pytest.raises(ValueError, match="n_layers"):
        LISTA(dictionary, 0.1, 0)
    with pytest.raises(ValueError, match="'lam'"):
        LISTA(dictionary, -1.0, 2)
    with pytest.raises(ValueError, match="at most 1/L"):
        LISTA(dictionary, 0.1, 2, step=3.0 / lipschitz_constant(dictionary))
    with pytest.raises(ValueError, match="n_features, n_atoms"):
        LISTA(dictionary[0], 0.1, 2)
    with pytest.raises(ValueError, match=r"\(n_signals, 12\)"):
        LISTA(dictionary, 0.1, 2)(torch.zeros(3, 7))
    with pytest.raises(ValueError, match="same shape"):
        code_error(np.zeros((2, 3)), np.zeros((2, 4)))


def test_code_error_is_the_mean_squared_distance():
    a = np.array([[1.0, 2.0], [0.0, 0.0]])
    b = np.array([[1.0, 0.0], [3.0, 4.0]])
    assert code_error(a, b) == pytest.approx((4.0 + 25.0) / 2)
    assert code_error(torch.tensor(a), b) == pytest.approx(14.5)


# ----------------------------------------------------------------------------- PSD
def test_psd_encoder_formula():
    torch.manual_seed(0)
    enc = PSDEncoder(5, 7, dtype=torch.float64)
    with torch.no_grad():
        enc.gain.copy_(torch.linspace(0.5, 2.0, 7, dtype=torch.float64))
    x = torch.randn(3, 5, dtype=torch.float64)
    W, b = enc.linear.weight, enc.linear.bias
    expected = enc.gain * torch.tanh(x @ W.T + b)
    torch.testing.assert_close(enc(x), expected)


def test_psd_learns_an_encoder_that_predicts_the_codes(dictionary):
    x = _sparse_data(2000, dictionary, seed=7)
    lam = 0.05
    D, enc, energy = predictive_sparse_decomposition(
        x,
        n_atoms=24,
        lam=lam,
        alpha=1.0,
        n_iter=300,
        batch_size=128,
        lr=1e-2,
        D0=dictionary,
        seed=0,
        device="cpu",
        return_energy=True,
    )
    assert isinstance(D, np.ndarray) and D.shape == (12, 24)
    np.testing.assert_allclose(np.linalg.norm(D, axis=0), 1.0, atol=1e-10)
    assert energy[-20:].mean() < 0.7 * energy[:20].mean()
    x_test = torch.tensor(_sparse_data(300, dictionary, seed=8))
    z_opt = fista(D, x_test.numpy(), lam, n_iter=2000)
    with torch.no_grad():
        pred = enc(x_test).numpy()
    untrained = PSDEncoder(12, 24, dtype=torch.float64)
    with torch.no_grad():
        pred0 = untrained(x_test).numpy()
    # the trained encoder predicts the optimal codes far better than chance ...
    assert code_error(pred, z_opt) < 0.3 * code_error(pred0, z_opt)
    # ... and is worth more than one ISTA iteration (here: two) at the cost of one layer
    assert code_error(pred, z_opt) < code_error(ista(D, x_test.numpy(), lam, n_iter=2), z_opt)


def test_psd_trains_a_given_shrinkage_encoder_in_place(dictionary):
    x = _sparse_data(1000, dictionary, seed=9)
    lam = 0.05
    start = LISTA(torch.tensor(dictionary), lam, n_layers=1)  # one ISTA step, trainable
    D, enc = predictive_sparse_decomposition(
        x,
        n_atoms=24,
        lam=lam,
        n_iter=150,
        batch_size=128,
        lr=3e-3,
        D0=dictionary,
        encoder=start,
        seed=0,
        device="cpu",
    )
    assert enc is start and not enc.training
    x_test = _sparse_data(300, dictionary, seed=10)
    z_opt = fista(D, x_test, lam, n_iter=2000)
    with torch.no_grad():
        pred = enc(torch.tensor(x_test)).numpy()
    assert code_error(pred, z_opt) < code_error(ista(D, x_test, lam, n_iter=1), z_opt)
    with pytest.raises(ValueError, match="encoder"):
        predictive_sparse_decomposition(x, 24, lam, encoder=torch.nn.ReLU())


def test_psd_leaves_the_global_random_state_alone_and_computes_on_the_input_device(dictionary):
    """psd never seeds torch's global generator (it used to call torch.manual_seed) and a NumPy
    input is computed on the CPU, not on a globally chosen device; the same seed gives the
    same dictionary and encoder."""
    x = _sparse_data(200, dictionary, seed=11)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    D1, enc1 = predictive_sparse_decomposition(x, 24, 0.05, n_iter=5, batch_size=64, seed=3)
    assert torch.equal(state, torch.get_rng_state())
    assert next(enc1.parameters()).device.type == "cpu"
    D2, enc2 = predictive_sparse_decomposition(
        x, 24, 0.05, n_iter=5, batch_size=64, seed=torch.Generator().manual_seed(3)
    )
    D3, enc3 = predictive_sparse_decomposition(x, 24, 0.05, n_iter=5, batch_size=64, seed=3)
    np.testing.assert_array_equal(D1, D3)
    for a, b in zip(enc1.parameters(), enc3.parameters(), strict=True):
        assert torch.equal(a, b)
    assert D2.shape == D1.shape


def test_psd_errors():
    with pytest.raises(ValueError, match="n_signals, n_features"):
        predictive_sparse_decomposition(np.zeros(5), 3, 0.1)
    with pytest.raises(ValueError, match="'alpha'"):
        predictive_sparse_decomposition(np.zeros((5, 2)), 3, 0.1, alpha=0)
    with pytest.raises(ValueError, match="D0"):
        predictive_sparse_decomposition(np.ones((5, 2)), 3, 0.1, D0=np.ones((2, 2)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")
def test_lista_on_cuda_matches_ista_on_cuda(dictionary):
    D = torch.tensor(dictionary, device="cuda")
    x = torch.tensor(_sparse_data(30, dictionary), device="cuda")
    model = LISTA(D, 0.05, 4)
    assert model.W_e.weight.device.type == "cuda"
    with torch.no_grad():
        torch.testing.assert_close(model(x), ista(D, x, 0.05, n_iter=4), atol=1e-10, rtol=0)
    train_lista(model, x, epochs=1, batch_size=10)
