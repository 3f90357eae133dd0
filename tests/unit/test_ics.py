"""The .ics export: golden files, round trip through icalendar, calendar rules."""
from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from caltac_inbox.export.ics import IcsOptions, calendar_ics, parse_alarm, summary
from caltac_inbox.model import Fact, parse_when
from caltac_inbox.timeline.entry import SourcedFact
from caltac_inbox.timeline.reconcile import reconcile

from tests.unit.test_reconcile import EXTENSION_SENT, UPDATE_164_SENT, fall_2016_notices, sourced

LA = ZoneInfo("America/Los_Angeles")
GOLDEN = Path(__file__).parents[1] / "golden"
UPDATED_AT = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 22, 6, 0, tzinfo=timezone.utc)


DESIGNATION_2019 = Fact(kind="designation", evidence="Designate your LEA CAASPP coordinator by July 1, 2019.",
                        program=("CAASPP",), due=date(2019, 7, 1), school_year="2019-20", defaulted=True,
                        default_designee="superintendent or charter administrator", term_end=date(2020, 6, 30))
DESIGNATION_2019_SENT = datetime(2019, 9, 3, 10, 33, tzinfo=LA)


def mixed_notices() -> list[SourcedFact]:
    """One of every kind, as the seed notices say them; the designation also as a
    forward and as an HTML copy quoting the same sentence."""
    sent_2020 = datetime(2020, 7, 15, 12, 39, tzinfo=LA)
    return fall_2016_notices() + [
        sourced(DESIGNATION_2019, DESIGNATION_2019_SENT, "<000>", "LEA CAASPP Coordinator Designation",
                unverified=True),
        sourced(DESIGNATION_2019, DESIGNATION_2019_SENT, "<000-fwd>", "LEA CAASPP Coordinator Designation",
                unverified=True, forwarded_by="mlopez@district.k12.ca.us"),
        sourced(replace(DESIGNATION_2019, evidence="Designate your LEA CAASPP coordinator by July\u00a01,  2019."),
                DESIGNATION_2019_SENT, "<000-html>", "LEA CAASPP Coordinator Designation", unverified=True),
        sourced(Fact(kind="credential", evidence="Generate credentials for your SIS vendors.",
                     program=("CAASPP", "ELPAC"), school_year="2018-19", vendors=("Vendor 1", "Vendor 2"),
                     action="generate"),
                datetime(2019, 3, 18, 14, 18, tzinfo=LA), "<003>", "SIS Vendor Credentials"),
        sourced(Fact(kind="retention", evidence="The 2017-18 student data file will be removed from TOMS.",
                     program=("CAASPP",), at=parse_when("2020-08-14T17:00:00-07:00"), data="2017-18 student data file",
                     system="TOMS", school_year="2017-18", keep_years=3),
                sent_2020, "<002>", "CAASPP: Preparing to Transition to the 2020-21 Administration"),
        sourced(Fact(kind="deadline", evidence="Set up your test administration window by December 1.",
                     program=("CAASPP",), due=date(2022, 12, 1),
                     action="set up 2022–23 CAASPP test administration window in TOMS", school_year="2022-23"),
                datetime(2022, 9, 1, 8, 0, tzinfo=LA), "<sept>", "CAASPP September Monthly"),
        sourced(Fact(kind="downtime", evidence="Systems are down November 1–4.", program=("CAASPP",),
                     start=date(2018, 11, 1), end=date(2018, 11, 4), status="scheduled"),
                datetime(2018, 8, 22, 9, 0, tzinfo=LA), "<spotlight-8>", "Spotlight 8"),
        sourced(Fact(kind="downtime", evidence="The November downtime is cancelled.", program=("CAASPP",),
                     start=date(2018, 11, 1), end=date(2018, 11, 4), status="cancelled"),
                datetime(2018, 10, 15, 9, 0, tzinfo=LA), "<spotlight-12>", "Spotlight 12"),
        sourced(Fact(kind="task", evidence="Order materials.", month="2026-11", section="November",
                     text="Order paper test materials in TOMS"),
                datetime(2026, 7, 1, 9, 0, tzinfo=LA), "<checklist>", "LEA CAASPP Coordinator Checklist 2026-27"),
    ]


