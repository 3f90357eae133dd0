"""The arbiter's rules, cue by cue: each on wording written from FACTS.md and the cue's idea,
not copied from a corpus notice. `explain` names the rule that decided, so each test also
checks that its rule, not an older one, made the fact."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from caltac_inbox.classify import classify, classify_with_leads
from caltac_inbox.classify.arbiter import decide
from caltac_inbox.classify.context import Context
from caltac_inbox.classify.explain import explain, explain_lines
from caltac_inbox.model import Notice

LA = ZoneInfo("America/Los_Angeles")
SENT = datetime(2026, 3, 2, 9, 30, tzinfo=LA)  # a Monday


def notice(text: str, subject: str = "Assessment office news", sent: datetime = SENT) -> Notice:
    return Notice(source="t.eml", text=text, subject=subject, sender="office@example.org", sent=sent)


def deadlines(text: str, **kw) -> list:
    return [f for f in classify(notice(text, **kw)) if f.kind == "deadline"]


def decision(text: str, day: date, **kw) -> str:
    """What the arbiter's own table makes of the candidate on `day` when no kind classifier
    proposed a fact: the rule under test, whatever the older deadline rules would say."""
    ctx = Context.of(notice(text, **kw))
    for d in decide(ctx, []):
        when = d.candidate.when.date() if isinstance(d.candidate.when, datetime) else d.candidate.when
        if when == day:
            return f"fact: {d.kind} ({d.reason})" if d.kind else f"lead: {d.reason}"
    raise AssertionError(f"no candidate on {day}")


@pytest.mark.parametrize("text, due, rule, verb", [
    ("Our staffing questionnaire remains open through Thursday, March 12, 2026.\n",
     date(2026, 3, 12), "a form that closes", "complete"),
    ("The district feedback poll, which stays open until March 13, asks about device readiness.\n",
     date(2026, 3, 13), "a form that closes", "complete"),
    ("The cutoff for the equipment inventory has been moved to March 20, 2026.\n",
     date(2026, 3, 20), "a moved due date", None),
    ("The department recommends that schools finish the practice questions by March 12, 2026.\n",
     date(2026, 3, 12), "a recommended date", "finish"),
    ("Updated rosters should be uploaded to the portal by Monday, March 9.\n",
     date(2026, 3, 9), "a passive task", "upload"),
    (("Late tablets may still come back, provided they are shipped to the depot by the final collection day of "
      "March 27, 2026.\n"), date(2026, 3, 27), "a passive task", "ship"),
    ("Each principal must assign a room monitor through the request form by the deadline, March 16, 2026.\n",
     date(2026, 3, 16), "a required task by a date", "assign"),
])
def test_a_rule_over_cues_makes_a_deadline(text, due, rule, verb):
    [fact] = deadlines(text)
    assert fact.due == due
    assert decision(text, due) == f"fact: deadline ({rule})"
    if verb:
        assert fact.action.startswith(verb), fact.action


def test_a_labelled_date_under_a_heading_that_names_the_task():
    text = "## Return the loaner tablets\n\n- Due: Friday, March 27, 2026\n- Contact: the help desk\n"
    [fact] = deadlines(text)
    assert fact.due == date(2026, 3, 27)
    assert decision(text, date(2026, 3, 27)) == "fact: deadline (a labelled date under its task)"


def test_a_deadline_spoken_of_as_past_takes_the_date_before_the_notice():
    text = "The deadline to order replacement kits ended February 2, so late orders go to the waitlist.\n"
    [fact] = deadlines(text)
    assert fact.due == date(2026, 2, 2)  # not February 2, 2027
    assert decision(text, date(2026, 2, 2)) == "fact: deadline (a deadline spoken of as past)"


def test_a_heading_that_carries_the_task_and_its_date():
    text = "# Confirm Your Testing Rooms by March 18\n\nThe form asks for each room's capacity and proctor.\n"
    [fact] = deadlines(text)
    assert fact.due == date(2026, 3, 18)


@pytest.mark.parametrize("text, day, reason", [
    ("A webinar on scoring rubrics is planned for March 10, 2026.\n", date(2026, 3, 10), "training or event"),
    ("The spring testing window opens March 16, 2026.\n", date(2026, 3, 16), "testing window"),
    ("Family score reports will be released on March 25, 2026.\n", date(2026, 3, 25), "results release"),
    ("Children who turn five on or before September 1, 2026 are eligible to enroll.\n", date(2026, 9, 1),
     "eligibility"),
    ("Send the reminder letters two weeks before March 30, 2026.\n", date(2026, 3, 30), "offset"),
])
def test_dates_the_contract_leaves_out_become_leads_with_their_reason(text, day, reason):
    found, leads = classify_with_leads(notice(text))
    assert not [f for f in found if f.kind == "deadline"]
    assert [(lead.when, lead.reason) for lead in leads] == [(day, f"not a fact: {reason}")]


def test_a_restated_day_is_one_fact():
    text = ("Please complete the staffing questionnaire by March 12, 2026.\n\n"
            "As a reminder, the staffing questionnaire stays open through March 12, 2026.\n")
    assert [f.due for f in deadlines(text)] == [date(2026, 3, 12)]


def test_every_candidate_without_a_fact_is_a_lead():
    text = ("Please complete the staffing questionnaire by March 12, 2026.\n\n"
            "We moved offices on February 20, 2026, and the phone number is the same.\n\n"
            "Bring a printed badge on March 19.\n")
    found, leads = classify_with_leads(notice(text))
    assert [f.due for f in found] == [date(2026, 3, 12)]
    assert {lead.when for lead in leads} == {date(2026, 2, 20), date(2026, 3, 19)}
    assert all(lead.reason for lead in leads)


def test_explain_names_the_cues_and_the_decision_of_every_dated_sentence():
    text = ("The department recommends that schools finish the practice questions by March 12, 2026.\n\n"
            "A webinar on scoring rubrics is planned for March 10, 2026.\n\n"
            "This paragraph has no date.\n")
    found = explain(notice(text))
    assert [s.sentence[:20] for s in found] == ["The department recom", "A webinar on scoring"]
    first = found[0].dates[0]
    assert {"recommendation", "task verb", "due marker"} <= set(first.cues) and first.kind == "deadline"
    second = found[1].dates[0]
    assert "training" in second.cues and second.kind is None
    lines = explain_lines(notice(text))
    assert "    2026-03-12: fact: deadline (a recommended date); cues: " in "\n".join(lines)
    assert "2026-03-10: lead: not a fact: training or event" in "\n".join(lines)


def test_the_replaced_date_of_a_moved_deadline_is_no_fact():
    text = "The cutoff for the equipment inventory was pushed back from March 6 to March 20, 2026.\n"
    assert [f.due for f in deadlines(text)] == [date(2026, 3, 20)]


def test_extract_explain_prints_each_dated_sentence_with_its_decision(tmp_path):
    from click.testing import CliRunner

    from caltac_inbox.cli import main

    eml = tmp_path / "n.eml"
    eml.write_text("From: office@example.org\nTo: lea@example.org\nSubject: Assessment office news\n"
                   "Date: Mon, 02 Mar 2026 09:30:00 -0800\nMessage-ID: <x@example.org>\n\n"
                   "Our staffing questionnaire remains open through Thursday, March 12, 2026.\n\n"
                   "The spring testing window opens March 16, 2026.\n")
    result = CliRunner().invoke(main, ["extract", "--explain", str(eml)])
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    assert out[0] == str(eml)
    assert out[1] == "  Our staffing questionnaire remains open through Thursday, March 12, 2026."
    assert out[2].startswith("    2026-03-12: fact: deadline (a form that closes); cues: ")
    assert out[4].startswith("    2026-03-16: lead: not a fact: testing window; cues: ")


def test_a_form_open_over_a_window_is_due_when_it_closes():
    text = "The parent language survey is open from March 9 through March 20, 2026.\n"
    [fact] = deadlines(text)
    assert fact.due == date(2026, 3, 20)
    assert decision(text, date(2026, 3, 9)) == "fact: deadline (a form open over a window)"


def test_a_testing_window_open_over_days_is_no_deadline():
    text = "The spring testing window is open from March 9 through May 29, 2026.\n"
    assert deadlines(text) == []


def test_a_deadline_said_to_have_passed_after_its_date_is_before_the_notice():
    text = "The Tuesday, January 13 deadline to reserve spare headsets has passed; late requests go to the help desk.\n"
    [fact] = deadlines(text)
    assert fact.due == date(2026, 1, 13)  # a Tuesday in 2026, before the notice: not 2027


def test_a_thing_said_to_be_due_at_a_time_on_a_date():
    text = "The signed proctor roster is due at 3:30 p.m. on Wednesday, March 25, 2026.\n"
    [fact] = deadlines(text)
    assert fact.due == datetime(2026, 3, 25, 15, 30, tzinfo=LA)


def test_the_dates_of_a_colleagues_note_above_a_forward_are_leads_not_facts():
    n = Notice(source="t.eml", sender="office@example.org", sent=SENT, subject="Fwd: Spring transition",
               text="The spring transition is described on the website.\n",
               forward_note="Heads up: portal accounts disappear March 27, back after spring break.")
    found, leads = classify_with_leads(n)
    assert found == ()
    [lead] = leads
    assert lead.when == date(2026, 3, 27)
    assert lead.reason.startswith("in the forwarder's note: ")
    assert lead.sentence == "Heads up: portal accounts disappear March 27, back after spring break."


@pytest.mark.parametrize("text, day, reason", [
    ("Ship the spare kits back to the depot, but not before March 16, 2026.\n", date(2026, 3, 16), "an earliest day"),
    ("Return the tablets no later than June 5, 2026 or your last instructional day, whichever comes first.\n",
     date(2026, 6, 5), "one of two dates"),
])
def test_an_instruction_whose_date_is_not_a_due_date_is_a_lead(text, day, reason):
    assert decision(text, day) == f"lead: not a fact: {reason}"


def test_a_task_to_post_results_elsewhere_is_a_deadline_but_results_posted_for_the_lea_are_not():
    assert decision("Spring scores must be posted to the district portal by April 17, 2026.\n",
                    date(2026, 4, 17)) == "fact: deadline (a passive task)"
    assert decision("Spring scores will be posted in the reporting portal on April 17, 2026.\n",
                    date(2026, 4, 17)) == "lead: not a fact: results release"


def test_nominations_accepted_until_a_date_are_due_then():
    assert decision("Nominations for the review panel are being accepted until April 24, 2026.\n",
                    date(2026, 4, 24)) == "fact: deadline (a form that closes)"


def test_what_the_sender_announces_it_will_do_by_a_date_is_no_task():
    assert decision("The revised proctor guide will be posted on the website by April 10, 2026.\n",
                    date(2026, 4, 10)).startswith("lead: ")
