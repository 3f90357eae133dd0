"""The replay: every stored fact -> the timeline, what is true now and how it got there.

The input is every stored fact together with the notice it came from; the output is one
`Entry` per real-world thing (a downtime window, a deadline, ...) with its current
values, status, sources and history. What makes two facts of a kind one thing is
`kinds.same_thing` (downtime windows are matched here, by their dates).

Order independence: facts are replayed in the order of the notices' OWN sent dates
(not arrival order), ties broken by message id and the fact's identity, so any arrival
order of the same set of notices gives the same timeline. A forward of an old notice
carries the old sent date, so it lands before the extension it predates.

Rules (see README "Timeline"):
- restatement: same kind, same key dates (at the coarser precision of the two),
  compatible programs (overlap, or none named) -> one entry, several sources;
  downtime systems are unioned, optional fields filled in.
- extension (downtime, status "extended"): every live window with compatible program,
  overlapping systems (or none named on either side), same start if the extension
  gives one, and whose end is before the new end by at most MAX_SHIFT gets the new end.
- rescheduled: moves the nearest matching window whose start is within MAX_SHIFT.
- cancelled: marks the matching window(s) cancelled (kept; the queries hide them).
- anything that matches nothing becomes its own entry with the fact's status.

Trust propagates: a notice that is not verified never overrides what a verified one
said. Its restatement of a verified entry is only a source; its change to one (cancel,
extend, reschedule, reinstate) is held as a `PendingChange` beside the verified value,
unless the coordinator decided on it (`decisions`: pending key -> "confirm" applies it,
"reject" drops it). The next verified notice about the entry settles what is pending.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping, Sequence

from caltac_inbox.model import DOWNTIME_STATUSES, Fact, When
from caltac_inbox.timeline.entry import Change, Entry, PendingChange, SourcedFact, SourceRef, entry_sort_key, notice_key
from caltac_inbox.timeline.kinds import (
    dated_by_notice,
    digest,
    canonical_json,
    match_key,
    programs_compatible,
    same_thing,
    same_when,
    uid_base,
    union_programs,
)
from caltac_inbox.timeline.time import LOS_ANGELES, end_instant, instant, iso, local_date
from caltac_inbox.timeline.history import HistoryValue, stated, value_text, window

MAX_SHIFT = timedelta(weeks=6)
CONFIRM, REJECT = "confirm", "reject"


def reconcile(facts: Sequence[SourcedFact] | Iterable[SourcedFact],
              decisions: Mapping[str, str] | None = None) -> list[Entry]:
    """All facts -> the timeline, independent of the order the facts are given in.
    `decisions`: the coordinator's word on pending changes, pending key -> CONFIRM | REJECT."""
    working = _Replay(decisions or {})
    for sf in sorted(facts, key=_replay_key):
        _apply(working, sf)
    entries: list[Entry] = []
    used: set[str] = set()
    for w in working.entries:
        uid = w.base_uid()
        n = 2
        while uid in used:
            uid = f"{w.base_uid()}-{n}"
            n += 1
        used.add(uid)
        entries.append(w.freeze(uid))
    entries.sort(key=entry_sort_key)
    return entries


# --- replay --------------------------------------------------------------------------


