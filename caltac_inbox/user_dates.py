"""Dates a person types on the command line: `--as-of today`, `--from "next monday"`, `--to +2w`.

Pure apart from reading nothing: the caller passes `today` (a date in America/Los_Angeles).
ISO dates, `today`/`tomorrow`/`yesterday`, weekday names (`monday`, `next friday`,
`last tuesday`) and offsets (`+7d`, `-2w`, `+1m`) are read here; anything else goes to
dateparser, imported only then, so start-up stays as fast as an ISO date allows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_OFFSET_RE = re.compile(r"^(?P<sign>[+-])\s*(?P<n>\d{1,5})\s*(?P<unit>d|day|days|w|wk|week|weeks|m|mo|month|months)$")
_WEEKDAY_RE = re.compile(r"^(?:(?P<which>next|last|this|coming)\s+)?(?P<day>[a-z]+)$")
# Shaped like a day in numbers: read here, so a mistyped one (2020-13-01) is an error and
# not whatever dateparser makes of it (2020-01-13).
_NUMERIC_DAY_RE = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$")
_DAY_AND_TIME_RE = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{1,2}):(\d{2})")
_RELATIVE = {"today": 0, "now": 0, "tomorrow": 1, "yesterday": -1}
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


class DateInputError(ValueError):
    """A date a person typed that cannot be read; the message says what is accepted."""


@dataclass(frozen=True)
class UserDate:
    day: date
    iso: bool  # typed as YYYY-MM-DD (nothing to echo back)


def read_user_date(text: str, today: date) -> UserDate:
    """The day `text` names, counted from `today` (see the module docstring)."""
    raw = " ".join(text.strip().lower().split())
    if not raw:
        raise DateInputError("an empty date")
    try:
        return UserDate(_bounded(date.fromisoformat(raw), text), iso=True)
    except ValueError:
        pass
    numeric = _NUMERIC_DAY_RE.match(raw)
    if numeric:
        try:
            day = date(int(numeric["y"]), int(numeric["m"]), int(numeric["d"]))
        except ValueError:
            raise DateInputError(f"{text.strip()!r} is not a day of the calendar; use YYYY-MM-DD") from None
        return UserDate(_bounded(day, text), iso=False)
    if raw.isdigit():  # dateparser reads "5" as May 1st
        raise DateInputError(f"{text.strip()!r} is a number, not a date; use YYYY-MM-DD, today, +7d or next monday")
    said = _simple(raw, today)
    if said is None:
        said = _natural(raw, today)
    if said is None:
        raise DateInputError(f"cannot read {text!r} as a date; use YYYY-MM-DD, today, tomorrow, a weekday "
                             "(next monday), an offset (+7d, -2w, +1m) or words such as 'in 3 days'")
    return UserDate(_bounded(said, text), iso=False)


def read_day_or_time(text: str, today: date) -> date | datetime:
    """A day (the forms of `read_user_date`) or "YYYY-MM-DD HH:MM" in America/Los_Angeles:
    what `correct`, `add` and the web page's editor forms take for a date."""
    from datetime import time

    from caltac_inbox.timeline.time import LOS_ANGELES

    m = _DAY_AND_TIME_RE.fullmatch(text.strip())
    if not m:
        return read_user_date(text, today).day
    day = read_user_date(m.group(1), today).day
    hour, minute = int(m.group(2)), int(m.group(3))
    if hour > 23 or minute > 59:
        raise DateInputError(f"{text!r} has no such time of day; use HH:MM from 00:00 to 23:59")
    return datetime.combine(day, time(hour, minute), LOS_ANGELES)


def _bounded(day: date, text: str) -> date:
    if not EARLIEST <= day <= LATEST:
        raise DateInputError(f"{text!r} is outside the days this tool keeps ({EARLIEST} to {LATEST})")
    return day


def _simple(raw: str, today: date) -> date | None:
    if raw in _RELATIVE:
        return today + timedelta(days=_RELATIVE[raw])
    m = _OFFSET_RE.match(raw)
    if m:
        n = int(m.group("n")) * (1 if m.group("sign") == "+" else -1)
        unit = m.group("unit")[0]
        try:
            if unit == "d":
                return today + timedelta(days=n)
            if unit == "w":
                return today + timedelta(weeks=n)
            return _add_months(today, n)
        except OverflowError:
            raise DateInputError(f"{raw!r} reaches past the days this tool keeps") from None
    m = _WEEKDAY_RE.match(raw)
    from caltac_inbox.classify.dates import WEEKDAYS  # the notice reader's names, loaded only for words

    if m and m.group("day") in WEEKDAYS:
        target = WEEKDAYS[m.group("day")]
        which = m.group("which")
        if which == "last":
            back = (today.weekday() - target) % 7 or 7
            return today - timedelta(days=back)
        ahead = (target - today.weekday()) % 7
        if which == "next" and ahead == 0:
            ahead = 7
        return today + timedelta(days=ahead)
    return None


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise DateInputError(f"no such month: {year}-{month:02d}")


def _natural(raw: str, today: date) -> date | None:
    import dateparser  # slow to import: only for phrases the simple forms do not read

    base = datetime(today.year, today.month, today.day, 12, 0)
    found = dateparser.parse(raw, languages=["en"], settings={
        "RELATIVE_BASE": base, "PREFER_DATES_FROM": "future", "RETURN_AS_TIMEZONE_AWARE": False,
        "PREFER_DAY_OF_MONTH": "first", "STRICT_PARSING": False})
    return found.date() if found is not None else None


__all__ = ["DateInputError", "UserDate", "read_day_or_time", "read_user_date"]
