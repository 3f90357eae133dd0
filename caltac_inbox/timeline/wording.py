"""How the timeline reads: an entry's "what" and title, a value in a line, a step of an
entry's history, a moment. One home for these words, used by the tables (cli.columns),
the change lines (timeline.changes), the calendar (export.ics) and the web page (web.view).

Pure: the model, the standard library and Los Angeles time.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable

from caltac_inbox.model import Fact
from caltac_inbox.timeline.kinds import key_date
from caltac_inbox.timeline.time import LOS_ANGELES, iso

if TYPE_CHECKING:  # only annotations: a table (cli.columns) need not build the entry classes
    from caltac_inbox.timeline.entry import Change


def short_when(value: str | None) -> str:
    """A table cell of an ISO moment: '2020-08-14T17:00:00-07:00' -> '2020-08-14 17:00';
    dates unchanged, nothing blank."""
    if not value:
        return ""
    return value[:16].replace("T", " ") if len(value) > 10 else value


def short_value(value: Any) -> str:
    """A value as a line shows it: '2016-09-13T23:59:00-07:00' -> '2016-09-13 23:59'."""
    if value is None or value == "" or value == []:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(short_value(v) for v in value)
    text = str(value)
    return short_when(text) if text[4:5] == "-" and text[10:11] == "T" else text


def window_text(fact: Fact) -> str:
    return f"{iso(fact.start)} to {iso(fact.end)}"


def history_value(fact: Fact) -> str:
    """What a step of an entry's history says the entry was, or became."""
    if fact.kind == "downtime":
        return window_text(fact) + (f" ({', '.join(fact.systems)})" if fact.systems else "")
    key = None if fact.kind == "task" else key_date(fact)
    return key.isoformat() if key is not None else (fact.school_year or fact.month or "")


def what(fact: Fact) -> str:
    """The short "what" of a listing row (the date and kind have columns of their own)."""
    if fact.kind == "downtime":
        systems = ", ".join(fact.systems) or "systems"
        return f"{systems} unavailable"
    if fact.kind == "designation":
        text = "designate the LEA coordinator"
        if fact.defaulted:
            text += f" (defaulted to {fact.default_designee or 'superintendent'})"
        return text
    if fact.kind == "credential":
        vendors = ", ".join(fact.vendors)
        return f"{fact.action or 'generate'} SIS vendor credentials {fact.school_year or ''}".strip() + (
            f" ({vendors})" if vendors else "")
    if fact.kind == "retention":
        return f"{fact.data} removed" + (f" from {fact.system}" if fact.system else "")
    if fact.kind == "deadline":
        return str(fact.action or "")
    if fact.kind == "task":
        return str(fact.text or "")
    return ""


def title(fact: Fact, status: str) -> str:
    """What names an entry on its own, as a calendar event's title."""
    programs = "/".join(fact.program)
    if fact.kind == "downtime":
        text = f"{programs + ' ' if programs else ''}downtime"
        if status in ("extended", "rescheduled"):
            text += f" ({status})"
        if fact.systems:
            text += ": " + ", ".join(fact.systems)
        return text
    if fact.kind == "designation":
        return f"Designate LEA {programs or 'CAASPP'} coordinator" + (
            f" ({fact.school_year})" if fact.school_year else "")
    if fact.kind == "credential":
        verb = "Regenerate" if fact.action == "regenerate" else "Generate"
        return f"{verb} SIS vendor credentials" + (f" ({fact.school_year})" if fact.school_year else "")
    if fact.kind == "retention":
        return f"Retention: {fact.data or 'data'} removed" + (f" from {fact.system}" if fact.system else "")
    if fact.kind == "deadline":
        return f"Deadline: {fact.action}"
    if fact.kind == "task":
        return f"Checklist: {fact.text or ''}"
    return fact.kind


def readable(text: str | None, show: Callable[[date | datetime], str] | None = None, between: str = " to ") -> str:
    """A history value for reading: '2016-09-13T23:59:00-07:00' -> 'Tue 2016-09-13 23:59'
    (or `show(value)`); windows 'A to B' part by part, joined by `between`."""
    if not text:
        return "?"
    if " to " in text:
        head, _, rest = text.partition(" to ")
        return f"{readable(head, show, between)}{between}{readable(rest, show, between)}"
    try:
        value = datetime.fromisoformat(text[:25]) if len(text) > 10 else date.fromisoformat(text)
    except ValueError:
        return text
    if show is not None:
        return show(value)
    if isinstance(value, datetime):
        return value.astimezone(LOS_ANGELES).strftime("%a %Y-%m-%d %H:%M")
    return value.strftime("%a %Y-%m-%d")


def history_sentence(change: Change) -> str | None:
    """How the calendar's description tells a step that moved or cancelled the entry:
    'Extended from Tue 2016-09-06 to Tue 2016-09-13 23:59 by "Subject" (2016-09-09).';
    None for the other steps (announced, restated)."""
    if change.change not in ("extended", "rescheduled", "cancelled", "reinstated"):
        return None
    sent = change.at.astimezone(LOS_ANGELES).date().isoformat() if change.at else "undated"
    moved = f" from {readable(change.before)} to {readable(change.after)}" if change.change != "cancelled" else ""
    return f"{change.change.capitalize()}{moved} by \"{change.subject or '(no subject)'}\" ({sent})."


def history_row(step: dict[str, Any]) -> str:
    """How `show` lists a step of an entry's history (its JSON): 'extended: A -> B'."""
    return f"{step.get('change')}" + (f": {step.get('from')} -> {step.get('to')}" if step.get("from") else "")


def history_line(change: Change) -> str:
    """'Sep 9, 2016: extended from Tue, Sep 6, 2016 to Tue, Sep 13, 2016, 11:59 p.m. — "Subject"'."""
    when = moment(change.at.astimezone(LOS_ANGELES).date()) if change.at else "undated"
    text = f"{when}: {change.change}"
    if change.before and change.change != "cancelled":
        text += f" from {readable(change.before, moment, ' – ')} to {readable(change.after, moment, ' – ')}"
    elif change.after and change.change == "announced":
        text += f" for {readable(change.after, moment, ' – ')}"
    return text + f" — \u201c{change.subject or '(no subject)'}\u201d"


def moment(value: date | datetime | None) -> str:
    if value is None:
        return "?"
    if isinstance(value, datetime):
        local = value.astimezone(LOS_ANGELES)
        hour = local.hour % 12 or 12
        return f"{day_text(local.date())}, {hour}:{local.minute:02d} {'a.m.' if local.hour < 12 else 'p.m.'}"
    return day_text(value)


def day_text(day: date) -> str:
    return f"{day.strftime('%a')}, {day.strftime('%b')} {day.day}, {day.year}"


__all__ = ["day_text", "history_line", "history_row", "history_sentence", "history_value", "moment", "readable",
           "short_value", "short_when", "title", "what", "window_text"]
