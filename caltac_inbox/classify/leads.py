"""Leads: the dated candidates of a notice that became no fact, with the arbiter's reason.

The classifiers leave out what they are unsure of; a lead is what a coordinator reviews to
catch a date the tool did not dare to state. The arbiter (classify.arbiter) decides every
candidate the resolver settles; each one it does not make a fact is a lead. Reasons:

- "weekday mismatch": a date whose written weekday is not that day's (no fact on purpose);
- "not a fact: <category>": a kind of date the facts contract excludes (a testing window
  opening or closing, a results release, a training or webcast, eligibility, a legal
  citation, history, a downtime without an end, an offset left to the reader, a window);
- "<kind> without its rule": a date beside a kind's cue that the kind's rules passed on;
- "another day in the evidence of a <kind>": a second date in a sentence a fact quotes;
- "restates a fact (<rule>)": a deadline rule held, but another fact has that day;
- "title date": the newsletter's own date;
- "unsure: <cues>": cues fired, but no rule holds; "no cue": nothing says what the date is for.
"""
from __future__ import annotations

from caltac_inbox.classify.arbiter import MAX_LEADS, decide, leads_of
from caltac_inbox.classify.context import Context
from caltac_inbox.model import Fact, Lead


def find_leads(ctx: Context, facts: tuple[Fact, ...] | list[Fact]) -> tuple[Lead, ...]:
    """Every candidate of the notice that `facts` and the arbiter leave without a fact, in text
    order (at most MAX_LEADS)."""
    return leads_of(ctx, decide(ctx, list(facts)))


__all__ = ["MAX_LEADS", "find_leads"]
