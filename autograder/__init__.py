"""The grading tool's entry point in this repository: ``python -m autograder <command> ...``.

The tool itself is the package :mod:`dlcourse_grader` (``src/dlcourse_grader/``), installed
with ``pip install "dlcourse[course]"`` as the command ``dlcourse-grade``. This folder is not
installed: it only lets the commands of the README run from the repository root under the
name the course has always used, without a top-level ``autograder`` package in the wheel
(an unrelated project on PyPI has that name).
"""
