"""Wordings of real CalTAC/CDE notices that the dev corpus does not show, written for these tests."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from caltac_inbox.classify import classify
from caltac_inbox.classify.text import collapse
from caltac_inbox.model import Notice

LA = ZoneInfo("America/Los_Angeles")
SENT = datetime(2024, 3, 1, 9, tzinfo=LA)  # a Friday


def at(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=LA)


def facts(text, kind=None, sent=SENT, subject="CAASPP: Monthly Update"):
    n = Notice(source="t.eml", text=text, subject=subject, sender="caltac@ets.org", sent=sent)
    out = classify(n)
    for f in out:
        assert f.evidence and all(piece in collapse(text) for piece in f.evidence.split(" … ")), f
    return [f for f in out if kind is None or f.kind == kind]


# --- downtime ------------------------------------------------------------------------

def test_until_with_times_before_dates():
    [f] = facts("TOMS will be unavailable from 6 p.m. on Friday, March 8, until 6 a.m. on Monday, March 11.\n",
                "downtime")
    assert (f.start, f.end, f.systems) == (at(2024, 3, 8, 18), at(2024, 3, 11, 6), ("TOMS",))


def test_between_and():
    [f] = facts("ORS will not be available between 5 p.m. on March 8 and 8 a.m. on March 11.\n", "downtime")
    assert (f.start, f.end) == (at(2024, 3, 8, 17), at(2024, 3, 11, 8))


def test_start_and_end_in_non_adjacent_sentences():
    [f] = facts("A scheduled system downtime will begin at 5 p.m. on Friday, March 8. During this time, TOMS and "
                "the Test Delivery System will be unavailable. All systems will be available again at 8 a.m. on "
                "Monday, March 11.\n", "downtime")
    assert (f.start, f.end) == (at(2024, 3, 8, 17), at(2024, 3, 11, 8))
    assert set(f.systems) >= {"TOMS", "TDS"}


def test_day_first_dates():
    [f] = facts("TOMS will be offline for maintenance from 8 March 2024 to 11 March 2024.\n", "downtime")
    assert (f.start, f.end) == (date(2024, 3, 8), date(2024, 3, 11))


def test_day_first_does_not_read_counts():
    assert facts("Grade 8 March results will be available in ORS.\n", "downtime") == []


def test_cancelled_with_one_date():
    [f] = facts("The TOMS downtime scheduled for Saturday, March 9, has been cancelled.\n", "downtime")
    assert (f.start, f.end, f.status) == (date(2024, 3, 9), date(2024, 3, 9), "cancelled")


def test_rescheduled_to_one_date():
    [f] = facts("The ORS maintenance downtime originally planned for March 9 has been rescheduled to "
                "Saturday, March 16.\n", "downtime")
    assert (f.start, f.end, f.status) == (date(2024, 3, 16), date(2024, 3, 16), "rescheduled")


def test_rescheduled_to_time_span_on_one_day():
    [f] = facts("The downtime has been rescheduled to Saturday, March 16, from 6 a.m. to noon.\n", "downtime")
    assert (f.start, f.end, f.status) == (at(2024, 3, 16, 6), at(2024, 3, 16, 12), "rescheduled")


# --- deadlines -----------------------------------------------------------------------

def test_closes_on():
    [f] = facts("The LEA Post-Test Survey closes on May 5.\n", "deadline")
    assert f.due == date(2024, 5, 5)


def test_before_with_imperative_and_short_action():
    [f] = facts("Complete the Summative ELPAC LEA Certification Course before April 1.\n", "deadline")
    assert f.due == date(2024, 4, 1)
    assert f.action == "complete the Summative ELPAC LEA Certification Course"


def test_submit_by_action():
    [f] = facts("Please submit the CAASPP Post-Test Survey by Friday, June 14.\n", "deadline")
    assert f.due == date(2024, 6, 14) and f.action == "submit the CAASPP Post-Test Survey"


def test_have_until_action_and_school_year():
    [f] = facts("LEAs have until April 12 to set up the 2023–24 CAASPP test administration window in TOMS.\n",
                "deadline")
    assert f.due == date(2024, 4, 12) and f.school_year == "2023-24"
    assert f.action == "set up the 2023–24 CAASPP test administration window in TOMS"


def test_passive_no_later_than_with_time():
    [f] = facts("The LEA Certification Course must be completed no later than 5 p.m. on Friday, March 29.\n",
                "deadline")
    assert f.due == at(2024, 3, 29, 17)
    assert f.action == "complete the LEA Certification Course"


def test_secure_browser_support_ends():
    [f] = facts("The 2023–24 secure browser will no longer be supported after June 30, 2024.\n", "deadline")
    assert f.due == date(2024, 6, 30) and f.school_year == "2023-24"


def test_wrong_weekday_gives_no_deadline():
    assert facts("Submit the survey by Friday, June 13.\n", "deadline") == []


# --- retention -----------------------------------------------------------------------

def test_retention_year_and_system_from_elsewhere_in_notice():
    text = ("2022–23 Student Score Data Files\n\n"
            "Student Score Data Files remain available in TOMS for download.\n\n"
            "The files will be removed on July 1, 2024. Download them before then.\n")
    [f] = facts(text, "retention")
    assert f.at == date(2024, 7, 1) and f.school_year == "2022-23" and f.system == "TOMS"


def test_cancelled_webinar_is_no_downtime():
    assert facts("The March 9 webinar about the TOMS downtime has been cancelled.\n", "downtime") == []


def test_is_due_action():
    [f] = facts("The 2023–24 Student Accessibility Resources Form is due on Friday, April 5.\n", "deadline")
    assert f.due == date(2024, 4, 5)
    assert f.action == "submit the 2023–24 Student Accessibility Resources Form"


def test_applications_due_action():
    [f] = facts("Applications for the CSA Item Writer Workshop are due by March 22.\n", "deadline")
    assert f.due == date(2024, 3, 22) and f.action == "apply for the CSA Item Writer Workshop"


def test_action_falls_back_to_sentence_for_pronoun_subject():
    [f] = facts("It must be completed by March 22.\n", "deadline")
    assert f.action == "It must be completed by March 22."


def test_interim_hand_scoring_retention_is_caasspp_only():
    text = ("CAASPP and ELPAC systems will be unavailable from Friday, August 14, at 5 p.m. through Thursday, "
            "August 20, at 8 a.m. ELPAC and CAASPP coordinators should plan ahead.\n\n"
            "As soon as the downtime starts, all student responses will be cleared from the Interim Assessment "
            "Hand Scoring System.\n")
    [f] = facts(text, "retention", sent=at(2020, 8, 3, 9), subject="Assessment Spotlight")
    assert f.program == ("CAASPP",) and f.system == "IAHSS" and f.at == at(2020, 8, 14, 17)


def test_cancelled_range_us_spelling():
    [f] = facts("The system downtime that was scheduled for Friday, March 8, through Monday, March 11, has been "
                "canceled.\n", "downtime")
    assert (f.start, f.end, f.status) == (date(2024, 3, 8), date(2024, 3, 11), "cancelled")


def test_beginning_and_ending_clauses():
    [f] = facts("Beginning at 5 p.m. on Friday, March 8, and ending at 8 a.m. on Monday, March 11, TOMS will be "
                "unavailable.\n", "downtime")
    assert (f.start, f.end) == (at(2024, 3, 8, 17), at(2024, 3, 11, 8))


def test_down_starting_and_will_return():
    [f] = facts("ORS will be down starting Friday, March 8, at 6 p.m. PT and will return Monday, March 11, "
                "at 6 a.m. PT.\n", "downtime")
    assert (f.start, f.end) == (at(2024, 3, 8, 18), at(2024, 3, 11, 6))


def test_the_deadline_to_act_is():
    [f] = facts("The deadline to submit the LEA Post-Test Survey is Friday, April 5.\n", "deadline")
    assert f.due == date(2024, 4, 5) and f.action == "submit the LEA Post-Test Survey"


def test_on_or_before():
    [f] = facts("LEAs must complete the certification on or before April 1.\n", "deadline")
    assert f.due == date(2024, 4, 1) and f.action == "complete the certification"


def test_training_date_is_no_deadline():
    assert facts("Register for the ELPAC training on April 10, 2024.\n", "deadline") == []


def test_times_after_dates_with_commas():
    [f] = facts("TOMS will be unavailable Friday, March 8, 6 p.m., to Monday, March 11, 6 a.m.\n", "downtime")
    assert (f.start, f.end) == (at(2024, 3, 8, 18), at(2024, 3, 11, 6))


def test_zone_before_weekday():
    [f] = facts("TOMS will be offline from 5 p.m. PT Friday, March 8, through 8 a.m. PT Monday, March 11.\n",
                "downtime")
    assert (f.start, f.end) == (at(2024, 3, 8, 17), at(2024, 3, 11, 8))


def test_start_and_end_in_next_paragraph():
    [f] = facts("The scheduled TOMS downtime will begin at 5 p.m. on Friday, March 8.\n\n"
                "TOMS will be available again at 8 a.m. on Monday, March 11.\n", "downtime")
    assert (f.start, f.end) == (at(2024, 3, 8, 17), at(2024, 3, 11, 8))


# --- deadline action wording ------------------------------------------------------------

def test_action_keeps_the_when_the_name_goes_on_after_its_acronym():
    [f] = facts("The Science Content Review (SCR) Panel application must be submitted by March 22.\n", "deadline")
    assert f.action == "submit the SCR Panel application"


def test_action_apply_to_participate_in_is_apply_to():
    [f] = facts("Applications to participate in the Math Field Test Advisory Group are due by March 22.\n",
                "deadline")
    assert f.action == "apply to the Math Field Test Advisory Group"


def test_action_takes_the_system_its_paragraph_names_before_it():
    [f] = facts("You may now schedule pickups in the Test Operations Management System (TOMS). Every pickup must "
                "be scheduled by March 22.\n", "deadline")
    assert f.action == "schedule every pickup in TOMS"


def test_action_takes_the_system_its_paragraph_names_after_it():
    [f] = facts("Each roster must be uploaded by March 22. Rosters are uploaded in the Appeals and Roster "
                "Management System (ARMS).\n", "deadline")
    assert f.action == "upload each roster in ARMS"


def test_action_takes_no_system_from_another_paragraph_or_another_thing():
    [f] = facts("You may now schedule pickups in the Test Operations Management System (TOMS).\n\n"
                "Every pickup must be scheduled by March 22.\n", "deadline")
    assert f.action == "schedule every pickup"
    [g] = facts("Reports are posted in the Online Reporting System (ORS). Every pickup must be scheduled by "
                "March 22.\n", "deadline")
    assert g.action == "schedule every pickup"


def test_action_drops_make_sure_and_says_each_thing_done_as_the_act():
    [f] = facts("The spring window closes on March 22. Before it closes, make sure every seating chart is signed "
                "and every incident report has been approved by your principal.\n", "deadline")
    assert f.due == date(2024, 3, 22)
    assert f.action == "sign every seating chart and approve every incident report by your principal"


def test_action_keeps_make_sure_when_a_clause_is_no_thing_done():
    [f] = facts("Make sure your proctors know the rules by March 22.\n", "deadline")
    assert f.action == "make sure the proctors know the rules"


def test_action_puts_the_means_first():
    [f] = facts("Confirm the carton count by calling the warehouse no later than March 22.\n", "deadline")
    assert f.action == "call the warehouse to confirm the carton count"
    [g] = facts("Submit the survey by sending it to the district office no later than March 22.\n", "deadline")
    assert g.action == "submit the survey by sending it to the district office"


def test_action_names_the_things_a_generic_word_stands_for():
    [f] = facts("Districts keep their unused Braille Test Booklets until testing ends. Schools must return "
                "materials to the warehouse by March 22.\n", "deadline")
    assert f.action == "return Braille Test Booklets to the warehouse"
    [g] = facts("Districts keep their unused Braille Test Booklets until testing ends.\n\nSchools must return "
                "materials to the warehouse by March 22.\n", "deadline")
    assert g.action == "return materials to the warehouse"


def test_action_keeps_the_full_name_a_nearer_mention_only_shortens():
    [f] = facts("Send back used Grade 3 Science Braille Booklets each week. The warehouse counts the Science Braille "
                "Booklets it receives. To be counted, all Booklets must be returned by March 22.\n", "deadline")
    assert f.action == "return all Grade 3 Science Braille Booklets"


def test_last_day_for_a_doer_to_act_is_the_act():
    [f] = facts("March 22 is the final day for school districts to enter their accommodations for the spring "
                "field test.\n", "deadline")
    assert f.action == "enter the accommodations for the spring field test"


def test_sentence_adverb_and_means_in_a_clause_without_a_task_verb():
    [f] = facts("In any case, let the warehouse know how many cartons you packed by filling out the Carton Count "
                "Sheet no later than March 22.\n", "deadline")
    assert f.action == "fill out the Carton Count Sheet"


def test_means_that_reports_drops_the_reporting_aim():
    [f] = facts("Tell the regional office which devices failed by submitting the Device Readiness Log no later "
                "than March 22.\n", "deadline")
    assert f.action == "submit the Device Readiness Log"


def test_place_from_paragraph_uses_the_short_system_code():
    [f] = facts("Each roster must be uploaded by March 22. Rosters are uploaded in the Test Operations Management "
                "System for the spring tests.\n", "deadline")
    assert f.action == "upload each roster in TOMS"


def test_heading_names_a_described_object():
    [f] = facts("Now Open: Spring Device Readiness Questionnaire\n\nThis year's questionnaire about device readiness "
                "for the spring tests is open and will stay open until March 22.\n", "deadline")
    assert f.action == "complete the Spring Device Readiness Questionnaire"


def test_heading_names_a_described_object_in_an_imperative():
    [f] = facts("Reminder: Winter Staffing Survey\n\nPlease complete the survey on winter staffing levels by "
                "March 22.\n", "deadline")
    assert f.action == "complete the Winter Staffing Survey"


def test_grade_span_is_short_and_purpose_tail_goes():
    [f] = facts("Districts must mail the graded grades three through grade eight (3–8) Reading Booklets to the "
                "warehouse for processing by March 22.\n", "deadline")
    assert f.action == "mail the graded 3–8 Reading Booklets to the warehouse"


def test_schedule_for_an_event_puts_the_event_first():
    [f] = facts("Each Braille Test Kit must be scheduled for collection by March 22.\n", "deadline")
    assert f.action == "schedule collection of each Braille Test Kit"
