"""The student's process: runs a submission's cells and answers the test process's requests.

Started inside the sandbox as ``python _worker.py READ_FD WRITE_FD``; everything it knows
arrives over those two pipes. It runs as the student's code does, so nothing it reports is
trusted: the test process only takes plain data from it (see ``_wire``).
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
import sys
import tempfile
import traceback
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _wire  # noqa: E402  (the sandbox binds this file's folder, not the package)

OUTPUT_LIMIT = 1_000_000  # characters of printed output kept per cell
# Imported only when first used: assignments import torch for their tests, which run in the
# test process, so most student processes never need it (it costs ~1 s of CPU to load).
LAZY_MODULES = ("torch",)


class CappedText(io.TextIOBase):
    """A text stream that keeps the first ``OUTPUT_LIMIT`` characters and counts the rest."""

    def __init__(self):
        self.parts: list[str] = []
        self.kept = 0
        self.total = 0

    def writable(self):
        return True

    def write(self, s):
        s = str(s)
        self.total += len(s)
        if self.kept < OUTPUT_LIMIT:
            piece = s[: OUTPUT_LIMIT - self.kept]
            self.parts.append(piece)
            self.kept += len(piece)
        return len(s)

    def take(self) -> dict:
        out = {"text": "".join(self.parts), "chars": self.total}
        self.parts, self.kept, self.total = [], 0, 0
        return out


class CallStream(io.TextIOBase):
    """stdout or stderr while a test calls a student function: what is written goes on to the
    cell's output (``target``) and is kept, up to ``_wire.PRINTED_LIMIT`` characters, to be
    sent back with the call's result."""

    def __init__(self, target):
        self.target = target
        self.parts: list[str] = []
        self.kept = 0

    def writable(self):
        return True

    def write(self, s):
        s = str(s)
        self.target.write(s)
        if self.kept < _wire.PRINTED_LIMIT:
            piece = s[: _wire.PRINTED_LIMIT - self.kept]
            self.parts.append(piece)
            self.kept += len(piece)
        return len(s)

    def text(self) -> str:
        return "".join(self.parts)


class _LazyModule(types.ModuleType):
    """Stands in for a heavy module until code first uses one of its attributes."""

    def __getattr__(self, attr):
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
            real = importlib.import_module(name)
            self.__dict__.update(real.__dict__)
        return getattr(sys.modules[name], attr)


def _lazy(name: str) -> None:
    """Make ``import name`` cheap: the module is loaded at its first attribute access."""
    if name not in sys.modules and importlib.util.find_spec(name) is not None:
        sys.modules[name] = _LazyModule(name)


def _plain_text(shell, value) -> str | None:
    """The ``text/plain`` form of a cell's result (its last expression), as a kernel shows it."""
    if value is None:
        return None
    try:
        data, _ = shell.display_formatter.format(value, include=("text/plain",))
        return str(data.get("text/plain", ""))[:OUTPUT_LIMIT]
    except Exception:  # noqa: BLE001 - a hostile __repr__: no result, as a crashing display
        return None


def _cell_line(error: BaseException) -> int | None:
    """The line of the cell where ``error`` was raised (the last frame in the cell's code)."""
    frames = list(traceback.walk_tb(error.__traceback__))
    cell_file, line = None, None
    for i, (frame, lineno) in enumerate(frames):
        code = frame.f_code
        if cell_file is None and code.co_name == "run_code" and i + 1 < len(frames):
            cell_file = frames[i + 1][0].f_code.co_filename
        elif cell_file is not None and code.co_filename == cell_file:
            line = lineno
    if line is None and isinstance(error, SyntaxError):
        line = error.lineno
    return line


def _from_notebook(fn) -> bool:
    """Whether a callable was written in the notebook (its code is in no file), unlike the
    hooks libraries register (matplotlib's, for instance)."""
    for _ in range(5):  # partials, bound methods, callable objects
        fn = getattr(fn, "func", None) or getattr(fn, "__func__", None) or fn
        code = getattr(fn, "__code__", None)
        if code is not None:
            return not os.path.isfile(code.co_filename)
        fn = getattr(type(fn), "__call__", None)  # noqa: B004 - its code, not callability
        if fn is None:
            return True
    return True


