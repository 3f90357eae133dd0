"""Trust propagates: an unverified notice never silently overrides a verified entry."""
from __future__ import annotations

from datetime import date, datetime

from caltac_inbox.timeline.reconcile import CONFIRM, REJECT, reconcile
from tests.unit.test_reconcile import (
    EXTENSION_SENT, LA, UPDATE_164_SENT, downtime, extension_2016, fall_2016_notices, fall_2016_windows, sourced,
)

WINDOW = downtime("2018-11-01", "2018-11-04", ("TOMS",))
CANCEL = downtime("2018-11-01", "2018-11-04", ("TOMS",), status="cancelled")
ANNOUNCED = datetime(2018, 8, 22, tzinfo=LA)
FORGED = datetime(2018, 10, 1, tzinfo=LA)


def forged_cancel(**kw):
    return sourced(CANCEL, FORGED, "<forged@evil>", "CAASPP cancelled", unverified=True, **kw)


def test_an_unverified_cancel_of_a_verified_window_is_held_as_pending():
    entries = reconcile([sourced(WINDOW, ANNOUNCED, "<a>"), forged_cancel()])
    assert len(entries) == 1
    entry = entries[0]
    assert entry.status == "scheduled" and entry.unverified is False
    assert [p.change for p in entry.pending] == ["cancelled"]
    assert entry.pending[0].note() == "cancelled by an unverified notice: check"
    assert entry.pending[0].message_id == "<forged@evil>"
    assert [s.message_id for s in entry.sources] == ["<a>", "<forged@evil>"]  # listed, not obeyed
    assert [c.change for c in entry.history] == ["announced"]
    assert entry.fields()["pending"][0]["note"] == "cancelled by an unverified notice: check"


def test_an_unverified_extension_moves_no_verified_window():
    forged = [sourced(f, UPDATE_164_SENT, "<164>") for f in fall_2016_windows()]
    forged.append(sourced(extension_2016(), EXTENSION_SENT, "<ext@forged>", unverified=True))
    entries = reconcile(forged)
    assert len(entries) == 2
    assert {e.fact.end for e in entries} == {date(2016, 9, 6), datetime(2016, 9, 11, 23, 59, tzinfo=LA)}
    assert all(e.status == "scheduled" and not e.unverified for e in entries)
    notes = {e.pending[0].note() for e in entries}
    assert notes == {"extended to 2016-09-13 23:59 by an unverified notice: check"}


def test_an_unverified_reschedule_and_reinstatement_are_held():
    moved = downtime("2018-11-08", "2018-11-11", ("TOMS",), status="rescheduled")
    entry = reconcile([sourced(WINDOW, ANNOUNCED, "<a>"), sourced(moved, FORGED, "<m>", unverified=True)])[0]
    assert (entry.fact.start, entry.status) == (date(2018, 11, 1), "scheduled")
    assert entry.pending[0].change == "rescheduled" and "2018-11-08 to 2018-11-11" in entry.pending[0].note()

    cancel = sourced(CANCEL, FORGED, "<c>")  # verified
    reinstate = sourced(WINDOW, datetime(2018, 10, 5, tzinfo=LA), "<r>", unverified=True)
    entry = reconcile([sourced(WINDOW, ANNOUNCED, "<a>"), cancel, reinstate])[0]
    assert entry.status == "cancelled" and [p.change for p in entry.pending] == ["reinstated"]


def test_an_unverified_restatement_adds_nothing_to_a_verified_entry():
    vaguer = downtime("2018-11-01T08:00:00-07:00", "2018-11-04", ("TOMS", "TDS"))
    entry = reconcile([sourced(WINDOW, ANNOUNCED, "<a>"), sourced(vaguer, FORGED, "<f>", unverified=True)])[0]
    assert entry.fact.start == date(2018, 11, 1) and entry.fact.systems == ("TOMS",)
    assert len(entry.sources) == 2 and not entry.pending


def test_unverified_notices_still_change_unverified_entries_and_add_entries():
    entries = reconcile([sourced(WINDOW, ANNOUNCED, "<a>", unverified=True), forged_cancel()])
    assert entries[0].status == "cancelled" and entries[0].unverified and not entries[0].pending
    other = downtime("2018-12-01", "2018-12-02", ("TDS",))
    entries = reconcile([sourced(WINDOW, ANNOUNCED, "<a>"), sourced(other, FORGED, "<o>", unverified=True)])
    assert [(e.fact.start, e.unverified) for e in entries] == [(date(2018, 11, 1), False), (date(2018, 12, 1), True)]


def test_the_coordinator_confirms_or_rejects_a_pending_change_by_its_key():
    facts = [sourced(WINDOW, ANNOUNCED, "<a>"), forged_cancel()]
    key = reconcile(facts)[0].pending[0].key
    confirmed = reconcile(facts, {key: CONFIRM})[0]
    assert confirmed.status == "cancelled" and not confirmed.pending
    assert confirmed.history[-1].change == "cancelled"
    rejected = reconcile(facts, {key: REJECT})[0]
    assert rejected.status == "scheduled" and not rejected.pending and len(rejected.sources) == 2
    # the key survives a reparse (new row ids) and any arrival order
    renumbered = [sourced(WINDOW, ANNOUNCED, "<a>", fact_id=9, message_pk=4), forged_cancel(fact_id=10, message_pk=5)]
    assert reconcile(list(reversed(renumbered)))[0].pending[0].key == key
    # a decision covers its own notice's change only
    other = sourced(CANCEL, datetime(2018, 10, 2, tzinfo=LA), "<forged-2@evil>", unverified=True)
    assert [p.message_id for p in reconcile([*facts, other], {key: REJECT})[0].pending] == ["<forged-2@evil>"]


def test_a_later_verified_notice_settles_what_is_pending():
    reminder = sourced(WINDOW, datetime(2018, 10, 10, tzinfo=LA), "<reminder>")
    entry = reconcile([sourced(WINDOW, ANNOUNCED, "<a>"), forged_cancel(), reminder])[0]
    assert entry.status == "scheduled" and not entry.pending
    real_cancel = sourced(CANCEL, datetime(2018, 10, 10, tzinfo=LA), "<real-cancel>")
    entry = reconcile([sourced(WINDOW, ANNOUNCED, "<a>"), forged_cancel(), real_cancel])[0]
    assert entry.status == "cancelled" and not entry.pending
    # a verified notice sent before the forgery settles nothing
    early = sourced(WINDOW, datetime(2018, 9, 1, tzinfo=LA), "<early>")
    assert reconcile([sourced(WINDOW, ANNOUNCED, "<a>"), early, forged_cancel()])[0].pending


def test_a_verified_extension_still_moves_the_window():
    entries = reconcile(fall_2016_notices())
    assert all(e.status == "extended" and not e.pending for e in entries)
