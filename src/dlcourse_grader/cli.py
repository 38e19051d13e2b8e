"""Command line of the grading tool: ``python -m autograder <command> ...`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from .course import Course


def _version() -> str:
    from dlcourse import __version__

    return __version__


def _common(defaults: bool) -> argparse.ArgumentParser:
    """--course and --db-url, accepted before or after the command (defaults set once)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--course",
        type=Path,
        default=None if defaults else argparse.SUPPRESS,
        help="course folder holding nbgrader_config.py (default: $DLCOURSE_COURSE, else "
        "./course if it has one, else the current folder)",
    )
    p.add_argument(
        "--db-url",
        default=None if defaults else argparse.SUPPRESS,
        help="gradebook database URL (default: the course config's, SQLite in the course folder); "
        "e.g. postgresql+psycopg2://user@host/db to share grading between machines",
    )
    return p


def _add_autograde(sub, common) -> None:
    a = sub.add_parser(
        "autograde",
        parents=[common],
        help="grade submitted/*/ASSIGNMENT (isolated, parallel, resumable)",
        description="Grade every submission of ASSIGNMENT that is new or changed since the last "
        "run (all of them with --force). Each runs in a sandbox; in isolated mode the tests run "
        "in a separate process, in compatible mode in the student's (as nbgrader does).",
    )
    a.add_argument(
        "--mode",
        choices=["isolated", "compatible"],
        default=None,
        help="override the assignment's mode (default: declared in its metadata, else chosen "
        "by the linter that `release` runs)",
    )
    a.add_argument("assignment")
    a.add_argument("--student", action="append", help="only this student, regraded (repeatable)")
    a.add_argument(
        "--timeout",
        type=int,
        default=None,
        help="seconds a single cell may run before it is stopped and fails",
    )
    a.add_argument("--jobs", "-j", type=int, default=1, help="submissions graded at once")
    a.add_argument("--force", action="store_true", help="regrade submissions already graded")
    a.add_argument(
        "--sandbox",
        choices=["auto", "strict", "off"],
        default="auto",
        help="auto: isolate, warn loudly if this machine cannot; strict: refuse to grade "
        "without isolation; off: no isolation (debugging only)",
    )
    a.add_argument("--memory-mb", type=int, default=None, help="memory limit per submission")
    a.add_argument(
        "--show-hidden",
        action="store_true",
        help="put hidden test code, messages and output in the graded notebooks and feedback",
    )
    a.add_argument(
        "--lease",
        type=float,
        default=120.0,
        help="seconds after which a submission claimed by a grader that died is taken over",
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dlcourse-grade",
        description="Release, autograde, give feedback on and export grades of nbgrader "
        "assignments (nbgrader course layout), with student code in a sandbox.",
        parents=[_common(defaults=True)],
    )
    p.add_argument("--version", action="version", version=f"dlcourse-grade {_version()}")
    common = _common(defaults=False)
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser(
        "release",
        parents=[common],
        help="generate the student version in release/ASSIGNMENT; say how it will be graded",
    )
    r.add_argument("assignment")

    _add_autograde(sub, common)

    f = sub.add_parser("feedback", parents=[common], help="write HTML feedback to feedback/")
    f.add_argument("assignment")
    f.add_argument("--student", default=None)

    e = sub.add_parser(
        "export",
        parents=[common],
        help="write the grades as CSV (with the roster, due dates and late penalties)",
    )
    e.add_argument("--output", type=Path, default=None, help="CSV file (default: stdout)")
    e.add_argument(
        "--format",
        choices=("long", "wide"),
        default="long",
        help="long: a row per student and assignment; wide: a row per student of the roster, "
        "a column per assignment (for an LMS gradebook import)",
    )

    c = sub.add_parser(
        "collect",
        parents=[common],
        help="put the submissions of an LMS zip (Canvas, Moodle) into submitted/",
    )
    c.add_argument("assignment")
    c.add_argument("zip", type=Path, help="the LMS download")
    c.add_argument("--lms", choices=("auto", "canvas", "moodle"), default="auto")
    c.add_argument(
        "--pattern",
        default=None,
        help="regular expression with groups 'file' and 'lms_id' (or 'student') matched "
        "against each path in the zip, instead of Canvas's and Moodle's names",
    )
    c.add_argument(
        "--force",
        action="store_true",
        help="replace a different submission already collected (kept in submitted/.replaced/)",
    )

    m = sub.add_parser(
        "grade-manually",
        parents=[common],
        help="grade written answers: list them, record one, or go through those left",
    )
    m.add_argument("assignment")
    m.add_argument("--list", action="store_true", help="list every written answer and its state")
    m.add_argument("--student", default=None)
    m.add_argument("--cell", default=None, help="the answer's grade_id (with --score)")
    m.add_argument("--notebook", default=None, help="when the cell id is in several notebooks")
    m.add_argument("--score", type=float, default=None, help="points to give (with --cell)")
    m.add_argument("--comment", default=None, help="the comment the student sees")

    v = sub.add_parser(
        "validate",
        help="for students: run a notebook's visible tests (the same as dlcourse-check)",
    )
    v.add_argument("notebook", type=Path)
    v.add_argument("--timeout", type=int, default=None, help="seconds per cell")
    v.add_argument(
        "--invert",
        action="store_true",
        help="succeed only if every test fails (checks a fresh release)",
    )
    return p


