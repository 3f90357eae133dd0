"""Every write to the store: archiving a message with its facts, the IMAP bookkeeping,
and the refresh that brings the timeline in line with the stored facts.

Writes that can race with another process use INSERT ... ON CONFLICT on the unique
constraints (SQLite and PostgreSQL dialect inserts), never check-then-insert.
Nothing here commits: the caller owns the transaction. The write functions take a
Session or a Connection.

The per-message inserts are Core statements on the tables, built once per dialect with
every value a bound parameter: SQLAlchemy compiles each once, and they skip the ORM's
bulk-insert bookkeeping (together ~1 ms per stored message).

`refresh_timeline(session)` brings `entries` in line with the stored facts and
corrections inside the caller's transaction: every write here that changes facts marks
the groups of the timeline it touched (`mark_pending`, timeline.scope), and
`refresh_pending_scopes` replays only those groups' facts through the pure
`caltac_inbox.timeline.reconcile.reconcile` (ordered by each notice's own sent date, so
the result does not depend on arrival order); `full=True` (`refresh_all`) replays ALL
stored facts. Either way `write_entries` upserts `entries` by uid: a changed entry gets
`sequence + 1` and a new `updated_at`; `entry_sources` follows; entries that no longer
exist are deleted. The pipeline calls it after every ingest, checklist import, reparse
and correction.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple, Sequence, cast

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

from caltac_inbox.identity import message_identity
from caltac_inbox.model import FIRST_DAY, LAST_DAY, Checkpoint, Fact, Lead, Notice, RawMessage
from caltac_inbox.store.schema import (EntryRow, EntrySourceRow, FactRow, ImapMessageRow, ImapStateRow, MessageRow,
                                       TimelineChangeRow, TimelinePendingRow, TimelineStateRow)
from caltac_inbox.timeline.changes import TimelineChange, diff_entry, snapshot
from caltac_inbox.timeline.entry import Entry, SourcedFact
from caltac_inbox.timeline.kinds import fact_identity
from caltac_inbox.timeline.reconcile import reconcile
from caltac_inbox.store.pending import ENTRY_SCOPE, FULL_SCOPE, mark_entries_pending, mark_pending
from caltac_inbox.timeline.scope import Scope, fact_scope
from caltac_inbox.timeline.time import in_los_angeles, instant

_DATE_FIELDS = ("start", "end", "due", "at", "term_end")



def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


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


def _dialect_insert(dialect_name: str) -> Any:
    """The dialect's INSERT (with ON CONFLICT), imported only for the dialect in use."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


@functools.lru_cache(maxsize=None)
def _archive_statement(dialect_name: str):
    table = MessageRow.__table__
    # no conflict target: the same identity or (a copy archived before 0004) the same bytes
    return _dialect_insert(dialect_name)(table).on_conflict_do_nothing().returning(table.c.id)


