"""Benchmarks: figures measured side by side in one run (`make bench` prints the table)."""

from __future__ import annotations

import sys
import time

COLUMNS = ["benchmark", "ours", "reference", "ratio", "goal", "note"]


def print_table(rows: list[dict], file=None) -> None:
    """Print rows (dicts with the keys in COLUMNS) as an aligned Markdown table to ``file``
    (standard output by default)."""
    file = file or sys.stdout
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in COLUMNS}
    line = "| " + " | ".join(c.ljust(widths[c]) for c in COLUMNS) + " |"
    print(line, file=file)
    print("|" + "|".join("-" * (widths[c] + 2) for c in COLUMNS) + "|", file=file)
    for r in rows:
        cells = " | ".join(str(r.get(c, "")).ljust(widths[c]) for c in COLUMNS)
        print("| " + cells + " |", file=file, flush=True)


def best_of(fn, rounds: int) -> tuple[float, object]:
    """The smallest wall time of ``rounds`` calls of ``fn``, and the value of the last call."""
    best, out = float("inf"), None
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def best_interleaved(ours, theirs, *, rounds: int, reps: int = 1, warmup: int = 0):
    """Time two functions side by side: best (smallest) mean seconds per call over ``rounds``.

    After ``warmup`` calls of each, every round times ``reps`` calls of both, the order
    alternating from round to round (so that neither always runs second, on warm caches).
    Returns ``(t_ours, t_theirs, out_ours, out_theirs)``: the two times and the last value each
    function returned.
    """
    for _ in range(warmup):
        ours()
        theirs()
    best = {"ours": float("inf"), "theirs": float("inf")}
    out = {}
    for r in range(rounds):
        order = [("ours", ours), ("theirs", theirs)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            for _ in range(reps):
                out[name] = fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / reps)
    return best["ours"], best["theirs"], out["ours"], out["theirs"]
