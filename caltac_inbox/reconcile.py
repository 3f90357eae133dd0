"""Reconcile stored facts into the timeline: what is true now, and how it got there.

Pure code. The input is every stored fact together with the notice it came from; the
output is one `Entry` per real-world thing (a downtime window, a deadline, ...) with
its current values, status, sources and history.

Order independence: facts are replayed in the order of the notices' OWN sent dates
(not arrival order), ties broken by message id and the canonical fact JSON, so any
arrival order of the same set of notices gives the same timeline. A forward of an
old notice carries the old sent date, so it lands before the extension it predates.

Rules (see docs in README "Timeline"):
- restatement: same kind, same key dates (at the coarser precision of the two),
  compatible programs (overlap, or none named) -> one entry, several sources;
  downtime systems are unioned, optional fields filled in.
- extension (downtime, status "extended"): every live window with compatible program,
  overlapping systems (or none named on either side), same start if the extension
  gives one, and whose end is before the new end by at most MAX_SHIFT gets the new end.
- rescheduled: moves the nearest matching window whose start is within MAX_SHIFT.
- cancelled: marks the matching window(s) cancelled (kept; the queries hide them).
- anything that matches nothing becomes its own entry with the fact's status.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from caltac_inbox.model import PROGRAMS, Fact, When

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
MAX_SHIFT = timedelta(weeks=6)
ENTRY_STATUSES = ("scheduled", "extended", "rescheduled", "cancelled")


@dataclass(frozen=True)
class SourcedFact:
    """A stored fact plus the metadata of the notice it came from."""

    fact: Fact
    fact_id: int | None = None  # store row id, only passed through to Entry.sources
    message_pk: int | None = None
    message_id: str | None = None
    subject: str | None = None
    sent: datetime | None = None  # the original notice's own sent date
    forwarded_by: str | None = None
    unverified: bool = False


@dataclass(frozen=True)
class SourceRef:
    """One notice an entry rests on."""

    fact_id: int | None
    message_pk: int | None
    message_id: str | None
    subject: str | None
    sent: datetime | None
    forwarded_by: str | None
    evidence: str
    unverified: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "subject": self.subject,
            "sent": self.sent.isoformat() if self.sent else None,
        }


def notice_key(message_id: str | None, message_pk: int | None, subject: str | None, sent: Any) -> tuple[Any, ...]:
    """What makes two sources one notice: its Message-ID, else its stored message, else
    what it says about itself."""
    if message_id:
        return ("message-id", message_id)
    if message_pk is not None:
        return ("message", message_pk)
    return ("notice", subject, sent)


@dataclass(frozen=True)
class Change:
    """One step of an entry's history, caused by one notice."""

    at: datetime | None  # the causing notice's sent date
    change: str  # announced, restated, extended, rescheduled, cancelled, reinstated
    before: str | None
    after: str | None
    message_id: str | None
    subject: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Change":
        at = data.get("at")
        return cls(datetime.fromisoformat(at) if at else None, data.get("change", ""),
                   data.get("from"), data.get("to"), data.get("message_id"), data.get("subject"))

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat() if self.at else None,
            "change": self.change,
            "from": self.before,
            "to": self.after,
            "message_id": self.message_id,
            "subject": self.subject,
        }


