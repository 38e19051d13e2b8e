"""A durable work queue of submissions to grade, kept next to nbgrader's gradebook.

The ledger is one table, ``dlcourse_grading``, in the same database as the gradebook (nbgrader's
``db_url``: SQLite by default, or PostgreSQL). Each row is one (assignment, student) submission
with the fingerprint of the files that were graded and a status::

    pending --claim--> claimed --finish--> graded | ungradable
       ^                  |
       +---- unclaim -----+   (or its lease expires and another grader claims it)

Graders on one or several machines share the work by calling :meth:`Ledger.claim` until it
returns ``None``. A claim is a lease: a grader that dies stops renewing it (:meth:`heartbeat`)
and once it expires another grader takes the submission over; the dead grader's token no longer
owns the row, so a late :meth:`finish` from it is refused. Every accepted outcome is also
appended to the audit table ``dlcourse_grading_log``.

Clock: leases are measured with the database server's clock on PostgreSQL
(``clock_timestamp()``), so graders on different machines need not agree on the time. SQLite has
no server: there the local clock of each grader is used, which is one clock as long as every
grader sharing the file runs on one machine (SQLite over a network file system is unsafe anyway).

Locking: PostgreSQL claims with ``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent claimers
never wait for each other. On SQLite every transaction of the ledger starts with
``BEGIN IMMEDIATE`` (taking the database's write lock at once) and waits up to 30 s for it, so
concurrent claimers in several threads or processes serialize instead of failing with "database
is locked". The ledger leaves the file's journal mode alone: switching nbgrader's gradebook to
WAL is a persistent change to a file that is not ours, and the ledger's transactions are short.

On a new database, open nbgrader's ``Gradebook`` before the ledger: nbgrader records its schema
version (``alembic_version``) only when it finds the database without any table.
"""

from __future__ import annotations

import math
import os
import secrets
import sqlite3
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    make_url,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

__all__ = [
    "CLAIMED",
    "GRADED",
    "PENDING",
    "STATUSES",
    "UNGRADABLE",
    "Claim",
    "Ledger",
    "ledger_table",
    "log_table",
]

PENDING = "pending"
CLAIMED = "claimed"
GRADED = "graded"
UNGRADABLE = "ungradable"
STATUSES = (PENDING, CLAIMED, GRADED, UNGRADABLE)
FINAL_STATUSES = (GRADED, UNGRADABLE)

SQLITE_BUSY_TIMEOUT = 30.0
"""Seconds an SQLite connection waits for another writer before failing."""

_CREATE_LOCK_KEY = 0x646C636F  # "dlco": PostgreSQL advisory lock held while creating tables

metadata = MetaData()
_LongText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_status_check = "status IN ({})".format(", ".join(f"'{s}'" for s in STATUSES))

ledger_table = Table(
    "dlcourse_grading",
    metadata,
    Column("assignment", String(255), primary_key=True),
    Column("student", String(255), primary_key=True),
    Column("fingerprint", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("grader", String(255)),
    Column("token", String(64)),
    Column("attempt", Integer, nullable=False),
    Column("lease_until", Double),
    Column("score", Double),
    Column("max_score", Double),
    Column("reason", Text),
    Column("detail", _LongText),
    Column("updated_at", Double, nullable=False),
    CheckConstraint(_status_check, name="ck_dlcourse_grading_status"),
    Index("ix_dlcourse_grading_queue", "assignment", "status"),
)

log_table = Table(
    "dlcourse_grading_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assignment", String(255), nullable=False),
    Column("student", String(255), nullable=False),
    Column("grader", String(255), nullable=False),
    Column("token", String(64)),
    Column("status", String(16), nullable=False),
    Column("score", Double),
    Column("max_score", Double),
    Column("reason", Text),
    Column("finished_at", Double, nullable=False),
    Index("ix_dlcourse_grading_log_student", "assignment", "student"),
)


