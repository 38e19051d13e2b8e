"""Benchmark: dlcourse.cnn's from-scratch convolution and the networks of the chapter.

* ``conv2d`` (im2col + one batched matrix product, custom backward) against
  ``torch.nn.functional.conv2d``, forward + backward, on LeNet's two layer shapes and on
  the 3 x 3 layers of the residual-vs-plain experiment, with one thread and with all of
  torch's threads. Both run side by side in one process, interleaved (rounds alternate
  which goes first), after a warm-up; the figure is the best round (the least disturbed by
  other work on the machine). A second row per shape times the previous implementation
  (``_conv2d_autograd``, autograd through im2col + addmm) against F.conv2d the same way.
* LeNet trained on the offline MNIST-5k: test accuracy and training time with our layers,
  against the same network and schedule on torch's layers (one thread).
* The residual-vs-plain experiment: final training loss of ``deep_net`` at equal depth,
  residual vs plain, same data, schedule and seed (one thread).

Run ``python -m tests.benchmarks.bench_cnn`` for a table; ``run()`` returns the rows.
"""

from __future__ import annotations

import time

from . import best_interleaved

CONV_ROUNDS, CONV_STEPS = 15, 10

# the configurations the book uses (book/convolutions.ipynb reads the same numbers)
LENET = {"epochs": 8, "lr": 2e-3, "batch_size": 32}
DEPTH = {
    "n_blocks": 20,
    "channels": 8,
    "downsample": 2,
    "epochs": 2,
    "lr": 3e-3,
    "backend": "torch",
}


def _conv_rows(x_shape, w_shape, padding: int, label: str, goal: str, threads: str) -> list:
    """Ours vs F.conv2d, and the previous implementation vs F.conv2d, forward + backward.

    Two interleaved comparisons in a row (each pair alternates who goes first), so that each
    ratio compares figures measured side by side; the previous implementation
    (``dlcourse.cnn.conv._conv2d_autograd``: im2col + addmm differentiated by autograd, the
    conv2d before issue 29) is the second row.
    """
    import torch
    import torch.nn.functional as F

    from dlcourse.cnn import conv2d
    from dlcourse.cnn.conv import _conv2d_autograd

    torch.manual_seed(0)
    x = torch.randn(*x_shape, requires_grad=True)
    w = torch.randn(*w_shape, requires_grad=True)
    b = torch.randn(w_shape[0], requires_grad=True)
    g = torch.randn_like(F.conv2d(x, w, b, padding=padding))
    ref_out = F.conv2d(x, w, b, padding=padding)
    ref_grads = torch.autograd.grad(ref_out, (x, w, b), g)
    for fn in (conv2d, _conv2d_autograd):  # same values and gradients before timing
        out = fn(x, w, b, padding=padding)
        assert torch.allclose(out, ref_out, rtol=1e-4, atol=1e-4)
        for got, want in zip(torch.autograd.grad(out, (x, w, b), g), ref_grads, strict=True):
            assert torch.allclose(got, want, rtol=1e-4, atol=1e-3)

    def step(fn):
        def run_once():
            x.grad = w.grad = b.grad = None
            fn(x, w, b, padding=padding).backward(g)

        return run_once

    rows = []
    for name, fn, row_goal in (
        ("", conv2d, goal),
        (" (previous implementation)", _conv2d_autograd, "info"),
    ):
        t_ours, t_ref, *_ = best_interleaved(
            step(fn), step(F.conv2d), rounds=CONV_ROUNDS, reps=CONV_STEPS, warmup=3
        )
        rows.append(
            {
                "benchmark": f"conv2d fwd+bwd, {label}{name}",
                "ours": f"{t_ours * 1e3:.2f} ms",
                "reference": f"{t_ref * 1e3:.2f} ms (F.conv2d)",
                "ratio": f"{t_ours / t_ref:.2f}x",
                "goal": row_goal,
                "note": f"x {tuple(x_shape)}, w {tuple(w_shape)}, float32; best of "
                f"{CONV_ROUNDS} interleaved rounds of {CONV_STEPS}; {threads}",
            }
        )
    return rows


def _train(model, split, **kwargs):
    from dlcourse.cnn import evaluate, train

    cpu0 = time.process_time()
    history = train(model, (split.x_train, split.y_train), progress=False, **kwargs)
    cpu = time.process_time() - cpu0
    return history, cpu, evaluate(model, split.x_test, split.y_test)


