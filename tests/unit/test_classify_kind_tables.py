"""The kind classifiers decide by short ordered rule tables (classify.rules): each rule is reachable
and decides as named. Sentences are written for these tests, not copied from notices."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from caltac_inbox.classify import classify, credential
from caltac_inbox.classify.rules import KindRule, always, first_rule
from caltac_inbox.model import Notice

LA = ZoneInfo("America/Los_Angeles")


def facts(text, kind):
    notice = Notice(source="t.eml", text=text, subject="CAASPP: Update", sender="caltac@ets.org",
                    sent=datetime(2021, 5, 3, 9, tzinfo=LA))
    return [f for f in classify(notice) if f.kind == kind]


def test_first_rule_takes_the_first_that_holds_and_needs_a_last_rule():
    table = (KindRule("odd", lambda n: n % 2 == 1, "odd"), KindRule("else", always, "even"))
    assert first_rule(table, 3).name == "odd" and first_rule(table, 4).outcome == "even"
    with pytest.raises(ValueError):
        first_rule(table[:1], 4)


def test_credential_tables_end_with_a_rule_that_always_holds():
    assert credential.RULES[-1].holds is always and credential.ACTION_RULES[-1].holds is always


def test_credential_rule_no_sis_named():
    text = "Counselors should generate fresh credentials for the lab laptops by June 1.\n"
    assert facts(text, "credential") == []


def test_credential_rule_reminder_and_regenerate_action():
    text = ("Your district's student information system partner needs a new secret key: please regenerate "
            "the score-report credentials in TOMS before June 1.\n")
    [f] = facts(text, "credential")
    assert f.action == "regenerate"


def test_credential_rule_generate_action():
    text = ("Generate the score-report credentials your SIS vendor needs, a user name and a secret key, "
            "before June 1.\n")
    [f] = facts(text, "credential")
    assert f.action == "generate"


def test_designation_due_rules():
    from caltac_inbox.classify import designation
    names = [r.name for r in designation.DUE_RULES]
    assert names[-1] == "no due cue" and designation.DUE_RULES[-1].holds is always
    # a due word before the date
    [f] = facts("Each district has to designate its 2021–22 LEA CAASPP coordinator no later than June 14, 2021.\n",
                "designation")
    assert f.due.isoformat() == "2021-06-14"
    # when something was sent: never the due date
    assert facts("Designate the LEA ELPAC coordinator using the steps mailed on April 2, 2021.\n", "designation") == []
    # the end of the term, not the due date
    [g] = facts("The LEA coordinator you designate by June 14, 2021, holds the duties through June 30, 2022.\n",
                "designation")
    assert g.due.isoformat() == "2021-06-14"


DOWNTIME = ("The Online Reporting System (ORS) will be unavailable from 6 p.m. on July 9, 2021, to 6 a.m. on "
            "July 12, 2021.\n\n")


def test_retention_time_sources_in_order():
    from caltac_inbox.classify import retention
    assert [s.name for s in retention.TIME_SOURCES][-1] == retention.LEAD_IN
    # the downtime the sentence points at
    [a] = facts(DOWNTIME + "Last year's student score data files will be purged from the ORS during the downtime.\n",
                "retention")
    assert a.at.isoformat().startswith("2021-07-09T18:00")
    # when the system it names goes offline
    two = DOWNTIME + "TOMS will be unavailable from 6 p.m. on August 6, 2021, to 6 a.m. on August 9, 2021.\n\n"
    [b] = facts(two + "Archived student score data files will be purged from the local archive once the ORS goes "
                "offline.\n", "retention")
    assert b.at.isoformat().startswith("2021-07-09T18:00")
    # a date written with the removal
    [c] = facts("Archived student score data files will be purged from the ORS on August 20, 2021.\n", "retention")
    assert c.at.isoformat() == "2021-08-20"
    # the downtime a lead-in names, and the lead-in is quoted
    [d] = facts(DOWNTIME + "Once the downtime begins:\n\n"
                "- Archived student score data files will be purged from the ORS.\n",
                "retention")
    assert d.at.isoformat().startswith("2021-07-09T18:00") and "Once the downtime begins" in d.evidence


@pytest.mark.parametrize("sentence", [
    "Do not ship the spare toner cartridges to the depot by June 1, 2021.",  # told not to
    "Proctors may register for the optional item-review webinar by June 1, 2021.",  # an optional sign-up
    "Upload the seating charts no earlier than June 1, 2021.",  # an earliest day
    "Return the headphones two weeks after June 1, 2021.",  # an offset from the date
])
def test_deadline_pass_over_rules(sentence):
    from caltac_inbox.classify import deadline
    assert deadline.PASS_OVER_RULES[-1].holds is always
    assert facts(sentence + "\n", "deadline") == []


def test_deadline_pass_over_rules_keep_a_date_to_act_by():
    [f] = facts("Upload the seating charts by June 1, 2021.\n", "deadline")
    assert f.due.isoformat() == "2021-06-01"


def test_downtime_context_rules():
    from caltac_inbox.classify import downtime
    assert downtime.DOWN_CONTEXT_RULES[-1].holds is always
    # it refers back to a sentence that says the system is down
    [a] = facts("CERS will be offline for a database upgrade. This is planned from June 3, 2021, to June 5, 2021.\n",
                "downtime")
    assert (a.start.isoformat(), a.end.isoformat(), a.systems) == ("2021-06-03", "2021-06-05", ("CERS",))
    # nothing says systems are down: a window of dates is no downtime
    assert facts("CERS reports are planned from June 3, 2021, to June 5, 2021.\n", "downtime") == []