@dataclass(frozen=True)
class Entry:
    """One timeline entry: current values (`fact`), status, sources and history."""

    uid: str
    fact: Fact
    status: str
    sources: tuple[SourceRef, ...]
    history: tuple[Change, ...]
    unverified: bool = False
    needs_review: bool = False
    reminder_date: date | None = None  # credential without due: the reminder notice's date
    # filled in by the store (defaults for pure reconcile results)
    entry_id: int | None = None
    sequence: int = 0
    updated_at: datetime | None = None

    @property
    def kind(self) -> str:
        return self.fact.kind

    @property
    def program(self) -> tuple[str, ...]:
        return self.fact.program

    @property
    def key_date(self) -> When | None:
        """What the timeline sorts by; for a credential without `due`, the notice date."""
        if self.fact.kind == "task":
            return date.fromisoformat(self.fact.month + "-01") if self.fact.month else None
        return self.fact.key_date() or self.reminder_date

    @property
    def end_date(self) -> When | None:
        return self.fact.end if self.fact.kind == "downtime" else None

    def fields(self) -> dict[str, Any]:
        """The docs/facts.md shape of the entry's current values, with the entry status."""
        out = self.fact.to_json()
        out.pop("unverified", None)  # the entry's own flag (all sources unverified) is in to_json()
        if self.fact.kind == "downtime":
            out["status"] = self.status
        return out

    def notice_sources(self) -> list[SourceRef]:
        """The first source of each notice: several facts may come from one notice, and
        two messages sharing a Message-ID (a damaged copy, a re-send) are one notice."""
        seen: set[Any] = set()
        out = []
        for s in self.sources:
            key = notice_key(s.message_id, s.message_pk, s.subject, s.sent)
            if key not in seen:
                seen.add(key)
                out.append(s)
        return out

    def source_notices(self) -> list[dict[str, Any]]:
        """Sources as {message_id, subject, sent}, one per notice (see notice_sources)."""
        return [s.to_json() for s in self.notice_sources()]

    def to_json(self) -> dict[str, Any]:
        out = self.fields()
        out.update(
            id=self.entry_id,
            uid=self.uid,
            status=self.status,
            sources=self.source_notices(),
            unverified=self.unverified,
        )
        if self.reminder_date is not None:  # a credential reminder without due: dated by its notice
            out["reminder_date"] = self.reminder_date.isoformat()
        return out

    def content_hash(self) -> str:
        """Changes whenever anything a user (or a calendar) sees of the entry changes."""
        payload = {
            "fields": self.fields(),
            "status": self.status,
            "unverified": self.unverified,
            "sources": self.source_notices(),
            "reminder_date": self.reminder_date.isoformat() if self.reminder_date else None,
        }
        return _sha256(payload)


def reconcile(facts: Sequence[SourcedFact] | Iterable[SourcedFact]) -> list[Entry]:
    """All facts -> the timeline, independent of the order the facts are given in."""
    working = _Replay()
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


def entry_sort_key(entry: Entry) -> tuple:
    key = entry.key_date
    return (key is None, _instant(key) if key is not None else datetime.min.replace(tzinfo=LOS_ANGELES), entry.kind, entry.uid)


# --- replay --------------------------------------------------------------------------


class _Replay:
    """The entries built so far, indexed by the day a restatement must share with them."""

    def __init__(self) -> None:
        self.entries: list[_Working] = []
        self.downtimes: list[_Working] = []
        self._by_key: dict[tuple, list[_Working]] = {}

    def add(self, w: "_Working") -> None:
        self.entries.append(w)
        if w.fact.kind == "downtime":
            self.downtimes.append(w)
            self.index_window(w, _window(w.fact))
        else:
            self._by_key.setdefault(_match_key(w.fact), []).append(w)

    def add_window(self, w: "_Working", window: tuple[When | None, When | None]) -> None:
        """A downtime entry now (also) has this window: restatements of it find the entry."""
        w.windows.append(window)
        self.index_window(w, window)

    def index_window(self, w: "_Working", window: tuple[When | None, When | None]) -> None:
        bucket = self._by_key.setdefault(_window_key(window), [])
        if w not in bucket:
            bucket.append(w)

    def candidates(self, fact: Fact) -> list["_Working"]:
        """Entries that could be a restatement of `fact`, in creation order."""
        key = _window_key((fact.start, fact.end)) if fact.kind == "downtime" else _match_key(fact)
        return sorted(self._by_key.get(key, ()), key=lambda w: w.serial)


def _window_key(window: tuple[When | None, When | None]) -> tuple:
    start, end = window
    if start is not None:
        return ("downtime", "start", _local_date(start))
    return ("downtime", "end", _local_date(end) if end is not None else None)


