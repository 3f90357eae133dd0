"""A timeline entry: one real-world thing (a downtime window, a deadline, ...) with its
current values, status, the notices it rests on and how it got there. Pure."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from caltac_inbox.model import Fact, When
from caltac_inbox.timeline import kinds
from caltac_inbox.timeline.history import HistoryValue, from_stored, to_stored, value_text
from caltac_inbox.timeline.time import LOS_ANGELES, instant


@dataclass(frozen=True)
class SourcedFact:
    """A stored fact plus the metadata of the notice it came from (reconcile's input)."""

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
    """One step of an entry's history, caused by one notice: what the entry was
    (`before`) and became (`after`), as values (timeline.history)."""

    at: datetime | None  # the causing notice's sent date
    change: str  # announced, restated, extended, rescheduled, cancelled, reinstated
    before: HistoryValue | None
    after: HistoryValue | None
    message_id: str | None
    subject: str | None

    def to_json(self) -> dict[str, Any]:
        """The step as the JSON output shows it (values spelled by history.value_text)."""
        return self._dict(value_text(self.before), value_text(self.after))

    def to_stored(self) -> dict[str, Any]:
        """The step as the entries.history column keeps it (values tagged, history.to_stored)."""
        return self._dict(to_stored(self.before), to_stored(self.after))

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> "Change":
        at = data.get("at")
        return cls(datetime.fromisoformat(at) if at else None, data.get("change", ""),
                   from_stored(data.get("from")), from_stored(data.get("to")), data.get("message_id"),
                   data.get("subject"))

    def _dict(self, before: Any, after: Any) -> dict[str, Any]:
        return {
            "at": self.at.isoformat() if self.at else None,
            "change": self.change,
            "from": before,
            "to": after,
            "message_id": self.message_id,
            "subject": self.subject,
        }


PENDING_WORDS = {"cancelled": "cancelled", "extended": "extended to {to}", "rescheduled": "moved to {to}",
                 "reinstated": "reinstated"}


@dataclass(frozen=True)
class PendingChange:
    """A change an unverified notice asked of a verified entry, held until the coordinator
    confirms or rejects it (`confirm`/`reject`) or a later verified notice settles it."""

    key: str  # names the change across reparses (timeline.reconcile.pending_key)
    change: str  # cancelled, extended, rescheduled, reinstated
    before: str | None
    after: str | None
    message_id: str | None
    subject: str | None
    sent: datetime | None

    def what(self) -> str:
        """'cancelled by an unverified notice', 'extended to 2016-09-13 23:59 by an unverified notice'."""
        word = PENDING_WORDS.get(self.change, self.change).format(to=_short_times(self.after or "?"))
        return f"{word} by an unverified notice"

    def note(self) -> str:
        """What the table, `show`, `changes` and the page flag: `what()` and what to do."""
        return self.what() + ": check"

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "change": self.change, "from": self.before, "to": self.after,
                "note": self.note(), "message_id": self.message_id, "subject": self.subject,
                "sent": self.sent.isoformat() if self.sent else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PendingChange":
        sent = data.get("sent")
        return cls(str(data.get("key") or ""), str(data.get("change") or ""), data.get("from"), data.get("to"),
                   data.get("message_id"), data.get("subject"), datetime.fromisoformat(sent) if sent else None)


_ISO_MOMENT = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)?")


def _short_times(text: str) -> str:
    """ISO moments as a line shows them: '2016-09-13T23:59:00-07:00' -> '2016-09-13 23:59'."""
    return _ISO_MOMENT.sub(r"\1 \2", text)


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
    reminder_date: date | None = None  # kinds.dated_by_notice: the day of the reminder's notice
    # the coordinator's corrections of this entry (timeline.corrections: Correction.mark)
    corrections: tuple[dict[str, Any], ...] = ()
    # changes unverified notices asked of this verified entry, not applied (see PendingChange)
    pending: tuple[PendingChange, ...] = ()
    done: bool = False  # the coordinator marked it done (a `done` correction in force)
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
        """What the timeline sorts by (kinds.key_date; a reminder's notice day)."""
        return kinds.key_date(self.fact) or self.reminder_date

    @property
    def end_date(self) -> When | None:
        return self.fact.end if self.fact.kind == "downtime" else None

    def span(self) -> tuple[datetime, datetime] | None:
        """[first instant, first instant after) the entry covers; None when undated."""
        return kinds.span(self.fact, self.key_date)

    def overlaps(self, lower: datetime | None, upper: datetime | None) -> bool:
        """Whether the entry's span meets [lower, upper) (None: unbounded). An undated
        entry meets only the unbounded range."""
        span = self.span()
        if span is None:
            return lower is None and upper is None
        first, after = span
        return (lower is None or after > lower) and (upper is None or first < upper)

    def fields(self) -> dict[str, Any]:
        """The docs/facts.md shape of the entry's current values, with the entry status."""
        out = self.fact.to_json()
        out.pop("unverified", None)  # the entry's own flag (all sources unverified) is in to_json()
        if self.fact.kind == "downtime":
            out["status"] = self.status
        if self.done:
            out["done"] = True
        if self.corrections:
            out["corrections"] = [dict(c) for c in self.corrections]
        if self.pending:
            out["pending"] = [p.to_json() for p in self.pending]
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
        out.pop("done", None)
        out.update(
            id=self.entry_id,
            uid=self.uid,
            status=self.status,
            sources=self.source_notices(),
            unverified=self.unverified,
            done=self.done,
        )
        if self.reminder_date is not None:
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
        return kinds.digest(payload)


_DATELESS = datetime.min.replace(tzinfo=LOS_ANGELES)


def entry_sort_key(entry: Entry) -> tuple:
    """Timeline order: by key date (undated last), kind, place in its list, uid."""
    key = entry.key_date
    return (key is None, instant(key) if key is not None else _DATELESS, entry.kind,
            kinds.sort_position(entry.fact), entry.uid)


__all__ = ["Change", "Entry", "PendingChange", "SourceRef", "SourcedFact", "entry_sort_key", "notice_key"]
