"""Reading a student's submission safely, and merging it with the instructor's source notebook.

Everything here treats the submission as hostile: any file content gives either a notebook or
an :class:`Ungradable` error with a reason an instructor (and a student) can act on. The merge
takes every locked cell and every test cell from the source, so what runs as "the tests" is
always the instructor's code, whatever the student did to their copy.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ._wire import _SURROGATE_ESCAPE, _clean_tree, clean_text

__all__ = [
    "Ungradable",
    "clean_text",
    "PlanCell",
    "Plan",
    "read_submission",
    "merge",
    "fingerprint",
    "student_names",
    "hidden_line_range",
    "strip_hidden_tests",
]

MAX_NOTEBOOK_BYTES = 200 * 2**20
MAX_BRACKETS = 2_000_000  # "{" and "[" in the file: a bound on what parsing it may allocate
MAX_CELLS = 5_000
MAX_OBJECTS = 200_000  # JSON objects and arrays of the notebook, saved outputs not counted
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
HIDDEN_PLACEHOLDER = "# (hidden tests: not shown)"


class Ungradable(Exception):
    """The submission cannot be graded; ``str(exc)`` is the reason shown to everyone."""


@dataclass
class PlanCell:
    """One cell of the merged notebook, with what the grader does with it.

    ``kind`` is ``"student"`` (runs in the student's process), ``"setup"`` (an instructor's
    locked code cell: runs in both processes), ``"test"`` (runs in the test process only),
    ``"manual"`` (a written answer graded by hand) or ``"text"`` (not run).
    """

    index: int
    kind: str
    grade_id: str | None
    points: float = 0.0
    source: str = ""


@dataclass
class Plan:
    notebook: nbformat.NotebookNode
    cells: list[PlanCell]
    events: list[str] = field(default_factory=list)
    answered: dict[str, bool] = field(default_factory=dict)  # manual answer cell -> changed?


def _nbmeta(cell) -> dict:
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    nb = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nb if isinstance(nb, dict) else {}


def _text(source) -> str:
    if isinstance(source, list):
        return "".join(str(s) for s in source)
    return source if isinstance(source, str) else ""


# -- reading -------------------------------------------------------------------------------------
def _open_nofollow(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        size = os.fstat(fd).st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise Ungradable(
                f"the notebook file is {size / 2**20:.0f} MB, over the "
                f"{MAX_NOTEBOOK_BYTES // 2**20} MB limit"
            )
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(MAX_NOTEBOOK_BYTES + 1)
    finally:
        os.close(fd)


def read_submission(folder: Path, notebook: str) -> tuple[nbformat.NotebookNode, list[str]]:
    """Find and parse the submitted notebook ``notebook`` (a file name) in ``folder``.

    Returns the notebook (nbformat 4, outputs dropped) and a list of events. Raises
    :class:`Ungradable` when there is no usable notebook.
    """
    events: list[str] = []
    name = _pick_notebook(folder, notebook, events)
    path = folder / name
    if stat.S_ISLNK(os.lstat(path).st_mode) or not stat.S_ISREG(os.lstat(path).st_mode):
        raise Ungradable(f"{name!r} is a symbolic link or not a regular file")
    raw = _open_nofollow(path)
    data = _parse_json(raw, events)
    version = data["nbformat"]
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds on bad structure
        raise Ungradable(f"not a valid notebook: {str(exc)[:200]}") from None
    if version == 3:
        events.append("converted from nbformat 3")
    nb["cells"] = [_plain_cell(c) for c in nb.get("cells", []) if _known_cell(c)]
    return nb, events


def _pick_notebook(folder: Path, notebook: str, events: list[str]) -> str:
    """The file name to grade: ``notebook``, or the only notebook there (renamed)."""
    if not folder.is_dir():
        raise Ungradable("no submission folder")
    candidates = sorted(
        p.name for p in folder.iterdir() if p.suffix == ".ipynb" and not p.name.startswith(".")
    )
    if notebook in candidates:
        return notebook
    if len(candidates) == 1:
        events.append(
            f"graded {candidates[0]!r} in place of {notebook!r} (the notebook was renamed)"
        )
        return candidates[0]
    if not candidates:
        raise Ungradable(f"no notebook {notebook!r} in the submission")
    raise Ungradable(
        f"no notebook {notebook!r} in the submission, and several others: "
        + ", ".join(repr(c) for c in candidates[:5])
    )


def _parse_json(raw: bytes, events: list[str]) -> dict:
    """The notebook file's JSON, checked for size and for a notebook's outline."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = raw.decode("utf-8", errors="replace")
        events.append(
            f"the notebook file is not valid UTF-8 (byte {exc.start}); "
            "undecodable bytes were replaced by U+FFFD"
        )
    brackets = text.count("{") + text.count("[")
    if brackets > MAX_BRACKETS:
        raise Ungradable(
            f"the notebook holds {brackets} JSON objects and arrays, over the limit of "
            f"{MAX_BRACKETS}"
        )
    try:
        data = json.loads(text)
        if _SURROGATE_ESCAPE.search(raw):
            data = _clean_tree(data)  # lone surrogates cannot be written back as UTF-8
    except (ValueError, RecursionError) as exc:
        raise Ungradable(f"corrupt notebook JSON: {str(exc)[:200]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        raise Ungradable("not a valid notebook: no 'nbformat' version number")
    version = data["nbformat"]
    if version == 4 and not isinstance(data.get("cells"), list):
        raise Ungradable("not a valid notebook: no list of 'cells'")
    if version not in (3, 4):
        raise Ungradable(f"not a valid notebook: nbformat {version} is not supported (use 4)")
    _check_size(data)
    return data


def _known_cell(cell) -> bool:
    return isinstance(cell, dict) and cell.get("cell_type") in ("code", "markdown", "raw")


def _plain_cell(cell) -> nbformat.NotebookNode:
    """A cell with text source, dict metadata and, for code, no outputs."""
    cell = nbformat.NotebookNode(cell)
    cell["source"] = _text(cell.get("source"))
    if not isinstance(cell.get("metadata"), dict):
        cell["metadata"] = nbformat.NotebookNode()
    if cell.cell_type == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    return cell


def _check_size(data: dict) -> None:
    """Refuse a notebook of more than MAX_CELLS cells or MAX_OBJECTS JSON containers; drop its
    saved outputs (they are never used, and nbformat would validate every object of them)."""
    cells = list(data.get("cells") or []) if isinstance(data.get("cells"), list) else []
    for sheet in data.get("worksheets") or []:  # nbformat 3
        if isinstance(sheet, dict) and isinstance(sheet.get("cells"), list):
            cells += sheet["cells"]
    if len(cells) > MAX_CELLS:
        raise Ungradable(f"the notebook has {len(cells)} cells, over the limit of {MAX_CELLS}")
    for cell in cells:
        if isinstance(cell, dict) and "outputs" in cell:
            cell["outputs"] = []
    count, stack = 0, [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        else:
            continue
        count += 1
        if count > MAX_OBJECTS:
            raise Ungradable(
                f"the notebook holds more than {MAX_OBJECTS} JSON objects and arrays "
                "(outputs not counted)"
            )


def fingerprint(folder: Path) -> str:
    """SHA-256 over the names and contents of the files of a submission (links not followed)."""
    h = hashlib.sha256()
    if not folder.is_dir():
        return "missing"
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            h.update(str(path.relative_to(folder)).encode("utf-8", "replace") + b"\0")
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                h.update(b"link:" + os.readlink(path).encode("utf-8", "replace"))
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    for chunk in iter(lambda f=f: f.read(1 << 20), b""):
                        h.update(chunk)
    return h.hexdigest()


# -- hidden tests --------------------------------------------------------------------------------
def hidden_line_range(source: str) -> tuple[int, int] | None:
    """1-based first and last line of the hidden-test block of a test cell, or None."""
    lines = source.splitlines()
    begin = next((i for i, s in enumerate(lines) if s.strip() == HIDDEN_BEGIN), None)
    if begin is None:
        return None
    end = next((i for i in range(begin, len(lines)) if lines[i].strip() == HIDDEN_END), None)
    return begin + 1, (end + 1 if end is not None else len(lines))


def strip_hidden_tests(source: str) -> str:
    """The source of a test cell as a student may see it."""
    pattern = re.compile(
        rf"^[ \t]*{re.escape(HIDDEN_BEGIN)}.*?(^[ \t]*{re.escape(HIDDEN_END)}[^\n]*\n?|\Z)",
        re.M | re.S,
    )
    return pattern.sub(HIDDEN_PLACEHOLDER + "\n", source).rstrip("\n")


# -- which names the tests take from the student -------------------------------------------------
def student_names(sources: list[str]) -> set[str]:
    """Module-level names bound or mutated by the instructor's answer cells.

    ``def f``, ``class C``, ``x = ...``, ``import m``, ``C.attr = ...`` (marks ``C``), ``global``
    declarations: tests look these names up in the student's process; every other name they use
    resolves to the test process's own copy (helpers and modules from the locked cells).
    """
    names: set[str] = set()

    def base(node):
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    def targets(node):
        if isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                yield from targets(elt)
        else:
            name = base(node)
            if name:
                yield name

    for source in sources:
        try:
            tree = ast.parse(_python_only(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                names.update(node.names)
        for node in tree.body:
            for sub in ast.walk(node) if not isinstance(node, _SCOPES) else [node]:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(sub.name)
                elif isinstance(sub, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                    for t in getattr(sub, "targets", None) or [sub.target]:
                        names.update(targets(t))
                elif isinstance(sub, (ast.For, ast.AsyncFor, ast.comprehension)):
                    names.update(targets(sub.target))
                elif isinstance(sub, (ast.With, ast.AsyncWith)):
                    for item in sub.items:
                        if item.optional_vars is not None:
                            names.update(targets(item.optional_vars))
                elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                    for alias in sub.names:
                        names.add((alias.asname or alias.name).split(".")[0])
                elif isinstance(sub, ast.NamedExpr):
                    names.update(targets(sub.target))
    return names


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _python_only(source: str) -> str:
    """Drop IPython magics and shell escapes so that ``ast`` can parse the rest."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )


# -- merging -------------------------------------------------------------------------------------
def _kind(meta: dict, cell_type: str) -> str:
    if cell_type != "code":
        return "manual" if meta.get("grade") and meta.get("solution") else "text"
    if meta.get("solution"):
        return "student"
    if meta.get("grade"):
        return "test"
    return "setup" if meta.get("locked") else "student"


def _fresh(cell):
    """A copy of an instructor's cell with its outputs cleared."""
    new = copy.deepcopy(cell)
    if new.cell_type == "code":
        new.outputs, new.execution_count = [], None
    return new


def _gid(cell):
    gid = _nbmeta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def _match(src_ids: dict, student, events: list[str]) -> tuple[dict, dict]:
    """Step 1: which submitted cell is which source cell.

    Returns ``taken`` (grade_id -> the student's first cell with it) and ``added`` (grade_id of
    the known cell that precedes them in the submission, or None -> the cells the student added
    there: unknown cells and extra copies of answer cells, without nbgrader metadata).
    """
    taken: dict[str, object] = {}
    added: dict[str | None, list] = {}
    after = None
    for cell in student.cells:
        gid = _gid(cell)
        src = src_ids.get(gid)
        if src is not None and gid not in taken:
            taken[gid] = cell
            after = gid
            continue
        if src is not None and not _nbmeta(src).get("solution"):
            events.append(f"dropped a duplicate of cell {gid!r}")
            continue
        new = copy.deepcopy(cell)  # a cell the student added: never a test, never worth points
        new.metadata.pop("nbgrader", None)
        added.setdefault(after, []).append(new)
    return taken, added


def _known(src, cell, release_ids: dict, events: list[str], answered: dict):
    """The merged cell for source cell ``src`` that the student submitted as ``cell``."""
    meta, gid = _nbmeta(src), _gid(src)
    new = _fresh(src)
    if meta.get("solution"):  # the student's answer, under the instructor's metadata
        new.source = _text(cell.get("source"))
        if meta.get("grade"):
            stub = _text(release_ids.get(gid, {}).get("source", ""))
            answered[gid] = new.source.strip() != stub.strip()
        return new
    given = _text(release_ids.get(gid, src).get("source")).strip()  # as handed out
    submitted = _text(cell.get("source")).strip()
    if submitted not in (given, _text(src.source).strip()) or (
        cell.get("cell_type") != src.cell_type
    ):
        what = "test cell" if meta.get("grade") else "locked cell"
        events.append(f"restored {what} {gid!r} (the submitted copy was edited)")
    return new


def _restore(src, events: list[str], answered: dict):
    """Step 3: a source cell missing from the submission: the instructor's copy, or None."""
    meta, gid = _nbmeta(src), _gid(src)
    if meta.get("solution"):
        if meta.get("grade"):
            answered[gid] = False
        events.append(f"answer cell {gid!r} is missing from the submission")
        return None
    if not (meta.get("locked") or meta.get("grade")):
        return None
    if src.cell_type == "code":
        what = "test cell" if meta.get("grade") else "locked cell"
        events.append(f"restored {what} {gid!r} (it was deleted)")
    return _fresh(src)


def _place(source, release, taken: dict, added: dict, events: list[str], answered: dict):
    """Step 2: the merged cells in the source's order of known cells, each followed by the
    cells the student added after it; known cells the student deleted are restored."""
    release_ids = {_gid(c): c for c in release.cells if _gid(c)}
    out, seen = list(added.get(None, [])), set()
    for src in source.cells:
        gid = _gid(src)
        if gid is None or gid in seen:  # not a cell the merge knows: the student's copy counts
            continue
        seen.add(gid)
        if gid in taken:
            out.append(_known(src, taken[gid], release_ids, events, answered))
            out.extend(added.get(gid, []))
        else:
            restored = _restore(src, events, answered)
            if restored is not None:
                out.append(restored)
    return out


def _plan_cells(cells: list) -> list[PlanCell]:
    plan_cells = []
    for i, cell in enumerate(cells):
        meta = _nbmeta(cell)
        kind = (
            _kind(meta, cell.cell_type)
            if meta
            else ("student" if cell.cell_type == "code" else "text")
        )
        plan_cells.append(
            PlanCell(
                index=i,
                kind=kind,
                grade_id=meta.get("grade_id"),
                points=float(meta.get("points", 0) or 0) if meta.get("grade") else 0.0,
                source=_text(cell.source),
            )
        )
    return plan_cells


def merge(source, release, student) -> Plan:
    """The notebook to grade: every cell the instructor's ``source`` knows (by grade_id) in the
    source's order, whatever order the submission uses. Answer cells hold the student's
    content; locked and test cells are the instructor's (edited or deleted ones are restored);
    cells the student added follow the known cell that precedes them in the submission."""
    events: list[str] = []
    answered: dict[str, bool] = {}
    src_ids: dict[str, object] = {}
    for cell in source.cells:
        gid = _gid(cell)
        if gid is not None:
            src_ids.setdefault(gid, cell)
    taken, added = _match(src_ids, student, events)
    out = _place(source, release, taken, added, events, answered)
    nb = copy.deepcopy(source)
    nb.cells = out
    return Plan(notebook=nb, cells=_plan_cells(out), events=events, answered=answered)
