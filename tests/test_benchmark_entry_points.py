"""Every benchmark module runs as a script: its ``__main__`` block calls ``run`` as declared.

``python -m tests.benchmarks.bench_X`` is how a contributor reruns one table; a call that
does not match ``run``'s signature only fails there (``make bench`` calls ``run()`` itself).
Checked on the source, without running the benchmarks.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

BENCHMARKS = sorted((Path(__file__).parent / "benchmarks").glob("bench_*.py"))


def _run_signature(tree: ast.Module) -> inspect.Signature:
    run = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run")
    a = run.args
    kind = inspect.Parameter
    params = [kind(x.arg, kind.POSITIONAL_OR_KEYWORD) for x in a.posonlyargs + a.args]
    params += [kind(x.arg, kind.KEYWORD_ONLY) for x in a.kwonlyargs]
    return inspect.Signature(params)


def _main_calls(tree: ast.Module) -> list[ast.Call]:
    main = [
        n
        for n in tree.body
        if isinstance(n, ast.If)
        and "__main__" in ast.unparse(n.test)
        and "__name__" in ast.unparse(n.test)
    ]
    return [
        c
        for block in main
        for c in ast.walk(block)
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == "run"
    ]


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.stem)
def test_main_block_calls_run_as_declared(path):
    tree = ast.parse(path.read_text())
    calls = _main_calls(tree)
    assert calls, f"{path.name}: no run(...) call under if __name__ == '__main__'"
    signature = _run_signature(tree)
    for call in calls:
        try:
            signature.bind(*call.args, **{k.arg: None for k in call.keywords if k.arg})
        except TypeError as error:
            pytest.fail(f"{path.name}: {ast.unparse(call)} does not match run{signature}: {error}")
