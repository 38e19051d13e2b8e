"""Which execution mode an assignment is graded in, and the release-time linter that decides it.

Two modes (README, "Two execution modes"):

``compatible``
    nbgrader's semantics: every cell, tests included, runs in the student's process, in order,
    inside the sandbox. Any nbgrader assignment works; a test can be fooled by student code that
    patches what it uses (an integrity probe flags that for review).
``isolated``
    Student cells in the sandbox, test cells in a separate trusted process that sees the
    student's values through a pipe. Tampering cannot earn points, but a test that needs to
    share the student's process (set globals the student's functions read, mock, capture
    output, look at the student's figures or files, seed a global generator) cannot work.

An assignment declares its mode in its notebooks' metadata, ``{"autograder": {"mode": ...}}``.
One that does not is linted: isolated when no test cell needs the student's process,
compatible otherwise. :func:`lint` says which test cells cannot work isolated, and why.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

from .submission import _python_only

__all__ = [
    "MODES",
    "Finding",
    "lint_notebook",
    "declared_mode",
    "choose_mode",
    "shared_globals",
    "seeding_statements",
    "uses_files",
    "answer_imports",
    "bound_names",
    "helper_names",
]

MODES = ("isolated", "compatible")

_MOCKING = {"patch", "mock", "Mock", "MagicMock", "monkeypatch", "setattr"}
# what student code prints during a call reaches the test's sys.stdout, so redirect_stdout
# works isolated; IPython's capture_output of whole cells does not
_CAPTURE = {"capture_output"}
_FIGURES = {"gca", "gcf", "get_fignums", "findobj", "get_axes"}
_INTROSPECTION = {"getsource", "signature", "getmembers", "__code__", "__globals__", "dis"}
_SEEDING = {"seed", "manual_seed", "set_state", "setstate", "set_rng_state"}
_FILES = {"open", "listdir", "exists", "isfile", "load", "loadtxt", "genfromtxt", "read_csv",
          "Path", "scandir", "glob", "chdir", "getcwd"}  # fmt: skip


@dataclass(frozen=True)
class Finding:
    """A test cell that cannot work in isolated mode."""

    notebook: str
    grade_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.notebook}, test cell {self.grade_id!r}: {self.reason}"


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _parse(source: str) -> ast.Module | None:
    """The cell's syntax tree, IPython magics and shell lines left out; None if not Python."""
    try:
        return ast.parse(_python_only(source))
    except SyntaxError:
        return None


def _bound_at_top(tree: ast.Module) -> set[str]:
    """Names a cell binds at module level (assignments, defs, imports, loop targets)."""
    names: set[str] = set()
    for node in tree.body:
        for sub in ast.walk(node) if not isinstance(node, _SCOPES) else [node]:
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(sub.name)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in sub.names)
    return names


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _read_in_functions(tree: ast.Module) -> set[str]:
    """Free names read inside the top-level functions and classes of a cell: the globals they
    depend on (a closure's variables are local to the function around it)."""
    names: set[str] = set()
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        local: set[str] = set()
        loads: set[str] = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                (loads if isinstance(sub.ctx, ast.Load) else local).add(sub.id)
            elif isinstance(sub, ast.arg):
                local.add(sub.arg)
            elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                local.add(sub.name)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                local.update((a.asname or a.name).split(".")[0] for a in sub.names)
        names |= loads - local
    return names


def _attribute_names(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.Name):
            found.add(node.id)
    return found


@dataclass(frozen=True)
class _Answers:
    """What the answer cells define and read, as the linter needs it."""

    bound: set[str]  # names they bind at module level
    reads: set[str]  # globals their functions read
    classes: set[str]  # classes they define
    shipped: set[str]  # modules shipped beside the notebook


def _named(names: set[str], words: set[str], why: str) -> list[str]:
    found = names & words
    return [f"{why} ({', '.join(sorted(found))})"] if found else []


