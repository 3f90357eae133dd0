"""The store: the database of archived notices, their facts and the timeline.

`open_reader(url)` and `open_writer(url)` are the one place that chooses how to open it.
A reader never creates, migrates or writes: an existing SQLite file at the current
schema is read with the standard library's sqlite3, an existing PostgreSQL database at
the current schema with libpq through ctypes (store.libpq; psycopg alone where no libpq
loads), in store.light: importing SQLAlchemy would cost ~0.25 s, most of a query's run,
and psycopg ~0.13 s; anything else through SQLAlchemy in read-only
sessions. A writer is the SQLAlchemy Store (store.writer.Store), which creates or
migrates the database on first use and stores what the pipeline hands it. The command
line, the poller and the web server open the store through these two.

This module imports only the light modules of the package (the standard library's
sqlite3, ctypes or psycopg for PostgreSQL, no SQLAlchemy) until a writer or an SQLAlchemy reader
is opened.
"""
from __future__ import annotations

import contextlib
import sqlite3
import threading
from typing import TYPE_CHECKING, Any, Iterator

from caltac_inbox.errors import DatabaseError
from caltac_inbox.store import db
from caltac_inbox.store.light import (PostgresReader, missing_database_error, open_postgres_reader,
                                      open_sqlite_reader, read_snapshot)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from caltac_inbox.store.writer import Store

UPGRADE_HINT = db.UPGRADE_HINT


class Reader:
    """An existing database opened for reading. `snapshot()` gives a row source of
    store.read (a sqlite3 connection, a PostgresSource or a read-only Session) inside one
    read transaction; snapshots may be taken from several threads at once."""

    def __init__(self, url: str | None, first: sqlite3.Connection | None, store: "Store | None",
                 postgres: PostgresReader | None = None) -> None:
        self.url = url
        self._first = first  # the light SQLite connection open_reader opened to decide
        self._store = store
        self._postgres = postgres
        self._lock = threading.Lock()

    @property
    def light(self) -> bool:
        """Whether it reads without SQLAlchemy (sqlite3, or store.libpq or psycopg for PostgreSQL)."""
        return self._store is None

    @property
    def engine(self) -> "Engine | None":
        """The SQLAlchemy engine of a reader that is not light, else None."""
        return self._store.engine if self._store is not None else None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A row source inside one read transaction. Raises DatabaseError (one line)."""
        if self._store is not None:
            with self._store.session(readonly=True) as session:
                yield session
            return
        if self._postgres is not None:
            with self._postgres.snapshot() as source:
                yield source
            return
        with self._lock:
            first, self._first = self._first, None
        conn = first or open_sqlite_reader(self.url)
        if conn is None:
            raise DatabaseError(f"cannot read database {db.plain_sqlite_file(self.url) or self.url} at schema "
                                f"{db.SCHEMA_HEAD}; {UPGRADE_HINT}")
        with read_snapshot(conn, self.url) as source:
            yield source

    def close(self) -> None:
        if self._first is not None:
            self._first.close()
            self._first = None
        if self._postgres is not None:
            self._postgres.close()
            self._postgres = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_reader(url: str | None, *, connect_timeout: float | None = None,
                statement_timeout: float | None = None) -> Reader:
    """The database at `url` (None: the default SQLite file) for reading, never created or
    migrated: a SQLite file missing is a DatabaseError naming it. A light reader
    (`Reader.light`) when the database exists at SCHEMA_HEAD: a SQLite file, or a
    PostgreSQL database that answered (store.light); otherwise the SQLAlchemy store,
    connected to at its first snapshot. `connect_timeout` and `statement_timeout`
    (seconds, PostgreSQL) as store.db.make_engine takes them, on either path."""
    conn = open_sqlite_reader(url)
    if conn is not None:
        return Reader(url, conn, None)
    missing = missing_database_error(url)
    if missing is not None:
        raise missing
    resolved = db.resolve_url(url)
    postgres = open_postgres_reader(resolved, connect_timeout=connect_timeout, statement_timeout=statement_timeout)
    if postgres is not None:
        return Reader(url, None, None, postgres)
    from caltac_inbox.store.writer import Store  # SQLAlchemy: only for a database the light readers cannot read

    return Reader(url, None, Store(db.make_engine(resolved, connect_timeout=connect_timeout,
                                                  statement_timeout=statement_timeout)))


def open_writer(url: str | None, *, migrate: bool = True) -> "Store":
    """The Store on `url` (None: the default SQLite file), created or migrated on first use
    unless `migrate` is False."""
    from caltac_inbox.store.writer import open_store  # SQLAlchemy: only for a writer

    return open_store(url, migrate=migrate)


__all__ = ["Reader", "UPGRADE_HINT", "open_reader", "open_writer"]
