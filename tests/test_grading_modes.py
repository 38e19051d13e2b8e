"""The two execution modes: the release-time linter, and compatible mode end to end.

A tiny course, written here, is graded in compatible mode (every cell in the student's
sandboxed process, scored as nbgrader scores it) and, where it matters, in isolated mode:

- a test cell that sets a global the student's function reads works in both modes (isolated
  mode sends it across);
- partial credit (a number as a test cell's result) and a test cell writing to stderr are
  scored as nbgrader scores them;
- a student who records the hidden tests while they run and prints them later gets nothing
  of them into the graded notebook or the feedback;
- a student who patches the assertion helpers or the notebook's cell runner is flagged for
  review;
- an assignment of two notebooks is graded notebook by notebook, a missing one scoring 0.
"""

from __future__ import annotations

import copy
import json
import textwrap

import nbformat
import pytest

from dlcourse_grader.modes import choose_mode, declared_mode, lint_notebook

from .nbtasks import cell_meta, hand_in, index_of, tiny_course

pytestmark = [pytest.mark.grading, pytest.mark.slow]

TIMEOUT = 20  # seconds per cell; every cell here takes milliseconds
HIDDEN_SECRET = "expected_secret_value_4242"


def _code(source, **meta):
    return nbformat.v4.new_code_cell(textwrap.dedent(source).strip(), metadata=cell_meta(**meta))


def _notebook(*cells):
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def _main_notebook():
    return _notebook(
        _code(
            "import numpy as np\nfrom numpy.testing import assert_allclose",
            grade_id="setup",
            locked=True,
        ),
        _code(
            """
            def scale(v):
                ### BEGIN SOLUTION
                return FACTOR * np.asarray(v)
                ### END SOLUTION
            """,
            grade_id="scale",
            solution=True,
        ),
        _code(
            f"""
            FACTOR = 3  # a global the student's function reads
            assert_allclose(scale([1, 2]), [3, 6])
            ### BEGIN HIDDEN TESTS
            {HIDDEN_SECRET} = 12
            assert_allclose(scale([4]), [{HIDDEN_SECRET}])
            ### END HIDDEN TESTS
            """,
            grade_id="test_scale",
            grade=True,
            points=3,
        ),
        _code(
            """
            def answer():
                ### BEGIN SOLUTION
                return 42
                ### END SOLUTION
            """,
            grade_id="answer",
            solution=True,
        ),
        _code("1.5 if answer() == 42 else 0.0", grade_id="test_partial", grade=True, points=2),
        _code(
            "import sys\nassert answer() == 42\nprint('note', file=sys.stderr)",
            grade_id="test_stderr",
            grade=True,
            points=1,
        ),
        nbformat.v4.new_markdown_cell(
            "Explain your answer.", metadata=cell_meta("explain", task=True, points=2)
        ),
    )


def _second_notebook():
    return _notebook(
        _code(
            """
            def twice(x):
                ### BEGIN SOLUTION
                return 2 * x
                ### END SOLUTION
            """,
            grade_id="twice",
            solution=True,
        ),
        _code("assert twice(2) == 4", grade_id="test_twice", grade=True, points=1),
    )


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    sources = {"main.ipynb": _main_notebook(), "second.ipynb": _second_notebook()}
    course = tiny_course(tmp_path_factory.mktemp("modes"), "hw", sources, TIMEOUT)
    release = course.root / "release" / "hw"
    blank = {n: nbformat.read(release / n, as_version=4) for n in sources}

    def hand_in_hw(student, notebooks):
        hand_in(course, student, "hw", notebooks)

    hand_in_hw("solution", sources)
    hand_in_hw("blank", blank)
    hand_in_hw("only_main", {"main.ipynb": sources["main.ipynb"]})

    leak = copy.deepcopy(sources)
    cells = leak["main.ipynb"].cells
    cells[1].source = (
        "import builtins\nbuiltins._seen = []\nget_ipython().events.register("
        "'pre_run_cell', lambda info: builtins._seen.append(info.raw_cell))\n" + cells[1].source
    )
    cells[3].source = "print('\\n'.join(__import__('builtins')._seen))\n" + cells[3].source
    hand_in_hw("leak", leak)

    tamper = copy.deepcopy(blank)  # (the release starts with a cell of its own: find by id)
    answer_id = sources["main.ipynb"].cells[1].metadata["nbgrader"]["grade_id"]
    tamper["main.ipynb"].cells[index_of(tamper["main.ipynb"], answer_id)].source = (
        "import numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
        "import IPython.core.interactiveshell as s\n_run = s.InteractiveShell.run_cell\n"
        "def run(self, *a, **k):\n    r = _run(self, *a, **k)\n    r.error_in_exec = None\n"
        "    return r\ns.InteractiveShell.run_cell = run\n"
    )
    hand_in_hw("tamper", tamper)

    results = {r.student: r for r in course.autograde("hw", mode="compatible", sandbox="auto")}
    return course, results