def _shared_state(tree: ast.Module, answers: _Answers) -> list[str]:
    """Globals set for the student's functions, names deleted, generators seeded."""
    reasons = []
    shared = (_bound_at_top(tree) & answers.reads) - answers.bound
    if shared:
        reasons.append(
            f"sets global(s) {', '.join(sorted(shared))} that the student's functions read"
        )
    if any(isinstance(n, ast.Delete) for n in ast.walk(tree)):
        reasons.append("deletes names (e.g. a student function) in the student's namespace")
    seeded = {
        n.func.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
        and n.func.attr in _SEEDING
    }  # fmt: skip
    if seeded:
        reasons.append(
            "seeds a global random generator the student's code may draw from "
            f"({', '.join(sorted(seeded))})"
        )
    return reasons


def _process_access(tree: ast.Module) -> list[str]:
    """Mocking, captured output, figures, introspection, files: all live in the process."""
    names = _attribute_names(tree)
    return [
        *_named(names, _MOCKING, "mocks or patches objects the student's code uses"),
        *_named(names, _CAPTURE, "captures or reads what the student's code prints"),
        *_named(names, _FIGURES, "inspects the student's matplotlib figures"),
        *_named(names, _INTROSPECTION, "inspects the student's code (source, signature, globals)"),
        *_named(names, _FILES, "uses files or the working directory of the submission"),
    ]


def _student_types(tree: ast.Module, answers: _Answers) -> list[str]:
    """Classes and modules that exist only on the student's side."""
    reasons = []  # exceptions cross by name (a student's class, numpy's LinAlgError): fine
    checked = {
        n.args[1].id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        and n.func.id in ("isinstance", "issubclass") and len(n.args) == 2
        and isinstance(n.args[1], ast.Name)
    }  # fmt: skip
    reasons += _named(checked, answers.classes, "checks types against student classes")
    imported = {
        (a.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for a in node.names
    }
    reasons += _named(imported, answers.shipped, "imports modules shipped with the assignment")
    return reasons


def _test_cell_reasons(source: str, answers: _Answers) -> list[str]:
    """Why one test cell needs the student's process (empty: it can run isolated)."""
    if any(line.strip().startswith(("%", "!")) for line in source.splitlines()):
        return ["uses IPython magics or shell commands (they run in the student's kernel)"]
    tree = _parse(source)
    if tree is None:
        return ["is not plain Python (it cannot be parsed)"]
    reasons = _shared_state(tree, answers) + _process_access(tree) + _student_types(tree, answers)
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr) and not isinstance(last.value, (ast.Call, ast.Constant)):
        reasons.append("ends in an expression, whose value nbgrader takes as partial credit")
    return reasons


def bound_names(source: str) -> set[str]:
    """The names a cell binds at module level (functions, classes, assignments, imports)."""
    tree = _parse(source)
    return _bound_at_top(tree) if tree is not None else set()


def helper_names(source: str) -> set[str]:
    """The functions, classes and imports a cell defines at module level (a locked cell's
    helpers, which student code has no reason to redefine)."""
    tree = _parse(source)
    found: set[str] = set()
    for node in tree.body if tree is not None else []:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    return found


