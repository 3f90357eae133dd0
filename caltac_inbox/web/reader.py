"""The store as the web server reads it: never created or migrated, and written only by
an editor's action (through `store`, as the command line writes).

Reads go through store.open_reader, as the command line's do, with the timeouts below:
one snapshot (one read transaction, so the feed's generation and its entries agree)
per request. An existing SQLite file at the schema head is read with sqlite3 (in WAL
mode a poll writing meanwhile neither waits nor is waited for), a PostgreSQL database
at the head with store.libpq or psycopg (connections kept for the next requests), anything else
through a pooled SQLAlchemy engine. All run the same store.read and store.feeds
queries as the command line. The SQLAlchemy store, for an editor's actions and a
timeline repair, is a second connection pool beside them.
"""
from __future__ import annotations

import contextlib
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from caltac_inbox.errors import DatabaseError
from caltac_inbox.store import UPGRADE_HINT, db, open_reader
from caltac_inbox.store.db import plain_sqlite_file
from caltac_inbox.store.light import open_sqlite_reader

if TYPE_CHECKING:
    from pathlib import Path

    from caltac_inbox.store.read import RowSource
    from caltac_inbox.store.writer import Store

HEALTH_SECONDS = 1.5  # /healthz answers within this, database or not
CONNECT_SECONDS = 3.0  # PostgreSQL: a connection attempt
STATEMENT_SECONDS = 10.0  # PostgreSQL: one statement of a page or feed, a lock wait included
# A timeline behind the facts this long is not an ingest at work but one that died
# between storing facts and rebuilding the timeline: serve rebuilds it.
STALE_SECONDS = 30.0


@dataclass(frozen=True)
class Health:
    ok: bool
    database: str  # "reachable" | "unreachable" | "not answering"
    schema: str | None  # the stamped revision, when reachable
    timeline: str = "current"  # "current" | "behind" (facts stored, timeline not rebuilt)

    def to_json(self) -> dict[str, object]:
        return {"status": "ok" if self.ok else "error", "database": self.database, "schema": self.schema,
                "expected_schema": db.SCHEMA_HEAD, "timeline": self.timeline}


