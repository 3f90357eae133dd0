"""Reconciliation over hand-made facts (no classifier, no database)."""
from __future__ import annotations

import itertools
import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from caltac_inbox.model import Fact, parse_when
from caltac_inbox.timeline.entry import SourcedFact
from caltac_inbox.timeline.reconcile import reconcile
from tests.properties import fast_and_full
from tests.shared import SHARED, needs_shared

LA = ZoneInfo("America/Los_Angeles")

UPDATE_164_SENT = datetime(2016, 7, 27, 9, 0, tzinfo=LA)
EXTENSION_SENT = datetime(2016, 9, 9, 17, 11, tzinfo=LA)


def downtime(start, end, systems=(), status="scheduled", program=("CAASPP",), evidence="", **kw) -> Fact:
    return Fact(
        kind="downtime",
        evidence=evidence or f"down {start} to {end}",
        program=tuple(program),
        start=parse_when(start) if start else None,
        end=parse_when(end) if end else None,
        systems=tuple(systems),
        status=status,
        **kw,
    )


def sourced(fact: Fact, sent: datetime, message_id: str, subject: str = "notice", **kw) -> SourcedFact:
    return SourcedFact(fact=fact, message_id=message_id, subject=subject, sent=sent, **kw)


def fall_2016_windows() -> list[Fact]:
    return [
        downtime("2016-08-26T17:00:00-07:00", "2016-09-06", ("TOMS", "ORS", "CSS"), school_year="2016-17"),
        downtime("2016-08-26T17:00:00-07:00", "2016-09-11T23:59:00-07:00",
                 ("TDS", "TAI", "ARMS", "IAVS", "IAHSS"), school_year="2016-17"),
    ]


def extension_2016() -> Fact:
    return downtime(None, "2016-09-13T23:59:00-07:00",
                    ("TOMS", "ORS", "TDS", "TAI", "ARMS", "IAVS", "IAHSS"), status="extended")


def fall_2016_notices() -> list[SourcedFact]:
    original = [sourced(f, UPDATE_164_SENT, "<update-164@cde>", "CDE Update 164") for f in fall_2016_windows()]
    return original + [sourced(extension_2016(), EXTENSION_SENT, "<ext@ets>", "Extended Downtime of the CAASPP Systems")]


def label_facts(labels: Path, file_prefix: str) -> list[Fact]:
    for line in labels.read_text().splitlines():
        row = json.loads(line)
        if row["file"].startswith(file_prefix):
            return [Fact.from_json(f) for f in row["facts"]]
    raise AssertionError(f"no label for {file_prefix}")


def test_extension_moves_the_end_of_every_matching_window():
    entries = reconcile(fall_2016_notices())
    assert len(entries) == 2
    for entry in entries:
        assert entry.fact.end == datetime(2016, 9, 13, 23, 59, tzinfo=LA)
        assert entry.fact.start == datetime(2016, 8, 26, 17, 0, tzinfo=LA)
        assert entry.status == "extended"
        assert [s.message_id for s in entry.sources] == ["<update-164@cde>", "<ext@ets>"]
        assert [c.change for c in entry.history] == ["announced", "extended"]
        assert entry.history[-1].after == datetime(2016, 9, 13, 23, 59, tzinfo=LA)  # a value, not its text
        assert entry.history[-1].to_json()["to"] == "2016-09-13T23:59:00-07:00"
    # each window keeps its own systems
    assert {e.fact.systems for e in entries} == {("TOMS", "ORS", "CSS"), ("TDS", "TAI", "ARMS", "IAVS", "IAHSS")}
    assert entries[0].history[-1].before in (date(2016, 9, 6), datetime(2016, 9, 11, 23, 59, tzinfo=LA))


@needs_shared("seeds", "labels.jsonl")
@needs_shared("corpus", "labels.jsonl")
def test_extension_example_from_the_labels():
    windows = label_facts(SHARED / "corpus" / "labels.jsonl", "2016-07-27-cde-update-164")
    extension = label_facts(SHARED / "seeds" / "labels.jsonl", "004_")
    facts = [sourced(f, UPDATE_164_SENT, "<164>") for f in windows]
    facts += [sourced(f, EXTENSION_SENT, "<004>") for f in extension]
    entries = reconcile(facts)
    assert [e.fact.end.isoformat() for e in entries] == ["2016-09-13T23:59:00-07:00"] * 2
    assert all(e.status == "extended" for e in entries)


