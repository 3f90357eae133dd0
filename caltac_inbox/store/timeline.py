"""The reconciled timeline (`entries`) and the read-only queries over it.

- `refresh_timeline(session) -> int`: replays ALL stored facts through the pure
  `caltac_inbox.reconcile.reconcile` (ordered by each notice's own sent date, so the
  result does not depend on arrival order) and upserts `entries` by uid inside the
  caller's transaction: a changed entry gets `sequence + 1` and a new `updated_at`;
  `entry_sources` follows; entries that no longer exist are deleted. Returns how many
  entries were created, changed or removed. Called by the pipeline after every ingest
  batch and after reparse.
- `upcoming(source, as_of, days=60, kinds=(), programs=(), mailbox=None) -> list[dict]`
- `timeline(source, from_=None, to=None, kinds=(), programs=(), include_cancelled=False,
  mailbox=None) -> list[dict]`
- `show(source, entry_id_or_uid) -> dict | None`
- `timeline_entries(...)`: same selection as `timeline`, as `reconcile.Entry` objects
  (with id, sequence, updated_at) for the .ics export.
- `timeline_version(source) -> (generation, changed_at)`: bumped by every refresh that
  changed an entry or its sources (the calendar feed's ETag and Last-Modified).

The queries are plain SQL, and `source` is either a SQLAlchemy Session (SQLite or
PostgreSQL) or the stdlib sqlite3 connection of `store.light.open_sqlite_reader`, which
lets the CLI answer them without importing SQLAlchemy. Both give the same results.

Query results are Entry JSON dicts: the docs/facts.md fields of the entry plus `id`, `uid`,
`status`, `sources` (list of {message_id, subject, sent}), `unverified`; `show` adds
`sequence`, `needs_review`, `history`, `updated_at` and `source_details` (every source
fact with its evidence and notice).

An entry covers a span: a downtime from start to end (an end given as a date is that
whole day), anything else its key day (a date) or instant (a time). A query range
selects the entries whose span overlaps it. Dates given to the queries are calendar
days in America/Los_Angeles.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence, Union
from zoneinfo import ZoneInfo

from caltac_inbox.model import Fact, When
from caltac_inbox.reconcile import Change, SourceRef, SourcedFact, entry_sort_key, notice_key, reconcile
from caltac_inbox.reconcile import Entry as TimelineEntry

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# What the read queries run on: the store's Session, or store.light's sqlite3 reader.
RowSource = Union["Session", sqlite3.Connection]

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
CANCELLED = "cancelled"
# How far an entry's span can reach past its key_at (or a downtime's end_at): a
# checklist month (31 days) plus a DST hour, rounded up. The SQL date preselection
# widens the range by this; `_overlaps` stays the exact test.
SPAN_REACH = timedelta(days=32)


# ----------------------------------------------------------------------------- refresh


def refresh_timeline(session: Session, now: datetime | None = None) -> int:
    """Bring `entries` in line with the stored facts. Returns entries created/changed/removed."""
    from sqlalchemy import delete, select, text

    from caltac_inbox.store.db import TIMELINE_LOCK_KEY
    from caltac_inbox.store.light import generations
    from caltac_inbox.store.repo import timeline_rebuilt_from
    from caltac_inbox.store.schema import Entry, EntrySource

    if session.get_bind().dialect.name == "postgresql":
        # Two refreshes at once would both insert the same new uid: take turns.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TIMELINE_LOCK_KEY})
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    # Read before the facts: a change committed meanwhile leaves the timeline marked behind.
    facts_generation = generations(session)[0]
    reconciled = reconcile(load_sourced_facts(session))
    existing = {e.uid: e for e in session.execute(select(Entry)).scalars()}
    linked: dict[int, set[int]] = {}
    for entry_id, fact_id in session.execute(select(EntrySource.entry_id, EntrySource.fact_id)):
        linked.setdefault(entry_id, set()).add(fact_id)
    changed = 0
    sources_changed = False
    for item in sorted(reconciled, key=lambda e: e.uid):  # same row order in every writer
        content_hash = item.content_hash()
        values = _entry_values(item)
        row = existing.pop(item.uid, None)
        if row is None:
            row = Entry(uid=item.uid, sequence=0, content_hash=content_hash, updated_at=now, **values)
            session.add(row)
            session.flush()
            changed += 1
        elif row.content_hash != content_hash:
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
        session.execute(delete(EntrySource).where(EntrySource.entry_id.in_(gone)))
        session.execute(delete(Entry).where(Entry.id.in_(gone)))
        changed += len(gone)
    timeline_rebuilt_from(session, facts_generation)
    if changed or sources_changed:
        _bump_generation(session, now)
    session.flush()
    return changed


def _bump_generation(session: Session, now: datetime) -> None:
    """timeline_state.generation + 1 in the refresh's own transaction: readers see the new
    generation exactly when they see the new entries (the calendar feed's ETag)."""
    from sqlalchemy import insert, update

    from caltac_inbox.store.schema import TimelineState

    bumped = session.execute(update(TimelineState).where(TimelineState.id == 1)
                             .values(generation=TimelineState.generation + 1, changed_at=now))
    if bumped.rowcount == 0:  # the migration inserts the row; a database emptied by hand has none
        session.execute(insert(TimelineState).values(id=1, facts_generation=0, timeline_generation=0,
                                                     generation=1, changed_at=now))


def timeline_version(source: RowSource) -> tuple[int, datetime | None]:
    """(generation, when the timeline last changed): what a feed's ETag and Last-Modified
    come from. (0, None) before the first refresh of a database emptied by hand."""
    rows = _rows(source, "SELECT generation, changed_at FROM timeline_state WHERE id = 1", {})
    if not rows:
        return 0, None
    return int(rows[0]["generation"]), _instant(rows[0]["changed_at"])


def load_sourced_facts(session: Session) -> list[SourcedFact]:
    """Every stored fact with the metadata of its notice (input of `reconcile`)."""
    from sqlalchemy import select

    from caltac_inbox.store.schema import FactRow, Message

    rows = session.execute(
        select(FactRow, Message.message_id, Message.subject, Message.sent, Message.forwarded_by).join(
            Message, Message.id == FactRow.message_pk
        )
    ).all()
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
                sent=notice_time(row.sent),
                forwarded_by=row.forwarded_by,
                unverified=bool(fact_row.unverified),
            )
        )
    return out


