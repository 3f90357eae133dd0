"""The store as the web server reads it: never created, migrated or written.

store.open_reader decides how: an existing SQLite file is read per request through the
standard library's sqlite3 (one read transaction, so the feed's generation and its
entries come from one snapshot; in WAL mode a poll writing meanwhile neither waits nor
is waited for). Any other database (PostgreSQL) goes through a pooled SQLAlchemy
engine, one read-only session per request.
Both run the same store.read and store.feeds queries as the command line.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from caltac_inbox.errors import DatabaseError
from caltac_inbox.store import UPGRADE_HINT, db, open_reader
from caltac_inbox.store.db import plain_sqlite_file

if TYPE_CHECKING:
    from caltac_inbox.store.read import RowSource


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
        self._reader = open_reader(self.url)
        # The health check reads alembic_version through SQLAlchemy, also for a SQLite file.
        self._engine = self._reader.engine or db.make_engine(self.url)
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
        with self._reader.snapshot() as source:
            yield source

    def health(self) -> Health:
        """Whether the database answers and is stamped with the schema this code reads.
        Reads alembic_version only; a SQLite file that went away is not created again."""
        if self._file is not None and not self._file.is_file():
            return Health(False, "unreachable", None)
        stamped = db.stamped_revisions(self._engine)
        if stamped is None:
            return Health(False, "unreachable", None)
        schema = stamped[0] if len(stamped) == 1 else ",".join(stamped) or None
        return Health(stamped == [db.SCHEMA_HEAD], "reachable", schema)

    def close(self) -> None:
        if self._reader.engine is None:
            self._engine.dispose()
        self._reader.close()


__all__ = ["Health", "TimelineReader"]
