"""dlcourse.structured.mean_field: grid CRF energies and mean-field inference as convolutions.

References: energies and one update computed by explicit loops over pixels and neighbours;
the free energy against its definition E_q[E] - H(q) by enumeration of all labellings of a
tiny grid, and the bound F(q) >= -log Z (log Z by enumeration); the fixed point is a
stationary point (autograd of F under the simplex constraint). Properties: checkerboard
updates never increase F, q stays on the simplex, inputs unchanged, CPU = CUDA.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from dlcourse.structured import (
    MeanFieldCRF,
    crf_energy,
    four_neighbour_kernel,
    gaussian_kernel,
    mean_field,
    mean_field_free_energy,
    mean_field_step,
    potts_compat,
    potts_energy,
)

pytestmark = pytest.mark.timeout(120)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _unary(B=2, K=3, H=4, W=5, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(B, K, H, W, generator=g, dtype=torch.float64)


def _loop_energy(labels, unary, kernel, compat):
    B, K, H, W = unary.shape
    kh, kw = kernel.shape
    out = []
    for b in range(B):
        E = 0.0
        pixels = [(i, j) for i in range(H) for j in range(W)]
        for i, j in pixels:
            E += float(unary[b, labels[b, i, j], i, j])
        for (i, j), (a, c) in itertools.combinations(pixels, 2):
            dy, dx = a - i, c - j
            if abs(dy) <= kh // 2 and abs(dx) <= kw // 2:
                k = float(kernel[dy + kh // 2, dx + kw // 2])
                E += k * float(compat[labels[b, i, j], labels[b, a, c]])
        out.append(E)
    return torch.tensor(out, dtype=torch.float64)


def _loop_step(q, unary, kernel, compat):
    B, K, H, W = unary.shape
    kh, kw = kernel.shape
    out = torch.empty_like(q)
    for b in range(B):
        for i in range(H):
            for j in range(W):
                msg = torch.zeros(K, dtype=q.dtype)
                for a in range(H):
                    for c in range(W):
                        dy, dx = a - i, c - j
                        if abs(dy) <= kh // 2 and abs(dx) <= kw // 2:
                            msg += kernel[dy + kh // 2, dx + kw // 2] * q[b, :, a, c]
                out[b, :, i, j] = torch.softmax(-unary[b, :, i, j] - compat @ msg, dim=0)
    return out


@pytest.mark.parametrize("kernel", [four_neighbour_kernel(), gaussian_kernel(5, 1.2)])
def test_energy_matches_loops(kernel):
    unary = _unary()
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 3, (2, 4, 5), generator=g)
    compat = potts_compat(3, 0.7) + torch.tensor([[0, 0.3, 0], [0.3, 0, 0], [0, 0, 0.2]]).double()
    torch.testing.assert_close(
        crf_energy(labels, unary, kernel, compat), _loop_energy(labels, unary, kernel, compat)
    )


def test_potts_energy_counts_disagreeing_neighbours():
    labels = torch.tensor([[[0, 0, 1], [1, 1, 1]]])
    unary = torch.zeros(1, 2, 2, 3, dtype=torch.float64)
    # horizontal pairs: (0,0) (0,1)* ; (1,1) (1,1) ; vertical: 0/1* 0/1* 1/1 -> 3 disagreements
    assert float(potts_energy(labels, unary, w=2.5)) == 7.5
    unary[0, 1] = 1.0
    assert float(potts_energy(labels, unary, w=0.0)) == 4.0  # four pixels with label 1


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kernel", [four_neighbour_kernel(), gaussian_kernel(3, 0.8)])
def test_step_matches_loops(kernel, device):
    unary = _unary(B=1, H=4, W=4)
    q = torch.softmax(_unary(B=1, H=4, W=4, seed=2), dim=1)
    compat = potts_compat(3, 1.3)
    want = _loop_step(q, unary, kernel, compat)
    got = mean_field_step(q.to(device), unary.to(device), kernel.to(device), compat.to(device))
    assert got.device.type == device
    torch.testing.assert_close(got.cpu(), want)
    torch.testing.assert_close(got.sum(1).cpu(), torch.ones(1, 4, 4, dtype=torch.float64))


def _enumerate_log_z(unary, kernel, compat):
    B, K, H, W = unary.shape
    labs = torch.tensor(list(itertools.product(range(K), repeat=H * W))).reshape(-1, H, W)
    E = torch.stack(
        [crf_energy(labs, unary[b].expand(len(labs), -1, -1, -1), kernel, compat) for b in range(B)]
    )  # (B, N)
    return labs, E, torch.logsumexp(-E, dim=1)


def test_free_energy_definition_and_bound():
    unary = _unary(B=2, K=2, H=2, W=3, seed=3, scale=1.5)
    kernel, compat = four_neighbour_kernel(), potts_compat(2, 1.0)
    labs, E, log_z = _enumerate_log_z(unary, kernel, compat)
    q = torch.softmax(_unary(B=2, K=2, H=2, W=3, seed=4), dim=1)
    # E_q[E] - H(q) with q(y) = prod_u q_u(y_u), by enumeration
    onehot = torch.nn.functional.one_hot(labs, 2).permute(0, 3, 1, 2).double()  # (N, K, H, W)
    logq = torch.einsum("nkhw,bkhw->bn", onehot, q.log())
    want = (logq.exp() * (E + logq)).sum(1)
    got = mean_field_free_energy(q, unary, kernel, compat)
    torch.testing.assert_close(got, want)
    assert (got >= -log_z).all()
    # after mean field, the bound is much tighter than at a random q, and still a bound
    q_mf = mean_field(unary, kernel, compat, n_iter=50, schedule="checkerboard")
    F_mf = mean_field_free_energy(q_mf, unary, kernel, compat)
    assert (F_mf >= -log_z - 1e-12).all() and (F_mf < got).all()


def test_checkerboard_never_increases_free_energy_parallel_can():
    unary = _unary(B=4, K=3, H=12, W=12, seed=5, scale=0.5)
    kernel, compat = four_neighbour_kernel(), potts_compat(3, 2.0)  # strong coupling
    _, hist = mean_field(
        unary, kernel, compat, n_iter=15, schedule="checkerboard", return_history=True
    )
    hist = torch.stack(hist)
    assert (hist[1:] <= hist[:-1] + 1e-10).all()
    # the parallel schedule oscillates at this strength (why the chapter uses moderate w)
    _, par = mean_field(unary, kernel, compat, n_iter=15, schedule="parallel", return_history=True)
    par = torch.stack(par)
    assert (par[1:] > par[:-1] + 1e-6).any()


def test_fixed_point_is_stationary():
    unary = _unary(B=1, K=3, H=5, W=5, seed=6)
    kernel, compat = four_neighbour_kernel(), potts_compat(3, 0.8)
    q = mean_field(unary, kernel, compat, n_iter=200, schedule="checkerboard")
    torch.testing.assert_close(mean_field_step(q, unary, kernel, compat), q, atol=1e-9, rtol=0)
    # gradient of F along the simplex vanishes: dF/dq_u(l) is the same for every l
    q_ = q.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(mean_field_free_energy(q_, unary, kernel, compat).sum(), q_)
    assert float((g - g.mean(1, keepdim=True)).abs().max()) < 1e-7


def test_meanfield_crf_module_matches_functional_and_trains():
    crf = MeanFieldCRF(3, kernel_size=5, n_iter=4, sigma=1.0, w=0.5)
    unary = _unary(B=2, K=3, H=8, W=8).float()
    q = crf(unary)
    kernel = gaussian_kernel(5, 1.0, dtype=torch.float32)
    want = mean_field(unary, kernel, potts_compat(3, 0.5, dtype=torch.float32), n_iter=4)
    torch.testing.assert_close(q, want)
    assert crf(unary, n_iter=0).allclose(torch.softmax(-unary, 1))
    loss = -torch.log(q[:, 0]).mean()
    loss.backward()
    assert crf.kernel.grad is not None and crf.compat.grad.abs().sum() > 0
    assert crf.kernel.grad[2, 2] == 0  # the masked centre gets no gradient


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")
def test_module_on_cuda_matches_cpu():
    crf = MeanFieldCRF(3, kernel_size=3, n_iter=3)
    unary = _unary().float()
    want = crf(unary)
    got = crf.to("cuda")(unary.cuda())
    torch.testing.assert_close(got.cpu(), want, rtol=1e-5, atol=1e-6)


def test_inputs_not_mutated():
    unary = _unary()
    q = torch.softmax(unary, 1)
    kernel, compat = four_neighbour_kernel(), potts_compat(3)
    copies = [t.clone() for t in (q, unary, kernel, compat)]
    mean_field_step(q, unary, kernel, compat)
    mean_field(unary, kernel, compat, n_iter=3, schedule="checkerboard", q0=q)
    for a, b in zip((q, unary, kernel, compat), copies, strict=True):
        assert torch.equal(a, b)


def test_errors_name_the_arguments():
    unary = _unary()
    k, mu = four_neighbour_kernel(), potts_compat(3)
    with pytest.raises(ValueError, match="'compat' argument of mean_field_step.*\\(3, 3\\)"):
        mean_field_step(torch.softmax(unary, 1), unary, k, potts_compat(2))
    with pytest.raises(ValueError, match="'q' argument of mean_field_step.*shape of 'unary'"):
        mean_field_step(torch.zeros(2, 3, 4, 4), unary, k, mu)
    with pytest.raises(ValueError, match="'kernel' argument.*odd shape"):
        mean_field_step(torch.softmax(unary, 1), unary, torch.ones(2, 2), mu)
    with pytest.raises(ValueError, match="'unary' argument.*\\(B, K, H, W\\)"):
        mean_field(torch.zeros(3, 4, 5), k, mu)
    with pytest.raises(ValueError, match="'labels' argument of potts_energy.*\\(2, 4, 5\\)"):
        potts_energy(torch.zeros(2, 4, 4, dtype=torch.long), unary, 1.0)
    with pytest.raises(ValueError, match="'labels' argument.*labels in 0 .. 2"):
        potts_energy(torch.full((2, 4, 5), 3), unary, 1.0)
    with pytest.raises(ValueError, match="zero at every even offset"):
        mean_field(unary, gaussian_kernel(3, 1.0), mu, schedule="checkerboard")
    with pytest.raises(ValueError, match="'schedule' argument"):
        mean_field(unary, k, mu, schedule="async")
    with pytest.raises(ValueError, match="'kernel_size' argument.*odd"):
        gaussian_kernel(4, 1.0)
    with pytest.raises(ValueError, match="'unary' argument of MeanFieldCRF.forward.*K = 2"):
        MeanFieldCRF(2)(unary)
