"""A throwaway PostgreSQL server for tests: the ``postgres_url`` and ``postgres_db_url`` fixtures.

``postgres_url`` (session-scoped) installs Debian's ``postgresql`` package if needed (see
``need_system_package``), creates a fresh cluster in a temporary folder, starts it on 127.0.0.1
at a free port with trust authentication, creates a database and yields its SQLAlchemy URL; the
server is stopped and the folder removed at the end of the session. Under pytest-xdist each
worker is its own session and so gets its own cluster. ``postgres_db_url`` (function-scoped)
gives each test a fresh, empty database on that server.

Use them from any test module once ``tests/conftest.py`` imports them.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BINARIES = ("initdb", "pg_ctl", "postgres", "createdb")
PG_USER = "postgres"  # the system user that runs the server when the tests run as root
_db_counter = itertools.count()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true and PostgreSQL tests cannot run: {reason}")
    pytest.skip(f"SKIPPED LOUDLY: {reason}")


def _search_path() -> str:
    """PATH plus Debian's versioned server folders (``/usr/lib/postgresql/<ver>/bin``)."""
    versions = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()),
        key=lambda p: int(p.parent.name),
        reverse=True,
    )
    # Also the versions a fresh install may bring, so that need_system_package finds them.
    future = [f"/usr/lib/postgresql/{v}/bin" for v in range(30, 10, -1)]
    return os.pathsep.join([*map(str, versions), *future, os.environ.get("PATH", "")])


def _find_bindir() -> Path | None:
    for folder in _search_path().split(os.pathsep):
        if folder and all(os.access(Path(folder, b), os.X_OK) for b in PG_BINARIES):
            return Path(folder)
    return None


def _server_bindir() -> Path:
    """The folder with PostgreSQL's server programs, installing them if need be."""
    bindir = _find_bindir()
    if bindir is None:
        from .conftest import need_system_package  # late: conftest imports this module

        path = os.environ.get("PATH", "")
        os.environ["PATH"] = _search_path()
        try:
            need_system_package(list(PG_BINARIES), ["postgresql"])
        finally:
            os.environ["PATH"] = path
        bindir = _find_bindir()
    if bindir is None:
        _unavailable(f"PostgreSQL's {', '.join(PG_BINARIES)} not found after installing")
    return bindir


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """One PostgreSQL cluster in ``root``, run as ``postgres`` when we are root."""

    def __init__(self, bindir: Path, root: Path):
        self.bindir, self.root = bindir, root
        self.data, self.sockets, self.logfile = root / "data", root / "sockets", root / "server.log"
        self.port: int | None = None
        self.as_user: list[str] = []
        self.owner: tuple[int, int] | None = None
        if os.geteuid() == 0:  # the server refuses to run as root
            import pwd

            try:
                pw = pwd.getpwnam(PG_USER)
            except KeyError:
                _unavailable(f"running as root and there is no {PG_USER!r} user to run the server")
            self.owner = (pw.pw_uid, pw.pw_gid)
            os.chown(root, *self.owner)
            self.as_user = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
                            "--init-groups"]  # fmt: skip

    def run(self, program: str, *args: str, timeout: float = 60) -> str:
        cmd = [*self.as_user, str(self.bindir / program), *args]
        proc = subprocess.run(
            cmd, cwd=self.root, capture_output=True, text=True, timeout=timeout,
            env=dict(os.environ, LC_ALL="C"),
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stdout}{proc.stderr}"
                f"{self.log_tail()}"
            )
        return proc.stdout

    def log_tail(self) -> str:
        try:
            return "\nserver log:\n" + self.logfile.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def start(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
                 "--no-locale", "--no-sync")  # fmt: skip
        self.sockets.mkdir()
        if self.owner:
            os.chown(self.sockets, *self.owner)
        last_error: Exception | None = None
        for _ in range(5):  # another process may take the free port before the server does
            self.port = _free_port()
            with open(self.data / "postgresql.conf", "a") as conf:
                conf.write(
                    "\n# tests/postgres.py\n"
                    "listen_addresses = '127.0.0.1'\n"
                    f"port = {self.port}\n"
                    f"unix_socket_directories = '{self.sockets}'\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                    "max_connections = 100\n"
                )
            try:
                self.run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.logfile),
                         "-w", "-t", "30")  # fmt: skip
                return
            except RuntimeError as e:
                last_error = e
        raise RuntimeError(f"PostgreSQL did not start: {last_error}")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30")

    def createdb(self, name: str) -> str:
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, name)
        return f"postgresql+psycopg2://{PG_USER}@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a database on a private PostgreSQL server, shared by the session."""
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        _unavailable("psycopg2 is not installed: pip install -e '.[course]'")
    bindir = _server_bindir()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    root = Path(tempfile.mkdtemp(prefix=f"dlcourse-pg-{worker}-"))
    server = _Server(bindir, root)
    try:
        server.start()
        yield server.createdb("dlcourse_test")
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_db_url(postgres_url: str) -> str:
    """SQLAlchemy URL of a fresh, empty database on the session's PostgreSQL server."""
    import sqlalchemy as sa

    name = f"dlcourse_test_{next(_db_counter)}"
    engine = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    finally:
        engine.dispose()
    return sa.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
