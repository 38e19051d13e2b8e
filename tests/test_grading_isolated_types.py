"""Isolated mode end to end: the kinds of values and the patterns of ordinary nbgrader tests
that cross the pipe (issue 17, part 2).

A tiny assignment, written here, has one test cell per pattern: sets, Counter, defaultdict,
namedtuples, dataclasses, generators, DataFrames, a matplotlib Axes passed in (used through a
reference served in the test process), the student's own exception class and NumPy's
LinAlgError caught by name, printed output captured with ``redirect_stdout``, in-place
changes of dicts of lists and nested lists. It is graded isolated: the solution scores full
marks, wrong answers score 0, and hostile answers (objects that equal everything, a set
subclass, a dataclass and a Counter subclass whose ``__eq__`` is always true, a generator that
never ends, an exception class whose metaclass claims every exception) score 0 too.
"""

from __future__ import annotations

import textwrap

import nbformat
import pytest

from .nbtasks import cell_meta, hand_in, tiny_course

pytestmark = [pytest.mark.grading, pytest.mark.slow]

TIMEOUT = 20  # seconds per cell


def _code(source, **meta):
    return nbformat.v4.new_code_cell(textwrap.dedent(source).strip(), metadata=cell_meta(**meta))


SETUP = """
import collections, contextlib, dataclasses, io, itertools
import numpy as np
import pandas as pd
"""

# (grade_id, solution, wrong, hostile, test): the answer cells define what the test uses
TASKS = [
    (
        "words",
        "def unique_words(text):\n    return set(text.split())",
        "def unique_words(text):\n    return set(text)",
        "class Liar(set):\n    def __eq__(self, other): return True\n    __hash__ = None\n"
        "def unique_words(text):\n    return Liar()",
        "assert unique_words('a b a') == {'a', 'b'}",
    ),
    (
        "counts",
        "def letter_counts(word):\n    return collections.Counter(word)",
        "def letter_counts(word):\n    return collections.Counter(set(word))",
        "class Liar(collections.Counter):\n    def __eq__(self, other): return True\n"
        "def letter_counts(word):\n    return Liar()",
        "c = letter_counts('abca')\n"
        "assert c == collections.Counter({'a': 2, 'b': 1, 'c': 1}) and c['a'] == 2",
    ),
    (
        "groups",
        "def group(words):\n    out = collections.defaultdict(list)\n"
        "    for w in words:\n        out[w[0]].append(w)\n    return out",
        "def group(words):\n    return {w[0]: [w] for w in words}",
        "class Always:\n    def __eq__(self, other): return True\n"
        "    def __getitem__(self, key): return []\n"
        "def group(words):\n    return Always()",
        "g = group(['ab', 'ac', 'b'])\nassert g == {'a': ['ab', 'ac'], 'b': ['b']}\n"
        "assert g['z'] == []",
    ),
    (
        "points",
        "Point = collections.namedtuple('Point', 'x y')\n"
        "def midpoint(p, q):\n    return Point((p.x + q.x) / 2, (p.y + q.y) / 2)",
        "Point = collections.namedtuple('Point', 'x y')\n"
        "def midpoint(p, q):\n    return Point(p.x + q.x, p.y + q.y)",
        "class Point(tuple):\n    def __new__(cls, x, y): return tuple.__new__(cls, (x, y))\n"
        "    x = property(lambda self: self[0])\n    y = property(lambda self: self[1])\n"
        "    def __eq__(self, other): return True\n    __hash__ = tuple.__hash__\n"
        "def midpoint(p, q):\n    return Point(0, 0)",
        "m = midpoint(Point(0, 0), Point(2, 4))\n"
        "assert m == Point(1, 2) and m.y == 2 and m == (1, 2)",
    ),
    (
        "items",
        "@dataclasses.dataclass\nclass Item:\n    name: str\n    price: float\n"
        "def cheapest(items):\n    return min(items, key=lambda i: i.price)",
        "@dataclasses.dataclass\nclass Item:\n    name: str\n    price: float\n"
        "def cheapest(items):\n    return items[0]",
        "@dataclasses.dataclass(eq=False)\nclass Item:\n    name: str\n    price: float\n"
        "    def __eq__(self, other): return True\n"
        "def cheapest(items):\n    return Item('none', 0.0)",
        "items = [Item('a', 2.0), Item('b', 1.0), Item('c', 3.0)]\n"
        "assert cheapest(items) == Item('b', 1.0)\nassert cheapest(items).name == 'b'",
    ),
    (
        "squares",
        "def squares(n):\n    for i in range(n):\n        yield i * i",
        "def squares(n):\n    for i in range(n):\n        yield i",
        "def squares(n):\n    while True:\n        yield from (0, 1, 4, 9)",
        "assert list(squares(4)) == [0, 1, 4, 9]\n"
        "assert list(itertools.islice(squares(10**9), 3)) == [0, 1, 4]",
    ),
    (
        "frame",
        "def add_total(df):\n    out = df.copy()\n    out['total'] = out['a'] + out['b']\n"
        "    return out",
        "def add_total(df):\n    out = df.copy()\n    out['total'] = out['a']\n    return out",
        "class Frame:\n    def __eq__(self, other): return True\n"
        "    def __getattr__(self, name): return self\n"
        "    def __call__(self, *a, **k): return True\n"
        "def add_total(df):\n    return Frame()",
        "df = pd.DataFrame({'a': [1, 2], 'b': [10, 20]})\ngot = add_total(df)\n"
        "assert isinstance(got, pd.DataFrame)\n"
        "pd.testing.assert_frame_equal(got, df.assign(total=[11, 22]))",
    ),
    (
        "scale",
        "class ScaleError(ValueError):\n    pass\n"
        "def scale(v, factor):\n    if factor < 0:\n        raise ScaleError('negative factor')\n"
        "    return [factor * x for x in v]",
        "class ScaleError(ValueError):\n    pass\n"
        "def scale(v, factor):\n    return [factor * x for x in v]",
        "class Meta(type):\n    def __instancecheck__(cls, obj): return True\n"
        "    def __subclasscheck__(cls, sub): return True\n"
        "class ScaleError(Exception, metaclass=Meta):\n    pass\n"
        "def scale(v, factor):\n    if factor < 0:\n        raise ZeroDivisionError('no')\n"
        "    return [factor * x for x in v]",
        "assert scale([1, 2], 2) == [2, 4]\ntry:\n    scale([1], -1)\nexcept ScaleError:\n"
        "    pass\nelse:\n    raise AssertionError('no ScaleError')",
    ),
    (
        "solve",
        "def solve(a, b):\n    return np.linalg.solve(a, b)",
        "def solve(a, b):\n    return np.linalg.lstsq(a, b, rcond=None)[0]",
        "class Meta(type):\n    def __instancecheck__(cls, obj): return True\n"
        "    def __subclasscheck__(cls, sub): return True\n"
        "class Anything(Exception, metaclass=Meta):\n    pass\n"
        "def solve(a, b):\n    if np.linalg.det(a) == 0:\n        raise Anything('singular')\n"
        "    return np.linalg.solve(a, b)",
        "assert np.allclose(solve(np.eye(2), np.ones(2)), 1.0)\n"
        "try:\n    solve(np.zeros((2, 2)), np.ones(2))\nexcept np.linalg.LinAlgError:\n"
        "    pass\nelse:\n    raise AssertionError('no LinAlgError')",
    ),
    (
        "report",
        "def report(x):\n    print(f'value: {x}')",
        "def report(x):\n    return f'value: {x}'",
        "class Out:\n    def __eq__(self, other): return True\ndef report(x):\n    return Out()",
        "buf = io.StringIO()\nwith contextlib.redirect_stdout(buf):\n    report(3)\n"
        "assert buf.getvalue() == 'value: 3\\n'",
    ),
    (
        "plot",
        "def draw(ax):\n    ax.plot([1, 2], [3, 4])\n    ax.set_title('line')",
        "def draw(ax):\n    ax.set_title('line')",
        "def draw(ax):\n    ax.set_title('line')\n    ax.get_lines = lambda: [1]\n"
        "    ax.figure.savefig('plot.png')",
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots()\ndraw(ax)\n"
        "assert ax.get_title() == 'line' and len(ax.get_lines()) == 1",
    ),
    (
        "stock",
        "def restock(inventory, name):\n    inventory.setdefault(name, []).append(1)\n"
        "def zero_diagonal(grid):\n    for i in range(len(grid)):\n        grid[i][i] = 0\n"
        "def tag(seen, x):\n    seen.add(x)",
        "def restock(inventory, name):\n    inventory = {name: [1]}\n"
        "def zero_diagonal(grid):\n    grid = [[0]]\n"
        "def tag(seen, x):\n    seen = {x}",
        "def restock(inventory, name):\n    return None\n"
        "def zero_diagonal(grid):\n    return None\n"
        "def tag(seen, x):\n    return None",
        "inv = {'a': [1]}\nrestock(inv, 'a')\nrestock(inv, 'b')\n"
        "assert inv == {'a': [1, 1], 'b': [1]}\n"
        "g = [[1, 2], [3, 4]]\nzero_diagonal(g)\nassert g == [[0, 2], [3, 0]]\n"
        "s = {1}\ntag(s, 2)\nassert s == {1, 2}",
    ),
]
POINTS = {grade_id: 1 for grade_id, *_ in TASKS}