def _grades(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        sub = gb.find_submission("hw", student)
        return {
            (nb.name, g.name): (g.auto_score, g.needs_manual_grade)
            for nb in sub.notebooks
            for g in nb.grades
        }


def test_solution_scored_as_nbgrader_would(graded):
    course, results = graded
    assert results["solution"].status == "graded", results["solution"].reason
    grades = _grades(course, "solution")
    assert grades[("main", "test_scale")] == (3.0, False)  # the test cell's global reached it
    assert grades[("main", "test_partial")] == (1.5, False)  # a number is partial credit
    assert grades[("main", "test_stderr")] == (0.0, False)  # stderr fails, as in nbgrader
    assert grades[("main", "explain")] == (None, True)  # a task cell waits for a person
    assert grades[("second", "test_twice")] == (1.0, False)
    assert results["solution"].score == 5.5
    assert results["solution"].mode == "compatible"
    assert not results["solution"].flags


def test_blank_scores_zero(graded):
    course, results = graded
    assert results["blank"].score == 0.0
    assert _grades(course, "blank")[("main", "explain")] == (None, True)


def test_missing_notebook_scores_zero_for_it_only(graded):
    course, results = graded
    result = results["only_main"]
    assert result.status == "graded"
    assert result.score == 4.5
    assert any("second.ipynb" in e and "scored 0" in e for e in result.events), result.events


def test_hidden_tests_never_reach_graded_notebook_or_feedback(graded):
    course, results = graded
    result = results["leak"]
    assert result.score == 5.5
    graded_nb = (course.root / "autograded" / "leak" / "hw" / "main.ipynb").read_text()
    assert HIDDEN_SECRET not in graded_nb
    assert any("quoted the hidden tests" in e for e in result.events), result.events
    course.feedback("hw", "leak")
    page = (course.root / "feedback" / "leak" / "hw" / "main.html").read_text()
    assert HIDDEN_SECRET not in page
    assert (course.root / "feedback" / "leak" / "hw" / "second.html").is_file()  # a page each


def test_tampering_is_flagged_for_review(graded):
    _, results = graded
    result = results["tamper"]
    assert "flagged for review" in result.reason
    assert any("numpy.testing.assert_allclose" in f for f in result.flags), result.flags
    assert any("run_cell" in f for f in result.flags), result.flags


def test_isolated_mode_sends_test_globals_but_knows_no_partial_credit(graded):
    """The same solution, isolated: the global the test cell sets reaches the student's
    function; a number as a test cell's result is not partial credit there (the linter's
    finding), so that cell gets its full points."""
    course, _ = graded
    [result] = course.autograde("hw", ["solution"], mode="isolated", sandbox="auto")
    points = {t["grade_id"]: t["points"] for t in result.tests}
    assert points["test_scale"] == 3.0, result.tests
    assert points["test_partial"] == 2.0
    assert result.mode == "isolated"


# -- the linter -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "test_source, reason",
    [
        ("FACTOR = 3\nassert scale(1) == 3", "sets global(s) FACTOR"),
        ("del helper\nassert scale(1) == 3", "deletes names"),
        ("from unittest.mock import patch\nwith patch('builtins.sorted'):\n    scale(1)", "mocks"),
        (
            "from IPython.utils.capture import capture_output\n"
            "with capture_output():\n    scale(1)",
            "captures",
        ),
        ("import matplotlib.pyplot as plt\nassert plt.gca().lines", "figures"),
        (
            "import inspect\nassert 'sorted' not in inspect.getsource(scale)",
            "inspects the student's code",
        ),
        (
            "import numpy as np\nnp.random.seed(0)\nassert scale(1)",
            "seeds a global random generator",
        ),
        ("assert open('out.txt').read() == '3'", "files"),
        ("%timeit scale(1)", "magics"),
        ("assert isinstance(scale(1), Result)", "student classes (Result)"),
        ("0.5 * (scale(1) == 3)", "partial credit"),
    ],
)
def test_linter_names_what_isolated_mode_cannot_do(test_source, reason):
    nb = _notebook(
        _code(
            "class ScaleError(Exception):\n    pass\n\nclass Result:\n    pass\n\n"
            "def helper():\n    return 1\n\ndef scale(v):\n    return FACTOR * v * helper()",
            grade_id="scale",
            solution=True,
        ),
        _code(test_source, grade_id="t", grade=True, points=1),
    )
    findings = lint_notebook(nb, "nb.ipynb")
    assert findings, test_source
    assert any(reason in f.reason for f in findings), [str(f) for f in findings]
    assert choose_mode({"nb.ipynb": nb})[0] == "compatible"


