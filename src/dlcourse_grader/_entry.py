"""Console entry points that explain a missing extra instead of showing a traceback.

The base install of ``dlcourse`` holds the package the chapters import; grading needs nbgrader
and friends (``pip install "dlcourse[course]"``). ``dlcourse-grade`` without them would stop on
a ``ModuleNotFoundError`` deep in an import; this prints what to install and exits with 2.
"""

from __future__ import annotations

import sys

# the third-party packages that only the [course] extra brings
COURSE_EXTRA = {"nbgrader", "traitlets", "nbformat", "nbclient", "nbconvert", "sqlalchemy",
                "jupyter_client", "ipykernel", "psycopg2"}  # fmt: skip


def missing_extra(exc: ModuleNotFoundError, extra: str, needed: set[str]) -> str | None:
    """The message for ``exc`` when it is a package of ``extra`` that is not installed."""
    name = (exc.name or "").split(".")[0]
    if name not in needed:
        return None
    return (
        f"{name} is not installed, and this command needs it. Install the {extra!r} extra:\n"
        f'    pip install "dlcourse[{extra}]"'
    )


def main(argv: list[str] | None = None) -> int:
    """``dlcourse-grade``: the grading tool's command line (see ``--help``)."""
    from dlcourse._startup import skip_slow_optional_imports

    skip_slow_optional_imports()
    try:
        from .cli import main as cli_main

        return cli_main(argv)
    except ModuleNotFoundError as exc:  # at import, or where a command imports nbgrader
        message = missing_extra(exc, "course", COURSE_EXTRA)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 2
