"""Command line of the grading tool: ``python -m autograder <command> ...`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .course import DEFAULT_COURSE, Course, validate_notebook


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Release, autograde, give feedback on and export grades of dlcourse "
        "assignments (nbgrader course layout).",
    )
    p.add_argument(
        "--course",
        type=Path,
        default=DEFAULT_COURSE,
        help="course folder holding nbgrader_config.py (default: %(default)s)",
    )
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("release", help="generate the student version in release/ASSIGNMENT")
    r.add_argument("assignment")

    a = sub.add_parser("autograde", help="grade submitted/*/ASSIGNMENT (one student at a time)")
    a.add_argument("assignment")
    a.add_argument("--student", action="append", help="only this student (repeatable)")
    a.add_argument(
        "--timeout",
        type=int,
        default=None,
        help="seconds a single cell may run before it is interrupted and fails",
    )

    f = sub.add_parser("feedback", help="write HTML feedback to feedback/")
    f.add_argument("assignment")
    f.add_argument("--student", default=None)

    e = sub.add_parser("export", help="write the gradebook as CSV")
    e.add_argument("--output", type=Path, default=None, help="CSV file (default: stdout)")

    v = sub.add_parser("validate", help="for students: run a notebook's visible tests")
    v.add_argument("notebook", type=Path)
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
        print(f"{r.student:<24} {r.status:<11} {score:>13}  {r.reason}")
    graded = [r for r in results if r.status == "graded"]
    print(f"{len(graded)} graded, {len(results) - len(graded)} ungradable")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            results = validate_notebook(args.notebook, invert=args.invert)
            if not results:
                print(
                    f"{args.notebook}: OK"
                    + (
                        " (every test fails, as a release should)"
                        if args.invert
                        else ": all visible tests pass"
                    )
                )
                return 0
            for kind, cells in results.items():
                for cell in cells:
                    print(f"--- {kind} ---\n{cell.get('source', '')[:400]}")
                    if cell.get("raw_error"):
                        print(cell["raw_error"])
            print(f"{args.notebook}: validation FAILED ({', '.join(results)})")
            return 1

        timeout = getattr(args, "timeout", None)
        course = Course(args.course, timeout=timeout)
        if args.command == "release":
            print(f"released to {course.release(args.assignment)}")
        elif args.command == "autograde":
            _print_table(course.autograde(args.assignment, args.student))
        elif args.command == "feedback":
            print(f"feedback in {course.feedback(args.assignment, args.student)}")
        elif args.command == "export":
            text = course.export_csv()
            if args.output:
                args.output.write_text(text)
                print(f"wrote {args.output}")
            else:
                sys.stdout.write(text)
        return 0
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
