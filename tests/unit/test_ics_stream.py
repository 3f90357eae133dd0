"""The streaming .ics writer (export.ics.calendar_chunks) writes what icalendar wrote,
byte for byte: the golden calendars, and random entries with every kind of text
(commas, backslashes at a fold, non-ASCII, control characters, long descriptions)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import icalendar
from hypothesis import given, settings
from hypothesis import strategies as st

from caltac_inbox.export.ics import IcsOptions, calendar_chunks, calendar_ics, timed_years
from caltac_inbox.model import Fact
from caltac_inbox.timeline.reconcile import reconcile
from tests.icalendar_oracle import icalendar_calendar
from tests.properties import fast_and_full
from tests.unit.test_ics import GOLDEN, LA, NOW, UPDATED_AT, mixed_notices, stored, sourced


def test_the_golden_calendars_are_written_byte_for_byte_as_before() -> None:
    entries = stored(reconcile(mixed_notices()))
    assert calendar_ics(entries, now=NOW) == icalendar_calendar(entries, now=NOW) == (
        GOLDEN / "timeline_mixed.ics").read_bytes()
    options = IcsOptions(alarm_downtime=timedelta(hours=12), alarm_deadline=timedelta(weeks=1), tasks=True)
    assert calendar_ics(entries, options, now=NOW) == icalendar_calendar(entries, options, now=NOW)


def test_the_calendar_comes_a_piece_per_event() -> None:
    entries = stored(reconcile(mixed_notices()))
    pieces = list(calendar_chunks(entries, now=NOW, years=timed_years(entries)))
    events = [p for p in pieces if p.startswith(b"BEGIN:VEVENT")]
    assert len(events) == len([e for e in entries if e.kind != "task"]) and pieces[-1] == b"END:VCALENDAR\r\n"
    assert all(p.count(b"BEGIN:VEVENT") == 1 for p in events)


texts = st.lists(st.sampled_from(list("ab ,;:\\^\"\n\r\t\x07é€😀") + ["\\N", "x" * 70]), max_size=40).map("".join)


@fast_and_full(50, 300)
def test_any_entry_is_written_as_icalendar_writes_it(max_examples: int) -> None:
    @settings(max_examples=max_examples, deadline=None)
    @given(action=texts, evidence=texts, subject=texts, timed=st.booleans(), minutes=st.integers(0, 60 * 24 * 400),
           kind=st.sampled_from(("deadline", "downtime", "retention", "credential")), sequence=st.integers(0, 9))
    def check(action: str, evidence: str, subject: str, timed: bool, minutes: int, kind: str, sequence: int) -> None:
        when = datetime(2024, 1, 1, tzinfo=LA) + timedelta(minutes=minutes)
        day = when.date() if not timed else when
        fact = {
            "deadline": Fact(kind="deadline", evidence=evidence, due=day, action=action or "x", program=("CAASPP",)),
            "downtime": Fact(kind="downtime", evidence=evidence, start=day, end=day + timedelta(days=1),
                             systems=(action or "TOMS",)),
            "retention": Fact(kind="retention", evidence=evidence, at=day, data=action or "data", system="TOMS"),
            "credential": Fact(kind="credential", evidence=evidence, school_year="2024-25", action=action or None),
        }[kind]
        entries = [replace(e, sequence=sequence, updated_at=UPDATED_AT if sequence % 2 else None)
                   for e in reconcile([sourced(fact, datetime(2023, 12, 1, 9, tzinfo=LA), "<m>", subject)])]
        written = calendar_ics(entries, now=NOW)
        assert written == icalendar_calendar(entries, now=NOW)
        icalendar.Calendar.from_ical(written)

    check()


def test_no_timed_event_no_zone() -> None:
    entries = reconcile([sourced(Fact(kind="deadline", evidence="x", due=date(2024, 5, 1), action="file"),
                                 datetime(2024, 1, 1, tzinfo=timezone.utc), "<a>", "s")])
    assert timed_years(entries) is None
    assert b"VTIMEZONE" not in calendar_ics(entries, now=NOW) == icalendar_calendar(entries, now=NOW)
