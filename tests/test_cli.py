"""The grading tool's command line: every command's help, options before or after the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcourse_grader.cli import _parser, main


@pytest.mark.parametrize("command", ["release", "autograde", "feedback", "export", "validate"])
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
    assert default.course.name == "course" and default.db_url is None


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
