"""The calendar is written from the read query to the bytes, a batch of entries at a time
(export.ics.calendar_stream, store.read.iter_timeline_entries), and gives the bytes the
whole-list writer gives (calendar_ics over store.read.timeline_entries)."""
from __future__ import annotations

import threading
from datetime import date
from typing import Any, Iterator

import pytest

from caltac_inbox.export.ics import IcsOptions, calendar_ics, calendar_stream
from caltac_inbox.model import RawMessage
from caltac_inbox.pipeline import ingest
from caltac_inbox.store import light, open_reader, read
from tests.fakes import fake_classify, fake_parse, make_eml

FAKES = dict(parser=fake_parse, classifier=fake_classify)


def _facts(i: int) -> list[dict[str, Any]]:
    """Facts that tie on a key date (several per day and kind), timed and all-day windows,
    extensions whose start no notice gave, cancellations, programs."""
    day = date(2019 + i % 3, 1 + i % 12, 1 + (i * 7) % 27)
    program = ["CAASPP", "ELPAC", ["CAASPP", "ELPAC"], []][i % 4]
    out: list[dict[str, Any]] = [
        {"kind": "designation", "program": program, "due": day.isoformat(), "evidence": f"Designate {i}.",
         "school_year": f"{2019 + i % 3}-{20 + i % 3}"},
        {"kind": "retention", "program": program or "ELPAC", "at": f"{day.isoformat()}T17:00:00-07:00",
         "data": f"data file {i % 5}", "evidence": f"Removed {i}."},
    ]
    if i % 3 == 0:
        out.append({"kind": "downtime", "program": program or "CAASPP", "start": f"{day.isoformat()}T17:00:00-07:00",
                    "end": f"{day.replace(day=28).isoformat()}", "systems": ["TOMS"], "evidence": f"Down {i}."})
    if i % 3 == 1:
        out.append({"kind": "downtime", "program": "CAASPP", "start": day.isoformat(), "end": day.isoformat(),
                    "systems": ["ORS"], "evidence": f"Down all day {i}.",
                    "status": "cancelled" if i % 2 else "scheduled"})
    if i % 5 == 2:
        out.append({"kind": "downtime", "program": "CAASPP", "end": f"{day.replace(day=28).isoformat()}T23:59:00-07:00",
                    "systems": ["TDS"], "status": "extended", "evidence": f"Extended {i}."})
    return out


@pytest.fixture
def filled(store: Any) -> Any:
    ingest(store, [RawMessage(make_eml(message_id=f"<s{i}@x>", sent=f"2019-0{1 + i % 9}-0{1 + i % 8}T09:00:00-07:00",
                                      facts=_facts(i), auth="dkim=pass" if i % 4 else None), f"s{i}.eml")
                  for i in range(40)], **FAKES)
    return store


SELECTIONS: list[dict[str, Any]] = [
    {}, {"kinds": ["downtime"]}, {"programs": ["ELPAC"]}, {"from_": date(2020, 3, 1)},
    {"from_": date(2019, 5, 1), "to": date(2020, 6, 30), "kinds": ["designation", "retention"]},
]


@pytest.mark.parametrize("batch", [2, 3, 500])
def test_the_streamed_calendar_is_the_whole_list_calendar(filled, monkeypatch, batch):
    monkeypatch.setattr(read, "ID_CHUNK", batch)  # batches end inside runs of one key date
    with filled.session(readonly=True) as s:
        for selection in SELECTIONS:
            for options in (IcsOptions(), IcsOptions(tasks=True, alarm_downtime=None)):
                whole = calendar_ics(read.timeline_entries(
                    s, selection.get("from_"), selection.get("to"), selection.get("kinds", ()),
                    selection.get("programs", ()), include_cancelled=True), options)
                assert whole.count(b"BEGIN:VEVENT") > (0 if selection.get("programs") else 5)
                assert b"".join(calendar_stream(s, options, **selection)) == whole, selection


@pytest.mark.parametrize("driver", ["libpq", "psycopg"])
def test_the_light_readers_stream_the_calendar_of_the_store(filled, db_url, monkeypatch, driver):
    """On store.light's readers (sqlite3; on PostgreSQL a server-side cursor of store.libpq or
    of psycopg, whichever `driver`), batches ending inside runs of one key date."""
    if driver == "psycopg" and db_url.startswith("sqlite"):
        pytest.skip("the PostgreSQL drivers only")
    monkeypatch.setenv(light.DRIVER_VARIABLE, driver)
    monkeypatch.setattr(read, "ID_CHUNK", 3)
    with filled.session(readonly=True) as s:
        wholes = [calendar_ics(read.timeline_entries(
            s, selection.get("from_"), selection.get("to"), selection.get("kinds", ()),
            selection.get("programs", ()), include_cancelled=True), IcsOptions(tasks=True))
            for selection in SELECTIONS]
    with open_reader(db_url) as reader, reader.snapshot() as source:
        assert reader.light
        if isinstance(source, read.PostgresSource):
            assert source.libpq is (driver == "libpq")
        for selection, whole in zip(SELECTIONS, wholes, strict=True):
            assert b"".join(calendar_stream(source, IcsOptions(tasks=True), **selection)) == whole, selection


def test_events_are_written_before_the_later_entries_are_read(filled, monkeypatch):
    monkeypatch.setattr(read, "ID_CHUNK", 4)
    with filled.session(readonly=True) as s:
        total = len(read.timeline_entries(s, include_cancelled=True))
    built: list[int] = []
    to_entries = read._to_entries

    def counting(source: Any, found: Any, *, dates_only: bool = False) -> Any:
        if not dates_only:
            built.append(len(found))
        return to_entries(source, found, dates_only=dates_only)

    monkeypatch.setattr(read, "_to_entries", counting)
    with filled.session(readonly=True) as s:
        pieces = calendar_stream(s)
        head, first_event = next(pieces), next(pieces)
        assert head.startswith(b"BEGIN:VCALENDAR") and first_event.startswith(b"BEGIN:VEVENT")
        assert 0 < sum(built) <= 8 < total  # one batch (and the next, for a run of one key date)
        rest = list(pieces)
    assert sum(built) == total and rest[-1] == b"END:VCALENDAR\r\n"


def test_a_shared_render_writes_on_its_own_and_hands_a_failure_to_every_client():
    from caltac_inbox.web.app import SharedRender
    from caltac_inbox.web.http import FeedValidators

    gate = threading.Event()
    closed = threading.Event()

    def pieces() -> Iterator[bytes]:
        try:
            yield b"one"
            yield b"two"
            gate.wait(10)
            raise RuntimeError("the database went away")
        finally:
            closed.set()

    shared = SharedRender(FeedValidators.__new__(FeedValidators), pieces())
    clients = [shared.stream(), shared.stream()]
    assert [next(c) for c in clients] == [b"one", b"one"]
    assert not shared.done
    gate.set()
    assert closed.wait(10)  # written to the end with no client reading: the snapshot closes
    for client in clients:
        assert next(client) == b"two"
        with pytest.raises(RuntimeError, match="went away"):
            next(client)
    assert not shared.done  # a failed render is not served whole
