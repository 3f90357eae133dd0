"""Downtime windows, on notices written for these tests."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from caltac_inbox.classify import classify
from caltac_inbox.model import Notice

LA = ZoneInfo("America/Los_Angeles")


def notice(text, sent=datetime(2021, 3, 10, 9, tzinfo=LA), subject="CAASPP: System Notice",
           sender="caltac@ets.org"):
    return Notice(source="t.eml", text=text, subject=subject, sender=sender, sent=sent)


def downtimes(text, **kw):
    return [f for f in classify(notice(text, **kw)) if f.kind == "downtime"]


def at(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=LA)


def test_window_with_listed_systems():
    [f] = downtimes(
        "Dear LEA CAASPP Coordinator:\n\n"
        "The following systems will be offline from Friday, April 9, at 6 p.m. through Monday, April 12, at 7 a.m.:\n\n"
        "- Test Operations Management System\n- Online Reporting System\n- Data Entry Interface\n\n"
        "Thank you for your patience.\n")
    assert (f.start, f.end) == (at(2021, 4, 9, 18), at(2021, 4, 12, 7))
    assert f.systems == ("TOMS", "ORS", "DEI")
    assert f.status == "scheduled"


def test_systems_named_in_the_sentence_and_during_sentence():
    [f] = downtimes(
        "The Test Delivery System will be unavailable from Friday, April 9, at 6 p.m. through Sunday, April 11, "
        "at 9 p.m. The Data Entry Interface also goes quiet during this downtime.\n")
    assert f.systems == ("TDS", "DEI")


def test_no_systems_named_gives_empty_list():
    [f] = downtimes("Systems will be down for maintenance April 17–18.\n")
    assert (f.start, f.end, f.systems) == (date(2021, 4, 17), date(2021, 4, 18), ())


def test_per_system_windows_become_one_fact_each_and_borrow_summary_times():
    facts = downtimes(
        "Spring Maintenance\n\n"
        "Maintenance runs from Friday, April 30, at 6 p.m. through Sunday, May 9, at 11:59 p.m., and each system "
        "returns on its own schedule:\n\n"
        "- Online Reporting System: April 30–May 4\n"
        "- Test Delivery System: April 30–May 9\n"
        "- Test Administrator Interface: April 30–May 9\n")
    assert [(f.start, f.end, f.systems) for f in facts] == [
        (at(2021, 4, 30, 18), date(2021, 5, 4), ("ORS",)),
        (at(2021, 4, 30, 18), at(2021, 5, 9, 23, 59), ("TDS", "TAI")),
    ]


def test_list_items_with_their_own_ranges_under_a_downtime_intro():
    facts = downtimes(
        "Mark your calendar: these maintenance windows are planned this spring:\n\n"
        "- April 16–18, weekend maintenance\n- May 21–23, system upgrade\n")
    assert [(f.start, f.end) for f in facts] == [(date(2021, 4, 16), date(2021, 4, 18)),
                                                (date(2021, 5, 21), date(2021, 5, 23))]


def test_extended_downtime_without_start():
    [f] = downtimes(
        "Our upgrade is taking longer than planned, so we have extended the downtime through 5 p.m. on "
        "Wednesday, March 17, 2021.\n\nDuring the extended downtime through March 17, these systems stay offline:\n\n"
        "- Test Operations Management System (TOMS)\n- Appeals and Roster Management System\n")
    assert f.start is None and f.end == at(2021, 3, 17, 17)
    assert f.status == "extended"
    assert f.systems == ("TOMS", "ARMS")


def test_downtime_already_over_is_still_a_fact():
    [f] = downtimes("The downtime began Friday, March 5, at 5 p.m. and ran through Monday, March 8, at 8 a.m.\n")
    assert (f.start, f.end) == (at(2021, 3, 5, 17), at(2021, 3, 8, 8))


def test_rescheduled_keeps_only_the_new_window():
    [f] = downtimes("The downtime planned for April 16–18 has been rescheduled to April 23–25.\n")
    assert (f.start, f.end, f.status) == (date(2021, 4, 23), date(2021, 4, 25), "rescheduled")


def test_cancelled_status():
    [f] = downtimes("The maintenance downtime for April 16–18 has been cancelled.\n")
    assert f.status == "cancelled"


def test_same_window_in_heading_and_body_merges():
    facts = downtimes(
        "April 9–12: Scheduled System Downtime\n\n"
        "Systems will be unavailable from Friday, April 9, at 6 p.m. through Monday, April 12, at 7 a.m.\n")
    assert [(f.start, f.end) for f in facts] == [(at(2021, 4, 9, 18), at(2021, 4, 12, 7))]


def test_ranges_without_downtime_words_are_not_downtimes():
    assert downtimes(
        "The LEA preview of results runs April 19 through May 3, 2021.\n\n"
        "The testing window is open from February 1 through May 28, 2021.\n\n"
        "Register for the webcast series April 20–22.\n") == []


def test_sessions_of_a_training_are_not_downtimes():
    assert downtimes("Training sessions: Tuesday, April 13, 2021: 9–11 a.m.; 1–3 p.m.\n") == []


def test_program_from_the_sentence():
    [f] = downtimes("Several CAASPP and ELPAC systems will be unavailable April 17–18.\n",
                    subject="Assessment Spotlight")
    assert f.program == ("CAASPP", "ELPAC")


def test_school_year_from_the_sentence():
    [f] = downtimes("To prepare for the 2021–22 school year, TOMS will be unavailable from Friday, "
                    "August 13, at 5 p.m. through Tuesday, August 17, at 8 a.m.\n")
    assert f.school_year == "2021-22"
    assert f.systems == ("TOMS",)


def test_table_rows_with_start_and_end_columns():
    facts = downtimes(
        "Scheduled Downtime\n\n"
        "System | Start | End\n"
        "Online Reporting System | Friday, April 9, 2021, 6 p.m. | Monday, April 12, 2021, 7 a.m.\n"
        "Parent Portal | Friday, April 9, 2021, 6 p.m. | Sunday, April 11, 2021, 7 a.m.\n")
    assert [(f.start, f.end, f.systems) for f in facts] == [
        (at(2021, 4, 9, 18), at(2021, 4, 12, 7), ("ORS",)),
        (at(2021, 4, 9, 18), at(2021, 4, 11, 7), ("Parent Portal",)),
    ]


def test_dated_heading_that_is_not_a_table_row():
    facts = downtimes(
        "Upcoming Dates\n\n"
        "April 20–21: Science Data Review Meeting\n\n"
        "Apply through the portal.\n\n"
        "April 24–25: System Downtime\n\n"
        "Plan testing around it.\n")
    assert [(f.start, f.end) for f in facts] == [(date(2021, 4, 24), date(2021, 4, 25))]


def test_unrelated_range_after_a_downtime_sentence_is_not_a_downtime():
    facts = downtimes("TOMS will be unavailable April 17–18. The results preview runs April 20 through May 4.\n")
    assert [(f.start, f.end) for f in facts] == [(date(2021, 4, 17), date(2021, 4, 18))]


def test_list_of_instructions_is_not_a_list_of_systems():
    [f] = downtimes(
        "Systems will be unavailable from Friday, April 9, at 6 p.m. through Monday, April 12, at 7 a.m. "
        "Before then, please:\n\n- download your reports\n- finish hand scoring in time\n")
    assert f.systems == ()


def test_systems_named_in_a_following_sentence():
    [f] = downtimes("Systems will be unavailable April 17–18. The Test Delivery System and the Data Entry "
                    "Interface will be affected.\n")
    assert f.systems == ("TDS", "DEI")


def test_systems_list_under_an_affected_systems_line():
    [f] = downtimes("A downtime runs April 17–18.\n\nAffected systems:\n\n- Test Delivery System\n- Student Interface\n")
    assert f.systems == ("TDS", "Student Interface")


def test_list_after_a_closing_sentence_without_colon():
    [f] = downtimes("Systems will be unavailable April 17–18. The following systems will be offline.\n\n"
                    "- Test Operations Management System\n")
    assert f.systems == ("TOMS",)


def test_systems_that_stay_up_are_not_listed():
    [f] = downtimes("TOMS will be unavailable on Tuesday, March 16, from 7 p.m. to 10 p.m., but the Test Delivery "
                    "System remains available. Testing in the Data Entry Interface will not be affected.\n")
    assert (f.start, f.end, f.systems) == (at(2021, 3, 16, 19), at(2021, 3, 16, 22), ("TOMS",))


def test_start_and_end_in_consecutive_sentences():
    [f] = downtimes("The downtime begins Friday, April 9, at 6 p.m. Systems will be back online Monday, April 12, "
                    "at 7 a.m.\n")
    assert (f.start, f.end) == (at(2021, 4, 9, 18), at(2021, 4, 12, 7))


def test_unavailable_then_results_available_is_not_a_window():
    assert downtimes("TOMS will be unavailable starting March 20. Results will be available on March 25.\n") == []


def test_per_system_starts_with_a_shared_end_in_the_next_sentence():
    text = ("Scheduled maintenance begins for CERS on Thursday, June 3, 2021, and for the ORS on Saturday, "
            "June 5, 2021. The outages for CERS and the ORS both last until Wednesday, June 9, 2021.\n")
    got = sorted((f.start, f.end, f.systems) for f in downtimes(text))
    assert got == [(date(2021, 6, 3), date(2021, 6, 9), ("CERS",)), (date(2021, 6, 5), date(2021, 6, 9), ("ORS",))]


def test_shared_end_needs_a_system_for_every_start():
    text = ("Scheduled maintenance begins for CERS on Thursday, June 3, 2021, and on Saturday, June 5, 2021. "
            "The outages both last until Wednesday, June 9, 2021.\n")
    assert all(f.systems != ("CERS",) or f.start != date(2021, 6, 3) or f.end != date(2021, 6, 9)
               for f in downtimes(text))
