"""The coordinator's corrections on top of reconciliation. Pure.

A correction names an entry by its stable uid and says one of four things:
- dismiss: the entry does not concern this LEA (its status becomes "dismissed"; the
  queries hide it unless asked);
- correct: some of its fields have other values (`new_values`, in the docs/facts.md
  shape; `old_values` are what they were when the coordinator corrected them);
- add: an entry no notice gave (`new_values` is its whole fact; `target` its uid);
- done: the coordinator has done what the entry asks (`Entry.done`; `reason` holds the note,
  `old_values` the entry's dates when it was marked).

A correction wins over the notices it was made against, not over later ones: when a
notice sent after the newest one the entry rested on (`basis_sent`) changes a corrected
field (an extension after a manual end correction), the entry shows the notice's value
and the correction is superseded "by notice of DATE". Every applied or superseded
correction is listed on the entry (`Entry.corrections`), so the table, the JSON and the
calendar say so. A done entry whose dates a later notice changes is reopened the same way:
the done mark is superseded and the change lines say "reopened".
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Iterable, Sequence

from caltac_inbox.model import Fact
from caltac_inbox.timeline.entry import Entry, entry_sort_key
from caltac_inbox.timeline.time import LOS_ANGELES

ACTIONS = ("dismiss", "correct", "add", "done")
# confirm or reject what unverified notices asked of a verified entry (timeline.reconcile)
PENDING_DECISIONS = ("confirm", "reject")
DISMISSED = "dismissed"
# The fields whose change by a later notice reopens a done entry (those the entry has).
DATE_FIELDS = ("start", "end", "due", "at", "month", "term_end")
# The fields `correct` and `add` may set, per kind (option name -> fact field).
FIELDS: dict[str, dict[str, str]] = {
    "downtime": {"start": "start", "end": "end", "systems": "systems"},
    "designation": {"due": "due"},
    "credential": {"due": "due"},
    "retention": {"at": "at", "what": "data"},
    "deadline": {"due": "due", "what": "action"},
}
# The field a lead's date fills in for `add --from-lead`, per kind (an option of FIELDS).
DATE_FIELD = {"downtime": "start", "designation": "due", "credential": "due", "retention": "at", "deadline": "due"}
# What `add` needs for each kind before the entry means anything.
REQUIRED_TO_ADD: dict[str, tuple[str, ...]] = {
    "downtime": ("start", "end"),
    "designation": ("due",),
    "credential": ("due",),
    "retention": ("at", "what"),
    "deadline": ("due", "what"),
}


class CorrectionError(ValueError):
    """A correction that cannot be made as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Correction:
    id: int
    target: str  # an entry uid
    action: str
    new_values: dict[str, Any]
    old_values: dict[str, Any]
    made_by: str
    made_at: datetime
    basis_sent: datetime | None = None
    state: str = "active"  # active | superseded (undone ones are not applied)
    superseded_by: str | None = None
    reason: str | None = None

    def mark(self, state: str | None = None, superseded_by: str | None = None) -> dict[str, Any]:
        """How the entry lists this correction."""
        out: dict[str, Any] = {"correction": self.id, "action": self.action, "by": self.made_by,
                               "at": _in_los_angeles(self.made_at).isoformat(), "state": state or self.state}
        if self.action == "add" and self.old_values.get("notice") is not None:
            out["notice"] = self.old_values["notice"]  # the lead's notice (message row): the entry's source
        if self.action == "correct":
            out["fields"] = sorted(self.new_values)
            out["values"] = dict(self.new_values)
            out["before"] = dict(self.old_values)
        if self.action in PENDING_DECISIONS:
            out["changes"] = list(self.new_values.get("changes") or [])
        if self.reason:
            out["reason" if self.action != "done" else "note"] = self.reason
        if superseded_by or self.superseded_by:
            out["superseded_by"] = superseded_by or self.superseded_by
        return out


def _in_los_angeles(at: datetime) -> datetime:
    """A correction's time as everything a user reads it (a naive time is UTC, as stored)."""
    from datetime import timezone

    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(LOS_ANGELES)


@dataclass(frozen=True)
class Superseded:
    """A correction a later notice overrode: what the store records."""

    correction_id: int
    superseded_by: str


def field_values(kind: str, given: dict[str, Any]) -> dict[str, Any]:
    """{option: value} typed on the command line -> {fact field: JSON value}. Raises
    CorrectionError for an option that does not belong to the kind."""
    allowed = FIELDS.get(kind)
    if allowed is None:
        raise CorrectionError(f"entries of kind {kind!r} cannot be corrected")
    out: dict[str, Any] = {}
    for option, value in given.items():
        if value is None or value == ():
            continue
        if option not in allowed:
            raise CorrectionError(f"--{option} does not belong to a {kind} entry; a {kind} takes "
                                  + ", ".join(f"--{o}" for o in allowed))
        out[allowed[option]] = _json_value(value)
    return out