def _match_key(f: Fact) -> tuple:
    """Facts that can be one entry share this (key dates compare at day precision)."""
    if f.kind == "credential":
        return (f.kind, f.school_year)
    if f.kind == "task":
        return (f.kind, f.month)
    key = f.key_date()
    return (f.kind, _local_date(key) if key is not None else None)


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

    def base_uid(self) -> str:
        """From the entry's identity: the earliest fact it rests on, never a row id."""
        f = self.root
        key = f.key_date() or (self.root_sent.astimezone(LOS_ANGELES).date() if self.root_sent else None)
        if f.kind == "task":
            key = f.month
        identity = [f.kind, sorted(f.program), _iso(f.start), _iso(f.end), _iso(f.due), _iso(f.at),
                    f.school_year, _norm_text(f.action), _norm_text(f.data), f.system,
                    f.month, f.section, _norm_text(f.text)]
        if f.kind == "downtime" and f.start is None:
            identity.append(f.status)
        if f.kind == "credential":
            identity.append(_iso(self.root_sent))
        stamp = re.sub(r"[^0-9]", "", str(key))[:12] if key else "undated"
        return f"{f.kind}-{stamp}-{_sha256(identity)[:10]}"

    def freeze(self, uid: str) -> Entry:
        reminder = None
        if self.fact.kind == "credential" and self.fact.due is None and self.root_sent:
            reminder = self.root_sent.astimezone(LOS_ANGELES).date()
        return Entry(
            uid=uid,
            fact=self.fact,
            status=self.status,
            sources=tuple(self.sources),
            history=tuple(self.history),
            unverified=all(s.unverified for s in self.sources),
            needs_review=self.fact.needs_review,
            reminder_date=reminder,
        )

    def add_source(self, sf: SourcedFact) -> None:
        self.sources.append(_source_ref(sf))

    def log(self, sf: SourcedFact, change: str, before: str | None, after: str | None) -> None:
        self.history.append(Change(sf.sent, change, before, after, sf.message_id, sf.subject))


def _apply(working: _Replay, sf: SourcedFact) -> None:
    f = sf.fact
    if f.kind != "downtime":
        for w in working.candidates(f):
            if w.fact.kind == f.kind and _same_thing(w.fact, f):
                _restate(working, w, sf)
                return
        _new(working, sf, "scheduled")
        return

    status = f.status or "scheduled"
    for w in working.candidates(f):  # a restatement of a window an entry has (or had) is only a source
        if w.fact.kind == "downtime" and _programs_compatible(w.fact, f) and (
            any(_same_window(win, (f.start, f.end)) for win in w.windows)
        ):
            if status == "cancelled" and w.status != "cancelled":
                break
            if status == "scheduled" and w.status == "cancelled" and _same_window(_window(w.fact), (f.start, f.end)):
                _restate(working, w, sf)
                w.status = "scheduled"
                w.log(sf, "reinstated", "cancelled", "scheduled")
                return
            _restate(working, w, sf, update_dates=_same_window(_window(w.fact), (f.start, f.end)))
            return

    if status == "scheduled":
        _new(working, sf, status)
        return
    live = [w for w in working.downtimes if w.status != "cancelled"
            and _programs_compatible(w.fact, f) and _systems_overlap(w.fact, f)]
    if status == "extended":
        targets = [w for w in live if _extends(w.fact, f)]
        # the same extension said again (a forward, a reminder): windows already end there
        restated = [w for w in live if w not in targets and w.status == "extended"
                    and _same_when(w.fact.end, f.end)]
        for w in restated:
            w.add_source(sf)
        if restated and not targets:
            return
        for w in targets:
            before = _iso(w.fact.end)
            w.fact = replace(w.fact, end=f.end)  # the window keeps its own program and systems
            w.status = "extended"
            working.add_window(w, _window(w.fact))
            w.add_source(sf)
            w.log(sf, "extended", before, _iso(f.end))
        if targets:
            return
    elif status == "rescheduled" and f.start is not None:
        near = [w for w in live if w.fact.start is not None
                and abs(_instant(w.fact.start) - _instant(f.start)) <= MAX_SHIFT]
        if near:
            w = min(near, key=lambda w: abs(_instant(w.fact.start) - _instant(f.start)))
            before = _window_text(w.fact)
            w.fact = replace(w.fact, start=f.start, end=f.end, program=_union_programs(w.fact, f),
                             systems=_union(w.fact.systems, f.systems))
            w.status = "rescheduled"
            working.add_window(w, _window(w.fact))
            w.add_source(sf)
            w.log(sf, "rescheduled", before, _window_text(w.fact))
            return
    elif status == "cancelled":
        targets = [w for w in live if _cancels(w, f)]
        for w in targets:
            w.log(sf, "cancelled", w.status, "cancelled")
            w.status = "cancelled"
            w.add_source(sf)
        if targets:
            return
    _new(working, sf, status if status in ENTRY_STATUSES else "scheduled")


