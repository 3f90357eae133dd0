"""Read-only access to the store without SQLAlchemy: SQLite with the standard library,
PostgreSQL with libpq through ctypes (store.libpq), or psycopg 3 alone where no libpq loads.

Importing SQLAlchemy (with its ORM and our models) costs ~0.25 s, more than everything
else a query command does. Commands that only read (`upcoming`, `timeline`, `show`)
and a poll that finds nothing new use this when the database already exists at the
current migration level: a SQLite file (`open_sqlite_reader`) or a PostgreSQL database
(`open_postgres_reader`). Anything else (a new file or database, an old schema, a
server that does not answer) returns None and the caller takes the full SQLAlchemy
path, which creates or migrates the database, or reports what is wrong.

Values come back as SQLite stores them through our schema types: timestamps as
"YYYY-MM-DD HH:MM:SS[.ffffff]" text in UTC, JSON as text, booleans as 0/1. psycopg
gives what it gives the SQLAlchemy path: aware datetimes, decoded JSON, booleans; so
does store.libpq.

On PostgreSQL, importing psycopg (asyncio, logging, ssl...) costs 110-150 ms, most of
an `upcoming`; store.libpq reads with the libpq that psycopg-binary bundles (or the
system's) in ~5 ms of imports. psycopg reads instead when no libpq loads, or when
CALTAC_INBOX_PG_DRIVER=psycopg (read at open time). Both run the same SQL (store.read)
in the same kind of transaction with the same timeouts, and fail with the same words.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Union

from caltac_inbox.errors import DatabaseError
from caltac_inbox.store.db import (SCHEMA_HEAD, SQLITE_BUSY_TIMEOUT_MS, UPGRADE_HINT, hide_password,
                                   plain_sqlite_file, postgres_connect_args)
from caltac_inbox.store.read import PostgresSource, rows

if TYPE_CHECKING:
    import ctypes

    import psycopg

    from caltac_inbox.store import libpq

    Connection = Union["psycopg.Connection[Any]", libpq.Connection]


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
# What psycopg begins each transaction with in the reader's mode (REPEATABLE READ, read-only).
BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# "psycopg": read PostgreSQL with psycopg even where libpq loads (tests compare the two).
DRIVER_VARIABLE = "CALTAC_INBOX_PG_DRIVER"


class PostgresReader:
    """A PostgreSQL database at SCHEMA_HEAD read with store.libpq (`lib`, the library it
    loaded) or, without it, psycopg alone. Each snapshot takes a connection of its own (a
    web server reads from several threads at once) and gives it back, kept open for the
    next one (up to KEPT_CONNECTIONS)."""

    def __init__(self, url: str, conninfo: str, connect_args: dict[str, object],
                 first: "Connection", lib: "ctypes.CDLL | None" = None) -> None:
        """`first`: a connection inside the transaction that found the schema at SCHEMA_HEAD."""
        self.shown = hide_password(url)
        self.lib = lib
        self._conninfo = conninfo
        self._connect_args = connect_args
        self._password = _password(conninfo)
        self._first: Connection | None = first
        self._first_until = time.monotonic() + FIRST_SNAPSHOT_SECONDS
        self._kept: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[PostgresSource]:
        """A row source inside one read-only REPEATABLE READ transaction (every query of a
        command or a request sees one snapshot), at SCHEMA_HEAD; a driver's error becomes a
        one-line DatabaseError without the password."""
        error, _ = _errors(self.lib)
        conn: Connection | None = None
        try:
            conn = self._stamped_connection()
            yield PostgresSource(conn, libpq=self.lib is not None)
        except error as exc:
            raise self._error(exc) from None
        finally:
            if conn is not None:
                self._give_back(conn)

    def _stamped_connection(self) -> "Connection":
        """The connection open_postgres_reader checked the schema on, within
        FIRST_SNAPSHOT_SECONDS; else a kept connection (or a new one) in a new transaction
        whose schema is SCHEMA_HEAD. A kept connection the server closed meanwhile is
        replaced (as SQLAlchemy's pre-ping does); a database at another schema is a
        DatabaseError."""
        _, lost = _errors(self.lib)
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
                stamped = _stamp(conn, self.lib)
            except lost:
                conn.close()
                conn = None
        if conn is None:
            conn = _connect(self._conninfo, self._connect_args, self.lib)
            try:
                stamped = _stamp(conn, self.lib)
            except BaseException:
                conn.close()
                raise
        if stamped != [SCHEMA_HEAD]:
            conn.close()
            raise DatabaseError(f"cannot read database {self.shown} at schema {SCHEMA_HEAD} (it is at "
                                f"{','.join(stamped) or 'none'}); {UPGRADE_HINT}")
        return conn

    def _give_back(self, conn: "Connection") -> None:
        error, _ = _errors(self.lib)
        try:
            conn.rollback()  # a read-only transaction: nothing to keep
        except error:
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
    Never creates or changes anything. Reads with store.libpq when a libpq loads (and
    CALTAC_INBOX_PG_DRIVER is not "psycopg"), else with psycopg."""
    scheme = next((s for s in POSTGRES_SCHEMES if url and url.startswith(s)), None)
    if url is None or scheme is None:
        return None
    from importlib.util import find_spec

    if find_spec("psycopg") is None:  # the postgres extra is not installed: the full path says so
        return None
    lib = _libpq()
    try:
        error, _ = _errors(lib)
    except ImportError:  # psycopg without a libpq it can use: the full path says so
        return None
    conninfo = "postgresql://" + url[len(scheme):]
    args = postgres_connect_args(connect_timeout, statement_timeout)
    try:
        conn = _connect(conninfo, args, lib)
    except error:
        return None
    try:
        stamped = _stamp(conn, lib)  # the first snapshot goes on in this transaction
    except error:  # no alembic_version: a new database
        conn.close()
        return None
    if stamped != [SCHEMA_HEAD]:
        conn.close()
        return None
    return PostgresReader(url, conninfo, args, conn, lib)


def _libpq() -> "ctypes.CDLL | None":
    """The libpq store.libpq reads with; None: read with psycopg."""
    if os.environ.get(DRIVER_VARIABLE, "").strip().lower() == "psycopg":
        return None
    from caltac_inbox.store import libpq

    return libpq.load()


def _errors(lib: "ctypes.CDLL | None") -> tuple[type[Exception], type[Exception]]:
    """(every error, a connection's failure) of the driver: store.libpq's with `lib`, else psycopg's."""
    if lib is not None:
        from caltac_inbox.store import libpq

        return libpq.Error, libpq.OperationalError
    import psycopg

    return psycopg.Error, psycopg.OperationalError


def _connect(conninfo: str, args: dict[str, object], lib: "ctypes.CDLL | None") -> "Connection":
    """A connection whose transactions are REPEATABLE READ and read-only, with the timeouts of `args`."""
    if lib is not None:
        from caltac_inbox.store import libpq

        return libpq.Connection(lib, conninfo, {name: str(value) for name, value in args.items()}, BEGIN)
    import psycopg

    conn = psycopg.connect(conninfo, **args)  # type: ignore[arg-type]
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    return conn


def _stamp(conn: "Connection", lib: "ctypes.CDLL | None") -> list[str]:
    """The revisions alembic_version holds (the query begins the connection's transaction)."""
    return [str(row["version_num"]) for row in rows(PostgresSource(conn, libpq=lib is not None), _STAMP)]


def _password(conninfo: str) -> str | None:
    from urllib.parse import parse_qs, unquote, urlsplit

    try:
        parts = urlsplit(conninfo)
        if parts.password:
            return unquote(parts.password)
        return next(iter(parse_qs(parts.query).get("password") or ()), None)  # parse_qs unquotes
    except ValueError:
        return None


__all__ = ["DRIVER_VARIABLE", "POSTGRES_SCHEMES", "PostgresReader", "missing_database_error", "open_postgres_reader",
           "open_sqlite_reader", "read_snapshot", "reading_error"]
