"""Timeline entries -> an RFC 5545 calendar a coordinator can subscribe to.

Pure: entries in, bytes out (the store query picks the entries). Deterministic:
events are ordered by entry date, kind and uid, and DTSTAMP/LAST-MODIFIED come from
the entry's `updated_at` (RFC 5545 3.8.7.2: without a METHOD, DTSTAMP is when the
information was last revised in the store), so the same database exported twice
gives byte-identical files. Only entries without `updated_at` (pure reconcile results)
fall back to the `now` argument.

UID is "<entry uid>@caltac-inbox" (the entry uid is derived from the entry's identity,
never a row id), SEQUENCE is the entry's sequence, so a subscribed calendar updates
events in place. DESCRIPTION names each quoted sentence once and at most a few notices,
within 4 KB (export.evidence). Never ATTENDEE or ORGANIZER. Mail text loses its control characters
(display.printable): RFC 5545 TEXT allows none, and a terminal showing the file obeys them.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Iterator, Sequence

from caltac_inbox.display import printable
from caltac_inbox.export.evidence import fit, sources_lines
from caltac_inbox.timeline.entry import Entry, entry_sort_key
from caltac_inbox.timeline.kinds import dated_by_notice
from caltac_inbox.timeline.wording import field_value, history_sentence, title
from caltac_inbox.timeline.time import LOS_ANGELES, end_instant, instant

PRODID = "-//caltac-inbox//CalTAC notices timeline//EN"
UID_DOMAIN = "caltac-inbox"
CALENDAR_NAME = "CalTAC notices"
SUMMARY_LIMIT = 120
MAX_ALARM = timedelta(days=365)


@dataclass(frozen=True)
class IcsOptions:
    alarm_downtime: timedelta | None = timedelta(days=1)
    alarm_deadline: timedelta | None = timedelta(days=3)
    tasks: bool = False  # checklist tasks are left out unless asked for


def parse_alarm(text: str) -> timedelta | None:
    """'1d', '12h', '30m', '2w', '1d12h' -> timedelta; '0' or 'none' -> no alarm."""
    value = text.strip().lower()
    if value in ("0", "none", "off", "no"):
        return None
    parts = re.findall(r"(\d+)\s*([wdhm])", value)
    if not parts or re.sub(r"\d+\s*[wdhm]", "", value).strip():
        raise ValueError(f"alarm {text!r}: use a duration like 1d, 12h, 30m, 2w (or none)")
    too_far = ValueError(f"alarm {text!r}: at most {MAX_ALARM.days} days before the event")
    if any(len(amount.lstrip("0")) > 9 for amount, _ in parts):  # far too far, and no int() of 5,000 digits
        raise too_far
    minutes = {"w": 7 * 24 * 60, "d": 24 * 60, "h": 60, "m": 1}
    total = sum(int(amount) * minutes[u] for amount, u in parts)
    if total > MAX_ALARM // timedelta(minutes=1):
        raise too_far
    return timedelta(minutes=total)


def summary(entry: Entry) -> str:
    """What a coordinator reads in the calendar grid."""
    text = title(entry.fact, entry.status)
    if len(text) > SUMMARY_LIMIT:  # the full wording is in DESCRIPTION
        text = text[: SUMMARY_LIMIT - 1].rstrip() + "…"
    if entry.status == "cancelled":
        text = "Cancelled: " + text
    if entry.pending:
        text = "[check] " + text
    if entry.unverified:
        text = "[unverified] " + text
    return text


def description(entry: Entry) -> str:
    f = entry.fact
    lines: list[str] = []
    if entry.unverified:
        lines.append("Unverified: no source notice passed sender authentication.")
    lines.extend(pending_lines(entry))
    if f.kind == "downtime":
        lines.append(f"Systems: {', '.join(f.systems) if f.systems else 'not named'}")
        lines.extend(_unknown_start(entry))
    if f.kind == "designation" and f.defaulted:
        who = f.default_designee or "a default designee"
        until = f" until {f.term_end.isoformat()}" if f.term_end else ""
        lines.append(f"Default designation: {who}{until}.")
    if f.kind == "credential":
        if f.vendors:
            lines.append(f"Vendors: {', '.join(f.vendors)}")
        if dated_by_notice(f) and entry.reminder_date:
            lines.append("No due date given: placed on the date of the reminder notice.")
    if f.kind == "retention" and f.keep_years:
        lines.append(f"Kept for {f.keep_years} years.")
    lines.extend(told for told in map(history_sentence, entry.history) if told is not None)
    lines.extend(correction_lines(entry))
    lines.extend(sources_lines(entry.notice_sources()))
    return "\n".join(lines).strip()


def correction_lines(entry: Entry) -> list[str]:
    """What the coordinator's corrections did to the entry (timeline.corrections)."""
    lines = []
    for mark in entry.corrections:
        who = f"{mark.get('by')} on {str(mark.get('at') or '')[:10]}"
        if mark.get("action") == "done":
            lines.append(done_line(mark, who))
        elif mark.get("state") == "superseded":
            lines.append(f"Correction by {who} superseded by {mark.get('superseded_by') or 'a later notice'}.")
        elif mark.get("action") == "correct":
            before = mark.get("before") or {}
            changed = ", ".join(f"{name} (was {field_value(name, before.get(name))})"
                                for name in mark.get("fields", ()))
            lines.append(f"Corrected by {who}: {changed}.")
        elif mark.get("action") == "add":
            lines.append(f"Added by {who}" + (f": {mark['reason']}" if mark.get("reason") else "") + ".")
        elif mark.get("action") == "dismiss":
            lines.append(f"Dismissed by {who}.")
        elif mark.get("action") in ("confirm", "reject"):
            changes = "; ".join(map(str, mark.get("changes") or []))
            lines.append(f"{str(mark['action']).capitalize()}ed by {who}: {changes}.")
    return lines


