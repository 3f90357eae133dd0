"""Notice -> facts. One pure module per kind; dates and systems are shared resolvers.

Downtimes are read first because other kinds resolve "prior to the downtime on
August 14" or "during the downtime" to a downtime's start.
"""
from __future__ import annotations

from caltac_inbox.model import Fact, FactsWithLeads, Lead, Notice


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
    from caltac_inbox.classify.arbiter import arbiter_facts, decide, leads_of
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
    decisions = decide(ctx, proposed)
    facts = (*proposed, *arbiter_facts(decisions))
    return facts, leads_of(ctx, decisions) if with_leads else ()


__all__ = ["classify", "classify_keeping_leads", "classify_with_leads"]
