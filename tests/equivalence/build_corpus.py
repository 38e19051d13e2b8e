"""Write the corpus' own assignments (``course/source/pat_*``) and their submissions.

``python -m tests.equivalence.build_corpus`` (from the repository root) regenerates
``course/source/pat_*/`` and ``course/submitted/{correct,wrong}/pat_*/`` from the specs below,
and strips saved outputs from every notebook of the course tree (the nbgrader copies included).
The ``solution`` (the source itself) and ``blank`` (the release) students are made by the test.

Each pattern of issue 17 part 2 is one or more grade cells; every assignment has a ``correct``
submission (full marks on every autograded cell but ``test_stderr``, which nbgrader scores 0),
a ``wrong`` one (0 everywhere but ``test_squares`` in pat_multi and 1 of 3 in ``test_partial``)
and, in the test, the blank release (0 everywhere). Pattern -> grade cells:

- multi-notebook assignment: pat_multi (part1, part2), pat_effects (effects, files)
- ``### AUTOTEST`` / ``### HASHED AUTOTEST``: pat_manual autotest_squares, autotest_values
- task cell, manually graded markdown and code answers: pat_manual task1, manual_text,
  manual_code
- a test sets a global the student's function reads: pat_multi test_global_A
- a test ``del``s a student function: pat_multi test_uses_squares
- NumPy's global seed set by the test: pat_multi test_seed
- set, Counter, OrderedDict, namedtuple, dataclass, generator, student class, isinstance,
  inspect.getsource/signature, DataFrame: pat_multi test_set ... test_inspect, test_dataframe
- bool arrays, string arrays and sets passed in: pat_multi test_pass_in; Axes passed in:
  pat_effects test_axes_argument
- student-defined exception, np.linalg.LinAlgError: pat_effects test_student_exception,
  test_linalgerror
- in-place changes to dict and nested-list arguments: pat_effects test_inplace
- stdout captured by redirect_stdout and %%capture: test_redirect_stdout, test_capture_check
- plt.gca() sees the student's figure: test_gca
- mock.patch of a builtin (sorted forbidden): test_mock_sorted
- partial credit (last expression a number): test_partial; a test writing to stderr: test_stderr
- a file the student wrote, a data file and a helper module shipped in source/: pat_effects
  files test_student_file, test_data_file, test_helper
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
COURSE = HERE / "course"

_n = {"i": 0}


def _meta(**kw):
    _n["i"] += 1
    base = {"schema_version": 3, "grade": False, "solution": False, "locked": False}
    base.update(kw)
    base.setdefault("grade_id", f"cell-{_n['i']:03d}")
    return {"nbgrader": base}


def md(text):
    return ("md", text, None, None)


def code(text):
    """A plain code cell (no nbgrader metadata): runs as is in every notebook."""
    return ("code", text, None, None)


def setup(text, gid):
    return ("setup", text, gid, None)


def answer(solution, wrong, gid, correct=None):
    """An answer cell: ``solution`` carries BEGIN/END SOLUTION markers; the ``correct``
    student gets ``correct`` (default: the solution without markers), ``wrong`` gets ``wrong``."""
    return ("answer", solution, gid, (correct, wrong))


def test(text, gid, points):
    return ("test", text, gid, points)


def manual_md(solution, wrong, gid, points):
    return ("manual_md", solution, gid, (points, wrong))


def manual_code(solution, wrong, gid, points):
    return ("manual_code", solution, gid, (points, wrong))


def task(text, gid, points):
    return ("task", text, gid, points)


def _unmark(src: str) -> str:
    return "\n".join(
        line
        for line in src.splitlines()
        if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
    )


def _unhide(src: str) -> str:
    return re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", "", src, flags=re.S)


def build(spec, who: str | None):
    """The source notebook (``who=None``) or a student's submission (``"correct"``/``"wrong"``)."""
    cells = []
    for kind, text, gid, extra in spec:
        if kind == "md":
            cells.append(new_markdown_cell(text))
        elif kind == "code":
            cells.append(new_code_cell(text))
        elif kind == "setup":
            cells.append(new_code_cell(text, metadata=_meta(grade_id=gid, locked=True)))
        elif kind == "answer":
            correct, wrong = extra
            src = text if who is None else (correct or _unmark(text)) if who == "correct" else wrong
            cells.append(new_code_cell(src, metadata=_meta(grade_id=gid, solution=True)))
        elif kind == "test":
            src = text if who is None else _unhide(text)
            m = _meta(grade_id=gid, grade=True, locked=True, points=extra)
            cells.append(new_code_cell(src, metadata=m))
        elif kind in ("manual_md", "manual_code"):
            points, wrong = extra
            src = text if who is None else _unmark(text) if who == "correct" else wrong
            m = _meta(grade_id=gid, grade=True, solution=True, points=points)
            make = new_markdown_cell if kind == "manual_md" else new_code_cell
            cells.append(make(src, metadata=m))
        elif kind == "task":
            m = _meta(grade_id=gid, task=True, locked=True, points=extra)
            cells.append(new_markdown_cell(text, metadata=m))
        else:
            raise ValueError(kind)
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i:02d}"  # deterministic: rebuilding changes nothing
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


