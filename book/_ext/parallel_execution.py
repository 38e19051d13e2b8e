"""Sphinx extension: execute the book's notebooks on every core before Sphinx reads them.

MyST-NB executes notebooks one at a time, as Sphinx reads them (``execute_notebooks: cache``):
on a 2-core machine the book takes the sum of its chapters' times while one core idles. This
extension runs first (``builder-inited``, after MyST-NB has set up its configuration): it finds
every notebook of the build that the jupyter-cache does not hold yet and executes them in
parallel, one kernel per worker, with MyST-NB's own settings (working directory, timeout,
``allow_errors``, per-notebook ``execution`` metadata). Each result goes into the cache exactly as
MyST-NB would put it there, so when Sphinx then reads the notebook MyST-NB finds it cached.

- Workers: ``$DLCOURSE_BOOK_JOBS``, else the number of CPUs (at most one per notebook).
- Kernels talk over IPC (a socket file), not TCP: nothing listens on a port, and the kernel does
  not print "Kernel is running over TCP without encryption".
- A failing notebook stops the build, with MyST-NB's message plus the cell's index
  (``<notebook>:<cell>: WARNING: Executing notebook failed: ...``, then the cell's source and the
  error), which ``tests/test_book.py::explain_failure`` reads; the notebooks that passed are
  cached, so the next build executes only the failing one.
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.matching import Matcher

LOGGER = logging.getLogger(__name__)


def jobs() -> int:
    """Number of notebooks executed at once: ``$DLCOURSE_BOOK_JOBS`` or the CPU count."""
    value = os.environ.get("DLCOURSE_BOOK_JOBS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ExtensionError(f"DLCOURSE_BOOK_JOBS must be a positive integer, got {value!r}")
        return int(value)
    return os.cpu_count() or 1


def execute_notebook(path: str, cwd: str, timeout: int | None, allow_errors: bool) -> dict:
    """Execute one notebook in a fresh kernel over IPC (in a worker process).

    Returns ``{"notebook", "seconds", "error", "message", "cell"}``: the executed notebook as
    nbformat JSON, its time, and on failure the error's type, nbclient's message (the cell's
    source and the traceback) and the failing cell's index; ``error`` is None on success.
    """
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    from dlcourse.check import ipc_kernel  # IPC, and shut down afterwards

    nb = nbformat.read(path, as_version=4)
    with ipc_kernel(nb.metadata.get("kernelspec", {}).get("name", "python3")) as km:
        result = single_nb_execution(
            nb, cwd=cwd, timeout=timeout, allow_errors=allow_errors, meta_override=True, km=km
        )
    failed = [
        i
        for i, cell in enumerate(result.nb.cells)
        if any(o.get("output_type") == "error" for o in cell.get("outputs", []))
    ]
    return {
        "notebook": nbformat.writes(result.nb),
        "seconds": result.time,
        "error": None if result.err is None else type(result.err).__name__,
        # nbclient's message shows the failing cell's source and the kernel's traceback
        "message": "" if result.err is None else str(result.err),
        "cell": failed[0] if failed else None,
    }


def _notebooks(app) -> list[Path]:
    """The .ipynb files this build will read (toc files only, exclusions applied)."""
    src = Path(app.srcdir)
    config = app.env.mystnb_config
    excluded = Matcher(list(app.config.exclude_patterns))
    not_executed = Matcher(list(config.execution_excludepatterns or []))
    found = []
    for path in sorted(src.rglob("*.ipynb")):
        rel = path.relative_to(src).as_posix()
        if excluded(rel) or not_executed(rel) or rel.startswith("_build/"):
            continue
        found.append(path)
    return found


def execute_in_parallel(app) -> None:
    config = getattr(app.env, "mystnb_config", None)
    if config is None or config.execution_mode != "cache":
        return
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(config.execution_cache_path)
    todo = []
    for path in _notebooks(app):
        nb = nbformat.read(path, as_version=4)
        if nb.metadata.get("mystnb", {}).get("execution_mode", "cache") != "cache":
            continue
        try:
            cache.match_cache_notebook(nb)
        except KeyError:
            todo.append(path)
    if not todo:
        return
    workers = min(jobs(), len(todo))
    LOGGER.info(f"executing {len(todo)} notebooks on {workers} workers (IPC kernels)")
    start = time.monotonic()
    failures = []
    # spawned processes: a fork would copy Sphinx's state, and a kernel client left to the
    # interpreter's exit in this process logs a warning about its ZMQ context
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = {
            pool.submit(
                execute_notebook,
                str(path),
                tempfile.gettempdir() if config.execution_in_temp else str(path.parent),
                config.execution_timeout,
                config.execution_allow_errors,
            ): path
            for path in todo
        }
        for future in as_completed(futures):
            path = futures[future]
            try:
                out = future.result()
            except Exception as exc:  # the worker itself died: report it as a failure
                out = {"error": type(exc).__name__, "message": str(exc), "cell": None}
            if out["error"] is not None:
                failures.append(path)
                # "<notebook>:<cell index>: WARNING: Executing notebook failed: ..." (a location
                # with a colon is printed as it is; without one Sphinx would append ".rst")
                where = f"{path}:{out['cell']}" if out["cell"] is not None else f"{path}:"
                LOGGER.warning(
                    f"Executing notebook failed: {out['error']}\n{out['message']}",
                    location=where,
                    type="mystnb",
                    subtype="exec",
                )
                continue
            stage = cache.add_nb_to_project(str(path))
            cache.cache_notebook_bundle(
                CacheBundleIn(
                    nbformat.reads(out["notebook"], as_version=4),
                    stage.uri,
                    data={"execution_seconds": out["seconds"]},
                ),
                check_validity=False,
                overwrite=True,
            )
            LOGGER.info(f"executed {path.name} in {out['seconds']:.1f} s")
    LOGGER.info(f"executed {len(todo)} notebooks in {time.monotonic() - start:.1f} s")
    if failures:
        names = ", ".join(p.name for p in failures)
        raise ExtensionError(f"executing {names} failed (the cell and error are shown above)")


def setup(app):
    # after MyST-NB's own builder-inited handler (priority 500), which sets app.env.mystnb_config
    app.connect("builder-inited", execute_in_parallel, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