def _json_value(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return list(value)
    return value


def added_fact(kind: str, values: dict[str, Any], program: Sequence[str] = ()) -> Fact:
    """The fact of an `add`: its fields and program. Raises CorrectionError when a field
    the kind needs is missing."""
    missing = [o for o in REQUIRED_TO_ADD.get(kind, ()) if FIELDS[kind][o] not in values]
    if missing:
        raise CorrectionError(f"a {kind} entry needs " + " and ".join(f"--{o}" for o in missing))
    data = {"kind": kind, "program": list(program), **values}
    if kind == "downtime":
        data.setdefault("systems", [])
        data["status"] = "scheduled"
    fact = Fact.from_json(data)
    _check_order(fact)
    return fact


def _check_order(fact: Fact) -> None:
    if fact.kind == "downtime" and fact.start is not None and fact.end is not None:
        from caltac_inbox.timeline.time import instant

        if instant(fact.end) < instant(fact.start):
            raise CorrectionError(f"the end {fact.end.isoformat()} is before the start {fact.start.isoformat()}")


def corrected_fact(fact: Fact, new_values: dict[str, Any]) -> Fact:
    """`fact` with the corrected fields (evidence kept). Raises CorrectionError when the
    result is inconsistent (an end before the start)."""
    data = fact.to_json()
    data.update(new_values)
    out = Fact.from_json(data)
    out = replace(out, evidence=fact.evidence, needs_review=fact.needs_review, unverified=fact.unverified)
    _check_order(out)
    return out


def current_values(entry: Entry, names: Iterable[str]) -> dict[str, Any]:
    data = entry.fact.to_json()
    return {name: data.get(name) for name in names}


def done_basis(fields: dict[str, Any]) -> dict[str, Any]:
    """The dates of an entry (its JSON fields) that a `done` mark rests on: a later notice
    that changes one of them reopens the entry."""
    return {name: fields.get(name) for name in DATE_FIELDS if fields.get(name) is not None}


def newest_sent(entry: Entry) -> datetime | None:
    sent = [s.sent for s in entry.sources if s.sent is not None]
    return max(sent) if sent else None


def apply_corrections(entries: Sequence[Entry], corrections: Sequence[Correction]
                      ) -> tuple[list[Entry], list[Superseded]]:
    """The timeline with the corrections applied, and the corrections that a later notice
    has just superseded. `corrections` are the active and superseded ones (in any order;
    they apply in id order)."""
    by_uid = {e.uid: e for e in entries}
    marks: dict[str, list[dict[str, Any]]] = {}
    superseded: list[Superseded] = []
    added: list[Entry] = []
    for c in sorted(corrections, key=lambda c: c.id):
        if c.action == "add":
            if c.state != "active":
                continue
            try:
                fact = Fact.from_json({"evidence": "", **c.new_values})
            except (TypeError, ValueError):
                continue
            entry = Entry(uid=c.target, fact=fact, status=fact.status or "scheduled", sources=(), history=())
            added.append(entry)
            by_uid[c.target] = entry
            marks.setdefault(c.target, []).append(c.mark())
            continue
        entry = by_uid.get(c.target)
        if entry is None:  # the entry is gone (a reparse changed its notice): nothing to apply it to
            continue
        if c.action in PENDING_DECISIONS:  # reconcile applied it (its `decisions`); the entry lists it
            marks.setdefault(c.target, []).append(c.mark())
            continue
        if c.action == "dismiss":
            by_uid[c.target] = replace(entry, status=DISMISSED)
            marks.setdefault(c.target, []).append(c.mark())
            continue
        if c.state == "superseded":
            marks.setdefault(c.target, []).append(c.mark())
            continue
        by_notice = _superseding_notice(entry, c)
        if c.action == "done":
            if by_notice is not None:
                superseded.append(Superseded(c.id, by_notice))
                marks.setdefault(c.target, []).append(c.mark("superseded", by_notice))
            else:
                by_uid[c.target] = replace(entry, done=True)
                marks.setdefault(c.target, []).append(c.mark())
            continue
        if by_notice is not None:
            superseded.append(Superseded(c.id, by_notice))
            marks.setdefault(c.target, []).append(c.mark("superseded", by_notice))
            continue
        try:
            by_uid[c.target] = replace(entry, fact=corrected_fact(entry.fact, c.new_values))
        except (CorrectionError, TypeError, ValueError):
            continue
        marks.setdefault(c.target, []).append(c.mark())
    out = []
    for entry in [*entries, *added]:
        current = by_uid[entry.uid]
        if entry.uid in marks:
            current = replace(current, corrections=tuple(marks[entry.uid]))
        out.append(current)
    out.sort(key=entry_sort_key)
    return out, superseded


def _superseding_notice(entry: Entry, c: Correction) -> str | None:
    """"notice of DATE" when a notice newer than the correction's basis changed a corrected field."""
    newer = [s.sent for s in entry.sources if s.sent is not None and (c.basis_sent is None or s.sent > c.basis_sent)]
    if not newer:
        return None
    compared = c.old_values if c.action == "done" else c.new_values  # done: the dates it was marked on
    now = current_values(entry, compared)
    if all(now[name] == c.old_values.get(name) for name in compared):
        return None
    return f"notice of {max(newer).astimezone(LOS_ANGELES).date().isoformat()}"


__all__ = ["ACTIONS", "Correction", "CorrectionError", "DATE_FIELD", "DATE_FIELDS", "DISMISSED", "FIELDS",
           "PENDING_DECISIONS", "Superseded", "added_fact", "apply_corrections", "corrected_fact", "current_values",
           "done_basis", "field_values",
           "newest_sent"]
