"""Other dated required actions: set up a test window, finish a certification course,
apply or respond by a date, secure-browser support ending.

A date counts when a deadline word stands right before it ("by", "no later than",
"have until", "due", "deadline of") and the sentence asks for something ("must",
"should", "required", "is to be", "due", "have until", an imperative verb, or a
"Certification Completion: By August 8, 2025" label line). Sentences about designation,
credentials or data removal belong to their own kinds; "do not ..." sentences, ranges
(testing windows, trainings) and dates of releases or events never count. "The survey
closes on May 5" and "The deadline to submit X is May 5" count too. Which dates of an asking
sentence are passed over is the ordered rule table `PASS_OVER_RULES` (classify.rules).

`action` is a short imperative phrase read from the sentence's grammar: the imperative
itself ("Complete the course by ..."), the verb phrase after a modal ("LEAs must set up
the window by ...") or after "have until <date> to", a passive turned active ("The course
is to be completed by ..." -> "complete the course"), "X are due" -> "submit X"/"apply
for X". "make sure X is done" is said as the act, a means goes first ("email Y to confirm X"), and
the paragraph fills in what the sentence leaves out: the things a generic "materials" stands for,
the system where the thing is done (its short code: "in TOMS"). A heading names a described object
("the survey on X" -> "the X Survey"), the doer goes ("the last day for LEAs to set up" -> "set up"),
grade spans are short ("K–2"), a scheduled event goes first ("schedule pickup of X"), and a purpose
tail ("for scoring") or a reporting aim ("to tell ETS ...") is dropped. When no form fits, the whole
sentence is the action.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from caltac_inbox.classify import dates
from caltac_inbox.classify.context import (THIS_DATE_RE, Context, clause_around, cue_before, is_reference_date,
                                          opens_sentence)
from caltac_inbox.classify.guard import Guard
from caltac_inbox.classify.rules import KindRule, always, first_rule
from caltac_inbox.classify.systems import find_systems
from caltac_inbox.classify.text import Doc, Sentence, evidence, plain, strip_item_mark
from caltac_inbox.classify.topics import (designation_by_heading, designation_in_context, is_credential,
                                         is_designation, is_retention)
from caltac_inbox.model import Fact

_REQUIRED_RE = re.compile(
    r"\b(?:must|shall|should|required|requirement|need\s+to|needs\s+to|have\s+until|has\s+until|due"
    r"|deadline|is\s+to\s+be|are\s+to\s+be|no\s+later\s+than|has\s+not\s+(?:yet\s+)?(?:completed|finished|submitted)"
    r"|will\s+no\s+longer\s+(?:be\s+)?support\w*|support\s+(?:will\s+)?end\w*)\b",
    re.I,
)
_IMPERATIVE_RE = re.compile(
    r"^\W*(?:please\s+)?(?:complete|submit|finish|confirm|set\s+up|return|apply|email|send|ensure|(?:make|be)\s+sure"
    r"|enter|order|upload|sign|respond|verify|update|request|install|upgrade|file|schedule|ship|pack|place|review"
    r"|approve|certify|resolve|correct|mail|deliver)\b",
    re.I,
)
_LABEL_LINE_RE = re.compile(r"^\W*(?P<label>[^:.]{3,80}):\s*(?:by|due|deadline)\b", re.I)
_NEGATIVE_RE = re.compile(r"\b(?:do\s+not|don't|cannot|can't|not\s+required)\b", re.I)
# signing up for an optional event is not a required action
_OPTIONAL_RE = re.compile(r"\b(?:register|registration|RSVP|sign\s+up|enroll\s+in\s+the\s+(?:webinar|webcast|training))\b", re.I)
_MUST_RE = re.compile(r"\b(?:must|required|shall)\b", re.I)
# "LEAs should receive their letters by May 17": something that happens to the LEA
_EVENT_RE = re.compile(
    r"\b(?:receive[ds]?|expect(?:ed)?|available|released?|posted|published|notified|arrive[sd]?|delivered|sent|opens?)\b",
    re.I)

# "The 2023–24 secure browsers will no longer be supported after June 30, 2024."
_SUPPORT_END_RE = re.compile(
    r"\b(?:no\s+longer\s+(?:be\s+)?supported|supported\s+only\s+(?:through|until)"
    r"|support\s+(?:for\s+[^.]{0,80}?)?(?:will\s+)?end(?:s|ed)?\b|end\s+of\s+support)",
    re.I)
# what names a deadline: "deadline", "due date", "cutoff", "last day", "final date"
_DEADLINE_NOUN = (r"(?:deadline|due\s+date|cut-?off(?:\s+date)?|(?:last|final)\s+(?:possible\s+)?(?:day|date)"
                  r"|(?:final|last)\s+(?:opportunity|chance))")
# "The deadline to submit the LEA Post-Test Survey is Friday, April 5."
_DEADLINE_IS_RE = re.compile(
    rf"\b{_DEADLINE_NOUN}\s+(?:to|for)\s+(?P<what>[^.;]{{3,120}}?)\s*,?\s+(?:is|was|will\s+be)\s*$", re.I)
_STRONG_RE = re.compile(
    r"\b(?:must|required|requirement|due|have\s+until|has\s+until|no\s+later\s+than|is\s+to\s+be|are\s+to\s+be)\b"
    rf"|\b{_DEADLINE_NOUN}\b",
    re.I)
_SUPPORT_CUES = {"after", "on", "as", "at", "beginning", "effective", "by", "until", "through"}
# an "Upcoming Dates" line: "July 1: Survey Deadline", "June 14 — Post-Test Survey Due"
_DATED_LABEL_RE = re.compile(
    r"^\s*[:—–-]\s*(?P<label>[^.]{0,100}?\b(?:deadline|due|(?:last|final)\s+(?:day|date))\b[^.]*)$", re.I)
_CUES = {"by", "no", "not", "until", "due", "deadline", "before", "closes"}
# "The LEA Post-Test Survey closes on May 5": a response is due when the form closes
_FORM_CLOSES_RE = re.compile(
    r"\b(?:survey|questionnaire|form|application|nomination|submission|request)s?\s+(?:window\s+)?(?:will\s+)?(?:closes?|ends?)\b"
    # "The window to submit STAIRS cases and appeals closes at noon on ..."
    r"|\bwindow\s+(?:to|for)\s+(?:submit|submitting|request|requesting|order|ordering|file|filing|enter|entering)\b"
    r"[^.;]{0,120}?\s(?:closes?|ends?)\b",
    re.I)

# one of these words is in every match (tests/unit/test_classify_guards.py): without them the pattern is not run
_LABEL_LINE_GUARD = Guard(_LABEL_LINE_RE, (":",))
_SUPPORT_END_GUARD = Guard(_SUPPORT_END_RE, ("support",))
_FORM_CLOSES_GUARD = Guard(_FORM_CLOSES_RE, ("close", "end"))
_THIS_DATE_GUARD = Guard(THIS_DATE_RE, ("date", "day", "deadline"))


# "The last day to ship answer books is May 12", "the final date for returns:"
_LAST_DAY_RE = re.compile(
    rf"\b{_DEADLINE_NOUN}\s+(?P<prep>to|for|on\s+which\s+(?:you|LEAs?)\s+can)\s+"
    r"(?P<what>[^.;]{3,120}?)\s*(?:,\s*)?(?:is|was|will\s+be|:)?\s*$", re.I)
_LAST_DAY_WORDS_RE = re.compile(rf"\b{_DEADLINE_NOUN}\s+(?:to|for|on\s+which)\b", re.I)
_LAST_DAY_WORDS_GUARD = Guard(_LAST_DAY_WORDS_RE, ("deadline", "due", "cut", "last", "final"))
# "May 12 is the last day to ship answer books", "December 1 is the deadline for setting up a window"
_LAST_DAY_AFTER_RE = re.compile(
    rf"^\s*(?:,?\s*(?:is|was|will\s+be)\s+the|[:—–-])\s*(?:the\s+)?{_DEADLINE_NOUN}\s+(?:to|for)\s+(?P<what>[^.;]{{3,120}})",
    re.I)
# "one week before June 30": an offset the notice leaves to the reader (FACTS: not a fact)
_OFFSET_RE = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|ten|a)\s+(?:(?:business|calendar|school|instructional)\s+)?"
    r"(?:days?|weeks?|months?)\s+(?:before|prior\s+to|ahead\s+of|after|in\s+advance\s+of)\s*(?:the\s+\w+\s+(?:on\s+)?)?$",
    re.I)
# "no later than July 15 or the last day of instruction, whichever comes first": no one date
_ALTERNATIVE_RE = re.compile(r"\bwhichever\s+(?:comes|is|occurs|falls)\s+(?:first|earlier|sooner|later|last)\b", re.I)
_ALTERNATIVE_GUARD = Guard(_ALTERNATIVE_RE, ("whichever",))
# "but not before July 1": an earliest day, not a deadline
_NOT_BEFORE_RE = re.compile(r"\b(?:not|no)\s+(?:before|earlier\s+than|sooner\s+than|prior\s+to|until)\s*$", re.I)
# "Under California Code of Regulations, Title 5, Section 11518.5(e), testing must ...": the law's terms
_CITES_LAW_RE = re.compile(
    r"^\W*(?:under|per|pursuant\s+to|according\s+to|as\s+required\s+by|in\s+accordance\s+with)\b[^.;]{0,60}?"
    r"\b(?:Code|Regulations?|CCR|Section|law|statute|Act)\b", re.I)
# a lead-in that makes its list a list of due dates: "Designations are due as follows:", "Deadlines:"
_DUE_LEAD_RE = re.compile(
    r"\b(?:due|deadlines?|no\s+later\s+than|(?:must|should)\s+(?:be\s+\w+\s+)?by|by\s+the\s+following\s+dates?"
    r"|last\s+day|closes?)\b", re.I)
def classify_deadlines(ctx: Context) -> list[Fact]:
    doc = ctx.doc
    facts: list[Fact] = []
    seen_due: set[object] = set()
    for s in doc.sentences:
        if s.masthead:
            continue
        points = [m for m in ctx.mentions(s) if not m.is_range]
        if not points:  # only a date point gives a deadline, here or in the sentence before
            closing = _before_the_close(ctx, s, seen_due) if s.search_text("close", "end") else None
            closing = closing or _by_that_date(ctx, s, seen_due)
            if closing is not None:
                seen_due.add(closing.due)
                facts.append(closing)
            continue
        if s.text.rstrip().endswith(":") and doc.list_after(s.line):
            continue  # a lead-in ("Before 5 p.m. on July 25, the coordinator should:"): its items say what
        if _other_kind_or_law(ctx, s):
            continue
        reading = _read_sentence(ctx, s, points[0])
        if reading is None:
            continue
        for m in points:
            fact = _point_deadline(ctx, s, m, reading)
            if fact is None or fact.due in seen_due:
                continue
            seen_due.add(fact.due)
            facts.append(fact)
    return facts


def _other_kind_or_law(ctx: Context, s: Sentence) -> bool:
    """A sentence about designation, credentials or data removal (their own kinds), the law's terms,
    or a choice of dates ("whichever comes first")."""
    text = s.plain_text
    before = ctx.doc.sentences[s.index - 1] if s.index else None
    return bool(is_designation(s) or designation_by_heading(s) or is_credential(s) or is_retention(s)
                or designation_in_context(s, before, ctx.notice.subject or "")
                or _CITES_LAW_RE.search(text) or s.search(_ALTERNATIVE_GUARD))


@dataclass(frozen=True)
class _SentenceReading:
    """What a sentence says once for all its dates: its label line, its lead-in, its cues."""

    label: re.Match[str] | None
    lead: str | None
    lead_sentence: Sentence | None
    support_end: re.Match[str] | None
    form_closes: re.Match[str] | None


def _read_sentence(ctx: Context, s: Sentence, first: dates.Mention) -> _SentenceReading | None:
    """None when the sentence asks for nothing (no requirement, imperative, label, support end,
    form that closes, last day, due lead-in or dated instruction)."""
    doc = ctx.doc
    text = s.plain_text
    lead = (s.lead_in if s.label_like and not _REQUIRED_RE.search(text) and _DUE_LEAD_RE.search(s.lead_in or "")
            else None)
    lead_sentence = doc.lead_sentence(s) if lead is not None else None
    if lead_sentence is not None and (is_designation(lead_sentence) or is_credential(lead_sentence)
                                      or is_retention(lead_sentence)):
        return None
    label = _LABEL_LINE_RE.match(text) if s.possible(_LABEL_LINE_GUARD) else None
    support_end = s.search(_SUPPORT_END_GUARD)
    form_closes = s.search(_FORM_CLOSES_GUARD)
    last_day = s.search(_LAST_DAY_WORDS_GUARD)
    asks = bool(_REQUIRED_RE.search(text) or _imperative(text) or label or support_end or form_closes or last_day
                or lead or _dated_instruction(doc.text, s, first))
    return _SentenceReading(label, lead, lead_sentence, support_end, form_closes) if asks else None


@dataclass(frozen=True)
class _DateClause:
    """A written date and the clause around it, as the pass-over rules read them."""

    text: str  # the notice's text
    date_begin: int
    clause_begin: int
    clause: str
    before_date: str
    lead: str | None


def _told_not_to(d: _DateClause) -> bool:
    return bool(_NEGATIVE_RE.search(d.clause))


def _optional_sign_up(d: _DateClause) -> bool:
    return bool(_OPTIONAL_RE.search(d.clause)) and not _MUST_RE.search(d.clause)


def _reference_date(d: _DateClause) -> bool:
    return is_reference_date(d.text, d.date_begin, d.clause_begin)


def _earliest_day(d: _DateClause) -> bool:
    return bool(_NOT_BEFORE_RE.search(d.before_date))


def _offset(d: _DateClause) -> bool:
    return bool(_OFFSET_RE.search(d.before_date))


def _event_not_task(d: _DateClause) -> bool:
    return bool(_EVENT_RE.search(d.clause) and not _STRONG_RE.search(d.clause) and not _imperative(d.clause)
                and not d.lead)


# whether a date in a sentence that asks for something is passed over: the first rule that holds decides
PASS_OVER_RULES: tuple[KindRule[_DateClause, bool], ...] = (
    KindRule("told not to", _told_not_to, True),
    KindRule("an optional sign-up", _optional_sign_up, True),
    KindRule("a reference date", _reference_date, True),
    KindRule("an earliest day", _earliest_day, True),
    KindRule("an offset from the date", _offset, True),
    KindRule("an event, not a task", _event_not_task, True),
    KindRule("a date to act by", always, False),
)


def _point_passed_over(doc: Doc, s: Sentence, m: dates.Mention, lead: str | None) -> bool:
    """A date in a clause that says not to, offers an optional sign-up, cites a reference date,
    an earliest day or an offset, or tells of an event rather than a task (`PASS_OVER_RULES`)."""
    c_begin, c_end = clause_around(doc.text, s.begin, s.end, m.begin)
    clause = plain(doc.text[c_begin:c_end])
    before_date = " ".join(plain(doc.text[c_begin:m.begin]).split())
    return first_rule(PASS_OVER_RULES, _DateClause(doc.text, m.begin, c_begin, clause, before_date, lead)).outcome


def _point_cue(doc: Doc, s: Sentence, m: dates.Mention, reading: _SentenceReading, points_alone: bool
               ) -> tuple[bool, re.Match[str] | None, re.Match[str] | None]:
    """(whether the words around the date make it a due date, the label that names the task,
    the "last day to ..." phrase)."""
    c_begin, c_end = clause_around(doc.text, s.begin, s.end, m.begin)
    before_date = " ".join(plain(doc.text[c_begin:m.begin]).split())
    cue = cue_before(doc.text, m.begin)
    label = reading.label
    dated_label = _DATED_LABEL_RE.match(doc.text[m.end:s.end]) if opens_sentence(doc.text, s, m) else None
    if dated_label:
        return True, dated_label, None
    support_end = reading.support_end
    if support_end and _support_cue(doc.text, m.begin) and m.begin > s.begin + support_end.start():
        return True, label, None
    if cue in ("is", "was") and _DEADLINE_IS_RE.search(before_date):
        return True, label, None
    last_day_here = _LAST_DAY_RE.search(before_date) or _LAST_DAY_AFTER_RE.match(plain(doc.text[m.end:c_end]))
    if last_day_here:
        return True, label, last_day_here
    if cue is None and reading.lead is not None:
        return True, label, None  # "Deadlines:" over "- June 14: Post-Test Survey"
    if points_alone and THIS_DATE_RE.search(s.plain_text):
        return True, label, None  # "- March 23: version 17 must be installed by this date."
    if cue is None and (dated_rest := _dated_instruction(doc.text, s, m)):
        return True, dated_rest, None  # "1. Monday, December 1 -- Set up your window in TOMS."
    ok = cue in _CUES and not (cue == "closes" and not reading.form_closes)
    return ok, label, None


def _point_deadline(ctx: Context, s: Sentence, m: dates.Mention, reading: _SentenceReading) -> Fact | None:
    doc = ctx.doc
    if _point_passed_over(doc, s, m, reading.lead):
        return None
    points_alone = len([p for p in ctx.mentions(s) if not p.is_range]) == 1
    ok, label, last_day_here = _point_cue(doc, s, m, reading, points_alone)
    if not ok:
        return None
    if cue_before(doc.text, m.begin) == "before" and re.search(r"\bdowntime\b", s.plain_text, re.I):
        return None
    parts = [reading.lead_sentence, s] if reading.lead_sentence is not None else [s]
    return Fact(
        kind="deadline",
        evidence=evidence(doc, parts),
        program=ctx.program_near(s.text, s.heading),
        due=m.point.when,
        action=_in_paragraph(_action(s, label, m, bool(reading.form_closes), last_day_here, reading.lead,
                                     topic_of(s.heading, ctx.notice.subject), doc.text,
                                     ctx.notice.subject or ""), doc, s),
        school_year=_school_year(ctx, s),
    )


# "Before it closes, make sure every test is finished": the close the sentence before gave a date
_BEFORE_CLOSE_RE = re.compile(
    r"\b(?:before|prior\s+to)\s+(?:it|the\s+(?:[\w–-]+\s+){0,3}(?:window|administration))\s+(?:closes|ends)\b", re.I)
_CLOSES_ON_RE = re.compile(r"\b(?:window|administration)\s+(?:will\s+)?(?:closes?|ends?)\s+(?:on\s+)?$", re.I)


CLOSE_REACH = 12  # sentences looked back at for the close that "before it closes" means


def _before_the_close(ctx: Context, s: Sentence, known: set[object]) -> Fact | None:
    """ "The testing window closes on June 30, 2023. Before it closes, make sure every test is
    finished.": due when the window the previous sentence dates closes."""
    doc = ctx.doc
    text = s.plain_text
    if not _BEFORE_CLOSE_RE.search(text) or not (_imperative(_INTRO_CLAUSE_RE.sub("", text)) or _MUST_RE.search(text)):
        return None
    # the nearest close dated before it in the notice
    closes: list[dates.Mention] = []
    for prev in reversed(doc.sentences[max(0, s.index - CLOSE_REACH):s.index]):
        closes = [m for m in ctx.mentions(prev) if not m.is_range and _CLOSES_ON_RE.search(
            " ".join(plain(doc.text[max(prev.begin, m.begin - 40):m.begin]).split()) + " ")]
        if closes:
            break
    if len(closes) != 1 or closes[0].point.when in known:
        return None
    phrase = _INTRO_CLAUSE_RE.sub("", text).strip().rstrip(".")
    phrase = _without_make_sure(re.sub(r"^(?:please\s+)", "", phrase, flags=re.I))
    return Fact(
        kind="deadline",
        evidence=evidence(doc, [prev, s]),
        program=ctx.program_near(s.text, s.heading),
        due=closes[0].point.when,
        action=_lower_first(_abbreviate(phrase))[:160],
        school_year=_school_year(ctx, prev),
    )


