"""Row-level reads and writes on the store tables, shared by pipeline and queries.

Writes that can race with another process use INSERT ... ON CONFLICT on the unique
constraints (SQLite and PostgreSQL dialect inserts), never check-then-insert.
Nothing here commits: the caller owns the transaction. The write functions take a
Session or a Connection.

The per-message inserts are Core statements on the tables, built once per dialect with
every value a bound parameter: SQLAlchemy compiles each once, and they skip the ORM's
bulk-insert bookkeeping (together ~1 ms per stored message).
"""
from __future__ import annotations

import functools
import hashlib
import json
from datetime import date, datetime, time, timezone
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from caltac_inbox.identity import message_identity
from caltac_inbox.model import FIRST_DAY, LAST_DAY, Fact, Notice, RawMessage, When
from caltac_inbox.store.schema import FactRow, ImapMessage, ImapState, Message, TimelineState

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
# Fields that are flags about a fact, not what it says: left out of its identity.
_NOT_IDENTITY = ("evidence", "unverified", "needs_review")
_DATE_FIELDS = ("start", "end", "due", "at", "term_end")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def fact_identity(fact: Fact) -> str:
    """sha256 of the canonical docs/facts.md JSON of a fact without evidence and flags."""
    return _identity_of(fact.to_json())


def _identity_of(fact_json: dict[str, Any]) -> str:
    data = {k: v for k, v in fact_json.items() if k not in _NOT_IDENTITY}
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def to_timestamp(when: When | None) -> datetime | None:
    """A key date as a timestamp: a date-only value is 00:00 America/Los_Angeles."""
    if when is None:
        return None
    if isinstance(when, datetime):
        return when if when.tzinfo else when.replace(tzinfo=LOS_ANGELES)
    return datetime.combine(when, time(0), tzinfo=LOS_ANGELES)


def fact_key_at(fact: Fact) -> datetime | None:
    """start for downtime (end without start), due/at otherwise, month start for tasks."""
    if fact.kind == "task":
        return to_timestamp(date.fromisoformat(fact.month + "-01")) if fact.month else None
    return to_timestamp(fact.key_date())


def insert_for(session: Session | Connection):
    """The dialect's `insert` (with on_conflict_do_nothing / do_update)."""
    return _dialect_insert(_dialect(session))


def archive_message(
    session: Session | Connection,
    raw: RawMessage,
    *,
    notice: Notice | None,
    parse_status: str,
    parse_error: str | None = None,
    origin: str = "mail",
    sha256: str | None = None,
) -> tuple[int, bool]:
    """Store the message once: another copy of it (same identity: the bytes with line
    ends and mbox artefacts normalised) is not stored again. Returns (message pk, True
    if this call stored it)."""
    digest = sha256 or sha256_hex(raw.raw)
    identity = message_identity(raw.raw)
    values: dict[str, Any] = dict(
        sha256=digest,
        identity=identity,
        raw=raw.raw,
        size=len(raw.raw),
        origin=origin,
        source=raw.source,
        mailbox=raw.mailbox,
        parse_status=parse_status,
        parse_error=parse_error,
        archived_at=utcnow(),
        **notice_columns(notice),
    )
    dialect = _dialect(session)
    pk = session.execute(_archive_statement(dialect), values).scalar_one_or_none()
    if pk is not None:
        return pk, True
    # Another run (maybe a concurrent one, now committed) archived it first.
    return session.execute(_message_pk_statement(dialect), {"sha256": digest, "identity": identity}
                           ).scalar_one(), False


def _dialect(session: Session | Connection) -> str:
    bind = session if isinstance(session, Connection) else session.get_bind()
    return bind.dialect.name


def _dialect_insert(dialect_name: str):
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


@functools.lru_cache(maxsize=None)
def _archive_statement(dialect_name: str):
    table = Message.__table__
    # no conflict target: the same identity or (a copy archived before 0004) the same bytes
    return _dialect_insert(dialect_name)(table).on_conflict_do_nothing().returning(table.c.id)


