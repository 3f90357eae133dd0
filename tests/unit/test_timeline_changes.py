"""timeline.changes: what a rebuild changed, as a reader sees it."""
from __future__ import annotations

from caltac_inbox.timeline.changes import TimelineChange, change_line, diff_entry, snapshot

TOMS = {"kind": "downtime", "program": "CAASPP", "start": "2016-08-26T17:00:00-07:00", "end": "2016-09-06",
        "systems": ["TOMS", "ORS", "CSS"], "school_year": "2016-17", "evidence": "TOMS: August 26–September 6"}
ANNOUNCED = {"at": "2016-07-27T14:05:00-07:00", "change": "announced", "from": None, "to": "...",
             "message_id": "<164>", "subject": "CAASPP Update, Issue 164"}
EXTENDED = {"at": "2016-09-09T17:11:00-07:00", "change": "extended", "from": "2016-09-06",
            "to": "2016-09-13T23:59:00-07:00", "message_id": "<004>", "subject": "Extended Downtime"}


def toms(**changes) -> dict:
    history = changes.pop("history", [ANNOUNCED])
    status = changes.pop("status", "scheduled")
    return snapshot({**TOMS, **changes, "status": status}, status=status, unverified=False, history=history)


def test_an_extension_is_one_changed_line_with_old_and_new_end_and_the_reason():
    change = diff_entry("downtime-1", toms(), toms(end="2016-09-13T23:59:00-07:00", status="extended",
                                                    history=[ANNOUNCED, EXTENDED]))
    assert change is not None
    assert (change.change, change.reason) == ("changed", "extended")
    assert change.before == {"end": "2016-09-06", "status": "scheduled"}
    assert change.after == {"end": "2016-09-13T23:59:00-07:00", "status": "extended"}
    assert change_line(change) == ("changed  downtime TOMS, ORS, CSS unavailable (CAASPP, from 2016-08-26 17:00): "
                                   "end 2016-09-06 → 2016-09-13 23:59 (extended)")


def test_a_restatement_with_new_evidence_or_history_is_no_change():
    assert diff_entry("downtime-1", toms(), toms(evidence="other words", history=[ANNOUNCED, ANNOUNCED])) is None


def test_new_entry_and_removed_entry():
    new = diff_entry("downtime-1", None, toms())
    assert new is not None and new.change == "new" and new.after["end"] == "2016-09-06"
    assert "evidence" not in new.after and "history" not in new.after
    assert change_line(new) == "new      downtime TOMS, ORS, CSS unavailable (CAASPP, from 2016-08-26 17:00): until 2016-09-06"
    gone = diff_entry("downtime-1", toms(), None)
    assert gone is not None and gone.change == "removed"
    assert change_line(gone).endswith(": no longer in any stored notice")
    assert diff_entry("x", None, None) is None


def test_cancellation_is_its_own_type():
    cancelled = {**EXTENDED, "change": "cancelled"}
    change = diff_entry("downtime-1", toms(), toms(status="cancelled", history=[ANNOUNCED, cancelled]))
    assert change is not None and change.change == "cancelled"
    assert change_line(change) == "cancelled downtime TOMS, ORS, CSS unavailable (CAASPP, from 2016-08-26 17:00)"


def test_a_deadline_moved_and_flag_changes_are_named():
    before = snapshot({"kind": "deadline", "program": ["ELPAC"], "due": "2020-11-06", "action": "submit the survey"},
                      status="scheduled", unverified=True)
    after = snapshot({"kind": "deadline", "program": ["ELPAC"], "due": "2020-11-13", "action": "submit the survey"},
                     status="scheduled", unverified=False)
    change = diff_entry("deadline-1", before, after)
    assert change is not None and change.reason is None
    assert change_line(change) == ("changed  deadline submit the survey (ELPAC, due 2020-11-13): "
                                   "due 2020-11-06 → 2020-11-13, unverified yes → no")


def test_json_round_trip():
    change = diff_entry("downtime-1", toms(), toms(end="2016-09-13", history=[ANNOUNCED, EXTENDED]))
    assert change is not None
    assert TimelineChange.from_json(change.to_json()) == change


def test_a_dismissal_shows_as_its_status_not_as_the_correction_record():
    dismissal = [{"correction": 1, "action": "dismiss", "by": "pat", "state": "active", "reason": "not ours"}]
    change = diff_entry("downtime-1", toms(), toms(status="dismissed", corrections=dismissal))
    assert change is not None
    assert change.before == {"status": "scheduled"} and change.after == {"status": "dismissed"}
    assert "correction" not in change_line(change)
    # a correction record that changes nothing a reader sees (superseded, say) is no change
    assert diff_entry("downtime-1", toms(corrections=dismissal), toms(corrections=[])) is None
