"""Time as the notices mean it: a date is a day in California.

The notices come from California's assessment offices and speak of its days: a date
written without a time means 00:00 in Los Angeles, and an end written as a date is
that whole day.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import overload
from zoneinfo import ZoneInfo

from caltac_inbox.model import When

LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def instant(when: When) -> datetime:
    """The instant a key date stands for: a date is its start, 00:00 in Los Angeles; a
    time is used as given (a naive one is Los Angeles wall time)."""
    if isinstance(when, datetime):
        return when if when.tzinfo else when.replace(tzinfo=LOS_ANGELES)
    return datetime.combine(when, time(0), tzinfo=LOS_ANGELES)


def end_instant(when: When) -> datetime:
    """Where a window ending at `when` ends: an end given as a date is that whole day
    (the next midnight); a time is used as given."""
    if isinstance(when, datetime):
        return instant(when)
    return instant(when + timedelta(days=1))


def after(when: When) -> datetime:
    """The first instant past a span that ends at `when`: a date is the whole day; a
    time is included (one microsecond past it)."""
    if isinstance(when, datetime):
        return instant(when) + timedelta(microseconds=1)
    return instant(when + timedelta(days=1))


def local_date(when: When) -> date:
    """The Los Angeles day of a key date."""
    return when.astimezone(LOS_ANGELES).date() if isinstance(when, datetime) else when


@overload
def in_los_angeles(value: datetime) -> datetime: ...
@overload
def in_los_angeles(value: None) -> None: ...
@overload
def in_los_angeles(value: datetime | None) -> datetime | None: ...
def in_los_angeles(value: datetime | None) -> datetime | None:
    """A stored time shown in Los Angeles, where notices are read (a naive value is
    taken as Los Angeles wall time)."""
    if value is None:
        return None
    return value.replace(tzinfo=LOS_ANGELES) if value.tzinfo is None else value.astimezone(LOS_ANGELES)


def iso(when: When | None) -> str | None:
    return when.isoformat() if when is not None else None


__all__ = ["LOS_ANGELES", "after", "end_instant", "in_los_angeles", "instant", "iso", "local_date"]
