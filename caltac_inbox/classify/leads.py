"""Leads: the dated sentences of a notice that produced no fact, with why when it is known.

The classifiers leave out what they are unsure of; a lead is what a coordinator reviews
to catch a date the tool did not dare to state. A sentence is a lead when the resolver
settled a date in it (or found a date whose weekday disagrees) and no fact quotes it.
The reason names the first rule that explains the silence:

- "weekday mismatch": a date whose written weekday is not that day's (no fact on purpose);
- "not a fact: <category>": a kind of date the facts contract excludes (a testing window
  opening or closing, a results release, a training or webcast, eligibility, a legal
  citation, history, a downtime without an end, an offset left to the reader);
- "title date": the newsletter's own date;
- "no cue": nothing says what the date is for.
"""
from __future__ import annotations

import re

from caltac_inbox.classify import dates
from caltac_inbox.classify.context import Context
from caltac_inbox.classify.text import Sentence, evidence
from caltac_inbox.model import Fact, Lead

# (category, pattern): the first that matches a sentence names why it is no fact
_NOT_A_FACT: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("offset", re.compile(r"\b(?:\d+|one|two|three|four|five|six|seven|ten|a)\s+(?:(?:business|calendar|school|"
                          r"instructional)\s+)?(?:days?|weeks?|months?)\s+(?:before|after|prior\s+to|ahead\s+of)\b",
                          re.I)),
    ("eligibility", re.compile(r"\b(?:years?\s+old|born\s+(?:on|before|after)|eligib\w+)\b", re.I)),
    ("legal citation", re.compile(r"\b(?:Code\s+of\s+Regulations|Education\s+Code|CCR|§|Section\s+\d+|statute)\b",
                                  re.I)),
    ("results release", re.compile(r"\b(?:results?|scores?|score\s+reports?|SSRs?)\b[^.]{0,80}\b(?:released?|"
                                   r"available|posted|published|appear)\b|\brelease\s+of\b", re.I)),
    ("training or event", re.compile(r"\b(?:webcasts?|webinars?|trainings?|workshops?|office\s+hours|conference|"
                                     r"sessions?|meetings?|coffee)\b", re.I)),
    ("testing window", re.compile(r"\b(?:window|administration)\s+(?:opens?|closes?|ends?|runs?|begins?)\b|"
                                  r"\b(?:window|administration)\b[^.]{0,60}\b(?:opened|closed|ended)\b", re.I)),
    ("downtime without an end", re.compile(r"\b(?:offline|unavailable|downtime|maintenance|go(?:es)?\s+down)\b", re.I)),
    ("history", re.compile(r"\b(?:in|since|during)\s+(?:19|20)\d\d\b|\b(?:was|were|began|ended|launched|"
                           r"introduced|moved)\b", re.I)),
)


MAX_LEADS = 100  # a notice with more dated sentences than this is no notice; the first ones are kept


def find_leads(ctx: Context, facts: tuple[Fact, ...] | list[Fact]) -> tuple[Lead, ...]:
    """Every dated sentence of the notice that no fact quotes, in text order (at most MAX_LEADS)."""
    quoted = ctx.quoted_sentences(facts)
    out: list[Lead] = []
    for s in ctx.doc.sentences:
        mentions = ctx.mentions(s)
        mismatch = not mentions and _has_contradicted_date(ctx, s)
        if not mentions and not mismatch:
            continue
        if s.index in quoted:
            continue
        when = None if mismatch else (mentions[0].start or mentions[0].stop).when  # type: ignore[union-attr]
        out.append(Lead(when=when, sentence=evidence(ctx.doc, [s]), reason=_reason(s, mismatch)))
        if len(out) >= MAX_LEADS:
            break
    return tuple(out)


def _reason(s: Sentence, mismatch: bool) -> str:
    if mismatch:
        return "weekday mismatch"
    if s.masthead:
        return "title date"
    for category, pattern in _NOT_A_FACT:
        if pattern.search(s.plain_text):
            return f"not a fact: {category}"
    return "no cue"


def _has_contradicted_date(ctx: Context, s: Sentence) -> bool:
    """A written date the resolver dropped because its weekday is wrong ("Friday, April 15" that
    was a Saturday): the finder matched it, but no mention came of it."""
    return bool(s.search_text("day") and dates.dropped_dates(s.text, ctx.sent))


__all__ = ["find_leads"]
