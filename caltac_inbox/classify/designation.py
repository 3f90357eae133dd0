"""Coordinator designation deadlines, and default designations that already happened.

A sentence about designating an LEA coordinator ("must be designated by July 1, 2023",
"the deadline for designating ... was July 1, 2019") gives the due date from a date
written after a deadline word. Without such a date, an instruction to designate under a
heading or in a sentence tied to the downtime ("Prior to Downtime on August 14") is due
at that downtime's start. "By default, the superintendent ... has now been designated"
marks the fact defaulted; "responsibilities through June 30, 2020" is the term end.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from caltac_inbox.classify import dates
from caltac_inbox.classify.context import (THIS_DATE_RE, Context, clause_around, cue_before, opens_sentence,
                                          programs_in)
from caltac_inbox.classify.guard import Guard
from caltac_inbox.classify.text import Sentence, evidence, plain
from caltac_inbox.classify.topics import designation_by_heading, designation_in_context, is_designation
from caltac_inbox.model import Fact

_INSTRUCTION_RE = re.compile(
    r"\b(?:ensure|make\s+sure|be\s+sure|must|should|need\s+to|needs\s+to|designate|complete|confirm|verify|check)\b",
    re.I)
_DEFAULT_RE = re.compile(
    r"\bby\s+default,?\s+(?:the\s+)?(?P<who>[^.;]+?)\s+(?:has|have)\s+(?:now\s+)?been\s+(?:designated|assigned|named)",
    re.I,
)
_TERM_RE = re.compile(r"\b(?:responsibilities|role|term|duties)\b[^.]*?\b(?:through|until)\s*$", re.I)
_DATED_LABEL_RE = re.compile(r"^\s*[:—–-]\s*[^.]*\b(?:deadline|due)\b", re.I)
_CUES = {"by", "was", "is", "deadline", "no", "not", "until", "due", "on", "before"}


_DEFAULT_GUARD = Guard(_DEFAULT_RE, ("default",))


def classify_designations(ctx: Context) -> list[Fact]:
    doc = ctx.doc
    found: list[tuple[Sentence, Any, Sentence | None, tuple[str, ...]]] = []
    seen_due: set[object] = set()
    for s in doc.sentences:
        if s.masthead:
            continue
        lead = doc.lead_sentence(s) if s.label_like else None
        if lead is not None and is_designation(lead) and _DUE_WORD_RE.search(lead.plain_text):
            # "Coordinator designations for 2024–25 are due as follows:" over "- ELPAC: April 1, 2024"
            points = [m for m in ctx.mentions(s) if not m.is_range]
            if len(points) == 1 and points[0].point.when not in seen_due:
                seen_due.add(points[0].point.when)
                found.append((s, points[0].point.when, lead, ()))
            continue
        before = doc.sentences[s.index - 1] if s.index else None
        if not (is_designation(s) or designation_by_heading(s)
                or designation_in_context(s, before, ctx.notice.subject or "")):
            continue
        dues = _dated_dues(ctx, s) or _instructed_due(ctx, s)
        for due, program in dues:
            if due not in seen_due:
                seen_due.add(due)
                found.append((s, due, None, program if len(dues) > 1 else ()))
    return _designation_facts(ctx, found)


def _dated_dues(ctx: Context, s: Sentence) -> list[tuple[object, tuple[str, ...]]]:
    """The sentence's due dates, each with the programs its clause names ("the ELPAC coordinator by
    April 1, and the CAASPP coordinator by July 1")."""
    doc = ctx.doc
    points = [m for m in ctx.mentions(s) if not m.is_range]
    dues: list[tuple[object, tuple[str, ...]]] = []
    for m in points:
        dated_label = opens_sentence(doc.text, s, m) and _DATED_LABEL_RE.match(doc.text[m.end:s.end])
        this_date = len(points) == 1 and THIS_DATE_RE.search(s.plain_text)
        happened = _EVENT_BEFORE_RE.search(doc.text, max(s.begin, m.begin - 30), m.begin)
        if (cue_before(doc.text, m.begin) in _CUES or dated_label or this_date) and not _is_term(doc.text, s, m) \
                and not happened:
            c_begin, c_end = clause_around(doc.text, s.begin, s.end, m.begin)
            dues.append((m.point.when, programs_in(doc.text[c_begin:c_end])))
    return dues


