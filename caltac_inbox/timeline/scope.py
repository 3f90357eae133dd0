"""Which stored facts can affect each other's timeline entries. Pure.

reconcile only ever lets two facts meet when they share a match key (every kind but
downtime: `kinds.match_key`), or, for downtime windows, when their days lie within
reconcile.MAX_SHIFT of each other (a restatement names the same day, an extension
moves an end by at most MAX_SHIFT, a reschedule a start, a cancellation names a day
of the window). So the timeline falls apart into independent groups, and replaying
one group's facts gives exactly the entries the full replay gives for them. The
store keeps each fact's `Scope` beside it and recomputes only the groups a change
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
# How far apart two downtime days may be and still meet in reconcile: MAX_SHIFT, plus a
# day either side for an instant's day in Los Angeles and a date's whole day.
REACH = MAX_SHIFT + timedelta(days=2)


@dataclass(frozen=True)
class Scope:
    """A fact's group: `key` alone, or for a dated downtime window the days it names
    (`first`..`last`), which meet every window within REACH of them."""

    key: str
    first: date | None = None
    last: date | None = None

    @property
    def is_window(self) -> bool:
        return self.key == DOWNTIME and self.first is not None and self.last is not None


def fact_scope(fact: Fact) -> Scope:
    if fact.kind == DOWNTIME:
        days = [local_date(w) for w in (fact.start, fact.end) if w is not None]
        if days:
            return Scope(DOWNTIME, min(days), max(days))
        return Scope(json.dumps([DOWNTIME, None]))
    key = [part.isoformat() if isinstance(part, date) else part for part in match_key(fact)]
    return Scope(json.dumps(key, ensure_ascii=False))


def merge_windows(windows: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Day ranges that are within REACH of each other, joined into one."""
    merged: list[tuple[date, date]] = []
    for first, last in sorted(windows):
        if merged and first - merged[-1][1] <= REACH:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


__all__ = ["DOWNTIME", "REACH", "Scope", "fact_scope", "merge_windows"]
