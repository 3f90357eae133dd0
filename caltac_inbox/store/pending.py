"""timeline_pending: the groups of the timeline a transaction changed (timeline.scope),
recorded in that transaction for the next refresh (store.write.refresh_timeline).

Its own module so that every writer of facts or corrections (store.write,
store.corrections) marks what it changed without importing the others.
"""
from __future__ import annotations

import functools
from typing import Any, Iterable, Sequence

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from caltac_inbox.store.schema import TimelinePendingRow
from caltac_inbox.timeline.scope import Scope

# timeline_pending scopes besides timeline.scope's: the next refresh replays every fact
# (a fact stored before migration 0013 has no scope yet), one entry by its uid
FULL_SCOPE = "*"
ENTRY_SCOPE = "entry:"


def mark_pending(session: Session | Connection, scopes: Sequence[Scope]) -> None:
    """Record, in the transaction that changes facts of these groups, that the timeline
    must recompute them (the next refresh_timeline does, store.incremental)."""
    rows = {(s.key, s.first.isoformat() if s.first else "", s.last.isoformat() if s.last else "") for s in scopes}
    if rows:
        session.execute(_pending_statement(_dialect(session)),
                        [dict(scope=key, span_first=first, span_last=last) for key, first, last in sorted(rows)])


def mark_entries_pending(session: Session | Connection, uids: Iterable[str]) -> None:
    """The entries `uids` must be recomputed (a correction of them, or the loss of a source)."""
    mark_pending(session, [Scope(ENTRY_SCOPE + uid) for uid in uids])


def _dialect(session: Session | Connection) -> str:
    bind = session if isinstance(session, Connection) else session.get_bind()
    return bind.dialect.name


@functools.lru_cache(maxsize=None)
def _pending_statement(dialect_name: str) -> Any:
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(TimelinePendingRow).on_conflict_do_nothing(index_elements=["scope", "span_first", "span_last"])


__all__ = ["ENTRY_SCOPE", "FULL_SCOPE", "mark_entries_pending", "mark_pending"]
