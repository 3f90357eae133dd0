"""The arbiter: for every dated candidate of a notice, one decision.

The kind classifiers (downtime, designation, credential, retention, deadline) propose facts
first; a candidate whose sentence a proposed fact quotes is decided as that fact's kind. Every
other candidate goes through the tables below, in order, over its cues (classify.cues):

`RULES` is one ordered table; the first rule whose cues all fired decides. Rules that name a kind
of date the facts contract leaves out (or a kind whose own classifier already passed on it) make a
lead with that reason; rules whose cues together ask the coordinator to do something by the date
make a deadline. A candidate no rule decides is a lead: "no cue" when no cue that could decide
fired, else "unsure" with the cues that did.

When unsure the arbiter leaves a lead, never a fact: a missed date is in `review`, a wrong one is
on the coordinator's calendar.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from caltac_inbox.classify import dates
from caltac_inbox.classify.candidates import Candidate, candidate_of
from caltac_inbox.classify.context import Context
from caltac_inbox.classify.cues import cues_of
from caltac_inbox.classify.deadline import deadline_at
from caltac_inbox.classify.text import Sentence, evidence
from caltac_inbox.model import Fact, Lead, Notice


@dataclass(frozen=True)
class Rule:
    """When every cue of `needs` fired: a fact of `kind`, or, with `kind` None, a lead whose
    reason is `name`."""

    name: str
    needs: frozenset[str]
    kind: str | None = None


def _lead(name: str, *needs: str) -> Rule:
    return Rule(name, frozenset(needs))


def _deadline(name: str, *needs: str) -> Rule:
    return Rule(name, frozenset(needs), "deadline")


# The first rule whose cues all fired decides a candidate no kind classifier claimed.
RULES: tuple[Rule, ...] = (
    _lead("not a fact: offset", "offset"),
    _lead("not a fact: eligibility", "eligibility"),
    _lead("not a fact: legal citation", "legal citation"),
    _lead("not a fact: told not to", "negation"),
    _lead("not a fact: an earliest day", "earliest day"),
    _lead("not a fact: one of two dates", "alternative"),
    _lead("not a fact: results release", "release"),
    _lead("not a fact: training or event", "training"),
    _lead("not a fact: testing window", "activity window"),
    _lead("designation without its rule", "designation"),
    _lead("credential without its rule", "credential"),
    _lead("removal without its rule", "retention verb"),
    _lead("not a fact: downtime without an end", "unavailability"),
    _deadline("a due date moved from one day to another", "moved range", "deadline word"),
    _deadline("a form open over a window", "form closes", "range"),
    _lead("not a fact: a window, not a day", "range"),
    _deadline("a deadline spoken of as past", "past deadline"),
    _lead("not a fact: history", "past tense"),
    _lead("not a fact: history", "history"),
    _deadline("a form that closes", "form closes"),
    _deadline("a moved due date", "moved date", "deadline word"),
    _deadline("a moved date for a task", "moved date", "task verb"),
    _deadline("a recommended date", "recommendation", "task verb", "due marker"),
    _deadline("a passive task", "passive task", "due marker"),
    _deadline("a labelled date under its task", "date label", "task in heading"),
    _deadline("a labelled date after its task", "date label", "task nearby"),
    _deadline("a date in a due-date column", "deadline column"),
    _deadline("a required task by a date", "obligation", "task verb", "due marker"),
    _deadline("a thing said to be due", "said due"),
    _deadline("an instruction with its date", "imperative", "due marker"),
    _deadline("a heading with a task and its date", "in heading", "task verb", "due marker"),
)
DEADLINE_RULES = frozenset(r.name for r in RULES if r.kind == "deadline")
# cues that can decide something; a candidate with none of them is a lead with "no cue"
_DECIDING = frozenset(c for r in RULES for c in r.needs)


# a notice with more dated candidates than these is no notice: the first ones are decided, and kept as leads
MAX_CANDIDATES = 400
MAX_LEADS = 100


@dataclass(frozen=True)
class Decision:
    """What the arbiter made of one candidate: a fact of `kind` (with `fact` when the arbiter
    made it, else the kind classifier's fact that quotes the sentence), or a lead (`kind` None)
    with `reason`."""

    candidate: Candidate
    cues: frozenset[str]
    kind: str | None
    reason: str
    fact: Fact | None = None

    @property
    def is_fact(self) -> bool:
        return self.kind is not None


def _key_days(fact: Fact) -> set[date]:
    out = set()
    for value in (fact.start, fact.end, fact.due, fact.at):
        if isinstance(value, datetime):
            out.add(value.date())
        elif isinstance(value, date):
            out.add(value)
    return out


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _days(c: Candidate) -> set[date]:
    return {_day(p.when) for p in (c.mention.start, c.mention.stop) if p is not None}


def _due(c: Candidate) -> date | datetime:
    """A deadline's day: the date, or the end of a date moved "from May 6 to May 20"."""
    stop = c.mention.stop
    return stop.when if c.mention.is_range and stop is not None else c.due


def _quoting(facts: list[Fact], ctx: Context) -> dict[int, list[Fact]]:
    """Sentence index -> the facts whose evidence quotes that sentence."""
    out: dict[int, list[Fact]] = {}
    for fact in facts:
        for index in ctx.quoted_sentences([fact]):
            out.setdefault(index, []).append(fact)
    return out


def _undecided(c: Candidate, cues: frozenset[str], taken: set[date], sent: date | None) -> tuple[str | None, str]:
    """(kind, reason) for a candidate no kind classifier claimed."""
    if c.sentence.masthead:
        return None, "title date"
    for rule in RULES:
        if rule.needs <= cues:
            if rule.kind is not None and _day(_due(c)) in taken:
                return None, f"restates a fact ({rule.name})"
            if "past deadline" in rule.needs and sent is not None and _day(_due(c)) > sent:
                return None, "a past deadline dated after the notice"  # never a contradicting year
            return rule.kind, rule.name
    deciding = sorted(cues & _DECIDING)
    return None, ("unsure: " + ", ".join(deciding)) if deciding else "no cue"


def decide(ctx: Context, facts: list[Fact], claimed_cues: bool = True) -> tuple[Decision, ...]:
    """A decision for every candidate of the notice (the masthead's included), in text order.
    `facts` are the kind classifiers' facts; the arbiter's own deadlines come in the decisions.
    Without `claimed_cues` the cues of a candidate a kind classifier claimed are not read (they
    decide nothing; `extract --explain` shows them)."""
    quoting = _quoting(facts, ctx)
    taken = {d for f in facts for d in _key_days(f)}
    out: list[Decision] = []
    per_sentence: dict[int, frozenset[str]] = {}
    for s in ctx.doc.sentences:
        for m in ctx.mentions(s):
            if len(out) >= MAX_CANDIDATES:
                return tuple(out)
            c = candidate_of(ctx, s, m)
            claimed = quoting.get(s.index)
            cues = cues_of(c, per_sentence) if claimed_cues or not claimed else frozenset()
            if claimed:
                fact = next((f for f in claimed if _key_days(f) & _days(c)), None)
                if fact is not None:
                    out.append(Decision(c, cues, fact.kind, f"{fact.kind} rules", fact))
                else:
                    out.append(Decision(c, cues, None, f"another day in the evidence of a {claimed[0].kind}"))
                continue
            kind, reason = _undecided(c, cues, taken, _day(ctx.sent) if ctx.sent is not None else None)
            if kind is None:
                out.append(Decision(c, cues, None, reason))
                continue
            fact = deadline_at(ctx, s, m, c.before)
            taken.add(_day(_due(c)))
            out.append(Decision(c, cues, kind, reason, fact))
    return tuple(out)


def arbiter_facts(decisions: tuple[Decision, ...]) -> list[Fact]:
    """The facts the arbiter itself made (not the kind classifiers')."""
    return [d.fact for d in decisions if d.fact is not None and d.reason in DEADLINE_RULES]





def leads_of(ctx: Context, decisions: tuple[Decision, ...]) -> tuple[Lead, ...]:
    """Every sentence with a candidate that became no fact, as a lead with its reason, and every
    sentence whose written weekday contradicts its date (the resolver drops those: "weekday
    mismatch"). A lead is a sentence (as `review` keeps it): its first such date is its day, and
    the reason names the others with theirs ("...; also 2026-05-09: no cue")."""
    doc = ctx.doc
    by_sentence: dict[int, list[Decision]] = {}
    for d in decisions:
        by_sentence.setdefault(d.candidate.sentence.index, []).append(d)
    out: list[Lead] = []
    for s in doc.sentences:
        here = by_sentence.get(s.index, [])
        if not here and _has_contradicted_date(ctx, s):
            out.append(Lead(when=None, sentence=evidence(doc, [s]), reason="weekday mismatch"))
        open_ = [d for d in here if not d.is_fact]
        if open_:
            out.append(Lead(when=open_[0].candidate.when, sentence=evidence(doc, [s]), reason=_reasons(open_)))
        if len(out) >= MAX_LEADS:
            return tuple(out[:MAX_LEADS])
    return tuple(out)


NOTE_REASON = "in the forwarder's note: "


def note_leads(notice: Notice) -> tuple[Lead, ...]:
    """The dated sentences of a colleague's note above a forwarded notice ("TOMS roles go away June
    30, back after the holiday"): never facts (the note is not the notice), always leads."""
    if not notice.forward_note.strip():
        return ()
    ctx = Context.of(replace(notice, text=notice.forward_note))
    found = leads_of(ctx, decide(ctx, []))
    return tuple(replace(lead, reason=NOTE_REASON + lead.reason) for lead in found)


def _reasons(open_: list[Decision]) -> str:
    first = open_[0]
    others = [f"{_day(d.candidate.when).isoformat()}: {d.reason}" for d in open_[1:]
              if _day(d.candidate.when) != _day(first.candidate.when)]
    return "; also ".join([first.reason, *dict.fromkeys(others)])


def _has_contradicted_date(ctx: Context, s: Sentence) -> bool:
    """A written date the resolver dropped because its weekday is wrong ("Friday, April 15" that
    was a Saturday): the finder matched it, but no mention came of it."""
    return bool(s.search_text("day") and dates.dropped_dates(s.text, ctx.sent))


__all__ = ["DEADLINE_RULES", "MAX_LEADS", "RULES", "Decision", "Rule", "arbiter_facts", "decide", "leads_of", "note_leads"]
