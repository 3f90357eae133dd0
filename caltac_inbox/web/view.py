"""The web timeline's page model: timeline entries grouped by week, downtime windows as
bars across the days of each week, every entry with its evidence, sources and history.

Pure: `timeline.entry.Entry` objects (as store.read.timeline_entries reads them) in,
frozen dataclasses out, for the templates to print. Weeks start on Sunday, as US
calendars do; every day and time is in America/Los_Angeles.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Sequence

from caltac_inbox.export.ics import correction_lines, readable, summary
from caltac_inbox.timeline.entry import Change, Entry, SourceRef
from caltac_inbox.timeline.time import LOS_ANGELES

ONE_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class SourceView:
    subject: str
    sent: str
    message_id: str
    forwarded_by: str | None
    evidence: str
    unverified: bool
    message_pk: int | None = None  # the archived message: /notice/<message_pk> shows it


@dataclass(frozen=True)
class EntryView:
    anchor: str  # the HTML id the week's bars link to
    id: int | None
    uid: str
    kind: str
    title: str
    when: str
    programs: str
    status: str
    unverified: bool
    needs_review: bool
    began_earlier: bool  # a window already open when the shown range starts
    evidence: str
    sources: tuple[SourceView, ...]
    history: tuple[str, ...]
    marks: tuple[str, ...] = ()  # what the coordinator's corrections did: corrected, added, superseded
    pending: tuple[str, ...] = ()  # "cancelled by an unverified notice: check": held, not applied
    corrections: tuple[str, ...] = ()  # one line each, as in the .ics DESCRIPTION


@dataclass(frozen=True)
class Bar:
    """A downtime's days within one week: grid columns `column` .. `column + span - 1`."""

    anchor: str
    label: str
    when: str
    column: int  # 1 = Sunday
    span: int
    continued: bool  # began in an earlier week
    continues: bool  # goes on into the next week


@dataclass(frozen=True)
class Day:
    day: date
    weekday: str  # "Sun"
    label: str  # "Aug 9"


@dataclass(frozen=True)
class Week:
    start: date
    heading: str
    days: tuple[Day, ...]
    bars: tuple[Bar, ...]
    entries: tuple[EntryView, ...]


