"""dlcourse.autoencoders: models, penalties, corruption, subspace geometry and training.

References: scikit-learn's PCA (the linear auto-encoder's subspace), scipy's
``subspace_angles``, torch's autograd Jacobian (``torch.autograd.functional.jacobian``, one
sample at a time) and finite differences (the contractive penalty), closed forms (sparse
penalty, masking rate, Gaussian noise moments, singular values of known linear maps).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from sklearn.decomposition import PCA
from torch import nn

from dlcourse._validation import InvalidParameterError
from dlcourse.autoencoders import (
    AE,
    LinearAE,
    SoftThreshold,
    code_sparsity,
    colour_patches,
    contractive_penalty,
    corrupt,
    embedded_circle,
    embedded_swiss_roll,
    encoder_jacobian,
    fit_autoencoder,
    intrinsic_dimension,
    jacobian_spectrum,
    principal_angles,
    reconstruction_error,
    sparse_penalty,
)

pytestmark = pytest.mark.timeout(120)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _sigmoid_encoder(d=7, k=5, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, k, dtype=dtype), nn.Sigmoid())


# ----------------------------------------------------------------------------- models
def test_ae_composes_encoder_and_decoder():
    enc, dec = nn.Linear(4, 2), nn.Linear(2, 4)
    ae = AE(enc, dec)
    x = torch.randn(3, 4)
    torch.testing.assert_close(ae(x), dec(enc(x)))
    torch.testing.assert_close(ae.decode(ae.encode(x)), ae(x))
    with pytest.raises(InvalidParameterError, match="'encoder' argument.*torch.nn.Module"):
        AE(lambda x: x, dec)


def test_linear_ae_seed_is_reproducible_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b = LinearAE(6, 2, seed=3), LinearAE(6, 2, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    torch.testing.assert_close(a.encoder.weight, b.encoder.weight)
    assert not torch.equal(a.encoder.weight, LinearAE(6, 2, seed=4).encoder.weight)
    with pytest.raises(InvalidParameterError, match="'code_dim' argument.*integer >= 1"):
        LinearAE(6, 0)


def test_soft_threshold_layer_matches_sparse_soft_threshold():
    from dlcourse.sparse import soft_threshold

    layer = SoftThreshold(4, init=0.3)
    v = torch.randn(10, 4)
    torch.testing.assert_close(layer(v), soft_threshold(v, 0.3))
    with pytest.raises(InvalidParameterError, match="4 units"):
        layer(torch.randn(2, 3))


# ----------------------------------------------------------------------------- penalties
def test_sparse_penalty_closed_form_and_reductions():
    h = torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.0, -0.5]], requires_grad=True)
    per = sparse_penalty(h, lam=0.1, reduction="none")
    torch.testing.assert_close(per, torch.tensor([0.3, 0.1]))
    torch.testing.assert_close(sparse_penalty(h, 0.1), per.mean())
    torch.testing.assert_close(sparse_penalty(h, 0.1, "sum"), per.sum())
    sparse_penalty(h, 0.1).backward()  # differentiable: d/dh = lam * sign(h) / n
    torch.testing.assert_close(h.grad, 0.05 * torch.sign(h.detach()))
    assert sparse_penalty(np.array([[1.0, -1.0]]), 2.0) == pytest.approx(4.0)
    with pytest.raises(InvalidParameterError, match="'lam' argument.*>= 0"):
        sparse_penalty(h, -1.0)


def test_code_sparsity():
    assert code_sparsity(torch.tensor([[0.0, 1.0, 0.0, 2.0]])) == 0.5
    assert code_sparsity(np.array([[1e-3, 1.0]]), tol=1e-2) == 0.5


@pytest.mark.parametrize("device", DEVICES)
def test_contractive_closed_form_equals_autograd_and_per_sample_jacobians(device):
    enc = _sigmoid_encoder().to(device)
    x = torch.randn(6, 7, dtype=torch.float64, device=device)
    closed = contractive_penalty(enc, x, reduction="none", method="closed")
    auto = contractive_penalty(enc, x, reduction="none", method="autograd")
    ref = torch.stack(
        [torch.autograd.functional.jacobian(enc, xi).pow(2).sum() for xi in x]
    )  # independent: torch's own Jacobian, one sample at a time
    torch.testing.assert_close(closed, ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(auto, ref, rtol=1e-10, atol=1e-12)
    assert closed.device.type == device
    torch.testing.assert_close(contractive_penalty(enc, x, lam=0.5), 0.5 * ref.mean())


def test_contractive_penalty_gradients_agree_between_methods():
    enc = _sigmoid_encoder()
    x = torch.randn(5, 7, dtype=torch.float64)
    grads = []
    for method in ("closed", "autograd"):
        enc.zero_grad()
        contractive_penalty(enc, x, method=method).backward()
        grads.append(enc[0].weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-9, atol=1e-12)


def test_encoder_jacobian_matches_finite_differences_for_a_deep_encoder():
    torch.manual_seed(0)
    enc = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    x = torch.randn(2, 4, dtype=torch.float64)
    J = encoder_jacobian(enc, x)
    eps = 1e-6
    for n in range(2):
        for j in range(4):
            e = torch.zeros(4, dtype=torch.float64)
            e[j] = eps
            fd = (enc(x[n] + e) - enc(x[n] - e)) / (2 * eps)
            torch.testing.assert_close(J[n, :, j], fd.detach(), rtol=1e-6, atol=1e-8)
    # a non-sigmoid encoder goes through autograd; 'closed' is refused with a clear message
    torch.testing.assert_close(contractive_penalty(enc, x), J.pow(2).sum((1, 2)).mean())
    with pytest.raises(InvalidParameterError, match="method='closed'"):
        contractive_penalty(enc, x, method="closed")


def test_contractive_penalty_leaves_mode_and_params_alone_and_checks_shapes():
    enc = _sigmoid_encoder().eval()
    before = [p.detach().clone() for p in enc.parameters()]
    contractive_penalty(enc, torch.randn(3, 7, dtype=torch.float64))
    assert not enc.training
    assert all(torch.equal(a, b) for a, b in zip(before, enc.parameters(), strict=True))
    with pytest.raises(InvalidParameterError, match="'x' argument.*in_features"):
        contractive_penalty(enc, torch.randn(3, 8, dtype=torch.float64))
    with pytest.raises(InvalidParameterError, match="'method' argument.*one of"):
        contractive_penalty(enc, torch.randn(3, 7, dtype=torch.float64), method="exact")


# ----------------------------------------------------------------------------- noise
def test_corrupt_masking_rate_gaussian_moments_and_determinism():
    x = torch.ones(200, 100)
    m = corrupt(x, "mask", 0.3, seed=1)
    assert set(torch.unique(m).tolist()) <= {0.0, 1.0}
    assert abs(float((m == 0).float().mean()) - 0.3) < 0.01  # 20,000 Bernoulli(0.3) draws
    g = corrupt(x, "gaussian", 0.5, seed=1) - x
    assert abs(float(g.mean())) < 0.01 and abs(float(g.std()) - 0.5) < 0.01
    torch.testing.assert_close(corrupt(x, "gaussian", 0.5, seed=1) - x, g)
    assert torch.equal(x, torch.ones(200, 100))  # input unchanged
    xn = np.ones((3, 4), dtype=np.float32)
    out = corrupt(xn, "gaussian", 0.1, seed=0)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    state = torch.random.get_rng_state()
    corrupt(x, "mask", 0.5, seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_corrupt_errors():
    x = torch.ones(2, 3)
    with pytest.raises(InvalidParameterError, match="'kind' argument.*one of 'gaussian', 'mask'"):
        corrupt(x, "salt", 0.1)
    with pytest.raises(InvalidParameterError, match=r"'level' argument.*in \[0, 1\]"):
        corrupt(x, "mask", 1.5)
    with pytest.raises(InvalidParameterError, match="'level' argument.*>= 0"):
        corrupt(x, "gaussian", -0.1)


# ----------------------------------------------------------------------------- geometry
def test_principal_angles_match_scipy():
    rng = np.random.default_rng(0)
    for p, q in [(3, 3), (2, 5), (6, 1)]:
        A, B = rng.standard_normal((10, p)), rng.standard_normal((10, q))
        ours = principal_angles(A, B)
        np.testing.assert_allclose(ours, np.sort(scipy.linalg.subspace_angles(A, B)), atol=1e-12)
        assert np.all(np.diff(ours) >= 0)


def test_principal_angles_tiny_angle_precision_and_tensor_io():
    A = np.eye(5)[:, :2]
    B = A.copy()
    B[4, 0] = 1e-9  # rotates one basis vector by 1e-9 rad
    ang = principal_angles(A, B)
    np.testing.assert_allclose(ang, [0.0, 1e-9], atol=1e-15, rtol=1e-6)
    t = principal_angles(torch.tensor(A), torch.tensor(B))
    assert isinstance(t, torch.Tensor)
    with pytest.raises(InvalidParameterError, match="'B' argument.*as many rows as A"):
        principal_angles(A, np.eye(4))


def test_jacobian_spectrum_of_a_linear_map_is_its_singular_values():
    torch.manual_seed(0)
    lin = nn.Linear(6, 4, dtype=torch.float64)
    s, Vh = jacobian_spectrum(lin, torch.randn(3, 6, dtype=torch.float64), return_vectors=True)
    ref = np.linalg.svd(lin.weight.detach().numpy(), compute_uv=False)
    np.testing.assert_allclose(s.numpy(), np.tile(ref, (3, 1)), rtol=1e-12)
    assert Vh.shape == (3, 4, 6) and lin.weight.grad is None


def test_intrinsic_dimension():
    assert intrinsic_dimension([3.0, 2.9, 0.01]) == 2
    np.testing.assert_array_equal(intrinsic_dimension(np.array([[1, 0.5], [1, 0.3]]), 0.4), [2, 1])
    with pytest.raises(InvalidParameterError, match="'threshold' argument"):
        intrinsic_dimension([1.0], 1.5)
    with pytest.raises(InvalidParameterError, match="non-negative"):
        intrinsic_dimension([1.0, -1.0])


@pytest.mark.parametrize("fn,k", [(embedded_circle, 1), (embedded_swiss_roll, 2)])
def test_manifold_tangents_are_derivatives(fn, k):
    """Finite differences along the manifold stay in the returned tangent space."""
    x, T = fn(400, dim=8, seed=0)
    # neighbours: the tangent space at a point contains the chord to its nearest neighbour
    d = ((x[:, None] - x[None]) ** 2).sum(-1) + np.eye(len(x)) * 1e9
    nn_idx = d.argmin(1)
    chord = x[nn_idx] - x
    chord /= np.linalg.norm(chord, axis=1, keepdims=True)
    coords = np.einsum("nkd,nd->nk", T, chord)  # the chord's tangent coordinates
    off = np.linalg.norm(chord - np.einsum("nk,nkd->nd", coords, T), axis=1)
    assert np.median(off) < 0.1
    np.testing.assert_allclose(
        np.einsum("nkd,njd->nkj", T, T), np.tile(np.eye(k), (400, 1, 1)), atol=1e-12
    )


# ----------------------------------------------------------------------------- training
def test_linear_ae_spans_the_pca_subspace():
    rng = np.random.default_rng(0)
    scales = np.array([5.0, 3.0, 2.0, 0.3, 0.2, 0.1, 0.1, 0.05])
    x = (rng.standard_normal((600, 8)) * scales) @ np.linalg.qr(rng.standard_normal((8, 8)))[0]
    x = x + 2.0  # not centred: the biases learn the mean
    ae = LinearAE(8, 3, seed=0, dtype=torch.float64)
    fit_autoencoder(ae, x, epochs=150, lr=1e-2, batch_size=100)
    pcs = PCA(3).fit(x).components_.T
    ang = principal_angles(ae.decoder.weight.detach().numpy(), pcs)
    assert np.degrees(ang.max()) < 2.0, np.degrees(ang)
    err = reconstruction_error(ae, x)
    pca = PCA(3).fit(x)
    pca_err = float(((pca.inverse_transform(pca.transform(x)) - x) ** 2).mean())
    assert err < 1.05 * pca_err + 1e-4


def test_fit_autoencoder_denoising_beats_noisy_input_and_keeps_global_rng():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((20, 2)))[0]
    x = torch.tensor(rng.standard_normal((800, 2)) @ basis.T, dtype=torch.float32)
    torch.manual_seed(0)
    ae = AE(nn.Sequential(nn.Linear(20, 8), nn.Tanh()), nn.Linear(8, 20))
    state = torch.random.get_rng_state()
    fit_autoencoder(ae, x, epochs=40, lr=1e-2, noise="gaussian", level=0.3, seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)
    noisy = corrupt(x, "gaussian", 0.3, seed=99)
    assert reconstruction_error(ae, noisy, x) < 0.5 * float(((noisy - x) ** 2).mean())


def test_sparse_penalty_makes_codes_sparser():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((400, 10)), dtype=torch.float32)
    sparsity = []
    for lam in (0.0, 0.5):
        torch.manual_seed(0)
        ae = AE(nn.Sequential(nn.Linear(10, 30), nn.ReLU()), nn.Linear(30, 10))
        fit_autoencoder(ae, x, epochs=30, lr=1e-2, penalty="sparse", lam=lam)
        with torch.no_grad():
            sparsity.append(code_sparsity(ae.encode(x)))
    assert sparsity[1] > sparsity[0] + 0.2, sparsity


def test_fit_autoencoder_errors():
    x = torch.randn(10, 4)
    with pytest.raises(InvalidParameterError, match="'penalty' argument.*one of"):
        fit_autoencoder(LinearAE(4, 2), x, penalty="l1")
    with pytest.raises(InvalidParameterError, match="'model' argument.*encoder and decoder"):
        fit_autoencoder(nn.Linear(4, 4), x, penalty="sparse", lam=0.1)
    with pytest.raises(InvalidParameterError, match="'target' argument"):
        reconstruction_error(LinearAE(4, 2), x, torch.randn(10, 5))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")
def test_training_on_cuda_matches_cpu():
    x = torch.randn(100, 6, dtype=torch.float64)
    out = []
    for dev in ("cpu", "cuda"):
        ae = LinearAE(6, 2, seed=0, dtype=torch.float64, device=dev)
        fit_autoencoder(
            ae, x.to(dev), epochs=3, lr=1e-2, noise="mask", level=0.2, penalty="sparse", lam=0.01
        )
        out.append(ae.decoder.weight.detach().cpu())
    torch.testing.assert_close(out[0], out[1], rtol=1e-6, atol=1e-8)


def test_colour_patches_luma_is_grey():
    g, c = colour_patches(6, 50, seed=0)
    assert g.shape == (50, 36) and c.shape == (50, 108) and g.dtype == np.float32
    np.testing.assert_allclose(c.reshape(50, 36, 3) @ [0.299, 0.587, 0.114], g, atol=1e-5)
    assert 0 <= c.min() and c.max() <= 1
