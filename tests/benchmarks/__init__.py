"""Benchmarks: figures measured side by side in one run (`make bench` prints the table)."""

from __future__ import annotations

COLUMNS = ["benchmark", "ours", "reference", "ratio", "goal", "note"]


def print_table(rows: list[dict]) -> None:
    """Print rows (dicts with the keys in COLUMNS) as an aligned Markdown table."""
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in COLUMNS}
    line = "| " + " | ".join(c.ljust(widths[c]) for c in COLUMNS) + " |"
    print(line)
    print("|" + "|".join("-" * (widths[c] + 2) for c in COLUMNS) + "|")
    for r in rows:
        print("| " + " | ".join(str(r.get(c, "")).ljust(widths[c]) for c in COLUMNS) + " |")
