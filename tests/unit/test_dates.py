"""The date resolver, on sentences written for these tests."""
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from caltac_inbox.classify import dates

LA = ZoneInfo("America/Los_Angeles")


def at(y, mo, d, h=0, mi=0, tz=LA):
    return datetime(y, mo, d, h, mi, tzinfo=tz)


def resolved(text, sent):
    return [(m.start.when if m.start else None, m.stop.when if m.stop else None)
            for m in dates.find_mentions(text, sent)]


SENT = at(2021, 3, 10, 9)


# --- the year of a date written without one -------------------------------------------

def test_yearless_date_takes_the_sent_year_when_still_ahead():
    assert resolved("Forms are due April 2.", SENT) == [(date(2021, 4, 2), None)]


def test_yearless_date_already_past_rolls_to_next_year():
    assert resolved("Orders open on February 1.", SENT) == [(date(2022, 2, 1), None)]


def test_yearless_date_a_few_days_back_keeps_the_sent_year():
    # notice sent Wednesday March 10: "last Friday, March 5" stays in 2021
    assert resolved("The outage began Friday, March 5.", SENT) == [(date(2021, 3, 5), None)]


def test_past_tense_reaches_further_back():
    sent = at(2021, 9, 14, 8)
    assert resolved("The cutoff was July 1.", sent) == [(date(2021, 7, 1), None)]
    # without the past tense the same words point at next year
    assert resolved("The cutoff is July 1.", sent) == [(date(2022, 7, 1), None)]


def test_weekday_must_agree_with_the_chosendate():
    # March 12, 2021 is a Friday
    assert resolved("Reply by Friday, March 12.", SENT) == [(date(2021, 3, 12), None)]
    assert resolved("Reply by Tuesday, March 12.", SENT) == []


def test_weekday_contradicting_a_written_year_drops_thedate():
    # December 5, 2026 is a Saturday
    assert resolved("Finish by Friday, December 5, 2026.", SENT) == []
    assert resolved("Finish by Saturday, December 5, 2026.", SENT) == [(date(2026, 12, 5), None)]


def test_year_crossing_the_new_year():
    sent = at(2021, 12, 20, 10)
    assert resolved("Systems return on January 4.", sent) == [(date(2022, 1, 4), None)]


def test_resolve_year_directly():
    assert dates.resolve_year(6, 30, date(2022, 5, 1)) == date(2022, 6, 30)
    assert dates.resolve_year(6, 30, date(2022, 8, 1)) == date(2023, 6, 30)
    assert dates.resolve_year(6, 30, date(2022, 8, 1), past=True) == date(2022, 6, 30)
    assert dates.resolve_year(2, 30, date(2022, 1, 1)) is None
    assert dates.resolve_year(6, 30, None) is None


# --- written forms ----------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Submit it by Aug. 9, 2021.", date(2021, 8, 9)),
    ("Submit it by Sept. 9, 2021.", date(2021, 9, 9)),
    ("Submit it by Sep 9, 2021.", date(2021, 9, 9)),
    ("Submit it by 9/9/2021.", date(2021, 9, 9)),
    ("Submit it by 9/9/21.", date(2021, 9, 9)),
    ("Submit it by 9/9.", date(2021, 9, 9)),
    ("Submit it by Thurs., Sept. 9.", date(2021, 9, 9)),
    ("Submit it by September 9th.", date(2021, 9, 9)),
])
def test_date_forms(text, expected):
    assert resolved(text, SENT) == [(expected, None)]


@pytest.mark.parametrize("text", [
    "Students may take the test twice.",
    "We recommend the 2021–22 Student Data File.",
    "The test takes 24–48 hours to score.",
    "Results arrive within 20 working days.",
    "Call 800-955-2954 for help.",
    "Grades 3–8 and 11 participate.",
    "About 1/2 of students tested.",
])
def test_things_that_are_not_dates(text):
    got = resolved(text, SENT)
    # "1/2" reads as a numeric date only with a real month/day; it is January 2 here,
    # which the classifiers never take without a deadline word, so only check the rest
    if "1/2" in text:
        return
    assert got == []


# --- times -----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("5 p.m.", time(17, 0)), ("8 a.m.", time(8, 0)), ("noon", time(12, 0)),
    ("11:59 p.m.", time(23, 59)), ("12 a.m.", time(0, 0)), ("12 p.m.", time(12, 0)),
    ("6 PM", time(18, 0)), ("7:30am", time(7, 30)),
])
def test_parse_time(text, expected):
    assert dates.parse_time(text) == expected


