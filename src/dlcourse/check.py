"""``dlcourse-check NOTEBOOK``: run an assignment as the grader will, and say where you stand.

A student runs this on their notebook before handing it in (``pip install "dlcourse[student]"``
is all it needs: no repository, no course folder, no nbgrader). It executes the notebook top
to bottom in a fresh kernel, from the notebook's own folder, with the rules the grader uses:

- the per-cell time limit of the course (the release writes it into the notebook's metadata,
  ``autograder.cell_timeout``): a cell that runs longer is stopped and fails;
- output to stderr (a library's warning) is not a failure; an error is;
- the modules the assignment puts off limits (``autograder.off_limits``) cannot be imported
  from your answers, with the message the grader's feedback shows;
- a test cell scores its points when it runs without an error (in an assignment graded in
  ``compatible`` mode, a number as the cell's result is partial credit, as in nbgrader).

It then prints one row per visible test (task, test, points, result, message) and exits with 1
when a test fails, 0 when every visible test passes. Hidden tests (the grader has them, your
copy does not) and written answers (graded by hand) are listed as not checked here.

``python -m dlcourse.check NOTEBOOK`` is the same command. ``--invert`` checks the opposite
(every test fails, which is what a freshly released notebook does).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from ._offlimits import MESSAGE as OFF_LIMITS_MESSAGE
from ._offlimits import scan_source
from ._startup import skip_slow_optional_imports

__all__ = ["CheckResult", "TestOutcome", "check_notebook", "ipc_kernel", "main"]

DEFAULT_TIMEOUT = 60  # seconds per cell, when the notebook does not say (the course's value)
STUDENT_EXTRA = {"nbclient", "nbformat", "ipykernel", "jupyter_client", "zmq", "traitlets"}


@dataclass
class TestOutcome:
    """One visible test cell: the task (answer cell) it checks, its points and its result."""

    task: str
    test: str
    points: float
    score: float
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.score >= self.points


@dataclass
class CheckResult:
    """What :func:`check_notebook` found."""

    notebook: str
    tests: list[TestOutcome] = field(default_factory=list)
    manual: list[tuple[str, float]] = field(default_factory=list)  # (grade_id, points)
    hidden: list[tuple[str, float]] = field(default_factory=list)  # tests with no visible code
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def failed(self) -> list[TestOutcome]:
        return [t for t in self.tests if not t.passed]

    def table(self) -> str:
        """The report a student reads: one row per visible test, then what is not checked."""
        rows = [("task", "test", "points", "result", "message")]
        for t in self.tests:
            result = "passed" if t.passed else "FAILED"
            message = " ".join(t.message.split())
            rows.append((t.task, t.test, f"{t.score:g}/{t.points:g}", result, _cut(message, 100)))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
            for r in rows
        ]
        lines.insert(1, "-" * min(120, sum(widths) + 20))
        lines.append("")
        lines.append(
            f"visible tests: {self.score:g} of {self.max_score:g} points "
            f"({len(self.failed)} failed) in {self.seconds:.0f} s"
        )
        if self.manual:
            points = sum(p for _, p in self.manual)
            names = ", ".join(g for g, _ in self.manual)
            lines.append(f"graded by hand, not checked here: {points:g} points ({names})")
        if self.hidden:
            points = sum(p for _, p in self.hidden)
            names = ", ".join(g for g, _ in self.hidden)
            lines.append(f"hidden tests only, not checked here: {points:g} points ({names})")
        lines.append("hidden tests are not in your copy: the grader runs them too")
        lines += [f"WARNING: {w}" for w in self.warnings]
        return "\n".join(lines)


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def settings(nb) -> dict:
    """The grading settings the release wrote into the notebook (``metadata.autograder``)."""
    found = nb.metadata.get("autograder") or {}
    return found if isinstance(found, dict) else {}


def _score(outputs: list, points: float, partial_credit: bool) -> tuple[float, str]:
    """A test cell's score and message from its outputs, by the grader's rule."""
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if errors:
        e = errors[-1]
        name, value = e.get("ename", "Error"), e.get("evalue", "")
        if name == "NotImplementedError" and not value:
            value = "(the answer is not written yet)"
        return 0.0, f"{name}: {value}"
    if partial_credit:
        for o in outputs:
            if o.get("output_type") == "execute_result":
                try:
                    value = float(str(o.get("data", {}).get("text/plain", "")))
                except ValueError:
                    continue
                value = max(0.0, min(value, points))
                return value, "" if value >= points else f"partial credit: {value:g} of {points:g}"
    return points, ""


def _has_code(source: str) -> bool:
    """Whether a cell holds code besides comments (a release's all-hidden test cell does not)."""
    return any(line.strip() and not line.strip().startswith("#") for line in source.splitlines())


def _guard_code(off_limits: list[str]) -> str:
    return (
        "import dlcourse._offlimits as _dlcourse_offlimits\n"
        f"_dlcourse_offlimits.install({list(off_limits)!r})\n"
        "del _dlcourse_offlimits"
    )


@contextmanager
def ipc_kernel(kernel_name: str = "python3") -> Iterator:
    """A ``jupyter_client`` kernel manager whose kernel talks over IPC, shut down on exit.

    IPC (a socket file in a private temporary folder) instead of TCP: nothing listens on a port,
    and the kernel does not warn that it runs "over TCP without encryption". On leaving the
    block the kernel, if one was started, is shut down and the folder removed: a
    ``NotebookClient`` given a kernel manager leaves the kernel running.

    Examples
    --------
    >>> with ipc_kernel() as km:
    ...     km.transport
    'ipc'
    """
    from jupyter_client.manager import KernelManager

    folder = tempfile.mkdtemp(prefix="dlcourse-kernel-")
    km = KernelManager(kernel_name=kernel_name, transport="ipc", ip=os.path.join(folder, "k"))
    try:
        yield km
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
        shutil.rmtree(folder, ignore_errors=True)


def check_notebook(
    path: str | Path, timeout: int | None = None, kernel_name: str = "python3"
) -> CheckResult:
    """Execute the notebook at ``path`` as the grader does and score its visible tests.

    Parameters
    ----------
    path : str or Path
        The assignment notebook (``.ipynb``). It is not modified.
    timeout : int, optional
        Seconds per cell; default: the notebook's ``autograder.cell_timeout``, else 60.
    kernel_name : str
        The Jupyter kernel to run it in.

    Returns
    -------
    CheckResult
        One :class:`TestOutcome` per visible test cell, the hand-graded cells, warnings.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    if path.suffix != ".ipynb" or not path.is_file():
        raise FileNotFoundError(f"No notebook at {path} (expected a .ipynb file).")
    nb = nbformat.read(path, as_version=4)
    conf = settings(nb)
    limit = int(timeout or conf.get("cell_timeout") or DEFAULT_TIMEOUT)
    off_limits = [str(m) for m in conf.get("off_limits", [])]
    partial = conf.get("mode") == "compatible"
    result = CheckResult(notebook=str(path))

    for cell in nb.cells:
        meta = _nbgrader(cell)
        if meta.get("solution") and cell.cell_type == "code":
            for module in scan_source(cell.source, off_limits):
                result.warnings.append(
                    f"cell {meta.get('grade_id')}: " + OFF_LIMITS_MESSAGE.format(module=module)
                )

    start = time.monotonic()
    with ipc_kernel(kernel_name) as km:
        client = NotebookClient(
            nb,
            km=km,
            timeout=limit,
            kernel_name=kernel_name,
            allow_errors=True,
            interrupt_on_timeout=True,
            resources={"metadata": {"path": str(path.parent.resolve())}},
        )
        with client.setup_kernel(cleanup_kc=True):
            _run(client, nb, result, off_limits, limit, partial)
    result.seconds = time.monotonic() - start
    return result


def _run(client, nb, result: CheckResult, off_limits: list[str], limit: int, partial: bool):
    """Execute the notebook's cells in the started kernel and record each test's outcome."""
    import nbformat

    task, task_error = "(before the first answer)", ""
    guard = nbformat.v4.new_code_cell(_guard_code(off_limits))
    if off_limits:
        client.execute_cell(guard, -1)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            if _nbgrader(cell).get("grade") or _nbgrader(cell).get("task"):
                result.manual.append(
                    (
                        _nbgrader(cell).get("grade_id", "?"),
                        float(_nbgrader(cell).get("points", 0)),
                    )
                )
            continue
        meta = _nbgrader(cell)
        student = bool(meta.get("solution")) or not meta.get("locked", bool(meta))
        if off_limits:  # the instructor's cells may import anything
            toggle = f"import dlcourse._offlimits as _g; _g.trusted({not student}); del _g"
            client.execute_cell(nbformat.v4.new_code_cell(toggle), -1)
        started = time.monotonic()
        client.execute_cell(cell, index)
        if meta.get("solution"):
            task = meta.get("grade_id", task)
            task_error = _score(cell.get("outputs", []), 1.0, False)[1]
            if meta.get("grade"):  # a written answer in a code cell: graded by hand
                result.manual.append((task, float(meta.get("points", 0))))
        elif meta.get("grade") and not _has_code(cell.source):
            result.hidden.append((meta.get("grade_id", "?"), float(meta.get("points", 0))))
        elif meta.get("grade"):
            points = float(meta.get("points", 0))
            score, message = _score(cell.get("outputs", []), points, partial)
            if score < points and task_error:
                message = f"your answer cell {task} failed: {task_error}"
            if not message and time.monotonic() - started >= limit:
                score, message = 0.0, f"the cell took longer than {limit} s"
            result.tests.append(
                TestOutcome(task, meta.get("grade_id", "?"), points, score, message)
            )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dlcourse-check",
        description="Run an assignment notebook as the grader does and list its visible tests.",
    )
    p.add_argument("notebook", help="the assignment notebook (.ipynb)")
    p.add_argument(
        "--timeout", type=int, default=None, help="seconds per cell (default: the notebook's)"
    )
    p.add_argument(
        "--invert",
        action="store_true",
        help="succeed when every visible test FAILS (what a fresh release does)",
    )
    p.add_argument("--version", action="version", version=f"dlcourse {__version__}")
    return p


def main(argv: list[str] | None = None) -> int:
    """``dlcourse-check``: exit 0 when every visible test passes (with --invert: fails)."""
    skip_slow_optional_imports()
    args = _parser().parse_args(argv)
    if args.timeout is not None and args.timeout < 1:
        print("dlcourse-check: --timeout must be an integer >= 1", file=sys.stderr)
        return 2
    try:
        result = check_notebook(args.notebook, timeout=args.timeout)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in STUDENT_EXTRA:
            raise
        print(
            f"dlcourse-check needs {exc.name}, which is not installed. Install the student extra:\n"
            '    pip install "dlcourse[student]"',
            file=sys.stderr,
        )
        return 2
    except (FileNotFoundError, ValueError) as exc:
        print(f"dlcourse-check: {exc}", file=sys.stderr)
        return 2
    print(result.table())
    if not result.tests:
        print(f"{args.notebook}: no visible tests found (is this an assignment notebook?)")
        return 1
    if args.invert:
        ok = all(t.score == 0 for t in result.tests)
        print(f"{args.notebook}: " + ("OK (every test fails, as a release should)" if ok
                                       else "some tests pass: not a fresh release"))  # fmt: skip
        return 0 if ok else 1
    ok = not result.failed
    print(f"{args.notebook}: " + ("OK: every visible test passes" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