def test_uid_survives_the_extension_and_ignores_row_ids():
    before = {e.fact.systems: e.uid for e in reconcile(fall_2016_notices()[:2])}
    after = {e.fact.systems: e.uid for e in reconcile(fall_2016_notices())}
    assert before == after
    renumbered = [
        SourcedFact(**{**sf.__dict__, "fact_id": 100 + i, "message_pk": 7 + i}) for i, sf in enumerate(fall_2016_notices())
    ]
    assert {e.uid for e in reconcile(renumbered)} == set(after.values())
    assert all(uid.startswith("downtime-20160826") for uid in after.values())


def test_content_hash_changes_when_the_window_changes():
    before = {e.uid: e.content_hash() for e in reconcile(fall_2016_notices()[:2])}
    after = {e.uid: e.content_hash() for e in reconcile(fall_2016_notices())}
    assert before.keys() == after.keys()
    assert all(before[uid] != after[uid] for uid in before)
    assert after == {e.uid: e.content_hash() for e in reconcile(fall_2016_notices())}


def test_every_arrival_order_gives_the_same_timeline():
    notices = fall_2016_notices()
    # a colleague forwards the original notice long after the extension: same sent date
    forward = sourced(fall_2016_windows()[1], UPDATE_164_SENT, "<update-164@cde>", "CDE Update 164",
                      forwarded_by="colleague@district.org")
    reminder = sourced(
        downtime("2016-08-26", "2016-09-11", ("TDS", "THSS")), datetime(2016, 8, 20, 8, 0, tzinfo=LA), "<reminder>"
    )
    facts = notices + [forward, reminder]
    expected = reconcile(facts)
    for order in itertools.permutations(facts):
        assert reconcile(order) == expected
    tds_window = next(e for e in expected if "TDS" in e.fact.systems)
    assert tds_window.fact.end == datetime(2016, 9, 13, 23, 59, tzinfo=LA)
    assert tds_window.fact.systems == ("TDS", "TAI", "ARMS", "IAVS", "IAHSS", "THSS")
    assert len(tds_window.sources) == 4


def test_an_old_forward_sent_after_the_extension_window_is_only_a_source():
    # the forward's own sent date is unknown: it replays last, after the extension
    notices = fall_2016_notices()
    late = sourced(fall_2016_windows()[0], None, "<fwd>", "Fwd: CDE Update 164")
    entries = reconcile(notices + [late])
    assert len(entries) == 2
    toms = next(e for e in entries if "TOMS" in e.fact.systems)
    assert toms.fact.end == datetime(2016, 9, 13, 23, 59, tzinfo=LA)
    assert toms.status == "extended"
    assert [s.message_id for s in toms.sources][-1] == "<fwd>"


def test_extension_without_matching_window_is_its_own_entry():
    elpac_window = downtime("2016-08-26T17:00:00-07:00", "2016-09-11T23:59:00-07:00", ("TOMS",), program=("ELPAC",))
    far_window = downtime("2016-06-01", "2016-07-01", ("TOMS",))
    other_systems = downtime("2016-08-26T17:00:00-07:00", "2016-09-11T23:59:00-07:00", ("CERS",))
    facts = [sourced(f, UPDATE_164_SENT, f"<{i}>") for i, f in enumerate([elpac_window, far_window, other_systems])]
    facts.append(sourced(extension_2016(), EXTENSION_SENT, "<ext>"))
    entries = reconcile(facts)
    assert len(entries) == 4
    lone = [e for e in entries if e.fact.start is None]
    assert len(lone) == 1 and lone[0].status == "extended"
    assert all(e.status == "scheduled" for e in entries if e.fact.start is not None)


def test_extension_restated_twice_is_one_entry():
    facts = fall_2016_notices() + [sourced(extension_2016(), EXTENSION_SENT, "<ext-copy>", "Fwd: Extended")]
    entries = reconcile(facts)
    assert len(entries) == 2
    assert all(len(e.sources) == 3 for e in entries)


