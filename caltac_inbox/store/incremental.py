"""The timeline refresh that costs what changed, not what is archived.

Every write that changes facts or corrections records, in its own transaction, the
groups of the timeline it touched (`timeline_pending`, see timeline.scope and
store.write.mark_pending). `refresh_pending_scopes` reads exactly those groups' facts,
replays them through the same `reconcile` and `apply_corrections` as the full rebuild,
and writes the difference with the same `write.write_entries`, so both give the same
rows (tests/system/test_incremental_timeline.py proves it on random histories).

It gives way to the full rebuild (returns None) when that is what is asked ("*"),
when the facts changed without saying where (a database from before migration 0028,
a run that died before its refresh under an older version), when the change is most of
the archive anyway (a backfill), and when an entry of the groups would take a uid an
entry outside them has (reconcile numbers such uids in the order of the whole replay).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import and_, delete, false, func, or_, select, update
from sqlalchemy.orm import Session

from caltac_inbox.store.schema import Entry, EntrySource, FactRow, TimelinePending
from caltac_inbox.timeline.scope import MOVING, REACH, SLACK, WINDOWS, fact_scope, merge_windows

# Beyond this many pending groups a full replay is cheaper than finding them one by one.
MAX_PENDING_SCOPES = 400
# The uids of entries a coordinator added (store.corrections), never numbered by reconcile.
_ADDED = "manual-"
# Downtime windows a group is followed through one by one before it is taken by its span.
MAX_WINDOWS = 40
# Bound parameters per IN list (SQLite allows 32,766 per statement).
_CHUNK = 500


def refresh_pending_scopes(session: Session, now: datetime, *, run_id: str | None,
                           mailbox: str | None) -> Any:
    """Recompute the pending groups of the timeline (the caller holds the timeline lock).
    Returns write.Rebuilt, or None when only the full rebuild will do."""
    from caltac_inbox.store.read import generations
    from caltac_inbox.store.write import (ENTRY_SCOPE, FULL_SCOPE, Rebuilt, apply_stored_corrections,
                                          load_sourced_facts, timeline_rebuilt_from, write_entries)
    from caltac_inbox.timeline.reconcile import reconcile

    facts_generation, timeline_generation = generations(session)
    pending = session.execute(select(TimelinePending.id, TimelinePending.scope, TimelinePending.span_first,
                                     TimelinePending.span_last)).all()
    if not pending:  # in line, unless facts changed without saying where
        return Rebuilt(0) if facts_generation == timeline_generation else None
    if len(pending) > MAX_PENDING_SCOPES or FULL_SCOPE in {p.scope for p in pending}:
        return None
    uids = {p.scope.removeprefix(ENTRY_SCOPE) for p in pending if p.scope.startswith(ENTRY_SCOPE)}
    existing = {row.uid: row for row in _rows(session, Entry, Entry.uid, uids)}
    in_scope = _pending_condition(session, [(p.scope, p.span_first, p.span_last) for p in pending
                                            if not p.scope.startswith(ENTRY_SCOPE)], existing)
    if in_scope is None:
        return None
    scoped_entries = select(EntrySource.entry_id).join(FactRow, FactRow.id == EntrySource.fact_id).where(in_scope)
    for row in session.execute(select(Entry).where(Entry.id.in_(scoped_entries))).scalars():
        existing[row.uid] = row
    reconciled = reconcile(load_sourced_facts(session, in_scope))
    if _uid_taken_outside(session, {e.uid for e in reconciled} | set(existing), {row.id for row in existing.values()}):
        return None
    targets = set(existing) | {e.uid for e in reconciled} | uids
    entries = apply_stored_corrections(session, reconciled, now, targets=sorted(targets))
    linked: dict[int, set[int]] = {}
    for entry_id, fact_id in _pairs(session, [row.id for row in existing.values()]):
        linked.setdefault(entry_id, set()).add(fact_id)
    rebuilt = write_entries(session, entries, existing, linked, now, run_id=run_id, mailbox=mailbox)
    session.execute(delete(TimelinePending).where(TimelinePending.id.in_([p.id for p in pending])))
    timeline_rebuilt_from(session, facts_generation)
    return rebuilt


def _pending_condition(session: Session, scopes: list[tuple[str, str, str]], entries: dict[str, Entry]) -> Any:
    """The facts of the pending `scopes` (scope, first, last) and of the groups of `entries`;
    None when an entry rests on a fact stored before migration 0028 (no scope yet)."""
    keys = {scope for scope, _, _ in scopes if scope not in WINDOWS}
    windows = [_window(scope, first, last) for scope, first, last in scopes if scope in WINDOWS]
    for key, first, last in _source_scopes(session, [row.id for row in entries.values()]):
        if key is None:
            return None
        if key in WINDOWS:
            windows.append(_window(key, first, last))
        else:
            keys.add(key)
    return _scope_condition(keys, _closed_windows(session, windows))


def _window(key: str | None, first: str | None, last: str | None) -> tuple[date, date, bool]:
    assert first is not None and last is not None  # a downtime window's days
    return date.fromisoformat(first), date.fromisoformat(last), key == MOVING


def _scope_condition(keys: set[str], windows: Sequence[tuple[date, date, bool]]) -> Any:
    """The facts of the groups `keys`, and the downtime windows that meet `windows`: a
    window that moves meets every window within REACH, the others one they overlap (or,
    within REACH, one that moves)."""
    parts: list[Any] = [FactRow.scope.in_(sorted(keys))] if keys else []
    for first, last, moves in windows:
        near = SLACK if not moves else REACH
        parts.append(and_(FactRow.scope.in_(WINDOWS), FactRow.span_last >= (first - near).isoformat(),
                          FactRow.span_first <= (last + near).isoformat()))
        if not moves:
            parts.append(and_(FactRow.scope == MOVING, FactRow.span_last >= (first - REACH).isoformat(),
                              FactRow.span_first <= (last + REACH).isoformat()))
    return or_(*parts) if parts else false()


def _closed_windows(session: Session, windows: list[tuple[date, date, bool]]) -> list[tuple[date, date, bool]]:
    """`windows` and every stored downtime window they meet, and every one those meet, ...:
    a chain of windows each meeting the next is one group. Beyond MAX_WINDOWS windows the
    group is taken as every window within REACH of their first and last day, grown the
    same way (more than the chain, never less: a query stays a handful of terms)."""
    merged = merge_windows(windows)
    while merged and len(merged) <= MAX_WINDOWS:
        grown = list(merged)
        for key, first, last in session.execute(select(FactRow.scope, FactRow.span_first, FactRow.span_last)
                                                .where(_scope_condition(set(), merged))):
            grown.append(_window(key, first, last))
        grown = merge_windows(grown)
        if grown == merged:
            return merged
        merged = grown
    if not merged:
        return merged
    lowest, highest = min(w[0] for w in merged), max(w[1] for w in merged)
    while True:
        first, last = session.execute(select(func.min(FactRow.span_first), func.max(FactRow.span_last))
                                      .where(_scope_condition(set(), [(lowest, highest, True)]))).one()
        wider = (min(lowest, date.fromisoformat(first or lowest.isoformat())),
                 max(highest, date.fromisoformat(last or highest.isoformat())))
        if wider == (lowest, highest):
            return [(lowest, highest, True)]
        lowest, highest = wider


def _source_scopes(session: Session, entry_ids: list[int]) -> Iterable[tuple[str | None, str | None, str | None]]:
    for chunk in _chunks(entry_ids):
        yield from session.execute(
            select(FactRow.scope, FactRow.span_first, FactRow.span_last)
            .join(EntrySource, EntrySource.fact_id == FactRow.id).where(EntrySource.entry_id.in_(chunk))
        ).all()


def _pairs(session: Session, entry_ids: list[int]) -> Iterable[tuple[int, int]]:
    for chunk in _chunks(entry_ids):
        yield from session.execute(select(EntrySource.entry_id, EntrySource.fact_id)
                                   .where(EntrySource.entry_id.in_(chunk))).all()


def _rows(session: Session, model: Any, column: Any, values: Iterable[Any]) -> Iterable[Any]:
    for chunk in _chunks(sorted(values)):
        yield from session.execute(select(model).where(column.in_(chunk))).scalars()


def _uid_taken_outside(session: Session, uids: set[str], inside: set[int]) -> bool:
    """Whether reconcile's numbering of repeated uids ("<uid>-2": in the order of the whole
    replay) may involve an entry outside the groups: a numbered uid among `uids` (the
    groups' entries, old and new), or an entry outside with one of their uids or its "-2"."""
    uids = {uid for uid in uids if not uid.startswith(_ADDED)}
    if any(uid != _base(uid) for uid in uids):
        return True
    wanted = sorted({uid for base in uids for uid in (base, base + "-2")})
    for chunk in _chunks(wanted):
        for entry_id in session.execute(select(Entry.id).where(Entry.uid.in_(chunk))).scalars():
            if entry_id not in inside:
                return True
    return False


def _base(uid: str) -> str:
    """"<kind>-<date>-<hash>" of an entry uid (reconcile adds "-<n>" to a repeated one)."""
    return uid if uid.startswith(_ADDED) else "-".join(uid.split("-")[:3])


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def clear_pending(session: Session) -> None:
    """A full rebuild recomputes every group."""
    session.execute(delete(TimelinePending))


def fill_in_scopes(session: Session) -> None:
    """The scope of every fact stored before migration 0028 (a full rebuild's first step)."""
    from caltac_inbox.model import Fact

    rows = session.execute(select(FactRow.id, FactRow.fields).where(FactRow.scope.is_(None))).all()
    for fact_id, fields in rows:
        scope = fact_scope(Fact.from_json(dict(fields)))
        session.execute(update(FactRow).where(FactRow.id == fact_id).values(
            scope=scope.key, span_first=scope.first.isoformat() if scope.first else None,
            span_last=scope.last.isoformat() if scope.last else None))


__all__ = ["MAX_PENDING_SCOPES", "clear_pending", "fill_in_scopes", "refresh_pending_scopes"]