def test_date_only_stays_a_date_and_time_makes_an_aware_datetime():
    [(value, _)] = resolved("Due Monday, March 15, at 3 p.m.", SENT)
    assert value == at(2021, 3, 15, 15)
    assert value.utcoffset() is not None
    [(value, _)] = resolved("Due Monday, March 15.", SENT)
    assert type(value) is date


def test_named_zone_is_kept():
    [(value, _)] = resolved("The portal closes March 15 at 4 p.m. ET.", SENT)
    assert value == datetime(2021, 3, 15, 16, tzinfo=ZoneInfo("America/New_York"))


def test_time_before_thedate():
    [(value, _)] = resolved("Access ends at 11:59 p.m. on Wednesday, March 31, 2021.", SENT)
    assert value == at(2021, 3, 31, 23, 59)


# --- ranges --------------------------------------------------------------------------

def test_range_start_borrows_year_from_end():
    got = resolved("Offline from Friday, April 2 at 5 p.m. through Tuesday, April 6, 2021, at 8 a.m.", SENT)
    assert got == [(at(2021, 4, 2, 17), at(2021, 4, 6, 8))]


def test_range_across_months_with_weekdays_and_times():
    got = resolved("It runs from Friday, April 30, at 6 p.m. through Sunday, May 9, at 11:59 p.m.", SENT)
    assert got == [(at(2021, 4, 30, 18), at(2021, 5, 9, 23, 59))]


def test_range_start_borrows_month_from_end():
    assert resolved("Closed April 12–14 for upgrades.", SENT) == [(date(2021, 4, 12), date(2021, 4, 14))]
    assert resolved("Closed April 12 through 14, 2021.", SENT) == [(date(2021, 4, 12), date(2021, 4, 14))]


def test_range_with_dash_between_months():
    assert resolved("ORS: April 28–May 3", SENT) == [(date(2021, 4, 28), date(2021, 5, 3))]


def test_range_over_new_year():
    sent = at(2021, 12, 1)
    assert resolved("Down December 30–January 2.", sent) == [(date(2021, 12, 30), date(2022, 1, 2))]


def test_range_with_times_written_first():
    got = resolved("Down from 6 p.m. on Friday, April 9, through 7 a.m. on Monday, April 12.", SENT)
    assert got == [(at(2021, 4, 9, 18), at(2021, 4, 12, 7))]


def test_range_that_resumes():
    got = resolved("Offline starting at 5 p.m. on Friday, April 9, and will resume at 8 a.m. on Monday, April 12.", SENT)
    assert got == [(at(2021, 4, 9, 17), at(2021, 4, 12, 8))]


def test_list_of_days_shares_year_and_time_span():
    got = resolved("Unavailable from 7 a.m. through 9 a.m. PT on April 6, 7, and 8, 2021.", SENT)
    assert got == [(at(2021, 4, d, 7), at(2021, 4, d, 9)) for d in (6, 7, 8)]


def test_start_borrows_am_pm_from_end():
    got = resolved("Unavailable from 7 through 9 a.m. on April 6.", SENT)
    assert got == [(at(2021, 4, 6, 7), at(2021, 4, 6, 9))]


def test_time_range_after_thedate():
    got = resolved("The portal is down Saturday, April 10, from 6 a.m. to noon.", SENT)
    assert got == [(at(2021, 4, 10, 6), at(2021, 4, 10, 12))]


def test_range_with_wrong_weekday_is_dropped():
    # April 2, 2021 is a Friday, not a Thursday
    assert resolved("Down Thursday, April 2, through Monday, April 5.", SENT) == []


# --- school years and retention horizons ----------------------------------------------

@pytest.mark.parametrize("text", ["2021–22", "2021-2022", "2021—22", "2021–2022 school year", "2021 - 22"])
def test_school_year_styles(text):
    assert dates.normalize_school_year(text) == "2021-22"


def test_school_years_rejects_non_consecutive_years():
    assert dates.school_years("for 2019–21 and 2020–21") == ["2020-21"]


def test_school_year_of_a_day():
    assert dates.school_year_of(date(2022, 6, 30)) == "2021-22"
    assert dates.school_year_of(date(2022, 7, 1)) == "2022-23"


@pytest.mark.parametrize("text, years", [
    ("TOMS keeps four years of historical data.", 4),
    ("the system retains 2 years of historical data and one year of current data", 3),
    ("Keep your files safe.", None),
])
def test_keep_years(text, years):
    assert dates.keep_years(text) == years


# --- relative anchors ----------------------------------------------------------------