def _lenet_rows(split, threads: str) -> list[dict]:
    from dlcourse.cnn import LeNet
    from dlcourse.utils import seed_everything

    results = {}
    for backend in ("dlcourse", "torch"):
        seed_everything(0)
        results[backend] = _train(LeNet(backend=backend), split, **LENET)
    (h, cpu, acc), (h_ref, cpu_ref, acc_ref) = results["dlcourse"], results["torch"]
    schedule = f"{LENET['epochs']} epochs, Adam lr {LENET['lr']}, batch {LENET['batch_size']}"
    return [
        {
            "benchmark": "LeNet test accuracy on MNIST-5k (4,000 train / 1,000 test)",
            "ours": f"{acc:.1%}",
            "reference": f"{acc_ref:.1%} (torch layers)",
            "ratio": f"{acc / acc_ref:.3f}",
            "goal": ">= 95%",
            "note": f"{schedule}; seed 0",
        },
        {
            "benchmark": "LeNet training time on MNIST-5k",
            "ours": f"{h.seconds:.1f} s ({cpu:.1f} s CPU)",
            "reference": f"{h_ref.seconds:.1f} s ({cpu_ref:.1f} s CPU) (torch layers)",
            "ratio": f"{h.seconds / h_ref.seconds:.2f}x",
            "goal": "info",
            "note": f"{schedule}; wall clock of dlcourse.trainer.train; {threads}",
        },
    ]


def _depth_row(split, threads: str) -> dict:
    from dlcourse.cnn import deep_net
    from dlcourse.utils import seed_everything

    cfg = dict(DEPTH)
    epochs, lr = cfg.pop("epochs"), cfg.pop("lr")  # the architecture is what is compared:
    # torch's layers (cfg["backend"]) make the same network twice as cheap as ours
    out = {}
    for residual in (True, False):
        seed_everything(0)
        net = deep_net(residual=residual, **cfg)
        out[residual] = _train(net, split, epochs=epochs, lr=lr)
    (h_res, cpu_res, acc_res), (h_plain, cpu_plain, acc_plain) = out[True], out[False]
    depth = 2 * cfg["n_blocks"] + 2
    return {
        "benchmark": f"residual vs plain, {depth} weight layers: final training loss",
        "ours": f"{h_res.loss[-1]:.3f} (residual; test acc {acc_res:.1%})",
        "reference": f"{h_plain.loss[-1]:.3f} (plain; test acc {acc_plain:.1%})",
        "ratio": f"{h_res.loss[-1] / h_plain.loss[-1]:.2f}",
        "goal": "residual < plain",
        "note": f"deep_net({cfg['n_blocks']} blocks, {cfg['channels']} channels, 14x14 input, "
        f"BN, {cfg['backend']} layers), {epochs} epochs Adam lr {lr}; "
        f"{h_res.seconds + h_plain.seconds:.0f} s for both "
        f"({cpu_res + cpu_plain:.0f} s CPU); {threads}",
    }


def run() -> list[dict]:
    """Time the benchmarks; return one row per benchmark (all values formatted strings)."""
    import torch

    from dlcourse.data import load_mnist5k

    n_threads = torch.get_num_threads()
    rows = []
    # one thread (as the grader runs student code) and all of torch's threads
    for n in sorted({1, n_threads}):
        torch.set_num_threads(n)
        label = f"torch threads {n}"
        rows += _conv_rows((64, 1, 28, 28), (6, 1, 5, 5), 0, "LeNet conv1", "<= 3x", label)
        rows += _conv_rows((64, 6, 12, 12), (16, 6, 5, 5), 0, "LeNet conv2", "<= 2x", label)
        rows += _conv_rows((64, 8, 14, 14), (8, 8, 3, 3), 1, "3x3 block conv", "<= 2x", label)
    # training: one thread, the reproducible figure on a shared machine (with several
    # threads every small operation may wait for a descheduled thread)
    torch.set_num_threads(1)
    try:
        split = load_mnist5k(flatten=False)
        rows += _lenet_rows(split, "torch threads 1")
        rows.append(_depth_row(split, "torch threads 1"))
    finally:
        torch.set_num_threads(n_threads)
    return rows


if __name__ == "__main__":
    from . import print_table

    print_table(run())
