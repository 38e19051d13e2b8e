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


def main() -> None:
    rfd, wfd = int(sys.argv[1]), int(sys.argv[2])
    os.set_inheritable(rfd, False)
    os.set_inheritable(wfd, False)
    for name in LAZY_MODULES:
        _lazy(name)
    capture = CappedText()
    sys.stdout = sys.stderr = capture

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(colors="NoColor", autocall=0)
    shell.history_manager.enabled = False
    namespace = shell.user_ns

    def run_cell(source: str) -> dict:
        capture.take()
        result = shell.run_cell(source, store_history=False)
        error = result.error_before_exec or result.error_in_exec
        return {
            "ok": error is None,
            "error": None if error is None else _wire.error_payload(error),
            "output": capture.take(),
        }

    def serve(ep, msg):
        op = msg.get("op")
        if op == "run_cell":
            return run_cell(str(msg["source"]))
        if op == "getname":
            name = str(msg["name"])
            if name not in namespace:
                raise NameError(f"name {name!r} is not defined by your notebook")
            return namespace[name]
        if op == "call":
            fn = ep.decode(msg["fn"])
            args = ep.decode(msg["args"])
            kwargs = ep.decode(msg["kwargs"])
            before = {i: _wire.snapshot(a) for i, a in enumerate(args)}
            before.update({k: _wire.snapshot(v) for k, v in kwargs.items()})
            result = fn(*args, **kwargs)
            changed = []
            for where, old in before.items():
                new = args[where] if isinstance(where, int) else kwargs[where]
                if old is not None and _wire.changed_since(old, new):
                    changed.append([where, new])
            return [result, changed]
        if op == "op":
            return _wire.apply_op(str(msg["name"]), ep.decode(msg["args"]))
        if op == "output":
            return capture.take()
        if op == "ping":
            return "pong"
        raise ValueError(f"unknown request {op!r}")

    ep = _wire.Endpoint(rfd, wfd, "w", serve)
    ep.proxy_class = _wire.TrustedCallable
    try:
        ep.serve_forever()
    except _wire.PeerDied:
        os._exit(0)


if __name__ == "__main__":
    main()
