"""Modules a student may not import in an assignment (its metadata's ``off_limits`` list).

An assignment that asks a student to write soft thresholding should not be passed by
``from dlcourse.sparse import soft_threshold``. Its notebook's metadata lists the modules that
hold reference implementations::

    {"autograder": {"mode": "isolated", "off_limits": ["dlcourse.sparse"]}}

The grader and ``dlcourse-check`` install :func:`install` in the process that runs the
student's cells, so that importing such a module (or anything inside it) from the student's
code raises :class:`OffLimitsError` with a message that says why. Code inside ``dlcourse``
itself may still import it (an allowed module can build on a blocked one), and cells of the
instructor (setup and test cells) run with :func:`trusted` on.

This is a deterrent with a clear message, not a proof: a determined student can reach a
module object another way. The grader also flags answers whose text is close to the package's
source (``dlcourse_grader.similarity``).

Examples
--------
>>> install(["dlcourse.sparse"])
>>> student_cell = "from dlcourse.sparse import soft_threshold"
>>> try:
...     exec(student_cell, {"__name__": "__main__"})  # as a notebook runs it
... except OffLimitsError as exc:
...     print(exc)  # doctest: +ELLIPSIS
dlcourse.sparse is off limits in this assignment: write this part yourself ...
>>> uninstall()
"""

from __future__ import annotations

import builtins
import importlib
import re
import threading

from ._validation import invalid

__all__ = ["OffLimitsError", "install", "uninstall", "trusted", "blocked_module", "scan_source"]

MESSAGE = (
    "{module} is off limits in this assignment: write this part yourself "
    "(the module holds the reference implementation)."
)

_state = threading.local()
_blocked: tuple[str, ...] = ()
_original_import = builtins.__import__
_original_import_module = importlib.import_module


class OffLimitsError(ImportError):
    """An import of a module that the assignment puts off limits."""


def blocked_module(name: str, blocked=None) -> str | None:
    """The entry of ``blocked`` (default: the installed list) that covers module ``name``."""
    for entry in _blocked if blocked is None else blocked:
        if name == entry or name.startswith(entry + "."):
            return entry
    return None


def _is_trusted(importer: str) -> bool:
    if getattr(_state, "trusted", False):
        return True
    # the package's own modules build on one another; the student's code is __main__ (or a
    # module of the student's beside the notebook)
    return importer == "dlcourse" or importer.startswith("dlcourse.")


def _absolute(name: str, globals_, level: int) -> str:
    if not level:
        return name
    package = (globals_ or {}).get("__package__") or ""
    base = package.rsplit(".", level - 1)[0] if level > 1 else package
    return f"{base}.{name}" if name else base


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    if _blocked and not _is_trusted((globals or {}).get("__name__") or ""):
        full = _absolute(name, globals, level)
        wanted = [full] + [f"{full}.{item}" for item in (fromlist or ()) if item != "*"]
        for target in wanted:
            entry = blocked_module(target)
            if entry:
                raise OffLimitsError(MESSAGE.format(module=entry), name=target)
    return _original_import(name, globals, locals, fromlist, level)


def _guarded_import_module(name, package=None):
    full = importlib.util.resolve_name(name, package) if name.startswith(".") else name
    entry = blocked_module(full)
    if entry and not getattr(_state, "trusted", False):
        raise OffLimitsError(MESSAGE.format(module=entry), name=full)
    return _original_import_module(name, package)


def install(modules) -> None:
    """Make ``modules`` (dotted names; their sub-modules too) unimportable by student code."""
    global _blocked
    names = tuple(str(m) for m in modules)
    for m in names:
        if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", m):
            raise invalid("modules", "a list of dotted module names", m, caller="install")
    _blocked = names
    builtins.__import__ = _guarded_import
    importlib.import_module = _guarded_import_module


def uninstall() -> None:
    """Undo :func:`install`."""
    global _blocked
    _blocked = ()
    builtins.__import__ = _original_import
    importlib.import_module = _original_import_module


def trusted(on: bool) -> None:
    """Let the code that runs next import anything (the instructor's cells) or not."""
    _state.trusted = bool(on)


def scan_source(source: str, blocked) -> list[str]:
    """The entries of ``blocked`` that the Python text ``source`` imports (found statically).

    >>> scan_source("import numpy as np\\nfrom dlcourse.sparse import ista", ["dlcourse.sparse"])
    ['dlcourse.sparse']
    >>> scan_source("from dlcourse import sparse", ["dlcourse.sparse"])
    ['dlcourse.sparse']
    """
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            entry = blocked_module(name, blocked)
            if entry and entry not in found:
                found.append(entry)
    return found