def _answers(sources: list[str], shipped: set[str] = frozenset()) -> _Answers:
    """What the answer cells bind, the globals their functions read, their classes."""
    bound: set[str] = set()
    reads: set[str] = set()
    classes: set[str] = set()
    for source in sources:
        tree = _parse(source)
        if tree is not None:
            bound |= _bound_at_top(tree)
            reads |= _read_in_functions(tree)
            classes |= {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    return _Answers(bound, reads - bound - set(dir(builtins)), classes, set(shipped))


def shared_globals(answer_sources: list[str]) -> set[str]:
    """Globals that the answer cells' functions read but do not define: a test cell that sets
    one means the student's function to see it (isolated mode sends it across)."""
    return _answers(answer_sources).reads


def answer_imports(answer_sources: list[str]) -> dict[str, tuple[str, str | None]]:
    """Names the answer cells bind only by importing, as ``{name: (module, attribute)}``:
    ``import numpy as np`` gives ``{"np": ("numpy", None)}``, ``from math import sqrt`` gives
    ``{"sqrt": ("math", "sqrt")}``. Isolated mode's tests use their own copy of these (a
    student's patched numpy must not become the tests' numpy)."""
    imports: dict[str, tuple[str, str | None]] = {}
    assigned: set[str] = set()
    for source in answer_sources:
        tree = _parse(source)
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        imports[a.asname] = (a.name, None)
                    else:
                        top = a.name.split(".")[0]
                        imports[top] = (top, None)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    if a.name != "*":
                        imports[a.asname or a.name] = (node.module, a.name)
            else:
                assigned |= _bound_at_top(ast.Module(body=[node], type_ignores=[]))
    return {k: v for k, v in imports.items() if k not in assigned}


def uses_files(source: str) -> bool:
    """Whether a test cell may read files (``open``, ``np.load``, ``os.listdir``...)."""
    tree = _parse(source)
    return tree is None or bool(_attribute_names(tree) & _FILES)


def seeding_statements(source: str) -> list[tuple[str, str, str]]:
    """The top-level calls of a test cell that seed a global random generator, as
    ``(object, method, arguments)`` source texts: ``np.random.seed(0)`` gives
    ``("np.random", "seed", "0")``; only calls whose arguments are constants."""
    tree = _parse(source)
    if tree is None:
        return []
    found = []
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr in _SEEDING
            and not call.keywords
            and all(isinstance(a, ast.Constant) for a in call.args)
        ):
            args = ", ".join(ast.unparse(a) for a in call.args)
            found.append((ast.unparse(call.func.value), call.func.attr, args))
    return found


def lint_notebook(nb, name: str, shipped: set[str] = frozenset()) -> list[Finding]:
    """The test cells of notebook ``nb`` that cannot run in isolated mode, with the reason.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The instructor's notebook (with hidden tests and, for AUTOTEST, as the gradebook
        records it).
    name : str
        The notebook's file name, for the messages.
    shipped : set of str
        Module names of the ``.py`` files shipped beside the notebook.
    """
    sources = [c.source for c in nb.cells if c.cell_type == "code" and _meta(c).get("solution")]
    answers = _answers(sources, shipped)
    findings = []
    for cell in nb.cells:
        meta = _meta(cell)
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        for reason in _test_cell_reasons(cell.source, answers):
            findings.append(Finding(name, str(meta.get("grade_id")), reason))
    return findings


def declared_mode(notebooks: dict) -> str | None:
    """The mode the notebooks' metadata declares (``None`` when none does).

    Raises
    ------
    ValueError
        For an unknown mode, or notebooks of one assignment that declare different modes.
    """
    declared = {}
    for name, nb in notebooks.items():
        mode = (nb.metadata.get("autograder") or {}).get("mode")
        if mode is not None:
            if mode not in MODES:
                raise ValueError(
                    f"{name}: metadata autograder.mode must be one of {MODES}. Got {mode!r}."
                )
            declared[name] = mode
    if len(set(declared.values())) > 1:
        raise ValueError(f"the notebooks of one assignment declare different modes: {declared}")
    return next(iter(declared.values()), None)


def choose_mode(
    notebooks: dict, requested: str | None = None, shipped: set[str] = frozenset()
) -> tuple[str, str, list[Finding]]:
    """The mode to grade in, why, and the linter's findings.

    ``requested`` (the command line) wins, then the notebooks' declared mode; otherwise
    isolated exactly when the linter finds nothing.
    """
    findings = [f for name, nb in notebooks.items() for f in lint_notebook(nb, name, shipped)]
    if requested is not None:
        if requested not in MODES:
            raise ValueError(f"The 'mode' argument must be one of {MODES}. Got {requested!r}.")
        return requested, "chosen on the command line", findings
    declared = declared_mode(notebooks)
    if declared is not None:
        return declared, "declared in the notebook metadata", findings
    if findings:
        return "compatible", f"{len(findings)} test cell(s) need the student's process", findings
    return "isolated", "no test cell needs the student's process", findings
