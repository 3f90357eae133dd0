"""Plain data passed between the pure parts: a parsed notice and the facts read from it.

No I/O here. Everything is a frozen dataclass so parsing and classification stay pure
functions that tests can call without a mailbox or a database.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from typing import Any

FACT_KINDS = ("downtime", "designation", "credential", "retention", "deadline")
# What a timeline entry can be: a fact's kind, or a checklist task.
KINDS = (*FACT_KINDS, "task")
PROGRAMS = ("CAASPP", "ELPAC")
# A downtime's status as a notice states it, and a downtime entry's after reconcile.
DOWNTIME_STATUSES = ("scheduled", "extended", "rescheduled", "cancelled")
# The days the store and the queries work with: the date arithmetic around a date (a
# day after it, a month's reach before it, a window of days) stays far from the limits
# of Python's datetime. A fact dated outside them is not stored; a CLI date outside
# them is a usage error.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)

# A key date is a datetime (aware, with offset) when the notice gave a time of day,
# and a date when it did not. Both serialise with isoformat().
When = date | datetime
# The fields of a fact that hold a When (stored as its isoformat()).
WHEN_FIELDS = ("start", "end", "due", "at", "term_end")


@dataclass(frozen=True)
class Notice:
    """One notice as its original sender wrote it, after forward unwrapping."""

    source: str
    text: str
    subject: str | None = None
    sender: str | None = None  # bare address of the original notice's sender
    sender_name: str | None = None
    sent: datetime | None = None  # aware; the original notice's own sent date
    message_id: str | None = None
    forwarded_by: str | None = None  # bare address of whoever forwarded it, else None
    forward_note: str = ""  # the forwarder's own words above the forwarded notice
    authenticated: bool | None = None
    html: bool = False  # text came from an HTML part
    damage: str | None = None  # what was wrong with the message and passed over (status "partial")


@dataclass(frozen=True)
class Fact:
    """One dated fact. Which fields are meaningful depends on `kind` (see docs/facts.md)."""

    kind: str
    evidence: str
    program: tuple[str, ...] = ()
    # downtime
    start: When | None = None
    end: When | None = None
    systems: tuple[str, ...] = ()
    status: str | None = None
    # designation / deadline / credential
    due: When | None = None
    school_year: str | None = None
    defaulted: bool | None = None
    default_designee: str | None = None
    term_end: When | None = None
    vendors: tuple[str, ...] = ()
    action: str | None = None
    # retention
    at: When | None = None
    data: str | None = None
    system: str | None = None
    keep_years: int | None = None
    # task (checklist imports only)
    month: str | None = None
    section: str | None = None
    text: str | None = None
    position: int | None = None  # the item's place in the checklist (1 = first); orders a month's tasks
    # flags
    needs_review: bool = False
    review_reason: str | None = None  # why needs_review: what in the source contradicts itself
    unverified: bool = False

    def with_changes(self, **changes: Any) -> "Fact":
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """The docs/facts.md shape: required fields always, optional ones when set."""
        out: dict[str, Any] = {"kind": self.kind, "program": program_json(self.program)}
        required = _REQUIRED[self.kind]
        for f in fields(self):
            name = f.name
            if name in ("kind", "program", "evidence"):
                continue
            value = getattr(self, name)
            if name in required or value not in (None, (), False):
                out[name] = _json_value(value)
        out["evidence"] = self.evidence
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Fact":
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            if name not in known:
                continue
            if name in WHEN_FIELDS and isinstance(value, str):
                value = parse_when(value)
            elif name == "program":
                value = tuple([value] if isinstance(value, str) else (value or ()))
            elif name in ("systems", "vendors"):
                value = tuple(value or ())
            kwargs[name] = value
        kwargs.setdefault("evidence", "")
        return cls(**kwargs)


_REQUIRED: dict[str, tuple[str, ...]] = {
    "downtime": ("start", "end", "systems"),
    "designation": ("due",),
    "credential": ("school_year",),
    "retention": ("at", "data"),
    "deadline": ("due", "action"),
    "task": ("month", "section", "text"),
}


def program_json(program: tuple[str, ...]) -> str | list[str] | None:
    if not program:
        return None
    if len(program) == 1:
        return program[0]
    return list(program)


def _json_value(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def parse_when(text: str) -> When:
    """Inverse of isoformat() for the key dates: 'YYYY-MM-DD' is a date, else a datetime."""
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Lead:
    """A dated sentence of a notice that produced no fact, for a coordinator to review."""

    when: When | None  # the date the resolver settled; None when the written weekday contradicts it
    sentence: str  # verbatim, whitespace-collapsed
    reason: str  # "no cue", "weekday mismatch", "title date", "not a fact: <category>"

    def to_json(self) -> dict[str, Any]:
        return {"when": _json_value(self.when), "sentence": self.sentence, "reason": self.reason}


class FactsWithLeads(tuple):
    """A notice's facts (a tuple of Fact) that also carries its leads: `.leads`."""

    leads: tuple[Lead, ...] = ()

    @classmethod
    def of(cls, facts: Any, leads: Any) -> "FactsWithLeads":
        out = cls(facts)
        out.leads = tuple(leads)
        return out

    def __reduce__(self):  # pickled between worker processes with its leads
        return (FactsWithLeads.of, (tuple(self), self.leads))


