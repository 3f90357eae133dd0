"""The columns of the listing commands' tables: how an entry, a fact and an archived
message show in `upcoming`, `timeline`, `extract` and `messages`, and the status a table
shows at a given instant."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from caltac_inbox.cli.options import Column
from caltac_inbox.model import Fact
from caltac_inbox.timeline import kinds
from caltac_inbox.timeline.kinds import what


def short_when(value: str | None) -> str:
    """'2020-08-14T17:00:00-07:00' -> '2020-08-14 17:00'; dates unchanged."""
    if not value:
        return ""
    return value[:16].replace("T", " ") if len(value) > 10 else value


def entry_when(e: dict[str, Any]) -> str:
    kind = e.get("kind")
    if kind == "downtime":  # a window whose start no stored notice gave: its end is under `until`
        return short_when(e.get("start")) if e.get("start") or not e.get("end") else "?"
    if kind == "task":
        return e.get("month") or "ongoing"
    return short_when(e.get("due") or e.get("at") or e.get("reminder_date"))


def entry_summary(e: dict[str, Any]) -> str:
    """The "what" of an entry or fact (JSON): timeline.kinds.what."""
    return what(Fact.from_json(e))


def entry_until_narrow(e: dict[str, Any]) -> str:
    """A downtime's end as far as it differs from its start: '08:00' the same day,
    '08-20 08:00' the same year, else in full (a narrow table's `until`)."""
    until = short_when(e.get("end")) if e.get("kind") == "downtime" else ""
    when = entry_when(e)
    if len(until) > 10 and until[:10] == when[:10]:
        return until[11:]
    if until[:4] == when[:4] and len(when) >= 10:
        return until[5:]
    return until


def entry_status(e: dict[str, Any], at: datetime) -> str:
    """The status a table shows at the instant `at`: "now" while the entry's window
    (or due day or time) holds `at`, "past" once it is over, else the entry's own
    status; a cancelled entry stays cancelled."""
    status = e.get("status") or ""
    if status == "cancelled":
        return status
    fact = Fact.from_json(e)
    key = kinds.key_date(fact)
    if key is None and e.get("reminder_date"):
        key = date.fromisoformat(e["reminder_date"])
    span = kinds.span(fact, key)
    if span is None:
        return status
    first, after = span
    if at >= after:
        return "past"
    return "now" if at >= first else status


def statuses_at(rows: list[dict[str, Any]], at: datetime, output: str) -> list[dict[str, Any]]:
    """Rows whose status follows time (entry_status) for a table or CSV; JSON keeps the
    entry's own status (docs/facts.md)."""
    if output == "json":
        return rows
    return [{**row, "status": "done" if row.get("done") else entry_status(row, at)} for row in rows]


def flags(e: dict[str, Any]) -> str:
    return ", ".join(f for f, on in (("unverified", e.get("unverified")), ("review", e.get("needs_review")),
                                     *correction_flags(e), *pending_flags(e)) if on)


def pending_flags(e: dict[str, Any]) -> list[tuple[str, bool]]:
    """What unverified notices asked of a verified entry: "cancelled by an unverified notice: check"."""
    return [(str(p.get("note")), True) for p in e.get("pending") or []]


def correction_flags(e: dict[str, Any]) -> list[tuple[str, bool]]:
    """corrected, added, dismissed, superseded: what the coordinator's corrections did."""
    marks = e.get("corrections") or []
    active = {m.get("action") for m in marks if m.get("state") == "active"}
    return [("corrected", "correct" in active), ("added", "add" in active), ("dismissed", "dismiss" in active),
            ("confirmed", "confirm" in active), ("rejected", "reject" in active),
            ("superseded", any(m.get("state") == "superseded" and m.get("action") != "done" for m in marks)),
            ("reopened", any(m.get("state") == "superseded" and m.get("action") == "done" for m in marks)
             and not e.get("done"))]


ENTRY_COLUMNS: list[Column] = [
    ("id", lambda e: e.get("id")),
    ("when", entry_when),
    ("until", lambda e: short_when(e.get("end")) if e.get("kind") == "downtime" else ""),
    ("kind", lambda e: e.get("kind")),
    ("program", lambda e: e.get("program")),
    ("status", lambda e: e.get("status")),
    ("what", entry_summary),
    ("flags", flags),
]

ENTRY_COLUMNS_NARROW: list[Column] = [
    (name, entry_until_narrow if name == "until" else get) for name, get in ENTRY_COLUMNS]

# A narrow terminal (80 columns): `what` keeps options.WHAT_ROOM characters; kind and
# program go (what names the thing; `show ID` has the rest) and a status is shortened,
# "scheduled" (the usual one) to nothing.
STATUS_SHORT = {"scheduled": "", "extended": "ext", "cancelled": "canc", "rescheduled": "moved"}
ENTRY_COLUMNS_COMPACT: list[Column] = [
    (name, (lambda e: STATUS_SHORT.get(e.get("status") or "", e.get("status"))) if name == "status" else get)
    for name, get in ENTRY_COLUMNS_NARROW if name not in ("kind", "program")]


def fact_when(f: dict[str, Any]) -> str:
    """A downtime notice that only moves the end (an extension) has no start of its own:
    its row shows the new end under `until` and the status, not a point in time."""
    if f.get("kind") == "downtime" and not f.get("start"):
        return ""
    return entry_when(f)


FACT_COLUMNS: list[Column] = [
    ("source", lambda f: f.get("source")),
    ("kind", lambda f: f.get("kind")),
    ("when", fact_when),
    ("until", lambda f: short_when(f.get("end")) if f.get("kind") == "downtime" else ""),
    ("program", lambda f: f.get("program")),
    ("status", lambda f: f.get("status") if f.get("kind") == "downtime" else ""),
    ("what", entry_summary),
]

def fact_until_narrow(f: dict[str, Any]) -> str:
    """A narrow table's `until`: shortened against `when`, in full when `when` is blank
    (an extension's new end is its only date)."""
    return entry_until_narrow(f) if fact_when(f) else short_when(f.get("end")) if f.get("kind") == "downtime" else ""


FACT_COLUMNS_NARROW: list[Column] = [
    (name, fact_until_narrow if name == "until" else get) for name, get in FACT_COLUMNS]

MESSAGE_COLUMNS: list[Column] = [
    ("id", lambda m: m.get("id")),
    ("status", lambda m: m.get("parse_status")),
    ("sent", lambda m: short_when(m.get("sent"))),
    ("sender", lambda m: m.get("sender")),
    ("subject", lambda m: m.get("subject")),
    ("facts", lambda m: m.get("facts")),
    ("error", lambda m: m.get("parse_error")),
]

