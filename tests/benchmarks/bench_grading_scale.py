"""A class graded by two grader processes sharing one PostgreSQL gradebook, one killed mid-run.

``BENCH_SCALE_N`` synthetic submissions of ``training`` (500 by default): solutions, blank
releases and half-done notebooks in turn, and one in ten hostile (the solution with
``os._exit(3)`` at the top of the last task's answer cell: its process dies and is restarted).
Two ``autograde --jobs 1`` processes (as two machines would run it) share a throwaway
PostgreSQL server (``tests/postgres.py``); once a quarter of the class is graded, grader A is
killed (SIGKILL, whatever it holds) and started again, as a replaced machine would be.

Reported: throughput, that every submission was graded exactly once with the score its kind
is owed, and the projected wall time for 1,000 students on 1, 4 and 16 such machines from the
measured per-submission cost (the gradebook is not the bottleneck at that scale: each
submission costs the database a few short transactions).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ASSIGNMENT = "training"
N = int(os.environ.get("BENCH_SCALE_N", "500"))
KINDS = ("solution", "blank", "half")
HOSTILE = "import os\n\nos._exit(3)\n"


def _kind(k: int) -> str:
    return "hostile" if k % 10 == 9 else KINDS[k % 3]


def _make_course(base: Path, db_url: str) -> Path:
    import copy

    import nbformat

    from dlcourse_grader.course import Course

    from ..nbtasks import copy_course

    course = base / "course"
    copy_course(course)
    Course(course, db_url=db_url).release(ASSIGNMENT)
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    answers = [
        i for i, c in enumerate(source.cells) if c.metadata.get("nbgrader", {}).get("solution")
    ]
    half = copy.deepcopy(release)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): j for j, c in enumerate(half.cells)}
    for i in answers[: len(answers) // 2]:
        half.cells[by_id[source.cells[i].metadata["nbgrader"]["grade_id"]]] = source.cells[i]
    hostile = copy.deepcopy(source)
    last = [i for i in answers if source.cells[i].cell_type == "code"][-1]
    hostile.cells[last].source = HOSTILE + hostile.cells[last].source
    notebooks = {"solution": source, "blank": release, "half": half, "hostile": hostile}
    for k in range(N):
        folder = course / "submitted" / f"student{k:04d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebooks[_kind(k)], folder / f"{ASSIGNMENT}.ipynb")
    return course


def _grader(course: Path, db_url: str, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "dlcourse_grader", "--course", str(course), "--db-url", db_url]
    cmd += ["autograde", ASSIGNMENT, "--jobs", "1", "--lease", "20"]
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


def _graded(ledger) -> int:
    return sum(r["status"] == "graded" for r in ledger.rows(ASSIGNMENT))


def _grade_class(course: Path, db_url: str, logs: Path) -> dict:
    from dlcourse_grader.course import Course

    ledger = Course(course, db_url=db_url).ledger()
    start = time.perf_counter()
    a = _grader(course, db_url, logs / "a.log")
    b = _grader(course, db_url, logs / "b.log")
    killed_at = None
    try:
        while _graded(ledger) < N // 4:
            if b.poll() is not None or a.poll() is not None:
                break
            time.sleep(0.5)
        a.send_signal(signal.SIGKILL)  # a machine lost mid-run, with what it holds
        a.wait(60)
        killed_at = time.perf_counter() - start
        a = _grader(course, db_url, logs / "a.log")  # its replacement
        for p in (a, b):
            p.wait(timeout=4 * 3600)
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.kill()
    wall = time.perf_counter() - start
    rows = ledger.rows(ASSIGNMENT)
    finishes: dict[str, int] = {}
    for entry in ledger.log(ASSIGNMENT):
        finishes[entry["student"]] = finishes.get(entry["student"], 0) + 1
    scores: dict[str, set] = {}
    for r in rows:
        scores.setdefault(_kind(int(r["student"].removeprefix("student"))), set()).add(r["score"])
    elapsed = [json.loads(r["detail"] or "{}").get("elapsed") or 0.0 for r in rows]
    return {
        "wall": wall,
        "killed_at": killed_at,
        "graded": sum(r["status"] == "graded" for r in rows),
        "once": len(finishes) == N and all(v == 1 for v in finishes.values()),
        "taken_over": sum(r["attempt"] >= 2 for r in rows),
        "scores": scores,
        "cost": sum(elapsed) / max(len(elapsed), 1),  # seconds of one grading job per submission
    }


def run() -> list[dict]:
    try:
        from ..postgres import _Server, _server_bindir

        bindir = _server_bindir()
    except BaseException as exc:  # noqa: BLE001 - pytest's skip outside pytest: say why
        return [{"benchmark": f"grading at scale: {N} submissions, 2 graders, PostgreSQL",
                 "note": f"not run: {exc}"}]  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="dlcourse-bench-pg-"))
    server = _Server(bindir, root)
    try:
        server.start()
        db_url = server.createdb("dlcourse_bench")
        with tempfile.TemporaryDirectory() as tmp:
            course = _make_course(Path(tmp), db_url)
            out = _grade_class(course, db_url, Path(tmp))
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
    per_min = 60 * N / out["wall"]
    kinds_ok = all(len(v) == 1 for v in out["scores"].values())
    by_kind = "; ".join(
        f"{k} {'/'.join(str(x) for x in sorted(v, key=str))}" for k, v in out["scores"].items()
    )
    projected = ", ".join(f"{m} machine(s) {1000 / (per_min * m):.1f} min" for m in (1, 4, 16))
    return [
        {
            "benchmark": f"grading at scale: {N} submissions, 2 graders sharing PostgreSQL, "
            "one killed at 25% and restarted",
            "ours": f"{per_min:.1f}/min",
            "reference": f"{out['graded']}/{N} graded",
            "ratio": "exactly once" if out["once"] else "NOT exactly once",
            "goal": "every submission graded exactly once, the score its kind is owed",
            "note": (
                f"wall {out['wall']:.0f} s (kill at {out['killed_at']:.0f} s, "
                f"{out['taken_over']} taken over); one score per kind: {kinds_ok} ({by_kind}); "
                f"{out['cost']:.2f} s per submission per job; 1,000 students: {projected}"
            ),
        }
    ]


if __name__ == "__main__":
    from . import print_table

    print_table(run())