# what follows a date that opens an item: "Sept. 8 (Mon.): ", "December 1 -- ", "June 9 — "
_AFTER_OPENING_DATE_RE = re.compile(r"\s*(?:\([^()]{1,12}\))?\s*(?:[:—–|]|-{1,2})\s*(?P<label>[^;|]{3,200})")


def _dated_instruction(doc_text: str, s: Sentence, m: dates.Mention) -> re.Match[str] | None:
    """An item that opens with its date and goes on with something to do: "- June 14: Submit the
    survey", "Sept. 8: Answer Books must be packed for pickup". The label is the action."""
    if not (s.kind == "item" or s.row) or not opens_sentence(doc_text, s, m):
        return None  # a "February 11: Return Answer Books" heading may head the first day to do so
    rest = _AFTER_OPENING_DATE_RE.match(doc_text, m.end, s.end)
    if rest is None:
        return None
    label = plain(rest.group("label"))
    if _imperative(label) or (_MUST_RE.search(label) and not _NEGATIVE_RE.search(label)):
        return rest
    return None


def _by_that_date(ctx: Context, s: Sentence, known: set[object]) -> Fact | None:
    """ "Support ends Friday, December 13, 2024. Staff must install version 16 no later than that date.":
    the one date of the sentence before."""
    text = s.plain_text
    if not s.search(_THIS_DATE_GUARD) or not (_REQUIRED_RE.search(text) or _imperative(text)):
        return None
    prev = ctx.doc.sentences[s.index - 1] if s.index else None
    if prev is None or prev.line != s.line:
        return None
    said = [m for m in ctx.mentions(prev) if not m.is_range]
    if len(said) != 1 or said[0].point.when in known:
        return None
    head = THIS_DATE_RE.search(s.text)
    cut = head.start() if head else len(s.text)
    action = _lower_first(_abbreviate(_object_phrase(s.text[:cut]) or text))[:160]
    return Fact(kind="deadline", evidence=evidence(ctx.doc, [prev, s]), program=ctx.program_near(s.text, s.heading),
                due=said[0].point.when, action=action, school_year=_school_year(ctx, s))