def _entry_values(item: TimelineEntry) -> dict[str, Any]:
    return dict(
        kind=item.kind,
        program=list(item.program),
        key_at=_timestamp(item.key_date),
        end_at=_timestamp(item.end_date),
        status=item.status,
        fields=item.fields(),
        history=[c.to_json() for c in item.history],
        unverified=item.unverified,
        needs_review=item.needs_review,
    )


def _sync_sources(session: Session, entry_id: int, wanted: set[int], current: set[int]) -> bool:
    """Link the entry to exactly `wanted` facts; True when that changed a link."""
    from sqlalchemy import delete

    from caltac_inbox.store.repo import insert_for
    from caltac_inbox.store.schema import EntrySource

    if current - wanted:
        session.execute(
            delete(EntrySource).where(EntrySource.entry_id == entry_id, EntrySource.fact_id.in_(current - wanted))
        )
    missing = sorted(wanted - current)
    if missing:
        insert = insert_for(session)
        session.execute(
            insert(EntrySource).values([{"entry_id": entry_id, "fact_id": f} for f in missing]).on_conflict_do_nothing()
        )
    return bool(missing or current - wanted)


# ----------------------------------------------------------------------------- time


def notice_time(value: datetime | None) -> datetime | None:
    """A stored notice time in America/Los_Angeles, where notices are read (a naive
    value is taken as Los Angeles wall time)."""
    if value is None:
        return None
    return value.replace(tzinfo=LOS_ANGELES) if value.tzinfo is None else value.astimezone(LOS_ANGELES)


