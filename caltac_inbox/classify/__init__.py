"""Notice -> facts. One pure module per kind; dates and systems are shared resolvers.

Downtimes are read first because other kinds resolve "prior to the downtime on
August 14" or "during the downtime" to a downtime's start.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from caltac_inbox.model import Fact, FactsWithLeads, Lead, Notice

if TYPE_CHECKING:
    from caltac_inbox.classify.arbiter import Decision
    from caltac_inbox.classify.context import Context


def classify(notice: Notice) -> tuple[Fact, ...]:
    return _classify(notice, with_leads=False)[0]


def classify_with_leads(notice: Notice) -> tuple[tuple[Fact, ...], tuple[Lead, ...]]:
    """The facts of a notice, and its dated sentences that produced none (see classify.leads)."""
    return _classify(notice, with_leads=True)


def classify_keeping_leads(notice: Notice) -> FactsWithLeads:
    """The facts of a notice as a tuple that carries its leads (`.leads`): what the
    pipeline stores, through the same worker processes that return facts."""
    facts, leads = _classify(notice, with_leads=True)
    return FactsWithLeads.of(facts, leads)


def _classify(notice: Notice, with_leads: bool) -> tuple[tuple[Fact, ...], tuple[Lead, ...]]:
    from caltac_inbox.classify.arbiter import arbiter_facts, leads_of, note_leads

    ctx, proposed, decisions = decisions_of(notice, claimed_cues=False)
    facts = (*proposed, *arbiter_facts(decisions))
    return facts, (*note_leads(notice), *leads_of(ctx, decisions)) if with_leads else ()


def decisions_of(notice: Notice, claimed_cues: bool = True) -> tuple[Context, list[Fact], tuple[Decision, ...]]:
    """The notice's context, the facts its kind classifiers propose, and the arbiter's decision
    for every dated candidate (classify.explain shows them; see arbiter.decide for `claimed_cues`)."""
    from caltac_inbox.classify.arbiter import decide
    from caltac_inbox.classify.context import Context
    from caltac_inbox.classify.credential import classify_credentials
    from caltac_inbox.classify.deadline import classify_deadlines
    from caltac_inbox.classify.designation import classify_designations
    from caltac_inbox.classify.downtime import classify_downtimes
    from caltac_inbox.classify.retention import classify_retentions

    ctx = Context.of(notice)
    ctx.downtimes = classify_downtimes(ctx)
    proposed = [
        *ctx.downtimes,
        *classify_designations(ctx),
        *classify_credentials(ctx),
        *classify_retentions(ctx),
        *classify_deadlines(ctx),
    ]
    return ctx, proposed, decide(ctx, proposed, claimed_cues)


__all__ = ["classify", "classify_keeping_leads", "classify_with_leads", "decisions_of"]