def _object_phrase(before: str) -> str | None:
    """The verb phrase of "Staff must install version 16 on every device" -> "install version 16 on every device"."""
    modal = _MODAL_RE.match(" ".join(plain(before).split()).rstrip(" ,;"))
    return modal.group("vp") if modal else None


def _imperative(text: str) -> re.Match[str] | None:
    """An imperative at the start of the text or of its main clause ("To schedule a pickup,
    request it by June 9", "If you have not yet, complete the course by ...")."""
    return _IMPERATIVE_RE.match(text) or _IMPERATIVE_AFTER_INTRO_RE.match(text)


_IMPERATIVE_AFTER_INTRO_RE = re.compile(r"^\W*(?:to|if|when|once|before|after|for|as|so\s+that)\b[^,;]{2,100},\s*(?=\S)"
                                        + _IMPERATIVE_RE.pattern.replace("^\\W*", "", 1), re.I)


def _support_cue(text: str, begin: int) -> bool:
    words = text[max(0, begin - 20):begin].split()
    return bool(words) and words[-1].lower().strip(",") in _SUPPORT_CUES


_PARTICIPLES = {
    "completed": "complete", "submitted": "submit", "set up": "set up", "returned": "return",
    "entered": "enter", "uploaded": "upload", "finished": "finish", "reviewed": "review",
    "verified": "verify", "updated": "update", "approved": "approve", "signed": "sign", "ordered": "order",
    "requested": "request", "confirmed": "confirm", "installed": "install", "finalized": "finalize",
    "certified": "certify", "scheduled": "schedule", "sent": "send", "done": "do", "taken": "take",
    "upgraded": "upgrade", "assigned": "assign", "resolved": "resolve", "corrected": "correct",
}
_PASSIVE_RE = re.compile(
    r"^(?P<subj>.+?)\s+(?:must|should|shall|needs?\s+to|has\s+to|have\s+to|will\s+need\s+to)?\s*"
    r"(?:be|is\s+to\s+be|are\s+to\s+be)\s+(?P<verb>" + "|".join(sorted(map(re.escape, _PARTICIPLES), key=len,
                                                                         reverse=True)) + r")\b(?P<rest>.*)$",
    re.I)
