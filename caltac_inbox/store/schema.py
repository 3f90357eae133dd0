"""Typed SQLAlchemy 2 models: the tables every backend (SQLite, PostgreSQL) shares.

The Alembic chain in migrations/ creates exactly these tables; a test compares them
with autogenerate, so change both together (`make migration` style: edit here, then
add a revision).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names so migrations (and batch mode on SQLite) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}



class JSONType(TypeDecorator):
    """JSON; JSONB on PostgreSQL. The PostgreSQL dialect package is imported only when
    a PostgreSQL database is used: importing it costs ~50 ms of every command's start."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


class Timestamp(TypeDecorator):
    """TIMESTAMP WITH TIME ZONE; always returns aware datetimes.

    SQLite has no zone-aware type, so values are stored there as UTC (which also keeps
    their text order chronological) and come back tagged UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must carry a zone")
        if dialect.name == "sqlite":
            return value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value

# IMAP UIDs and UIDVALIDITY are unsigned 32-bit: they overflow a signed INTEGER.
ImapNumber = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class MessageRow(Base):
    """One archived message: raw bytes kept forever. `sha256` is of the bytes as stored;
    `identity` (caltac_inbox.identity: the bytes with line ends and mbox artefacts
    normalised) is what makes two copies of one message one row. It is null only for
    a copy archived before migration 0004 whose identity an earlier row holds."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    identity: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(String(16), default="mail")  # "mail" | "checklist"
    source: Mapped[str] = mapped_column(Text)
    mailbox: Mapped[str | None] = mapped_column(String(200), index=True)
    message_id: Mapped[str | None] = mapped_column(Text, index=True)
    subject: Mapped[str | None] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(Text)
    sent: Mapped[datetime | None] = mapped_column(Timestamp())
    forwarded_by: Mapped[str | None] = mapped_column(Text)
    authenticated: Mapped[bool | None] = mapped_column(Boolean)
    parse_status: Mapped[str] = mapped_column(String(16))  # "ok" | "partial" | "failed" | "skipped"
    parse_error: Mapped[str | None] = mapped_column(Text)
    archived_at: Mapped[datetime] = mapped_column(Timestamp())


class FactRow(Base):
    """One fact read from one message. `fields` is exactly Fact.to_json(); `identity` is
    timeline.kinds.fact_identity. Queries select entries, never facts, by date."""

    __tablename__ = "facts"
    __table_args__ = (
        UniqueConstraint("message_pk", "identity"),
        # the downtime windows near a changed one (store.incremental)
        Index("ix_facts_scope_span_last", "scope", "span_last"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    program: Mapped[list[str]] = mapped_column(JSONType())
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType())
    evidence: Mapped[str] = mapped_column(Text)
    identity: Mapped[str] = mapped_column(String(64), index=True)
    mailbox: Mapped[str | None] = mapped_column(String(200))
    unverified: Mapped[bool] = mapped_column(Boolean, default=False)
    # timeline.scope.fact_scope: the facts whose entries this one can change (null only
    # for a row stored before migration 0013, until the first full rebuild)
    scope: Mapped[str | None] = mapped_column(String(300))
    span_first: Mapped[str | None] = mapped_column(String(10))  # a downtime's days, ISO
    span_last: Mapped[str | None] = mapped_column(String(10))


class EntryRow(Base):
    """One reconciled timeline entry; `uid` is stable across rebuilds (calendar UID)."""

    __tablename__ = "entries"
    __table_args__ = (
        Index("ix_entries_kind_key_at", "kind", "key_at"),
        # with --kind, the end_at branch of the date preselection (see store/read.py)
        Index("ix_entries_kind_end_at", "kind", "end_at"),
        # date-range queries (upcoming, timeline --from/--to) name no kind
        Index("ix_entries_key_at", "key_at"),
        Index("ix_entries_end_at", "end_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    program: Mapped[list[str]] = mapped_column(JSONType())
    key_at: Mapped[datetime | None] = mapped_column(Timestamp())
    end_at: Mapped[datetime | None] = mapped_column(Timestamp())
    status: Mapped[str] = mapped_column(String(32))
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType())
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64))
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONType())
    unverified: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(Timestamp())