def done_line(mark: dict, who: str) -> str:
    """A `done` mark: "Done (marked by ana on 2020-08-03): note." or how a notice reopened it."""
    if mark.get("state") == "superseded":
        return f"Marked done by {who}; reopened by {mark.get('superseded_by') or 'a later notice'}."
    return f"Done (marked by {who})" + (f": {mark['note']}" if mark.get("note") else "") + "."


def calendar_ics(entries: Iterable[Entry], options: IcsOptions = IcsOptions(), *, now: datetime | None = None) -> bytes:
    """The whole calendar: VTIMEZONE for America/Los_Angeles, one VEVENT per dated entry."""
    entries = sorted(entries, key=entry_sort_key)
    return b"".join(calendar_chunks(entries, options, now=now, years=timed_years(entries, options)))


def calendar_chunks(entries: Iterable[Entry], options: IcsOptions = IcsOptions(), *, now: datetime | None = None,
                    years: tuple[int, int] | None = None) -> Iterator[bytes]:
    """The calendar as it is written, a piece at a time: the head (with the VTIMEZONE
    covering `years`, the first and last year of a timed event, see `timed_years`), then
    one piece per event of `entries` (in timeline order) as it comes, then the end. Each
    event is written on its own, as pre-folded lines, so memory does not grow with the
    calendar."""
    yield _head(years)
    stamp_default = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    for entry in entries:
        event = event_lines(entry, options, stamp_default)
        if event:
            yield event
    yield b"END:VCALENDAR\r\n"


def timed_years(entries: Iterable[Entry], options: IcsOptions = IcsOptions()) -> tuple[int, int] | None:
    """The first and last year of a timed DTSTART or DTEND among the events of `entries`
    (what the VTIMEZONE must cover), or None when every event is all-day."""
    first = last = None
    for entry in entries:
        if entry.kind == "task" and not options.tasks or (span := _span(entry)) is None:
            continue
        for value in span:
            if isinstance(value, datetime):
                first = value.year if first is None else min(first, value.year)
                last = value.year if last is None else max(last, value.year)
    return (first, last) if first is not None and last is not None else None


@functools.lru_cache(maxsize=16)
def _head(years: tuple[int, int] | None) -> bytes:
    """BEGIN:VCALENDAR, its properties and the VTIMEZONE, as icalendar writes them."""
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
    if years is not None:
        # a placeholder event makes icalendar write the zone for these years
        event = icalendar.Event()
        event.add("dtstart", datetime(years[0], 7, 1, tzinfo=LOS_ANGELES))
        cal.add_component(event)
        cal.add_missing_timezones(first_date=date(years[0], 1, 1), last_date=date(years[1] + 1, 1, 1))
        cal.subcomponents = [c for c in cal.subcomponents if c.name == "VTIMEZONE"]
    text = cal.to_ical()
    end = b"END:VCALENDAR\r\n"
    assert text.endswith(end)
    return text[: -len(end)]


