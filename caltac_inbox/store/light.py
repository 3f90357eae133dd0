"""Read-only access to a SQLite store with the standard library alone.

Importing SQLAlchemy (with its ORM and our models) costs ~0.25 s, more than everything
else a query command does. Commands that only read (`upcoming`, `timeline`, `show`)
and a poll that finds nothing new use this when the database is a SQLite file that
already exists at the current migration level; anything else (a new file, an old
schema, PostgreSQL) returns None and the caller takes the full SQLAlchemy path, which
creates or migrates the database.

Values come back as SQLite stores them through our schema types: timestamps as
"YYYY-MM-DD HH:MM:SS[.ffffff]" text in UTC, JSON as text, booleans as 0/1.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Iterator

from caltac_inbox.errors import DatabaseError
from caltac_inbox.store.db import SCHEMA_HEAD, SQLITE_BUSY_TIMEOUT_MS, plain_sqlite_file


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


__all__ = ["missing_database_error", "open_sqlite_reader", "read_snapshot", "reading_error"]