_MODAL_RE = re.compile(
    r"^(?P<subj>.+?)\s+(?:must|should|shall|needs?\s+to|will\s+need\s+to|(?:is|are)\s+required\s+to)\s+(?P<vp>.+)$",
    re.I)
_HAVE_UNTIL_RE = re.compile(r"^\W*,?\s*(?:\d{1,2}(?::\d\d)?\s*[ap]\.?m\.?,?\s*)?to\s+(?P<vp>.+)$", re.I)
_TRAILING_CUE_RE = re.compile(
    r"(?:(?:\s*,\s*|\s+|^)(?:by|before|no\s+later\s+than|not\s+later\s+than|on\s+or\s+before|prior\s+to|until|on|at|after"
    r"|the|deadline\s+of|\d{1,2}(?::\d\d)?\s*[ap]\.?\s?m\.?|noon|midnight|close\s+of\s+business\s+on)\b\.?)+\s*,?$",
    re.I)
_PRONOUN_RE = re.compile(r"^(?:it|this|that|they|these|those|he|she|you|we|which)$", re.I)


def _action(s: Sentence, label: re.Match[str] | None, m: dates.Mention, form_closes: bool = False,
            last_day: re.Match[str] | None = None, lead: str | None = None, topic: str | None = None,
            notice_text: str = "", subject: str = "") -> str:
    """A short imperative phrase: "set up the 2023–24 CAASPP test administration window in TOMS"."""
    if s.row and " | " in s.text and not label:
        # "June 7, 2024 | Final pickup | All Answer Books must be scheduled ... by this date": the last cell says it
        cell_begin = s.text.rindex(" | ") + 3
        s = replace(s, text=s.text[cell_begin:], begin=s.begin + cell_begin)
    whole = " ".join(s.plain_text.split())[:200]
    if label:
        named = label.group("label").strip()
        final = _LAST_DAY_RE.search(named + " is")
        verb = _imperative_of(final.group("what")) if final else _verb_of_noun(named)
        return _lower_first(_expand_object(verb, notice_text, subject, s.begin)) if verb else named
    before = " ".join(plain(s.text[:max(0, m.begin - s.begin)]).split())
    after = " ".join(plain(s.text[max(0, m.end - s.begin):]).split())
    phrase = _phrase_before_date(before, after, last_day, lead, form_closes)
    if phrase and _BARE_REPLY_RE.fullmatch(phrase.strip(" .,;")) and topic:
        phrase = f"{phrase.strip(' .,;')} to the {topic}"  # "Please respond by ..." under "Flexibility Survey"
    if not phrase:
        return whole
    return _finish_phrase(phrase, whole, topic, notice_text, subject, s.begin)


def _phrase_before_date(before: str, after: str, last_day: re.Match[str] | None, lead: str | None,
                        form_closes: bool) -> str | None:
    """The task as the words around the date say it: a last day's task, a list item's label, "the
    deadline to X is", "have until <date> to X", else the clause before the date."""
    if last_day:
        # "the last day for LEAs to set up a window": the act is what comes after the doer
        return _imperative_of(_DOER_FIRST_RE.sub("", last_day.group("what")))
    if lead is not None:
        # "- ELPAC: April 1, 2024" under "... are due as follows:": the item's label, else the lead-in
        item_label = strip_item_mark(before).strip(" :—–-|") or after.strip(" :—–-|.")
        return item_label if len(item_label.split()) >= 2 else None
    deadline_is = _DEADLINE_IS_RE.search(before)
    if deadline_is:
        what = deadline_is.group("what")
        if re.match(r"(?:to\s+)?[a-z]", what) and (re.match(r"\w+ing\b", what) or " to " in deadline_is.group(0)):
            return _imperative_of(what)
        return None
    if re.search(r"\b(?:have|has)\s+until\s*$", before, re.I):
        vp = _HAVE_UNTIL_RE.match(after)
        return re.sub(r"^(\w+(?:\s+up)?)\s+(?:a|an)\s+", r"\1 ", vp.group("vp"), flags=re.I) if vp else None
    return _clause_phrase(before, form_closes)


# "for local educational agencies (LEAs) to set up a window": the doer before the act
_DOER_FIRST_RE = re.compile(
    r"^(?:for\s+)?(?:the\s+|all\s+|each\s+)?(?:[\w-]+\s+){0,3}?(?:LEAs?|agencies|schools|districts|coordinators"
    r"|administrators|users|educators|staff|you)(?:\s*\([A-Z]{2,6}s?\))?\s+to\s+(?=[a-z])", re.I)
# a short sentence adverb before the clause proper: "Either way,", "In addition,", "As a reminder,"
_SENTENCE_ADVERB_RE = re.compile(
    r"^\W*(?:either\s+way|in\s+(?:any|either)\s+case|also|in\s+addition|additionally|finally|again|otherwise"
    r"|as\s+a\s+reminder|meanwhile|then|next),\s*(?=\S)", re.I)
# "... by completing the form": the means said in a clause whose main verb is no task verb
_MEANS_IN_CLAUSE_RE = re.compile(r"\bby\s+(?P<means>[a-z]{3,}ing\b.+)$")