def week_start(day: date) -> date:
    """The Sunday on or before `day`."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def build_weeks(entries: Sequence[Entry], lower: datetime, upper: datetime) -> tuple[Week, ...]:
    """The weeks of [lower, upper) that have an entry or a downtime day, in order. An
    entry is listed in the week it starts (or the first week, when it began earlier);
    a downtime also draws a bar in every week of the range it covers."""
    first_day = lower.astimezone(LOS_ANGELES).date()
    last_day = (upper - ONE_INSTANT).astimezone(LOS_ANGELES).date()
    listed: dict[date, list[EntryView]] = {}
    bars: dict[date, list[Bar]] = {}
    for entry in entries:
        span = entry.span()
        if span is None:
            continue
        first, after = span
        began_earlier = first < lower
        view = entry_view(entry, began_earlier)
        anchor_day = max(first, lower).astimezone(LOS_ANGELES).date()
        listed.setdefault(week_start(anchor_day), []).append(view)
        if entry.kind == "downtime":
            start_day = max(first.astimezone(LOS_ANGELES).date(), first_day)
            end_day = min((after - ONE_INSTANT).astimezone(LOS_ANGELES).date(), last_day)
            for week, bar in downtime_bars(view, start_day, end_day, first.astimezone(LOS_ANGELES).date(),
                                           (after - ONE_INSTANT).astimezone(LOS_ANGELES).date()):
                bars.setdefault(week, []).append(bar)
    return tuple(
        Week(start=start, heading=f"Week of {_day_text(start)}", days=_days(start),
             bars=tuple(bars.get(start, ())), entries=tuple(listed.get(start, ())))
        for start in sorted(set(listed) | set(bars))
    )


def downtime_bars(view: EntryView, start_day: date, end_day: date, true_start: date,
                  true_end: date) -> list[tuple[date, Bar]]:
    """One bar per week from `start_day` to `end_day` (the shown part of a window that
    really runs `true_start` .. `true_end`)."""
    out: list[tuple[date, Bar]] = []
    week = week_start(start_day)
    while week <= end_day:
        first = max(start_day, week)
        last = min(end_day, week + timedelta(days=6))
        out.append((week, Bar(anchor=view.anchor, label=view.title, when=view.when,
                              column=(first - week).days + 1, span=(last - first).days + 1,
                              continued=first > true_start, continues=last < true_end)))
        week += timedelta(days=7)
    return out


def entry_view(entry: Entry, began_earlier: bool = False) -> EntryView:
    f = entry.fact
    return EntryView(
        anchor=f"entry-{entry.entry_id if entry.entry_id is not None else entry.uid}",
        id=entry.entry_id,
        uid=entry.uid,
        kind=entry.kind,
        title=summary(replace(entry, unverified=False)),  # unverified is a flag of its own on the page
        when=when_text(entry),
        programs=", ".join(entry.program),
        status=entry.status,
        unverified=entry.unverified,
        needs_review=entry.needs_review,
        began_earlier=began_earlier,
        evidence=f.evidence,
        sources=tuple(source_view(s) for s in entry.sources),
        history=tuple(history_text(c) for c in entry.history),
        marks=correction_marks(entry),
        pending=tuple(p.note() for p in entry.pending),
        corrections=tuple(correction_lines(entry)),
    )


def correction_marks(entry: Entry) -> tuple[str, ...]:
    """The flags a corrected entry carries on the page ("dismissed" is its status)."""
    active = {m.get("action") for m in entry.corrections if m.get("state") == "active"}
    marks = [word for action, word in (("correct", "corrected"), ("add", "added by hand"), ("confirm", "confirmed"),
                                       ("reject", "rejected")) if action in active]
    if entry.done:
        marks.insert(0, "done")
    if any(m.get("state") == "superseded" and m.get("action") != "done" for m in entry.corrections):
        marks.append("correction superseded")
    if not entry.done and any(m.get("state") == "superseded" and m.get("action") == "done" for m in entry.corrections):
        marks.append("reopened")
    return tuple(marks)


def source_view(source: SourceRef) -> SourceView:
    return SourceView(subject=source.subject or "(no subject)", sent=moment(source.sent) if source.sent else "undated",
                      message_id=source.message_id or "", forwarded_by=source.forwarded_by,
                      evidence=source.evidence, unverified=source.unverified, message_pk=source.message_pk)


def when_text(entry: Entry) -> str:
    """'Fri, Aug 14, 2020, 5:00 p.m. – Thu, Aug 20, 2020, 8:00 a.m.', 'Wed, Jul 1, 2020',
    'November 2026'."""
    f = entry.fact
    if f.kind == "downtime" and (f.start is not None or f.end is not None):
        if f.start is None:
            return f"until {moment(f.end)}"
        return moment(f.start) + (f" – {moment(f.end)}" if f.end is not None else "")
    if f.kind == "task" and f.month:
        return date.fromisoformat(f.month + "-01").strftime("%B %Y")
    key = entry.key_date
    return moment(key) if key is not None else "undated"


def history_text(change: Change) -> str:
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
        return f"{_day_text(local.date())}, {hour}:{local.minute:02d} {'a.m.' if local.hour < 12 else 'p.m.'}"
    return _day_text(value)


def _day_text(day: date) -> str:
    return f"{day.strftime('%a')}, {day.strftime('%b')} {day.day}, {day.year}"


def _days(start: date) -> tuple[Day, ...]:
    days = [start + timedelta(days=i) for i in range(7)]
    return tuple(Day(day=d, weekday=d.strftime("%a"), label=f"{d.strftime('%b')} {d.day}") for d in days)


__all__ = ["Bar", "Day", "EntryView", "SourceView", "Week", "build_weeks", "entry_view", "moment", "week_start",
           "when_text"]
