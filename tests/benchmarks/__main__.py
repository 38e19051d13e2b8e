"""`python -m tests.benchmarks`: run every benchmark module and print one table."""

from __future__ import annotations

import importlib
import platform
import sys
import time

from . import print_table

MODULES = [
    "bench_autograd",
    "bench_notebooks",
    "bench_grading",
    "bench_grading_scale",
    "bench_gnn",
    "bench_cnn",
    "bench_sparse",
    "bench_ebm",
    "bench_attacks",
    "bench_regions",
    "bench_random_nets",
    "bench_structured",
    "bench_interpret",
    "bench_autoencoders",
    "bench_forests",
    "bench_embed",
    "bench_generative",
    "bench_suite",
]


def main() -> int:
    import numpy as np
    import torch

    print(
        f"# dlcourse benchmarks on {platform.machine()}, {platform.processor() or 'cpu'}; "
        f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
        f"torch threads {torch.get_num_threads()}"
    )
    rows = []
    for name in MODULES:
        module = importlib.import_module(f"{__package__}.{name}")
        print(f"running {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        new = module.run()
        rows.extend(new)
        # each module's rows as soon as they are measured: a run stopped part-way keeps them
        print(f"{name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        print_table(new, file=sys.stderr)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
