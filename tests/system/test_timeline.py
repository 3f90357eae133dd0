"""The timeline through the store: refresh, sequence bumps, queries, .ics export."""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from tests.fakes import fake_classify, fake_parse, make_eml
from caltac_inbox.model import Notice, RawMessage
from caltac_inbox import pipeline
from tests import queries

LA = ZoneInfo("America/Los_Angeles")

TOMS_WINDOW = {"kind": "downtime", "program": "CAASPP", "start": "2016-08-26T17:00:00-07:00", "end": "2016-09-06",
               "systems": ["TOMS", "ORS", "CSS"], "status": "scheduled", "school_year": "2016-17",
               "evidence": "TOMS, ORS and CSS will be unavailable until September 6."}
TDS_WINDOW = {"kind": "downtime", "program": "CAASPP", "start": "2016-08-26T17:00:00-07:00",
              "end": "2016-09-11T23:59:00-07:00", "systems": ["TDS", "TAI", "ARMS", "IAVS", "IAHSS"],
              "status": "scheduled", "school_year": "2016-17",
              "evidence": "Friday, August 26 at 5 p.m. through Sunday, September 11 at 11:59 p.m."}
EXTENSION = {"kind": "downtime", "program": "CAASPP", "start": None, "end": "2016-09-13T23:59:00-07:00",
             "systems": ["TOMS", "ORS", "TDS", "TAI", "ARMS", "IAVS", "IAHSS"], "status": "extended",
             "evidence": "we extended the downtime period through 11:59 p.m. on Tuesday, September 13, 2016."}
DESIGNATION = {"kind": "designation", "program": "CAASPP", "due": "2016-10-03", "school_year": "2016-17",
               "evidence": "Designate your coordinator by October 3."}
WINTER = {"kind": "downtime", "program": "CAASPP", "start": "2016-12-22", "end": "2017-01-02", "systems": [],
          "status": "scheduled", "evidence": "Systems are down over the winter break."}
WINTER_CANCELLED = dict(WINTER, status="cancelled", evidence="The winter downtime will not take place.")

UPDATE_164 = make_eml(subject="CDE Update 164", facts=[TOMS_WINDOW, TDS_WINDOW], message_id="<164@cde>",
                      sent="2016-07-27T09:00:00-07:00")
EXTENDED = make_eml(subject="Extended Downtime of the CAASPP Systems", facts=[EXTENSION], message_id="<ext@ets>",
                    sent="2016-09-09T17:11:00-07:00")
FORWARD_164 = make_eml(subject="CDE Update 164", facts=[TDS_WINDOW], message_id="<164@cde>",
                       sent="2016-07-27T09:00:00-07:00", body="FYI from a colleague")
OTHER = make_eml(subject="Fall reminders", facts=[DESIGNATION, WINTER], message_id="<fall@ets>",
                 sent="2016-09-01T08:00:00-07:00")
CANCEL = make_eml(subject="Winter downtime cancelled", facts=[WINTER_CANCELLED], message_id="<cancel@ets>",
                  sent="2016-11-15T08:00:00-07:00")


def verified_parse(raw: bytes, source: str) -> Notice:
    """fake_parse of a notice whose sender our receiving server authenticated."""
    return replace(fake_parse(raw, source), authenticated=True)


def ingest(store, *messages: bytes):
    raws = [RawMessage(raw=m, source=f"m{i}.eml") for i, m in enumerate(messages)]
    return pipeline.ingest(store, raws, parser=verified_parse, classifier=fake_classify)


def downtimes(store):
    return [e for e in queries.timeline(store, kinds=["downtime"]) if e["start"] == "2016-08-26T17:00:00-07:00"]


def test_extension_updates_each_window_in_place(store):
    ingest(store, UPDATE_164)
    before = {e["uid"]: e for e in downtimes(store)}
    assert len(before) == 2 and {e["status"] for e in before.values()} == {"scheduled"}
    ics_before = _events(queries.calendar(store))

    ingest(store, EXTENDED)
    after = {e["uid"]: e for e in downtimes(store)}
    assert after.keys() == before.keys()
    for uid, entry in after.items():
        assert entry["end"] == "2016-09-13T23:59:00-07:00"
        assert entry["status"] == "extended"
        assert entry["id"] == before[uid]["id"]
        assert [s["message_id"] for s in entry["sources"]] == ["<164@cde>", "<ext@ets>"]
        detail = queries.show(store, uid)
        assert detail["sequence"] == 1
        assert [h["change"] for h in detail["history"]] == ["announced", "extended"]
        assert any("extended the downtime" in s["evidence"] for s in detail["source_details"])

    ics_after = _events(queries.calendar(store))
    assert ics_after.keys() == ics_before.keys() and len(ics_after) == 2
    for uid, event in ics_after.items():
        assert int(event["SEQUENCE"]) == int(ics_before[uid]["SEQUENCE"]) + 1
        assert event.decoded("DTEND") == datetime(2016, 9, 13, 23, 59, tzinfo=LA)