def _utc(value: datetime | None) -> datetime | None:
    """`entries.updated_at` is written in UTC; SQLite returns it naive."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _timestamp(when: When | None) -> datetime | None:
    from caltac_inbox.store.repo import to_timestamp

    return to_timestamp(when)


def day_start(day: date | datetime) -> datetime:
    """00:00 America/Los_Angeles on `day` (an aware datetime is used as given)."""
    if isinstance(day, datetime):
        return day if day.tzinfo else day.replace(tzinfo=LOS_ANGELES)
    return datetime.combine(day, time(0), tzinfo=LOS_ANGELES)


def entry_span(entry: TimelineEntry) -> tuple[datetime, datetime] | None:
    """[first instant, last instant) an entry covers; None when it has no date."""
    f = entry.fact
    if f.kind == "downtime" and (f.start is not None or f.end is not None):
        start = f.start if f.start is not None else f.end
        end = f.end if f.end is not None else f.start
        return _first_instant(start), _after(end)
    key = entry.key_date
    if key is None:
        return None
    if f.kind == "task" and f.month:  # a checklist month is the whole month
        first = date.fromisoformat(f.month + "-01")
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return day_start(first), day_start(following)
    return _first_instant(key), _after(key)


def _first_instant(when: When) -> datetime:
    return when if isinstance(when, datetime) else day_start(when)


def _after(when: When) -> datetime:
    """The end of a span ending at `when`: a date is the whole day; a time is inclusive."""
    if isinstance(when, datetime):
        return when + timedelta(microseconds=1)
    return day_start(when + timedelta(days=1))


def _overlaps(entry: TimelineEntry, lower: datetime | None, upper: datetime | None) -> bool:
    span = entry_span(entry)
    if span is None:
        return lower is None and upper is None
    first, after = span
    return (lower is None or after > lower) and (upper is None or first < upper)


# ----------------------------------------------------------------------------- row sources
#
# The queries below are plain SQL run over either a SQLAlchemy Session (SQLite or
# PostgreSQL: the store's own path) or a stdlib sqlite3 connection (store.light: an
# existing SQLite file read without importing SQLAlchemy). Both take `:name`
# parameters. Without SQLAlchemy's column types, values come back as the driver has
# them, which `_instant`, `_json` and `_flag` accept in both forms.

# Every read query joins at most this many ids into one IN list (SQLite limits bound
# parameters; 500 stays far below every version's limit).
ID_CHUNK = 500


def _dialect(source: RowSource) -> str:
    if isinstance(source, sqlite3.Connection):
        return "sqlite"
    return source.get_bind().dialect.name


def _rows(source: RowSource, sql: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The rows of `sql` as mappings (column name -> value); datetime parameters are
    bound the way the store writes timestamps on that backend."""
    if _dialect(source) == "sqlite":
        params = sqlite_params(params)
    if isinstance(source, sqlite3.Connection):
        cursor = source.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    from sqlalchemy import text

    return list(source.execute(text(sql), params).mappings())


