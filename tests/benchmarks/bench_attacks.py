"""Benchmark: dlcourse.attacks side by side with the torchattacks library on one trained LeNet.

One ``LeNet(backend="torch")`` is trained (seeded, 5 epochs, the schedule of the convolutions
chapter) on the MNIST-5k training split; every attack runs on the same first 1,000 test
images, with one torch thread:

* FGSM and PGD (L-inf, eps = 0.1, 0.2, 0.3; alpha = 0.01; 40 steps; random start): success
  rate (fraction of the images misclassified after the attack) ours vs the peer's (goal:
  within 1 percentage point; the random starts differ) and time (goal: ours <= 1.2x the
  peer's). The two run
  interleaved, rounds alternating which goes first; the time is the best round.
* PGD with ``random_start=False``: the largest absolute difference between our images and
  the peer's on the first ``N_EXACT`` images (goal: float precision).
* DeepFool (overshoot 0.02, 50 steps): success rate and median L2 norm of the perturbation.
  The peer's DeepFool loops over images in Python (about half a second per digit), so both
  run on the first ``DEEPFOOL_PEER`` images; ours also on all 1,000. A failed attack counts
  as an infinite distance in the median (no adversarial example was found); the median over
  the images both attacks fool is reported too.

``torchattacks`` is installed for benchmarks only (``pip install torchattacks --no-deps``);
without it the rows say so. Run ``python -m tests.benchmarks.bench_attacks`` for a table;
``run()`` returns the rows.
"""

from __future__ import annotations

import time

import numpy as np

from . import best_interleaved

N_IMAGES = 1000
EPSILONS = (0.1, 0.2, 0.3)
ALPHA, STEPS = 0.01, 40
ROUNDS = 2
N_EXACT = 250  # images for the random_start=False comparison
DEEPFOOL_PEER = 100
LENET = {"epochs": 5, "lr": 2e-3, "batch_size": 32, "seed": 0}


def _fooled(model, x_adv, y):
    import torch

    with torch.no_grad():
        return model(x_adv).argmax(1) != y


def _lenet(split):
    import torch

    from dlcourse.cnn import LeNet
    from dlcourse.trainer import evaluate, train

    torch.manual_seed(0)
    model = LeNet(backend="torch")
    xtr, ytr = torch.as_tensor(split.x_train), torch.as_tensor(split.y_train)
    train(model, (xtr, ytr), progress=False, **LENET)
    model.eval()
    x = torch.as_tensor(split.x_test[:N_IMAGES])
    y = torch.as_tensor(split.y_test[:N_IMAGES])
    return model, x, y, evaluate(model, x, y)


def _gradient_rows(ta, model, x, y, clean: float) -> list[dict]:
    import torch

    from dlcourse.attacks import FGSM, PGD

    rows = []
    note = f"LeNet clean acc {clean:.3f} on {len(y)} MNIST-5k test images; torch threads 1"
    for eps in EPSILONS:
        for name in ("FGSM", f"PGD alpha={ALPHA} {STEPS} steps"):
            if name == "FGSM":
                ours_atk, peer_atk = FGSM(model, eps=eps), ta.FGSM(model, eps=eps)
            else:
                # different random starts (torch.Generator().manual_seed(0) would repeat
                # the peer's global stream seeded 0, making the two runs identical)
                ours_atk = PGD(model, eps=eps, alpha=ALPHA, steps=STEPS, seed=1)
                torch.manual_seed(0)
                peer_atk = ta.PGD(model, eps=eps, alpha=ALPHA, steps=STEPS, random_start=True)
            t_ours, t_peer, x_ours, x_peer = best_interleaved(
                lambda a=ours_atk: a(x, y), lambda a=peer_atk: a(x, y), rounds=ROUNDS
            )
            s_ours = _fooled(model, x_ours, y).float().mean().item()
            s_peer = _fooled(model, x_peer, y).float().mean().item()
            rows.append(
                {
                    "benchmark": f"{name}, eps={eps}: success rate",
                    "ours": f"{s_ours:.3f}",
                    "reference": f"{s_peer:.3f} (torchattacks)",
                    "ratio": f"{100 * (s_ours - s_peer):+.1f} pp",
                    "goal": "within 1 pp",
                    "note": note,
                }
            )
            rows.append(
                {
                    "benchmark": f"{name}, eps={eps}: time",
                    "ours": f"{t_ours * 1e3:.0f} ms",
                    "reference": f"{t_peer * 1e3:.0f} ms (torchattacks)",
                    "ratio": f"{t_ours / t_peer:.2f}x",
                    "goal": "<= 1.2x",
                    "note": f"best of {ROUNDS} interleaved rounds; torch threads 1",
                }
            )
    # without the random start both must produce the same images
    diff = 0.0
    xe, ye = x[:N_EXACT], y[:N_EXACT]
    for eps in EPSILONS:
        ours = PGD(model, eps=eps, alpha=ALPHA, steps=STEPS, random_start=False)(xe, ye)
        peer = ta.PGD(model, eps=eps, alpha=ALPHA, steps=STEPS, random_start=False)(xe, ye)
        diff = max(diff, float((ours - peer).abs().max()))
    rows.append(
        {
            "benchmark": "PGD random_start=False: max |ours - peer| pixel",
            "ours": f"{diff:.1e}",
            "reference": "0 (torchattacks)",
            "ratio": "",
            "goal": "<= 1e-6",
            "note": f"eps in {EPSILONS}, first {len(ye)} images, {STEPS} steps",
        }
    )
    return rows