def _new(working: _Replay, sf: SourcedFact, status: str) -> None:
    fact = replace(sf.fact, unverified=False)  # an entry is unverified by its sources, see freeze()
    w = _Working(serial=len(working.entries), root=sf.fact, root_sent=sf.sent, fact=fact, status=status)
    if fact.kind == "downtime":
        w.windows.append(_window(fact))  # add() indexes it
    w.add_source(sf)
    w.log(sf, "announced", None, _summary_text(fact))
    working.add(w)


def _restate(working: _Replay, w: _Working, sf: SourcedFact, update_dates: bool = True) -> None:
    """Another notice says the same thing: add it as a source, fill in what it adds."""
    old, new = w.fact, sf.fact
    merged = old
    changes: dict[str, Any] = {}
    if new.program and set(new.program) - set(old.program):
        changes["program"] = _union_programs(old, new)
    if old.kind == "downtime":
        systems = _union(old.systems, new.systems)
        if systems != old.systems:
            changes["systems"] = systems
        if update_dates:
            for name in ("start", "end"):
                more = _more_precise(getattr(old, name), getattr(new, name))
                if more != getattr(old, name):
                    changes[name] = more
    else:
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
    if old.school_year is None and new.school_year and "school_year" not in changes:
        changes["school_year"] = new.school_year
    if new.needs_review and not old.needs_review:
        changes["needs_review"] = True
    if changes:
        merged = replace(old, **changes)
        w.fact = merged
        if old.kind == "downtime":
            working.add_window(w, _window(merged))
        w.log(sf, "restated", _summary_text(old), _summary_text(merged))
    w.add_source(sf)


# --- matching ------------------------------------------------------------------------


def _same_thing(a: Fact, b: Fact) -> bool:
    """Non-downtime restatement test, per kind (docs/facts.md key dates)."""
    if not _programs_compatible(a, b):
        return False
    if a.kind == "designation":
        return _same_when(a.due, b.due) and _optional_equal(a.school_year, b.school_year)
    if a.kind == "deadline":
        return _same_when(a.due, b.due) and _similar(a.action, b.action, 0.5)
    if a.kind == "credential":
        return (a.school_year == b.school_year and _optional_equal(a.action, b.action)
                and (a.due is None or b.due is None or _same_when(a.due, b.due)))
    if a.kind == "retention":
        if not (_same_when(a.at, b.at) and _optional_equal(a.school_year, b.school_year)):
            return False
        if a.system and b.system:
            return a.system == b.system
        return _similar(a.data, b.data, 0.5)
    if a.kind == "task":
        # school_year keeps each checklist edition's ongoing tasks (month None) apart.
        return ((a.month, a.section, a.school_year, _norm_text(a.text))
                == (b.month, b.section, b.school_year, _norm_text(b.text)))
    return _fact_identity(a) == _fact_identity(b)


def _extends(window: Fact, ext: Fact) -> bool:
    if ext.end is None or window.end is None:
        return False
    if ext.start is not None and not _same_when(window.start, ext.start):
        return False
    old_end, new_end = _end_instant(window.end), _end_instant(ext.end)
    if window.start is not None and new_end <= _instant(window.start):
        return False
    return old_end < new_end <= old_end + MAX_SHIFT


def _cancels(w: _Working, f: Fact) -> bool:
    """A cancellation names the window by its start (or, without one, by its end)."""
    if f.start is not None:
        return any(_same_when(start, f.start) for start, _ in w.windows)
    return f.end is not None and any(_same_when(end, f.end) for _, end in w.windows)