@dataclass(frozen=True)
class Extraction:
    """What `extract --json` prints for one message (docs/facts.md 'One message')."""

    source: str
    notice: Notice | None
    facts: tuple[Fact, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        n = self.notice
        return {
            "source": self.source,
            "message_id": n.message_id if n else None,
            "sender": n.sender if n else None,
            "sent": n.sent.isoformat() if n and n.sent else None,
            "subject": n.subject if n else None,
            "forwarded_by": n.forwarded_by if n else None,
            "authenticated": n.authenticated if n else None,
            "kinds": sorted({f.kind for f in self.facts}),
            "facts": [f.to_json() for f in self.facts],
            **({"error": self.error} if self.error else {}),
        }


@dataclass(frozen=True)
class RawMessage:
    """Raw bytes of one message and where they came from, before parsing."""

    raw: bytes
    source: str  # a file path, "path#n" inside an mbox, or imap://mailbox/folder;uid=N
    mailbox: str | None = None  # configured mailbox name for IMAP, else None
    folder: str | None = None
    uidvalidity: int | None = None
    uid: int | None = None
    # IMAP: the Message-ID header and RFC822.SIZE the server declared before the download
    declared_message_id: str | None = None
    declared_size: int | None = None
    # authserv-ids of the receiving server whose Authentication-Results are trusted;
    # None: the source names none (the parser's default)
    authserv_ids: tuple[str, ...] | None = None
    # domains or addresses whose forwards of a notice keep the outer message's verdict
    trusted_forwarders: tuple[str, ...] = ()


@dataclass(frozen=True)
class Checkpoint:
    """Where a mail source has got to in a folder, in the stream of its messages: it is
    stored in the transaction that stores the messages before it, never earlier.

    `last_uid`: every UID up to it is done (stored, ignored or recorded); None moves
    nothing. `recognised`: UIDs recorded without a download, each (uid, message_id,
    size, message_pk, status) as recorded for the earlier copy of the message.
    `settled`: the folder was scanned to the end under an unchanged UIDVALIDITY."""

    mailbox: str
    folder: str
    uidvalidity: int
    last_uid: int | None = None
    recognised: tuple[tuple[int, str, int, int | None, str], ...] = ()
    settled: bool = False


__all__ = [
    "Checkpoint",
    "DOWNTIME_STATUSES",
    "Extraction",
    "FACT_KINDS",
    "Fact",
    "FactsWithLeads",
    "Lead",
    "Notice",
    "PROGRAMS",
    "RawMessage",
    "WHEN_FIELDS",
    "When",
    "parse_when",
    "program_json",
]
