"""The store's read queries (caltac_inbox.store.read) on a store.writer.Store, each in a
read-only session of its own, and the calendar of a whole store."""
from __future__ import annotations

from typing import Any

from caltac_inbox.store import read


def upcoming(store: Any, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    with store.session(readonly=True) as s:
        return read.upcoming(s, *args, **kwargs)


def timeline(store: Any, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    with store.session(readonly=True) as s:
        return read.timeline(s, *args, **kwargs)


def show(store: Any, entry_id_or_uid: str | int) -> dict[str, Any] | None:
    with store.session(readonly=True) as s:
        return read.show(s, entry_id_or_uid)


def calendar(store: Any, *, options: Any = None, **selection: Any) -> bytes:
    """The .ics of the store's entries (export.ics.calendar_entries' selection)."""
    from caltac_inbox.export.ics import IcsOptions, calendar_entries, calendar_ics

    with store.session(readonly=True) as s:
        entries = calendar_entries(s, **selection)
    return calendar_ics(entries, options or IcsOptions())


def read_state(store: Any, query: str, *args: Any) -> Any:
    """store.read's `query` (imap_checkpoint, known_uids, ...) on the store."""
    with store.session(readonly=True) as s:
        return getattr(read, query)(s, *args)
