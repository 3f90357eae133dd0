"""The calendar's dates pass (export.ics.calendar_stream: `timed_years` over
store.read.iter_timeline_entries(..., dates_only=True)) reads each fact's date fields from
its JSON in SQL, on SQLite (json_extract) and PostgreSQL (->>), through the store's
session and the light readers alike, and gives what the full entries give: the same
entries, key dates and calendar spans, hence the VTIMEZONE's years."""
from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from caltac_inbox.export import ics
from caltac_inbox.model import Fact, RawMessage
from caltac_inbox.pipeline import ingest
from caltac_inbox.store import open_reader, read
from caltac_inbox.store.writer import open_store
from tests.fakes import fake_classify, fake_parse, make_eml
from tests.system.test_ics_streaming import SELECTIONS, _facts

EDGES: list[dict[str, Any]] = [  # LA and UTC years apart, a reminder without due date, an instant window
    {"kind": "retention", "program": "CAASPP", "at": "2017-12-31T23:30:00-08:00", "data": "scores",
     "evidence": "Removed on New Year's Eve."},
    {"kind": "downtime", "program": "ELPAC", "end": "2024-01-01T00:30:00-08:00", "systems": ["TOMS"],
     "status": "extended", "evidence": "Extended past midnight."},
    {"kind": "downtime", "program": "ELPAC", "start": "2025-12-31T22:00:00-08:00", "systems": ["ORS"],
     "evidence": "Down from 10 p.m."},
    {"kind": "downtime", "program": "ELPAC", "start": "2026-03-02", "end": "2026-03-03T08:00:00-08:00",
     "systems": ["TDS"], "evidence": "Down through 8 a.m."},
    {"kind": "credential", "program": "CAASPP", "school_year": "2020-21", "vendors": ["A"],
     "evidence": "Generate credentials."},
]


@pytest.fixture
def url(db_url: str) -> Any:
    store = open_store(db_url)
    try:
        ingest(store, [RawMessage(make_eml(message_id=f"<d{i}@x>", sent=f"2019-0{1 + i % 9}-0{1 + i % 8}T09:00:00-07:00",
                                          facts=_facts(i) + (EDGES if i == 7 else []),
                                          auth="dkim=pass" if i % 4 else None), f"d{i}.eml")
                      for i in range(30)], parser=fake_parse, classifier=fake_classify)
    finally:
        store.close()
    return db_url


def _entries(source: Any, dates_only: bool, selection: dict[str, Any]) -> list[Any]:
    return list(read.iter_timeline_entries(source, selection.get("from_"), selection.get("to"),
                                           selection.get("kinds", ()), selection.get("programs", ()),
                                           include_cancelled=True, dates_only=dates_only))


def _compare(source: Any) -> None:
    for selection in SELECTIONS:
        full, dated = _entries(source, False, selection), _entries(source, True, selection)
        assert full, selection
        assert sorted(e.uid for e in dated) == sorted(e.uid for e in full), selection
        by_uid = {e.uid: e for e in full}
        for entry in dated:
            whole = by_uid[entry.uid]
            assert (entry.kind, entry.status, entry.key_date, ics._span(entry)) == \
                (whole.kind, whole.status, whole.key_date, ics._span(whole)), (selection, entry.uid)
        for options in (ics.IcsOptions(), ics.IcsOptions(tasks=True)):
            assert ics.timed_years(dated, options) == ics.timed_years(full, options), selection
        assert ics.timed_years(_entries(source, True, {})) == (2017, 2026)


def test_the_dates_pass_gives_what_the_full_entries_give(url, monkeypatch):
    def no_json(cls: Any, data: Any) -> Any:
        raise AssertionError("the dates pass parsed a fact's JSON")

    real = Fact.from_json
    with open_reader(url) as reader, reader.snapshot() as light:
        assert isinstance(light, (sqlite3.Connection, read.PostgresSource))  # the light reader of each backend
        monkeypatch.setattr(Fact, "from_json", classmethod(lambda cls, data: real(data)))
        _compare(light)
    store = open_store(url)
    try:
        with store.session(readonly=True) as session:
            _compare(session)
            monkeypatch.setattr(Fact, "from_json", classmethod(no_json))
            assert ics.timed_years(_entries(session, True, {})) == (2017, 2026)
    finally:
        store.close()


def test_the_streamed_calendar_still_has_the_zone_of_those_years(url):
    with open_reader(url) as reader, reader.snapshot() as light:
        entries = read.timeline_entries(light, include_cancelled=True)
        assert b"".join(ics.calendar_stream(light)) == ics.calendar_ics(entries)
    assert b"TZID:America/Los_Angeles" in ics.calendar_ics(entries)
