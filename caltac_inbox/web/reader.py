"""The store as the web server reads it: never created or migrated, and written only by
an editor's action (through `store`, as the command line writes).

An existing SQLite file is read per request through store.light's sqlite3 reader (one
read transaction, so the feed's generation and its entries come from one snapshot; in
WAL mode a poll writing meanwhile neither waits nor is waited for). Any other database
(PostgreSQL) goes through a pooled SQLAlchemy engine, one read-only session per request.
Both run the same store.read and store.feeds queries as the command line.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from caltac_inbox.errors import DatabaseError
from caltac_inbox.store import db
from caltac_inbox.store.db import plain_sqlite_file
from caltac_inbox.store.light import open_sqlite_reader, read_snapshot

if TYPE_CHECKING:
    from caltac_inbox.pipeline import Store
    from caltac_inbox.store.read import RowSource

UPGRADE_HINT = "run `caltac-inbox db upgrade` (or an ingest or poll) with this version first"


@dataclass(frozen=True)
class Health:
    ok: bool
    database: str  # "reachable" | "unreachable"
    schema: str | None  # the stamped revision, when reachable

    def to_json(self) -> dict[str, object]:
        return {"status": "ok" if self.ok else "error", "database": self.database, "schema": self.schema,
                "expected_schema": db.SCHEMA_HEAD}


class TimelineReader:
    """Opened once by `serve`; `snapshot()` per request; `close()` at shutdown."""

    def __init__(self, url: str | None) -> None:
        self.url = db.resolve_url(url)
        self.shown = db.display_url(self.url)
        self._file = plain_sqlite_file(self.url)
        if self._file is not None and not self._file.is_file():
            raise DatabaseError(f"database {self._file} does not exist; ingest or poll notices into it first, "
                                "or point --db at the database the poller writes")
        from caltac_inbox.pipeline import Store
        from caltac_inbox.store.read import CORRECTION_RUN

        self._store = Store(db.make_engine(self.url))
        # what it writes is an editor's correction, never a poll (`changes --since last-poll` skips it)
        self._store.run_id = CORRECTION_RUN + self._store.run_id
        health = self.health()
        if not health.ok:
            self.close()
            if health.database != "reachable":
                raise DatabaseError(f"cannot read database {self.shown}; check --db / CALTAC_INBOX_DB and that "
                                    "the server is reachable")
            raise DatabaseError(f"database {self.shown} is at schema {health.schema or 'none'}, this caltac-inbox "
                                f"reads {db.SCHEMA_HEAD}; {UPGRADE_HINT}")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator["RowSource"]:
        """A row source inside one read transaction. Raises DatabaseError (one line)."""
        if self._file is not None:
            conn = open_sqlite_reader(self.url)
            if conn is None:
                raise DatabaseError(f"cannot read database {self._file} at schema {db.SCHEMA_HEAD}; {UPGRADE_HINT}")
            with read_snapshot(conn, self.url) as source:
                yield source
            return
        with self._store.session(readonly=True) as session:
            yield session

    @property
    def store(self) -> "Store":
        """The full store, for what an editor does on the page (store.edits, then a refresh)."""
        return self._store

    def health(self) -> Health:
        """Whether the database answers and is stamped with the schema this code reads.
        Reads alembic_version only; a SQLite file that went away is not created again."""
        if self._file is not None and not self._file.is_file():
            return Health(False, "unreachable", None)
        stamped = db.stamped_revisions(self._store.engine)
        if stamped is None:
            return Health(False, "unreachable", None)
        schema = stamped[0] if len(stamped) == 1 else ",".join(stamped) or None
        return Health(stamped == [db.SCHEMA_HEAD], "reachable", schema)

    def close(self) -> None:
        self._store.close()


__all__ = ["Health", "TimelineReader"]