def _clause_phrase(before: str, form_closes: bool) -> str | None:
    """The clause before the date said as an act: an imperative, a passive turned active, the verb
    phrase after a modal, "X are due" -> "submit X", "X closes" -> "complete X"."""
    head = _TRAILING_CUE_RE.sub("", before).strip(" ,")
    clause = re.split(r"[;:]\s+|,\s+(?:and|but|so)\s+", head)[-1]
    clause = _INTRO_CLAUSE_RE.sub("", clause)  # "If you have not yet, please finish ..." -> "please finish ..."
    clause = _SENTENCE_ADVERB_RE.sub("", clause)  # "Either way, submit ..." -> "submit ..."
    if _IMPERATIVE_RE.match(clause):
        return _without_make_sure(re.sub(r"^\W*(?:please\s+)?", "", clause, flags=re.I))
    passive = _PASSIVE_RE.match(clause)
    if passive:
        return _active_of(passive, head)
    modal = _MODAL_RE.match(clause)
    if modal and not re.match(r"(?:be|have)\b", modal.group("vp"), re.I):
        return modal.group("vp")
    due = re.match(r"^(?P<subj>.+?)\s+(?:is|are|will\s+be)\s+due\s*$", head, re.I)
    if due:
        return _submit_phrase(due.group("subj"))
    if form_closes:
        closes = re.match(r"^(?P<subj>.+?)\s+(?:window\s+)?(?:will\s+)?closes?\s*$", head, re.I)
        if closes:
            return f"complete {_object(closes.group('subj'))}"
    means = _MEANS_IN_CLAUSE_RE.search(clause)
    if means and _imperative_of(means.group("means")) != means.group("means"):
        return _imperative_of(means.group("means"))  # "tell ETS what you did by completing the form"
    return None


def _active_of(passive: re.Match[str], head: str) -> str | None:
    """ "The course is to be completed by ..." -> "complete the course"."""
    subj: str | None = passive.group("subj")
    words = subj.split()  # type: ignore[union-attr]
    if _PRONOUN_RE.match(words[-1]) or words[-1].lower() in ("and", "but"):
        # "LEA certification is required ..., and it must be completed": the first clause's subject
        subj = _leading_subject(head) if (len(words) == 1 or words[-1].lower() in ("and", "but")
                                          or words[-2].lower() in ("and", "but")) else None
    if subj:
        # "For the 2016–17 administration, the form must be submitted": the subject is "the form"
        subj = re.sub(r"^(?:for|in|during|after|before|as|with|under|to)\b[^,]{1,80},\s*", "", subj, flags=re.I)
    if subj and not _PRONOUN_RE.match(subj):
        return f"{_PARTICIPLES[passive.group('verb').lower()]} {_object(subj)}{passive.group('rest')}"
    return None


def _submit_phrase(subj: str) -> str | None:
    """ "Applications to the panel are due" -> "apply to the panel"; "X are due" -> "submit X"."""
    applied = re.match(r"^(?:the\s+)?applications?\s+(?P<rest>(?:to|for)\s+.+)$", subj, re.I)
    if applied:
        return f"apply {applied.group('rest')}"
    if not _PRONOUN_RE.match(subj) and len(subj.split()) <= 12:
        return f"submit {_object(subj)}"
    return None


# "complete the survey on the one percent threshold": a generic noun described, not named
_DESCRIBED_OBJECT_RE = re.compile(
    r"^(?P<verb>[a-z]+(?:\s+(?:up|out|in))?)\s+the\s+(?P<noun>[a-z]{4,})\s+(?:on|about|regarding)\s+\S.*$")


def _named_by_topic(phrase: str, topic: str | None) -> str:
    """ "complete the survey on the one percent threshold" under the heading "1.0 Percent Threshold Survey"
    -> "complete the 1.0 Percent Threshold Survey": the heading names what the sentence describes."""
    described = _DESCRIBED_OBJECT_RE.match(phrase)
    if not described or not topic or not topic.split()[-1][:1].isupper():
        return phrase
    if not re.search(rf"\b{described.group('noun')}s?$", topic, re.I):
        return phrase
    return f"{described.group('verb')} the {topic}"


def _finish_phrase(phrase: str, whole: str, topic: str | None, notice_text: str, subject: str, near: int) -> str:
    """The phrase tidied: no possessives, contacts or pronoun objects; the means first; vague objects
    named in full; the whole sentence when the phrase is too short or too long."""
    phrase = re.sub(r"\s+(?:their|its|your)\s+", " the ", f" {phrase} ").strip().rstrip(" .,;")
    phrase = _CONTACT_RE.sub("", phrase)  # "... by emailing SCOE at elpac@scoe.net": the address is no action
    phrase = _means_first(phrase)
    pronoun = _PRONOUN_OBJECT_RE.match(phrase)
    if pronoun:  # "complete it", "do this": the thing is named by the heading, else nowhere near
        if not topic:
            return whole
        phrase = f"{pronoun.group('verb')} the {topic}{pronoun.group('rest') or ''}"
    phrase = _named_by_topic(phrase, topic)
    phrase = _plain_task(_abbreviate(_expand_object(phrase, notice_text, subject, near)))
    phrase = _TAKE_PART_RE.sub(lambda t: f"{t.group('verb')} to ", phrase)
    if len(phrase.split()) < 2 or len(phrase) > 160:
        return whole
    return _lower_first(phrase)


_PRONOUN_OBJECT_RE = re.compile(r"^(?P<verb>[A-Za-z]+(?:\s+(?:up|out|in))?)\s+(?:it|this|that|them|these|those)"
                                r"(?P<rest>\s+(?:to|for|in|by)\b.*)?$", re.I)


def _lower_first(phrase: str) -> str:
    return phrase[:1].lower() + phrase[1:]


# a clause that sets the scene before the main verb: "If you haven't yet, ", "To be scored in time, "
_INTRO_CLAUSE_RE = re.compile(r"^\W*(?:if|to|when|once|as|for|before|after|so\s+that)\b[^,;]{2,100},\s*(?=\S)", re.I)
# "Certification Completion" -> "complete certification": the action a label names
_NOUN_VERBS = {"completion": "complete", "submission": "submit", "registration": "register", "return": "return",
               "setup": "set up", "set-up": "set up", "certification": "complete", "request": "submit",
               "survey": "complete", "order": "place", "orders": "place", "signup": "sign up"}


def _verb_of_noun(label: str) -> str | None:
    """ "Certification Completion" -> "complete the Certification"; "Reminder: Justification Form Due
    October 31" -> "submit the Justification Form": the action a label names."""
    label = re.sub(r"^[^:]{0,20}:\s*", "", label) if re.match(r"^(?:reminder|note|update)s?:", label, re.I) else label
    due = re.search(r"\b(?:deadline|due(?:\s+date)?)\b", label, re.I)
    words = re.sub(r"\b(?:deadline|due(?:\s+date)?)\b.*$", "", label, flags=re.I).split()
    if not words:
        return None
    last = words[-1].lower().strip(".,:")
    verb = _NOUN_VERBS.get(last)
    if verb is None:
        if due and len(words) <= 10:
            phrase = " ".join(words)  # "X Due": something to hand in
            return f"submit {phrase}" if _DETERMINER_RE.match(phrase) else f"submit the {phrase}"
        return None
    rest = " ".join(words[:-1])
    if last in ("completion", "submission", "registration", "return", "setup", "set-up", "signup"):
        if not rest:
            return None
        return f"{verb} {rest}" if _DETERMINER_RE.match(rest) or rest[:1].isdigit() else f"{verb} the {rest}"
    return f"{verb} {' '.join(words)}"


