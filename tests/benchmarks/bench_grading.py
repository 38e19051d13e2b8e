"""Submissions graded per minute: plain ``nbgrader autograde`` vs ours (``--jobs 1`` and 2).

The same synthetic class (solutions, blank releases and half-done notebooks of the ``training``
assignment, ``BENCH_GRADING_N`` submissions, 40 by default) is graded in one run, each time on a
fresh copy of the course: once by plain nbgrader (one submission at a time: it has no parallel
mode), then by ours with ``--jobs 1`` and ``--jobs 2`` in isolated mode (the assignment's own)
and ``--jobs 1`` in compatible mode (every cell in the student's process, as nbgrader runs it),
and ``--jobs 1`` with method calls sent as two messages (``DLCOURSE_WIRE_FUSE=0``, as before
they were fused), alternating, twice each. Goals: isolated ``--jobs 1`` at least 2.5x plain
nbgrader's throughput and not slower than unfused, two jobs on two cores >= 1.8x one (beside the
machine's own ceiling: two pure-Python processes against one); compatible mode's cost is
reported, and the pipe round trips per submission.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import tempfile
import time
from pathlib import Path

ASSIGNMENT = "training"
N = int(os.environ.get("BENCH_GRADING_N", "40"))


def _make_course(base: Path) -> Path:
    import nbformat

    from dlcourse_grader.course import Course

    from ..nbtasks import copy_course

    course = base / "course"
    copy_course(course)
    Course(course).release(ASSIGNMENT)
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    half = copy.deepcopy(release)
    answers = [
        i for i, c in enumerate(source.cells) if c.metadata.get("nbgrader", {}).get("solution")
    ]
    for i in answers[: len(answers) // 2]:
        gid = source.cells[i].metadata["nbgrader"]["grade_id"]
        for j, c in enumerate(half.cells):
            if c.metadata.get("nbgrader", {}).get("grade_id") == gid:
                half.cells[j] = copy.deepcopy(source.cells[i])
    kinds = [release, half, source]
    for k in range(N):
        folder = course / "submitted" / f"student{k:03d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(kinds[k % 3], folder / f"{ASSIGNMENT}.ipynb")
    return course


def _plain_nbgrader(course: Path) -> float:
    from dlcourse_grader.course import Course
    from dlcourse_grader.grader import AutogradeRun

    api = Course(course)._api()
    api.log.setLevel(logging.ERROR)
    # Our course config makes nbgrader's own autograde refuse (it would run student code outside
    # the sandbox): the reference is nbgrader as a course without that guard runs it.
    api.config.Autograde.pre_convert_hook = None
    # Its kernels talk over IPC, as ours do: over TCP each start prints a warning (dozens in
    # `make bench`), and IPC is if anything faster, which can only lower our ratio.
    api.config.KernelManager.transport = "ipc"
    api.config.KernelManager.ip = tempfile.mkdtemp(prefix="kernel-", dir=course) + "/k"  # absolute
    AutogradeRun.quiet_gradebook()  # nbgrader's harmless SQLAlchemy warnings, as in ours
    start = time.perf_counter()
    for student in sorted(os.listdir(course / "submitted")):
        result = api.autograde(ASSIGNMENT, student, force=True, create=True)
        if not result.get("success"):  # a refusal or a crash is not a fast grader
            why = result.get("error") or result.get("log")
            raise RuntimeError(f"plain nbgrader did not grade {student}: {why}")
    return time.perf_counter() - start


def _ours(course: Path, jobs: int, mode: str = "isolated", fuse: bool = True) -> tuple[float, str]:
    from dlcourse_grader.course import Course
    from dlcourse_grader.sandbox import Sandbox

    tool = Course(course)
    os.environ["DLCOURSE_WIRE_FUSE"] = "1" if fuse else "0"  # read by the test processes
    try:
        start = time.perf_counter()
        results = tool.autograde(ASSIGNMENT, jobs=jobs, mode=mode)
        seconds = time.perf_counter() - start
    finally:
        os.environ.pop("DLCOURSE_WIRE_FUSE", None)
    assert len(results) == N and all(r.status == "graded" for r in results), results
    return seconds, Sandbox.detect("auto").mode


def round_trips(course: Path) -> dict[str, int]:
    """Pipe round trips between the test and the student process, per kind of submission
    (the ledger keeps each submission's count in its details)."""
    from dlcourse_grader.course import Course
    from dlcourse_grader.ledger import Ledger

    kinds = ("blank", "half", "solution")  # as _make_course cycles them
    with Ledger(Course(course).db_url) as ledger:
        per_kind: dict[str, list[int]] = {k: [] for k in kinds}
        for row in ledger.rows(ASSIGNMENT):
            k = int(row["student"].removeprefix("student"))
            per_kind[kinds[k % 3]].append(int(json.loads(row["detail"])["round_trips"]))
    return {k: max(v) for k, v in per_kind.items() if v}


def _spin(n: int) -> float:
    """Pure-Python work (what a grading job mostly does); returns its CPU seconds."""
    start = time.process_time()
    total = 0
    for i in range(n):
        total += i * i % 7
    return time.process_time() - start


def machine_scaling(n: int = 6_000_000, rounds: int = 3) -> float:
    """Throughput of two processes doing pure-Python work at once over one doing it alone (the
    machine's own ceiling for ``--jobs 2``): 2.0 on two idle, independent cores."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    alone = both = float("inf")
    with ctx.Pool(2) as pool:
        pool.map(_spin, [n // 10] * 2)  # both workers started and warm
        for _ in range(rounds):
            # the best time of each, as for the grading runs (the best ratio of one round
            # would pick the round whose lone run was slowed, and can exceed 2)
            start = time.perf_counter()
            pool.apply(_spin, (n,))
            alone = min(alone, time.perf_counter() - start)
            start = time.perf_counter()
            pool.map(_spin, [n, n], chunksize=1)
            both = min(both, time.perf_counter() - start)
    return 2 * alone / both


REPEATS = 2  # our runs alternate (1, 2, 1, 2) and the best of each counts: a shared VM is noisy


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        plain = _plain_nbgrader(_make_course(tmp / "plain"))
        runs = {
            "one": (1, "isolated", True),
            "two": (2, "isolated", True),
            "compatible": (1, "compatible", True),
            "unfused": (1, "isolated", False),  # as before method calls were one message
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        trips = {}
        for k in range(REPEATS):
            for name, (jobs, how, fuse) in runs.items():
                course = _make_course(tmp / f"{name}-{k}")
                seconds, mode = _ours(course, jobs, how, fuse)
                times[name].append(seconds)
                if name in ("one", "unfused"):
                    trips[name] = round_trips(course)
        one, two, compat = min(times["one"]), min(times["two"]), min(times["compatible"])
        unfused = min(times["unfused"])
    ceiling = machine_scaling()
    per_min = {
        name: 60 * N / s
        for name, s in [("plain", plain), ("one", one), ("two", two), ("compatible", compat)]
    }
    return [
        {
            "benchmark": f"grading: {N} subs/min, isolated --jobs 1 vs plain nbgrader",
            "ours": f"{per_min['one']:.1f}/min",
            "reference": f"{per_min['plain']:.1f}/min",
            "ratio": f"{plain / one:.2f}",
            "goal": ">= 2.5x faster",
            "note": f"sandbox {mode}",
        },
        {
            "benchmark": f"grading: {N} subs/min, --jobs 1, method calls as one message vs two",
            "ours": f"{per_min['one']:.1f}/min",
            "reference": f"{60 * N / unfused:.1f}/min",
            "ratio": f"{unfused / one:.2f}",
            "goal": ">= 1 (not slower); fewer round trips",
            "note": "round trips per submission (blank, half, solution): "
            + "/".join(str(v) for v in trips["one"].values())
            + " vs "
            + "/".join(str(v) for v in trips["unfused"].values()),
        },
        {
            "benchmark": f"grading: {N} subs/min, compatible --jobs 1 vs plain nbgrader",
            "ours": f"{per_min['compatible']:.1f}/min",
            "reference": f"{per_min['plain']:.1f}/min",
            "ratio": f"{plain / compat:.2f}",
            "goal": "info (the cost of nbgrader's semantics)",
            "note": f"isolated is {compat / one:.2f}x faster than compatible",
        },
        {
            "benchmark": f"grading: {N} submissions/min, ours --jobs 2 vs --jobs 1",
            "ours": f"{per_min['two']:.1f}/min",
            "reference": f"{per_min['one']:.1f}/min",
            "ratio": f"{one / two:.2f}",
            "goal": ">= 1.8 (2 cores)",
            "note": f"{os.cpu_count()} CPUs; best of {REPEATS} runs each, alternating; the "
            f"machine's own ceiling (2 pure-Python processes vs 1): {ceiling:.2f}",
        },
    ]


if __name__ == "__main__":
    from . import print_table

    print_table(run())