@pytest.mark.parametrize(
    "test_source",
    [
        "x = 2\nassert scale(x) == 6",
        "import io, contextlib\nf = io.StringIO()\n"
        "with contextlib.redirect_stdout(f):\n    scale(1)",
        "try:\n    scale(-1)\nexcept ScaleError:\n    pass",
        "import numpy as np\ntry:\n    scale(-1)\nexcept np.linalg.LinAlgError:\n    pass",
    ],
)
def test_linter_accepts_what_isolated_mode_can_do(test_source):
    nb = _notebook(
        _code(
            "class ScaleError(Exception):\n    pass\n\n"
            "def scale(v, factor=3):\n    return factor * v",
            grade_id="scale",
            solution=True,
        ),
        _code(test_source, grade_id="t", grade=True, points=1),
    )
    assert lint_notebook(nb, "nb.ipynb") == []


def test_linter_accepts_plain_tests_and_respects_declarations():
    nb = _notebook(
        _code(
            "def scale(v, factor=3):\n    out = factor * v\n    return out",
            grade_id="scale",
            solution=True,
        ),
        _code(
            "x = 2\nassert scale(x) == 6\nassert abs(scale(0.5) - 1.5) < 1e-12",
            grade_id="t",
            grade=True,
            points=1,
        ),
    )
    assert lint_notebook(nb, "nb.ipynb") == []
    assert choose_mode({"nb.ipynb": nb})[0] == "isolated"
    nb.metadata["autograder"] = {"mode": "compatible"}
    assert declared_mode({"nb.ipynb": nb}) == "compatible"
    assert choose_mode({"nb.ipynb": nb})[:2] == ("compatible", "declared in the notebook metadata")
    assert choose_mode({"nb.ipynb": nb}, "isolated")[0] == "isolated"
    nb.metadata["autograder"] = {"mode": "sandboxed"}
    with pytest.raises(ValueError, match="must be one of"):
        declared_mode({"nb.ipynb": nb})