class IntegrityProbe:
    """Notices a test environment that student code has tampered with (compatible mode).

    Taken when the process starts, before any student code: the identity of the builtins and
    of the assertion helpers tests rely on. :meth:`report` lists what no longer matches. Code
    in the same process can fool this (it is a tripwire that flags a submission for review,
    not a guarantee); isolated mode is the guarantee.
    """

    BUILTINS = (
        "isinstance", "len", "abs", "all", "any", "sum", "round", "sorted", "type", "print",
        "repr", "str", "float", "int", "bool", "hasattr", "getattr", "__import__", "open",
        "AssertionError", "Exception", "range", "min", "max", "set", "list", "dict", "tuple",
    )  # fmt: skip
    HELPERS = {
        "numpy": ("allclose", "isclose", "array_equal", "all", "any", "abs", "array"),
        "numpy.testing": ("assert_allclose", "assert_array_equal", "assert_equal",
                          "assert_almost_equal", "assert_array_almost_equal"),
        "math": ("isclose",),
        "torch": ("allclose", "equal", "isclose"),
        "torch.testing": ("assert_close",),
        "dlcourse.checks": ("check_close", "check_array", "check_tensor", "check_float"),
    }  # fmt: skip

    def __init__(self):
        import builtins

        self._builtins = builtins
        self._known = {name: getattr(builtins, name) for name in self.BUILTINS}
        self._helpers: dict[tuple[str, str], object] = {}
        self._eq = {t: t.__eq__ for t in (int, float, str, bool, list, tuple, dict)}

    def rebase_builtins(self) -> None:
        """Take the builtins as they are now as the reference (after the grader's own changes,
        before any student code)."""
        self._known = {name: getattr(self._builtins, name) for name in self.BUILTINS}

    def _remember(self, module_name: str, module) -> None:
        for attr in self.HELPERS.get(module_name, ()):
            key = (module_name, attr)
            if key not in self._helpers and hasattr(module, attr):
                self._helpers[key] = getattr(module, attr)

    RUNNER = ("run_cell", "run_code", "run_ast_nodes", "showtraceback", "showsyntaxerror",
              "_showtraceback", "set_custom_exc")  # fmt: skip
    HOOKS = ("pre_execute", "pre_run_cell", "post_execute", "post_run_cell")

    def watch_shell(self, shell) -> None:
        """Remember how the shell runs cells and reports errors and results."""
        self._shell = shell
        self._runner = {name: getattr(type(shell), name) for name in self.RUNNER}
        self._displayhook = sys.displayhook
        self._excepthook = sys.excepthook
        self._locked: dict[str, object] = {}

    def watch_names(self, namespace: dict, names) -> None:
        """Remember what the instructor's locked cell bound to ``names`` (its helpers)."""
        for name in names:
            if name in namespace:
                self._locked[name] = namespace[name]

    def _shell_report(self) -> list[str]:
        shell, found = self._shell, []
        for name, fn in self._runner.items():
            if getattr(type(shell), name, None) is not fn or name in vars(shell):
                found.append(f"the notebook's {name} was replaced")
        if sys.displayhook is not self._displayhook or sys.excepthook is not self._excepthook:
            found.append("sys.displayhook or sys.excepthook was replaced")
        if shell.custom_exceptions:
            found.append("a custom exception handler was installed (set_custom_exc)")
        for event in self.HOOKS:
            if any(_from_notebook(cb) for cb in shell.events.callbacks.get(event, [])):
                found.append(f"a {event} hook was registered by the notebook")
        namespace = shell.user_ns
        for name, obj in self._locked.items():
            if namespace.get(name) is not obj:
                found.append(f"{name!r}, defined by a locked cell, was redefined")
        return found

    def report(self) -> list[str]:
        found = self._shell_report() if getattr(self, "_shell", None) is not None else []
        for name, obj in self._known.items():
            if getattr(self._builtins, name, None) is not obj:
                found.append(f"builtin {name!r} was replaced")
        for module_name in self.HELPERS:
            module = sys.modules.get(module_name)
            if module is None or isinstance(module, _LazyModule):
                continue
            for attr in self.HELPERS[module_name]:
                key = (module_name, attr)
                current = getattr(module, attr, None)
                if key in self._helpers and current is not self._helpers[key]:
                    found.append(f"{module_name}.{attr} was replaced")
        for t, eq in self._eq.items():
            if t.__eq__ is not eq:
                found.append(f"{t.__name__}.__eq__ was replaced")
        return found

    def watch_imports(self) -> None:
        """Record the helpers of the modules imported so far (before student code runs them)."""
        for module_name in self.HELPERS:
            module = sys.modules.get(module_name)
            if module is not None and not isinstance(module, _LazyModule):
                self._remember(module_name, module)