@functools.lru_cache(maxsize=None)
def _message_pk_statement(dialect_name: str):
    from sqlalchemy import bindparam, or_

    table = MessageRow.__table__
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
    scope = fact_scope(fact)
    return dict(
        message_pk=message_pk,
        kind=fact.kind,
        program=list(fact.program),
        fields=fact.to_json(),
        evidence=fact.evidence,
        identity=fact_identity(fact),
        mailbox=mailbox,
        unverified=bool(unverified or fact.unverified),
        scope=scope.key,
        span_first=scope.first.isoformat() if scope.first else None,
        span_last=scope.last.isoformat() if scope.last else None,
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
    added = len(session.execute(stmt, rows).scalars().all())
    if added:
        mark_pending(session, [fact_scope(f) for f in facts])
    return added


@functools.lru_cache(maxsize=None)
def _insert_facts_statement(dialect_name: str):
    table = FactRow.__table__
    return (
        _dialect_insert(dialect_name)(table)
        .on_conflict_do_nothing(index_elements=["message_pk", "identity"])
        .returning(table.c.id)
    )


class FactsReplaced(NamedTuple):
    """What `replace_facts` did to a message's facts."""

    added: int
    removed: int
    updated: int  # kept facts whose evidence, fields, mailbox or trust changed

    @property
    def changed(self) -> bool:
        """Whether the timeline may now differ (the caller then calls facts_changed)."""
        return bool(self.added or self.removed or self.updated)


def replace_facts(
    session: Session,
    message_pk: int,
    facts: Sequence[Fact],
    *,
    mailbox: str | None,
    unverified: bool,
    notice_changed: bool = True,
) -> FactsReplaced:
    """Make the message's facts exactly `facts` (reparse).

    Facts whose identity is unchanged keep their row (and id); their evidence and
    flags are refreshed. Only the groups of facts that changed are marked pending: a
    kept fact whose row stays the same is not, unless `notice_changed` (the message's
    own columns changed: what its entries' sources show, and when it is replayed).
    """
    wanted = {fact_identity(f): f for f in facts}
    existing = {row.identity: row for row in session.execute(
        select(FactRow.identity, FactRow.id, FactRow.evidence, FactRow.fields, FactRow.mailbox, FactRow.unverified)
        .where(FactRow.message_pk == message_pk))}
    stale = [row.id for ident, row in existing.items() if ident not in wanted]
    if stale:
        # their groups, and their entries (which lose these sources), are recomputed
        mark_pending(session, [Scope(key or "*", _day(first), _day(last)) for key, first, last in session.execute(
            select(FactRow.scope, FactRow.span_first, FactRow.span_last).where(FactRow.id.in_(stale)))])
        mark_entries_pending(session, session.execute(
            select(EntryRow.uid).join(EntrySourceRow, EntrySourceRow.entry_id == EntryRow.id)
            .where(EntrySourceRow.fact_id.in_(stale))).scalars())
        session.execute(delete(FactRow).where(FactRow.id.in_(stale)))
    updated, touched = 0, []
    for ident, fact in wanted.items():
        row = existing.get(ident)
        if row is None:
            continue
        values = dict(evidence=fact.evidence, fields=fact.to_json(), mailbox=mailbox,
                      unverified=bool(unverified or fact.unverified))
        same = (row.evidence, row.mailbox, bool(row.unverified), _stored_json(row.fields)) == (
            values["evidence"], mailbox, values["unverified"], _stored_json(values["fields"]))
        if not same:
            session.execute(update(FactRow).where(FactRow.id == row.id).values(**values))
            updated += 1
        if not same or notice_changed:  # its evidence and flags may change what its entry shows
            touched.append(fact_scope(fact))
    mark_pending(session, touched)
    added = insert_facts(
        session, message_pk, [f for i, f in wanted.items() if i not in existing], mailbox=mailbox, unverified=unverified
    )
    return FactsReplaced(added, len(stale), updated)


def _stored_json(value: Any) -> str:
    """A JSON column's value as text, to compare what is stored with what would be (a
    tuple and the list it is stored as are the same)."""
    return json.dumps(json.loads(value) if isinstance(value, (str, bytes)) else value, sort_keys=True)


def record_imap_uid(session: Session | Connection, raw: RawMessage, *, message_pk: int | None, status: str) -> None:
    """Remember a fetched UID. The folder checkpoint moves only with the poll's
    Checkpoints, which never pass a UID the server left out of its reply (issue 25);
    a UID recorded here above the checkpoint is skipped by the next poll all the same."""
    if raw.mailbox is None or raw.folder is None or raw.uidvalidity is None or raw.uid is None:
        return
    session.execute(
        _imap_uid_statement(_dialect(session)),
        dict(mailbox=raw.mailbox, folder=raw.folder, uidvalidity=raw.uidvalidity, uid=raw.uid,
             message_pk=message_pk, status=status, seen_at=utcnow(),
             message_id=raw.declared_message_id, size=raw.declared_size),
    )


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


@functools.lru_cache(maxsize=None)
def _imap_uid_statement(dialect_name: str):
    return _dialect_insert(dialect_name)(ImapMessageRow.__table__).on_conflict_do_nothing(
        index_elements=["mailbox", "folder", "uidvalidity", "uid"]
    )


def advance_imap_state(session: Session | Connection, mailbox: str, folder: str, uidvalidity: int,
                       last_uid: int) -> None:
    """Upsert the folder checkpoint. Same UIDVALIDITY: keep the higher UID (never
    backwards). A new UIDVALIDITY: start over from `last_uid` and count the change."""
    session.execute(
        _imap_state_statement(_dialect(session)),
        dict(mailbox=mailbox, folder=folder, uidvalidity=uidvalidity, last_uid=last_uid, updated_at=utcnow()),
    )


@functools.lru_cache(maxsize=None)
def _imap_state_statement(dialect_name: str):
    from sqlalchemy import case

    table = ImapStateRow.__table__
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


def settle_uidvalidity(session: Session | Connection, mailbox: str, folder: str) -> None:
    """The folder was scanned to the end under an unchanged UIDVALIDITY."""
    session.execute(update(ImapStateRow).where(ImapStateRow.mailbox == mailbox, ImapStateRow.folder == folder,
                                            ImapStateRow.uidvalidity_changes != 0).values(uidvalidity_changes=0))


def record_checkpoint(session: Session | Connection, checkpoint: Checkpoint) -> None:
    """What a source's Checkpoint says, in the transaction of the messages before it."""
    c = checkpoint
    record_recognised_uids(session, c.mailbox, c.folder, c.uidvalidity, c.recognised)
    if c.last_uid is not None:
        advance_imap_state(session, c.mailbox, c.folder, c.uidvalidity, c.last_uid)
    if c.settled:
        settle_uidvalidity(session, c.mailbox, c.folder)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def facts_changed(session: Session | Connection) -> None:
    """Record, in the transaction that changed stored facts, that the timeline is now
    behind them (refresh_timeline catches up). Called last in its transaction: on
    PostgreSQL the row stays locked until the commit."""
    session.execute(update(TimelineStateRow).where(TimelineStateRow.id == 1)
                    .values(facts_generation=TimelineStateRow.facts_generation + 1))


def timeline_rebuilt_from(session: Session | Connection, facts_generation: int) -> None:
    session.execute(update(TimelineStateRow).where(TimelineStateRow.id == 1)
                    .values(timeline_generation=facts_generation))


@dataclass(frozen=True)
class Refreshed:
    """What a timeline refresh did: `count` entries created/changed/removed (any change a
    calendar sees, sources too), `changes` the ones a reader sees (timeline.changes)."""

    count: int
    changes: tuple[TimelineChange, ...] = ()


def refresh_timeline(session: Session, now: datetime | None = None, *, run_id: str | None = None,
                     mailbox: str | None = None, full: bool = False) -> Refreshed:
    """Bring `entries` in line with the stored facts and corrections, recording each change
    a reader sees in `timeline_changes` (with `run_id` and `mailbox`, the poll's or
    ingest's) in the same transaction. Only the groups marked pending since the last
    refresh are recomputed (refresh_pending_scopes); `full` replays
    every stored fact (`db rebuild-timeline`, `reparse --all`)."""
    from caltac_inbox.store.db import TIMELINE_LOCK_KEY

    if session.get_bind().dialect.name == "postgresql":
        # Two refreshes at once would both insert the same new uid: take turns.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TIMELINE_LOCK_KEY})
    now = (now or utcnow()).astimezone(timezone.utc)
    if not full:
        done = refresh_pending_scopes(session, now, run_id=run_id, mailbox=mailbox)
        if done is not None:
            return done
    return refresh_all(session, now, run_id=run_id, mailbox=mailbox)


def refresh_pending_scopes(session: Session, now: datetime, *, run_id: str | None,
                           mailbox: str | None) -> Refreshed | None:
    """Recompute the pending groups of the timeline (the caller holds the timeline lock):
    only their facts, entries and corrections are read (store.incremental). Returns what
    changed, or None when only the full rebuild will do."""
    from caltac_inbox.store.incremental import (MAX_PENDING_SCOPES, pending_condition, rows_where, source_pairs,
                                                uid_taken_outside)
    from caltac_inbox.store.read import generations

    facts_generation, timeline_generation = generations(session)
    pending = session.execute(select(TimelinePendingRow.id, TimelinePendingRow.scope, TimelinePendingRow.span_first,
                                     TimelinePendingRow.span_last)).all()
    if not pending:  # in line, unless facts changed without saying where
        return Refreshed(0) if facts_generation == timeline_generation else None
    if len(pending) > MAX_PENDING_SCOPES or FULL_SCOPE in {p.scope for p in pending}:
        return None
    uids = {p.scope.removeprefix(ENTRY_SCOPE) for p in pending if p.scope.startswith(ENTRY_SCOPE)}
    existing = {row.uid: row for row in rows_where(session, EntryRow, EntryRow.uid, uids)}
    in_scope = pending_condition(session, [(p.scope, p.span_first, p.span_last) for p in pending
                                            if not p.scope.startswith(ENTRY_SCOPE)], existing)
    if in_scope is None:
        return None
    scoped_entries = select(EntrySourceRow.entry_id).join(FactRow, FactRow.id == EntrySourceRow.fact_id).where(in_scope)
    for row in session.execute(select(EntryRow).where(EntryRow.id.in_(scoped_entries))).scalars():
        existing[row.uid] = row
    from caltac_inbox.store.corrections import decisions

    reconciled = reconcile(load_sourced_facts(session, in_scope), decisions(session))
    if uid_taken_outside(session, {e.uid for e in reconciled} | set(existing), {row.id for row in existing.values()}):
        return None
    targets = set(existing) | {e.uid for e in reconciled} | uids
    entries = apply_stored_corrections(session, reconciled, now, targets=sorted(targets))
    linked: dict[int, set[int]] = {}
    for entry_id, fact_id in source_pairs(session, [row.id for row in existing.values()]):
        linked.setdefault(entry_id, set()).add(fact_id)
    refreshed = write_entries(session, entries, existing, linked, now, run_id=run_id, mailbox=mailbox)
    session.execute(delete(TimelinePendingRow).where(TimelinePendingRow.id.in_([p.id for p in pending])))
    timeline_rebuilt_from(session, facts_generation)
    return refreshed


def refresh_all(session: Session, now: datetime, *, run_id: str | None, mailbox: str | None) -> Refreshed:
    """Replay ALL stored facts (the caller holds the timeline lock)."""
    from caltac_inbox.store.incremental import clear_pending, fill_in_scopes
    from caltac_inbox.store.read import generations

    # Read before the facts: a change committed meanwhile leaves the timeline marked behind.
    facts_generation = generations(session)[0]
    from caltac_inbox.store.corrections import decisions

    clear_pending(session)
    fill_in_scopes(session)
    reconciled = apply_stored_corrections(session, reconcile(load_sourced_facts(session), decisions(session)), now)
    existing = {e.uid: e for e in session.execute(select(EntryRow)).scalars()}
    linked: dict[int, set[int]] = {}
    for entry_id, fact_id in session.execute(select(EntrySourceRow.entry_id, EntrySourceRow.fact_id)):
        linked.setdefault(entry_id, set()).add(fact_id)
    refreshed = write_entries(session, reconciled, existing, linked, now, run_id=run_id, mailbox=mailbox)
    timeline_rebuilt_from(session, facts_generation)
    return refreshed


def write_entries(session: Session, reconciled: Sequence[Entry], existing: dict[str, EntryRow],
                  linked: dict[int, set[int]], now: datetime, *, run_id: str | None,
                  mailbox: str | None) -> Refreshed:
    """Make the rows `existing` (uid -> row; `linked`: their facts) exactly `reconciled`:
    a changed entry gets `sequence + 1` and `updated_at` now, `entry_sources` follows, and
    a row with no reconciled entry is deleted."""
    existing = dict(existing)
    changed = 0
    sources_changed = False
    seen: list[TimelineChange] = []
    for item in sorted(reconciled, key=lambda e: e.uid):  # same row order in every writer
        content_hash = item.content_hash()
        values = _entry_values(item)
        row = existing.pop(item.uid, None)
        if row is None:
            row = EntryRow(uid=item.uid, sequence=0, content_hash=content_hash, updated_at=now, **values)
            session.add(row)
            session.flush()
            changed += 1
            _note(seen, diff_entry(item.uid, None, _item_snapshot(item)))
        elif row.content_hash != content_hash:
            _note(seen, diff_entry(item.uid, _row_snapshot(row), _item_snapshot(item)))
            for name, value in values.items():
                setattr(row, name, value)
            row.sequence = (row.sequence or 0) + 1
            row.content_hash = content_hash
            row.updated_at = now
            changed += 1
        sources_changed |= _sync_sources(session, row.id, {s.fact_id for s in item.sources if s.fact_id is not None},
                                         linked.get(row.id, set()))
    # Entries whose facts are gone (a reparse changed them) disappear with them.
    if existing:
        gone = [e.id for e in existing.values()]
        for e in sorted(existing.values(), key=lambda e: e.uid):  # by uid, as above: the same order in every writer
            _note(seen, diff_entry(e.uid, _row_snapshot(e), None))
        session.execute(delete(EntrySourceRow).where(EntrySourceRow.entry_id.in_(gone)))
        session.execute(delete(EntryRow).where(EntryRow.id.in_(gone)))
        changed += len(gone)
    if changed or sources_changed:
        _bump_generation(session, now)
    if seen:
        _record_changes(session, seen, now, run_id=run_id, mailbox=mailbox)
    session.flush()
    return Refreshed(changed, tuple(seen))


def _note(seen: list[TimelineChange], change: TimelineChange | None) -> None:
    if change is not None:
        seen.append(change)


def _row_snapshot(row: EntryRow) -> dict[str, Any]:
    return snapshot(row.fields or {}, status=row.status, unverified=bool(row.unverified), history=row.history)


def _item_snapshot(item: Entry) -> dict[str, Any]:
    return snapshot(item.fields(), status=item.status, unverified=item.unverified,
                    history=[c.to_stored() for c in item.history])


def _record_changes(session: Session, changes: Sequence[TimelineChange], now: datetime, *, run_id: str | None,
                    mailbox: str | None) -> None:
    generation = session.execute(select(TimelineStateRow.generation).where(TimelineStateRow.id == 1)).scalar() or 0
    session.execute(insert(TimelineChangeRow), [
        dict(run_id=run_id or now.strftime("%Y%m%dT%H%M%S.%fZ"), generation=generation, mailbox=mailbox,
             uid=c.uid, kind=c.kind, change=c.change, summary=c.summary, program=list(c.program),
             entry_when=c.when, reason=c.reason,
             before=c.before, after=c.after, recorded_at=now)
        for c in changes])


def _bump_generation(session: Session, now: datetime) -> None:
    """timeline_state.generation + 1 in the refresh's own transaction: readers see the new
    generation exactly when they see the new entries (the calendar feed's ETag)."""
    bumped = cast("CursorResult[Any]", session.execute(
        update(TimelineStateRow).where(TimelineStateRow.id == 1)
        .values(generation=TimelineStateRow.generation + 1, changed_at=now)))
    if bumped.rowcount == 0:  # the migration inserts the row; a database emptied by hand has none
        session.execute(insert(TimelineStateRow).values(id=1, facts_generation=0, timeline_generation=0,
                                                     generation=1, changed_at=now))


def load_sourced_facts(session: Session, where: Any = None) -> list[SourcedFact]:
    """Every stored fact (those `where` selects) with the metadata of its notice (input
    of `reconcile`)."""
    query = select(FactRow, MessageRow.message_id, MessageRow.subject, MessageRow.sent, MessageRow.forwarded_by).join(
        MessageRow, MessageRow.id == FactRow.message_pk)
    rows = session.execute(query if where is None else query.where(where)).all()
    out = []
    for row in rows:
        fact_row: FactRow = row.FactRow
        fact = Fact.from_json(dict(fact_row.fields))
        if not fact.evidence:
            fact = replace(fact, evidence=fact_row.evidence or "")
        out.append(
            SourcedFact(
                fact=fact,
                fact_id=fact_row.id,
                message_pk=fact_row.message_pk,
                message_id=row.message_id,
                subject=row.subject,
                sent=in_los_angeles(row.sent),
                forwarded_by=row.forwarded_by,
                unverified=bool(fact_row.unverified),
            )
        )
    return out


def _entry_values(item: Entry) -> dict[str, Any]:
    return dict(
        kind=item.kind,
        program=list(item.program),
        key_at=instant(key) if (key := item.key_date) is not None else None,
        end_at=instant(end) if (end := item.end_date) is not None else None,
        status=item.status,
        fields=item.fields(),
        history=[c.to_stored() for c in item.history],
        unverified=item.unverified,
        needs_review=item.needs_review,
    )


def apply_stored_corrections(session: Session, reconciled: list[Entry], now: datetime,
                             targets: Sequence[str] | None = None) -> list[Entry]:
    """The reconciled timeline with the coordinator's corrections on top (only those of
    the entries `targets`, when given; timeline.corrections); a correction a later notice
    overrode is marked superseded."""
    from caltac_inbox.store.schema import CorrectionRow
    from caltac_inbox.timeline.corrections import Correction, apply_corrections

    query = select(CorrectionRow).where(CorrectionRow.state.in_(("active", "superseded")),
                                        ~CorrectionRow.target.startswith("lead:"))
    if targets is not None:
        if not targets:
            return reconciled
        query = query.where(CorrectionRow.target.in_(sorted(targets)))
    rows = session.execute(query).scalars().all()
    if not rows:
        return reconciled
    corrections = [Correction(id=r.id, target=r.target, action=r.action, new_values=dict(r.new_values),
                              old_values=dict(r.old_values), made_by=r.made_by, made_at=r.made_at,
                              basis_sent=r.basis_sent, state=r.state, superseded_by=r.superseded_by,
                              reason=r.reason) for r in rows]
    entries, superseded = apply_corrections(reconciled, corrections)
    for item in superseded:
        session.execute(update(CorrectionRow).where(CorrectionRow.id == item.correction_id)
                        .values(state="superseded", superseded_by=item.superseded_by, changed_at=now))
    return entries


def lead_identity(message_pk: int, message_id: str | None, lead: Lead) -> str:
    """What names a lead across reparses: its notice (the original's Message-ID, so every
    copy and forward of a notice gives the same lead, else the stored message) and its sentence."""
    notice = f"message-id {message_id}" if message_id else f"message {message_pk}"
    return hashlib.sha256(f"{notice}\n{lead.sentence}".encode()).hexdigest()[:32]


def replace_leads(session: Session | Connection, message_pk: int, leads: Sequence[Lead], *,
                  mailbox: str | None, message_id: str | None = None, new: bool = False) -> None:
    """Make the message's leads exactly `leads` (ingest, `new`: the message has none yet;
    every reparse)."""
    from caltac_inbox.store.schema import LeadRow

    if not new:
        session.execute(delete(LeadRow).where(LeadRow.message_pk == message_pk))
    rows, seen = [], set()
    for lead in leads:
        identity = lead_identity(message_pk, message_id, lead)
        if identity in seen:
            continue
        seen.add(identity)
        rows.append(dict(message_pk=message_pk, identity=identity, mailbox=mailbox,
                         when=lead.when.isoformat() if lead.when is not None else None,
                         sentence=lead.sentence, reason=lead.reason[:200]))
    if rows:
        session.execute(insert(LeadRow), rows)


def _sync_sources(session: Session, entry_id: int, wanted: set[int], current: set[int]) -> bool:
    """Link the entry to exactly `wanted` facts; True when that changed a link."""
    if current - wanted:
        session.execute(
            delete(EntrySourceRow).where(EntrySourceRow.entry_id == entry_id,
                                         EntrySourceRow.fact_id.in_(current - wanted))
        )
    missing = sorted(wanted - current)
    if missing:
        insert = insert_for(session)
        session.execute(
            insert(EntrySourceRow).values([{"entry_id": entry_id, "fact_id": f} for f in missing])
            .on_conflict_do_nothing()
        )
    return bool(missing or current - wanted)


__all__ = ["advance_imap_state", "archive_message", "facts_changed", "insert_facts", "mark_entries_pending",
           "mark_pending", "record_checkpoint", "refresh_all", "refresh_pending_scopes",
           "write_entries", "record_imap_uid", "record_recognised_uids", "refresh_timeline", "replace_facts",
           "FactsReplaced", "replace_leads", "settle_uidvalidity"]