# ---------------------------------------------------------------------------------------------
# pat_multi: a two-notebook assignment. part1: globals set by a test, a test that `del`s a
# student function, NumPy's global seed set in the test. part2: types that are not plain data.

PART1 = [
    md("# Part 1: linear algebra and helpers"),
    setup("import numpy as np", "setup"),
    md("Write `eigen(M)` returning the eigenvalues of the symmetric matrix `M`, sorted."),
    answer(
        "def eigen(M):\n    ### BEGIN SOLUTION\n    return np.sort(np.linalg.eigvalsh(M))\n"
        "    ### END SOLUTION",
        "def eigen(M):\n    return np.zeros(len(M))",
        "eigen",
    ),
    md("Write `trace_of_A()` returning the trace of the global matrix `A` (set by the tests)."),
    answer(
        "def trace_of_A():\n    ### BEGIN SOLUTION\n    return float(np.trace(A))\n"
        "    ### END SOLUTION",
        "def trace_of_A():\n    return 0.0",
        "trace_of_A",
    ),
    test(
        "A = np.array([[2.0, 1.0], [1.0, 2.0]])\n"
        "assert np.allclose(eigen(A), [1.0, 3.0])\n"
        "assert trace_of_A() == 4.0\n"
        "### BEGIN HIDDEN TESTS\n"
        "A = np.diag([3.0, 1.0, 2.0])\n"
        "assert np.allclose(eigen(A), [1.0, 2.0, 3.0])\n"
        "assert trace_of_A() == 6.0\n"
        "### END HIDDEN TESTS",
        "test_global_A",
        2,
    ),
    md("`squares(n)` is `[1, 4, ..., n**2]`; `sum_of_squares(n)` must use `squares`."),
    answer(
        "def squares(n):\n    ### BEGIN SOLUTION\n    return [i * i for i in range(1, n + 1)]\n"
        "    ### END SOLUTION\n\n\ndef sum_of_squares(n):\n    ### BEGIN SOLUTION\n"
        "    return sum(squares(n))\n    ### END SOLUTION",
        "def squares(n):\n    return [i * i for i in range(1, n + 1)]\n\n\n"
        "def sum_of_squares(n):\n    return sum(i * i for i in range(1, n + 1))",
        "squares",
    ),
    test("assert squares(3) == [1, 4, 9]\nassert sum_of_squares(3) == 14", "test_squares", 1),
    test(
        '"""sum_of_squares relies on squares."""\n'
        "orig_squares = squares\n"
        "del squares\n"
        "try:\n    sum_of_squares(1)\nexcept NameError:\n    pass\n"
        "else:\n    raise AssertionError('sum_of_squares does not use squares')\n"
        "finally:\n    squares = orig_squares",
        "test_uses_squares",
        1,
    ),
    md("`noisy_mean(n)` averages `n` draws of `np.random.rand()` (the global generator)."),
    answer(
        "def noisy_mean(n):\n    ### BEGIN SOLUTION\n    return float(np.mean(np.random.rand(n)))\n"
        "    ### END SOLUTION",
        "def noisy_mean(n):\n    return float(np.mean(np.random.default_rng().random(n)))",
        "noisy_mean",
    ),
    test(
        "np.random.seed(7)\nexpected = float(np.mean(np.random.rand(5)))\n"
        "np.random.seed(7)\nassert noisy_mean(5) == expected",
        "test_seed",
        1,
    ),
]