def _window(f: Fact) -> tuple[When | None, When | None]:
    return (f.start, f.end)


def _same_window(a: tuple[When | None, When | None], b: tuple[When | None, When | None]) -> bool:
    return _same_when(a[0], b[0]) and _same_when(a[1], b[1])


def _same_when(a: When | None, b: When | None) -> bool:
    """Equal at the coarser precision of the two: a date matches any time that day."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a == b
    return _local_date(a) == _local_date(b)


def _more_precise(old: When | None, new: When | None) -> When | None:
    if old is None:
        return new
    if new is not None and not isinstance(old, datetime) and isinstance(new, datetime):
        return new
    return old


def _optional_equal(a: Any, b: Any) -> bool:
    return a is None or b is None or a == b


def _programs_compatible(a: Fact, b: Fact) -> bool:
    return not a.program or not b.program or bool(set(a.program) & set(b.program))


def _systems_overlap(a: Fact, b: Fact) -> bool:
    if not a.systems or not b.systems or "ALL" in a.systems or "ALL" in b.systems:
        return True
    return bool(set(a.systems) & set(b.systems))


def _union_programs(a: Fact, b: Fact) -> tuple[str, ...]:
    both = set(a.program) | set(b.program)
    return tuple(p for p in PROGRAMS if p in both) + tuple(sorted(both - set(PROGRAMS)))


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return a + tuple(x for x in b if x not in a)


_STOPWORDS = frozenset("a an the to of in for and or on by with your all be is are".split())


def _tokens(text: str | None) -> set[str]:
    return {t for t in re.findall(r"[a-z0-9]+", (text or "").lower()) if t not in _STOPWORDS}


def _similar(a: str | None, b: str | None, threshold: float) -> bool:
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return not ta and not tb
    if ta <= tb or tb <= ta:
        return True
    return len(ta & tb) / len(ta | tb) >= threshold


def _norm_text(text: str | None) -> str | None:
    return " ".join(sorted(_tokens(text))) if text else None


# --- dates ---------------------------------------------------------------------------


def _local_date(w: When) -> date:
    return w.astimezone(LOS_ANGELES).date() if isinstance(w, datetime) else w


def _instant(w: When) -> datetime:
    """A date is its start (00:00 America/Los_Angeles)."""
    if isinstance(w, datetime):
        return w
    return datetime.combine(w, time(0), tzinfo=LOS_ANGELES)


def _end_instant(w: When) -> datetime:
    """An end given as a date is that whole day: it ends at the next midnight."""
    if isinstance(w, datetime):
        return w
    return datetime.combine(w + timedelta(days=1), time(0), tzinfo=LOS_ANGELES)


def _iso(w: When | None) -> str | None:
    return w.isoformat() if w is not None else None


def _window_text(f: Fact) -> str:
    return f"{_iso(f.start)} to {_iso(f.end)}"


def _summary_text(f: Fact) -> str:
    if f.kind == "downtime":
        return _window_text(f) + (f" ({', '.join(f.systems)})" if f.systems else "")
    key = f.key_date()
    return _iso(key) if key is not None else (f.school_year or f.month or "")


# --- ordering and identity -----------------------------------------------------------


def _replay_key(sf: SourcedFact) -> tuple:
    sent = sf.sent.astimezone(LOS_ANGELES).isoformat() if sf.sent else "9999"
    sent_utc = sf.sent.timestamp() if sf.sent else float("inf")
    return (sent_utc, sent, sf.message_id or "", sf.subject or "", _fact_identity(sf.fact),
            sf.fact.evidence, sf.unverified, sf.forwarded_by or "", sf.message_pk or 0, sf.fact_id or 0)


def _fact_identity(f: Fact) -> str:
    data = f.to_json()
    data.pop("evidence", None)
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


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


def _sha256(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


__all__ = [
    "Change",
    "ENTRY_STATUSES",
    "Entry",
    "LOS_ANGELES",
    "MAX_SHIFT",
    "SourceRef",
    "SourcedFact",
    "entry_sort_key",
    "reconcile",
]