def test_same_window_restated_unions_systems_and_keeps_the_precise_time():
    first = downtime("2023-06-30", "2023-07-05", (), program=("ELPAC",))
    second = downtime("2023-06-30T17:00:00-07:00", "2023-07-05T08:00:00-07:00", ("TOMS", "TDS"),
                      program=("CAASPP", "ELPAC"))
    entries = reconcile([sourced(first, datetime(2023, 6, 1, tzinfo=LA), "<a>"),
                         sourced(second, datetime(2023, 6, 30, tzinfo=LA), "<b>")])
    assert len(entries) == 1
    entry = entries[0]
    assert entry.fact.systems == ("TOMS", "TDS")
    assert entry.fact.program == ("CAASPP", "ELPAC")
    assert entry.fact.start == datetime(2023, 6, 30, 17, 0, tzinfo=LA)
    assert len(entry.sources) == 2
    assert entry.status == "scheduled"


def test_restated_deadline_is_one_entry_and_different_actions_stay_apart():
    action = "set up 2022–23 CAASPP test administration window in TOMS"
    same = [
        Fact(kind="deadline", evidence="x", program=("CAASPP",), due=date(2022, 12, 1), action=action),
        Fact(kind="deadline", evidence="y", program=("CAASPP",), due=date(2022, 12, 1),
             action="Set up the 2022-23 CAASPP test administration window in TOMS"),
    ]
    other = Fact(kind="deadline", evidence="z", program=("CAASPP",), due=date(2022, 12, 1),
                 action="apply to the CSA Item Writer Workshop")
    facts = [sourced(f, datetime(2022, 9 + i, 1, tzinfo=LA), f"<{i}>") for i, f in enumerate(same + [other])]
    entries = reconcile(facts)
    assert len(entries) == 2
    merged = next(e for e in entries if "TOMS" in e.fact.action)
    assert len(merged.sources) == 2
    assert merged.fact.action == action  # the earliest notice's words


def test_retention_same_cutoff_different_data_stays_apart():
    at = parse_when("2020-08-14T17:00:00-07:00")
    toms = Fact(kind="retention", evidence="a", at=at, data="2017-18 student data file", system="TOMS",
                school_year="2017-18")
    iahss = Fact(kind="retention", evidence="b", at=at, data="Interim Assessment Hand Scoring System student responses",
                 system="IAHSS")
    iahss_again = Fact(kind="retention", evidence="c", at=at, program=("CAASPP",), system="IAHSS",
                       data="student responses and hand scoring materials in the Interim Assessment Hand Scoring System")
    entries = reconcile([sourced(toms, datetime(2020, 7, 15, tzinfo=LA), "<002>"),
                         sourced(iahss, datetime(2020, 7, 15, tzinfo=LA), "<002>"),
                         sourced(iahss_again, datetime(2020, 8, 14, tzinfo=LA), "<103>")])
    assert len(entries) == 2
    merged = next(e for e in entries if e.fact.system == "IAHSS")
    assert len(merged.sources) == 2 and merged.fact.program == ("CAASPP",)


def test_designations_for_different_programs_stay_apart():
    caaspp = Fact(kind="designation", evidence="a", program=("CAASPP",), due=date(2023, 7, 1), school_year="2023-24")
    elpac = Fact(kind="designation", evidence="b", program=("ELPAC",), due=date(2023, 7, 1), school_year="2023-24")
    assert len(reconcile([sourced(caaspp, datetime(2023, 6, 1, tzinfo=LA), "<a>"),
                          sourced(elpac, datetime(2023, 6, 1, tzinfo=LA), "<b>")])) == 2


def test_rescheduled_moves_the_window():
    original = downtime("2019-01-03", "2019-01-07", ("TOMS", "TDS"))
    moved = downtime("2019-01-10", "2019-01-14", ("TOMS",), status="rescheduled")
    entries = reconcile([sourced(moved, datetime(2018, 12, 28, tzinfo=LA), "<b>"),
                         sourced(original, datetime(2018, 12, 26, tzinfo=LA), "<a>")])
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.fact.start, entry.fact.end) == (date(2019, 1, 10), date(2019, 1, 14))
    assert entry.status == "rescheduled"
    assert entry.history[-1].change == "rescheduled"
    assert entry.uid.startswith("downtime-20190103")


