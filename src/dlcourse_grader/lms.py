"""Submissions in from an LMS download, grades out to an LMS gradebook.

**In.** Canvas and Moodle hand an instructor one zip of every submission, named after the
student: Canvas flattens them to ``<name>[_LATE]_<user id>_<submission id>_<file>`` (a
resubmitted file becomes ``<file>-1.ipynb``), Moodle puts each in a folder
``<Full Name>_<participant id>_assignsubmission_file_/<file>``. :func:`collect` reads the zip
(never extracting it as it stands), finds each file's LMS id with a regular expression, maps it
to the course's student id through the roster, and writes ``submitted/<student>/<assignment>/``
with the file under its own name and nbgrader's ``timestamp.txt`` (the zip entry's time, UTC).
A submission already there is kept unless it is identical or ``force`` is given (then the old
one is moved to ``submitted/.replaced/``): nothing is overwritten silently, and the report says
what went where.

**Out.** :func:`grade_rows` joins the gradebook with the roster (every student of the roster,
whether they submitted or not), submission times, due dates and a late penalty, for
``export`` in long format (one row per student and assignment) or wide format (one row per
student, one column per assignment, as LMS gradebook imports want).

Settings, in the course's ``nbgrader_config.py`` (all optional)::

    c.Grades.roster = "roster.csv"           # id,name,email,lms_id (course folder)
    c.Grades.due = {"training": "2026-10-08 23:59:00 UTC"}
    c.Grades.late_penalty = 0.1              # fraction of the score lost per started day late
    c.Grades.late_limit_days = 7             # later than this: 0
    c.Grades.missing = "zero"                # or "blank": a missing submission in wide format
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "PATTERNS",
    "Policy",
    "read_roster",
    "collect",
    "CollectReport",
    "grade_rows",
    "long_csv",
    "wide_csv",
]

# A file's LMS id and name inside an LMS zip (matched against the entry's full path).
PATTERNS = {
    "canvas": (
        r"^(?:.*/)?(?P<name>[^/_]+?)(?:_LATE)?_(?P<lms_id>\d+)_(?P<submission>\d+)"
        r"_(?P<file>[^/]+)$"
    ),
    "moodle": (
        r"^(?:.*/)?(?P<name>[^/]+?)_(?P<lms_id>\d+)_assignsubmission_(?:file|onlinetext)_/"
        r"(?:.*/)?(?P<file>[^/]+)$"
    ),
}
MAX_FILE = 50 * 2**20  # bytes per file taken from a zip
MAX_TOTAL = 2 * 2**30  # bytes in all
ROSTER_FIELDS = ("id", "name", "email", "lms_id")
_RESUBMITTED = re.compile(r"^(?P<stem>.+?)-(?P<n>\d+)(?P<ext>\.[A-Za-z0-9]+)$")


@dataclass
class Policy:
    """Roster, due dates and late rules of a course (``c.Grades`` in nbgrader_config.py)."""

    roster: str | None = None
    due: dict = field(default_factory=dict)
    late_penalty: float = 0.0
    late_limit_days: float = math.inf
    missing: str = "zero"

    @classmethod
    def from_config(cls, config) -> Policy:
        section = config.get("Grades", {}) if hasattr(config, "get") else {}
        policy = cls(
            roster=section.get("roster"),
            due=dict(section.get("due", {}) or {}),
            late_penalty=float(section.get("late_penalty", 0.0)),
            late_limit_days=float(section.get("late_limit_days", math.inf)),
            missing=str(section.get("missing", "zero")),
        )
        if not 0 <= policy.late_penalty <= 1:
            raise ValueError(
                f"c.Grades.late_penalty must be between 0 and 1. Got {policy.late_penalty}."
            )
        if policy.missing not in ("zero", "blank"):
            raise ValueError(f"c.Grades.missing must be 'zero' or 'blank'. Got {policy.missing!r}.")
        return policy

    def due_date(self, assignment: str) -> dt.datetime | None:
        text = self.due.get(assignment)
        return parse_time(text) if text else None

    def penalty(self, days_late: int) -> float:
        """The fraction of the score lost for ``days_late`` started days."""
        if days_late <= 0:
            return 0.0
        if days_late > self.late_limit_days:
            return 1.0
        return min(1.0, days_late * self.late_penalty)


def parse_time(text: str) -> dt.datetime:
    """A UTC time from nbgrader's ``timestamp.txt`` format or ISO 8601."""
    from nbgrader.utils import parse_utc

    value = parse_utc(str(text).strip())
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def read_roster(path: Path) -> list[dict]:
    """The roster's rows (id, name, email, lms_id); ids must be unique and non-empty."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("id",) if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: the roster needs an 'id' column (and name, email, lms_id).")
        rows = [{k: (r.get(k) or "").strip() for k in ROSTER_FIELDS} for r in reader]
    ids = [r["id"] for r in rows]
    bad = sorted({i for i in ids if not i or ids.count(i) > 1})
    if bad:
        raise ValueError(f"{path}: student ids must be unique and non-empty; check {bad[:5]}.")
    return rows


def _safe_id(student: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}", student):
        raise ValueError(f"unusable student id {student!r} (letters, digits, . _ @ - only)")
    return student


def _safe_file(name: str) -> str | None:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    if not name or name.startswith(".") or name in ("..",) or not name.isprintable():
        return None
    return name


@dataclass
class CollectReport:
    """What :func:`collect` did with each entry of the zip."""

    placed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # already there and different: not replaced
    replaced: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = []
        for label, items in [
            ("placed", self.placed),
            ("replaced (old copy in submitted/.replaced/)", self.replaced),
            ("unchanged (already collected)", self.unchanged),
            ("NOT replaced: a different submission is there (use --force)", self.kept),
            ("NOT matched to a student of the roster", self.unmatched),
            ("skipped", self.skipped),
        ]:
            if items:
                lines.append(f"{label}: {len(items)}")
                lines += [f"  {item}" for item in items]
        return "\n".join(lines) or "the zip holds no file"


def _digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


def _folder_files(folder: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in folder.iterdir()
        if p.is_file() and p.name != "timestamp.txt"
    }


def collect(
    course,
    assignment: str,
    zip_path: Path,
    pattern: str | None = None,
    lms: str = "auto",
    force: bool = False,
) -> CollectReport:
    """Put the submissions of an LMS zip into ``submitted/`` (see the module docstring).

    Parameters
    ----------
    course : Course
        The course (its roster maps LMS ids to student ids).
    assignment : str
        The assignment the zip holds.
    zip_path : Path
        The LMS download.
    pattern : str, optional
        A regular expression with named groups ``file`` and ``lms_id`` (or ``student``: the
        course's id itself), matched against each entry's path; default: Canvas's and Moodle's.
    lms : {"auto", "canvas", "moodle"}
        Which built-in pattern to use when ``pattern`` is not given.
    force : bool
        Replace a different submission already collected (the old one is kept aside).
    """
    course._check_assignment(assignment)
    if lms not in ("auto", *PATTERNS):
        raise ValueError(f"The 'lms' argument must be auto, canvas or moodle. Got {lms!r}.")
    if pattern is not None:
        regexes = [re.compile(pattern)]
        if "file" not in regexes[0].groupindex or not (
            {"lms_id", "student"} & set(regexes[0].groupindex)
        ):
            raise ValueError("--pattern needs the named groups 'file' and 'lms_id' or 'student'.")
    else:
        regexes = [re.compile(PATTERNS[k]) for k in (PATTERNS if lms == "auto" else [lms])]
    policy = course.policy()
    roster = course.roster()
    by_lms = {r["lms_id"]: r["id"] for r in roster if r["lms_id"]}
    known_ids = {r["id"] for r in roster}
    report = CollectReport()
    wanted: dict[str, dict[str, tuple[int, bytes]]] = {}  # student -> file -> (version, data)
    times: dict[str, dt.datetime] = {}
    total = 0
    try:
        archive = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{zip_path} is not a readable zip file ({exc}).") from None
    with archive:
        for info in archive.infolist():
            path = info.filename
            if info.is_dir() or "__MACOSX" in path or path.rsplit("/", 1)[-1].startswith("."):
                continue
            match = next((m for r in regexes if (m := r.match(path))), None)
            if match is None:
                report.unmatched.append(f"{path}: no student id in the name")
                continue
            groups = match.groupdict()
            student = groups.get("student") or by_lms.get(groups.get("lms_id") or "")
            if student is None and not roster and groups.get("lms_id"):
                student = groups["lms_id"]  # no roster: the LMS id is the student id
            if student is None or (roster and student not in known_ids):
                report.unmatched.append(
                    f"{path}: LMS id {groups.get('lms_id')} is not in the roster"
                )
                continue
            try:
                student = _safe_id(student)
            except ValueError as exc:
                report.skipped.append(f"{path}: {exc}")
                continue
            name = _safe_file(groups["file"])
            if name is None:
                report.skipped.append(f"{path}: not a usable file name")
                continue
            if info.file_size > MAX_FILE or total + info.file_size > MAX_TOTAL:
                report.skipped.append(f"{path}: too large ({info.file_size} bytes)")
                continue
            with archive.open(info) as f:
                data = f.read(MAX_FILE + 1)
            if len(data) > MAX_FILE:
                report.skipped.append(f"{path}: too large")
                continue
            total += len(data)
            version = 0
            if m := _RESUBMITTED.match(name):  # Canvas: training-1.ipynb is a resubmission
                name, version = m["stem"] + m["ext"], int(m["n"])
            files = wanted.setdefault(student, {})
            if name not in files or files[name][0] <= version:
                files[name] = (version, data)
            when = dt.datetime(*info.date_time, tzinfo=dt.timezone.utc)
            times[student] = max(times.get(student, when), when)
    for student, files in sorted(wanted.items()):
        content = {name: data for name, (_, data) in files.items()}
        folder = course.root / "submitted" / student / assignment
        when = f"{times[student]:%Y-%m-%d %H:%M} UTC"
        label = f"{student}: {', '.join(sorted(content))} (submitted {when})"
        due = policy.due_date(assignment)
        if due is not None and times[student] > due:
            label += " LATE"
        if folder.exists():
            if _digest(_folder_files(folder)) == _digest(content):
                report.unchanged.append(label)
                continue
            if not force:
                report.kept.append(label)
                continue
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
            aside = course.root / "submitted" / ".replaced" / student / f"{assignment}-{stamp}"
            aside.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(folder), aside)
            report.replaced.append(label)
        else:
            report.placed.append(label)
        folder.mkdir(parents=True)
        for name, data in content.items():
            (folder / name).write_bytes(data)
        (folder / "timestamp.txt").write_text(times[student].strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    return report


def _timestamp(course, student: str, assignment: str) -> dt.datetime | None:
    path = course.root / "submitted" / student / assignment / "timestamp.txt"
    try:
        return parse_time(path.read_text())
    except (OSError, ValueError, TypeError):
        return None


def grade_rows(course) -> list[dict]:
    """One row per (student, assignment): every student of the roster and of the gradebook.

    Columns: assignment, student_id, name, email, lms_id, score (before the late penalty),
    max_score, submitted_at, due, days_late, penalty, final_score, status,
    needs_manual_grading, reason. ``final_score`` is empty for a missing submission when
    ``c.Grades.missing = "blank"``.
    """
    policy = course.policy()
    roster = {r["id"]: r for r in course.roster()}
    rows = []
    seen_students = set()
    for row in course.grades():
        seen_students.add(row["student_id"])
        rows.append(row)
    assignments = sorted({r["assignment"] for r in rows} | set(course.gradebook_assignments()))
    max_scores = course.max_scores()
    for student in sorted(set(roster) - seen_students):
        for a in assignments:
            rows.append({"assignment": a, "student_id": student, "score": 0.0,
                         "max_score": max_scores.get(a, 0.0), "status": "missing",
                         "needs_manual_grading": "no", "reason": ""})  # fmt: skip
    out = []
    for row in rows:
        person = roster.get(row["student_id"], {})
        submitted = _timestamp(course, row["student_id"], row["assignment"])
        due = policy.due_date(row["assignment"])
        days = 0
        if submitted and due and submitted > due:
            days = math.ceil((submitted - due).total_seconds() / 86400)
        penalty = policy.penalty(days)
        missing = row["status"] == "missing"
        final = (
            "" if missing and policy.missing == "blank" else round(row["score"] * (1 - penalty), 4)
        )
        out.append(
            {
                "assignment": row["assignment"],
                "student_id": row["student_id"],
                "name": person.get("name", ""),
                "email": person.get("email", ""),
                "lms_id": person.get("lms_id", ""),
                "score": row["score"],
                "max_score": row["max_score"],
                "submitted_at": submitted.isoformat() if submitted else "",
                "due": due.isoformat() if due else "",
                "days_late": days,
                "penalty": penalty,
                "final_score": final,
                "status": row["status"],
                "needs_manual_grading": row["needs_manual_grading"],
                "reason": row["reason"],
            }
        )
    out.sort(key=lambda r: (r["assignment"], r["student_id"]))
    return out


def _cell(value):
    # a text cell starting with = + - @ (or a tab or CR) is a formula to a spreadsheet: a quote
    # in front keeps it text (student ids, names and reasons come from people)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def long_csv(rows: list[dict]) -> str:
    """One row per student and assignment."""
    buf = io.StringIO()
    fields = list(rows[0]) if rows else ["assignment", "student_id", "final_score"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buf.getvalue()


def wide_csv(rows: list[dict]) -> str:
    """One row per student (roster order by id), one column per assignment (final score),
    headed ``<assignment> (<max points>)``, as an LMS gradebook import expects."""
    assignments = sorted({r["assignment"] for r in rows})
    max_score = {r["assignment"]: r["max_score"] for r in rows}
    people: dict[str, dict] = {}
    for r in rows:
        p = people.setdefault(
            r["student_id"],
            {"student_id": r["student_id"], "name": r["name"], "email": r["email"],
             "lms_id": r["lms_id"]},
        )  # fmt: skip
        p[r["assignment"]] = r["final_score"]
    header = ["student_id", "name", "email", "lms_id"]
    columns = {a: f"{a} ({max_score[a]:g})" for a in assignments}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header + [columns[a] for a in assignments] + ["total"])
    for sid in sorted(people):
        p = people[sid]
        scores = [p.get(a, "") for a in assignments]
        total = sum(float(s) for s in scores if s != "")
        writer.writerow([_cell(p[h]) for h in header] + scores + [round(total, 4)])
    return buf.getvalue()
