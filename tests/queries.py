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
    """The .ics of the store's entries (export.ics.calendar_entries' selection), written
    as export-ics and the feed write it (calendar_stream, inside the read session)."""
    from caltac_inbox.export.ics import IcsOptions, calendar_stream

    with store.session(readonly=True) as s:
        return b"".join(calendar_stream(s, options or IcsOptions(), **selection))


def read_state(store: Any, query: str, *args: Any) -> Any:
    """store.read's `query` (imap_checkpoint, known_uids, ...) on the store."""
    with store.session(readonly=True) as s:
        return getattr(read, query)(s, *args)