def test_cancelled_marks_the_window_and_keeps_it():
    original = downtime("2018-11-01", "2018-11-04")
    cancel = downtime("2018-11-01", "2018-11-04", status="cancelled")
    kept = downtime("2018-08-29", "2018-09-03", ("TOMS",))
    before = reconcile([sourced(original, datetime(2018, 8, 22, tzinfo=LA), "<a>"),
                        sourced(kept, datetime(2018, 8, 22, tzinfo=LA), "<a>")])
    after = reconcile([sourced(original, datetime(2018, 8, 22, tzinfo=LA), "<a>"),
                       sourced(kept, datetime(2018, 8, 22, tzinfo=LA), "<a>"),
                       sourced(cancel, datetime(2018, 10, 1, tzinfo=LA), "<c>")])
    assert [e.uid for e in before] == [e.uid for e in after]
    statuses = {e.fact.start: e.status for e in after}
    assert statuses == {date(2018, 11, 1): "cancelled", date(2018, 8, 29): "scheduled"}


def test_entry_is_unverified_only_when_every_source_is():
    fact = Fact(kind="designation", evidence="a", program=("CAASPP",), due=date(2019, 7, 1), school_year="2019-20")
    forged = sourced(fact, datetime(2019, 6, 1, tzinfo=LA), "<x>", unverified=True)
    genuine = sourced(fact, datetime(2019, 6, 2, tzinfo=LA), "<y>")
    assert reconcile([forged])[0].unverified is True
    assert reconcile([forged, genuine])[0].unverified is False


def test_entry_json_carries_facts_fields_and_sources():
    entry = reconcile(fall_2016_notices())[0]
    data = entry.to_json()
    assert data["kind"] == "downtime" and data["status"] == "extended"
    assert data["end"] == "2016-09-13T23:59:00-07:00"
    assert data["uid"] == entry.uid and data["unverified"] is False
    assert data["sources"][0] == {"message_id": "<update-164@cde>", "subject": "CDE Update 164",
                                  "sent": "2016-07-27T09:00:00-07:00"}


# --- property: any arrival order of any small set of related notices ------------------

from hypothesis import given, settings
from hypothesis import strategies as st

_STARTS = ["2016-08-26T17:00:00-07:00", "2016-08-26", "2016-09-02"]
_ENDS = ["2016-09-06", "2016-09-11T23:59:00-07:00", "2016-09-13T23:59:00-07:00", "2016-09-20"]
_SYSTEMS = [(), ("TOMS",), ("TDS", "TAI"), ("TOMS", "TDS")]


@st.composite
def related_notices(draw):
    facts = []
    for i in range(draw(st.integers(1, 6))):
        status = draw(st.sampled_from(["scheduled", "scheduled", "extended", "rescheduled", "cancelled"]))
        start = None if status == "extended" and draw(st.booleans()) else draw(st.sampled_from(_STARTS))
        fact = downtime(start, draw(st.sampled_from(_ENDS)), draw(st.sampled_from(_SYSTEMS)), status=status,
                        program=draw(st.sampled_from([("CAASPP",), ("ELPAC",), ("CAASPP", "ELPAC"), ()])))
        sent = datetime(2016, 7, 1 + draw(st.integers(0, 30)), 9, 0, tzinfo=LA)  # ties happen on purpose
        facts.append(sourced(fact, sent, f"<m{draw(st.integers(0, 3))}>", unverified=draw(st.booleans())))
    return facts


@fast_and_full(40, 150)
def test_property_arrival_order_never_changes_the_timeline(max_examples):
    @settings(max_examples=max_examples, deadline=None)
    @given(related_notices(), st.randoms(use_true_random=False))
    def check(facts, rnd):
        shuffled = list(facts)
        rnd.shuffle(shuffled)
        assert reconcile(shuffled) == reconcile(facts)
        uids = [e.uid for e in reconcile(facts)]
        assert len(uids) == len(set(uids))

    check()