def _print_table(results) -> None:
    print(f"{'student':<24} {'status':<11} {'score':>13}  reason")
    for r in results:
        score = f"{r.score:g} / {r.max_score:g}" if r.score is not None else "-"
        print(f"{r.student:<24} {r.status:<11} {score:>13}  {r.reason[:120]}")
    print()
    print(summary(results))


def summary(results) -> str:
    """Counts by status, the reasons of the ungradable ones, and the score distribution."""
    graded = [r for r in results if r.status == "graded"]
    lines = [f"{len(graded)} graded, {len(results) - len(graded)} ungradable"]
    reasons: dict[str, int] = {}
    for r in results:
        if r.status != "graded":
            key = r.reason.split(":")[0][:80] or "unknown"
            reasons[key] = reasons.get(key, 0) + 1
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        lines.append(f"  ungradable ({n}): {reason}")
    faults = sum(1 for r in graded if r.reason)
    if faults:
        lines.append(f"  {faults} graded with faults (timeouts or crashes; see the reason column)")
    scored = [r for r in graded if r.score is not None and r.max_score]
    if scored:
        fractions = [r.score / r.max_score for r in scored]
        mean = sum(r.score for r in scored) / len(scored)
        lines.append(f"mean score {mean:.2f} / {scored[0].max_score:g}")
        bins = [0] * 5
        for f in fractions:
            bins[min(int(f * 5), 4)] += 1
        for i, n in enumerate(bins):
            lo, hi = 20 * i, 20 * (i + 1)
            bracket = "]" if i == 4 else ")"
            lines.append(f"  [{lo:3d}%, {hi:3d}%{bracket} {'#' * n} {n}")
    return "\n".join(lines)


def _validate(args) -> int:
    from dlcourse.check import main as check

    argv = [str(args.notebook)] + (["--invert"] if args.invert else [])
    return check(argv + (["--timeout", str(args.timeout)] if args.timeout else []))


def _release(course: Course, args) -> None:
    print(f"released to {course.release(args.assignment)}")
    mode, why, findings = course.grading_mode(args.assignment)
    print(f"grading mode: {mode} ({why})")
    if findings:
        print("test cells that cannot run in isolated mode:")
        for finding in findings:
            print(f"  {finding}")


def _autograde(course: Course, args) -> None:
    results = course.autograde(
        args.assignment,
        args.student,
        jobs=args.jobs,
        force=args.force,
        progress=True,
        sandbox=args.sandbox,
        limits={"memory_mb": args.memory_mb} if args.memory_mb else {},
        show_hidden=args.show_hidden,
        lease_seconds=args.lease,
        mode=args.mode,
    )
    _print_table(results)


def _feedback(course: Course, args) -> None:
    print(f"feedback in {course.feedback(args.assignment, args.student)}")


def _export(course: Course, args) -> None:
    text = course.export_csv(args.format)
    if args.output:
        args.output.write_text(text)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)


def _collect(course: Course, args) -> None:
    from .lms import collect

    report = collect(course, args.assignment, args.zip, args.pattern, args.lms, args.force)
    print(report.text())
    if report.kept or report.unmatched or report.skipped:
        print("(some files were not collected: see above)")


def _grade_manually(course: Course, args) -> None:
    from .manual import grade_interactively, record_manual_grade, written_answers

    if args.score is not None or args.cell is not None:
        if args.score is None or args.cell is None or args.student is None:
            raise ValueError("to record a grade, give --student, --cell and --score together")
        a = record_manual_grade(course, args.assignment, args.student, args.cell, args.score,
                                args.comment, args.notebook)  # fmt: skip
        print(f"{a.student} / {a.grade_id}: {a.manual_score:g} of {a.max_points:g} recorded")
        return
    if args.list:
        answers = written_answers(course, args.assignment, args.student, texts=False)
        print(f"{'student':<20} {'cell':<28} {'points':>9}  state")
        for a in answers:
            state = "TO GRADE" if a.to_grade else ("graded" if a.manual_score is not None
                                                   else "not answered")  # fmt: skip
            points = a.manual_score if a.manual_score is not None else a.auto_score
            shown = f"{points:g}/{a.max_points:g}" if points is not None else f"-/{a.max_points:g}"
            print(f"{a.student:<20} {a.grade_id:<28} {shown:>9}  {state}")
        left = sum(a.to_grade for a in answers)
        print(f"{left} of {len(answers)} written answers still to grade")
        return
    grade_interactively(course, args.assignment)


COMMANDS = {
    "release": _release,
    "autograde": _autograde,
    "feedback": _feedback,
    "export": _export,
    "collect": _collect,
    "grade-manually": _grade_manually,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # nbgrader 0.9.6's own gradebook code warns about its ORM use on every new submission
    warnings.filterwarnings("ignore", message=r"Object of type <Submitted", module="nbgrader")
    try:
        if args.command == "validate":
            return _validate(args)
        course = Course(args.course, timeout=getattr(args, "timeout", None), db_url=args.db_url)
        COMMANDS[args.command](course, args)
        return 0
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