class Worker:
    """The student's notebook: an IPython shell, and one method per request of the tester."""

    def __init__(self):
        from IPython.core.interactiveshell import InteractiveShell

        self.capture = CappedText()
        self.errors = CappedText()
        sys.stdout = sys.stderr = self.capture
        self.shell = InteractiveShell.instance(colors="NoColor", autocall=0)
        self.shell.history_manager.enabled = False
        self.namespace = self.shell.user_ns
        self.probe = IntegrityProbe()
        self.probe.watch_shell(self.shell)
        self.guard = None  # dlcourse._offlimits, once the assignment puts modules off limits

    def serve(self, ep, msg):
        """Answer one request (``op`` names the method ``op_<name>``)."""
        handler = getattr(self, f"op_{msg.get('op')}", None)
        if handler is None:
            raise ValueError(f"unknown request {msg.get('op')!r}")
        return handler(ep, msg)

    def op_run_cell(self, ep, msg) -> dict:
        """Run one cell; with ``split``, stdout and stderr apart and the cell's result value
        (what nbgrader scores a test cell by: an error, any stderr, a number as partial credit).
        """
        split = bool(msg.get("split"))
        if self.guard is not None:  # the instructor's cells may import anything
            self.guard.trusted(bool(msg.get("trusted")))
        self.capture.take()
        self.errors.take()
        sys.stderr = self.errors if split else self.capture
        try:
            result = self.shell.run_cell(str(msg["source"]), store_history=False)
        finally:
            sys.stdout = self.capture  # a cell may have redirected them and not restored them
            sys.stderr = self.capture
            if self.guard is not None:
                self.guard.trusted(False)
        error = result.error_before_exec or result.error_in_exec
        reply = {
            "ok": error is None,
            "error": None if error is None else _wire.error_payload(error),
            "output": self.capture.take(),
        }
        if split:
            reply["stderr"] = self.errors.take()
            reply["result"] = _plain_text(self.shell, result.result)
            reply["failed_line"] = None if error is None else _cell_line(error)
        return reply

    def op_off_limits(self, ep, msg) -> None:
        """Make the assignment's off-limits modules unimportable by the student's code."""
        import dlcourse._offlimits as guard

        guard.install([str(m) for m in msg["modules"]])
        self.guard = guard
        self.probe.rebase_builtins()  # the guard's __import__ is the grader's, not tampering

    def op_setname(self, ep, msg) -> None:
        """A global a test cell set, which the student's functions read (isolated mode)."""
        self.namespace[str(msg["name"])] = ep.decode(msg.get("value"))

    def op_probe(self, ep, msg) -> list[str]:
        return self.probe.report()

    def op_watch(self, ep, msg) -> None:
        """Compatible mode: remember the test helpers before student code can touch them."""
        if msg.get("preload"):
            for name in ("math", "numpy", "numpy.testing"):  # what most tests check with
                try:
                    importlib.import_module(name)
                except ImportError:
                    pass
        self.probe.watch_imports()
        self.probe.watch_names(self.namespace, msg.get("names") or [])

    def op_getname(self, ep, msg):
        name = str(msg["name"])
        if name not in self.namespace:
            raise NameError(f"name {name!r} is not defined by your notebook")
        return self.namespace[name]

    def op_call(self, ep, msg) -> list:
        """Call a student function: the result, the arguments it changed in place, and what
        it printed (``{"out": ..., "err": ...}``, which the test process writes to its own
        stdout and stderr; it is also kept in the cell's output, capped as ever)."""
        fn = ep.decode(msg["fn"])
        args = ep.decode(msg["args"])
        kwargs = ep.decode(msg["kwargs"])
        before = {i: _wire.snapshot(a) for i, a in enumerate(args)}
        before.update({k: _wire.snapshot(v) for k, v in kwargs.items()})
        saved = sys.stdout, sys.stderr
        out, err = CallStream(self.capture), CallStream(self.capture)
        sys.stdout, sys.stderr = out, err
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            try:
                exc._wire_printed = {"out": out.text(), "err": err.text()}
            except Exception:  # noqa: BLE001 - an exception without attributes
                pass
            raise
        finally:
            sys.stdout, sys.stderr = saved
        changed = []
        for where, old in before.items():
            new = args[where] if isinstance(where, int) else kwargs[where]
            if old is not None and _wire.changed_since(old, new):
                changed.append([where, new])
        return [result, changed, {"out": out.text(), "err": err.text()}]

    def op_op(self, ep, msg):
        return _wire.apply_op(str(msg["name"]), ep.decode(msg["args"]))

    def op_output(self, ep, msg) -> dict:
        return self.capture.take()

    def op_ping(self, ep, msg) -> str:
        return "pong"


def _settle_scratch() -> None:
    """Settle, while the workdir still has room, the folders that imports create later.

    A submission that fills its workdir must not make the tests' imports fail in its process:
    ``tempfile`` checks (by writing) and caches its folder on first use, and torch.optim's first
    use imports ``torch._dynamo``, which creates torch's cache folder at import time. That
    folder is made the temporary folder itself, which exists: nothing new appears in the
    student's folder (a submission sees only its own files there).
    """
    try:
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.gettempdir())
    except OSError:
        pass


def main() -> None:
    rfd, wfd = int(sys.argv[1]), int(sys.argv[2])
    os.set_inheritable(rfd, False)
    os.set_inheritable(wfd, False)
    for name in LAZY_MODULES:
        _lazy(name)
    _settle_scratch()
    worker = Worker()
    # as in a notebook's kernel, modules beside the notebook can be imported (after the
    # worker's own imports, so that a student's file cannot stand in for them)
    sys.path.insert(1, "")
    ep = _wire.Endpoint(rfd, wfd, "w", worker.serve)
    ep.proxy_class = _wire.TrustedCallable
    try:
        ep.serve_forever()
    except _wire.PeerDied:
        os._exit(0)


if __name__ == "__main__":
    main()
