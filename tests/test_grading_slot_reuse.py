"""An honest student's grade does not depend on who was graded before them in the same slot.

One test process (``--jobs 1``) grades, in this order, an honest submission, then each hostile
submission below followed by another copy of the honest one. Every hostile submission tries to
leave something behind for the next student of the slot: busy processes in sessions of their
own, a process-table full of threads, a full working folder or ``/dev/shm``, files in ``/tmp``.
Every honest copy must get exactly the grade of the first, with no faults reported: the hostile
submission's processes, files and limits die with it.

The honest answer needs what a hostile one would take away: threads, a subprocess, disk space,
an empty working folder and a few seconds of CPU inside the per-cell limit.
"""

from __future__ import annotations

import textwrap

import nbformat
import pytest

from .nbtasks import cell_meta, hand_in, tiny_course

pytestmark = [pytest.mark.grading, pytest.mark.slow]

TIMEOUT = 6  # seconds per cell: the honest cells take well under one

HONEST_ANSWER = """
def work():
    ### BEGIN SOLUTION
    import os, subprocess, threading
    results = []
    threads = [threading.Thread(target=lambda: results.append(sum(range(20000))))
               for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    subprocess.run(["true"], check=True)
    with open("mine.bin", "wb") as f:
        f.write(b"0" * 8_000_000)
    strangers = sorted(f for f in os.listdir(".") if not f.startswith(".") and f != "mine.bin")
    return len(results), strangers, os.path.getsize("mine.bin")
    ### END SOLUTION
"""

HOSTILE = {
    "hog": """
        import os, time
        for _ in range(60):
            try:
                if os.fork() == 0:
                    os.setsid()
                    if os.fork() == 0:
                        while True:
                            pass
                    os._exit(0)
            except OSError:
                break
        time.sleep(60)
    """,
    "threads": """
        import threading, time
        def spin():
            while True:
                time.sleep(1)
        try:
            while True:
                threading.Thread(target=spin, daemon=True).start()
        except RuntimeError:
            pass
        time.sleep(60)
    """,
    "disk": """
        import os
        try:
            for i in range(100_000):
                with open(f"junk{i}", "wb") as f:
                    f.write(b"0" * (4_000_000 if i < 400 else 10))
        except OSError:
            pass
    """,
    "shm_tmp": """
        for folder in ("/dev/shm", "/tmp"):
            try:
                with open(f"{folder}/left-behind", "wb") as f:
                    for _ in range(100):
                        f.write(b"0" * 10_000_000)
            except OSError:
                pass
    """,
}


def _notebook(answer: str, prefix: str = ""):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["autograder"] = {"mode": "isolated"}
    nb.cells = [
        nbformat.v4.new_code_cell("import os", metadata=cell_meta("setup", locked=True)),
        nbformat.v4.new_code_cell(
            textwrap.dedent(prefix) + answer.strip(), metadata=cell_meta("work", solution=True)
        ),
        nbformat.v4.new_code_cell(
            "n, strangers, size = work()\nassert n == 24\nassert strangers == [], strangers\n"
            "assert size == 8_000_000",
            metadata=cell_meta("test_work", grade=True, points=3),
        ),
    ]
    return nb


def test_honest_grade_is_the_same_after_every_hostile_submission(tmp_path):
    course = tiny_course(tmp_path, "slot", {"slot.ipynb": _notebook(HONEST_ANSWER)}, TIMEOUT)

    order = ["00_honest"]
    hand_in(course, "00_honest", "slot", {"slot.ipynb": _notebook(HONEST_ANSWER)})
    for k, (name, code) in enumerate(HOSTILE.items(), start=1):
        hostile = _notebook(HONEST_ANSWER, prefix=code)
        hand_in(course, f"{k:02d}a_{name}", "slot", {"slot.ipynb": hostile})
        hand_in(course, f"{k:02d}b_honest", "slot", {"slot.ipynb": _notebook(HONEST_ANSWER)})
        order += [f"{k:02d}a_{name}", f"{k:02d}b_honest"]

    results = {r.student: r for r in course.autograde("slot", jobs=1, sandbox="auto")}
    assert sorted(results) == sorted(order)
    first = results["00_honest"]
    message = first.tests[0]["message"] if first.tests else ""
    assert first.status == "graded" and first.score == 3.0, (first.reason, message)
    for student in order:
        if student.endswith("_honest"):
            r = results[student]
            assert (r.status, r.score, r.reason) == ("graded", 3.0, ""), (
                f"{student}, graded after {order[order.index(student) - 1]}: "
                f"{r.score} ({r.reason}) {r.tests}"
            )