@functools.lru_cache(maxsize=None)
def _message_pk_statement(dialect_name: str):
    from sqlalchemy import bindparam, or_

    table = Message.__table__
    return (select(table.c.id)
            .where(or_(table.c.identity == bindparam("identity"), table.c.sha256 == bindparam("sha256")))
            .order_by(table.c.id).limit(1))


def notice_columns(notice: Notice | None) -> dict[str, Any]:
    if notice is None:
        return dict(message_id=None, subject=None, sender=None, sent=None, forwarded_by=None, authenticated=None)
    return dict(
        message_id=notice.message_id,
        subject=notice.subject,
        sender=notice.sender,
        sent=notice.sent,
        forwarded_by=notice.forwarded_by,
        authenticated=notice.authenticated,
    )


def fact_values(fact: Fact, *, message_pk: int, mailbox: str | None, unverified: bool) -> dict[str, Any]:
    """The row of a fact. Raises ValueError for a date outside FIRST_DAY..LAST_DAY: one
    notice "due December 31, 9999" would otherwise break every timeline query."""
    for name in _DATE_FIELDS:
        value = getattr(fact, name)
        day = value.date() if isinstance(value, datetime) else value
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise ValueError(f"{fact.kind} {name} {value.isoformat()} is outside the supported days "
                             f"{FIRST_DAY} to {LAST_DAY}")
    data = fact.to_json()
    return dict(
        message_pk=message_pk,
        kind=fact.kind,
        program=list(fact.program),
        start=to_timestamp(fact.start),
        end=to_timestamp(fact.end),
        due=to_timestamp(fact.due),
        at=to_timestamp(fact.at),
        key_at=fact_key_at(fact),
        fields=data,
        evidence=fact.evidence,
        identity=_identity_of(data),
        mailbox=mailbox,
        unverified=bool(unverified or fact.unverified),
    )


def insert_facts(
    session: Session | Connection,
    message_pk: int,
    facts: Sequence[Fact],
    *,
    mailbox: str | None,
    unverified: bool,
) -> int:
    """Insert facts, each at most once per (message, identity). Returns how many were new."""
    if not facts:
        return 0
    rows = [fact_values(f, message_pk=message_pk, mailbox=mailbox, unverified=unverified) for f in facts]
    # One statement with the rows as executemany parameters: its SQL is the same on
    # every call, so SQLAlchemy compiles it once (a multi-row .values(rows) is
    # recompiled for every message, ~2 ms each).
    stmt = _insert_facts_statement(_dialect(session))
    return len(session.execute(stmt, rows).scalars().all())


@functools.lru_cache(maxsize=None)
def _insert_facts_statement(dialect_name: str):
    table = FactRow.__table__
    return (
        _dialect_insert(dialect_name)(table)
        .on_conflict_do_nothing(index_elements=["message_pk", "identity"])
        .returning(table.c.id)
    )


def replace_facts(
    session: Session,
    message_pk: int,
    facts: Sequence[Fact],
    *,
    mailbox: str | None,
    unverified: bool,
) -> tuple[int, int]:
    """Make the message's facts exactly `facts` (reparse). Returns (added, removed).

    Facts whose identity is unchanged keep their row (and id); their evidence and
    flags are refreshed.
    """
    from sqlalchemy import delete

    wanted = {fact_identity(f): f for f in facts}
    existing = dict(
        session.execute(select(FactRow.identity, FactRow.id).where(FactRow.message_pk == message_pk)).all()
    )
    stale = [fid for ident, fid in existing.items() if ident not in wanted]
    if stale:
        session.execute(delete(FactRow).where(FactRow.id.in_(stale)))
    for ident, fact in wanted.items():
        if ident in existing:
            session.execute(
                update(FactRow)
                .where(FactRow.id == existing[ident])
                .values(
                    evidence=fact.evidence,
                    fields=fact.to_json(),
                    mailbox=mailbox,
                    unverified=bool(unverified or fact.unverified),
                )
            )
    added = insert_facts(
        session, message_pk, [f for i, f in wanted.items() if i not in existing], mailbox=mailbox, unverified=unverified
    )
    return added, len(stale)