@dataclass(frozen=True)
class Claim:
    """A grader's lease on one submission; ``token`` proves it still owns the row."""

    assignment: str
    student: str
    fingerprint: str
    token: str
    attempt: int
    grader: str


def _check_fingerprints(assignment: Any, fingerprints: Any) -> None:
    _check_name("assignment", assignment)
    if not isinstance(fingerprints, dict):
        kind = type(fingerprints).__name__
        raise ValueError(f"fingerprints must be a dict {{student: fingerprint}}, got {kind}")
    for student, fingerprint in fingerprints.items():
        _check_name("student", student)
        _check_name(f"the fingerprint of {student!r}", fingerprint)


def _check_name(what: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _check_lease(lease_seconds: Any) -> float:
    if (
        isinstance(lease_seconds, bool)
        or not isinstance(lease_seconds, (int, float))
        or not math.isfinite(lease_seconds)
        or lease_seconds <= 0
    ):
        raise ValueError(f"lease_seconds must be a finite number > 0, got {lease_seconds!r}")
    return float(lease_seconds)


def _check_score(what: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number or None, got {value!r}")
    return float(value)


def _check_claim(claim: Any) -> Claim:
    if not isinstance(claim, Claim):
        raise ValueError(f"expected a Claim returned by Ledger.claim(), got {claim!r}")
    return claim


def _sqlite_engine(db_url: str) -> Engine:
    engine = create_engine(db_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins
        # (SQLAlchemy's recipe for SQLite transactions; still valid on Python >= 3.12).
        legacy = getattr(sqlite3, "LEGACY_TRANSACTION_CONTROL", None)  # Python >= 3.12
        if legacy is not None:
            dbapi_connection.autocommit = legacy
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn):
        # Take the write lock up front: no transaction ever upgrades a read lock to a write
        # lock, which is where SQLite fails with "database is locked" instead of waiting.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Ledger:
    """The grading ledger in the database at ``db_url`` (the gradebook's URL).

    Creates the tables if they are missing; safe when several processes start at once.

    Parameters
    ----------
    db_url
        SQLAlchemy URL, e.g. ``sqlite:///course/gradebook.db`` or
        ``postgresql+psycopg2://user@host/db``.
    max_attempts
        How many graders may die while holding a submission before it is declared
        ``'ungradable'`` rather than claimed again.
    """

    def __init__(self, db_url: str, max_attempts: int = 3):
        _check_name("db_url", db_url)
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f"max_attempts must be an integer >= 1, got {max_attempts!r}")
        self.max_attempts = max_attempts
        if make_url(db_url).get_backend_name() == "sqlite":
            self._engine = _sqlite_engine(db_url)
        else:
            self._engine = create_engine(db_url, pool_pre_ping=True)
        self._dialect = self._engine.dialect.name
        _dispose_after_fork(self)
        self._create_tables()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (one connection pool per process)."""
        return self._engine

    def close(self) -> None:
        """Close the pooled connections; the ledger reconnects if used again."""
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({self._engine.url.render_as_string(hide_password=True)!r})"

    # -- registering submissions ------------------------------------------------------------

    def sync(
        self, assignment: str, fingerprints: dict[str, str], force: bool = False
    ) -> dict[str, int]:
        """Register the submissions of ``assignment`` found on disk.

        A new student becomes ``'pending'``; so does one whose fingerprint changed (a
        resubmission: attempts reset, the old outcome is cleared, an in-flight claim on it is
        revoked). Unchanged rows are left as they are, so running the grader again is a no-op
        for finished submissions and resumes an interrupted run. ``force=True`` re-queues every
        listed submission. Students missing from ``fingerprints`` are not touched.

        Parameters
        ----------
        assignment
            The assignment's name.
        fingerprints
            ``{student: fingerprint}``, e.g. a hash of the submitted files.
        force
            Re-queue unchanged submissions too.

        Returns
        -------
        dict
            ``{'new': n, 'changed': n, 'unchanged': n}`` (unchanged ones are re-queued under
            ``force``).
        """
        _check_fingerprints(assignment, fingerprints)
        counts = {"new": 0, "changed": 0, "unchanged": 0}
        if not fingerprints:
            return counts
        t = ledger_table
        with self._engine.begin() as conn:
            now = self._now(conn)
            known = dict(
                conn.execute(
                    select(t.c.student, t.c.fingerprint).where(t.c.assignment == assignment)
                ).all()
            )
            new = [s for s in fingerprints if s not in known]
            changed = [s for s in fingerprints if s in known and known[s] != fingerprints[s]]
            counts.update(
                new=len(new),
                changed=len(changed),
                unchanged=len(fingerprints) - len(new) - len(changed),
            )
            self._insert_pending(conn, assignment, {s: fingerprints[s] for s in new}, now)
            requeue = [s for s in fingerprints if s in known] if force else changed
            self._requeue(conn, assignment, {s: fingerprints[s] for s in requeue}, now)
        return counts

    def _insert_pending(self, conn: Connection, assignment: str, rows: dict, now: float) -> None:
        """New submissions, ``{student: fingerprint}``, as pending rows."""
        if rows:
            conn.execute(
                self._insert_ignoring_duplicates(),
                [
                    {"assignment": assignment, "student": s, "fingerprint": f,
                     "status": PENDING, "attempt": 0, "updated_at": now}
                    for s, f in rows.items()
                ],
            )  # fmt: skip

    @staticmethod
    def _requeue(conn: Connection, assignment: str, rows: dict, now: float) -> None:
        """Known submissions, ``{student: fingerprint}``, pending again with no outcome."""
        if not rows:
            return
        t = ledger_table
        conn.execute(
            update(t)
            .where(t.c.assignment == assignment, t.c.student == bindparam("b_student"))
            .values(
                fingerprint=bindparam("b_fingerprint"),
                status=PENDING,
                grader=None,
                token=None,
                attempt=0,
                lease_until=None,
                score=None,
                max_score=None,
                reason=None,
                detail=None,
                updated_at=now,
            ),
            [{"b_student": s, "b_fingerprint": f} for s, f in rows.items()],
        )

    # -- the grader's side ---------------------------------------------------------------------

    def claim(
        self,
        assignment: str,
        grader: str,
        lease_seconds: float,
        students: Iterable[str] | None = None,
    ) -> Claim | None:
        """Take one submission to grade, or return ``None`` when nothing is left to claim.

        Takes a ``'pending'`` row, or a ``'claimed'`` one whose lease expired (its grader
        died), and leases it to ``grader`` for ``lease_seconds`` with a fresh token. Fresh
        submissions go first (fewest attempts, then by student). Expired rows that already had
        ``max_attempts`` attempts are first marked ``'ungradable'`` (and logged) instead.

        With ``students``, only their submissions are claimed (an instructor regrading a few).
        ``None`` means no row is claimable *now*: rows other graders hold may still come back
        when their leases expire, so a grader should exit only once :meth:`remaining` is 0.
        """
        _check_name("assignment", assignment)
        _check_name("grader", grader)
        lease = _check_lease(lease_seconds)
        t = ledger_table
        with self._engine.begin() as conn:
            now = self._now(conn)
            expired = and_(
                t.c.assignment == assignment, t.c.status == CLAIMED, t.c.lease_until < now
            )
            crashed = conn.execute(
                select(t.c.student, t.c.attempt)
                .where(expired, t.c.attempt >= self.max_attempts)
                .with_for_update(skip_locked=True)
            ).all()
            for row in crashed:
                self._give_up(conn, assignment, row.student, row.attempt, grader, now)
            claimable = or_(and_(t.c.assignment == assignment, t.c.status == PENDING), expired)
            if students is not None:
                claimable = and_(claimable, t.c.student.in_(sorted(students)))
            row = conn.execute(
                select(t.c.student, t.c.fingerprint, t.c.attempt)
                .where(claimable)
                .order_by(t.c.attempt, t.c.student)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            token = secrets.token_hex(16)
            attempt = row.attempt + 1
            conn.execute(
                update(t)
                .where(t.c.assignment == assignment, t.c.student == row.student)
                .values(
                    status=CLAIMED,
                    grader=grader,
                    token=token,
                    attempt=attempt,
                    lease_until=now + lease,
                    updated_at=now,
                )
            )
            return Claim(assignment, row.student, row.fingerprint, token, attempt, grader)

    def heartbeat(self, claim: Claim, lease_seconds: float) -> bool:
        """Extend ``claim``'s lease to ``lease_seconds`` from now.

        Returns ``False`` if the claim was lost (taken over, re-queued or finished): the
        grader should then abandon the submission.
        """
        claim = _check_claim(claim)
        lease = _check_lease(lease_seconds)
        with self._engine.begin() as conn:
            now = self._now(conn)
            return self._update_owned(conn, claim, now, lease_until=now + lease)

    def finish(
        self,
        claim: Claim,
        status: str,
        score: float | None,
        max_score: float | None,
        reason: str,
        detail: str,
    ) -> bool:
        """Record the outcome of ``claim``, if its token still owns the row.

        Parameters
        ----------
        claim
            As returned by :meth:`claim`.
        status
            ``'graded'`` or ``'ungradable'``.
        score, max_score
            Points, or ``None``.
        reason
            A one-line explanation (empty when graded normally).
        detail
            JSON text with the details (any size).

        Returns
        -------
        bool
            ``False`` (and nothing written) when the claim was lost, e.g. its lease expired
            and another grader took the submission over.
        """
        claim = _check_claim(claim)
        if status not in FINAL_STATUSES:
            raise ValueError(f"status must be one of {FINAL_STATUSES}, got {status!r}")
        score = _check_score("score", score)
        max_score = _check_score("max_score", max_score)
        for what, value in (("reason", reason), ("detail", detail)):
            if not isinstance(value, str):
                raise ValueError(f"{what} must be a string, got {type(value).__name__}")
        with self._engine.begin() as conn:
            now = self._now(conn)
            outcome = dict(status=status, score=score, max_score=max_score, reason=reason)
            if not self._update_owned(conn, claim, now, lease_until=None, detail=detail, **outcome):
                return False
            self._log(
                conn, claim.assignment, claim.student, claim.grader, claim.token, now, **outcome
            )
            return True

    def unclaim(self, claim: Claim) -> bool:
        """Give ``claim`` back as ``'pending'`` without counting it as an attempt.

        For a grader that stops gracefully (Ctrl-C). Returns ``False`` if the claim had
        already been lost, in which case nothing changes.
        """
        claim = _check_claim(claim)
        with self._engine.begin() as conn:
            return self._update_owned(
                conn,
                claim,
                self._now(conn),
                status=PENDING,
                grader=None,
                token=None,
                lease_until=None,
                attempt=max(claim.attempt - 1, 0),
            )

    # -- reading -------------------------------------------------------------------------------

    def rows(self, assignment: str | None = None) -> list[dict]:
        """Every column of every row (of ``assignment``, if given), by assignment and student."""
        t = ledger_table
        query = select(t).order_by(t.c.assignment, t.c.student)
        if assignment is not None:
            query = query.where(t.c.assignment == _check_name("assignment", assignment))
        with self._engine.begin() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def get(self, assignment: str, student: str) -> dict | None:
        """The row of one submission as a dict, or ``None`` if it is not registered."""
        t = ledger_table
        query = select(t).where(
            t.c.assignment == _check_name("assignment", assignment),
            t.c.student == _check_name("student", student),
        )
        with self._engine.begin() as conn:
            row = conn.execute(query).first()
        return None if row is None else dict(row._mapping)

    def remaining(self, assignment: str, students: Iterable[str] | None = None) -> int:
        """How many submissions of ``assignment`` (of ``students`` only, if given) are not
        finished (pending or claimed)."""
        t = ledger_table
        query = select(func.count()).where(
            t.c.assignment == _check_name("assignment", assignment),
            t.c.status.in_((PENDING, CLAIMED)),
        )
        if students is not None:
            query = query.where(t.c.student.in_(sorted(students)))
        with self._engine.begin() as conn:
            return int(conn.execute(query).scalar_one())

    def log(self, assignment: str | None = None) -> list[dict]:
        """The audit log of recorded outcomes, oldest first."""
        query = select(log_table).order_by(log_table.c.id)
        if assignment is not None:
            query = query.where(log_table.c.assignment == _check_name("assignment", assignment))
        with self._engine.begin() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    # -- internals -----------------------------------------------------------------------------

    def _give_up(
        self, conn: Connection, assignment: str, student: str, attempts: int, by: str, now: float
    ) -> None:
        """Mark a submission whose graders kept dying 'ungradable', and log it."""
        reason = f"grading crashed {attempts} times (the grader process died while grading it)"
        conn.execute(
            update(ledger_table)
            .where(ledger_table.c.assignment == assignment, ledger_table.c.student == student)
            .values(
                status=UNGRADABLE,
                token=None,
                lease_until=None,
                score=None,
                max_score=None,
                reason=reason,
                detail=None,
                updated_at=now,
            )
        )
        self._log(conn, assignment, student, by, None, now, status=UNGRADABLE, reason=reason)

    def _create_tables(self) -> None:
        with self._engine.begin() as conn:
            if self._dialect == "postgresql":
                # Two processes creating the same table at once collide in PostgreSQL's
                # catalogs; an advisory lock makes the second wait and then find the table.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CREATE_LOCK_KEY})
            # On SQLite, BEGIN IMMEDIATE already serializes this transaction.
            metadata.create_all(conn, checkfirst=True)

    def _now(self, conn: Connection) -> float:
        if self._dialect == "postgresql":
            return float(
                conn.execute(text("SELECT EXTRACT(EPOCH FROM clock_timestamp())")).scalar_one()
            )
        return time.time()

    def _insert_ignoring_duplicates(self):
        # A concurrent sync may insert the same new student first; that is not an error.
        if self._dialect == "postgresql":
            return postgresql.insert(ledger_table).on_conflict_do_nothing()
        if self._dialect == "sqlite":
            return sqlite_dialect.insert(ledger_table).on_conflict_do_nothing()
        return insert(ledger_table)

    def _update_owned(self, conn: Connection, claim: Claim, now: float, **values) -> bool:
        """Update the row of ``claim`` if its token still owns it; True if it did."""
        result = conn.execute(
            update(ledger_table).where(*self._owned(claim)).values(updated_at=now, **values)
        )
        return result.rowcount == 1

    @staticmethod
    def _log(conn, assignment, student, grader, token, now, **outcome) -> None:
        """Append a finished outcome (status, score, max_score, reason) to the audit log."""
        conn.execute(
            insert(log_table).values(
                assignment=assignment,
                student=student,
                grader=grader,
                token=token,
                finished_at=now,
                **outcome,
            )
        )

    @staticmethod
    def _owned(claim: Claim) -> tuple:
        t = ledger_table
        return (
            t.c.assignment == claim.assignment,
            t.c.student == claim.student,
            t.c.status == CLAIMED,
            t.c.token == claim.token,
        )


def _dispose_after_fork(ledger: Ledger) -> None:
    """Make a forked child open its own connections instead of sharing the parent's."""
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.ref(ledger)

    def _in_child() -> None:
        alive = ref()
        if alive is not None:
            alive._engine.dispose(close=False)

    os.register_at_fork(after_in_child=_in_child)