PART2 = [
    md("# Part 2: Python's own types"),
    setup(
        "import inspect\nfrom collections import Counter, OrderedDict, namedtuple\n"
        "from dataclasses import dataclass\n\nimport numpy as np\nimport pandas as pd",
        "setup2",
    ),
    answer(
        "Point = namedtuple('Point', ['x', 'y'])\n\n\n@dataclass\nclass Item:\n"
        "    name: str\n    price: float\n\n\n"
        "def vowels(word):\n    ### BEGIN SOLUTION\n"
        "    return {ch for ch in word if ch in 'aeiou'}\n"
        "    ### END SOLUTION\n\n\ndef letter_counts(word):\n    ### BEGIN SOLUTION\n"
        "    return Counter(word)\n    ### END SOLUTION\n\n\ndef first_seen(words):\n"
        "    ### BEGIN SOLUTION\n    out = OrderedDict()\n    for i, w in enumerate(words):\n"
        "        out.setdefault(w, i)\n    return out\n    ### END SOLUTION\n\n\n"
        "def midpoint(p, q):\n    ### BEGIN SOLUTION\n"
        "    return Point((p.x + q.x) / 2, (p.y + q.y) / 2)\n    ### END SOLUTION\n\n\n"
        "def cheapest(items):\n    ### BEGIN SOLUTION\n"
        "    return min(items, key=lambda it: it.price)\n"
        "    ### END SOLUTION\n\n\ndef evens(n):\n    ### BEGIN SOLUTION\n"
        "    yield from range(0, n, 2)\n    ### END SOLUTION",
        "Point = namedtuple('Point', ['x', 'y'])\n\n\n@dataclass\nclass Item:\n"
        "    name: str\n    price: float\n\n\n"
        "def vowels(word):\n    return sorted(ch for ch in word if ch in 'aeiou')\n\n\n"
        "def letter_counts(word):\n    return dict.fromkeys(word, 1)\n\n\n"
        "def first_seen(words):\n    return {w: i for i, w in enumerate(words)}\n\n\n"
        "def midpoint(p, q):\n    return ((p.x + q.x) / 2, (p.y + q.y) / 2)\n\n\n"
        "def cheapest(items):\n    return Item('none', 0.0)\n\n\n"
        "def evens(n):\n    return list(range(0, n, 2))",
        "types",
    ),
    test("assert vowels('banana') == {'a'}\nassert isinstance(vowels('x'), set)", "test_set", 1),
    test(
        "c = letter_counts('abracadabra')\nassert isinstance(c, Counter)\n"
        "assert c.most_common(1) == [('a', 5)]",
        "test_counter",
        1,
    ),
    test(
        "d = first_seen(['b', 'a', 'b', 'c'])\n"
        "assert d == OrderedDict([('b', 0), ('a', 1), ('c', 3)])\n"
        "assert type(d) is OrderedDict",
        "test_ordereddict",
        1,
    ),
    test(
        "m = midpoint(Point(0, 0), Point(2, 4))\nassert m == Point(1.0, 2.0)\n"
        "assert isinstance(m, Point) and m._fields == ('x', 'y')",
        "test_namedtuple",
        1,
    ),
    test(
        "items = [Item('a', 3.0), Item('b', 1.5), Item('c', 2.0)]\n"
        "assert cheapest(items) == Item('b', 1.5)\nassert cheapest(items) is items[1]",
        "test_dataclass",
        1,
    ),
    test(
        "g = evens(7)\nassert inspect.isgenerator(g)\nassert next(g) == 0\n"
        "assert list(g) == [2, 4, 6]",
        "test_generator",
        1,
    ),
    md("A class `Stack` (`push`, `pop`, `len()`); `count_true(mask)` counts a boolean array."),
    answer(
        "class Stack:\n    ### BEGIN SOLUTION\n"
        "    def __init__(self):\n        self._items = []\n\n"
        "    def push(self, x):\n        self._items.append(x)\n\n    def pop(self):\n"
        "        return self._items.pop()\n\n    def __len__(self):\n"
        "        return len(self._items)\n    ### END SOLUTION\n\n\n"
        "def count_true(mask):\n    ### BEGIN SOLUTION\n    return int(np.count_nonzero(mask))\n"
        "    ### END SOLUTION\n\n\ndef longest(words):\n    ### BEGIN SOLUTION\n"
        "    return max(words, key=len)\n    ### END SOLUTION\n\n\n"
        "def total_of(values, wanted):\n    ### BEGIN SOLUTION\n"
        "    return sum(v for v in values if v in wanted)\n    ### END SOLUTION",
        "class Stack(list):\n    def push(self, x):\n        self.insert(0, x)\n\n\n"
        "def count_true(mask):\n    return len(mask)\n\n\n"
        "def longest(words):\n    return words[0]\n\n\n"
        "def total_of(values, wanted):\n    return 0",
        "classes",
    ),
    test(
        "s = Stack()\ns.push(1)\ns.push(2)\nassert len(s) == 2 and s.pop() == 2\n"
        "assert isinstance(s, Stack) and type(s).__name__ == 'Stack'\n"
        "assert not isinstance(s, list)",
        "test_class",
        1,
    ),
    test(
        "mask = np.array([True, False, True, True], dtype=bool)\nassert count_true(mask) == 3\n"
        "assert longest(np.array(['ab', 'abcd', 'abc'])) == 'abcd'\n"
        "assert total_of([1, 2, 3, 4], {2, 4}) == 6",
        "test_pass_in",
        1,
    ),
    test(
        "src = inspect.getsource(count_true)\nassert 'count_nonzero' in src\n"
        "assert list(inspect.signature(total_of).parameters) == ['values', 'wanted']",
        "test_inspect",
        1,
    ),
    answer(
        "def make_frame(names, scores):\n    ### BEGIN SOLUTION\n"
        "    return pd.DataFrame({'name': names, 'score': scores})\n    ### END SOLUTION\n\n\n"
        "def top_scorer(df):\n    ### BEGIN SOLUTION\n"
        "    return df.loc[df['score'].idxmax(), 'name']\n    ### END SOLUTION",
        "def make_frame(names, scores):\n    return {'name': names, 'score': scores}\n\n\n"
        "def top_scorer(df):\n    return df['name'][0]",
        "frames",
    ),
    test(
        "df = make_frame(['a', 'b'], [1, 3])\nassert isinstance(df, pd.DataFrame)\n"
        "pd.testing.assert_frame_equal(df, pd.DataFrame({'name': ['a', 'b'], 'score': [1, 3]}))\n"
        "assert top_scorer(pd.DataFrame({'name': ['x', 'y', 'z'], 'score': [5, 9, 2]})) == 'y'",
        "test_dataframe",
        1,
    ),
]