def _deepfool_rows(ta, model, x, y) -> list[dict]:
    import torch

    from dlcourse.attacks import DeepFool

    with torch.no_grad():
        label = model(x).argmax(1)  # DeepFool moves away from the model's own answer

    def stats(x_adv, x_clean, lab):
        fooled = _fooled(model, x_adv, lab)
        dist = (x_adv - x_clean).flatten(1).norm(dim=1)
        return fooled, dist, torch.where(fooled, dist, torch.inf).median().item()

    rows = []
    t0 = time.perf_counter()
    x_all = DeepFool(model, overshoot=0.02, steps=50)(x)
    t_all = time.perf_counter() - t0
    fooled_all, _, med_all = stats(x_all, x, label)

    n = DEEPFOOL_PEER
    xs, ls = x[:n], label[:n]
    t0 = time.perf_counter()
    x_ours = DeepFool(model, overshoot=0.02, steps=50)(xs)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    x_peer = ta.DeepFool(model, steps=50, overshoot=0.02)(xs, ls)
    t_peer = time.perf_counter() - t0
    for p in model.parameters():  # the peer's backward passes leave gradients behind
        p.grad = None
    f_ours, d_ours, med_ours = stats(x_ours, xs, ls)
    f_peer, d_peer, med_peer = stats(x_peer, xs, ls)
    both = f_ours & f_peer
    rows.append(
        {
            "benchmark": f"DeepFool success rate ({n} images)",
            "ours": f"{f_ours.float().mean().item():.3f}",
            "reference": f"{f_peer.float().mean().item():.3f} (torchattacks)",
            "ratio": f"{100 * (f_ours.float().mean() - f_peer.float().mean()).item():+.1f} pp",
            "goal": "~1.0, >= peer",
            "note": f"ours on all {len(y)}: {fooled_all.float().mean().item():.3f}",
        }
    )
    rows.append(
        {
            "benchmark": f"DeepFool median L2, failures = inf ({n} images)",
            "ours": f"{med_ours:.3f}",
            "reference": f"{med_peer:.3f} (torchattacks)",
            "ratio": f"{med_ours / med_peer:.2f}x" if np.isfinite(med_peer) else "",
            "goal": "<= peer",
            "note": f"ours on all {len(y)}: {med_all:.3f}",
        }
    )
    rows.append(
        {
            "benchmark": f"DeepFool median L2 where both fool ({int(both.sum())} images)",
            "ours": f"{d_ours[both].median().item():.3f}",
            "reference": f"{d_peer[both].median().item():.3f} (torchattacks)",
            "ratio": f"{(d_ours[both].median() / d_peer[both].median()).item():.2f}x",
            "goal": "info",
            "note": "the peer clamps every step; ours drops saturated pixels from the step",
        }
    )
    rows.append(
        {
            "benchmark": f"DeepFool time ({n} images)",
            "ours": f"{t_ours * 1e3:.0f} ms",
            "reference": f"{t_peer * 1e3:.0f} ms (torchattacks)",
            "ratio": f"{t_ours / t_peer:.3f}x",
            "goal": "info",
            "note": f"batched vs one image at a time; ours on all {len(y)}: {t_all:.1f} s",
        }
    )
    return rows


def run() -> list[dict]:
    """Train the LeNet, run the attacks; return one row per figure (formatted strings)."""
    import torch

    from dlcourse.data import load_mnist5k

    try:
        import torchattacks as ta
    except ImportError:
        return [
            {
                "benchmark": "attacks vs torchattacks",
                "ours": "",
                "reference": "not installed",
                "ratio": "",
                "goal": "",
                "note": "pip install torchattacks --no-deps (see DESIGN.md, Known facts)",
            }
        ]
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, x, y, clean = _lenet(load_mnist5k(flatten=False))
        return _gradient_rows(ta, model, x, y, clean) + _deepfool_rows(ta, model, x, y)
    finally:
        torch.set_num_threads(n_threads)


if __name__ == "__main__":
    from . import print_table

    print_table(run())
