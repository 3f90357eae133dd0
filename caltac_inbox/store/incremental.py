"""What the incremental timeline refresh reads: the facts, entries and corrections of
the groups a change touched, and nothing else.

Every write that changes facts or corrections records, in its own transaction, the
groups of the timeline it touched (`timeline_pending`, see timeline.scope and
store.write.mark_pending). `store.write.refresh_pending_scopes` reads exactly those
groups' facts (`pending_condition`), replays them through the same `reconcile` and
`apply_corrections` as the full rebuild, and writes the difference with the same
`write.write_entries`, so both give the same rows
(tests/system/test_incremental_timeline.py proves it on random histories).

It gives way to the full rebuild (returns None) when that is what is asked ("*"),
when the facts changed without saying where (a database from before migration 0013,
a run that died before its refresh under an older version), when the change is most of
the archive anyway (a backfill), and when an entry of the groups would take a uid an
entry outside them has (reconcile numbers such uids in the order of the whole replay).
"""
from __future__ import annotations

from datetime import date
from typing import Any, Iterable, Sequence

from sqlalchemy import and_, delete, false, func, or_, select, update
from sqlalchemy.orm import Session

from caltac_inbox.store.schema import EntryRow, EntrySourceRow, FactRow, TimelinePendingRow
from caltac_inbox.timeline.scope import MOVING, REACH, SLACK, WINDOWS, fact_scope, merge_windows

# Beyond this many pending groups a full replay is cheaper than finding them one by one.
MAX_PENDING_SCOPES = 400
# The uids of entries a coordinator added (store.corrections), never numbered by reconcile.
_ADDED = "manual-"
# Downtime windows a group is followed through one by one before it is taken by its span.
MAX_WINDOWS = 40
# Bound parameters per IN list (SQLite allows 32,766 per statement).
_CHUNK = 500


def pending_condition(session: Session, scopes: list[tuple[str, str, str]], entries: dict[str, EntryRow]) -> Any:
    """The facts of the pending `scopes` (scope, first, last) and of the groups of `entries`;
    None when an entry rests on a fact stored before migration 0013 (no scope yet)."""
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
            .join(EntrySourceRow, EntrySourceRow.fact_id == FactRow.id).where(EntrySourceRow.entry_id.in_(chunk))
        ).all()


def source_pairs(session: Session, entry_ids: list[int]) -> Iterable[tuple[int, int]]:
    for chunk in _chunks(entry_ids):
        yield from session.execute(select(EntrySourceRow.entry_id, EntrySourceRow.fact_id)
                                   .where(EntrySourceRow.entry_id.in_(chunk))).all()


def rows_where(session: Session, model: Any, column: Any, values: Iterable[Any]) -> Iterable[Any]:
    for chunk in _chunks(sorted(values)):
        yield from session.execute(select(model).where(column.in_(chunk))).scalars()


def uid_taken_outside(session: Session, uids: set[str], inside: set[int]) -> bool:
    """Whether reconcile's numbering of repeated uids ("<uid>-2": in the order of the whole
    replay) may involve an entry outside the groups: a numbered uid among `uids` (the
    groups' entries, old and new), or an entry outside with one of their uids or its "-2"."""
    uids = {uid for uid in uids if not uid.startswith(_ADDED)}
    if any(uid != _base(uid) for uid in uids):
        return True
    wanted = sorted({uid for base in uids for uid in (base, base + "-2")})
    for chunk in _chunks(wanted):
        for entry_id in session.execute(select(EntryRow.id).where(EntryRow.uid.in_(chunk))).scalars():
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
    session.execute(delete(TimelinePendingRow))


def fill_in_scopes(session: Session) -> None:
    """The scope of every fact stored before migration 0013 (a full rebuild's first step)."""
    from caltac_inbox.model import Fact

    rows = session.execute(select(FactRow.id, FactRow.fields).where(FactRow.scope.is_(None))).all()
    for fact_id, fields in rows:
        scope = fact_scope(Fact.from_json(dict(fields)))
        session.execute(update(FactRow).where(FactRow.id == fact_id).values(
            scope=scope.key, span_first=scope.first.isoformat() if scope.first else None,
            span_last=scope.last.isoformat() if scope.last else None))


__all__ = ["MAX_PENDING_SCOPES", "clear_pending", "fill_in_scopes", "pending_condition", "rows_where",
           "source_pairs", "uid_taken_outside"]
