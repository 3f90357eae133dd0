"""Read-only access to the store without SQLAlchemy: SQLite with the standard library,
PostgreSQL with psycopg 3 alone.

Importing SQLAlchemy (with its ORM and our models) costs ~0.25 s, more than everything
else a query command does. Commands that only read (`upcoming`, `timeline`, `show`)
and a poll that finds nothing new use this when the database already exists at the
current migration level: a SQLite file (`open_sqlite_reader`) or a PostgreSQL database
(`open_postgres_reader`). Anything else (a new file or database, an old schema, a
server that does not answer) returns None and the caller takes the full SQLAlchemy
path, which creates or migrates the database, or reports what is wrong.

Values come back as SQLite stores them through our schema types: timestamps as
"YYYY-MM-DD HH:MM:SS[.ffffff]" text in UTC, JSON as text, booleans as 0/1. psycopg
gives what it gives the SQLAlchemy path: aware datetimes, decoded JSON, booleans.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from caltac_inbox.errors import DatabaseError
from caltac_inbox.store.db import (SCHEMA_HEAD, SQLITE_BUSY_TIMEOUT_MS, UPGRADE_HINT, hide_password,
                                   plain_sqlite_file, postgres_connect_args)
from caltac_inbox.store.read import PostgresSource

if TYPE_CHECKING:
    import psycopg


def open_sqlite_reader(url: str | None) -> sqlite3.Connection | None:
    """A read-only sqlite3 connection (rows as sqlite3.Row) when `url` names an existing
    SQLite file stamped with SCHEMA_HEAD; None when the caller must use the
    full store instead. Never creates or changes anything."""
    path = plain_sqlite_file(url)
    if path is None or not path.is_file():
        return None
    conn = _stamped_connection(str(path), uri=False)
    if conn is None and not os.access(path.parent, os.W_OK):
        # SQLite in WAL mode writes its -shm index beside the file even to read: in a
        # directory this user cannot write, read the file as it is (read-only, or
        # immutable when no write-ahead log waits to be folded in).
        conn = _stamped_connection(_file_uri(path, "mode=ro"), uri=True)
        wal = path.with_name(path.name + "-wal")
        if conn is None and not (wal.exists() and wal.stat().st_size > 0):
            conn = _stamped_connection(_file_uri(path, "immutable=1"), uri=True)
    return conn


def _file_uri(path: Path, option: str) -> str:
    from urllib.parse import quote

    return f"file:{quote(str(path.resolve()))}?{option}"


def _stamped_connection(target: str, *, uri: bool) -> sqlite3.Connection | None:
    """A query-only connection to `target` when it is stamped with SCHEMA_HEAD, else None."""
    try:
        conn = sqlite3.connect(target, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False, uri=uri)
    except sqlite3.Error:
        return None
    try:
        conn.execute("PRAGMA query_only = ON")
        stamped = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
    except sqlite3.Error:
        conn.close()
        return None
    if stamped != [SCHEMA_HEAD]:
        conn.close()
        return None
    conn.row_factory = sqlite3.Row
    return conn


def missing_database_error(url: str | None) -> DatabaseError | None:
    """For a read-only command: the error when `url` names a SQLite file that does not
    exist (reading must not create an empty database and report "nothing"), or that sits
    in a directory this user cannot write and cannot be read as it is; else None. Raises
    ConfigError for an in-memory URL (store.db.resolve_url)."""
    from caltac_inbox.store.db import resolve_url

    path = plain_sqlite_file(resolve_url(url))
    if path is None:
        return None
    if not path.exists():
        return DatabaseError(f"no database at {path}; check --db / CALTAC_INBOX_DB / [database] url, or store "
                             "notices first with `caltac-inbox ingest` or `caltac-inbox poll`")
    if not os.access(path.parent, os.W_OK):
        return DatabaseError(f"cannot read database {path}: its directory {path.parent} is read-only and the "
                             "file cannot be read as it is there (an older schema or a pending write-ahead "
                             "log); copy it to a writable directory or run the command as its owner")
    return None


@contextlib.contextmanager
def read_snapshot(conn: sqlite3.Connection, url: str | None) -> Iterator[sqlite3.Connection]:
    """`conn` inside one read transaction, closed afterwards; a sqlite3.Error becomes a
    one-line DatabaseError naming the file.

    One transaction gives the queries of a command a single snapshot (a poll committing
    between them cannot mix old entries with new sources). In WAL mode, which the
    store sets on every SQLite file, a reader neither waits for a writer nor blocks one."""
    try:
        conn.execute("BEGIN")
        yield conn
    except sqlite3.Error as exc:
        raise reading_error(url, exc) from None
    finally:
        conn.close()  # rolls the read transaction back


def reading_error(url: str | None, exc: sqlite3.Error) -> DatabaseError:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return DatabaseError(f"cannot read database {plain_sqlite_file(url) or url}: {reason}; "
                         "check --db / CALTAC_INBOX_DB "
                         "and that the file is a caltac-inbox database that this user can read")


# ----------------------------------------------------------------------------- PostgreSQL

# The URL schemes psycopg 3 reads as they are (store.db.resolve_url spells them postgresql+psycopg).
POSTGRES_SCHEMES = ("postgresql+psycopg://", "postgresql://", "postgres://")
KEPT_CONNECTIONS = 8  # idle connections a PostgresReader keeps for the next snapshots
# The first snapshot taken this soon after open_postgres_reader reads in the transaction
# that checked the schema (each round trip counts: a query command makes about ten).
FIRST_SNAPSHOT_SECONDS = 1.0
_STAMP = "SELECT version_num FROM alembic_version"


class PostgresReader:
    """A PostgreSQL database at SCHEMA_HEAD read with psycopg alone. Each snapshot takes a
    connection of its own (a web server reads from several threads at once) and gives
    it back, kept open for the next one (up to KEPT_CONNECTIONS)."""

    def __init__(self, url: str, conninfo: str, connect_args: dict[str, object],
                 first: "psycopg.Connection[Any]") -> None:
        """`first`: a connection inside the transaction that found the schema at SCHEMA_HEAD."""
        self.shown = hide_password(url)
        self._conninfo = conninfo
        self._connect_args = connect_args
        self._password = _password(conninfo)
        self._first: psycopg.Connection[Any] | None = first
        self._first_until = time.monotonic() + FIRST_SNAPSHOT_SECONDS
        self._kept: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[PostgresSource]:
        """A row source inside one read-only REPEATABLE READ transaction (every query of a
        command or a request sees one snapshot), at SCHEMA_HEAD; a psycopg error becomes a
        one-line DatabaseError without the password."""
        import psycopg

        conn: psycopg.Connection[Any] | None = None
        try:
            conn = self._stamped_connection()
            yield PostgresSource(conn)
        except psycopg.Error as exc:
            raise self._error(exc) from None
        finally:
            if conn is not None:
                self._give_back(conn)

    def _stamped_connection(self) -> "psycopg.Connection[Any]":
        """The connection open_postgres_reader checked the schema on, within
        FIRST_SNAPSHOT_SECONDS; else a kept connection (or a new one) in a new transaction
        whose schema is SCHEMA_HEAD. A kept connection the server closed meanwhile is
        replaced (as SQLAlchemy's pre-ping does); a database at another schema is a
        DatabaseError."""
        import psycopg

        with self._lock:
            first, self._first = self._first, None
        if first is not None:
            if time.monotonic() < self._first_until:
                return first  # still in the transaction that checked the schema
            self._give_back(first)  # no snapshot held open for long: checked afresh below
        with self._lock:
            conn = self._kept.pop() if self._kept else None
        if conn is not None:
            try:
                stamped = _stamp(conn)
            except psycopg.OperationalError:
                conn.close()
                conn = None
        if conn is None:
            conn = _connect(self._conninfo, self._connect_args)
            try:
                stamped = _stamp(conn)
            except BaseException:
                conn.close()
                raise
        if stamped != [SCHEMA_HEAD]:
            conn.close()
            raise DatabaseError(f"cannot read database {self.shown} at schema {SCHEMA_HEAD} (it is at "
                                f"{','.join(stamped) or 'none'}); {UPGRADE_HINT}")
        return conn

    def _give_back(self, conn: "psycopg.Connection[Any]") -> None:
        import psycopg

        try:
            conn.rollback()  # a read-only transaction: nothing to keep
        except psycopg.Error:
            conn.close()
        with self._lock:
            if not conn.closed and not self._closed and len(self._kept) < KEPT_CONNECTIONS:
                self._kept.append(conn)
                return
        conn.close()

    def _error(self, exc: BaseException) -> DatabaseError:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if self._password:
            reason = reason.replace(self._password, "***")
        return DatabaseError(f"cannot read database {self.shown}: {reason}; check --db / CALTAC_INBOX_DB and "
                             "that the database is reachable and this user may read it")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            kept, self._kept, first, self._first = self._kept, [], self._first, None
        for conn in kept + ([first] if first is not None else []):
            conn.close()


def open_postgres_reader(url: str | None, *, connect_timeout: float | None = None,
                         statement_timeout: float | None = None) -> PostgresReader | None:
    """A PostgresReader when `url` names a PostgreSQL database (psycopg 3) that answers and
    is stamped with SCHEMA_HEAD; None when the caller must use the full store instead
    (which creates or migrates the database, or reports in its words why it cannot be
    reached: never twice). Timeouts (seconds) as store.db.make_engine takes them.
    Never creates or changes anything."""
    scheme = next((s for s in POSTGRES_SCHEMES if url and url.startswith(s)), None)
    if url is None or scheme is None:
        return None
    try:
        import psycopg
    except ImportError:  # the postgres extra is not installed: the full path says so
        return None
    conninfo = "postgresql://" + url[len(scheme):]
    args = postgres_connect_args(connect_timeout, statement_timeout)
    try:
        conn = _connect(conninfo, args)
    except psycopg.Error:
        return None
    try:
        stamped = _stamp(conn)  # the first snapshot goes on in this transaction
    except psycopg.Error:  # no alembic_version: a new database
        conn.close()
        return None
    if stamped != [SCHEMA_HEAD]:
        conn.close()
        return None
    return PostgresReader(url, conninfo, args, conn)


def _connect(conninfo: str, args: dict[str, object]) -> "psycopg.Connection[Any]":
    import psycopg

    conn = psycopg.connect(conninfo, **args)  # type: ignore[arg-type]
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    return conn


def _stamp(conn: "psycopg.Connection[Any]") -> list[str]:
    """The revisions alembic_version holds (the query begins the connection's transaction)."""
    return [str(row[0]) for row in conn.execute(_STAMP).fetchall()]


def _password(conninfo: str) -> str | None:
    from urllib.parse import parse_qs, unquote, urlsplit

    try:
        parts = urlsplit(conninfo)
        if parts.password:
            return unquote(parts.password)
        return next(iter(parse_qs(parts.query).get("password") or ()), None)  # parse_qs unquotes
    except ValueError:
        return None


__all__ = ["POSTGRES_SCHEMES", "PostgresReader", "missing_database_error", "open_postgres_reader",
           "open_sqlite_reader", "read_snapshot", "reading_error"]