def test_refresh_without_changes_keeps_sequence_and_export_is_identical(store):
    ingest(store, UPDATE_164, EXTENDED)
    first = queries.calendar(store)
    assert store.refresh_timeline().count == 0
    assert ingest(store, UPDATE_164).duplicates == 1
    assert queries.calendar(store) == first  # DTSTAMP comes from the entry's updated_at


def test_old_forward_after_the_extension_does_not_undo_it(store):
    ingest(store, UPDATE_164, EXTENDED)
    ingest(store, FORWARD_164)
    entries = downtimes(store)
    assert len(entries) == 2
    assert {e["end"] for e in entries} == {"2016-09-13T23:59:00-07:00"}


def test_arrival_order_does_not_matter(tmp_path):
    from caltac_inbox.store.writer import open_store

    messages = [UPDATE_164, EXTENDED, FORWARD_164, OTHER]
    results = []
    for n, order in enumerate(itertools.permutations(messages)):
        if n % 4:  # 6 of the 24 orders keep the test quick; every message comes first at least once
            continue
        with open_store(f"sqlite:///{tmp_path / f'order{n}.db'}") as store:
            for message in order:  # one batch per message: the timeline is refreshed between
                ingest(store, message)
            results.append([{k: v for k, v in e.items() if k != "id"} for e in queries.timeline(store, include_cancelled=True)])
    assert all(r == results[0] for r in results)
    assert len(results[0]) == 4


def test_cancelled_hidden_by_default_and_shown_on_request(store):
    ingest(store, OTHER, CANCEL)
    assert not [e for e in queries.timeline(store) if e["kind"] == "downtime"]
    cancelled = [e for e in queries.timeline(store, include_cancelled=True) if e["kind"] == "downtime"]
    assert [e["status"] for e in cancelled] == ["cancelled"]
    assert not queries.upcoming(store, as_of=date(2016, 12, 1), days=60, kinds=["downtime"])
    event = next(iter(_events(queries.calendar(store, kinds=["downtime"])).values()))
    assert str(event["STATUS"]) == "CANCELLED"


def test_upcoming_window_kind_and_program(store):
    ingest(store, UPDATE_164, EXTENDED, OTHER)
    # still inside the extended downtime on September 12, and the designation is due in 3 weeks
    names = lambda rows: sorted((r["kind"], r.get("start") or r.get("due")) for r in rows)
    assert names(queries.upcoming(store, as_of=date(2016, 9, 12), days=30)) == [
        ("designation", "2016-10-03"),
        ("downtime", "2016-08-26T17:00:00-07:00"),
        ("downtime", "2016-08-26T17:00:00-07:00"),
    ]
    # the TOMS window ended with September 13 (extended): nothing on the 14th but the designation
    assert names(queries.upcoming(store, as_of=date(2016, 9, 14), days=30)) == [("designation", "2016-10-03")]
    assert queries.upcoming(store, as_of=date(2016, 9, 14), days=10) == []
    assert [r["kind"] for r in queries.upcoming(store, as_of=date(2016, 9, 12), days=30, kinds=["designation"])] == ["designation"]
    assert queries.upcoming(store, as_of=date(2016, 9, 12), days=30, programs=["ELPAC"]) == []


def test_timeline_range_and_show(store):
    ingest(store, UPDATE_164, EXTENDED, OTHER)
    in_october = queries.timeline(store, from_=date(2016, 10, 1), to=date(2016, 10, 31))
    assert [e["kind"] for e in in_october] == ["designation"]
    entry = in_october[0]
    assert entry["sources"] == [{"message_id": "<fall@ets>", "subject": "Fall reminders",
                                 "sent": "2016-09-01T08:00:00-07:00"}]
    by_id = queries.show(store, entry["id"])
    by_uid = queries.show(store, entry["uid"])
    assert by_id == by_uid and by_id["uid"] == entry["uid"]
    assert by_id["source_details"][0]["evidence"] == "Designate your coordinator by October 3."
    assert queries.show(store, "no-such-entry") is None


def _events(ics: bytes) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(ics).walk("VEVENT")}


