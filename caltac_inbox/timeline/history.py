"""What a step of an entry's history says the entry was and what it became, as typed
values: a day or a moment (an extension's end, a deadline's date), a downtime window
(its start and end, and the systems when the step states the whole window), or a word
(a status, a school year, a month; "" when the entry has none of these).

Reconcile makes these values, the store keeps them tagged (`to_stored`, `from_stored`:
{"when": ISO}, {"start": ISO, "end": ISO, "systems": [...]}, {"word": text}), and the
readers render them: `value_text` is how the JSON output (`show --json`) has always
spelled a step, timeline.wording how a person reads it. Nothing splits a rendered
value back into its parts.

Pure: the model and the standard library.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from caltac_inbox.model import Fact, When, parse_when
from caltac_inbox.timeline.kinds import key_date


@dataclass(frozen=True)
class Window:
    """A downtime window in a step: what a rescheduling moved it from and to, or what
    an announcement or a restatement stated (then with its systems)."""

    start: When | None
    end: When | None
    systems: tuple[str, ...] = ()


# str: a word (a status, a school year, a month, or "")
HistoryValue = Union[When, Window, str]


def window(fact: Fact) -> Window:
    """A downtime's window without its systems (what a rescheduling moves)."""
    return Window(fact.start, fact.end)


def stated(fact: Fact) -> HistoryValue:
    """What an announcement or a restatement says the entry is: a downtime's window with
    its systems, else the entry's key date, else its school year or month."""
    if fact.kind == "downtime":
        return Window(fact.start, fact.end, fact.systems)
    key = None if fact.kind == "task" else key_date(fact)
    return key if key is not None else (fact.school_year or fact.month or "")


def value_text(value: HistoryValue | None) -> str | None:
    """A value as the JSON output spells it: ISO moments, 'START to END (SYSTEMS)' for a
    window (a missing start or end is 'None'), the word itself."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Window):
        systems = f" ({', '.join(value.systems)})" if value.systems else ""
        return f"{_iso(value.start)} to {_iso(value.end)}{systems}"
    return value.isoformat()


def to_stored(value: HistoryValue | None) -> dict[str, Any] | None:
    """The value as the entries.history column keeps it (JSON, tagged by what it is)."""
    if value is None:
        return None
    if isinstance(value, str):
        return {"word": value}
    if isinstance(value, Window):
        return {"start": _stored_when(value.start), "end": _stored_when(value.end), "systems": list(value.systems)}
    return {"when": value.isoformat()}


def from_stored(data: Any) -> HistoryValue | None:
    """Inverse of `to_stored`. Untagged text (never written since migration 0014) reads
    as a word, as it is."""
    if data is None or isinstance(data, str):
        return data
    if "when" in data:
        return parse_when(data["when"])
    if "word" in data:
        return str(data["word"])
    return Window(_when(data.get("start")), _when(data.get("end")), tuple(data.get("systems") or ()))


def _iso(value: When | None) -> str:
    return value.isoformat() if value is not None else "None"


def _stored_when(value: When | None) -> str | None:
    return value.isoformat() if value is not None else None


def _when(text: str | None) -> When | None:
    return parse_when(text) if text is not None else None


__all__ = ["HistoryValue", "Window", "from_stored", "stated", "to_stored", "value_text", "window"]
