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
from pathlib import Path
from typing import TYPE_CHECKING, Iterator
from urllib.parse import unquote

from caltac_inbox.errors import DatabaseError
from caltac_inbox.store.db import SCHEMA_HEAD, SQLITE_BUSY_TIMEOUT_MS, default_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def sqlite_file(url: str | None) -> Path | None:
    """The file behind a plain `sqlite:///path` URL (None: the default file), parsed
    without SQLAlchemy; None for anything else (PostgreSQL, memory, query options)."""
    url = url or default_url()
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(prefix):
            rest = url[len(prefix):]
            if not rest or "?" in rest or rest == ":memory:":
                return None
            return Path(unquote(rest))
    return None


def open_sqlite_reader(url: str | None) -> sqlite3.Connection | None:
    """A read-only sqlite3 connection (rows as sqlite3.Row) when `url` names an existing
    SQLite file stamped with SCHEMA_HEAD; None when the caller must use the
    full store instead. Never creates or changes anything."""
    path = sqlite_file(url)
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
    return DatabaseError(f"cannot read database {sqlite_file(url) or url}: {reason}; check --db / CALTAC_INBOX_DB "
                         "and that the file is a caltac-inbox database that this user can read")


def imap_checkpoint(conn: sqlite3.Connection, mailbox: str, folder: str) -> tuple[int | None, int]:
    """(uidvalidity, last_uid) stored for the folder; (None, 0) when never polled.
    Same answer as `repo.imap_checkpoint`."""
    row = conn.execute("SELECT uidvalidity, last_uid FROM imap_state WHERE mailbox = ? AND folder = ?",
                       (mailbox, folder)).fetchone()
    return (None, 0) if row is None else (int(row[0]), int(row[1]))


def uidvalidity_changes(conn: sqlite3.Connection, mailbox: str, folder: str) -> int:
    """Same answer as `repo.uidvalidity_changes`."""
    row = conn.execute("SELECT uidvalidity_changes FROM imap_state WHERE mailbox = ? AND folder = ?",
                       (mailbox, folder)).fetchone()
    return 0 if row is None else int(row[0])


_GENERATIONS = "SELECT facts_generation, timeline_generation FROM timeline_state WHERE id = 1"


def generations(source: "sqlite3.Connection | Session") -> tuple[int, int]:
    """(facts_generation, timeline_generation): different when the timeline is behind
    the stored facts (see store.repo.facts_changed). `source` is a reader of this module
    or, on any backend, a SQLAlchemy Session."""
    if isinstance(source, sqlite3.Connection):
        row = source.execute(_GENERATIONS).fetchone()
    else:
        from sqlalchemy import text

        row = source.execute(text(_GENERATIONS)).first()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


def timeline_behind(source: "sqlite3.Connection | Session") -> bool:
    facts_generation, timeline_generation = generations(source)
    return facts_generation != timeline_generation


__all__ = ["generations", "imap_checkpoint", "open_sqlite_reader", "read_snapshot", "reading_error", "sqlite_file",
           "timeline_behind", "uidvalidity_changes"]