# ---------------------------------------------------------------------------------------------
# pat_manual: ### AUTOTEST cells, a task cell, manually graded markdown and code answers.

MANUAL = [
    md("# Autotests and manually graded work"),
    setup("import numpy as np", "setup"),
    answer(
        "def squares(n):\n    ### BEGIN SOLUTION\n    return [i * i for i in range(1, n + 1)]\n"
        "    ### END SOLUTION",
        "def squares(n):\n    return [i * i for i in range(n)]",
        "squares",
    ),
    test("### AUTOTEST squares(1); squares(3)", "autotest_squares", 2),
    answer(
        "### BEGIN SOLUTION\nanswer_int = 42\nanswer_words = ['b', 'a']\n### END SOLUTION",
        "answer_int = 41.0\nanswer_words = ['a', 'b']",
        "values",
    ),
    test("### AUTOTEST answer_int\n### HASHED AUTOTEST answer_words", "autotest_values", 2),
    task("Explain the trade-off between `squares` and a generator (task, 2 points).", "task1", 2),
    manual_md(
        "Why are eigenvalues of a symmetric matrix real?\n\n"
        "### BEGIN SOLUTION\nBecause the matrix equals its conjugate transpose.\n### END SOLUTION",
        "I do not know.",
        "manual_text",
        3,
    ),
    manual_code(
        "# plot the squares\n### BEGIN SOLUTION\nvals = squares(5)\n### END SOLUTION",
        "vals = None",
        "manual_code",
        2,
    ),
    test("assert squares(4)[-1] == 16", "test_squares", 1),
]

# ---------------------------------------------------------------------------------------------
# pat_effects: exceptions, in-place changes, printing, stderr, partial credit, mocking, files.