class _Replay:
    """The entries built so far, indexed by the day a restatement must share with them,
    and the downtime windows by the days a change can reach them from (`live`)."""

    def __init__(self, decisions: Mapping[str, str]) -> None:
        self.decisions = decisions
        self.entries: list[_Working] = []
        self.downtimes: list[_Working] = []
        self._by_key: dict[tuple, list[_Working]] = {}
        self._reach = _WindowIndex()

    def add(self, w: "_Working") -> None:
        self.entries.append(w)
        if w.fact.kind == "downtime":
            self.downtimes.append(w)
            self.index_window(w, _window(w.fact))
        else:
            self._by_key.setdefault(match_key(w.fact), []).append(w)

    def add_window(self, w: "_Working", window: tuple[When | None, When | None]) -> None:
        """A downtime entry now (also) has this window: restatements of it find the entry."""
        w.windows.append(window)
        self.index_window(w, window)

    def index_window(self, w: "_Working", window: tuple[When | None, When | None]) -> None:
        bucket = self._by_key.setdefault(_window_key(window), [])
        if w not in bucket:
            bucket.append(w)
        # every change of a downtime's fact comes with its window (add, add_window)
        self._reach.place(w, window)

    def candidates(self, fact: Fact) -> list["_Working"]:
        """Entries that could be a restatement of `fact`, in creation order."""
        key = _window_key((fact.start, fact.end)) if fact.kind == "downtime" else match_key(fact)
        return sorted(self._by_key.get(key, ()), key=lambda w: w.serial)

    def live(self, f: Fact, status: str) -> list["_Working"]:
        """The live downtime windows a change (`status`) of `f` may apply to, in creation
        order: those not cancelled, with compatible programs and overlapping systems, among
        the windows the change's own test can accept (`_WindowIndex.reachable`). The
        change functions narrow them further; a window the index leaves out is one their
        tests reject, so this is what filtering every downtime gave, in a time that does
        not grow with the downtimes stored."""
        return [w for w in self._reach.reachable(f, status) if w.status != "cancelled"
                and programs_compatible(w.fact, f) and _systems_overlap(w.fact, f)]