_VAGUE_OBJECT_RE = re.compile(
    r"^(?P<verb>[A-Za-z]+(?:\s+(?:up|out|back|in))?)\s+(?P<det>(?:the|a|an|all|your)\s+)?"
    r"(?P<obj>(?:[\w–-]+\s+){0,2}[A-Za-z][\w–-]*)(?P<rest>\s+(?:to|for|in|at|with|by|from)\b.*)?$")
_DETERMINER_RE = re.compile(r"^(?:the|a|an|this|that|these|our|your|each|every|all|its|their)\s+", re.I)


_ACRONYM_RE = re.compile(r"[A-Z][A-Z0-9–-]{1,9}")
# lowercase words that belong inside a name ("Summative ELPAC LEA certification course")
_NAME_NOUNS = (r"(?:certification|training|assessment|assessments|administration|test|testing|survey|scholarship"
               r"|writing|answer|materials|data|score|student|item|writer|window|return|destruction)")


def _best_name(name: re.Pattern[str], text: str, head: str, obj: str, nearest_last: bool) -> str:
    """The fullest name for `obj` in `text` (with `nearest_last`, the last one there)."""
    best = ""
    for found in name.finditer(text):
        candidate = _DETERMINER_RE.sub("", f"{found.group(1)}{head}")
        words = candidate.split()
        named = any(_ACRONYM_RE.fullmatch(w) for w in words) or sum(w[:1].isupper() for w in words[1:]) >= 2
        if _IMPERATIVE_RE.match(candidate) or not candidate.lower().endswith(obj.lower()) or not named:
            continue  # "Return K–2 Answer Books" is an instruction, "Roughly 150 Books" no name
        # a nearer name that only shortens the one before ("Writing Answer Books" after "Summative
        # ELPAC K–2 Writing Answer Books") is the same thing: the full name stays
        shortens = best.lower().endswith(" " + candidate.lower())
        if len(candidate.split()) > len(obj.split()) and (
                (nearest_last and not shortens) or len(candidate.split()) > len(best.split())):
            best = candidate
    return best


def _expand_object(phrase: str, notice_text: str, subject: str, near: int = 0) -> str:
    """A vague object named in full elsewhere in the notice: "complete the course" in a notice about
    "the Summative ELPAC LEA Certification Course" -> "complete the Summative ELPAC LEA Certification Course"."""
    m = _VAGUE_OBJECT_RE.match(phrase)
    if not m or not notice_text:
        return phrase
    obj = m.group("obj")
    head = obj.split()[-1]
    if not head.isalpha() or len(head) < 4 or _PRONOUN_RE.match(head):
        return phrase
    name = re.compile(r"((?:[A-Z0-9][\w–-]*\s+)(?:(?:[A-Z0-9][\w–-]*|" + _NAME_NOUNS + r")\s+){0,6})"
                      + r"(?i:" + re.escape(head) + r")\b")
    # the subject first, then the nearest name before the sentence, then any after it
    best = ""
    start = max(0, near - 20_000)
    for text, nearest_last in ((subject, False), (notice_text[start:near], True), (notice_text[near:near + 20_000], False)):
        best = _best_name(name, text, head, obj, nearest_last)
        if best:
            break
    if len(best.split()) <= len(obj.split()):
        return phrase
    det = m.group("det") or "the "
    return f"{m.group('verb')} {det}{best}{m.group('rest') or ''}"


_E_STEMS = ("at", "et", "iz", "us", "id", "ul", "ar", "iv", "ak", "os", "av", "ur", "ag", "ut", "in")


def _imperative_of(what: str) -> str:
    """ "setting up a window" -> "set up a window", "to ship the books" -> "ship the books"."""
    what = re.sub(r"^to\s+", "", what.strip(), flags=re.I)
    first, _, rest = what.partition(" ")
    low = first.lower()
    if low.endswith("ing") and len(low) > 5:
        stem = low[:-3]
        if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsfz":
            stem = stem[:-1]  # "setting" -> "set", "shipping" -> "ship"
        elif stem.endswith(_E_STEMS) and not stem.endswith(("ain", "oin", "ein")):
            stem += "e"  # "completing" -> "complete", "updating" -> "update"
        return f"{stem} {rest}".strip()
    return what


_CONTACT_RE = re.compile(r"\s+(?:at|to|via)\s+\S+@\S+|\s+at\s+https?://\S+|\s+at\s+\d{3}[-.]\d{3}[-.]\d{4}")
_BARE_REPLY_RE = re.compile(r"(?:respond|reply)", re.I)
# "the Test Operations Management System (TOMS)" -> "TOMS": a coordinator reads the short name
_NAME_WITH_ABBREVIATION_RE = re.compile(
    r"\b(?:the\s+)?(?:[A-Z][\w/–-]*\s+(?:(?:and|of|for|to|in)\s+)?){1,9}\((?P<abbr>[A-Z][A-Za-z0-9]{1,7})\)")


def _abbreviate(phrase: str) -> str:
    def short(m: re.Match[str]) -> str:
        # "the Golden State Survey (GSS) Pilot Panel": the name goes on after its acronym, and keeps its "the"
        if m.group(0)[:4].lower() == "the " and re.match(r"\s+[A-Z0-9]", phrase[m.end():]):
            return f"{m.group(0)[:4]}{m.group('abbr')}"
        return m.group("abbr")
    return _NAME_WITH_ABBREVIATION_RE.sub(short, phrase)


# "kindergarten through grade two (K–2)": the grade span as coordinators write it
_GRADE_SPAN_RE = re.compile(
    r"\b(?:kindergarten|grades?\s+\w+)\s+through\s+grade\s+\w+\s+\((?P<span>(?:K|\d{1,2})[–-]\d{1,2})\)", re.I)
# "schedule all books for pick up" -> "schedule pickup of all books": the event is what is scheduled
_SCHEDULE_FOR_RE = re.compile(
    r"^schedule\s+(?P<what>.+?)\s+for\s+(?:a\s+|the\s+)?(?P<event>pick[\s-]?up|delivery|collection)\b(?P<rest>.*)$",
    re.I)
# why the task is done, not the task: "... to ETS for scoring"
_PURPOSE_TAIL_RE = re.compile(r",?\s+(?:for\s+(?:scoring|processing)|to\s+be\s+(?:scored|processed))$", re.I)


def _plain_task(phrase: str) -> str:
    """The task in a coordinator's words: grade spans short, the scheduled event first, no purpose tail."""
    phrase = _GRADE_SPAN_RE.sub(lambda m: m.group("span"), phrase)
    phrase = _PURPOSE_TAIL_RE.sub("", phrase)
    scheduled = _SCHEDULE_FOR_RE.match(phrase)
    if scheduled:
        event = re.sub(r"[\s-]", "", scheduled.group("event").lower())
        phrase = f"schedule {event} of {scheduled.group('what')}{scheduled.group('rest')}"
    return phrase


