"""dlcourse_grader.lms without grading: reading LMS zips safely, rosters, the late rule."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest

from dlcourse_grader.course import Course
from dlcourse_grader.lms import PATTERNS, Policy, collect, read_roster

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def course(tmp_path):
    root = tmp_path / "course"
    (root / "source" / "ps1").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    (root / "roster.csv").write_text("id,name,email,lms_id\nada,Ada,a@x,11\nbob,Bob,b@x,22\n")
    return Course(root)


def make_zip(path, names: dict):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in names.items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "lms, path, lms_id, file",
    [
        ("canvas", "adalovelace_11_987_ps1.ipynb", "11", "ps1.ipynb"),
        ("canvas", "adalovelace_LATE_11_987_ps1.ipynb", "11", "ps1.ipynb"),
        ("canvas", "adalovelace_11_987_my_file_name.ipynb", "11", "my_file_name.ipynb"),
        ("moodle", "Ada Lovelace_11_assignsubmission_file_/ps1.ipynb", "11", "ps1.ipynb"),
        ("moodle", "Ada Lovelace_11_assignsubmission_file_/sub/data.csv", "11", "data.csv"),
    ],
)
def test_built_in_patterns(lms, path, lms_id, file):
    import re

    m = re.match(PATTERNS[lms], path)
    assert m and (m["lms_id"], m["file"]) == (lms_id, file)


def test_hostile_names_never_leave_the_submission_folder(course, tmp_path):
    z = make_zip(tmp_path / "evil.zip", {
        "ada_11_1_../../../../evil.py": "x",  # a path in the file part
        "bob_22_2_.hidden": "x",
        "bob_22_3_ps1.ipynb": "{}",
        "cat_33_4_ps1.ipynb": "{}",  # not in the roster
    })  # fmt: skip
    report = collect(course, "ps1", z)
    assert not (tmp_path / "evil.py").exists()
    assert not list(tmp_path.rglob("evil.py"))
    assert (course.root / "submitted" / "bob" / "ps1" / "ps1.ipynb").is_file()
    assert not (course.root / "submitted" / "bob" / "ps1" / ".hidden").exists()
    assert any("33" in u for u in report.unmatched)


def test_oversized_files_are_skipped(course, tmp_path, monkeypatch):
    import dlcourse_grader.lms as lms

    monkeypatch.setattr(lms, "MAX_FILE", 10)
    z = make_zip(tmp_path / "big.zip", {"ada_11_1_ps1.ipynb": "x" * 100})
    report = collect(course, "ps1", z)
    assert report.skipped and not (course.root / "submitted" / "ada").exists()


def test_not_a_zip_and_bad_options_are_clear_errors(course, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable zip"):
        collect(course, "ps1", bad)
    with pytest.raises(ValueError, match="'lms' argument"):
        collect(course, "ps1", bad, lms="blackboard")
    with pytest.raises(ValueError, match="No assignment 'ps9'"):
        collect(course, "ps9", bad)


def test_roster_ids_must_be_unique(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("id,name\nada,A\nada,B\n")
    with pytest.raises(ValueError, match="unique"):
        read_roster(path)
    path.write_text("name,email\nA,a@x\n")
    with pytest.raises(ValueError, match="'id' column"):
        read_roster(path)


def test_late_rule():
    policy = Policy(late_penalty=0.1, late_limit_days=3)
    assert [policy.penalty(d) for d in range(5)] == [0.0, 0.1, 0.2, pytest.approx(0.3), 1.0]
    assert Policy(late_penalty=0.6).penalty(2) == 1.0
    with pytest.raises(ValueError, match="late_penalty"):
        Policy.from_config({"Grades": {"late_penalty": 2}})
    with pytest.raises(ValueError, match="missing"):
        Policy.from_config({"Grades": {"missing": "nan"}})
    due = Policy(due={"ps1": "2026-10-08 23:59:00 UTC"}).due_date("ps1")
    assert due == dt.datetime(2026, 10, 8, 23, 59, tzinfo=dt.timezone.utc)