EFFECTS = [
    md("# Exceptions, side effects and printing"),
    setup(
        "import contextlib\nimport io\nimport sys\nfrom unittest import mock\n\n"
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "import numpy as np",
        "setup",
    ),
    answer(
        "class NegativeError(ValueError):\n    pass\n\n\ndef safe_sqrt(x):\n"
        "    ### BEGIN SOLUTION\n    if x < 0:\n        raise NegativeError(x)\n"
        "    return x ** 0.5\n    ### END SOLUTION\n\n\ndef solve(M, b):\n"
        "    ### BEGIN SOLUTION\n    return np.linalg.solve(M, b)\n    ### END SOLUTION",
        "class NegativeError(ValueError):\n    pass\n\n\ndef safe_sqrt(x):\n"
        "    return abs(x) ** 0.5\n\n\ndef solve(M, b):\n"
        "    return np.linalg.lstsq(M, b, rcond=None)[0]",
        "exceptions",
    ),
    test(
        "try:\n    safe_sqrt(-1)\nexcept NegativeError:\n    pass\n"
        "else:\n    raise AssertionError('no NegativeError')\nassert safe_sqrt(4) == 2",
        "test_student_exception",
        1,
    ),
    test(
        "try:\n    solve(np.zeros((2, 2)), np.ones(2))\nexcept np.linalg.LinAlgError:\n    pass\n"
        "else:\n    raise AssertionError('singular matrix accepted')",
        "test_linalgerror",
        1,
    ),
    answer(
        "def add_key(d, k):\n    ### BEGIN SOLUTION\n    d[k] = len(d)\n    ### END SOLUTION\n\n\n"
        "def zero_diagonal(rows):\n    ### BEGIN SOLUTION\n    for i in range(len(rows)):\n"
        "        rows[i][i] = 0\n    ### END SOLUTION",
        "def add_key(d, k):\n    d = dict(d)\n    d[k] = len(d)\n    return d\n\n\n"
        "def zero_diagonal(rows):\n    return [[0 if i == j else v for j, v in enumerate(r)]"
        " for i, r in enumerate(rows)]",
        "inplace",
    ),
    test(
        "d = {'a': 0}\nadd_key(d, 'b')\nassert d == {'a': 0, 'b': 1}\n"
        "rows = [[1, 2], [3, 4]]\nzero_diagonal(rows)\nassert rows == [[0, 2], [3, 0]]",
        "test_inplace",
        1,
    ),
    answer(
        "def greet(name):\n    ### BEGIN SOLUTION\n    print(f'Hello, {name}!')\n"
        "    ### END SOLUTION\n\n\ndef plot_line():\n    ### BEGIN SOLUTION\n"
        "    fig, ax = plt.subplots()\n    ax.plot([0, 1, 2], [0, 1, 4], label='squares')\n"
        "    ax.set_title('Squares')\n    ### END SOLUTION",
        "def greet(name):\n    return f'Hello, {name}!'\n\n\ndef plot_line():\n    plt.figure()",
        "printing",
    ),
    test(
        "buf = io.StringIO()\nwith contextlib.redirect_stdout(buf):\n    greet('Ada')\n"
        "assert buf.getvalue() == 'Hello, Ada!\\n'",
        "test_redirect_stdout",
        1,
    ),
    setup("%%capture captured\ngreet('Bob')", "capture_greet"),
    test("assert captured.stdout == 'Hello, Bob!\\n'", "test_capture_check", 1),
    test(
        "plt.close('all')\nplot_line()\nax = plt.gca()\nassert ax.get_title() == 'Squares'\n"
        "assert len(ax.lines) == 1 and list(ax.lines[0].get_ydata()) == [0, 1, 4]",
        "test_gca",
        1,
    ),
    answer(
        "def draw_on(ax):\n    ### BEGIN SOLUTION\n    ax.plot([0, 1], [1, 0])\n"
        "    ax.set_xlabel('x')\n    ### END SOLUTION",
        "def draw_on(ax):\n    fig, other = plt.subplots()\n    other.plot([0, 1], [1, 0])\n"
        "    other.set_xlabel('x')",
        "axes",
    ),
    test(
        "fig, ax = plt.subplots()\ndraw_on(ax)\n"
        "assert ax.get_xlabel() == 'x' and len(ax.lines) == 1",
        "test_axes_argument",
        1,
    ),
    answer(
        "def sort_desc(xs):\n    ### BEGIN SOLUTION\n    out = list(xs)\n"
        "    for i in range(len(out)):\n        for j in range(len(out) - 1 - i):\n"
        "            if out[j] < out[j + 1]:\n"
        "                out[j], out[j + 1] = out[j + 1], out[j]\n"
        "    return out\n    ### END SOLUTION",
        "def sort_desc(xs):\n    return sorted(xs, reverse=True)",
        "sorting",
    ),
    test(
        "import builtins\n"
        "with mock.patch.object(builtins, 'sorted', side_effect=AssertionError('sorted')):\n"
        "    assert sort_desc([3, 1, 2]) == [3, 2, 1]",
        "test_mock_sorted",
        1,
    ),
    test(
        "score = 0\nscore += safe_sqrt(9) == 3\ntry:\n    safe_sqrt(-4)\nexcept NegativeError:\n"
        "    score += 1\nd = {}\nadd_key(d, 'a')\nscore += d == {'a': 0}\nscore",
        "test_partial",
        3,
    ),
    test(
        "print('checking quietly', file=sys.stderr)\nassert safe_sqrt(1) == 1",
        "test_stderr",
        1,
    ),
]

