"""Other dated required actions: set up a test window, finish a certification course,
apply or respond by a date, secure-browser support ending.

A date counts when a deadline word stands right before it ("by", "no later than",
"have until", "due", "deadline of") and the sentence asks for something ("must",
"should", "required", "is to be", "due", "have until", an imperative verb, or a
"Certification Completion: By August 8, 2025" label line). Sentences about designation,
credentials or data removal belong to their own kinds; "do not ..." sentences, ranges
(testing windows, trainings) and dates of releases or events never count. "The survey
closes on May 5" and "The deadline to submit X is May 5" count too.

`action` is a short imperative phrase read from the sentence's grammar: the imperative
itself ("Complete the course by ..."), the verb phrase after a modal ("LEAs must set up
the window by ...") or after "have until <date> to", a passive turned active ("The course
is to be completed by ..." -> "complete the course"), "X are due" -> "submit X"/"apply
for X". When no form fits, the whole sentence is the action.
"""
from __future__ import annotations

import re

from caltac_inbox.classify import dates
from caltac_inbox.classify.context import Context, cue_before
from caltac_inbox.classify.credential import is_credential
from caltac_inbox.classify.designation import is_designation
from caltac_inbox.classify.retention import is_retention
from caltac_inbox.classify.text import Sentence, evidence, plain
from caltac_inbox.model import Fact