def _instructed_due(ctx: Context, s: Sentence) -> list[tuple[object, tuple[str, ...]]]:
    """An instruction without a date of its own: the downtime it comes before, or the date of the
    list's lead-in ("Before 5 p.m. on July 25, the coordinator should:")."""
    if not _INSTRUCTION_RE.search(s.text) or s.text.lstrip().lower().startswith("if"):
        return []
    anchor = next((a for a in (dates.relative_anchor(plain(t), ctx.sent)
                               for t in (s.text, s.heading, s.intro) if t) if a is not None), None)
    due = ctx.anchor_time(anchor) if anchor is not None and anchor.before else None
    if due is None and (lead := ctx.doc.lead_sentence(s)) is not None:
        due = _lead_in_due(ctx, lead)
    return [(due, ())] if due is not None else []


def _designation_facts(ctx: Context, found: list[tuple[Sentence, Any, Sentence | None, tuple[str, ...]]]
                       ) -> list[Fact]:
    facts = []
    default = _default(ctx)
    for s, due, lead, program in found:
        school_year = _school_year(ctx, lead or s, due)
        parts = [lead, s] if lead is not None else [s]
        extra: dict[str, Any] = {}
        if default is not None:
            who, term_end, default_sentence = default
            extra = {"defaulted": True, "default_designee": who, "term_end": term_end}
            if default_sentence.line == s.line:
                parts.append(default_sentence)
        facts.append(Fact(
            kind="designation",
            evidence=evidence(ctx.doc, parts),
            program=program or programs_in(s.text) or ctx.program_near(*(p.text for p in parts)),
            due=due,
            school_year=school_year,
            **extra,
        ))
        default = None  # one default designation per notice
    return facts


# "the instructions e-mailed on February 4": when something was sent, not when anything is due
_EVENT_BEFORE_RE = re.compile(r"\b(?:e-?mailed|sent|posted|published|announced|released|issued|shared|dated|received)"
                              r"\s+(?:on\s+)?$", re.I)
_DUE_WORD_RE = re.compile(r"\b(?:due|deadlines?|by|no\s+later\s+than)\b", re.I)


def _lead_in_due(ctx: Context, lead: Sentence):
    """The one date a list's lead-in sets its items by ("Before 5 p.m. on July 25, ... should:")."""
    points = [m for m in ctx.mentions(lead) if not m.is_range]
    if len(points) == 1 and cue_before(ctx.doc.text, points[0].begin) in ("before", "by", "no", "not"):
        return points[0].point.when
    return None


def _is_term(text: str, s: Sentence, m: dates.Mention) -> bool:
    return bool(_TERM_RE.search(" ".join(text[s.begin:m.begin].split())))


def _default(ctx: Context) -> tuple[str, object, Sentence] | None:
    """(designee, term end, sentence) when the notice says a default designation happened."""
    for s in ctx.doc.sentences:
        mm = s.search(_DEFAULT_GUARD)
        if not mm or re.search(r"^\W*if\b|\bif\s+no\b", s.plain_text, re.I):
            continue  # "If no designation has been made by July 1, ... by default": not (yet) happened
        who = re.sub(r"\s+as\s+the\s+.*$", "", mm.group("who").strip())
        return who, _term_end(ctx), s
    return None


def _term_end(ctx: Context):
    """'The coordinator is required to carry out the responsibilities through June 30, 2020.'"""
    for other in ctx.doc.sentences:
        for m in ctx.mentions(other):
            if not m.is_range and _is_term(ctx.doc.text, other, m):
                return m.point.when
    return None


def _school_year(ctx: Context, s: Sentence, due) -> str | None:
    found = dates.school_years(s.text)
    if found:
        return found[-1]
    for other in ctx.doc.line_sentences(s.line):
        if is_designation(other) or other.index == s.index - 1:
            found = dates.school_years(other.text)
            if found:
                return found[-1]
    # the year the coordinator is designated for starts at (or just after) the due date
    return dates.school_year_of(due + timedelta(days=30))
