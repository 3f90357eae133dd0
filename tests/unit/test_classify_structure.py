"""Facts whose cue and date stand in different blocks, and the resolver rules that serve
them: each rule on wording written for these tests, not copied from a corpus notice."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from caltac_inbox.classify import classify
from caltac_inbox.classify.text import collapse
from caltac_inbox.model import Notice

LA = ZoneInfo("America/Los_Angeles")


def at(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=LA)


# a Wednesday
SENT = at(2022, 10, 5, 9)


def facts(text, kind=None, sent=SENT, subject="ELPAC: October Update"):
    n = Notice(source="t.eml", text=text, subject=subject, sender="outreach@ets.org", sent=sent)
    out = classify(n)
    for f in out:
        assert f.evidence and all(piece in collapse(text) for piece in f.evidence.split(" … ")), f
    return [f for f in out if kind is None or f.kind == kind]


# --- a list's lead-in gives its items their kind -------------------------------------------

def test_designation_dates_listed_under_their_lead_in():
    found = facts(
        "Naming Your Coordinators\n\n"
        "Each program's coordinator for the 2023–24 year must be named by the dates below:\n\n"
        "- Summative ELPAC: March 15, 2023\n"
        "- Smarter Balanced (CAASPP): June 30, 2023\n", "designation")
    assert [(f.due, f.program, f.school_year) for f in found] == [
        (date(2023, 3, 15), ("ELPAC",), "2023-24"), (date(2023, 6, 30), ("CAASPP",), "2023-24")]
    assert found[1].evidence == ("Each program's coordinator for the 2023–24 year must be named by the dates below: … "
                                 "- Smarter Balanced (CAASPP): June 30, 2023")


def test_deadline_dates_listed_under_a_deadlines_lead_in():
    found = facts(
        "Please note these deadlines for the fall window:\n\n"
        "- October 21: Post-test survey responses\n"
        "- November 4: Return of unused booklets\n", "deadline")
    assert [f.due for f in found] == [date(2022, 10, 21), date(2022, 11, 4)]
    assert found[0].action == "post-test survey responses"


def test_items_under_a_lead_in_without_a_due_word_are_not_deadlines():
    assert facts("Webcasts this fall:\n\n- October 21: Scoring overview\n- November 4: Reports\n",
                 "deadline") == []


def test_removals_listed_under_a_while_the_downtime_lead_in():
    found = facts(
        "The reporting systems will be offline from Friday, October 14, at 6 p.m. until Monday, "
        "October 17, at 7 a.m.\n\n"
        "For as long as that downtime lasts:\n\n"
        "- Scoring assignments will be cleared from the Teacher Hand Scoring System.\n"
        "- Every unfinished practice session will be wiped.\n", "retention")
    # "for as long as ... lasts" is no anchor word: nothing is guessed
    assert found == []
    found = facts(
        "The reporting systems will be offline from Friday, October 14, at 6 p.m. until Monday, "
        "October 17, at 7 a.m.\n\n"
        "While the downtime is under way:\n\n"
        "- Scoring assignments will be cleared from the Teacher Hand Scoring System.\n", "retention")
    [f] = found
    assert f.at == at(2022, 10, 14, 18) and f.system == "THSS"
    assert f.data == "Scoring assignments in the Teacher Hand Scoring System"
    assert f.evidence.startswith("While the downtime is under way: - Scoring")


def test_a_removal_at_the_start_of_the_downtime_takes_its_time():
    [f] = facts(
        "TOMS goes offline Thursday, October 20, at 4 p.m. and returns Tuesday, October 25, at 8 a.m. "
        "Archived rosters will be deleted at the start of the downtime.\n", "retention")
    assert f.at == at(2022, 10, 20, 16)


def test_this_downtime_is_the_one_described_before_it():
    found = facts(
        "The Online Reporting System will be unavailable from Saturday, October 8, through Sunday, October 9.\n\n"
        "During this downtime, incomplete 2021–22 score reports will be removed from the Online Reporting System.\n\n"
        "A second window follows: TOMS will be unavailable from Saturday, November 12, through Monday, November 14.\n")
    [r] = [f for f in found if f.kind == "retention"]
    assert r.at == date(2022, 10, 8)


# --- tables and headings -------------------------------------------------------------------

def test_table_with_a_header_row_gives_one_window_per_row():
    found = facts(
        "Planned Outages\n\n"
        "Application | Offline from | Back online\n"
        "Data Entry Interface | Friday, October 7, 2022, 5 p.m. | Monday, October 10, 2022, 6 a.m.\n"
        "Test Delivery System | Friday, October 7, 2022, 5 p.m. | Sunday, October 9, 2022, 9 p.m.\n",
        "downtime")
    assert [(f.start, f.end, f.systems) for f in found] == [
        (at(2022, 10, 7, 17), at(2022, 10, 10, 6), ("DEI",)),
        (at(2022, 10, 7, 17), at(2022, 10, 9, 21), ("TDS",)),
    ]


def test_a_header_row_is_never_a_heading():
    from caltac_inbox.classify.text import build_doc

    doc = build_doc("Outages\n\nSystem | Start | End\nTOMS | May 3 | May 4\n")
    assert [s.kind for s in doc.sentences] == ["heading", "para", "para"]
    assert doc.sentences[2].header == ("System", "Start", "End") and doc.sentences[2].row


def test_heading_gives_a_weekday_only_window_its_kind():
    [f] = facts(
        "Scheduled Maintenance Weekend\n\n"
        "Work runs from Friday at 6 p.m. to Monday at 7 a.m. Reach out to the help desk with questions.\n",
        "downtime")
    assert (f.start, f.end) == (at(2022, 10, 7, 18), at(2022, 10, 10, 7))
    assert f.systems == ()


def test_weekday_only_window_without_a_downtime_word_is_not_a_downtime():
    assert facts("Office hours\n\nWe answer calls from Friday at 9 a.m. to Monday at 5 p.m.\n", "downtime") == []


# --- other words for a downtime ----------------------------------------------------------

def test_overnight_work_that_crosses_midnight():
    [f] = facts("The Data Entry Interface will be offline for upgrades on October 12 from 9 p.m. to 3 a.m.\n",
                "downtime")
    assert (f.start, f.end) == (at(2022, 10, 12, 21), at(2022, 10, 13, 3))


def test_start_and_end_clauses_in_one_sentence():
    [f] = facts("The Test Delivery System goes offline starting Saturday, October 15, at about 8 p.m., and "
                "the upgrade should be finished by Sunday at 4 a.m.\n", "downtime")
    assert (f.start, f.end) == (at(2022, 10, 15, 20), at(2022, 10, 16, 4))
    assert f.systems == ("TDS",)


def test_one_day_outage():
    [f] = facts("The single day on which the Online Reporting System cannot be accessed is October 19.\n",
                "downtime")
    assert (f.start, f.end, f.systems) == (date(2022, 10, 19), date(2022, 10, 19), ("ORS",))


def test_one_day_outage_needs_a_day_not_a_start():
    assert facts("The Online Reporting System will be unavailable starting October 19.\n", "downtime") == []
    assert facts("The Online Reporting System will be unavailable until October 19.\n", "downtime") == []


def test_rollover_with_systems_is_a_downtime_but_alone_is_not():
    [f] = facts("The year-end rollover of TOMS and the Data Entry Interface runs from October 28 at 5 p.m. "
                "through October 31 at 8 a.m.\n", "downtime")
    assert f.systems == ("TOMS", "DEI")
    assert facts("Our newsletter rollover runs from October 28 through October 31.\n", "downtime") == []


def test_colon_list_of_systems_keeps_unknown_names():
    [f] = facts("These applications will be down from October 21 through October 23: the Test Administrator "
                "(TA) Interface; Scoring Portal; Appeals System.\n", "downtime")
    assert f.systems == ("TAI", "Scoring Portal", "Appeals System")


# --- other words for a deadline ---------------------------------------------------------

def test_the_last_day_to_do_something():
    [f] = facts("The last day to mail back unused Writing booklets is Friday, October 28.\n", "deadline")
    assert f.due == date(2022, 10, 28) and f.action == "mail back unused Writing booklets"
    [f] = facts("Friday, October 28, is the last day to order extra braille kits.\n", "deadline")
    assert f.due == date(2022, 10, 28) and f.action == "order extra braille kits"


def test_imperative_after_an_introductory_clause():
    [f] = facts("To keep your spot, request a courier pickup by October 26.\n", "deadline")
    assert f.due == date(2022, 10, 26)


def test_something_that_happens_to_the_lea_in_another_clause_is_not_a_deadline():
    found = facts("The deadline to apply for a stipend is October 14, and winners will be notified by "
                  "October 31.\n", "deadline")
    assert [f.due for f in found] == [date(2022, 10, 14)]


# --- dates that are not facts -------------------------------------------------------------

def test_the_date_under_a_newsletter_title_is_not_a_fact():
    assert facts("ELPAC Monthly Bulletin, Issue 12, October 5, 2022\n\n"
                 "Nothing else to report this month.\n") == []
    assert facts("Testing News\nOctober 5, 2022\n\nThe survey must be completed by October 20.\n",
                 "deadline")[0].due == date(2022, 10, 20)


def test_eligibility_and_legal_dates_are_not_deadlines():
    assert facts("Students who must take the test are those who are six years old on or before "
                 "December 2, 2022.\n", "deadline") == []
    assert facts("LEAs must follow the regulation that became effective by January 1, 2020.\n",
                 "deadline") == []


# --- rules learned from the second half of the corpus, each in other words -------------------

def test_deadline_nouns_before_and_after_the_date():
    [f] = facts("For scoring to finish in time, the final date to mail completed Speaking booklets to the "
                "scoring center is November 2, 2022.\n", "deadline")
    assert f.due == date(2022, 11, 2) and f.action == "mail completed Speaking booklets to the scoring center"
    [f] = facts("November 9, 2022, is the cutoff for submitting a 2022–23 accommodation request.\n", "deadline")
    assert f.due == date(2022, 11, 9) and f.action == "submit a 2022–23 accommodation request"


def test_dated_label_with_a_final_date():
    [f] = facts("Key Dates\n\nNovember 4: Final Date to Order Braille Kits\n\nOrders close at noon.\n", "deadline")
    assert f.due == date(2022, 11, 4)


def test_an_earliest_day_is_not_a_deadline():
    assert facts("Schools must give the screener within 30 days of enrollment, but not before August 15.\n",
                 "deadline") == []
    assert facts("Results must be entered no earlier than November 1.\n", "deadline") == []


def test_the_terms_of_a_law_are_not_deadlines():
    assert facts("Per Education Code Section 60640, districts must notify parents by October 31.\n",
                 "deadline") == []


def test_downtime_assembled_from_its_start_and_resume_references():
    found = facts(
        "Things to keep in mind:\n\n"
        "- Draft rosters will be removed during the downtime that starts on October 21.\n"
        "- Save your work before the system downtime on October 21, 2022, at 6 p.m.\n"
        "- When systems return at 7 a.m. on October 24, 2022, rosters must be rebuilt.\n")
    [d] = [f for f in found if f.kind == "downtime"]
    assert (d.start, d.end, d.systems) == (at(2022, 10, 21, 18), at(2022, 10, 24, 7), ())
    [r] = [f for f in found if f.kind == "retention"]
    assert r.at == at(2022, 10, 21, 18)  # the time said once, in another item


def test_a_downtime_reference_without_a_resume_gives_its_time_but_no_window():
    found = facts("Unscored responses will be cleared during the downtime that begins on October 21. Finish "
                  "scoring before the downtime on October 21 at 4 p.m.\n")
    assert [f.kind for f in found] == ["retention"] and found[0].at == at(2022, 10, 21, 16)


def test_after_the_downtime_is_no_start_reference():
    found = facts("After the downtime on October 24, old rosters will be removed from TOMS.\n", "retention")
    assert found == [] or found[0].at == date(2022, 10, 24)


def test_data_that_stays_available_until_a_time_is_removed_then():
    [f] = facts("Custom student groups in CERS will remain available until 6 p.m. on October 20, 2022.\n",
                "retention")
    assert f.at == at(2022, 10, 20, 18) and f.system == "CERS"
    assert facts("The 2022–23 practice tests stay available until October 20, 2022.\n", "retention") == []


def test_rollover_to_a_new_administration_year_is_a_downtime():
    [f] = facts("Accounts transition into the new school year from Friday, October 28, 2022, at 6 p.m. "
                "through Monday, October 31, 2022, at 7 a.m.\n", "downtime")
    assert (f.start, f.end) == (at(2022, 10, 28, 18), at(2022, 10, 31, 7))


def test_the_sentence_after_a_window_says_what_is_unavailable():
    [f] = facts(
        "Servers are being upgraded from Friday, October 14, at 6 p.m. to Sunday, October 16, at 10 p.m. "
        "During that time, no practice test can be started in these applications:\n\n"
        "- Test Delivery System\n- Data Entry Interface\n", "downtime")
    assert (f.start, f.end, f.systems) == (at(2022, 10, 14, 18), at(2022, 10, 16, 22), ("TDS", "DEI"))
    assert facts("Servers are being upgraded from Friday, October 14, to Sunday, October 16. During that time, "
                 "our staff will answer questions by phone.\n", "downtime") == []


def test_an_offset_from_a_date_is_not_a_deadline():
    assert facts("Send in every incident report two weeks before November 18 so cases can be reviewed.\n",
                 "deadline") == []


def test_a_requirement_before_a_close_dated_in_the_sentence_before():
    [f] = facts("Fall Window\n\nThe fall screening window ends on November 18, 2022. Before it closes, be sure "
                "every student's Listening domain is scored.\n", "deadline")
    assert f.due == date(2022, 11, 18) and f.action.startswith("be sure every student")
    assert facts("The fall screening window ends on November 18, 2022. Before it closes, we will post a "
                 "reminder.\n", "deadline") == []


# --- rules learned from a third set of notices, each in other words ------------------------

def test_item_ends_under_a_lead_in_start():
    found = facts(
        "Scoring systems shut down starting Thursday, October 20, at 6 p.m. Each returns on its own schedule:\n\n"
        "- The Data Entry Interface stays unavailable until Monday, October 24.\n"
        "- The Teacher Hand Scoring System stays unavailable until Wednesday, October 26, at 7 a.m.\n", "downtime")
    assert [(f.start, f.end, f.systems) for f in found] == [
        (at(2022, 10, 20, 18), date(2022, 10, 24), ("DEI",)),
        (at(2022, 10, 20, 18), at(2022, 10, 26, 7), ("THSS",)),
    ]


def test_extension_that_gives_a_new_return_time():
    [f] = facts("We have extended the outage of the Data Entry Interface; it will now come back online at 9 a.m. on "
                "Friday, October 7.\n", "downtime")
    assert (f.start, f.end, f.status) == (None, at(2022, 10, 7, 9), "extended")


def test_a_window_that_ends_with_the_others():
    found = facts("TOMS and the Test Delivery System will be offline from Friday, October 14, at 6 p.m. until "
                  "Monday, October 17, at 7 a.m. CERS goes offline earlier, starting Thursday, October 13, at "
                  "noon, and returns with the rest of the systems.\n", "downtime")
    assert [(f.start, f.end) for f in found] == [(at(2022, 10, 14, 18), at(2022, 10, 17, 7)),
                                                 (at(2022, 10, 13, 12), at(2022, 10, 17, 7))]


def test_by_this_date_in_a_dated_item():
    found = facts("Coming up:\n\n- Tuesday, November 1: Districts need to file their testing calendars in TOMS "
                  "by this date.\n- Friday, November 4: Staff workshop.\n", "deadline")
    assert [f.due for f in found] == [date(2022, 11, 1)]


def test_two_designation_dates_in_one_sentence_each_with_its_program():
    found = facts("Charter administrators must designate the ELPAC coordinator no later than March 1, 2023, and the "
                  "CAASPP coordinator no later than July 1, 2023.\n", "designation")
    assert [(f.due, f.program) for f in found] == [(date(2023, 3, 1), ("ELPAC",)), (date(2023, 7, 1), ("CAASPP",))]


def test_a_lone_date_takes_a_time_range_written_apart():
    [f] = facts("- Sunday, October 9: planned TOMS maintenance, 4 a.m. to 10 a.m.; TOMS cannot be used then.\n",
                "downtime")
    assert (f.start, f.end) == (at(2022, 10, 9, 4), at(2022, 10, 9, 10))


def test_removal_at_that_moment_takes_the_anchor_of_the_sentence_before():
    [r] = facts("TOMS is offline from Friday, October 14, at 6 p.m. until Monday, October 17, at 7 a.m.\n\n"
                "Finish your scoring before the downtime. At that point every unscored response is wiped "
                "from the scoring system.\n", "retention")
    assert r.at == at(2022, 10, 14, 18)


def test_data_not_retained_once_the_downtime_starts():
    [r] = facts("TOMS is offline from Friday, October 14, at 6 p.m. until Monday, October 17, at 7 a.m. The "
                "2017–18 score file will not be retained once the downtime starts.\n", "retention")
    assert r.at == at(2022, 10, 14, 18)


def test_removal_when_one_system_goes_offline_and_the_downtime_of_the_datas_system():
    text = ("The rollover takes these systems offline:\n\nSystem | Off | On\n"
            "CERS | Thursday, October 13, 2022, 5 p.m. | Monday, October 17, 2022, 7 a.m.\n"
            "Teacher Hand Scoring System | Friday, October 14, 2022, 5 p.m. | Monday, October 17, 2022, 7 a.m.\n\n"
            "Unscored responses will be cleared once the Teacher Hand Scoring System goes offline.\n")
    [r] = facts(text, "retention")
    assert r.at == at(2022, 10, 14, 17)
    [r] = facts(text.replace("once the Teacher Hand Scoring System goes offline",
                             "from the Teacher Hand Scoring System during the downtime"), "retention")
    assert r.at == at(2022, 10, 14, 17)


# --- rules learned from a fourth set of notices, each in other words -----------------------

def test_a_parenthesised_weekday_after_the_date_is_checked():
    [f] = facts("- Oct. 14 (Fri.): Unused booklets must be boxed for return.\n", "deadline")
    assert f.due == date(2022, 10, 14)
    assert facts("- Oct. 14 (Thu.): Unused booklets must be boxed for return.\n", "deadline") == []


def test_weekday_the_nth_takes_the_month_that_agrees():
    [f] = facts("TOMS is offline from 6 p.m. on Friday the 14th until 7 a.m. on Monday, October 17. Scores "
                "will be cleared from the DEI before the systems go offline on Friday the 14th.\n", "downtime")
    assert (f.start, f.end) == (at(2022, 10, 14, 18), at(2022, 10, 17, 7))


def test_eastern_time_named_twice():
    [f] = facts("Support for the old kiosk app ends at 9 p.m. Eastern Time (ET) on Friday, October 21, 2022.\n",
                "deadline")
    assert f.due == datetime(2022, 10, 21, 21, 0, tzinfo=ZoneInfo("America/New_York"))


def test_tomorrow_and_its_weekday_are_one_day_and_the_return_comes_later():
    found = facts("Year-End Update\n\nThe reporting systems go dark tomorrow, Thursday, at 6 p.m.\n\n"
                  "Other News\n\nA new manual is posted.\n\nBack Online\n\nSystems come back online Monday at "
                  "8 a.m.\n", "downtime")
    assert [(f.start, f.end) for f in found] == [(at(2022, 10, 6, 18), at(2022, 10, 10, 8))]


def test_a_table_with_a_date_column_and_required_rows():
    found = facts("Key Dates\n\nWhen | What\nOct. 12 (Wed.) | Rosters must be finalized in TOMS\n"
                  "Oct. 19 (Wed.) | Open house webcast\n", "deadline")
    assert [f.due for f in found] == [date(2022, 10, 12)]


def test_numbered_dated_instructions_under_a_deadlines_lead_in():
    found = facts("These dates apply:\n\n1. Friday, October 21 -- Upload the accommodations file in TOMS.\n"
                  "2. Tuesday, November 1 -- Staff breakfast in the library.\n", "deadline")
    assert [f.due for f in found] == [date(2022, 10, 21)]


def test_a_dated_heading_with_an_imperative_is_not_a_deadline():
    assert facts("October 21: Request Pickups\n\nOctober 21 is the first day you may request a pickup.\n",
                 "deadline") == []


def test_window_to_submit_closes_and_survey_ends():
    [f] = facts("The window to file testing irregularity reports closes at noon on Friday, October 28.\n",
                "deadline")
    assert f.due == at(2022, 10, 28, 12)
    [f] = facts("The 2022–23 Site Coordinator Survey ends at 11:59 p.m. on Monday, October 31.\n", "deadline")
    assert f.due == at(2022, 10, 31, 23, 59)


def test_designations_listed_with_dot_leaders():
    found = facts("Due dates for this year's designations:\n\nELPAC ....... 3/1/2023\nCAASPP ....... 7/3/2023\n",
                  "designation")
    assert [(f.due, f.program) for f in found] == [(date(2023, 3, 1), ("ELPAC",)), (date(2023, 7, 3), ("CAASPP",))]


def test_a_vague_subject_under_a_designation_heading():
    [f] = facts("Naming Your 2023–24 LEA ELPAC Coordinator\n\nThe online form is open now. It must be submitted by "
                "Friday, October 28.\n", "designation")
    assert f.due == date(2022, 10, 28)
    assert facts("Naming Your 2023–24 LEA ELPAC Coordinator\n\nThe online form is open now. It must be "
                 "submitted by Friday, October 28.\n", "deadline") == []


def test_an_extension_with_its_end_in_the_next_sentence():
    [f] = facts("The CALPADS maintenance has been prolonged. CALPADS will not accept uploads again until "
                "Wednesday, October 12.\n", "downtime")
    assert (f.start, f.end, f.status, f.systems) == (None, date(2022, 10, 12), "extended", ("CALPADS",))


def test_a_bare_window_and_its_items_in_a_down_section():
    found = facts("Fall Maintenance\n\nFriday, October 14, at 6 p.m. through Sunday, October 23, at 11:59 p.m.\n\n"
                  "The schedule by system:\n\n"
                  "- October 14 through October 18 — TOMS\n- October 14 through October 23 — the Data Entry Interface\n\n"
                  "While these systems are offline, no scores can be entered.\n", "downtime")
    assert [(f.start, f.end) for f in found] == [(at(2022, 10, 14, 18), at(2022, 10, 23, 23, 59)),
                                                 (at(2022, 10, 14, 18), date(2022, 10, 18))]
    assert found[1].systems == ("TOMS",)


def test_removal_after_that_and_before_the_next_sentences_anchor():
    [r] = facts("CERS access to last year's groups ends at 5 p.m. on Friday, October 14. After that, those "
                "groups will be deleted.\n", "retention")
    assert r.at == at(2022, 10, 14, 17)
    [r] = facts("The reporting systems go offline Friday, October 14, at 6 p.m. and return Monday, October 17, at "
                "7 a.m. Unsubmitted score entries in the DEI will not carry over. Submit them before the systems go "
                "offline.\n", "retention")
    assert r.at == at(2022, 10, 14, 18)


# --- rules learned from a fifth set of notices, each in other words ------------------------

def test_a_window_that_must_end_by_one_of_two_days_is_no_deadline():
    assert facts("Each school's window must close no later than June 2 or its last instructional day, whichever "
                 "is earlier.\n", "deadline") == []


def test_designation_noun_with_a_requirement_after_a_coordinator_sentence():
    [f] = facts("Every LEA names a CAASPP coordinator each year. For 2023–24 that designation happens in TOMS and "
                "must be done no later than Monday, July 3, 2023.\n", "designation")
    assert f.due == date(2023, 7, 3)


def test_plural_deadlines_lead_in_for_designations():
    found = facts("This year's designation deadlines are:\n\n- ELPAC: Wednesday, March 1, 2023\n"
                  "- CAASPP: Monday, July 3, 2023\n", "designation")
    assert [f.due for f in found] == [date(2023, 3, 1), date(2023, 7, 3)]


def test_returns_in_a_table_under_a_start():
    found = facts("Systems go offline starting Friday, October 14, at 6 p.m. and come back in two steps:\n\n"
                  "System: Back\nTest Operations Management System: Monday, October 17, at 7 a.m.\n"
                  "Data Entry Interface and Teacher Hand Scoring System: Wednesday, October 19, at 7 a.m.\n",
                  "downtime")
    assert [(f.start, f.end, f.systems) for f in found] == [
        (at(2022, 10, 14, 18), at(2022, 10, 17, 7), ("TOMS",)),
        (at(2022, 10, 14, 18), at(2022, 10, 19, 7), ("DEI", "THSS")),
    ]


def test_an_extension_that_restates_when_the_outage_began():
    [f] = facts("The Data Entry Interface went offline on October 3, and the outage has been extended until "
                "Friday, October 7.\n", "downtime")
    assert (f.start, f.end, f.status) == (date(2022, 10, 3), date(2022, 10, 7), "extended")


def test_during_the_downtime_takes_the_window_of_no_named_system_over_another_systems():
    found = facts("All systems will be down from Friday, October 14, at 6 p.m. to Monday, October 17, at 7 a.m. "
                  "CERS alone is unavailable from Thursday, October 13, at 6 p.m. to Monday, October 17, at 7 a.m.\n\n"
                  "Unscored responses in the Teacher Hand Scoring System will be removed during the downtime.\n",
                  "retention")
    assert [f.at for f in found] == [at(2022, 10, 14, 18)]


def test_the_heading_says_which_downtime():
    found = facts("TOMS is down from Friday, October 14, at 6 p.m. to Monday, October 17, at 7 a.m. CERS is down "
                  "from Thursday, November 3, at 6 p.m. to Monday, November 7, at 7 a.m.\n\n"
                  "Before the Downtime on November 3\n\nOld report files will be removed during the downtime.\n",
                  "retention")
    assert [f.at for f in found] == [at(2022, 11, 3, 18)]


# --- leads: dated sentences that gave no fact -------------------------------------------------

def test_leads_list_dated_sentences_without_facts_with_their_reason():
    from caltac_inbox.classify import classify_with_leads

    n = Notice(source="t.eml", sender="outreach@ets.org", sent=SENT, subject="Update",
               text="ELPAC Bulletin, October 5, 2022\n\n"
                    "The survey must be submitted by October 20.\n\n"
                    "A webcast airs October 12 at 3 p.m.\n\n"
                    "The fall window opens October 17.\n\n"
                    "Please bring your binder on October 25.\n\n"
                    "Reply by Thursday, October 15.\n")
    found, leads = classify_with_leads(n)
    assert [f.due for f in found if f.kind == "deadline"] == [date(2022, 10, 20)]
    assert [(lead.when, lead.reason) for lead in leads] == [
        (date(2022, 10, 5), "title date"),
        (at(2022, 10, 12, 15), "not a fact: training or event"),
        (date(2022, 10, 17), "not a fact: testing window"),
        (date(2022, 10, 25), "no cue"),
        (None, "weekday mismatch"),
    ]
    assert leads[-1].sentence == "Reply by Thursday, October 15."


# --- rules learned from a sixth set of notices, each in other words ------------------------

def test_offline_on_one_day_and_down_until_another_in_one_sentence():
    [f] = facts("The Data Entry Interface will go offline on October 21 and stay down until October 24, 2022.\n",
                "downtime")
    assert (f.start, f.end, f.systems) == (date(2022, 10, 21), date(2022, 10, 24), ("DEI",))


def test_went_down_and_will_not_return_until():
    [f] = facts("CALPADS went down for maintenance on October 3, 2022, and will not take uploads again until "
                "Friday, October 7, 2022.\n", "downtime")
    assert (f.start, f.end) == (date(2022, 10, 3), date(2022, 10, 7))


def test_when_that_downtime_starts_uses_the_start_named_with_its_time():
    [r] = facts("Interim tests remain open until the system downtime that begins on Friday, October 14, at 6 p.m.\n\n"
                "When that downtime starts, unscored responses in the THSS will be cleared.\n", "retention")
    assert r.at == at(2022, 10, 14, 18)


def test_check_that_the_coordinator_was_designated_before_the_dated_downtime():
    [d] = facts("TOMS is down from Friday, October 14, 2022, at 6 p.m. until Monday, October 17, 2022, at 7 a.m.\n\n"
                "Before the October 14 Downtime\n\n- Check that the superintendent has designated the LEA CAASPP "
                "coordinator for 2023–24, who can add users when TOMS reopens on October 17.\n", "designation")
    assert d.due == at(2022, 10, 14, 18)


def test_a_restated_removal_is_one_fact():
    found = facts("TOMS is down from Friday, October 14, 2022, at 6 p.m. until Monday, October 17, 2022, at 7 a.m.\n\n"
                  "- Save the 2019–20 score file. TOMS keeps only three years of files, so this file will be deleted "
                  "during the downtime.\n\nDuring the Downtime\n\n- The 2019–20 score file is deleted from TOMS.\n",
                  "retention")
    assert [(f.at, f.system, f.school_year) for f in found] == [(at(2022, 10, 14, 18), "TOMS", "2019-20")]


# --- rules learned from a seventh set of notices, each in other words ----------------------

def test_taken_offline_at_a_time_and_unavailable_through_another():
    [f] = facts("The DEI and TOMS will be taken offline at 6:00 p.m. on Friday, October 14, and will stay unavailable "
                "through 11:59 p.m. on Sunday, October 23.\n", "downtime")
    assert (f.start, f.end) == (at(2022, 10, 14, 18), at(2022, 10, 23, 23, 59))


def test_an_ordinal_word_date():
    [f] = facts("The outage begins Friday, December 23, at 6 p.m. and lasts through 7 a.m. on the third of January.\n",
                "downtime")
    assert (f.start, f.end) == (at(2022, 12, 23, 18), at(2023, 1, 3, 7))


def test_an_extension_sentence_after_the_start_with_two_dates():
    [f] = facts("The maintenance that began this morning, Saturday, October 8, at 6 a.m., is running long. TOMS will "
                "now stay unavailable until 2 p.m. on Sunday, October 9, instead of returning at noon today.\n",
                "downtime")
    assert (f.start, f.end) == (at(2022, 10, 8, 6), at(2022, 10, 9, 14))


def test_the_day_something_was_sent_is_no_designation_due():
    found = facts("No LEA ELPAC coordinator was designated by October 1, 2022, so the superintendent became the "
                  "coordinator by default, as the instructions e-mailed on August 15, 2022, explained.\n",
                  "designation")
    assert [f.due for f in found] == [date(2022, 10, 1)]


def test_so_that_introduces_an_imperative():
    [f] = facts("So that every appeal can be processed, file all open appeals in TOMS by noon on 10/28.\n",
                "deadline")
    assert f.due == at(2022, 10, 28, 12)


def test_no_later_than_that_date_refers_to_the_sentence_before():
    [f] = facts("Version 15 of the kiosk app is supported only through Friday, December 16, 2022. Schools must "
                "install version 16 on every testing device no later than that date.\n", "deadline")
    assert f.due == date(2022, 12, 16)


def test_a_lead_in_with_a_date_sets_its_designation_item_and_is_no_deadline_itself():
    found = facts("TOMS is down from 6 p.m. on Friday, October 14, 2022, until 7 a.m. on Monday, October 17, 2022.\n\n"
                  "Before 6 p.m. on October 14, the outgoing coordinator should:\n\n"
                  "- Make sure the superintendent has designated an LEA CAASPP coordinator for 2023–24.\n"
                  "- Download the list of users.\n")
    assert [(f.kind, f.due) for f in found if f.kind in ("designation", "deadline")] == [
        ("designation", at(2022, 10, 14, 18))]


def test_a_person_or_a_room_unavailable_is_no_downtime():
    assert facts("I will be unavailable from October 10 to October 12; please write to Maria.\n", "downtime") == []
    assert facts("The library will be unavailable from October 10 to October 12 for maintenance.\n", "downtime") == []
    [f] = facts("The district portal will be down for maintenance from 8 p.m. Friday to 6 a.m. Saturday.\n",
                "downtime")
    assert (f.start, f.end) == (at(2022, 10, 7, 20), at(2022, 10, 8, 6))


def test_a_window_that_refers_back_takes_the_system_named_before():
    [f] = facts("CALPADS is moving to new servers. It will be offline from October 21 through October 24, 2022.\n",
                "downtime")
    assert f.systems == ("CALPADS",)
