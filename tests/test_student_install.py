"""A student's setup: a fresh virtual environment with only ``dlcourse[student]``.

From it, outside the repository, ``dlcourse-check`` runs the released ``training`` notebook
(non-zero exit and a readable table) and the solution (exit 0), without nbgrader or the course
folder; the instructor's command explains which extra it needs instead of a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv

import pytest

from .conftest import ROOT
from .nbtasks import copy_course

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def _run(cmd, cwd, timeout=900):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def student_env(tmp_path_factory):
    where = tmp_path_factory.mktemp("student")
    env_dir = where / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    constraints = ROOT / "requirements" / "constraints.txt"
    done = _run([str(python), "-m", "pip", "install", "--quiet", "-c", str(constraints),
                 f"{ROOT}[student]"], cwd=where, timeout=1800)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return {"bin": env_dir / "bin", "python": python, "home": where}


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    from dlcourse_grader.course import Course

    course = copy_course(tmp_path_factory.mktemp("course") / "course")
    Course(course).release("training")
    return course


def test_the_student_extra_has_no_grading_stack(student_env, released):
    probe = (
        "import importlib.util as u; "
        "print([m for m in ('nbgrader', 'psycopg2', 'sphinx') if u.find_spec(m)])"
    )
    done = _run([str(student_env["python"]), "-c", probe], cwd=student_env["home"])
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
    grade = str(student_env["bin"] / "dlcourse-grade")
    done = _run([grade, "export", "--course", str(released)], cwd=student_env["home"])
    assert done.returncode == 2
    assert 'pip install "dlcourse[course]"' in done.stderr and "Traceback" not in done.stderr


def test_check_the_release_and_the_solution(student_env, released, tmp_path):
    check = str(student_env["bin"] / "dlcourse-check")
    release = released / "release" / "training"
    done = _run([check, "training.ipynb"], cwd=release)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED" in done.stdout and "NotImplementedError" in done.stdout
    assert "visible tests: 0 of" in done.stdout and "graded by hand" in done.stdout
    # the solution, copied outside the course folder
    solution = tmp_path / "training.ipynb"
    solution.write_bytes((ROOT / "course" / "source" / "training" / "training.ipynb").read_bytes())
    done = _run([check, str(solution)], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: every visible test passes" in done.stdout
    assert "Traceback" not in done.stderr
    version = _run([check, "--version"], cwd=tmp_path)
    import dlcourse

    assert version.stdout.strip() == f"dlcourse {dlcourse.__version__}"
    assert sys.executable != str(student_env["python"])