def calendar_entries(
    source,
    *,
    kinds: Sequence[str] = (),
    programs: Sequence[str] = (),
    from_: date | None = None,
    to: date | None = None,
    mailbox: str | None = None,
    dates_only: bool = False,
) -> Iterator[Entry]:
    """The entries a calendar shows, in timeline order, read from `source` (a Session or
    a store.light reader, as for `store.read`) as they are asked for (`source` stays open
    meanwhile): cancelled entries included (STATUS:CANCELLED), so subscribers see the
    cancellation instead of a silently vanished event. `dates_only`: what `timed_years`
    needs of them (store.read.iter_timeline_entries)."""
    from caltac_inbox.store.read import iter_timeline_entries

    return iter_timeline_entries(source, from_, to, kinds, programs, include_cancelled=True, mailbox=mailbox,
                                 dates_only=dates_only)


def calendar_stream(source, options: IcsOptions = IcsOptions(), *, now: datetime | None = None,
                    **selection: Any) -> Iterator[bytes]:
    """`calendar_ics` of `calendar_entries(source, **selection)`, a piece at a time, from
    the read query to the bytes: one pass over the entries' dates (`timed_years`, for the
    VTIMEZONE in the head), then one over the entries, each written as it is read. Memory
    stays that of one batch of entries, however long the calendar. `source` must stay
    open until the last piece."""
    years = timed_years(calendar_entries(source, dates_only=True, **selection), options)
    yield from calendar_chunks(calendar_entries(source, **selection), options, now=now, years=years)


def event_lines(entry: Entry, options: IcsOptions, stamp_default: datetime) -> bytes:
    """One VEVENT (with its VALARM), folded and escaped as RFC 5545 and icalendar have it;
    b"" for an entry with no date or a task left out."""
    if entry.kind == "task" and not options.tasks:
        return b""
    span = _span(entry)
    if span is None:
        return b""
    start, end = span
    stamp = entry.updated_at.astimezone(timezone.utc).replace(microsecond=0) if entry.updated_at else stamp_default
    stamp_text = stamp.strftime("%Y%m%dT%H%M%SZ")
    title = _escape(printable(summary(entry)))  # RFC 5545 TEXT holds no control characters
    lines = ["BEGIN:VEVENT", "SUMMARY:" + title, "DTSTART" + _when(start)]
    # an instant: without DTEND or DURATION, clients (khal, Thunderbird) show a one-hour meeting
    lines.append("DTEND" + _when(end) if end is not None else "DURATION:" + _duration(timedelta(0)))
    lines += ["DTSTAMP:" + stamp_text, f"UID:{_escape(entry.uid)}@{UID_DOMAIN}", f"SEQUENCE:{entry.sequence}",
              "CATEGORIES:" + ",".join(_escape(printable(c)) for c in (entry.kind, *entry.program)),
              "DESCRIPTION:" + _escape(fit(printable(description(entry), multiline=True)))]
    if entry.updated_at:
        lines.append("LAST-MODIFIED:" + stamp_text)
    # a downtime or a due date does not make anyone busy
    lines += ["STATUS:" + ("CANCELLED" if entry.status == "cancelled" else "CONFIRMED"), "TRANSP:TRANSPARENT"]
    alarm_before = options.alarm_downtime if entry.kind == "downtime" else options.alarm_deadline
    if alarm_before is not None and entry.status != "cancelled" and not dated_by_notice(entry.fact):
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:" + title,
                  "TRIGGER:" + _duration(-alarm_before), "END:VALARM"]
    lines.append("END:VEVENT")
    return "".join(_fold(line) + "\r\n" for line in lines).encode("utf-8")


def _escape(text: str) -> str:
    """RFC 5545 TEXT escaping, exactly as icalendar's vText (line ends become \\n)."""
    return (text.replace(r"\N", "\n").replace("\\", "\\\\").replace(";", r"\;").replace(",", r"\,")
            .replace("\r\n", r"\n").replace("\n", r"\n").replace("\r", r"\n"))


