"""Each mailbox's polls as freshness needs them (schema.MailboxPoll, caltac_inbox.freshness),
and the digests sent (schema.DigestRow: what "changed since the last digest" counts from).

`record_poll` stores one attempt: its time, and either success (the success time moves)
or the error that stopped it (the last success stays). It runs on the store's Session or,
for a poll that found nothing new in an existing SQLite file, on a plain sqlite3
connection (`record_poll_sqlite`), so a quiet poll still never imports SQLAlchemy.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from caltac_inbox.store.db import SQLITE_BUSY_TIMEOUT_MS
from caltac_inbox.store.read import sqlite_params

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# One statement for both backends (SQLite >= 3.24 and PostgreSQL have ON CONFLICT).
_UPSERT = ("INSERT INTO mailbox_polls (mailbox, attempted_at, succeeded_at, error) "
           "VALUES (:mailbox, :attempted_at, :succeeded_at, :error) "
           "ON CONFLICT (mailbox) DO UPDATE SET attempted_at = excluded.attempted_at, error = excluded.error, "
           "succeeded_at = COALESCE(excluded.succeeded_at, mailbox_polls.succeeded_at)")
ERROR_LIMIT = 500  # characters of a poll's error kept


def _params(mailbox: str, at: datetime, error: str | None) -> dict[str, Any]:
    short = " ".join(error.split())[:ERROR_LIMIT] if error else None
    return {"mailbox": mailbox, "attempted_at": at, "succeeded_at": None if error else at, "error": short}


def record_poll(session: Session, mailbox: str, at: datetime, error: str | None = None) -> None:
    """Store a poll of `mailbox` at `at` (aware): successful when `error` is None. The
    caller commits."""
    from sqlalchemy import text

    params = _params(mailbox, at, error)
    if session.get_bind().dialect.name == "sqlite":
        params = sqlite_params(params)
    session.execute(text(_UPSERT), params)


def record_digest(session: Session, *, sent_at: datetime, as_of: str, recipients: list[str]) -> None:
    """Keep that a digest went out: the next one lists the changes recorded since."""
    from caltac_inbox.store.schema import DigestRow

    session.add(DigestRow(sent_at=sent_at, as_of=as_of, recipients=", ".join(recipients)))
    session.flush()


def record_poll_sqlite(path: Path, mailbox: str, at: datetime, error: str | None = None) -> None:
    """record_poll on the SQLite file at `path` (which exists: the poll read it), committed."""
    conn = sqlite3.connect(str(path), timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        with conn:
            conn.execute(_UPSERT, sqlite_params(_params(mailbox, at, error)))
    finally:
        conn.close()


__all__ = ["record_digest", "record_poll", "record_poll_sqlite"]
