"""Private calendar feeds: create, list, revoke, and find one by its token.

A feed token is 32 random bytes, URL-safe base64 (43 characters), printed once by
`caltac-inbox feed create`. The database keeps only its sha256 (`feed_tokens.token_sha256`)
and finds a presented token by that hash: the lookup's timing depends on the hash, never
on how many leading characters of a guess are right, so no comparison of the secret
itself ever happens. A revoked feed keeps its row (for `feed list`) and is found no more.

Reads (`find_feed`, `list_feeds`) run on either kind of row source, like
store.read's queries: a SQLAlchemy Session or store.light's sqlite3 reader.
Writes take a Session of the full store.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Sequence

from caltac_inbox.errors import InputError
from caltac_inbox.store.read import RowSource, _instant, _json, rows

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

TOKEN_BYTES = 32
FEED_COLUMNS = "id, name, kinds, programs, mailbox, created_at, revoked_at"


def _shown(at: datetime | None) -> str | None:
    """A time as everything a user reads it: in Los Angeles."""
    from caltac_inbox.timeline.time import in_los_angeles

    shown = in_los_angeles(at)
    return shown.isoformat() if shown else None


@dataclass(frozen=True)
class FeedFilter:
    """What a feed (or a request) selects; empty means all. Kinds lower case, programs
    upper case, as the timeline queries take them."""

    kinds: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    mailbox: str | None = None


@dataclass(frozen=True)
class Feed:
    id: int
    name: str | None
    filter: FeedFilter
    created_at: datetime | None
    revoked_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kinds": list(self.filter.kinds),
                "programs": list(self.filter.programs), "mailbox": self.filter.mailbox,
                "created_at": _shown(self.created_at), "revoked_at": _shown(self.revoked_at)}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def create_feed(session: Session, feed_filter: FeedFilter, name: str | None = None,
                now: datetime | None = None) -> tuple[Feed, str]:
    """A new feed and its token (the only time the token exists outside the caller)."""
    from caltac_inbox.store.schema import FeedToken

    token = new_token()
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    row = FeedToken(token_sha256=token_digest(token), name=name, kinds=list(feed_filter.kinds),
                    programs=list(feed_filter.programs), mailbox=feed_filter.mailbox, created_at=now)
    session.add(row)
    session.flush()
    return Feed(row.id, name, feed_filter, now, None), token


def revoke_feed(session: Session, feed: str, now: datetime | None = None) -> Feed:
    """Revoke the feed numbered `feed` (as `feed list` shows it), or the feed whose token
    or subscription URL `feed` is. Revoking a revoked feed changes nothing."""
    from sqlalchemy import select

    from caltac_inbox.store.schema import FeedToken

    wanted = feed.strip()
    if wanted.isdigit() and len(wanted) < 19:
        row = session.get(FeedToken, int(wanted))
    else:
        token = wanted.rsplit("/", 1)[-1].split("?", 1)[0].removesuffix(".ics")
        row = session.execute(select(FeedToken).where(FeedToken.token_sha256 == token_digest(token))).scalar_one_or_none()
    if row is None:
        # never echo what was given: it may be a (mistyped) token
        raise InputError("no such feed; give the number that `caltac-inbox feed list` shows, or the feed's URL")
    if row.revoked_at is None:
        row.revoked_at = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        session.flush()
    return _feed(dict(id=row.id, name=row.name, kinds=row.kinds, programs=row.programs, mailbox=row.mailbox,
                      created_at=row.created_at, revoked_at=row.revoked_at))


def find_feed(source: RowSource, token: str) -> Feed | None:
    """The active feed whose token this is, or None (unknown or revoked alike)."""
    if not token or len(token) > 200:
        return None
    found = rows(source, f"SELECT {FEED_COLUMNS} FROM feed_tokens WHERE token_sha256 = :digest "
                         "AND revoked_at IS NULL", {"digest": token_digest(token)})
    return _feed(found[0]) if found else None


def list_feeds(source: RowSource, *, include_revoked: bool = True) -> list[Feed]:
    where = "" if include_revoked else " WHERE revoked_at IS NULL"
    return [_feed(r) for r in rows(source, f"SELECT {FEED_COLUMNS} FROM feed_tokens{where} ORDER BY id", {})]


def _feed(row: Any) -> Feed:
    return Feed(
        id=int(row["id"]),
        name=row["name"],
        filter=FeedFilter(kinds=tuple(_json(row["kinds"]) or ()), programs=tuple(_json(row["programs"]) or ()),
                          mailbox=row["mailbox"]),
        created_at=_instant(row["created_at"]),
        revoked_at=_instant(row["revoked_at"]),
    )


def normalized_filter(kinds: Sequence[str] = (), programs: Sequence[str] = (), mailbox: str | None = None) -> FeedFilter:
    """Lower-case kinds and upper-case programs, each once, in a stable order."""
    return FeedFilter(kinds=tuple(sorted({k.lower() for k in kinds})), programs=tuple(sorted({p.upper() for p in programs})),
                      mailbox=mailbox or None)


__all__ = ["Feed", "FeedFilter", "create_feed", "find_feed", "list_feeds", "normalized_filter", "revoke_feed",
           "token_digest"]