class TimelineReader:
    """Opened once by `serve`; `snapshot()` per request; `close()` at shutdown."""

    def __init__(self, url: str | None) -> None:
        self.url = db.resolve_url(url)
        self.shown = db.display_url(self.url)
        self._file = plain_sqlite_file(self.url)
        if self._file is not None and not self._file.is_file():
            raise DatabaseError(f"database {self._file} does not exist; ingest or poll notices into it first, "
                                "or point --db at the database the poller writes")
        from caltac_inbox.store.read import CORRECTION_RUN
        from caltac_inbox.store.writer import Store

        self._reader = open_reader(self.url, connect_timeout=CONNECT_SECONDS, statement_timeout=STATEMENT_SECONDS)
        self._store = Store(db.make_engine(self.url, connect_timeout=CONNECT_SECONDS,
                                           statement_timeout=STATEMENT_SECONDS))
        # what it writes is an editor's correction, never a poll (`changes --since last-poll` skips it)
        self._store.run_id = CORRECTION_RUN + self._store.run_id
        self._checks = ThreadPoolExecutor(max_workers=2, thread_name_prefix="caltac-health")
        self._behind_since: float | None = None
        self._repairing = False
        database, schema, behind = self._state()
        if database != "reachable" or schema != db.SCHEMA_HEAD:
            self.close()
            if database != "reachable":
                raise DatabaseError(f"cannot read database {self.shown}; check --db / CALTAC_INBOX_DB and that "
                                    "the server is reachable")
            raise DatabaseError(f"database {self.shown} is at schema {schema or 'none'}, this caltac-inbox "
                                f"reads {db.SCHEMA_HEAD}; {UPGRADE_HINT}")
        with contextlib.suppress(DatabaseError), self._reader.snapshot():
            pass  # spends the connection open_reader decided on: each request reads afresh
        if behind:  # left so by a run that died: rebuilt now, or reported by /healthz
            self._behind_since = time.monotonic() - STALE_SECONDS
            self._repair()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator["RowSource"]:
        """A row source inside one read transaction (store.Reader's). Raises DatabaseError
        (one line)."""
        with self._reader.snapshot() as source:
            yield source

    @property
    def store(self) -> "Store":
        """The full store, for what an editor does on the page (store.edits, then a refresh)."""
        return self._store

    def health(self) -> Health:
        """Whether the database answers (within HEALTH_SECONDS), is stamped with the
        schema this code reads, and its timeline is not left behind the facts. A timeline
        behind for STALE_SECONDS is rebuilt in the background. Never creates a file."""
        try:
            database, schema, behind = self._checks.submit(self._state).result(timeout=HEALTH_SECONDS)
        except FutureTimeout:
            return Health(False, "not answering", None)
        if not behind:
            self._behind_since = None
        elif self._behind_since is None:
            self._behind_since = time.monotonic()
        stale = self._behind_since is not None and time.monotonic() - self._behind_since >= STALE_SECONDS
        if stale and not self._repairing:
            self._repairing = True
            self._checks.submit(self._repair)
        ok = database == "reachable" and schema == db.SCHEMA_HEAD and not stale
        return Health(ok, database, schema, "behind" if stale else "current")

    def _state(self) -> tuple[str, str | None, bool]:
        """(database, stamped schema, timeline behind the facts), read afresh: a SQLite
        file replaced by something else is noticed, a read-only copy is read as it is."""
        from caltac_inbox.store.read import timeline_behind

        if self._file is not None:
            if not self._file.is_file():
                return "unreachable", None, False
            conn = open_sqlite_reader(self.url)
            if conn is None:  # not at the schema head, or not a database at all
                stamp = _stamp_of(self._file)
                return ("unreachable", None, False) if stamp is None else ("reachable", stamp, False)
            try:
                return "reachable", db.SCHEMA_HEAD, timeline_behind(conn)
            except sqlite3.Error:
                return "unreachable", None, False
            finally:
                conn.close()
        if self._reader.light:  # psycopg: a snapshot is at the schema head or a DatabaseError
            try:
                with self._reader.snapshot() as source:
                    return "reachable", db.SCHEMA_HEAD, timeline_behind(source)
            except DatabaseError:
                pass  # unreachable, or at another schema: which, below
        stamped = db.stamped_revisions(self._store.engine)
        if stamped is None:
            return "unreachable", None, False
        schema = stamped[0] if len(stamped) == 1 else ",".join(stamped) or None
        if stamped != [db.SCHEMA_HEAD]:
            return "reachable", schema, False
        try:
            with self._store.session(readonly=True) as session:
                return "reachable", schema, timeline_behind(session)
        except DatabaseError:
            return "unreachable", schema, False

    def _repair(self) -> None:
        """Rebuild a timeline left behind the facts; a database this process cannot write
        (a read-only copy) stays as it is, and /healthz says so."""
        try:
            self._store.catch_up_timeline()
            self._behind_since = None
        except DatabaseError:
            pass
        finally:
            self._repairing = False

    def close(self) -> None:
        self._checks.shutdown(wait=False, cancel_futures=True)
        self._reader.close()
        self._store.close()


def _stamp_of(path: "Path") -> str | None:
    """The revision a SQLite file is stamped with, read on a fresh read-only connection;
    None when it is not a caltac-inbox database (or not a database at all)."""
    from caltac_inbox.store.light import _file_uri

    try:
        conn = sqlite3.connect(_file_uri(path, "mode=ro"), uri=True, timeout=HEALTH_SECONDS)
    except sqlite3.Error:
        return None
    try:
        stamped = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return ",".join(stamped) or None


__all__ = ["Health", "TimelineReader"]
