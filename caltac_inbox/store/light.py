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
import sqlite3
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
    try:
        conn = sqlite3.connect(str(path), timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
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
    return DatabaseError(f"cannot read database {plain_sqlite_file(url) or url}: {reason}; check --db / CALTAC_INBOX_DB "
                         "and that the file is a caltac-inbox database that this user can read")


__all__ = ["open_sqlite_reader", "read_snapshot", "reading_error"]