def record_imap_uid(session: Session | Connection, raw: RawMessage, *, message_pk: int | None, status: str) -> None:
    """Remember a fetched UID and advance the folder checkpoint (same transaction)."""
    if raw.mailbox is None or raw.folder is None or raw.uidvalidity is None or raw.uid is None:
        return
    session.execute(
        _imap_uid_statement(_dialect(session)),
        dict(mailbox=raw.mailbox, folder=raw.folder, uidvalidity=raw.uidvalidity, uid=raw.uid,
             message_pk=message_pk, status=status, seen_at=utcnow(),
             message_id=raw.declared_message_id, size=raw.declared_size),
    )
    advance_imap_state(session, raw.mailbox, raw.folder, raw.uidvalidity, raw.uid)


def record_recognised_uids(session: Session | Connection, mailbox: str, folder: str, uidvalidity: int,
                           rows: Sequence[tuple[int, str, int, int | None, str]]) -> None:
    """Record UIDs recognised without a download, each (uid, message_id, size, message_pk,
    status) as recorded for the earlier copy. The checkpoint is left alone: the caller
    moves it past them once the UIDs below them are done."""
    if not rows:
        return
    seen_at = utcnow()
    session.execute(
        _imap_uid_statement(_dialect(session)),
        [dict(mailbox=mailbox, folder=folder, uidvalidity=uidvalidity, uid=uid, message_pk=message_pk,
              status=status, seen_at=seen_at, message_id=message_id, size=size)
         for uid, message_id, size, message_pk, status in rows],
    )


def recorded_by_message_id(session: Session | Connection, mailbox: str,
                           message_ids: Sequence[str]) -> dict[tuple[str, int], tuple[int | None, str]]:
    """(message_id, size) -> (message_pk, status) of UIDs already recorded in `mailbox`
    (any folder, any UIDVALIDITY) with one of `message_ids`; archived copies win over
    ignored ones."""
    table = ImapMessage.__table__
    found: dict[tuple[str, int], tuple[int | None, str]] = {}
    for start in range(0, len(message_ids), 500):
        chunk = sorted(set(message_ids[start:start + 500]))
        rows = session.execute(
            select(table.c.message_id, table.c.size, table.c.message_pk, table.c.status).where(
                table.c.mailbox == mailbox, table.c.message_id.in_(chunk), table.c.size.is_not(None)))
        for message_id, size, message_pk, status in rows:
            key = (message_id, int(size))
            if key not in found or (found[key][0] is None and message_pk is not None):
                found[key] = (message_pk, status)
    return found


@functools.lru_cache(maxsize=None)
def _imap_uid_statement(dialect_name: str):
    return _dialect_insert(dialect_name)(ImapMessage.__table__).on_conflict_do_nothing(
        index_elements=["mailbox", "folder", "uidvalidity", "uid"]
    )


def advance_imap_state(session: Session | Connection, mailbox: str, folder: str, uidvalidity: int, last_uid: int) -> None:
    """Upsert the folder checkpoint. Same UIDVALIDITY: keep the higher UID (never
    backwards). A new UIDVALIDITY: start over from `last_uid` and count the change."""
    session.execute(
        _imap_state_statement(_dialect(session)),
        dict(mailbox=mailbox, folder=folder, uidvalidity=uidvalidity, last_uid=last_uid, updated_at=utcnow()),
    )


@functools.lru_cache(maxsize=None)
def _imap_state_statement(dialect_name: str):
    from sqlalchemy import case

    table = ImapState.__table__
    stmt = _dialect_insert(dialect_name)(table)
    return stmt.on_conflict_do_update(
        index_elements=["mailbox", "folder"],
        set_=dict(
            last_uid=case(
                (
                    (table.c.uidvalidity == stmt.excluded.uidvalidity)
                    & (table.c.last_uid > stmt.excluded.last_uid),
                    table.c.last_uid,
                ),
                else_=stmt.excluded.last_uid,
            ),
            uidvalidity_changes=case(
                (table.c.uidvalidity == stmt.excluded.uidvalidity, table.c.uidvalidity_changes),
                else_=table.c.uidvalidity_changes + 1,
            ),
            uidvalidity=stmt.excluded.uidvalidity,
            updated_at=stmt.excluded.updated_at,
        ),
    )


