"""An entry's history keeps values, not text (timeline.history): reconcile makes them,
the store keeps them tagged, and the readers (the page, the calendar, the JSON) render
them. A value whose text holds " to " (a system named "Path to Proficiency", a field
value quoting a range) reads as it is: no reader splits a rendered value apart again."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from caltac_inbox.export.ics import correction_lines
from caltac_inbox.model import Fact
from caltac_inbox.timeline import history, wording
from caltac_inbox.timeline.entry import Change, Entry, SourcedFact
from caltac_inbox.timeline.history import Window
from caltac_inbox.timeline.reconcile import reconcile
from caltac_inbox.timeline.time import LOS_ANGELES as LA
from caltac_inbox.web.view import entry_view

SENT = datetime(2016, 9, 9, 17, 11, tzinfo=LA)
END = datetime(2016, 9, 13, 23, 59, tzinfo=LA)
SYSTEMS = ("TOMS", "Path to Proficiency")


def _announced(end: date | datetime) -> Entry:
    fact = Fact("downtime", "The systems are unavailable.", program=("CAASPP",), start=date(2016, 9, 6), end=end,
                systems=SYSTEMS)
    [entry] = reconcile([SourcedFact(fact, message_id="<a@cde>", subject="Downtime", sent=SENT)])
    return entry


def test_a_system_named_with_to_stays_whole_on_the_page_after_a_time():
    entry = _announced(END)
    assert entry.history[0].after == Window(date(2016, 9, 6), END, SYSTEMS)
    # the split text read 'Tue, Sep 13, 2016, 11:59 p.m. – Proficiency)': half a system name as a window's end
    assert entry_view(entry).history == (
        "Fri, Sep 9, 2016: announced for Tue, Sep 6, 2016 – Tue, Sep 13, 2016, 11:59 p.m. — \u201cDowntime\u201d",)


def test_a_system_named_with_to_stays_whole_on_the_page_after_a_day():
    # the split text read '2016-09-13 (TOMS, Path – Proficiency)'
    assert entry_view(_announced(date(2016, 9, 13))).history == (
        "Fri, Sep 9, 2016: announced for Tue, Sep 6, 2016 – 2016-09-13 (TOMS, Path to Proficiency)"
        " — \u201cDowntime\u201d",)


def test_the_json_spells_a_step_as_it_always_has():
    step = _announced(END).history[0].to_json()
    assert step["from"] is None
    assert step["to"] == "2016-09-06 to 2016-09-13T23:59:00-07:00 (TOMS, Path to Proficiency)"


def test_a_corrected_value_quoting_a_range_is_not_taken_for_dates():
    fact = Fact("retention", "", at=date(2016, 9, 30), data="2016-09-13 to 2016-09-20 results")
    mark = {"action": "correct", "by": "ana", "at": "2016-10-01T09:00:00-07:00", "state": "active",
            "fields": ["data", "at", "systems"],
            "before": {"data": "2016-09-13 to 2016-09-20 results", "at": "2016-09-13T23:59:00-07:00", "systems": []}}
    entry = Entry(uid="r", fact=fact, status="scheduled", sources=(), history=(), corrections=(mark,))
    # the split text read 'data (was Tue 2016-09-13 to 2016-09-20 results)'
    assert correction_lines(entry) == ["Corrected by ana on 2016-10-01: data (was 2016-09-13 to 2016-09-20 results), "
                                       "at (was Tue 2016-09-13 23:59), systems (was ?)."]


@pytest.mark.parametrize("value", [
    None, "", "scheduled", "2026-27", date(2016, 9, 6), END,
    Window(None, END, ("TOMS", "Path to Proficiency")), Window(date(2016, 9, 6), None), Window(date(2016, 9, 6), END),
])
def test_a_stored_value_reads_back_as_the_same_value(value):
    change = Change(SENT, "restated", value, value, "<a@cde>", "Downtime")
    stored = json.loads(json.dumps(change.to_stored()))  # what the JSON column gives back
    assert Change.from_stored(stored) == change
    assert stored["to"] == history.to_stored(value) and stored == change.to_stored()  # lists, as JSON has them


def test_untagged_text_reads_as_it_is_never_split():
    assert history.from_stored("2016-09-06 to 2016-09-13 (Path to Proficiency)") == (
        "2016-09-06 to 2016-09-13 (Path to Proficiency)")
    assert history.from_stored({"word": "when"}) == "when"  # a tag's name as a word is still a word


def test_the_words_a_reader_sees():
    window = Window(None, END, ("TOMS",))
    assert history.value_text(window) == "None to 2016-09-13T23:59:00-07:00 (TOMS)"
    assert wording.readable(window) == "None to Tue 2016-09-13 23:59"
    assert wording.readable(Window(date(2016, 9, 6), END), wording.moment, " – ") == (
        "Tue, Sep 6, 2016 – Tue, Sep 13, 2016, 11:59 p.m.")
    assert wording.readable(date(2016, 9, 6)) == "Tue 2016-09-06"
    assert wording.readable("cancelled") == "cancelled"
    assert wording.readable(None) == wording.readable("") == "?"
    moved = Change(SENT, "rescheduled", Window(date(2016, 9, 6), date(2016, 9, 7)),
                   Window(date(2016, 9, 13), END), "<a@cde>", "Moved")
    assert wording.history_sentence(moved) == (
        'Rescheduled from Tue 2016-09-06 to Wed 2016-09-07 to Tue 2016-09-13 to Tue 2016-09-13 23:59 by "Moved" '
        "(2016-09-09).")