_REQUIRED_RE = re.compile(
    r"\b(?:must|shall|should|required|requirement|need\s+to|needs\s+to|have\s+until|has\s+until|due"
    r"|deadline|is\s+to\s+be|are\s+to\s+be|no\s+later\s+than|has\s+not\s+(?:yet\s+)?(?:completed|finished|submitted)"
    r"|will\s+no\s+longer\s+(?:be\s+)?support\w*|support\s+(?:will\s+)?end\w*)\b",
    re.I,
)
_IMPERATIVE_RE = re.compile(
    r"^\W*(?:please\s+)?(?:complete|submit|finish|confirm|set\s+up|return|apply|email|send|ensure|make\s+sure"
    r"|enter|order|upload|sign|respond|verify|update|request|install|upgrade)\b",
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
_STRONG_RE = re.compile(
    r"\b(?:must|required|requirement|due|deadline|have\s+until|has\s+until|no\s+later\s+than|is\s+to\s+be|are\s+to\s+be)\b",
    re.I)
# "The 2023–24 secure browsers will no longer be supported after June 30, 2024."
_SUPPORT_END_RE = re.compile(
    r"\b(?:no\s+longer\s+(?:be\s+)?supported|support\s+(?:for\s+[^.]{0,80}?)?(?:will\s+)?end(?:s|ed)?\b|end\s+of\s+support)",
    re.I)
# "The deadline to submit the LEA Post-Test Survey is Friday, April 5."
_DEADLINE_IS_RE = re.compile(r"\b(?:deadline|due\s+date)\s+(?:to|for)\s+(?P<what>[^.;]{3,120}?)\s+(?:is|was)\s*$", re.I)
_SUPPORT_CUES = {"after", "on", "as", "beginning", "effective", "by", "until", "through"}
# an "Upcoming Dates" line: "July 1: Survey Deadline", "June 14 — Post-Test Survey Due"
_DATED_LABEL_RE = re.compile(r"^\s*[:—–-]\s*(?P<label>[^.]{3,100}?\b(?:deadline|due)\b[^.]*)$", re.I)
_CUES = {"by", "no", "not", "until", "due", "deadline", "before", "closes"}
# "The LEA Post-Test Survey closes on May 5": a response is due when the form closes
_FORM_CLOSES_RE = re.compile(
    r"\b(?:survey|questionnaire|form|application|nomination|submission|request)s?\s+(?:window\s+)?(?:will\s+)?closes?\b",
    re.I)


def classify_deadlines(ctx: Context) -> list[Fact]:
    doc = ctx.doc
    facts: list[Fact] = []
    for s in doc.sentences:
        points = [m for m in ctx.mentions(s) if not m.is_range]
        if not points:  # only a date point gives a deadline: the tests below cannot matter
            continue
        text = s.plain_text
        if is_designation(s) or is_credential(s) or is_retention(s) or _NEGATIVE_RE.search(text):
            continue
        if _OPTIONAL_RE.search(text) and not _MUST_RE.search(text):
            continue
        if _EVENT_RE.search(text) and not _STRONG_RE.search(text) and not _IMPERATIVE_RE.search(text):
            continue
        label = _LABEL_LINE_RE.match(text)
        support_end = _SUPPORT_END_RE.search(text)
        form_closes = _FORM_CLOSES_RE.search(text)
        asks = bool(_REQUIRED_RE.search(text) or _IMPERATIVE_RE.search(text) or label or support_end or form_closes)
        if not asks:
            continue
        for m in points:
            cue = cue_before(doc.text, m.begin)
            dated_label = None
            if m.begin == s.begin:
                dated_label = _DATED_LABEL_RE.match(doc.text[m.end:s.end])
            if dated_label:
                label = dated_label
            elif support_end and _support_cue(doc.text, m.begin) and m.begin > s.begin + support_end.start():
                pass
            elif cue in ("is", "was") and _DEADLINE_IS_RE.search(" ".join(plain(doc.text[s.begin:m.begin]).split())):
                pass
            elif cue not in _CUES or (cue == "closes" and not form_closes):
                continue
            if cue == "before" and re.search(r"\bdowntime\b", text, re.I):
                continue
            due = m.point.when
            if any(f.due == due for f in facts):
                continue
            facts.append(Fact(
                kind="deadline",
                evidence=evidence(doc, [s]),
                program=ctx.program_near(s.text, s.heading),
                due=due,
                action=_action(s, label, m, bool(form_closes)),
                school_year=_school_year(ctx, s),
            ))
    return facts


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


def _action(s: Sentence, label: re.Match[str] | None, m: dates.Mention, form_closes: bool = False) -> str:
    """A short imperative phrase: "set up the 2023–24 CAASPP test administration window in TOMS"."""
    if label:
        return label.group("label").strip()
    whole = " ".join(s.plain_text.split())[:200]
    before = " ".join(plain(s.text[:max(0, m.begin - s.begin)]).split())
    after = " ".join(plain(s.text[max(0, m.end - s.begin):]).split())
    phrase = None
    until = re.search(r"\b(?:have|has)\s+until\s*$", before, re.I)
    deadline_is = _DEADLINE_IS_RE.search(before)
    if deadline_is:
        what = deadline_is.group("what")
        if re.match(r"(?:to\s+)?[a-z]", what) and deadline_is.group(0).lower().split()[1] == "to":
            phrase = what
    elif until:
        vp = _HAVE_UNTIL_RE.match(after)
        if vp:
            phrase = re.sub(r"^(\w+(?:\s+up)?)\s+(?:a|an)\s+", r"\1 ", vp.group("vp"), flags=re.I)
    else:
        head = _TRAILING_CUE_RE.sub("", before).strip(" ,")
        clause = re.split(r"[;:]\s+|,\s+(?:and|but|so)\s+", head)[-1]
        imperative = _IMPERATIVE_RE.match(clause)
        passive = _PASSIVE_RE.match(clause)
        modal = _MODAL_RE.match(clause)
        if imperative:
            phrase = re.sub(r"^\W*(?:please\s+)?", "", clause, flags=re.I)
        elif passive:
            subj = passive.group("subj")
            words = subj.split()
            if _PRONOUN_RE.match(words[-1]) or words[-1].lower() in ("and", "but"):
                # "LEA certification is required ..., and it must be completed": the first clause's subject
                subj = _leading_subject(head) if (len(words) == 1 or words[-1].lower() in ("and", "but")
                                                  or words[-2].lower() in ("and", "but")) else None
            if subj and not _PRONOUN_RE.match(subj):
                phrase = f"{_PARTICIPLES[passive.group('verb').lower()]} {_object(subj)}{passive.group('rest')}"
        elif modal and not re.match(r"(?:be|have)\b", modal.group("vp"), re.I):
            phrase = modal.group("vp")
        elif due := re.match(r"^(?P<subj>.+?)\s+(?:is|are|will\s+be)\s+due\s*$", head, re.I):
            subj = due.group("subj")
            applied = re.match(r"^(?:the\s+)?applications?\s+(?P<rest>(?:to|for)\s+.+)$", subj, re.I)
            if applied:
                phrase = f"apply {applied.group('rest')}"
            elif not _PRONOUN_RE.match(subj) and len(subj.split()) <= 12:
                phrase = f"submit {_object(subj)}"
        elif form_closes:
            closes = re.match(r"^(?P<subj>.+?)\s+(?:window\s+)?(?:will\s+)?closes?\s*$", head, re.I)
            if closes:
                phrase = f"complete {_object(closes.group('subj'))}"
    if not phrase:
        return whole
    phrase = re.sub(r"\s+(?:their|its|your)\s+", " the ", f" {phrase} ").strip().rstrip(" .,;")
    if len(phrase.split()) < 2 or len(phrase) > 160:
        return whole
    return phrase[0].lower() + phrase[1:]


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
    return re.sub(r"^The\b", "the", subject)


def _school_year(ctx: Context, s: Sentence) -> str | None:
    for t in (s.text, s.heading or "", ctx.notice.subject or ""):
        found = dates.school_years(t)
        if found:
            return found[0]
    return None
