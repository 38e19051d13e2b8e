"""The whole test suite's wall time, as the last `make test` measured it (goal: < 30 min).

Running the suite here again would take as long as the suite itself; `make test` records its
wall time, test count and outcome in tests/artifacts/suite-time.json (tests/conftest.py), and
this row reports that record.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECORD = ROOT / "tests" / "artifacts" / "suite-time.json"
GOAL_S = 30 * 60.0


def run() -> list[dict]:
    row = {"benchmark": "make test (whole suite, wall time)", "reference": "30 min budget"}
    if not RECORD.is_file():
        return [{**row, "ours": "-", "note": "no record: run `make test` first"}]
    rec = json.loads(RECORD.read_text())
    seconds = float(rec["seconds"])
    outcome = "passed" if rec.get("exitstatus") == 0 else f"exit {rec.get('exitstatus')}"
    note = (
        f"{rec.get('tests', '?')} tests, {outcome}, {rec.get('workers')} workers, "
        f"load {rec.get('load1')} on {rec.get('cpus')} cpus, {rec.get('finished')}"
    )
    return [
        {
            **row,
            "ours": f"{seconds / 60:.1f} min",
            "ratio": f"{seconds / GOAL_S:.2f}x",
            "goal": "<= 1.00x",
            "note": note if seconds <= GOAL_S else "OVER BUDGET; " + note,
        }
    ]


if __name__ == "__main__":
    from . import print_table

    print_table(run())