def imap_checkpoint(session: Session, mailbox: str, folder: str) -> tuple[int | None, int]:
    row = session.execute(
        select(ImapState.uidvalidity, ImapState.last_uid).where(
            ImapState.mailbox == mailbox, ImapState.folder == folder
        )
    ).first()
    return (None, 0) if row is None else (row.uidvalidity, row.last_uid)


def uidvalidity_changes(session: Session, mailbox: str, folder: str) -> int:
    value = session.execute(select(ImapState.uidvalidity_changes).where(
        ImapState.mailbox == mailbox, ImapState.folder == folder)).scalar_one_or_none()
    return int(value or 0)


def settle_uidvalidity(session: Session, mailbox: str, folder: str) -> None:
    """The folder was scanned to the end under an unchanged UIDVALIDITY."""
    session.execute(update(ImapState).where(ImapState.mailbox == mailbox, ImapState.folder == folder,
                                            ImapState.uidvalidity_changes != 0).values(uidvalidity_changes=0))


def known_uids(session: Session, mailbox: str, folder: str, uidvalidity: int, above: int = 0) -> set[int]:
    return set(
        session.execute(
            select(ImapMessage.uid).where(
                ImapMessage.mailbox == mailbox,
                ImapMessage.folder == folder,
                ImapMessage.uidvalidity == uidvalidity,
                ImapMessage.uid > above,
            )
        ).scalars()
    )


def list_messages(session: Session, *, failed: bool = False, mailbox: str | None = None) -> list[dict[str, Any]]:
    """Archived messages (no raw bytes) with parse status and fact counts, oldest first."""
    fact_count = (
        select(func.count(FactRow.id)).where(FactRow.message_pk == Message.id).correlate(Message).scalar_subquery()
    )
    stmt = select(
        Message.id,
        Message.sha256,
        Message.origin,
        Message.source,
        Message.mailbox,
        Message.message_id,
        Message.subject,
        Message.sender,
        Message.sent,
        Message.forwarded_by,
        Message.authenticated,
        Message.parse_status,
        Message.parse_error,
        Message.size,
        Message.archived_at,
        fact_count.label("facts"),
    ).order_by(Message.id)
    if failed:
        stmt = stmt.where(Message.parse_status.in_(("failed", "skipped")))
    if mailbox:
        stmt = stmt.where(Message.mailbox == mailbox)
    out = []
    for row in session.execute(stmt):
        item = dict(row._mapping)
        if item["sent"] is not None:  # notices are read in California time
            item["sent"] = item["sent"].astimezone(LOS_ANGELES).isoformat()
        item["archived_at"] = item["archived_at"].isoformat()
        out.append(item)
    return out


def facts_changed(session: Session | Connection) -> None:
    """Record, in the transaction that changed stored facts, that the timeline is now
    behind them (refresh_timeline catches up). Called last in its transaction: on
    PostgreSQL the row stays locked until the commit."""
    session.execute(update(TimelineState).where(TimelineState.id == 1)
                    .values(facts_generation=TimelineState.facts_generation + 1))


def timeline_rebuilt_from(session: Session | Connection, facts_generation: int) -> None:
    session.execute(update(TimelineState).where(TimelineState.id == 1)
                    .values(timeline_generation=facts_generation))


def message_ids_and_sizes(session: Session, *, failed_only: bool) -> list[tuple[int, int]]:
    """(id, size) of the archived mail messages (only those that failed to parse), by id."""
    stmt = select(Message.id, Message.size).where(Message.origin == "mail").order_by(Message.id)
    if failed_only:
        stmt = stmt.where(Message.parse_status == "failed")
    return [(pk, size) for pk, size in session.execute(stmt)]


__all__ = [
    "advance_imap_state",
    "archive_message",
    "fact_identity",
    "fact_key_at",
    "imap_checkpoint",
    "insert_facts",
    "known_uids",
    "list_messages",
    "record_imap_uid",
    "record_recognised_uids",
    "recorded_by_message_id",
    "replace_facts",
    "settle_uidvalidity",
    "to_timestamp",
    "uidvalidity_changes",
]