def test_relative_anchor_withdate():
    a = dates.relative_anchor("Prior to the Downtime on March 26", SENT)
    assert a is not None and a.day == date(2021, 3, 26)
    a = dates.relative_anchor("Export the files before the March 26 downtime.", SENT)
    assert a is not None and a.day == date(2021, 3, 26)


def test_relative_anchor_withoutdate():
    for text in ("Finish scoring before the system downtime.", "Files are deleted during the downtime.",
                 "Responses are purged as soon as the downtime starts.", "Save reports before TOMS closes."):
        a = dates.relative_anchor(text, SENT)
        assert a is not None and a.day is None, text


def test_no_anchor_in_plain_sentence():
    assert dates.relative_anchor("The downtime lasts four days.", SENT) is None


@pytest.mark.parametrize("text, expected", [
    ("The downtime begins Friday, April 9, 2021, at 6 p.m., and ends Monday, April 12, 2021, at 7 a.m.",
     (at(2021, 4, 9, 18), at(2021, 4, 12, 7))),
    ("It will start on Friday, April 9, at 6 p.m. and end on Monday, April 12, at 7 a.m.",
     (at(2021, 4, 9, 18), at(2021, 4, 12, 7))),
    ("Downtime: Friday, April 9, 6 p.m. – Monday, April 12, 7 a.m.", (at(2021, 4, 9, 18), at(2021, 4, 12, 7))),
    ("Offline between 9 p.m. Friday, April 9, and 5 a.m. Saturday, April 10.",
     (at(2021, 4, 9, 21), at(2021, 4, 10, 5))),
    ("Offline Fri., 4/9, 6 p.m. through Mon., 4/12, 7 a.m.", (at(2021, 4, 9, 18), at(2021, 4, 12, 7))),
    ("The outage began Friday, March 5, at 5 p.m. and ran through Monday, March 8, at 8 a.m.",
     (at(2021, 3, 5, 17), at(2021, 3, 8, 8))),
])
def test_range_wordings(text, expected):
    assert resolved(text, SENT) == [expected]


def test_and_without_between_is_two_dates_not_a_range():
    assert resolved("Pickups are April 6 and April 20.", SENT) == [(date(2021, 4, 6), None), (date(2021, 4, 20), None)]


def test_no_sent_date_keeps_only_dates_with_years():
    assert resolved("Due April 2 or April 9, 2021.", None) == [(date(2021, 4, 9), None)]


def test_day_first_ordinal_forms():
    assert resolved("Reply by the 2nd of April.", SENT) == [(date(2021, 4, 2), None)]
    assert resolved("Reply by 2nd April 2021.", SENT) == [(date(2021, 4, 2), None)]
    assert resolved("Grade 3 May scores", SENT) == []


def test_midnight_ends_a_day_unless_it_starts_a_range():
    got = resolved("Offline from midnight on Friday, April 9, through midnight on Sunday, April 11.", SENT)
    assert got == [(at(2021, 4, 9, 0, 0), at(2021, 4, 11, 23, 59))]
    assert resolved("Submit by midnight on April 9.", SENT) == [(at(2021, 4, 9, 23, 59), None)]


def test_times_in_parentheses():
    got = resolved("Offline from Friday, April 9 (6 p.m.) through Monday, April 12 (7 a.m.).", SENT)
    assert got == [(at(2021, 4, 9, 18), at(2021, 4, 12, 7))]


# --- day first without an ordinal ------------------------------------------------------

def test_day_first_with_year():
    assert resolved("from 8 March 2021 to 11 March 2021", SENT) == [(date(2021, 3, 8), date(2021, 3, 11))]


def test_day_first_with_weekday_checks_the_weekday():
    assert resolved("on Friday 12 March", SENT) == [(date(2021, 3, 12), None)]
    assert resolved("on Thursday 12 March", SENT) == []


def test_bare_day_before_month_is_nodate():
    assert resolved("Grade 8 March results", SENT) == []
    assert resolved("grade 8 May 2021 scores", SENT) == []
    assert resolved("students in grades 3 through 8 May 2021 testing", SENT) == []


# --- rules added for notices the finder had not seen (each also has a classifier test) --------

WED = at(2022, 10, 5, 9)  # a Wednesday


def test_weekday_written_alone_is_the_next_such_day():
    assert resolved("Reply by Friday.", WED) == [(date(2022, 10, 7), None)]
    assert resolved("The form closed last Monday.", WED) == [(date(2022, 10, 3), None)]  # past tense looks back
    assert resolved("Office hours are held every Friday.", WED) == []
    assert resolved("Fridays are quiet.", WED) == []