class EntrySourceRow(Base):
    """Which stored facts an entry was reconciled from (many-to-many)."""

    __tablename__ = "entry_sources"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True
    )
    fact_id: Mapped[int] = mapped_column(
        ForeignKey("facts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ImapMessageRow(Base):
    """Every UID ever fetched, keyed on (mailbox, folder, UIDVALIDITY, UID)."""

    __tablename__ = "imap_messages"
    __table_args__ = (
        UniqueConstraint("mailbox", "folder", "uidvalidity", "uid"),
        # a rescan recognises what it already has by Message-ID and size
        Index("ix_imap_messages_mailbox_message_id", "mailbox", "message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(200))
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int] = mapped_column(ImapNumber)
    uid: Mapped[int] = mapped_column(ImapNumber)
    # null when the sender filter ignored the message (nothing archived)
    message_pk: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))  # "stored" | "ignored" | "failed"
    seen_at: Mapped[datetime] = mapped_column(Timestamp())
    # what the server's header FETCH said (null for rows from before migration 0004)
    message_id: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(ImapNumber)  # RFC822.SIZE


class ImapStateRow(Base):
    """Checkpoint per (mailbox, folder): the highest UID processed under a UIDVALIDITY."""

    __tablename__ = "imap_state"

    mailbox: Mapped[str] = mapped_column(String(200), primary_key=True)
    folder: Mapped[str] = mapped_column(String(500), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(ImapNumber)
    last_uid: Mapped[int] = mapped_column(ImapNumber)
    updated_at: Mapped[datetime] = mapped_column(Timestamp())
    # UIDVALIDITY changes since the folder was last scanned to the end unchanged: 2 or
    # more means the server renumbers it on every session (a Courier quirk)
    uidvalidity_changes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class TimelineStateRow(Base):
    """One row (id 1). `facts_generation` counts the changes to the stored facts and
    `timeline_generation` which of them the timeline was last rebuilt from: different numbers
    mean the timeline is behind (a run died between storing facts and refreshing it).
    `generation` goes up in the transaction of every refresh that changed the timeline (an
    entry or its sources), so a calendar feed's ETag and Last-Modified are read without
    rendering the calendar."""

    __tablename__ = "timeline_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facts_generation: Mapped[int] = mapped_column(Integer)
    timeline_generation: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    changed_at: Mapped[datetime] = mapped_column(Timestamp())


class TimelinePendingRow(Base):
    """A group of the timeline that changed since it was last brought in line
    (timeline.scope): written in the transaction that changed its facts or corrections,
    removed by the refresh that recomputes it. `scope` "*" makes the next refresh a full
    rebuild (facts from before migration 0013 have no scope; the timeline is not behind),
    "entry:<uid>" names one entry; a downtime scope has its days, the others ""."""

    __tablename__ = "timeline_pending"
    __table_args__ = (UniqueConstraint("scope", "span_first", "span_last"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(300))
    span_first: Mapped[str] = mapped_column(String(10))
    span_last: Mapped[str] = mapped_column(String(10))


class FeedTokenRow(Base):
    """A private calendar feed (`caltac-inbox feed create`). Only the sha256 of its token
    is kept: the token itself is printed once and never stored."""

    __tablename__ = "feed_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    # the feed's own filters (empty: all); query parameters can only narrow them
    kinds: Mapped[list[str]] = mapped_column(JSONType())
    programs: Mapped[list[str]] = mapped_column(JSONType())
    mailbox: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Timestamp())
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp())


class EditorRow(Base):
    """A person who may act from the web page (`caltac-inbox editor add`): mark done,
    dismiss, correct, add. Only the sha256 of the sign-in token is kept; `name` is what
    their corrections record as `by`; `mailbox`, when set, is all they see and change."""

    __tablename__ = "editors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    mailbox: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Timestamp())
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp())