# "apply to take part in the panel" asks to apply to the panel
_TAKE_PART_RE = re.compile(r"^(?P<verb>apply|register|sign\s+up)\s+to\s+(?:take\s+part|participate)\s+in\s+", re.I)
# an action already says where it is done: "... in TOMS", "... through the ORS"
_PLACED_RE = re.compile(r"\b(?:in|into|within|through|via|using)\s+(?:the\s+)?[A-Z]")
# "Windows are created in the Test Operations Management System (TOMS)": where a thing is handled
_PLACE_OF_RE = r"\b{noun}s?\b[^.;:]{{0,60}}?\b(?:in|into|within)\s+(?P<place>(?:the\s+)?(?:[A-Z][\w/–-]*\s+(?:(?:and|of|for)\s+)?){{0,8}}(?:\([A-Z][A-Za-z0-9]{{1,7}}\)|[A-Z][\w/–-]*))"


_MAKE_SURE_RE = re.compile(r"^(?:make|be)\s+sure\s+(?:that\s+)?(?P<rest>.+)$", re.I)
_DONE_CLAUSE_RE = re.compile(
    r"^(?P<subj>.+?)\s+(?:is|are|has\s+been|have\s+been)\s+(?P<verb>" + "|".join(
        sorted(map(re.escape, _PARTICIPLES), key=len, reverse=True)) + r")\b(?P<rest>.*)$", re.I)


def _without_make_sure(phrase: str) -> str:
    """ "make sure every form is signed and every box has been sealed" -> "sign every form and seal every
    box": the hedge goes, each thing to be done is said as the act."""
    hedged = _MAKE_SURE_RE.match(phrase)
    if not hedged:
        return phrase
    acts = []
    for clause in re.split(r",?\s+and\s+(?=(?:every|all|each|the|your|any)\b)", hedged.group("rest"), flags=re.I):
        done = _DONE_CLAUSE_RE.match(clause.strip())
        if not done or _PRONOUN_RE.match(done.group("subj")):
            return phrase
        acts.append(f"{_PARTICIPLES[done.group('verb').lower()]} {_object(done.group('subj'))}{done.group('rest')}")
    return " and ".join(acts)


def _in_paragraph(action: str, doc: Doc, s: Sentence) -> str:
    """What the sentence's paragraph adds to its action: the things a generic word stands for, the system."""
    return place_from_paragraph(name_generic_object(action, doc, s), doc, s)


# "confirm the order by emailing the warehouse": the means is what the coordinator does
_BY_MEANS_RE = re.compile(r"^(?P<aim>[A-Za-z]+\b.*?)\s+by\s+(?P<means>[a-z]{3,}ing\b.*)$")


_REPORTING_AIM_RE = re.compile(r"^(?:tell|inform|notify|let)\b", re.I)


def _means_first(phrase: str) -> str:
    """ "confirm the order by emailing the warehouse" -> "email the warehouse to confirm the order"."""
    by = _BY_MEANS_RE.match(phrase)
    if not by or len(by.group("aim").split()) < 2:
        return phrase
    means = _imperative_of(by.group("means"))
    words = means.split()
    if len(words) < 2 or _PRONOUN_RE.match(words[1]) or means == by.group("means"):
        return phrase  # "by emailing it": the thing is in the aim; no verb turned: not a means
    if _REPORTING_AIM_RE.match(by.group("aim")):
        return means  # "tell ETS which option you chose by submitting the form": the form is the telling
    return f"{means} to {_lower_first(by.group('aim'))}"


# a word that stands for things the paragraph names: "ship materials to ETS"
_GENERIC_OBJECT_RE = re.compile(
    r"^(?P<verb>[A-Za-z]+(?:\s+(?:up|out|back|in))?\s+(?:(?:the|all|your|any|completed)\s+)*)"
    r"(?P<noun>materials|items|documents)\b(?P<rest>.*)$", re.I)
# "K–2 Writing Answer Books", "Braille Test Booklets": a named kind of thing, plural
_PLURAL_NAME_RE = re.compile(r"(?<![\w–-])((?:[A-Z0-9][\w–-]*\s+){1,6}[A-Z][a-z]+s)\b")


PARAGRAPH_REACH = 12  # sentences looked back at for the things a generic word stands for


def name_generic_object(action: str, doc: Doc, s: Sentence) -> str:
    """ "ship materials to ETS" after "ETS can score only the K–2 Writing Answer Books it receives"
    -> "ship K–2 Writing Answer Books to ETS": the things the same paragraph names, nearest first."""
    generic = _GENERIC_OBJECT_RE.match(action)
    if not generic:
        return action
    texts = [s.plain_text[:s.plain_text.lower().find(generic.group("noun").lower())]]
    for i in range(s.index - 1, max(-1, s.index - 1 - PARAGRAPH_REACH), -1):
        if doc.sentences[i].line != s.line:
            break  # sentences come in order: the paragraph has begun
        texts.append(doc.sentences[i].plain_text)
    for text in texts:
        names = [n for n in _PLURAL_NAME_RE.findall(text) if not _IMPERATIVE_RE.match(n)]
        if names:
            return f"{generic.group('verb')}{names[-1]}{generic.group('rest')}"
    return action


def place_from_paragraph(action: str, doc: Doc, s: Sentence) -> str:
    """An action with no place takes the system its paragraph names for the same thing:
    "Set up a window by June 1." after "You can now set up windows in TOMS." -> "... window in TOMS"."""
    if _PLACED_RE.search(action) or action.rstrip().endswith((".", "!", "?")):
        return action
    thing = re.split(r"\s+(?:to|for|at|with|by|from|on)\s+", action)[0].split()
    if len(thing) < 2 or not thing[-1].isalpha() or len(thing[-1]) < 4:
        return action
    noun = re.escape(re.sub(r"s$", "", thing[-1].lower()))
    pattern = re.compile(_PLACE_OF_RE.format(noun=noun), re.I)
    for near in (s.index - 1, s.index + 1):
        if not 0 <= near < len(doc.sentences) or doc.sentences[near].line != s.line:
            continue  # only the same paragraph speaks of the same thing
        found = pattern.search(doc.sentences[near].plain_text)
        codes = find_systems(found.group("place")) if found else []
        if found and codes:
            # one system with a short code: "in TOMS", the name a coordinator reads in the system itself
            place = codes[0] if len(codes) == 1 and codes[0].isupper() else _abbreviate(found.group("place")).strip()
            return f"{action} in {place}"
    return action


def topic_of(heading: str | None, subject: str | None) -> str | None:
    """A notice's topic as a noun phrase (a short heading or subject that is not a sentence)."""
    for t in (heading, subject):
        if not t:
            continue
        t = re.sub(r"^(?:re|fwd?|fw)\s*:\s*", "", t.strip(), flags=re.I)
        t = t.split(":")[-1].strip(" .!")
        if 1 <= len(t.split()) <= 6 and not re.search(r"\b(?:is|are|was|will|must|has|have)\b", t, re.I):
            return t
    return None


_LEADING_SUBJECT_RE = re.compile(
    r"^\W*(?P<np>(?:[\w–()-]+\s+){0,7}?[\w–()-]+)\s+(?:is|are|was|were|has|have|will|takes|requires|lasts|includes"
    r"|can|may|must|should)\b", re.I)


def _leading_subject(text: str) -> str | None:
    m = _LEADING_SUBJECT_RE.match(text)
    return m.group("np") if m and not _PRONOUN_RE.match(m.group("np")) else None


def _object(subject: str) -> str:
    """ "The Summative ELPAC Course" -> "the Summative ELPAC Course"; "A 2022–23 window" -> "2022–23 window"."""
    subject = subject.strip()
    subject = re.sub(r"^(?:a|an)\s+", "", subject, flags=re.I)
    return re.sub(r"^(The|Every|All|Each|Any)\b", lambda w: w.group(1).lower(), subject)