def stored(entries, sequence=0):
    """What the store hands the exporter: entries with sequence and updated_at."""
    return [replace(e, sequence=sequence, updated_at=UPDATED_AT, entry_id=i + 1) for i, e in enumerate(entries)]


def normalize(ics: bytes) -> str:
    """Drop DTSTAMP and LAST-MODIFIED (the only lines allowed to differ between exports)."""
    text = ics.decode("utf-8").replace("\r\n ", "").replace("\r\n", "\n")
    return "\n".join(line for line in text.splitlines() if not re.match(r"(DTSTAMP|LAST-MODIFIED)[:;]", line)) + "\n"


def check_golden(name: str, ics: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        path.write_bytes(ics)
        if not os.environ.get("UPDATE_GOLDEN"):
            pytest.fail(f"wrote missing golden file {path}; check it and rerun")
    assert normalize(ics) == normalize(path.read_bytes())


def events(ics: bytes) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(ics)
    return {str(ev["UID"]): ev for ev in cal.walk("VEVENT")}


def test_golden_calendar():
    ics = calendar_ics(stored(reconcile(mixed_notices())), now=NOW)
    check_golden("timeline_mixed.ics", ics)


def test_golden_calendar_with_tasks_and_custom_alarms():
    options = IcsOptions(alarm_downtime=timedelta(hours=12), alarm_deadline=None, tasks=True)
    ics = calendar_ics(stored(reconcile(mixed_notices())), options, now=NOW)
    check_golden("timeline_tasks.ics", ics)


def test_same_database_exported_twice_is_identical():
    entries = stored(reconcile(mixed_notices()))
    assert calendar_ics(entries, now=NOW) == calendar_ics(entries, now=NOW + timedelta(days=3))
    fresh = reconcile(mixed_notices())  # no updated_at: DTSTAMP falls back to now
    assert normalize(calendar_ics(fresh, now=NOW)) == normalize(calendar_ics(fresh, now=NOW + timedelta(days=3)))


def test_round_trip_through_icalendar():
    ics = calendar_ics(stored(reconcile(mixed_notices())), now=NOW)
    cal = icalendar.Calendar.from_ical(ics)
    assert str(cal["PRODID"]).startswith("-//caltac-inbox//")
    assert str(cal["VERSION"]) == "2.0"
    zones = cal.walk("VTIMEZONE")
    assert [str(z["TZID"]) for z in zones] == ["America/Los_Angeles"]
    evs = cal.walk("VEVENT")
    assert len(evs) == 7  # the task is left out without --tasks
    for ev in evs:
        assert "ATTENDEE" not in ev and "ORGANIZER" not in ev
        assert str(ev["UID"]).endswith("@caltac-inbox")
        assert ev["CATEGORIES"].cats[0] in ("downtime", "designation", "credential", "retention", "deadline")
        assert "Notice: " in str(ev["DESCRIPTION"])
    downtimes = [ev for ev in evs if ev["CATEGORIES"].cats[0] == "downtime" and isinstance(ev.decoded("DTSTART"), datetime)]
    for ev in downtimes:
        assert ev["DTSTART"].params["TZID"] == "America/Los_Angeles"
        assert ev.decoded("DTEND") == datetime(2016, 9, 13, 23, 59, tzinfo=LA)
        assert [a.decoded("TRIGGER") for a in ev.walk("VALARM")] == [timedelta(days=-1)]
        assert str(ev["SUMMARY"]).startswith("CAASPP downtime (extended): ")
    designation = next(ev for ev in evs if ev["CATEGORIES"].cats[0] == "designation")
    assert designation.decoded("DTSTART") == date(2019, 7, 1)
    assert designation.decoded("DTEND") == date(2019, 7, 2)
    assert str(designation["SUMMARY"]) == "[unverified] Designate LEA CAASPP coordinator (2019-20)"
    assert [a.decoded("TRIGGER") for a in designation.walk("VALARM")] == [timedelta(days=-3)]
    retention = next(ev for ev in evs if ev["CATEGORIES"].cats[0] == "retention")
    assert str(retention["SUMMARY"]) == "Retention: 2017-18 student data file removed from TOMS"
    credential = next(ev for ev in evs if ev["CATEGORIES"].cats[0] == "credential")
    assert str(credential["SUMMARY"]) == "Generate SIS vendor credentials (2018-19)"


def test_cancelled_downtime_is_exported_cancelled_without_alarm():
    evs = events(calendar_ics(stored(reconcile(mixed_notices())), now=NOW))
    cancelled = [ev for ev in evs.values() if str(ev["STATUS"]) == "CANCELLED"]
    assert len(cancelled) == 1
    assert cancelled[0].decoded("DTSTART") == date(2018, 11, 1)
    assert cancelled[0].decoded("DTEND") == date(2018, 11, 5)  # all-day: DTEND is the day after
    assert cancelled[0].walk("VALARM") == []
    assert all(str(ev["STATUS"]) == "CONFIRMED" for ev in evs.values() if ev is not cancelled[0])


def test_date_only_end_of_a_timed_downtime_is_the_end_of_that_day():
    fact = Fact(kind="downtime", evidence="TOMS is down until September 6.", program=("CAASPP",),
                start=parse_when("2016-08-26T17:00:00-07:00"), end=date(2016, 9, 6), systems=("TOMS", "ORS"))
    ev = next(iter(events(calendar_ics(reconcile([sourced(fact, UPDATE_164_SENT, "<a>")]), now=NOW)).values()))
    assert ev.decoded("DTEND") == datetime(2016, 9, 7, 0, 0, tzinfo=LA)
    assert str(ev["SUMMARY"]) == "CAASPP downtime: TOMS, ORS"


def test_extension_updates_one_event_per_window_with_the_next_sequence():
    before = events(calendar_ics(stored(reconcile(fall_2016_notices()[:2]), sequence=0), now=NOW))
    after = events(calendar_ics(stored(reconcile(fall_2016_notices()), sequence=1), now=NOW))
    assert before.keys() == after.keys() and len(after) == 2
    for uid, ev in after.items():
        assert int(ev["SEQUENCE"]) == int(before[uid]["SEQUENCE"]) + 1
        assert ev.decoded("DTEND") == datetime(2016, 9, 13, 23, 59, tzinfo=LA)
        assert before[uid].decoded("DTEND") != ev.decoded("DTEND")
        assert "Extended Downtime of the CAASPP Systems" in str(ev["DESCRIPTION"])


def test_tasks_only_with_the_option():
    entries = stored(reconcile(mixed_notices()))
    assert not any("Checklist:" in str(ev["SUMMARY"]) for ev in events(calendar_ics(entries, now=NOW)).values())
    with_tasks = events(calendar_ics(entries, IcsOptions(tasks=True), now=NOW)).values()
    task = next(ev for ev in with_tasks if str(ev["SUMMARY"]).startswith("Checklist:"))
    assert task.decoded("DTSTART") == date(2026, 11, 1)


def test_summary_for_a_lone_extension_and_an_unnamed_window():
    lone = reconcile([sourced(Fact(kind="downtime", evidence="extended", program=("ELPAC",),
                                   end=parse_when("2016-09-13T23:59:00-07:00"), status="extended"),
                              EXTENSION_SENT, "<x>")])
    assert summary(lone[0]) == "ELPAC downtime (extended)"
    ev = next(iter(events(calendar_ics(lone, now=NOW)).values()))
    # D9: under way from the extension notice to its end, not a zero-length event at the end
    assert ev.decoded("DTSTART") == EXTENSION_SENT.astimezone(LA)
    assert ev.decoded("DTEND") == datetime(2016, 9, 13, 23, 59, tzinfo=LA) and "DURATION" not in ev


@pytest.mark.parametrize("text,expected", [
    ("1d", timedelta(days=1)), ("12h", timedelta(hours=12)), ("30m", timedelta(minutes=30)),
    ("2w", timedelta(weeks=2)), ("1d12h", timedelta(days=1, hours=12)), ("none", None), ("0", None),
])
def test_parse_alarm(text, expected):
    assert parse_alarm(text) == expected


@pytest.mark.parametrize("text", ["", "tomorrow", "1x", "1d soon"])
def test_parse_alarm_rejects_nonsense(text):
    with pytest.raises(ValueError):
        parse_alarm(text)


def test_a_sentence_quoted_by_a_notice_its_forward_and_its_html_copy_appears_once():
    evs = events(calendar_ics(stored(reconcile(mixed_notices())), now=NOW))
    designation = next(ev for ev in evs.values() if ev["CATEGORIES"].cats[0] == "designation")
    text = str(designation["DESCRIPTION"])
    assert text.count("Designate your LEA CAASPP coordinator") == 1
    assert sorted(text.splitlines()[-2:]) == [
        "Also in: another copy on 2019-09-03 10:33",
        "Also in: forward from mlopez@district.k12.ca.us on 2019-09-03 10:33",
    ]


def test_timed_instants_are_zero_length_and_dates_all_day():
    """A deadline or removal at a time is an instant (DURATION 0: khal shows 17:00-17:00);
    without DTEND or DURATION calendar clients show a one-hour meeting."""
    evs = events(calendar_ics(stored(reconcile(mixed_notices())), now=NOW))
    retention = next(ev for ev in evs.values() if ev["CATEGORIES"].cats[0] == "retention")
    assert retention.decoded("DTSTART") == datetime(2020, 8, 14, 17, 0, tzinfo=LA)
    assert retention.decoded("DURATION") == timedelta(0) and "DTEND" not in retention
    for kind in ("designation", "deadline", "credential"):  # dates only: all-day events
        ev = next(ev for ev in evs.values() if ev["CATEGORIES"].cats[0] == kind)
        assert not isinstance(ev.decoded("DTSTART"), datetime)
        assert ev.decoded("DTEND") == ev.decoded("DTSTART") + timedelta(days=1)
        assert "DURATION" not in ev
    windows = [ev for ev in evs.values() if ev["CATEGORIES"].cats[0] == "downtime"]
    assert windows and all("DURATION" not in ev and "DTEND" in ev for ev in windows)


def test_lone_extension_runs_from_its_notice_to_its_end():
    """D9 (issue 26): not a zero-length event; its description says the start is unknown."""
    lone = reconcile([sourced(Fact(kind="downtime", evidence="extended", program=("ELPAC",),
                                   end=parse_when("2016-09-13T23:59:00-07:00"), status="extended"),
                              EXTENSION_SENT, "<x>")])
    ev = next(iter(events(calendar_ics(lone, now=NOW)).values()))
    assert "DURATION" not in ev and ev.decoded("DTEND") == datetime(2016, 9, 13, 23, 59, tzinfo=LA)
    assert "Start not known" in str(ev["DESCRIPTION"])


def _description_bytes(ics: bytes) -> list[int]:
    lines = ics.decode("utf-8").replace("\r\n ", "").split("\r\n")
    return [len(line.removeprefix("DESCRIPTION:").encode("utf-8")) for line in lines
            if line.startswith("DESCRIPTION:") and "\\n" in line]


def test_description_of_a_much_repeated_notice_stays_within_4_kb():
    """A backfill: one notice 1,500 times, forwarded by many, reworded by some."""
    notices = []
    for n in range(1500):
        evidence = DESCRIPTION_2019_WORDINGS[n % len(DESCRIPTION_2019_WORDINGS)]
        notices.append(sourced(replace(DESIGNATION_2019, evidence=evidence),
                               DESIGNATION_2019_SENT + timedelta(minutes=n % 700), f"<copy-{n}>",
                               f"LEA CAASPP Coordinator Designation ({n}), with a long subject line " * 3,
                               forwarded_by=f"person{n}@district.k12.ca.us" if n % 2 else None))
    entries = stored(reconcile(notices))
    assert len(entries) == 1 and len(entries[0].notice_sources()) == 1500
    ics = calendar_ics(entries, now=NOW)
    assert _description_bytes(ics) and max(_description_bytes(ics)) <= 4096
    text = str(next(iter(events(ics).values()))["DESCRIPTION"])
    named = [line for line in text.splitlines() if line.startswith(("Notice: ", "Also in: "))]
    assert 1 <= len(named) <= 5
    assert len(ics) < 20_000


DESCRIPTION_2019_WORDINGS = [f"Designate your LEA CAASPP coordinator by July 1, 2019 (reminder {n})." for n in range(3)]


def test_description_is_cut_at_4_kb_with_a_marker():
    history_heavy = replace(DESIGNATION_2019, default_designee="superintendent " * 400)
    ics = calendar_ics(stored(reconcile([sourced(history_heavy, DESIGNATION_2019_SENT, "<a>", "Designation")])),
                       now=NOW)
    assert max(_description_bytes(ics)) <= 4096
    assert str(next(iter(events(ics).values()))["DESCRIPTION"]).endswith(
        "(shortened; `caltac-inbox show` lists every source)")
