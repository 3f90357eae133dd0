"""timeline.corrections: the coordinator's corrections on top of the reconciled timeline."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from caltac_inbox.model import Fact, FactsWithLeads, Lead
from caltac_inbox.timeline.corrections import (
    Correction,
    CorrectionError,
    added_fact,
    apply_corrections,
    field_values,
)
from caltac_inbox.timeline.entry import SourcedFact
from caltac_inbox.timeline.reconcile import reconcile
from caltac_inbox.timeline.time import LOS_ANGELES

JULY = datetime(2016, 7, 27, 14, 5, tzinfo=LOS_ANGELES)
SEPTEMBER = datetime(2016, 9, 9, 17, 11, tzinfo=LOS_ANGELES)
WINDOW = Fact(kind="downtime", evidence="It runs from Friday, August 26 through September 11.", program=("CAASPP",),
              start=datetime(2016, 8, 26, 17, 0, tzinfo=LOS_ANGELES), end=datetime(2016, 9, 11, 23, 59, tzinfo=LOS_ANGELES),
              systems=("TDS",), status="scheduled")
EXTENSION = Fact(kind="downtime", evidence="extended through September 13", program=("CAASPP",),
                 end=datetime(2016, 9, 13, 23, 59, tzinfo=LOS_ANGELES), systems=("TDS",), status="extended")
DEADLINE = Fact(kind="deadline", evidence="Submit the list by June 1.", due=date(2017, 6, 1), action="submit the list")
MADE = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def _timeline(*sourced: tuple[Fact, datetime]) -> list:
    return reconcile([SourcedFact(fact=f, fact_id=i, message_pk=i, message_id=f"<{i}@x>", subject=f"notice {i}",
                                  sent=sent) for i, (f, sent) in enumerate(sourced, start=1)])


def _correct_end(entry, end: str, cid: int = 1) -> Correction:
    return Correction(id=cid, target=entry.uid, action="correct", new_values={"end": end},
                      old_values={"end": entry.fact.end.isoformat()}, made_by="pat", made_at=MADE,
                      basis_sent=JULY)


def test_a_correction_overrides_the_field_and_marks_the_entry_keeping_its_uid():
    [entry] = _timeline((WINDOW, JULY))
    [out], superseded = apply_corrections([entry], [_correct_end(entry, "2016-09-12T23:59:00-07:00")])
    assert out.uid == entry.uid and superseded == []
    assert out.fact.end == datetime(2016, 9, 12, 23, 59, tzinfo=LOS_ANGELES)
    assert out.fact.evidence == WINDOW.evidence
    [mark] = out.to_json()["corrections"]
    assert mark["state"] == "active" and mark["fields"] == ["end"] and mark["by"] == "pat"
    assert mark["before"] == {"end": "2016-09-11T23:59:00-07:00"}
    assert out.content_hash() != entry.content_hash()  # the store bumps the calendar SEQUENCE


def test_a_later_notice_that_changes_the_corrected_field_wins_and_supersedes_the_correction():
    [before] = _timeline((WINDOW, JULY))
    correction = _correct_end(before, "2016-09-12T23:59:00-07:00")
    [after] = _timeline((WINDOW, JULY), (EXTENSION, SEPTEMBER))
    [out], superseded = apply_corrections([after], [correction])
    assert out.fact.end == EXTENSION.end
    assert [(s.correction_id, s.superseded_by) for s in superseded] == [(1, "notice of 2016-09-09")]
    assert out.corrections[0]["state"] == "superseded"
    assert out.corrections[0]["superseded_by"] == "notice of 2016-09-09"


def test_a_later_notice_that_restates_the_same_value_leaves_the_correction_in_force():
    [before] = _timeline((WINDOW, JULY))
    correction = _correct_end(before, "2016-09-12T23:59:00-07:00")
    restated = Fact(**{**WINDOW.__dict__, "evidence": "restated"})
    [after] = _timeline((WINDOW, JULY), (restated, SEPTEMBER))
    [out], superseded = apply_corrections([after], [correction])
    assert superseded == [] and out.fact.end == datetime(2016, 9, 12, 23, 59, tzinfo=LOS_ANGELES)


def test_dismiss_sets_the_status_and_add_makes_an_entry_without_sources():
    [entry] = _timeline((DEADLINE, JULY))
    dismiss = Correction(id=1, target=entry.uid, action="dismiss", new_values={}, old_values={"status": "scheduled"},
                         made_by="pat", made_at=MADE, reason="not ours")
    fact = added_fact("deadline", field_values("deadline", {"due": date(2026, 12, 1), "what": "send the roster"}),
                      ["CAASPP"])
    add = Correction(id=2, target="manual-2", action="add", new_values=fact.to_json(), old_values={},
                     made_by="pat", made_at=MADE)
    out, _ = apply_corrections([entry], [add, dismiss])
    by_uid = {e.uid: e for e in out}
    assert by_uid[entry.uid].status == "dismissed"
    added = by_uid["manual-2"]
    assert added.fact.due == date(2026, 12, 1) and added.fact.action == "send the roster"
    assert added.sources == () and added.corrections[0]["action"] == "add"
    assert [e.uid for e in out] == [entry.uid, "manual-2"]  # timeline order


def test_a_correction_of_an_entry_that_is_gone_changes_nothing():
    [entry] = _timeline((DEADLINE, JULY))
    stray = Correction(id=1, target="deadline-gone", action="correct", new_values={"due": "2017-06-02"},
                       old_values={"due": "2017-06-01"}, made_by="pat", made_at=MADE)
    assert apply_corrections([entry], [stray]) == ([entry], [])


def test_fields_that_do_not_belong_to_the_kind_and_incomplete_adds_are_refused():
    with pytest.raises(CorrectionError, match=r"--end does not belong to a deadline entry; a deadline takes --due"):
        field_values("deadline", {"end": date(2020, 1, 1)})
    with pytest.raises(CorrectionError, match=r"a deadline entry needs --what"):
        added_fact("deadline", field_values("deadline", {"due": date(2026, 12, 1)}))
    with pytest.raises(CorrectionError, match=r"the end .* is before the start"):
        added_fact("downtime", field_values("downtime", {"start": date(2020, 8, 2), "end": date(2020, 8, 1)}))


def test_facts_with_leads_travel_between_processes_with_their_leads():
    import pickle

    found = FactsWithLeads.of((DEADLINE,), (Lead(date(2017, 6, 1), "On June 1 we met.", "no cue"),))
    again = pickle.loads(pickle.dumps(found))
    assert tuple(again) == (DEADLINE,) and again.leads == found.leads and isinstance(again, tuple)
