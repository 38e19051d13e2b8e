"""Every example in dlcourse's docstrings runs, one test per documented object.

The test id names the object (``test_docstring_examples[dlcourse.sparse.ista.fista]``) and a
failure shows doctest's report: the file, the line, the example, what was expected and what
came out. This is ``pytest --doctest-modules src/dlcourse`` (which works too, with the same
option flags from pyproject) folded into the test suite, so that ``make test`` runs every
example without collecting the test helpers and course files as doctest modules as well.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil

import pytest

import dlcourse

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS

pytestmark = pytest.mark.timeout(300)


def _doctests() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder()
    found: dict[str, doctest.DocTest] = {}
    modules = [("dlcourse", dlcourse)] + [
        (info.name, importlib.import_module(info.name))
        for info in pkgutil.walk_packages(dlcourse.__path__, "dlcourse.")
    ]
    for name, module in modules:
        for test in finder.find(module, name):
            if test.examples:
                found.setdefault(test.name, test)
    return [found[k] for k in sorted(found)]


DOCTESTS = _doctests()


def test_the_package_has_examples():
    assert len(DOCTESTS) >= 100, f"only {len(DOCTESTS)} documented objects have examples"


@pytest.mark.parametrize("test", DOCTESTS, ids=lambda t: t.name)
def test_docstring_examples(test: doctest.DocTest):
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = io.StringIO()
    fresh = doctest.DocTest(
        test.examples, dict(test.globs), test.name, test.filename, test.lineno, test.docstring
    )
    try:
        runner.run(fresh, out=report.write)
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
    assert runner.failures == 0, f"{test.name}:\n{report.getvalue()}"
