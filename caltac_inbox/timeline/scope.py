"""Which stored facts can affect each other's timeline entries. Pure.

reconcile only ever lets two facts meet when they share a match key (every kind but
downtime: `kinds.match_key`), or, for downtime windows, when their days meet: a
restatement, a cancellation or a reinstatement names a day of the window, and only an
extension or a reschedule (a window that moves) reaches further, by at most
reconcile.MAX_SHIFT. So the timeline falls apart into independent groups, and
replaying one group's facts gives exactly the entries the full replay gives for them.
The store keeps each fact's `Scope` beside it and recomputes only the groups a change
touched (store.incremental).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

from caltac_inbox.model import Fact
from caltac_inbox.timeline.kinds import match_key
from caltac_inbox.timeline.reconcile import MAX_SHIFT
from caltac_inbox.timeline.time import local_date

DOWNTIME = "downtime"
MOVING = "downtime+"  # an extension or a reschedule: it reaches windows REACH away
WINDOWS = (DOWNTIME, MOVING)
# How far apart two downtime days may be and still meet in reconcile: MAX_SHIFT for a
# window that moves, plus a day either side for an instant's day in Los Angeles and a
# date's whole day; SLACK for the others (they meet on a day they share).
REACH = MAX_SHIFT + timedelta(days=2)
SLACK = timedelta(days=1)


@dataclass(frozen=True)
class Scope:
    """A fact's group: `key` alone, or for a dated downtime window (key DOWNTIME, or
    MOVING) the days it names, `first`..`last`."""

    key: str
    first: date | None = None
    last: date | None = None


def fact_scope(fact: Fact) -> Scope:
    if fact.kind == DOWNTIME:
        days = [local_date(w) for w in (fact.start, fact.end) if w is not None]
        if days:
            return Scope(MOVING if fact.status in ("extended", "rescheduled") else DOWNTIME, min(days), max(days))
        return Scope(json.dumps([DOWNTIME, None]))
    key = [part.isoformat() if isinstance(part, date) else part for part in match_key(fact)]
    return Scope(json.dumps(key, ensure_ascii=False))


def merge_windows(windows: list[tuple[date, date, bool]]) -> list[tuple[date, date, bool]]:
    """Day ranges (first, last, moves) that overlap (within SLACK) and move alike, joined."""
    merged: list[tuple[date, date, bool]] = []
    for moves in (False, True):
        current: list[tuple[date, date, bool]] = []
        for first, last, _ in sorted(w for w in windows if w[2] == moves):
            if current and first - current[-1][1] <= SLACK:
                current[-1] = (current[-1][0], max(current[-1][1], last), moves)
            else:
                current.append((first, last, moves))
        merged += current
    return merged


__all__ = ["DOWNTIME", "MOVING", "REACH", "SLACK", "WINDOWS", "Scope", "fact_scope", "merge_windows"]