def test_weekday_range_counts_the_end_from_the_start():
    assert resolved("Work runs from Friday at 5 p.m. to Tuesday at 8 a.m.", WED) == [
        (at(2022, 10, 7, 17), at(2022, 10, 11, 8))]
    # a same-weekday end that would come before the start is the next week
    assert resolved("From Friday at 9 p.m. to Friday at 6 a.m.", WED) == [(at(2022, 10, 7, 21), at(2022, 10, 14, 6))]


def test_weekday_alone_counts_from_the_date_before_it_in_the_paragraph():
    assert dates.find_mentions("Systems return Monday at 7 a.m.", WED, after=date(2022, 10, 21))[0].start.when \
        == at(2022, 10, 24, 7)


def test_today_tonight_tomorrow_and_an_appositivedate():
    assert resolved("The survey closes tomorrow.", WED) == [(date(2022, 10, 6), None)]
    assert resolved("Maintenance starts tonight at 9 p.m.", WED) == [(at(2022, 10, 5, 21), None)]
    # the written date stands for "today": one mention, not two
    assert resolved("Starting today, Wednesday, October 5, at 5 p.m., TOMS is offline.", WED) == [
        (at(2022, 10, 5, 17), None)]
    # the weekday after "tomorrow" says the same day, and the time after it belongs to it
    assert resolved("Systems go dark tomorrow, Thursday, at 6 p.m.", WED) == [(at(2022, 10, 6, 18), None)]


def test_time_range_crossing_midnight_ends_the_next_day():
    assert resolved("Offline on October 12 from 10 p.m. to 2 a.m.", WED) == [(at(2022, 10, 12, 22), at(2022, 10, 13, 2))]
    assert resolved("On Saturday, October 8, from 6 a.m. to noon.", WED) == [(at(2022, 10, 8, 6), at(2022, 10, 8, 12))]


def test_a_lone_date_takes_a_time_range_written_apart_from_it():
    assert resolved("Saturday, October 8: maintenance, 6 a.m. to 6 p.m.", WED) == [
        (at(2022, 10, 8, 6), at(2022, 10, 8, 18))]
    # two dates: no guessing which one the times belong to
    assert resolved("October 8 and October 15: maintenance, 6 a.m. to 6 p.m.", WED) == [
        (date(2022, 10, 8), None), (date(2022, 10, 15), None)]


def test_approximately_and_a_parenthesised_zone_keep_the_time():
    assert resolved("It starts Saturday, October 8, at approximately 7 p.m.", WED) == [(at(2022, 10, 8, 19), None)]
    et = ZoneInfo("America/New_York")
    assert resolved("Support ends at 11:59 p.m. Eastern time (ET) on Friday, October 21.", WED) == [
        (datetime(2022, 10, 21, 23, 59, tzinfo=et), None)]


def test_weekday_in_parentheses_after_the_date_must_agree():
    assert resolved("Oct. 7 (Fri.): books due.", WED) == [(date(2022, 10, 7), None)]
    assert resolved("the 7th of October (a Friday)", WED) == [(date(2022, 10, 7), None)]
    assert resolved("Oct. 7 (Thu.): books due.", WED) == []


def test_weekday_the_nth_finds_its_month():
    assert resolved("Ship them by Friday the 14th.", WED) == [(date(2022, 10, 14), None)]
    assert resolved("Ship them by Tuesday the 15th.", WED) == [(date(2022, 11, 15), None)]  # October 15 is a Saturday


def test_dropped_dates_are_reported_for_review():
    assert dates.dropped_dates("Reply by Thursday, October 15.", WED) == ["Thursday, October 15"]
    assert dates.dropped_dates("Reply by Saturday, October 15.", WED) == []


def test_a_window_under_way_began_before_the_notice_and_ends_after_it():
    [m] = dates.find_mentions("The feedback form has been open from January 12 through April 3.", datetime(2026, 3, 2, 9))
    assert (m.start.day, m.stop.day) == (date(2026, 1, 12), date(2026, 4, 3))  # not 2027


def test_a_date_spoken_of_as_past_is_the_nearest_such_day_before_the_notice():
    [m] = dates.find_mentions("Seat requests were due Friday, October 10.", datetime(2026, 3, 2, 9))
    assert m.point.day == date(2025, 10, 10)
    [m] = dates.find_mentions("The October 10 cutoff for seat requests has passed.", datetime(2026, 3, 2, 9))
    assert m.point.day == date(2025, 10, 10)
