"""The grading tool's command line: every command's help, options before or after the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcourse_grader.cli import _parser, main


@pytest.mark.parametrize(
    "command",
    ["release", "autograde", "feedback", "export", "validate", "collect", "grade-manually"],
)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_course_and_db_url_before_or_after_the_command():
    before = _parser().parse_args(["--course", "/a", "--db-url", "sqlite://", "export"])
    after = _parser().parse_args(["export", "--course", "/a", "--db-url", "sqlite://"])
    assert before.course == after.course == Path("/a")
    assert before.db_url == after.db_url == "sqlite://"
    default = _parser().parse_args(["export"])
    assert default.course is None and default.db_url is None  # Course() picks the default
    for argv in (["--course", "/a", "collect", "ps1", "z.zip"],
                 ["collect", "ps1", "z.zip", "--course", "/a", "--force"],
                 ["grade-manually", "ps1", "--list", "--course", "/a"]):  # fmt: skip
        assert _parser().parse_args(argv).course == Path("/a")


def test_default_course_folder(tmp_path, monkeypatch):
    from dlcourse_grader.course import default_course

    monkeypatch.delenv("DLCOURSE_COURSE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_course() == Path(".")  # nbgrader's convention: the current folder
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "nbgrader_config.py").write_text("")
    assert default_course() == Path("course")  # the repository root
    monkeypatch.setenv("DLCOURSE_COURSE", "/srv/course")
    assert default_course() == Path("/srv/course")


def test_version(capsys):
    import dlcourse

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"dlcourse-grade {dlcourse.__version__}"


def test_no_course_folder_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DLCOURSE_COURSE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["export"]) == 2
    assert "No nbgrader_config.py" in capsys.readouterr().err


def test_mode_is_checked():
    assert _parser().parse_args(["autograde", "x", "--mode", "compatible"]).mode == "compatible"
    with pytest.raises(SystemExit):
        _parser().parse_args(["autograde", "x", "--mode", "sandboxed"])


def test_missing_course_is_a_clear_error(tmp_path, capsys):
    assert main(["export", "--course", str(tmp_path)]) == 2
    assert "No nbgrader_config.py" in capsys.readouterr().err


def test_a_course_config_without_a_timeout_gets_nbgraders_default(tmp_path):
    from dlcourse_grader.course import NBGRADER_TIMEOUT, Course

    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert Course(tmp_path).timeout == NBGRADER_TIMEOUT == 30
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.Execute.timeout = 7\n")
    assert Course(tmp_path).timeout == 7
