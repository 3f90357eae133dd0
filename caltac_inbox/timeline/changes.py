"""What a rebuild of the timeline changed, entry by entry, as a coordinator reads it. Pure.

`diff_entry(before, after)` compares two snapshots of one entry (its `Entry.fields()`
plus status, unverified flag and history, as `snapshot()` makes them; None when the
entry did not exist before or does not exist after) and gives a `TimelineChange`, or
None when nothing a reader sees changed. A new source restating the same dates is not
a change: the coordinator has nothing new to act on.

`change_line(change)` is the one readable line a poll prints:
    changed  downtime TOMS, ORS, CSS unavailable (CAASPP, from 2016-08-26 17:00): end 2016-09-06 → 2016-09-13 23:59 (extended)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from caltac_inbox.model import Fact
from caltac_inbox.timeline.kinds import what

NEW, CHANGED, CANCELLED, REMOVED = "new", "changed", "cancelled", "removed"
CHANGE_TYPES = (NEW, CHANGED, CANCELLED, REMOVED)

# evidence is the sentence quoted, not a value; history and sources say how, not what
_NOT_COMPARED = ("evidence", "history", "corrections")  # corrections: their effect (status, dates) is compared
# the history steps that explain a change in a word
_REASONS = ("extended", "rescheduled", "cancelled", "reinstated")
REOPENED = "reopened"  # a done entry whose dates a later notice changed


@dataclass(frozen=True)
class TimelineChange:
    """One entry that a rebuild created, changed, cancelled or removed. `before` and
    `after` hold only the fields that differ (a new entry: every field in `after`)."""

    uid: str
    kind: str
    change: str  # one of CHANGE_TYPES
    summary: str  # kinds.what of the entry, e.g. "TOMS, ORS, CSS unavailable"
    program: tuple[str, ...] = ()
    when: str | None = None  # the entry's start or due date, ISO
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # "extended", "rescheduled", ... from the entry's history

    def to_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "kind": self.kind, "change": self.change, "summary": self.summary,
                "program": list(self.program), "when": self.when, "before": self.before, "after": self.after,
                "reason": self.reason}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "TimelineChange":
        return cls(uid=data["uid"], kind=data["kind"], change=data["change"], summary=data.get("summary") or "",
                   program=tuple(data.get("program") or ()), when=data.get("when"),
                   before=dict(data.get("before") or {}), after=dict(data.get("after") or {}),
                   reason=data.get("reason"))


def snapshot(fields: Mapping[str, Any], *, status: str, unverified: bool,
             history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What `diff_entry` compares of an entry: its fields (docs/facts.md shape), status,
    unverified flag and history."""
    out = dict(fields)
    out.update(status=status, unverified=bool(unverified), history=list(history or []))
    return out


def diff_entry(uid: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> TimelineChange | None:
    """The change from snapshot `before` to snapshot `after` of entry `uid`; None when a
    reader would see no difference (or both are None)."""
    if before is None and after is None:
        return None
    current = after if after is not None else before
    assert current is not None
    kind = str(current.get("kind") or "")
    base = dict(uid=uid, kind=kind, summary=_summary(current), program=_programs(current.get("program")),
                when=_when(current))
    if before is None:
        return TimelineChange(change=NEW, after=_compared(after), **base)
    if after is None:
        return TimelineChange(change=REMOVED, before=_compared(before), **base)
    old, new = _compared(before), _compared(after)
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if not changed:
        return None
    reason = _reason(before.get("history") or [], after.get("history") or [])
    if old.get("done") and not new.get("done"):  # a notice moved what was marked done
        reason = f"{reason}, {REOPENED}" if reason else REOPENED
    kind_of_change = CANCELLED if new.get("status") == "cancelled" != old.get("status") else CHANGED
    return TimelineChange(change=kind_of_change, before={k: old.get(k) for k in changed},
                          after={k: new.get(k) for k in changed}, reason=reason, **base)


def _compared(snap: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (snap or {}).items() if k not in _NOT_COMPARED}


def _reason(old_history: list[dict[str, Any]], new_history: list[dict[str, Any]]) -> str | None:
    """The last step the new history has that the old one did not, when it explains a change."""
    added = [h for h in new_history if h not in old_history]
    for step in reversed(added):
        if step.get("change") in _REASONS:
            return str(step["change"])
    return None


def _programs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(p for p in value.split("/") if p)
    return tuple(value or ())


def _when(snap: Mapping[str, Any]) -> str | None:
    for name in ("start", "due", "at", "term_end"):
        if snap.get(name):
            return str(snap[name])
    return snap.get("month") or None


def _summary(snap: Mapping[str, Any]) -> str:
    try:
        return what(Fact.from_json(_compared({k: v for k, v in snap.items() if k not in ("status", "unverified")})))
    except (KeyError, TypeError, ValueError):
        return str(snap.get("kind") or "entry")


def short(value: Any) -> str:
    """A value as a line shows it: '2016-09-13T23:59:00-07:00' -> '2016-09-13 23:59'."""
    if value is None or value == "" or value == []:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(short(v) for v in value)
    text = str(value)
    if len(text) > 10 and text[4:5] == "-" and text[10:11] == "T":
        return text[:16].replace("T", " ")
    return text


def change_line(change: TimelineChange) -> str:
    """One readable line: change type, kind, what, then what changed."""
    label = _WHEN_LABELS.get(change.kind, "")
    when = f"{label} {short(change.when)}".strip() if change.when else ""
    where = ", ".join(p for p in (", ".join(change.program), when) if p)
    head = f"{change.change:<8} {change.kind} {change.summary}" + (f" ({where})" if where else "")
    if change.change == NEW:
        return head + _new_detail(change.after)
    if change.change == REMOVED:
        return head + ": no longer in any stored notice"
    parts = []
    for name in change.after:
        if name == "status" and change.after.get("status") in (change.reason or "").split(", "):
            continue  # the reason says it
        if name == "pending":
            parts.append(pending_text(change.after.get("pending")))
            continue
        if name == "done":
            if change.after.get("done"):
                parts.append("marked done")
            continue  # undone: the reason says "reopened" (or `undo` was asked)
        parts.append(f"{name} {short(change.before.get(name))} → {short(change.after.get(name))}")
    detail = ", ".join(parts)
    if change.reason and change.reason != change.change:
        detail += f" ({change.reason})"
    return head + (f": {detail}" if detail else "")


def pending_text(pending: Any) -> str:
    """What a change in an entry's pending changes says: their notes, or that none is left."""
    notes = [str(p.get("note")) for p in pending or [] if isinstance(p, Mapping)]
    return "; ".join(notes) if notes else "no change from an unverified notice pending"


_WHEN_LABELS = {"downtime": "from", "designation": "due", "credential": "due", "deadline": "due", "retention": "on"}


def _new_detail(after: Mapping[str, Any]) -> str:
    if after.get("kind") == "downtime" and after.get("end"):
        return f": until {short(after.get('end'))}"
    return ""


__all__ = ["CANCELLED", "CHANGED", "CHANGE_TYPES", "NEW", "REMOVED", "REOPENED", "TimelineChange", "change_line",
           "diff_entry", "short", "snapshot"]
