"""Answers whose code is copied from a module the assignment puts off limits.

Blocking ``import dlcourse.sparse`` does not stop a student from pasting the function's
source into an answer cell. This compares each answer cell with the source files of the
assignment's off-limits modules: both are cut into overlapping runs of ``K`` Python tokens
(comments and docstrings dropped, string contents ignored, names and numbers kept), and an
answer that shares at least ``THRESHOLD`` of its runs with one module (and has at least
``MIN_RUNS`` of them, so a one-liner that happens to match is not reported) is flagged for a
person to look at. Points are never taken automatically: two honest answers to the same
small question can look alike.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import keyword
import tokenize
from pathlib import Path

__all__ = ["K", "THRESHOLD", "MIN_RUNS", "runs", "module_runs", "copied_from"]

K = 10  # tokens per run
THRESHOLD = 0.8  # share of an answer's runs found in one module's source (a paste is ~1)
MIN_RUNS = 25  # answers shorter than this are not judged

_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
         tokenize.ENCODING, tokenize.ENDMARKER}  # fmt: skip


def _tokens(source: str) -> list[str]:
    out: list[str] = []
    previous = tokenize.NEWLINE
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _SKIP:
                if tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                    previous = tokenize.NEWLINE
                continue
            if tok.type == tokenize.STRING:
                if previous == tokenize.NEWLINE:  # a statement that is only a string: docstring
                    continue
                out.append("S")
            elif tok.type == tokenize.NAME and keyword.iskeyword(tok.string):
                out.append(tok.string)
            else:
                out.append(tok.string)
            previous = tok.type
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # what was read so far still counts
    return out


def runs(source: str, k: int = K) -> set[tuple[str, ...]]:
    """The set of runs of ``k`` consecutive tokens of Python ``source``."""
    toks = _tokens(source)
    return {tuple(toks[i : i + k]) for i in range(len(toks) - k + 1)}


def _files(module: str) -> list[Path]:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return sorted(p for loc in spec.submodule_search_locations for p in Path(loc).rglob("*.py"))
    return [Path(spec.origin)] if spec.origin and spec.origin.endswith(".py") else []


@functools.lru_cache(maxsize=32)
def module_runs(module: str) -> frozenset:
    """The runs of every source file of ``module`` (a package: all its files)."""
    found: set = set()
    for path in _files(module):
        try:
            found |= runs(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    return frozenset(found)


def copied_from(answer: str, modules) -> list[tuple[str, float]]:
    """``(module, share)`` for each module that shares at least ``THRESHOLD`` of ``answer``."""
    mine = runs(answer)
    if len(mine) < MIN_RUNS:
        return []
    hits = []
    for module in modules:
        share = len(mine & module_runs(module)) / len(mine)
        if share >= THRESHOLD:
            hits.append((module, share))
    return hits
