"""Designation, credential, retention and deadline facts, on notices written for these tests."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from caltac_inbox.classify import classify
from caltac_inbox.classify.text import collapse
from caltac_inbox.model import Notice

LA = ZoneInfo("America/Los_Angeles")


def at(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=LA)


def facts(text, kind=None, sent=at(2021, 5, 3, 9), subject="CAASPP: Monthly Update"):
    n = Notice(source="t.eml", text=text, subject=subject, sender="caltac@ets.org", sent=sent)
    out = classify(n)
    for f in out:
        assert f.evidence and all(piece in collapse(text) for piece in f.evidence.split(" … ")), f
    return [f for f in out if kind is None or f.kind == kind]


# --- designation ---------------------------------------------------------------------

def test_designation_due_date():
    [f] = facts("Superintendents should finish the 2021–22 designation process soon. "
                "Each LEA CAASPP coordinator must be designated by July 1, 2021.\n", "designation")
    assert f.due == date(2021, 7, 1) and f.school_year == "2021-22"


def test_designation_deadline_in_the_past():
    [f] = facts("Our records show no LEA coordinator was designated for 2021–22. The deadline for designating an "
                "LEA coordinator was July 1. By default, the district superintendent has now been designated as the "
                "LEA CAASPP coordinator. The coordinator carries out these responsibilities through June 30, 2022.\n",
                "designation", sent=at(2021, 8, 16, 9))
    assert f.due == date(2021, 7, 1)
    assert f.defaulted is True and f.default_designee == "district superintendent"
    assert f.term_end == date(2022, 6, 30)


def test_conditional_default_is_not_a_default():
    [f] = facts("LEA coordinators must be designated by July 1, 2021. If no designation has been made by "
                "July 1, 2021, the superintendent becomes the LEA coordinator by default.\n", "designation")
    assert f.defaulted is None


def test_designation_tied_to_the_downtime_heading():
    out = facts("A downtime runs from Friday, July 30, at 5 p.m. through Tuesday, August 3, at 8 a.m.\n\n"
                "Before the Downtime on July 30\n\n"
                "1. Confirm that the superintendent has designated an LEA coordinator for 2021–22.\n")
    [d] = [f for f in out if f.kind == "designation"]
    assert d.due == at(2021, 7, 30, 17) and d.school_year == "2021-22"


def test_designation_mention_without_deadline_gives_nothing():
    assert facts("The designated LEA coordinator can add users in TOMS at any time.\n", "designation") == []


def test_date_an_email_was_sent_is_not_the_designation_deadline():
    assert facts("You were designated as the LEA coordinator, as described in the email sent on April 5, 2021.\n",
                 "designation") == []


# --- credential ----------------------------------------------------------------------

def test_credential_reminder_with_vendors_and_reporting_year():
    [f] = facts("Our records show that your LEA designated Acme SIS and Beta Portal as your student information "
                "system vendors. Please generate credentials (a User Name and Secret Key) in TOMS before 2021–22 "
                "reporting begins.\n", "credential")
    assert f.school_year == "2021-22" and f.action == "generate"
    assert f.vendors == ("Acme SIS", "Beta Portal")


def test_credential_regenerate_defaults_to_the_current_school_year():
    [f] = facts("SIS vendor credentials expire after 365 days; regenerate credentials in TOMS if your vendor "
                "cannot connect.\n", "credential", sent=at(2024, 3, 4, 9))
    assert f.school_year == "2023-24" and f.action == "regenerate"


def test_teaching_credentials_are_not_sis_credentials():
    assert facts("Test examiners must hold a valid teaching credential.\n", "credential") == []


# --- retention -----------------------------------------------------------------------

DOWNTIME = "TOMS will be unavailable from Friday, July 30, at 5 p.m. through Tuesday, August 3, at 8 a.m.\n\n"


def test_data_file_removed_during_downtime():
    out = facts(DOWNTIME + "- Save the 2018–19 student score data file. This file will be deleted during the "
                "downtime, because TOMS holds only two years of historical data and one year of current data.\n")
    [r] = [f for f in out if f.kind == "retention"]
    assert r.at == at(2021, 7, 30, 17)
    assert r.school_year == "2018-19" and r.system == "TOMS" and r.keep_years == 3


def test_hand_scoring_responses_cleared_when_downtime_starts():
    out = facts(DOWNTIME + "Once the downtime begins, responses in the Interim Assessment Hand Scoring System "
                "will be cleared and can no longer be hand scored. Finish hand scoring before the system "
                "downtime on July 30.\n")
    [r] = [f for f in out if f.kind == "retention"]
    assert r.at == at(2021, 7, 30, 17) and r.system == "IAHSS"
    assert [f for f in out if f.kind == "deadline"] == []


def test_removal_with_its_own_date():
    [r] = facts("Archived reports will be removed from the portal on June 15, 2021.\n", "retention")
    assert r.at == date(2021, 6, 15)


def test_removal_without_a_time_gives_nothing():
    assert facts("Old reports will be removed eventually.\n", "retention") == []


# --- deadline ------------------------------------------------------------------------

def test_deadline_must_by():
    [f] = facts("Each LEA must submit the participation survey by June 4, 2021.\n", "deadline")
    assert f.due == date(2021, 6, 4)


def test_deadline_have_until_and_no_later_than():
    out = facts("LEAs have until June 4 to order materials.\n\nEmail the signed form no later than June 11.\n",
                "deadline")
    assert [f.due for f in out] == [date(2021, 6, 4), date(2021, 6, 11)]


def test_deadline_label_line():
    [f] = facts("Survey Completion: By June 18, 2021\n\n- Open the survey link\n", "deadline")
    assert f.due == date(2021, 6, 18) and f.action == "complete the Survey"


def test_deadline_with_wrong_weekday_is_dropped():
    # June 4, 2021 is a Friday
    assert facts("The course must be finished by Thursday, June 4, 2021.\n", "deadline") == []


def test_events_and_releases_are_not_deadlines():
    assert facts(
        "Results will be released on May 20, 2021.\n\n"
        "The training opens on Monday, May 10, 2021.\n\n"
        "Join the webinar on May 12 from 1 to 2 p.m.\n\n"
        "The testing window runs from February 1 through May 28, 2021.\n\n"
        "Coordinators will receive a letter on or before May 17, 2021.\n\n"
        "Please do not share results before the public release on or before June 1, 2021.\n") == []


def test_duplicate_due_dates_give_one_deadline():
    out = facts("LEAs must set up a window by December 1, 2021. The calendar locks on December 1, 2021, "
                "and LEAs that have not completed setup by December 1, 2021, must call for help.\n", "deadline",
                sent=at(2021, 9, 1))
    assert [f.due for f in out] == [date(2021, 12, 1)]


def test_notice_without_dates_gives_no_facts():
    assert facts("Thank you for your hard work this year. Here is a template for parent letters.\n") == []


def test_secure_browser_support_ending_is_a_deadline():
    [f] = facts("The 2020–21 secure browsers will no longer be supported after June 30, 2021.\n", "deadline")
    assert f.due == date(2021, 6, 30)


def test_upcoming_dates_line_with_deadline_label():
    out = facts("Upcoming Dates\n\nJune 11: Participation Survey Deadline\nJuly 1: LEA Coordinator Designation "
                "Deadline\n")
    assert [(f.kind, f.due) for f in out] == [("designation", date(2021, 7, 1)), ("deadline", date(2021, 6, 11))]


def test_registration_for_optional_events_is_not_a_deadline():
    assert facts("Register by May 20 for the spring webinar.\n", "deadline") == []


def test_something_the_lea_receives_is_not_a_deadline():
    assert facts("LEAs should receive their secure logon letters by May 17, 2021.\n", "deadline") == []


def test_designation_after_the_downtime_is_not_due_at_its_start():
    out = facts("TOMS will be unavailable from Friday, July 30, at 5 p.m. through Tuesday, August 3, at 8 a.m.\n\n"
                "After the Downtime on August 3\n\n"
                "1. Make sure the superintendent has designated an LEA coordinator for 2021–22.\n", "designation")
    assert out == []


def test_selecting_the_coordinator_is_a_designation():
    [f] = facts("Superintendents must select a primary LEA ELPAC coordinator by June 30, 2021.\n")
    assert f.kind == "designation" and f.due == date(2021, 6, 30)


def test_removal_during_a_named_downtime():
    out = facts(DOWNTIME + "The 2017–18 student data file will be removed during the summer transition downtime.\n")
    [r] = [f for f in out if f.kind == "retention"]
    assert r.at == at(2021, 7, 30, 17) and r.school_year == "2017-18"


def test_two_deadlines_in_one_sentence():
    out = facts("LEAs must order materials by May 14, 2021, and return answer books by June 11, 2021.\n", "deadline")
    assert [f.due for f in out] == [date(2021, 5, 14), date(2021, 6, 11)]


def test_list_intro_ending_in_colon_anchors_items():
    out = facts(DOWNTIME + "Before the downtime on July 30, please:\n\n"
                "- Ensure that the superintendent has designated an LEA coordinator for 2021–22.\n"
                "- Note that all student responses will be cleared from the Interim Assessment Hand Scoring "
                "System.\n")
    kinds = {(f.kind, f.due or f.at) for f in out if f.kind != "downtime"}
    assert kinds == {("designation", at(2021, 7, 30, 17)), ("retention", at(2021, 7, 30, 17))}


def test_a_credential_reminder_that_names_the_secret_key_but_not_the_word_credential():
    from datetime import datetime as _dt
    from zoneinfo import ZoneInfo as _Zone

    from caltac_inbox.classify import classify as _classify
    from caltac_inbox.model import Notice as _Notice

    n = _Notice(source="t.eml", sender="office@example.org", sent=_dt(2026, 2, 3, 9, tzinfo=_Zone("America/Los_Angeles")),
                subject="Score data for your student information system",
                text="So your SIS partner can keep pulling 2025–26 results, generate a fresh secret key in TOMS "
                     "by February 27, 2026.\n")
    [fact] = [f for f in _classify(n) if f.kind == "credential"]
    assert fact.school_year == "2025-26" and fact.action == "generate"


def test_data_that_will_not_be_accessible_after_a_date_is_removed_then():
    from datetime import date as _date
    from datetime import datetime as _dt
    from zoneinfo import ZoneInfo as _Zone

    from caltac_inbox.classify import classify as _classify
    from caltac_inbox.model import Notice as _Notice

    n = _Notice(source="t.eml", sender="office@example.org", sent=_dt(2026, 2, 3, 9, tzinfo=_Zone("America/Los_Angeles")),
                subject="Spring reports",
                text="Last year's roster export files in TOMS will not be accessible after April 30, 2026.\n")
    [fact] = [f for f in _classify(n) if f.kind == "retention"]
    assert fact.at == _date(2026, 4, 30)