def _day(moment: datetime) -> int:
    """The day number of an instant (UTC days since the epoch): a bucket, not a calendar day."""
    return int(moment.timestamp() // 86400)


class _WindowIndex:
    """Downtime entries by the days their windows reach, so a change looks at the windows
    it can touch and not at every window of the history:
    - by the day of their current end's instant (an extension: `_extends` wants it within
      MAX_SHIFT before the new end) and of their current end's date (an extension said
      again: `same_when` ends; None for no end),
    - by the day of their current start's instant (a reschedule: within MAX_SHIFT),
    - by the date of every start and every end they ever had (a cancellation: `_cancels`).
    Each lookup gives a superset of what the exact test accepts, in creation order."""

    def __init__(self) -> None:
        self._end_day: dict[Any, dict[int, _Working]] = {}
        self._end_date: dict[Any, dict[int, _Working]] = {}
        self._start_day: dict[Any, dict[int, _Working]] = {}
        self._ever_start: dict[Any, dict[int, _Working]] = {}
        self._ever_end: dict[Any, dict[int, _Working]] = {}
        self._current: dict[int, tuple[int | None, Any, int | None]] = {}

    def place(self, w: "_Working", window: tuple[When | None, When | None]) -> None:
        """`w` has `window` among its windows, and its fact is as it is now."""
        start, end = window
        if start is not None:
            self._ever_start.setdefault(local_date(start), {})[w.serial] = w
        if end is not None:
            self._ever_end.setdefault(local_date(end), {})[w.serial] = w
        fact = w.fact
        now = (_day(end_instant(fact.end)) if fact.end is not None else None,
               local_date(fact.end) if fact.end is not None else None,
               _day(instant(fact.start)) if fact.start is not None else None)
        before = self._current.get(w.serial)
        if before == now:
            return
        if before is not None:
            for index, key in ((self._end_day, before[0]), (self._end_date, before[1]),
                               (self._start_day, before[2])):
                index.get(key, {}).pop(w.serial, None)
        self._current[w.serial] = now
        for index, key in ((self._end_day, now[0]), (self._end_date, now[1]), (self._start_day, now[2])):
            index.setdefault(key, {})[w.serial] = w

    def reachable(self, f: Fact, status: str) -> list["_Working"]:
        found: dict[int, _Working] = {}
        if status == "extended":
            if f.end is not None:
                new_end = end_instant(f.end)
                for day in range(_day(new_end - MAX_SHIFT), _day(new_end) + 1):
                    found.update(self._end_day.get(day, {}))
            found.update(self._end_date.get(local_date(f.end) if f.end is not None else None, {}))
        elif status == "rescheduled":
            if f.start is not None:
                start = instant(f.start)
                for day in range(_day(start - MAX_SHIFT), _day(start + MAX_SHIFT) + 1):
                    found.update(self._start_day.get(day, {}))
        elif status == "cancelled":
            if f.start is not None:
                found.update(self._ever_start.get(local_date(f.start), {}))
            elif f.end is not None:
                found.update(self._ever_end.get(local_date(f.end), {}))
        return [found[serial] for serial in sorted(found)]


def _window_key(window: tuple[When | None, When | None]) -> tuple:
    start, end = window
    if start is not None:
        return ("downtime", "start", local_date(start))
    return ("downtime", "end", local_date(end) if end is not None else None)


@dataclass
class _Working:
    serial: int
    root: Fact
    root_sent: datetime | None
    fact: Fact
    status: str
    sources: list[SourceRef] = field(default_factory=list)
    history: list[Change] = field(default_factory=list)
    windows: list[tuple[When | None, When | None]] = field(default_factory=list)
    pending: list[PendingChange] = field(default_factory=list)

    def base_uid(self) -> str:
        return uid_base(self.root, self.root_sent)

    def freeze(self, uid: str) -> Entry:
        reminder = local_date(self.root_sent) if dated_by_notice(self.fact) and self.root_sent else None
        return Entry(
            uid=uid,
            fact=self.fact,
            status=self.status,
            sources=tuple(self.sources),
            history=tuple(self.history),
            unverified=all(s.unverified for s in self.sources),
            needs_review=self.fact.needs_review,
            reminder_date=reminder,
            pending=tuple(self.pending),
        )

    def verified(self) -> bool:
        return any(not s.unverified for s in self.sources)

    def add_source(self, sf: SourcedFact) -> None:
        if not _unverified(sf):
            self.pending.clear()  # a verified notice about the entry settles what was pending
        self.sources.append(_source_ref(sf))

    def log(self, sf: SourcedFact, change: str, before: HistoryValue | None, after: HistoryValue | None) -> None:
        self.history.append(Change(sf.sent, change, before, after, sf.message_id, sf.subject))


def _apply(working: _Replay, sf: SourcedFact) -> None:
    f = sf.fact
    if f.kind != "downtime":
        for w in working.candidates(f):
            if w.fact.kind == f.kind and same_thing(w.fact, f):
                _restate(working, w, sf)
                return
        _new(working, sf, "scheduled")
        return
    status = f.status or "scheduled"
    if _restates_a_window(working, sf, status):
        return
    if status == "scheduled":
        _new(working, sf, status)
        return
    live = working.live(f, status)
    change = _CHANGES.get(status)
    if change is None or not change(working, live, sf):
        _new(working, sf, status if status in DOWNTIME_STATUSES else "scheduled")


def _restates_a_window(working: _Replay, sf: SourcedFact, status: str) -> bool:
    """A restatement of a window an entry has (or had) is only a source (or reinstates a
    cancelled window); whether `sf` was one."""
    f = sf.fact
    for w in working.candidates(f):
        if w.fact.kind == "downtime" and programs_compatible(w.fact, f) and (
            any(_same_window(win, (f.start, f.end)) for win in w.windows)
        ):
            if status == "cancelled" and w.status != "cancelled":
                return False
            if status == "scheduled" and w.status == "cancelled" and _same_window(_window(w.fact), (f.start, f.end)):
                if not _held(working, w, sf, "reinstated", "cancelled", "scheduled"):
                    _restate(working, w, sf)
                    w.status = "scheduled"
                    w.log(sf, "reinstated", "cancelled", "scheduled")
                return True
            _restate(working, w, sf, update_dates=_same_window(_window(w.fact), (f.start, f.end)))
            return True
    return False


def _extend(working: _Replay, live: list[_Working], sf: SourcedFact) -> bool:
    f = sf.fact
    targets = [w for w in live if _extends(w.fact, f)]
    # the same extension said again (a forward, a reminder): windows already end there
    chosen = {w.serial for w in targets}  # not `w in targets`: a dataclass compare per pair
    restated = [w for w in live if w.serial not in chosen and w.status == "extended"
                and same_when(w.fact.end, f.end)]
    for w in restated:
        w.add_source(sf)
    for w in targets:
        before = w.fact.end
        if _held(working, w, sf, "extended", before, f.end):
            continue
        w.fact = replace(w.fact, end=f.end)  # the window keeps its own program and systems
        w.status = "extended"
        working.add_window(w, _window(w.fact))
        w.add_source(sf)
        w.log(sf, "extended", before, f.end)
    return bool(targets or restated)


def _reschedule(working: _Replay, live: list[_Working], sf: SourcedFact) -> bool:
    f = sf.fact
    if f.start is None:
        return False
    start = instant(f.start)
    near = [w for w in live if w.fact.start is not None and abs(instant(w.fact.start) - start) <= MAX_SHIFT]
    if not near:
        return False
    w = min(near, key=lambda w: abs(instant(w.fact.start) - start) if w.fact.start is not None else MAX_SHIFT)
    before = window(w.fact)
    if _held(working, w, sf, "rescheduled", before, window(replace(w.fact, start=f.start, end=f.end))):
        return True
    w.fact = replace(w.fact, start=f.start, end=f.end, program=union_programs(w.fact, f),
                     systems=_union(w.fact.systems, f.systems))
    w.status = "rescheduled"
    working.add_window(w, _window(w.fact))
    w.add_source(sf)
    w.log(sf, "rescheduled", before, window(w.fact))
    return True


def _cancel(working: _Replay, live: list[_Working], sf: SourcedFact) -> bool:
    targets = [w for w in live if _cancels(w, sf.fact)]
    for w in targets:
        if _held(working, w, sf, "cancelled", w.status, "cancelled"):
            continue
        w.log(sf, "cancelled", w.status, "cancelled")
        w.status = "cancelled"
        w.add_source(sf)
    return bool(targets)


_CHANGES = {"extended": _extend, "rescheduled": _reschedule, "cancelled": _cancel}


def _new(working: _Replay, sf: SourcedFact, status: str) -> None:
    fact = replace(sf.fact, unverified=False)  # an entry is unverified by its sources, see freeze()
    w = _Working(serial=len(working.entries), root=sf.fact, root_sent=sf.sent, fact=fact, status=status)
    if fact.kind == "downtime":
        w.windows.append(_window(fact))  # add() indexes it
    w.add_source(sf)
    w.log(sf, "announced", None, stated(fact))
    working.add(w)


def _restate(working: _Replay, w: _Working, sf: SourcedFact, update_dates: bool = True) -> None:
    """Another notice says the same thing: add it as a source, fill in what it adds (an
    unverified notice adds nothing to a verified entry but itself as a source)."""
    if _unverified(sf) and w.verified():
        w.add_source(sf)
        return
    old, new = w.fact, sf.fact
    changes: dict[str, Any] = {}
    if new.program and set(new.program) - set(old.program):
        changes["program"] = union_programs(old, new)
    if old.kind == "downtime":
        changes.update(_window_additions(old, new, update_dates))
    else:
        changes.update(_dated_additions(old, new))
    if old.school_year is None and new.school_year and "school_year" not in changes:
        changes["school_year"] = new.school_year
    if new.needs_review and not old.needs_review:
        changes["needs_review"] = True
        changes["review_reason"] = new.review_reason
    if changes:
        merged = replace(old, **changes)
        w.fact = merged
        if old.kind == "downtime":
            working.add_window(w, _window(merged))
        w.log(sf, "restated", stated(old), stated(merged))
    w.add_source(sf)


def _window_additions(old: Fact, new: Fact, update_dates: bool) -> dict[str, Any]:
    """What a restatement of a downtime window adds: systems, more precise times."""
    changes: dict[str, Any] = {}
    systems = _union(old.systems, new.systems)
    if systems != old.systems:
        changes["systems"] = systems
    if update_dates:
        for name in ("start", "end"):
            more = _more_precise(getattr(old, name), getattr(new, name))
            if more != getattr(old, name):
                changes[name] = more
    return changes


def _dated_additions(old: Fact, new: Fact) -> dict[str, Any]:
    """What a restatement of a deadline (designation, credential, retention) adds."""
    changes: dict[str, Any] = {}
    for name in ("due", "at", "term_end"):
        more = _more_precise(getattr(old, name), getattr(new, name))
        if more != getattr(old, name):
            changes[name] = more
    for name in ("school_year", "defaulted", "default_designee", "action", "data", "system",
                 "keep_years"):
        if getattr(old, name) in (None, "") and getattr(new, name) not in (None, ""):
            changes[name] = getattr(new, name)
    if new.vendors:
        vendors = _union(old.vendors, new.vendors)
        if vendors != old.vendors:
            changes["vendors"] = vendors
    return changes


# --- trust ---------------------------------------------------------------------------


def _unverified(sf: SourcedFact) -> bool:
    return sf.unverified or sf.fact.unverified


def pending_key(entry_uid: str, sf: SourcedFact, change: str, after: str | None) -> str:
    """What names one unverified notice's change to one entry across reparses."""
    return digest([entry_uid, list(notice_key(sf.message_id, sf.message_pk, sf.subject, iso(sf.sent))),
                   change, after])[:16]


def _held(working: _Replay, w: _Working, sf: SourcedFact, change: str, before: HistoryValue | None,
          after: HistoryValue | None) -> bool:
    """Whether `sf`'s change to `w` is kept from it: an unverified notice changing a verified
    entry is held as pending (or dropped, if rejected), unless the coordinator confirmed it.
    A held notice is still a source of the entry."""
    if not (_unverified(sf) and w.verified()):
        return False
    key = pending_key(w.base_uid(), sf, change, value_text(after))
    decision = working.decisions.get(key)
    if decision == CONFIRM:
        return False
    if decision != REJECT:
        w.pending.append(PendingChange(key, change, value_text(before), value_text(after), sf.message_id, sf.subject,
                                       sf.sent))
    w.add_source(sf)
    return True


# --- matching (downtime windows) ------------------------------------------------


def _extends(window: Fact, ext: Fact) -> bool:
    if ext.end is None or window.end is None:
        return False
    if ext.start is not None and not same_when(window.start, ext.start):
        return False
    old_end, new_end = end_instant(window.end), end_instant(ext.end)
    if window.start is not None and new_end <= instant(window.start):
        return False
    return old_end < new_end <= old_end + MAX_SHIFT


def _cancels(w: _Working, f: Fact) -> bool:
    """A cancellation names the window by its start (or, without one, by its end)."""
    if f.start is not None:
        return any(same_when(start, f.start) for start, _ in w.windows)
    return f.end is not None and any(same_when(end, f.end) for _, end in w.windows)


def _window(f: Fact) -> tuple[When | None, When | None]:
    return (f.start, f.end)


def _same_window(a: tuple[When | None, When | None], b: tuple[When | None, When | None]) -> bool:
    return same_when(a[0], b[0]) and same_when(a[1], b[1])


def _more_precise(old: When | None, new: When | None) -> When | None:
    if old is None:
        return new
    if new is not None and not isinstance(old, datetime) and isinstance(new, datetime):
        return new
    return old


def _systems_overlap(a: Fact, b: Fact) -> bool:
    if not a.systems or not b.systems or "ALL" in a.systems or "ALL" in b.systems:
        return True
    return bool(set(a.systems) & set(b.systems))


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return a + tuple(x for x in b if x not in a)


# --- ordering ------------------------------------------------------------------------


def _replay_key(sf: SourcedFact) -> tuple:
    sent = sf.sent.astimezone(LOS_ANGELES).isoformat() if sf.sent else "9999"
    sent_utc = sf.sent.timestamp() if sf.sent else float("inf")
    f = sf.fact
    # what the fact states and its flags, then where it was said
    return (sent_utc, sent, sf.message_id or "", sf.subject or "", canonical_json(f, ("evidence", "position")),
            f.evidence, f.position or 0, sf.unverified, sf.forwarded_by or "", sf.message_pk or 0, sf.fact_id or 0)


def _source_ref(sf: SourcedFact) -> SourceRef:
    return SourceRef(
        fact_id=sf.fact_id,
        message_pk=sf.message_pk,
        message_id=sf.message_id,
        subject=sf.subject,
        sent=sf.sent,
        forwarded_by=sf.forwarded_by,
        evidence=sf.fact.evidence,
        unverified=sf.unverified or sf.fact.unverified,
    )


__all__ = ["CONFIRM", "MAX_SHIFT", "REJECT", "pending_key", "reconcile"]