def sqlite_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` with each datetime as SQLite stores it (`sqlite_instant`)."""
    return {name: sqlite_instant(v) if isinstance(v, datetime) else v for name, v in params.items()}


def sqlite_instant(value: datetime) -> str:
    """How schema.Timestamp stores an instant on SQLite: naive UTC text with
    microseconds, whose text order is chronological (so comparisons use the indexes)."""
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _instant(value: datetime | str | None) -> datetime | None:
    """A stored timestamp as an aware datetime: SQLite text is UTC (schema.Timestamp)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _json(value: Any) -> Any:
    """A JSON column: SQLite returns the text, psycopg the decoded value. (Our JSON
    columns hold objects, lists or null, never a bare string.)"""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _flag(value: Any) -> bool | None:
    """A boolean column: SQLite stores 0/1."""
    return None if value is None else bool(value)


def _in_list(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """'(:prefix_0, :prefix_1, ...)' and its parameters (both drivers bind scalars only)."""
    names = [f"{prefix}_{i}" for i in range(len(values))]
    return "(" + ", ".join(f":{n}" for n in names) + ")", dict(zip(names, values))


# ----------------------------------------------------------------------------- queries


def upcoming(
    source: RowSource,
    as_of: date | datetime | None = None,
    days: int = 60,
    kinds: Iterable[str] = (),
    programs: Iterable[str] = (),
    mailbox: str | None = None,
) -> list[dict[str, Any]]:
    """Entries not cancelled whose span overlaps [as_of, as_of + days]; as_of defaults
    to now (a date means 00:00 that day). A downtime that began earlier and is still
    going shows; one that ended does not."""
    if as_of is None:
        lower = datetime.now(LOS_ANGELES)
        upper = lower + timedelta(days=days)
    elif isinstance(as_of, datetime):
        lower = day_start(as_of)
        upper = lower + timedelta(days=days)
    else:  # a day: from its start through the whole last day
        lower = day_start(as_of)
        upper = day_start(as_of + timedelta(days=days + 1))
    entries = _select(source, kinds, programs, mailbox, include_cancelled=False, lower=lower, upper=upper)
    return [e.to_json() for e in entries if _overlaps(e, lower, upper)]


def timeline(
    source: RowSource,
    from_: date | datetime | None = None,
    to: date | datetime | None = None,
    kinds: Iterable[str] = (),
    programs: Iterable[str] = (),
    include_cancelled: bool = False,
    mailbox: str | None = None,
) -> list[dict[str, Any]]:
    """All entries in date order, `from_`/`to` inclusive days. Undated entries come last
    and only when no range is given."""
    return [e.to_json() for e in timeline_entries(source, from_, to, kinds, programs, include_cancelled, mailbox)]


def timeline_entries(
    source: RowSource,
    from_: date | datetime | None = None,
    to: date | datetime | None = None,
    kinds: Iterable[str] = (),
    programs: Iterable[str] = (),
    include_cancelled: bool = False,
    mailbox: str | None = None,
) -> list[TimelineEntry]:
    lower = day_start(from_) if from_ is not None else None
    upper = None
    if to is not None:
        upper = to if isinstance(to, datetime) and to.tzinfo else day_start(to) + timedelta(days=1)
    entries = _select(source, kinds, programs, mailbox, include_cancelled=include_cancelled, lower=lower,
                      upper=upper)
    return [e for e in entries if _overlaps(e, lower, upper)]


def show(source: RowSource, entry_id_or_uid: str | int) -> dict[str, Any] | None:
    """One entry with its history and the evidence of every source, or None."""
    wanted = str(entry_id_or_uid).strip().removesuffix("@caltac-inbox")
    if wanted.isdigit() and int(wanted) < 2**63:  # a longer number fits no id column (nor sqlite3's binding)
        rows = _rows(source, f"SELECT {ENTRY_COLUMNS} FROM entries e WHERE e.id = :id OR e.uid = :uid ORDER BY e.id",
                     {"id": int(wanted), "uid": wanted})
    else:
        rows = _rows(source, f"SELECT {ENTRY_COLUMNS} FROM entries e WHERE e.uid = :uid", {"uid": wanted})
    row = rows[0] if rows else None
    if row is None and len(wanted) >= 6:  # a unique uid prefix is enough
        pattern = wanted.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
        found = _rows(source, f"SELECT {ENTRY_COLUMNS} FROM entries e WHERE e.uid LIKE :pattern ESCAPE '/' LIMIT 2",
                      {"pattern": pattern})
        row = found[0] if len(found) == 1 else None
    if row is None:
        return None
    entry = _to_entries(source, [row])[0]
    out = entry.to_json()
    out.update(
        sequence=entry.sequence,
        needs_review=entry.needs_review,
        history=[c.to_json() for c in entry.history],
        updated_at=entry.updated_at.isoformat() if entry.updated_at else None,
        source_details=_source_details(source, row["id"]),
    )
    return out


# The entry columns `_to_entries` reads, from `entries e`.
ENTRY_COLUMNS = ("e.id, e.uid, e.kind, e.program, e.key_at, e.status, e.fields, e.sequence, e.history, "
                 "e.unverified, e.needs_review, e.updated_at")


def _select(
    source: RowSource,
    kinds,
    programs,
    mailbox,
    *,
    include_cancelled: bool,
    lower: datetime | None = None,
    upper: datetime | None = None,
) -> list[TimelineEntry]:
    """Entries that may overlap [lower, upper), in timeline order: a superset that the
    caller narrows with `_overlaps`."""
    rows = _rows(source, *_entries_query(kinds, mailbox, include_cancelled=include_cancelled, lower=lower,
                                         upper=upper))
    wanted = {p.upper() for p in programs or ()}
    if wanted:
        # Entries naming no program apply to every program and always show.
        rows = [r for r in rows if not (program := _json(r["program"])) or wanted & {p.upper() for p in program}]
    return sorted(_to_entries(source, rows), key=entry_sort_key)


def _entries_query(
    kinds: Iterable[str],
    mailbox: str | None,
    *,
    include_cancelled: bool,
    lower: datetime | None,
    upper: datetime | None,
) -> tuple[str, dict[str, Any]]:
    """The SQL of `_select` and its parameters."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if lower is not None or upper is not None:
        condition, bounds = _may_overlap(lower, upper)
        where.append(condition)
        params.update(bounds)
    if not include_cancelled:
        where.append("e.status != :cancelled")
        params["cancelled"] = CANCELLED
    kinds = list(kinds or ())
    if kinds:
        names, values = _in_list("kind", kinds)
        where.append(f"e.kind IN {names}")
        params.update(values)
    if mailbox:
        where.append("EXISTS (SELECT 1 FROM entry_sources es JOIN facts f ON f.id = es.fact_id "
                     "WHERE es.entry_id = e.id AND f.mailbox = :mailbox)")
        params["mailbox"] = mailbox
    return f"SELECT {ENTRY_COLUMNS} FROM entries e" + (" WHERE " + " AND ".join(where) if where else ""), params


def _may_overlap(lower: datetime | None, upper: datetime | None) -> tuple[str, dict[str, datetime]]:
    """SQL preselection for `_overlaps` (over `entries e`) and its parameters: an
    entry's span starts at key_at and ends at most SPAN_REACH after key_at (or after
    end_at for a downtime). Undated entries overlap only an unbounded range (never
    this one). Spelled as an OR of two ranges so SQLite and PostgreSQL can use the
    key_at and end_at indexes, one per branch.

    Each branch has parameters of its own: SQLite factors a term that is literally the
    same in both branches (`key_at <= :upper`) out of the OR and then scans that one
    index range, which is all the history before the range."""
    if lower is None:
        return "e.key_at <= :upper", {"upper": upper}
    since = lower - SPAN_REACH
    if upper is None:
        return "(e.key_at >= :key_since OR e.end_at >= :end_since)", {"key_since": since, "end_since": since}
    return ("((e.key_at >= :key_since AND e.key_at <= :key_upper)"
            " OR (e.end_at >= :end_since AND e.key_at <= :end_upper))",
            {"key_since": since, "key_upper": upper, "end_since": since, "end_upper": upper})


def _to_entries(source: RowSource, rows: list[Mapping[str, Any]]) -> list[TimelineEntry]:
    sources = _source_refs(source, [r["id"] for r in rows])
    out = []
    for row in rows:
        fact = Fact.from_json(dict(_json(row["fields"])))
        reminder = None
        key_at = _instant(row["key_at"])
        if row["kind"] == "credential" and fact.due is None and key_at is not None:
            reminder = notice_time(key_at).date()
        out.append(
            TimelineEntry(
                uid=row["uid"],
                fact=fact,
                status=row["status"],
                sources=tuple(sources.get(row["id"], [])),
                history=tuple(Change.from_json(c) for c in _json(row["history"]) or []),
                unverified=bool(row["unverified"]),
                needs_review=bool(row["needs_review"]),
                reminder_date=reminder,
                entry_id=row["id"],
                sequence=row["sequence"] or 0,
                updated_at=_utc(_instant(row["updated_at"])),
            )
        )
    return out


def _source_refs(source: RowSource, entry_ids: list[int]) -> dict[int, list[SourceRef]]:
    out: dict[int, list[SourceRef]] = {}
    for start in range(0, len(entry_ids), ID_CHUNK):
        names, params = _in_list("entry", entry_ids[start:start + ID_CHUNK])
        rows = _rows(source, "SELECT es.entry_id, f.id AS fact_id, f.evidence, f.unverified, m.id AS message_pk, "
                             "m.message_id, m.subject, m.sent, m.forwarded_by "
                             "FROM entry_sources es JOIN facts f ON f.id = es.fact_id "
                             "JOIN messages m ON m.id = f.message_pk "
                             f"WHERE es.entry_id IN {names}", params)
        for r in rows:
            out.setdefault(r["entry_id"], []).append(
                SourceRef(fact_id=r["fact_id"], message_pk=r["message_pk"], message_id=r["message_id"],
                          subject=r["subject"], sent=notice_time(_instant(r["sent"])),
                          forwarded_by=r["forwarded_by"], evidence=r["evidence"] or "",
                          unverified=bool(r["unverified"]))
            )
    for refs in out.values():  # the notices' own order, as reconcile replays them
        refs.sort(key=lambda s: (s.sent is None, s.sent.timestamp() if s.sent else 0, s.message_id or "",
                                 s.message_pk or 0, s.fact_id or 0))
    return out


def _source_details(source: RowSource, entry_id: int) -> list[dict[str, Any]]:
    rows = _rows(source, "SELECT f.evidence, f.mailbox, f.unverified, m.id AS message_pk, m.source, m.message_id, "
                         "m.subject, m.sender, m.sent, m.forwarded_by, f.id AS fact_id "
                         "FROM facts f JOIN entry_sources es ON es.fact_id = f.id "
                         "JOIN messages m ON m.id = f.message_pk "
                         "WHERE es.entry_id = :entry_id", {"entry_id": entry_id})
    out = []
    for r in rows:
        item = dict(r)  # the keys in this order are the JSON of `show`
        item["unverified"] = _flag(item["unverified"])
        sent = notice_time(_instant(item["sent"]))
        item["sent"] = sent.isoformat() if sent else None
        out.append(item)
    out.sort(key=lambda i: (i["sent"] is None, datetime.fromisoformat(i["sent"]).timestamp() if i["sent"] else 0,
                            i["message_pk"], i["fact_id"]))
    firsts = {}  # one per notice, as Entry.notice_sources
    for item in out:
        firsts.setdefault(notice_key(item["message_id"], item["message_pk"], item["subject"], item["sent"]), item)
    return list(firsts.values())


__all__ = ["day_start", "entry_span", "load_sourced_facts", "notice_time", "refresh_timeline", "show", "timeline",
           "timeline_entries", "timeline_version", "upcoming"]
