"""The calendar as caltac-inbox wrote it through icalendar until issue 28: the reference
the streaming writer (export.ics) must match byte for byte."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Sequence

from caltac_inbox.display import printable
from caltac_inbox.export.evidence import fit
from caltac_inbox.export.ics import (CALENDAR_NAME, PRODID, UID_DOMAIN, IcsOptions, _span, description,
                                     summary)
from caltac_inbox.timeline.entry import Entry, entry_sort_key
from caltac_inbox.timeline.kinds import dated_by_notice


def icalendar_calendar(entries: Sequence[Entry], options: IcsOptions = IcsOptions(), *, now: datetime | None = None) -> bytes:
    """The whole calendar: VTIMEZONE for America/Los_Angeles, one VEVENT per dated entry."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", CALENDAR_NAME)
    cal.add("x-wr-timezone", "America/Los_Angeles")
    # Hints for subscribing clients; most refresh far less often anyway (see README).
    cal.add("refresh-interval", timedelta(hours=12), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT12H")
    stamp_default = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    timed_years: list[int] = []
    for entry in sorted(entries, key=entry_sort_key):
        if entry.kind == "task" and not options.tasks:
            continue
        event = _event(entry, options, stamp_default)
        if event is None:
            continue
        for name in ("dtstart", "dtend"):
            value = event.get(name)
            if value is not None and isinstance(value.dt, datetime):
                timed_years.append(value.dt.year)
        cal.add_component(event)
    if timed_years:
        cal.add_missing_timezones(first_date=date(min(timed_years), 1, 1), last_date=date(max(timed_years) + 1, 1, 1))
    return cal.to_ical()


def _event(entry: Entry, options: IcsOptions, stamp_default: datetime):
    import icalendar

    span = _span(entry)
    if span is None:
        return None
    start, end = span
    event = icalendar.Event()
    event.add("uid", f"{entry.uid}@{UID_DOMAIN}")
    stamp = entry.updated_at.astimezone(timezone.utc).replace(microsecond=0) if entry.updated_at else stamp_default
    event.add("dtstamp", stamp)
    if entry.updated_at:
        event.add("last-modified", stamp)
    event.add("dtstart", start)
    if end is not None:
        event.add("dtend", end)
    else:  # an instant: without DTEND or DURATION, clients (khal, Thunderbird) show a one-hour meeting
        event.add("duration", timedelta(0))
    event.add("sequence", entry.sequence)
    # RFC 5545 TEXT holds no control characters (a description keeps its line breaks)
    title = printable(summary(entry))
    event.add("summary", title)
    event.add("description", fit(printable(description(entry), multiline=True)))
    event.add("categories", [printable(c) for c in (entry.kind, *entry.program)])
    event.add("status", "CANCELLED" if entry.status == "cancelled" else "CONFIRMED")
    event.add("transp", "TRANSPARENT")  # a downtime or a due date does not make anyone busy
    alarm_before = options.alarm_downtime if entry.kind == "downtime" else options.alarm_deadline
    if alarm_before is not None and entry.status != "cancelled" and not dated_by_notice(entry.fact):
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", title)
        alarm.add("trigger", -alarm_before)
        event.add_component(alarm)
    return event