def test_export_ics_command(db_url, tmp_path):
    from click.testing import CliRunner

    from caltac_inbox.cli import main
    from caltac_inbox.store.writer import open_store

    with open_store(db_url) as store:
        ingest(store, UPDATE_164, EXTENDED, OTHER)
    runner = CliRunner()
    target = tmp_path / "caltac.ics"
    result = runner.invoke(main, ["--db", db_url, "export-ics", "-o", str(target), "--kind", "downtime",
                                  "--alarm-downtime", "2d"])
    assert result.exit_code == 0, result.output
    events = _events(target.read_bytes())
    assert len(events) == 3  # two fall windows and the winter one
    assert all(str(e["SUMMARY"]).startswith("CAASPP downtime") for e in events.values())
    assert all([str(a["TRIGGER"].to_ical(), "ascii") for a in e.walk("VALARM")] == ["-P2D"] for e in events.values())
    stdout = runner.invoke(main, ["--db", db_url, "export-ics", "--kind", "downtime", "--alarm-downtime", "2d"])
    assert stdout.exit_code == 0 and stdout.stdout_bytes == target.read_bytes()
    ranged = runner.invoke(main, ["--db", db_url, "export-ics", "--from", "2016-10-01", "--to", "2016-10-31"])
    assert [str(e["SUMMARY"]) for e in _events(ranged.stdout_bytes).values()] == [
        "Designate LEA CAASPP coordinator (2016-17)"]
    bad = runner.invoke(main, ["--db", db_url, "export-ics", "--alarm-deadline", "soon"])
    assert bad.exit_code == 2 and "alarm 'soon'" in bad.output


def test_reparse_that_drops_a_fact_updates_and_removes_entries(store):
    ingest(store, UPDATE_164, EXTENDED)
    uids = {e["uid"] for e in downtimes(store)}

    def without_extension(notice):
        return tuple(f for f in fake_classify(notice) if f.status != "extended")

    pipeline.reparse(store, failed_only=False, parser=fake_parse, classifier=without_extension)
    after = downtimes(store)
    assert {e["uid"] for e in after} == uids  # same windows, same calendar UIDs
    assert {e["status"] for e in after} == {"scheduled"}
    assert all(queries.show(store, e["uid"])["sequence"] == 1 for e in after)

    pipeline.reparse(store, failed_only=False, parser=fake_parse, classifier=lambda notice: ())
    assert queries.timeline(store, include_cancelled=True) == []


def test_date_ranges_select_exactly_the_overlapping_entries(store):
    """upcoming/timeline preselect by date in SQL; the result must equal the exact span
    test applied to every entry (long windows that began long ago, open-ended ones,
    instants, undated credential reminders)."""
    from caltac_inbox.timeline.time import instant

    long_window = {"kind": "downtime", "program": "CAASPP", "start": "2016-03-01", "end": "2016-11-30",
                   "systems": ["CERS"], "status": "scheduled", "evidence": "CERS is down March through November."}
    no_end = {"kind": "downtime", "program": "ELPAC", "start": "2016-09-20T18:00:00-07:00", "end": None,
              "systems": ["TDS"], "status": "scheduled", "evidence": "TDS goes down September 20 at 6 p.m."}
    removal = {"kind": "retention", "program": "CAASPP", "at": "2016-10-15T00:00:00-07:00", "data": "score files",
               "evidence": "Score files are removed October 15."}
    reminder = {"kind": "credential", "program": "CAASPP", "school_year": "2016-17",
                "evidence": "Remember to generate vendor credentials."}
    month_task = {"kind": "task", "program": None, "month": "2016-09", "section": "Fall", "text": "Order materials",
                  "evidence": "September: order materials."}
    ingest(store, UPDATE_164, EXTENDED, OTHER,
           make_eml(subject="More", facts=[long_window, no_end, removal, reminder, month_task], message_id="<more@ets>",
                    sent="2016-08-01T08:00:00-07:00"))
    with store.session(readonly=True) as s:
        from caltac_inbox.store.read import timeline_entries

        everything = timeline_entries(s, include_cancelled=True)
    assert len(everything) >= 7
    for first in (date(2016, 1, 1), date(2016, 7, 31), date(2016, 8, 27), date(2016, 9, 13), date(2016, 9, 14),
                  date(2016, 9, 30), date(2016, 10, 3), date(2016, 10, 15), date(2016, 11, 30), date(2016, 12, 1)):
        for days in (0, 1, 30):
            last = first + timedelta(days=days)
            expected = [e.uid for e in everything if e.overlaps(instant(first), instant(last + timedelta(days=1)))]
            assert [e["uid"] for e in queries.timeline(store, first, last, include_cancelled=True)] == expected
            shown = [e["uid"] for e in queries.upcoming(store, as_of=first, days=days)]
            assert shown == [u for u in expected if next(e for e in everything if e.uid == u).status != "cancelled"]
        noon = datetime.combine(first, datetime.min.time(), tzinfo=LA).replace(hour=12)
        expected = [e.uid for e in everything if e.status != "cancelled"
                    and e.overlaps(noon, noon + timedelta(days=3))]
        assert [e["uid"] for e in queries.upcoming(store, as_of=noon, days=3)] == expected
        after = [e.uid for e in everything if e.overlaps(instant(first), None)]
        assert [e["uid"] for e in queries.timeline(store, from_=first, include_cancelled=True)] == after
        before = [e.uid for e in everything if e.overlaps(None, instant(first))]
        assert [e["uid"] for e in queries.timeline(store, to=first - timedelta(days=1), include_cancelled=True)] == before