class CorrectionRow(Base):
    """What a coordinator decided about the timeline (`dismiss`, `correct`, `add`), kept
    apart from the extracted facts so that no reparse or upgrade touches it. `target` is the
    entry's stable uid (for `add`, the uid of the entry it creates) or "lead:<identity>".
    `state` is active, undone, or superseded (a later notice changed what was corrected:
    `superseded_by` says which)."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(16))  # "dismiss" | "correct" | "add"
    mailbox: Mapped[str | None] = mapped_column(String(200))
    made_by: Mapped[str] = mapped_column(String(200))
    made_at: Mapped[datetime] = mapped_column(Timestamp())
    new_values: Mapped[dict[str, Any]] = mapped_column(JSONType())
    old_values: Mapped[dict[str, Any]] = mapped_column(JSONType())
    # the newest notice the entry rested on when it was corrected: a newer one may supersede it
    basis_sent: Mapped[datetime | None] = mapped_column(Timestamp())
    reason: Mapped[str | None] = mapped_column(Text)
    lead: Mapped[str | None] = mapped_column(String(64))  # `add --from-lead`: the lead's identity
    state: Mapped[str] = mapped_column(String(16))  # "active" | "undone" | "superseded"
    superseded_by: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime | None] = mapped_column(Timestamp())


class LeadRow(Base):
    """A dated sentence of a stored notice that produced no fact (classify.leads), rebuilt
    with the message's facts by every reparse. `identity` (message and sentence) is what a
    dismissal refers to, so it outlives the row."""

    __tablename__ = "leads"
    __table_args__ = (UniqueConstraint("message_pk", "identity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    identity: Mapped[str] = mapped_column(String(64), index=True)
    mailbox: Mapped[str | None] = mapped_column(String(200))
    when: Mapped[str | None] = mapped_column(String(40))  # the resolved date, isoformat; null: weekday mismatch
    sentence: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(200))


class TimelineChangeRow(Base):
    """One entry a timeline rebuild created, changed, cancelled or removed (timeline.changes),
    kept so `caltac-inbox changes` can show it again. `before`/`after` hold only the fields
    that changed; `run_id` names the poll or ingest run, `generation` the timeline_state
    generation the rebuild produced."""

    __tablename__ = "timeline_changes"
    __table_args__ = (Index("ix_timeline_changes_recorded_at", "recorded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    generation: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    mailbox: Mapped[str | None] = mapped_column(String(200))
    uid: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    change: Mapped[str] = mapped_column(String(16))  # new | changed | cancelled | removed
    summary: Mapped[str] = mapped_column(Text)
    program: Mapped[list[str]] = mapped_column(JSONType())
    entry_when: Mapped[str | None] = mapped_column(String(40))  # the entry's start or due, ISO
    reason: Mapped[str | None] = mapped_column(String(32))
    before: Mapped[dict[str, Any]] = mapped_column(JSONType())
    after: Mapped[dict[str, Any]] = mapped_column(JSONType())
    recorded_at: Mapped[datetime] = mapped_column(Timestamp())


class MailboxPollRow(Base):
    """How fresh a mailbox's notices are: its last poll attempt (with the error that stopped
    it, None when it succeeded) and its last successful poll (store.freshness)."""

    __tablename__ = "mailbox_polls"

    mailbox: Mapped[str] = mapped_column(String(200), primary_key=True)
    attempted_at: Mapped[datetime] = mapped_column(Timestamp())
    succeeded_at: Mapped[datetime | None] = mapped_column(Timestamp())
    error: Mapped[str | None] = mapped_column(Text)


class DigestRow(Base):
    """A digest sent (`digest --send`): the next one lists the changes recorded since."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(Timestamp())
    as_of: Mapped[str] = mapped_column(String(10))  # the day it counted from, YYYY-MM-DD
    recipients: Mapped[str] = mapped_column(Text)  # comma-separated addresses


__all__ = ["Base", "CorrectionRow", "DigestRow", "EditorRow", "EntryRow", "EntrySourceRow", "FactRow", "FeedTokenRow",
           "ImapMessageRow", "ImapStateRow", "LeadRow", "MailboxPollRow", "MessageRow", "TimelineChangeRow",
           "TimelinePendingRow", "TimelineStateRow"]