# files: student writes a file; data file and helper module shipped in source/.
FILES = [
    md("# Files"),
    setup("import os\n\nimport helpers", "setup"),
    answer(
        "def save_report(values):\n    ### BEGIN SOLUTION\n    with open('report.txt', 'w') as f:\n"
        "        f.write(','.join(map(str, values)))\n    ### END SOLUTION\n\n\n"
        "def load_data():\n    ### BEGIN SOLUTION\n    with open('data/numbers.csv') as f:\n"
        "        return [int(x) for x in f.read().split(',')]\n    ### END SOLUTION\n\n\n"
        "def scaled():\n    ### BEGIN SOLUTION\n"
        "    return [helpers.scale(x) for x in load_data()]\n"
        "    ### END SOLUTION\n\n\nsave_report([1, 2, 3])",
        "def save_report(values):\n    pass\n\n\ndef load_data():\n    return []\n\n\n"
        "def scaled():\n    return []\n\n\nsave_report([1, 2, 3])",
        "files",
    ),
    test(
        "assert os.path.exists('report.txt')\nwith open('report.txt') as f:\n"
        "    assert f.read() == '1,2,3'",
        "test_student_file",
        1,
    ),
    test("assert load_data() == [3, 1, 4, 1, 5]", "test_data_file", 1),
    test("assert scaled() == [helpers.scale(x) for x in [3, 1, 4, 1, 5]]", "test_helper", 1),
]

HELPERS = '"""Helper module shipped beside the notebook."""\n\n\ndef scale(x):\n    return 10 * x\n'

ASSIGNMENTS = {
    "pat_multi": {"part1.ipynb": PART1, "part2.ipynb": PART2},
    "pat_manual": {"manual.ipynb": MANUAL},
    "pat_effects": {"effects.ipynb": EFFECTS, "files.ipynb": FILES},
}
EXTRA_FILES = {
    "pat_effects/helpers.py": HELPERS,
    "pat_effects/data/numbers.csv": "3,1,4,1,5",
}


def main() -> None:
    for name, notebooks in ASSIGNMENTS.items():
        for where in (
            COURSE / "source" / name,
            COURSE / "submitted" / "correct" / name,
            COURSE / "submitted" / "wrong" / name,
        ):
            shutil.rmtree(where, ignore_errors=True)
            where.mkdir(parents=True)
        for fname, spec in notebooks.items():
            nbformat.write(build(spec, None), COURSE / "source" / name / fname)
            for who in ("correct", "wrong"):
                nbformat.write(build(spec, who), COURSE / "submitted" / who / name / fname)
    for rel, text in EXTRA_FILES.items():
        path = COURSE / "source" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    yml = COURSE / "source" / "nbg_autotest" / "autotests.yml"
    shutil.copy(yml, COURSE / "source" / "pat_manual")
    for nb_path in sorted(COURSE.rglob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        changed = False
        for cell in nb.cells:
            if cell.cell_type == "code" and (cell.outputs or cell.execution_count):
                cell.outputs, cell.execution_count, changed = [], None, True
        if changed:
            nbformat.write(nb, nb_path)


if __name__ == "__main__":
    main()