def _when(value: date | datetime) -> str:
    """";TZID=...:" + a Los Angeles time, or ";VALUE=DATE:" + a day."""
    if isinstance(value, datetime):
        return ";TZID=America/Los_Angeles:" + value.astimezone(LOS_ANGELES).strftime("%Y%m%dT%H%M%S")
    return ";VALUE=DATE:" + value.strftime("%Y%m%d")


@functools.lru_cache(maxsize=64)
def _duration(value: timedelta) -> str:
    import icalendar

    return icalendar.vDuration(value).to_ical().decode("ascii")


_FOLD = 74  # octets per folded line (icalendar's limit of 75 with the line end's first octet)


def _fold(line: str) -> str:
    """RFC 5545 folding as icalendar does it: at most 74 octets a line, continuation lines
    start with a space, and a backslash escape is never split from what it escapes."""
    if line.isascii():
        if len(line) <= _FOLD:
            return line
        chunks, rest = [], line
        while len(rest) > _FOLD:
            cut = _FOLD - 1 if rest[_FOLD - 1] in "\\^" else _FOLD
            chunks.append(rest[:cut])
            rest = rest[cut:]
        chunks.append(rest)
        return "\r\n ".join(chunks)
    data = line.encode("utf-8")
    if len(data) <= _FOLD:
        return line
    pieces, begin = [], 0
    while len(data) - begin > _FOLD:
        cut = begin + _FOLD
        while data[cut] & 0xC0 == 0x80:  # never inside a character
            cut -= 1
        if data[cut - 1] in b"\\^":
            cut -= 1
        pieces.append(data[begin:cut].decode("utf-8"))
        begin = cut
    pieces.append(data[begin:].decode("utf-8"))
    return "\r\n ".join(pieces)


def _span(entry: Entry) -> tuple[date | datetime, date | datetime | None] | None:
    """DTSTART/DTEND. Dates stay all-day (DTEND = next day); times are in Los Angeles.
    No DTEND: an instant (a deadline, a removal), written as a zero-length event at that
    time. A window whose start no stored notice gave (an extension) runs from its
    earliest notice to its end."""
    f = entry.fact
    if f.kind == "downtime":
        start, end = f.start, f.end
        if start is None:  # an extension whose window we never saw: under way from its notice to the end
            if end is None:
                return None
            if not isinstance(end, datetime):
                return end, end + timedelta(days=1)
            noticed = _earliest_notice(entry)
            return (_la(noticed), _la(end)) if noticed is not None and noticed < end else (_la(end), None)
        if not isinstance(start, datetime) and (end is None or not isinstance(end, datetime)):
            return start, (end or start) + timedelta(days=1)
        if end is None:
            return _la(instant(start)), None
        # "through September 6": the whole day
        return _la(instant(start)), _la(end) if isinstance(end, datetime) else end_instant(end)
    key = entry.key_date
    if key is None:
        return None
    if isinstance(key, datetime):
        return _la(key), None
    return key, key + timedelta(days=1)


def pending_lines(entry: Entry) -> list[str]:
    """The changes unverified notices asked of the entry: shown, not applied."""
    return [f"Check: {p.what()} (\"{p.subject or '(no subject)'}\", "
            f"{p.sent.astimezone(LOS_ANGELES).date().isoformat() if p.sent else 'undated'}); "
            "this event keeps the verified value." for p in entry.pending]


def _unknown_start(entry: Entry) -> list[str]:
    """A window whose start no stored notice gave (_span shows it from its notice): say so."""
    noticed = _earliest_notice(entry)
    if entry.fact.start is not None or not isinstance(entry.fact.end, datetime) or noticed is None:
        return []
    return [f"Start not known (the notice that announced it is not stored): shown from the notice of "
            f"{noticed.astimezone(LOS_ANGELES).date().isoformat()} that says it is under way."]


def _earliest_notice(entry: Entry) -> datetime | None:
    sent = [s.sent for s in entry.sources if s.sent is not None]
    return min(sent) if sent else None


def _la(value: datetime) -> datetime:
    return value.astimezone(LOS_ANGELES)


__all__ = ["IcsOptions", "PRODID", "calendar_chunks", "calendar_entries", "calendar_ics", "calendar_stream",
           "description",
           "event_lines", "parse_alarm", "summary", "timed_years"]
