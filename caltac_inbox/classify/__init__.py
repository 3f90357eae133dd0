"""Notice -> facts. One pure module per kind; dates and systems are shared resolvers.

Downtimes are read first because other kinds resolve "prior to the downtime on
August 14" or "during the downtime" to a downtime's start.
"""
from __future__ import annotations

from caltac_inbox.model import Fact, Notice


def classify(notice: Notice) -> tuple[Fact, ...]:
    from caltac_inbox.classify.context import Context
    from caltac_inbox.classify.credential import classify_credentials
    from caltac_inbox.classify.deadline import classify_deadlines
    from caltac_inbox.classify.designation import classify_designations
    from caltac_inbox.classify.downtime import classify_downtimes
    from caltac_inbox.classify.retention import classify_retentions

    ctx = Context.of(notice)
    ctx.downtimes = classify_downtimes(ctx)
    facts = [
        *ctx.downtimes,
        *classify_designations(ctx),
        *classify_credentials(ctx),
        *classify_retentions(ctx),
        *classify_deadlines(ctx),
    ]
    return tuple(facts)


__all__ = ["classify"]