def test_isolated_mode_seeds_and_working_folder(tmp_path):
    """Isolated mode: a test's ``np.random.seed`` seeds the student's generator too, and a
    relative path in a test finds the file the student's code wrote (its working folder)."""
    nb = _notebook(
        _code("import numpy as np", grade_id="setup", locked=True),
        _code(
            """
            def noise(n):
                ### BEGIN SOLUTION
                return np.random.rand(n)
                ### END SOLUTION
            """,
            grade_id="noise",
            solution=True,
        ),
        _code(
            "np.random.seed(7)\nfirst = noise(3)\nnp.random.seed(7)\n"
            "assert np.allclose(first, np.random.rand(3))",
            grade_id="test_noise",
            grade=True,
            points=1,
        ),
        _code(
            """
            def save(text):
                ### BEGIN SOLUTION
                with open("out.txt", "w") as f:
                    f.write(text)
                ### END SOLUTION
            """,
            grade_id="save",
            solution=True,
        ),
        _code(
            "save('hello')\nassert open('out.txt').read() == 'hello'",
            grade_id="test_save",
            grade=True,
            points=1,
        ),
    )
    course = tiny_course(tmp_path, "iso", {"iso.ipynb": nb}, TIMEOUT)
    hand_in(course, "solution", "iso", {"iso.ipynb": nb})
    [result] = course.autograde("iso", mode="isolated", sandbox="auto")
    assert result.score == 2.0, [t["message"] for t in result.tests]


def test_notebook_output_is_capped_as_a_whole():
    from dlcourse_grader.tester import NOTEBOOK_OUTPUT, cap_outputs

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x") for _ in range(100)])
    for cell in nb.cells:  # each cell within the per-cell cap, 2 MB in all
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a" * 20_000)]
    assert cap_outputs(nb) == 51
    assert len(nbformat.writes(nb)) < NOTEBOOK_OUTPUT + 50_000
    assert "size limit" in nb.cells[-1].outputs[-1].text
    assert nb.cells[0].outputs[0].text == "a" * 20_000  # what fits is kept as it was


def test_isolated_test_reading_files_does_not_follow_student_links(tmp_path):
    """A student's link in the working folder would resolve in the grader's own filesystem
    when a test opens it: the test's open fails instead (and the secret stays unread)."""
    secret = tmp_path / "instructor-secret.txt"
    secret.write_text("SECRET-ANSWER-71")
    nb = _notebook(
        _code(
            """
            def save(text):
                ### BEGIN SOLUTION
                with open("out.txt", "w") as f:
                    f.write(text)
                ### END SOLUTION
            """,
            grade_id="save",
            solution=True,
        ),
        _code(
            "save('hello')\ncontent = open('out.txt').read()\nassert content == 'hello', content",
            grade_id="test_save",
            grade=True,
            points=1,
        ),
    )
    course = tiny_course(tmp_path, "links", {"links.ipynb": nb}, TIMEOUT)
    hostile = copy.deepcopy(nb)
    hostile.cells[
        0
    ].source = f"import os\ndef save(text):\n    os.symlink({str(secret)!r}, 'out.txt')\n"
    hand_in(course, "linker", "links", {"links.ipynb": hostile})
    [result] = course.autograde("links", mode="isolated", sandbox="auto")
    assert result.score == 0.0
    assert "symbolic link" in result.tests[0]["message"], result.tests
    assert "SECRET-ANSWER-71" not in json.dumps(result.tests)


def test_isolated_tests_use_their_own_copy_of_what_answers_import(tmp_path):
    """An answer cell that imports numpy and patches it does not patch the tests' numpy."""
    nb = _notebook(
        _code(
            """
            import numpy as np

            def double(x):
                ### BEGIN SOLUTION
                return 2 * np.asarray(x)
                ### END SOLUTION
            """,
            grade_id="double",
            solution=True,
        ),
        _code("assert np.allclose(double([1, 2]), [2, 4])", grade_id="t", grade=True, points=1),
    )
    course = tiny_course(tmp_path, "imports", {"imports.ipynb": nb}, TIMEOUT)
    for student, answer in {
        "honest": nb.cells[0].source,
        "patcher": "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
        "def double(x):\n    return 0",
    }.items():
        sub = copy.deepcopy(nb)
        sub.cells[0].source = answer
        hand_in(course, student, "imports", {"imports.ipynb": sub})
    results = {r.student: r for r in course.autograde("imports", mode="isolated", sandbox="auto")}
    assert results["honest"].score == 1.0, results["honest"].tests
    assert results["patcher"].score == 0.0, results["patcher"].tests
