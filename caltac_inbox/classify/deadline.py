"""Other dated required actions: set up a test window, finish a certification course,
apply or respond by a date, secure-browser support ending.

A date counts when a deadline word stands right before it ("by", "no later than",
"have until", "due", "deadline of") and the sentence asks for something ("must",
"should", "required", "is to be", "due", "have until", an imperative verb, or a
"Certification Completion: By August 8, 2025" label line). Sentences about designation,
credentials or data removal belong to their own kinds; "do not ..." sentences, ranges
(testing windows, trainings) and dates of releases or events never count.
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
_SUPPORT_CUES = {"after", "on", "as", "beginning", "effective", "by", "until", "through"}
# an "Upcoming Dates" line: "July 1: Survey Deadline", "June 14 — Post-Test Survey Due"
_DATED_LABEL_RE = re.compile(r"^\s*[:—–-]\s*(?P<label>[^.]{3,100}?\b(?:deadline|due)\b[^.]*)$", re.I)
_CUES = {"by", "no", "not", "until", "due", "deadline", "before"}


def classify_deadlines(ctx: Context) -> list[Fact]:
    doc = ctx.doc
    facts: list[Fact] = []
    for s in doc.sentences:
        text = plain(s.text)
        if is_designation(s) or is_credential(s) or is_retention(s) or _NEGATIVE_RE.search(text):
            continue
        if _OPTIONAL_RE.search(text) and not _MUST_RE.search(text):
            continue
        if _EVENT_RE.search(text) and not _STRONG_RE.search(text) and not _IMPERATIVE_RE.search(text):
            continue
        label = _LABEL_LINE_RE.match(text)
        support_end = _SUPPORT_END_RE.search(text)
        asks = bool(_REQUIRED_RE.search(text) or _IMPERATIVE_RE.search(text) or label or support_end)
        if not asks:
            continue
        for m in ctx.mentions(s):
            if m.is_range:
                continue
            cue = cue_before(doc.text, m.begin)
            dated_label = None
            if m.begin == s.begin:
                dated_label = _DATED_LABEL_RE.match(doc.text[m.end:s.end])
            if dated_label:
                label = dated_label
            elif support_end and _support_cue(doc.text, m.begin) and m.begin > s.begin + support_end.start():
                pass
            elif cue not in _CUES:
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
                action=_action(s, label),
                school_year=_school_year(ctx, s),
            ))
    return facts


def _support_cue(text: str, begin: int) -> bool:
    words = text[max(0, begin - 20):begin].split()
    return bool(words) and words[-1].lower().strip(",") in _SUPPORT_CUES


def _action(s: Sentence, label: re.Match[str] | None) -> str:
    if label:
        return label.group("label").strip()
    text = " ".join(plain(s.text).split())
    return text[:200]


def _school_year(ctx: Context, s: Sentence) -> str | None:
    for t in (s.text, s.heading or "", ctx.notice.subject or ""):
        found = dates.school_years(t)
        if found:
            return found[0]
    return None