def _school_year(ctx: Context, s: Sentence) -> str | None:
    for t in (s.text, s.heading or "", ctx.notice.subject or ""):
        found = dates.school_years(t)
        if found:
            return found[0]
    return None



# --- deadlines the arbiter decided (classify.arbiter): the action from the clause before the date ---

# the due marker and time words that end the clause before a date: "... by the last pickup date of"
_MARKER_TAIL_RE = re.compile(
    r"(?:(?:\s*,\s*|\s+|^)(?:by|before|no\s+later\s+than|not\s+later\s+than|on\s+or\s+before|prior\s+to|until|through"
    r"|due(?:\s+(?:on|by))?|closes?|will\s+close|(?:has\s+been\s+|was\s+|is\s+)?(?:extended|moved|changed|postponed)"
    r"\s+(?:to|until|through)|the\s+(?:[\w-]+\s+){0,3}(?:date|day|deadline)(?:\s+of)?|the\s+close\s+of\s+business"
    r"|close\s+of\s+business|end\s+of\s+(?:the\s+)?day|on|at|of|the|\d{1,2}(?::\d\d)?\s*[ap]\.?\s?m\.?|noon"
    r"|midnight|(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b\.?)+\s*,?$", re.I)
# where the task's own clause begins: "..., provided they are shipped to ETS"
_TASK_CLAUSE_BREAK_RE = re.compile(r"[;:]\s+|,\s+(?:provided(?:\s+that)?|as\s+long\s+as|so|and|but)\s+", re.I)
_FORM_SUBJECT_RE = re.compile(
    r"^(?P<subj>.+?)(?:\s*,\s*which\b|\s+(?:is|are)\s+(?:now\s+)?open\b|\s+(?:will\s+)?(?:stays?|remains?|closes?"
    r"|close|be\s+open|be\s+available|is\s+available|are\s+available)\b)", re.I)
_RECOMMENDED_RE = re.compile(r"\b(?:recommends?|recommended|encourages?|encouraged)\s+(?:that\s+)?"
                             r"(?:(?:all\s+)?(?:LEAs?|you|schools?|districts?|coordinators?|sites?)\s+)?(?:to\s+)?(?P<vp>.+)$",
                             re.I)
_LOOSE_PASSIVE_RE = re.compile(
    r"^(?P<subj>.+?)\s+(?:(?:must|should|shall|may|can|will|needs?\s+to|has\s+to|have\s+to)\s+)?(?:still\s+)?"
    r"(?:be|is|are)\s+(?P<verb>" + "|".join(sorted(map(re.escape, _PARTICIPLES), key=len, reverse=True))
    + r"|shipped|posted|received)\b(?P<rest>.*)$", re.I)
_MORE_PARTICIPLES = {"shipped": "ship", "posted": "post", "received": "deliver"}
# "Late kits received after May 2 may still ...": the subject, without what qualifies it
_SENTENCE_SUBJECT_RE = re.compile(r"^(?P<np>[^;:]{2,120}?)\s+(?:may|must|should|can|will|shall|is|are|were|was)\b", re.I)
_PARTICIPLE_PHRASE_RE = re.compile(r"\s+\w+ed\s+(?:after|before|by|in|on|during|from|through)\b.*$", re.I)
_RELATIVE_TAIL_RE = re.compile(r",\s*(?:which|that)\s+.*$", re.I)
_MOVED_SUBJECT_RE = re.compile(rf"\b{_DEADLINE_NOUN}\s+(?:to|for)\s+(?P<what>.+?)\s+(?:has|have|was|is)\b", re.I)


def _task_clause(before: str) -> str:
    head = _MARKER_TAIL_RE.sub("", " ".join(before.split())).strip(" ,")
    return _TASK_CLAUSE_BREAK_RE.split(head)[-1].strip()


def _form_action(clause: str, s: Sentence) -> str | None:
    m = _FORM_SUBJECT_RE.match(clause)
    if not m:
        return None
    subj = re.sub(r"^(?:this|next|last)\s+year['’]s\s+", "the ", m.group("subj").strip(), flags=re.I)
    return f"complete {_object(subj)}"


def _passive_action(clause: str, s: Sentence) -> str | None:
    m = _LOOSE_PASSIVE_RE.match(clause)
    if not m:
        return None
    subj = strip_item_mark(m.group("subj")).strip()
    if _PRONOUN_RE.match(subj):  # "they are shipped": what the sentence began with
        first = _SENTENCE_SUBJECT_RE.match(strip_item_mark(s.plain_text).strip())
        subj = _PARTICIPLE_PHRASE_RE.sub("", first.group("np")) if first else ""
    if not subj or _PRONOUN_RE.match(subj):
        return None
    verb = m.group("verb").lower()
    return f"{_PARTICIPLES.get(verb) or _MORE_PARTICIPLES[verb]} {_object(subj)}{m.group('rest')}"


def _recommended_action(clause: str, s: Sentence) -> str | None:
    m = _RECOMMENDED_RE.search(clause)
    return m.group("vp") if m else None


def _required_action(clause: str, s: Sentence) -> str | None:
    clause = _RELATIVE_TAIL_RE.sub("", clause)
    modal = _MODAL_RE.match(clause)
    if modal and not re.match(r"(?:be|have)\b", modal.group("vp"), re.I):
        return modal.group("vp")
    imperative = _imperative(clause)
    return _INTRO_CLAUSE_RE.sub("", clause).removeprefix("please ").removeprefix("Please ") if imperative else None


def _moved_action(clause: str, s: Sentence) -> str | None:
    m = _MOVED_SUBJECT_RE.search(clause)
    return _imperative_of(m.group("what")) if m else _required_action(clause, s)


def _label_action(clause: str, s: Sentence) -> str | None:
    for label in (s.heading, s.lead_in, " ".join(s.header) or None):
        if label:
            return _verb_of_noun(plain(label)) or plain(label)
    return None


_ACTION_FORMS = (_recommended_action, _required_action, _form_action, _passive_action, _moved_action, _label_action)


def deadline_at(ctx: Context, s: Sentence, m: dates.Mention, before: str) -> Fact:
    """The deadline fact the arbiter decided on for date `m` of sentence `s`; `before` is the
    clause up to the date. The action is the first form that reads the clause: a form that
    closes, a recommendation, a passive, a modal or imperative, a moved date, the heading or
    label over the date; else the sentence."""
    clause = _task_clause(before)
    phrase = next((p for form in _ACTION_FORMS if (p := form(clause, s))), None)
    action = " ".join(s.plain_text.split())[:200]
    if phrase and len(phrase.split()) >= 2 and len(phrase) <= 160:
        phrase = re.sub(r"\s+(?:their|its|your)\s+", " the ", f" {phrase} ").strip().rstrip(" .,;")
        phrase = _named_by_topic(phrase, topic_of(s.heading, ctx.notice.subject))
        phrase = _plain_task(_abbreviate(_expand_object(phrase, ctx.doc.text, ctx.notice.subject or "", s.begin)))
        action = _in_paragraph(_lower_first(phrase), ctx.doc, s)
    lead_sentence = ctx.doc.lead_sentence(s) if s.label_like else None
    parts = [lead_sentence, s] if lead_sentence is not None else [s]
    return Fact(kind="deadline", evidence=evidence(ctx.doc, parts), program=ctx.program_near(s.text, s.heading),
                due=(m.stop or m.point).when, action=action, school_year=_school_year(ctx, s))