def _notebook(kind: str):
    """The assignment's notebook with the answers of ``kind``: solution, wrong or hostile."""
    cells = [_code(SETUP, grade_id="setup", locked=True)]
    column = {"solution": 1, "wrong": 2, "hostile": 3}[kind]
    for task in TASKS:
        grade_id, test = task[0], task[4]
        answer = task[column]
        if kind == "solution":
            answer = f"### BEGIN SOLUTION\n{answer}\n### END SOLUTION"
        cells.append(_code(answer, grade_id=grade_id, solution=True))
        cells.append(_code(test, grade_id=f"test_{grade_id}", grade=True, points=1))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["autograder"] = {"mode": "isolated"}
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tiny_course(
        tmp_path_factory.mktemp("types"), "types", {"types.ipynb": _notebook("solution")}, TIMEOUT
    )
    for kind in ("solution", "wrong", "hostile"):
        hand_in(course, kind, "types", {"types.ipynb": _notebook(kind)})
    results = course.autograde("types", mode="isolated", sandbox="auto")
    return {
        r.student: (r, {t["grade_id"]: (t["points"], t["message"]) for t in r.tests})
        for r in results
    }


@pytest.mark.timeout(300)
def test_the_solution_scores_every_pattern(graded):
    result, tests = graded["solution"]
    assert result.mode == "isolated" and result.status == "graded", result.reason
    failed = {g: msg for g, (points, msg) in tests.items() if points != 1.0}
    assert not failed, "; ".join(f"{g}: {m}" for g, m in sorted(failed.items()))
    assert result.score == len(TASKS)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", ["wrong", "hostile"])
def test_wrong_and_hostile_answers_score_nothing(graded, kind):
    result, tests = graded[kind]
    assert result.status == "graded", result.reason
    passed = [g for g, (points, _) in tests.items() if points]
    assert not passed, ", ".join(sorted(passed))
    assert len(tests) == len(TASKS)
