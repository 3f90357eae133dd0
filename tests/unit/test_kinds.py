"""What each kind of fact means (timeline.kinds) and Los Angeles time (timeline.time):
the one place the store, the replay, the queries and the exports take it from."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from caltac_inbox.model import Fact
from caltac_inbox.timeline import history, kinds, wording
from caltac_inbox.timeline.entry import Entry, entry_sort_key
from caltac_inbox.timeline.time import LOS_ANGELES, after, end_instant, instant, local_date

EVENING = datetime(2020, 8, 14, 17, tzinfo=LOS_ANGELES)


def test_a_date_is_a_day_in_los_angeles():
    assert instant(date(2020, 7, 1)) == datetime(2020, 7, 1, tzinfo=LOS_ANGELES)
    assert instant(EVENING) is EVENING
    assert instant(datetime(2020, 7, 1, 9)) == datetime(2020, 7, 1, 9, tzinfo=LOS_ANGELES)  # naive: wall time
    assert end_instant(date(2020, 9, 6)) == datetime(2020, 9, 7, tzinfo=LOS_ANGELES)  # the whole day
    assert after(EVENING) == EVENING + timedelta(microseconds=1)
    assert local_date(datetime(2020, 8, 15, 2, tzinfo=timezone.utc)) == date(2020, 8, 14)


def test_key_date_per_kind():
    assert kinds.key_date(Fact("downtime", "", start=EVENING, end=date(2020, 8, 20))) == EVENING
    assert kinds.key_date(Fact("downtime", "", end=date(2020, 8, 20), status="extended")) == date(2020, 8, 20)
    assert kinds.key_date(Fact("designation", "", due=date(2020, 7, 1))) == date(2020, 7, 1)
    assert kinds.key_date(Fact("retention", "", at=EVENING, data="file")) == EVENING
    assert kinds.key_date(Fact("task", "", month="2026-11", section="S", text="T")) == date(2026, 11, 1)
    assert kinds.key_date(Fact("task", "", section="S", text="T")) is None
    reminder = Fact("credential", "", school_year="2020-21")
    assert kinds.key_date(reminder) is None and kinds.dated_by_notice(reminder)


def test_spans():
    november = Fact("task", "", month="2026-11", section="S", text="T")
    assert kinds.span(november, kinds.key_date(november)) == (datetime(2026, 11, 1, tzinfo=LOS_ANGELES),
                                                             datetime(2026, 12, 1, tzinfo=LOS_ANGELES))
    window = Fact("downtime", "", start=EVENING, end=date(2020, 8, 20))
    assert kinds.span(window, EVENING) == (EVENING, datetime(2020, 8, 21, tzinfo=LOS_ANGELES))
    assert kinds.span(Fact("credential", "", school_year="2020-21"), None) is None


def test_identity_is_what_a_fact_states():
    task = Fact("task", "one", month="2026-11", section="S", text="T", position=3)
    same = task.with_changes(evidence="two", position=9, needs_review=True, unverified=True)
    assert kinds.fact_identity(task) == kinds.fact_identity(same)
    assert kinds.fact_identity(task) != kinds.fact_identity(task.with_changes(text="U"))
    assert kinds.same_thing(task, same)


def test_tasks_of_a_month_sort_by_their_place_in_the_checklist():
    def entry(position: int, uid: str) -> Entry:
        fact = Fact("task", "", month="2026-11", section="S", text=uid, position=position)
        return Entry(uid=uid, fact=fact, status="scheduled", sources=(), history=())

    entries = [entry(3, "task-a"), entry(1, "task-z"), entry(2, "task-m")]
    assert [e.uid for e in sorted(entries, key=entry_sort_key)] == ["task-z", "task-m", "task-a"]


def test_the_words_for_a_listing_and_for_a_calendar():
    window = Fact("downtime", "", program=("CAASPP",), start=EVENING, systems=("TOMS", "CERS"))
    assert wording.what(window) == "TOMS, CERS unavailable"
    assert wording.title(window, "extended") == "CAASPP downtime (extended): TOMS, CERS"
    designation = Fact("designation", "", due=date(2020, 7, 1), school_year="2020-21", defaulted=True)
    assert wording.what(designation) == "designate the LEA coordinator (defaulted to superintendent)"
    assert wording.title(designation, "scheduled") == "Designate LEA CAASPP coordinator (2020-21)"
    assert history.stated(Fact("task", "", month="2026-11", school_year="2026-27")) == "2026-27"
