"""Finding and resolving the dates, times, ranges and school years written in a notice.

A conservative finder: only month names (with their abbreviations), weekday names,
numeric month/day dates and day-first forms ("the 3rd of May", and "8 March 2024" or
"Friday 8 March" when a year or a weekday vouches for it) count as dates;
a bare number never does. dateparser is not used at all: its `search_dates` reads
"may", "We" and "2019–20" as dates, and every form met in notices is covered here.

Public functions:

- `find_mentions(text, sent) -> list[Mention]`: every date point and date range in a
  sentence, resolved to `datetime.date` (no time of day given) or an aware `datetime`.
- `resolve_year(month, day, sent, weekday=None, past=False) -> date | None`: the year
  rule for a date written without one (below).
- `school_years(text) -> list[str]`, `normalize_school_year(text) -> str | None`,
  `school_year_of(day) -> str`: school years as "2019-20".
- `keep_years(text) -> int | None`: "three years of historical data",
  "two years of historical data plus one year of current data" -> 3.
- `relative_anchor(text) -> Anchor | None`: "prior to the downtime on August 14",
  "before the system downtime", "during the downtime", "before TOMS closes".
- `parse_time(text)`: "5 p.m.", "11:59 p.m.", "noon" -> `datetime.time`.

Year rule for a date written without a year: the nearest such date on or after the
notice's sent date, except that a date a little before the sent date keeps that
earlier date (14 days, or 92 days when the sentence speaks in the past tense: "the
downtime began Friday" in a Monday notice, "the deadline was July 1" in a September
notice). When a weekday is written it must agree with the chosen date; the earlier and
the later candidate are both tried, and when neither agrees the date is dropped. A date
written with a year whose weekday disagrees ("Friday, December 6, 2025", a Saturday) is
dropped too: no fact is better than a wrong one.

In a range the start borrows what it leaves out from the end: its year ("Friday,
August 14 at 5 p.m. through Thursday, August 20, 2020"), its month ("August 11–13"),
and its a.m./p.m. ("from 8 through 11 a.m."). Times are America/Los_Angeles unless the
sentence names ET, CT or MT.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from caltac_inbox.classify.guard import Guard
from caltac_inbox.timeline.time import LOS_ANGELES as PACIFIC

_ZONES = {
    "P": "America/Los_Angeles",
    "E": "America/New_York",
    "C": "America/Chicago",
    "M": "America/Denver",
}

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
    "april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "october": 10,
    "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
}

GRACE_DAYS = 14
GRACE_DAYS_PAST = 92

# Month and weekday names must start with a capital letter: "may" the verb is no date.
_MONTH_RE = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept\.?|Sep\.?|Oct\.?|Nov\.?|Dec\.?)"
)
_WEEKDAY_RE = (
    r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
    r"|Mon\.?|Tues\.?|Tue\.?|Wed\.?|Thurs\.?|Thur\.?|Thu\.?|Fri\.?|Sat\.?|Sun\.?)"
)
_ORD = r"(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}(?!\s*[–—-]\s*\d)"  # "2019–20" is a school year, not a year
_DAY_LIST = rf"\d{{1,2}}{_ORD}(?:\s*,\s*\d{{1,2}}{_ORD}(?!\d|:\d))*,?\s+(?:and|&)\s+\d{{1,2}}{_ORD}"
# "Sept. 8 (Mon.)", "the 12th of August (a Friday)": a weekday in parentheses after the date
_WEEKDAY_AFTER = rf"(?:,?\s*\((?:an?\s+)?(?P<wd2>{_WEEKDAY_RE})\)(?=\W|$))?"
DATE_RE = re.compile(
    rf"(?:\b(?P<wd>{_WEEKDAY_RE}),?\s+)?"
    rf"\b(?P<mon>{_MONTH_RE})\s+(?:the\s+)?"
    rf"(?P<days>{_DAY_LIST}|\d{{1,2}}{_ORD})(?!\d|:\d)(?!\s*(?:a\.?m\b|p\.?m\b|[ap]m\b))"
    rf"(?:,?\s+(?P<year>{_YEAR}))?\b{_WEEKDAY_AFTER}"
)
# "the 3rd of May", "3rd May 2024": day first only with an ordinal suffix or "of"
DAY_FIRST_RE = re.compile(
    rf"(?:\b(?P<wd>{_WEEKDAY_RE}),?\s+)?(?:\bthe\s+)?\b(?P<day>\d{{1,2}})(?:(?:st|nd|rd|th)\s+(?:of\s+)?|\s+of\s+)"
    rf"(?P<mon>{_MONTH_RE})(?:,?\s+(?P<year>{_YEAR}))?\b{_WEEKDAY_AFTER}"
)
# "the second of January", "January second": a day written as an ordinal word
ORDINAL_WORDS = {w: i + 1 for i, w in enumerate((
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
    "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth",
    "twentieth", "twenty-first", "twenty-second", "twenty-third", "twenty-fourth", "twenty-fifth", "twenty-sixth",
    "twenty-seventh", "twenty-eighth", "twenty-ninth", "thirtieth", "thirty-first"))}
_ORDINAL_WORD = "(?:" + "|".join(sorted((re.escape(w) for w in ORDINAL_WORDS), key=len, reverse=True)) + ")"
ORDINAL_DATE_RE = re.compile(
    rf"(?:\b(?P<wd>{_WEEKDAY_RE}),?\s+)?(?:\bthe\s+(?P<ord1>{_ORDINAL_WORD})\s+of\s+(?P<mon1>{_MONTH_RE})"
    rf"|\b(?P<mon2>{_MONTH_RE})\s+(?:the\s+)?(?P<ord2>{_ORDINAL_WORD}))(?![\w-])(?:,?\s+(?P<year>{_YEAR}))?",
    re.I)
# "Friday the 28th": a day of the month with no month, vouched for by its weekday
WEEKDAY_THE_DAY_RE = re.compile(rf"\b(?P<wd>{_WEEKDAY_RE}),?\s+the\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)\b(?!\s+of\b)")
# "8 March 2024", "Friday, 8 March": a bare day first only with a year after it or a weekday before it
BARE_DAY_FIRST_RE = re.compile(
    rf"(?:\b(?P<wd>{_WEEKDAY_RE}),?\s+)?\b(?P<day>\d{{1,2}})\s+(?P<mon>{_MONTH_RE})(?:,?\s+(?P<year>{_YEAR}))?\b"
)
# "Friday at 5 p.m.", "through Tuesday", "early Sunday morning": a weekday with no month and
# day after it; full names only ("Sun" and "Sat" are words too), never "Fridays" or "every Friday"
WEEKDAY_ONLY_RE = re.compile(
    r"(?<![\w-])(?:(?:early|late)\s+)?(?:(?:this|next|coming|on)\s+)?"
    r"(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)(?![\w-])"
    r"(?!\s*,?\s*(?:the\s+)?(?:\d|" + _MONTH_RE + r"))"
    r"(?:\s+(?:morning|afternoon|evening|night))?"
)
_EVERY_RE = re.compile(r"\b(?:every|each|all|most|some|on\s+weekends?)\s+(?:\w+\s+)?$", re.I)
# "today", "tonight", "tomorrow": days counted from the notice's sent day
RELATIVE_DAY_RE = re.compile(r"(?<![\w-])(?P<rel>[Tt]oday|[Tt]onight|[Tt]omorrow)(?![\w-])")
_APPOSITION_RE = re.compile(r"\s*,?\s*")
_RELATIVE_OFFSETS = {"today": 0, "tonight": 0, "tomorrow": 1}
NUMERIC_DATE_RE = re.compile(
    r"(?<![\d/.])(?:\b(?P<wd>" + _WEEKDAY_RE + r"),?\s+)?"
    r"(?P<mon>1[0-2]|0?[1-9])/(?P<day>3[01]|[12]\d|0?[1-9])(?:/(?P<year>(?:20)?\d{2}))?(?![\d/])"
)
# Every match of the three month-name patterns holds a month name, and every month name
# starts with one of these (the patterns are case-sensitive); a numeric date holds "/".
_MONTH_STARTS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NAME_GUARDS = tuple(Guard(p, _MONTH_STARTS) for p in (DATE_RE, DAY_FIRST_RE, BARE_DAY_FIRST_RE))
NUMERIC_DATE_GUARD = Guard(NUMERIC_DATE_RE, ("/",))
# every ordinal day word ("second", "thirteenth", "twenty-first", "thirtieth") holds one of these
_ORDINAL_GUARD = Guard(ORDINAL_DATE_RE, ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
                                         "ninth", "tenth", "eleventh", "twelfth", "teenth", "tieth"))
_DIGIT_RE = re.compile(r"\d")  # all four date patterns need one (most sentences have none)
_DAY_NUMBER_RE = re.compile(r"\d{1,2}")
_AMPM = r"(?P<ap>[ap])\.?\s?m\b\.?"
TIME_RE = re.compile(
    rf"\b(?:(?P<h>1[0-2]|0?\d)(?::(?P<m>[0-5]\d))?\s*{_AMPM}|(?P<noon>noon|midnight))"
    r"(?:\s*\(?(?P<zone>P[SD]?T|E[SD]?T|C[SD]?T|M[SD]?T|Pacific|Eastern|Central|Mountain)\b(?:\s+[Tt]ime)?\)?"
    r"(?:\s*\([PECM][SD]?T\))?)?",
    re.I,
)
_CONNECTOR = (
    r"\s*\)?\s*,?\s*(?:(?:and\s+)?(?:(?:will\s+)?(?:run|runs|ran|running|last|lasts|lasted|lasting|continue|continues"
    r"|continued|continuing|end|ends|ended|ending)\s+)?"
    r"(?:through|thru|until|till|to)(?:\s+the\s+end\s+of)?|[–—-]{1,2}"
    r"|and\s+(?:will\s+)?(?:resume|return|reopen|be\s+(?:back(?:\s+online)?|available|restored)|come\s+back(?:\s+online)?)"
    r"(?:\s+(?:at|on|by))?"
    r"|(?:and\s+)?(?:will\s+)?(?:end|ends|ending|conclude|concludes|concluding)(?:\s+(?:on|at))?)\s*"
)
CONNECTOR_RE = re.compile(rf"^{_CONNECTOR}$", re.I)
# the end of a range may put its time first: "5 p.m. on Friday, March 29, through 8 a.m. on Monday"
CONNECTOR_TIME_RE = re.compile(rf"^{_CONNECTOR}$|^{_CONNECTOR}(?P<clock>@)\s*,?\s*(?:on\s+)?$", re.I)
BARE_DAY_END_RE = re.compile(rf"\s*(?P<day>\d{{1,2}}){_ORD}(?!\d|:\d)(?!\s*[ap]\.?m)(?:,?\s+(?P<year>{_YEAR}))?\b")
# a verb right before a date that speaks of it as past: "ended May 29", "were due Monday, March 27"
PAST_BEFORE_DATE_RE = re.compile(
    r"\b(?:ended|expired|closed|passed|began|opened|was\s+due|were\s+due|was|were)(?:\s+(?:on|at))?\s*,?\s*$", re.I)
# "The May 6 deadline to set up windows has passed": the date of a deadline said to be over
PAST_AFTER_DATE_RE = re.compile(
    r"\s*,?\s*(?:deadline|due\s+date|cut-?off(?:\s+date)?)\b[^.;]{0,160}?\b(?:has|have|had)\s+(?:now\s+|already\s+)?"
    r"(?:passed|ended|expired|closed)\b", re.I)
PAST_RE = re.compile(
    r"\b(?:was|were|began|begun|ended|opened|closed|expired|occurred|had|took place|has been|have been)\b",
    re.I,
)
_PAST_GUARD = Guard(PAST_RE, ("was", "were", "began", "begun", "ended", "opened", "closed", "expired", "occurred",
                              "had", "took", "been"))


@dataclass(frozen=True)
class Point:
    """One resolved date (and time) written in the text, with its character span."""

    begin: int
    end: int
    day: date
    clock: time | None = None
    zone: str = "America/Los_Angeles"
    year_written: bool = False

    @property
    def when(self) -> date | datetime:
        if self.clock is None:
            return self.day
        return datetime.combine(self.day, self.clock, tzinfo=ZoneInfo(self.zone))


@dataclass(frozen=True)
class Mention:
    """A point or a range; `start` is None only for an open end ("through September 13")."""

    begin: int
    end: int
    start: Point | None
    stop: Point | None

    @property
    def is_range(self) -> bool:
        return self.start is not None and self.stop is not None and self.start is not self.stop

    @property
    def point(self) -> Point:
        return self.start or self.stop  # type: ignore[return-value]


DAY_OF_MONTH_ONLY = -1  # _Raw.month of "Friday the 28th"


@dataclass(frozen=True)
class _Raw:
    """A date as written, before the year is settled. A weekday written alone ("Friday at
    5 p.m.") has month and day 0; "today" and "tomorrow" carry their offset from the sent day."""

    begin: int
    end: int
    month: int
    day: int
    year: int | None
    weekday: int | None
    offset: int | None = None

    @property
    def weekday_only(self) -> bool:
        return self.month == 0 and self.offset is None

    @property
    def relative(self) -> bool:
        return self.month == 0


@dataclass(frozen=True)
class _Clock:
    begin: int
    end: int
    value: time | None
    zone: str | None
    midnight: bool = False  # "midnight" ends a day (23:59) unless it starts a range


def _month(name: str) -> int:
    return MONTHS[name.rstrip(".").lower()]


def _weekday(name: str | None) -> int | None:
    return None if not name else WEEKDAYS[name.rstrip(".").lower()]


def _zone_name(code: str | None) -> str | None:
    if not code:
        return None
    return _ZONES.get(code[0].upper())


def parse_time(text: str) -> time | None:
    """'5 p.m.' -> 17:00, '11:59 p.m.' -> 23:59, 'noon' -> 12:00; None if not a time."""
    m = TIME_RE.search(text)
    return _clock_of(m) if m else None


def _clock_of(m: re.Match[str]) -> time | None:
    if m.group("noon"):
        return time(12, 0) if m.group("noon").lower() == "noon" else time(23, 59)
    hour, minute = int(m.group("h")), int(m.group("m") or 0)
    if hour > 12:
        return None
    pm = m.group("ap").lower() == "p"
    if hour == 12:
        hour = 12 if pm else 0
    elif pm:
        hour += 12
    return time(hour, minute)


def resolve_year(month: int, day: int, sent: date | datetime | None, weekday: int | None = None,
                 past: bool = False, spoken_past: bool = False) -> date | None:
    """The year for a date written without one (see the module docstring). `spoken_past`: the
    date is spoken of as past ("ended May 29", "was due Monday, March 27"): the nearest such
    date on or before the sent day."""
    if sent is None:
        return None
    base = sent.date() if isinstance(sent, datetime) else sent
    grace = timedelta(days=GRACE_DAYS_PAST if past else GRACE_DAYS)
    candidates: list[date] = []
    for year in (base.year - 1, base.year, base.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue
    earlier = [c for c in candidates if base - grace <= c < base]
    later = [c for c in candidates if c >= base]
    ordered = earlier[-1:] + later[:1]
    if spoken_past:
        ordered = [c for c in candidates if c <= base][-1:]
    if weekday is None:
        return ordered[0] if ordered else None
    for c in ordered:
        if c.weekday() == weekday:
            return c
    return None


def _settle(raw: _Raw, sent: date | datetime | None, past: bool, year: int | None = None,
            after: date | None = None, spoken_past: bool = False) -> date | None:
    """The calendar date of a written date; None when impossible or the weekday disagrees.

    A weekday written alone is the first such day on or after `after` (the date written
    before it in the same passage), else on or after the sent day, or in a past-tense
    sentence the last one on or before it."""
    if raw.month == DAY_OF_MONTH_ONLY:
        # "Friday the 28th": the first such day on or after the sent day whose weekday agrees
        base = after or (sent.date() if isinstance(sent, datetime) else sent)
        if base is None:
            return None
        for months_ahead in range(3):
            y, mo = base.year + (base.month - 1 + months_ahead) // 12, (base.month - 1 + months_ahead) % 12 + 1
            try:
                d = date(y, mo, raw.day)
            except ValueError:
                continue
            if d >= base - timedelta(days=GRACE_DAYS) and d.weekday() == raw.weekday:
                return d
        return None
    if raw.relative:
        if sent is None:
            return None
        base = sent.date() if isinstance(sent, datetime) else sent
        if raw.offset is not None:
            return base + timedelta(days=raw.offset)
        if after is not None:
            return after + timedelta(days=(raw.weekday - after.weekday()) % 7)  # type: ignore[operator]
        if past:
            return base - timedelta(days=(base.weekday() - raw.weekday) % 7)  # type: ignore[operator]
        return base + timedelta(days=(raw.weekday - base.weekday()) % 7)  # type: ignore[operator]
    written_year = raw.year or year
    if written_year is None:
        return resolve_year(raw.month, raw.day, sent, raw.weekday, past, spoken_past)
    try:
        d = date(written_year, raw.month, raw.day)
    except ValueError:
        return None
    if raw.weekday is not None and d.weekday() != raw.weekday:
        return None
    return d


def _raw_dates(text: str, words: int | None = None) -> list[list[_Raw]]:
    """Written dates; a list like "May 3, 4, and 5, 2017" gives one group of three."""
    groups = _written_dates(text, words)
    relative = _relative_dates(text, groups)
    if not relative:
        return groups
    groups.extend([r] for r in relative)
    groups.sort(key=lambda g: g[0].begin)
    return groups


def _relative_dates(text: str, written: list[list[_Raw]]) -> list[_Raw]:
    """Weekdays written alone and "today"/"tomorrow", when no written date says the same:
    "today, Friday, June 30" is June 30, once."""
    has_weekday = "day" in text or "DAY" in text
    if not has_weekday and not ("tonight" in text.lower() or "tomorrow" in text.lower()):
        return []
    starts = sorted(g[0].begin for g in written)
    out: list[_Raw] = []
    for m in WEEKDAY_ONLY_RE.finditer(text) if has_weekday else ():
        if _EVERY_RE.search(text[max(0, m.start() - 24):m.start()]) or _covered(m.start(), written):
            continue
        out.append(_Raw(m.start(), m.end(), 0, 0, None, WEEKDAYS[m.group("wd").lower()]))
    for m in RELATIVE_DAY_RE.finditer(text):
        nxt = next((b for b in starts if b >= m.end()), None)
        if nxt is not None and re.fullmatch(r"\s*,?\s*(?:on\s+)?", text[m.end():nxt]):
            continue  # "today, Friday, June 30": the written date stands for it
        # "tomorrow, Friday": the weekday says the same day again (and a time may follow it)
        end = m.end()
        for r in [r for r in out if r.weekday_only and _APPOSITION_RE.fullmatch(text, m.end(), r.begin)]:
            out.remove(r)
            end = r.end
        out.append(_Raw(m.start(), end, 0, 0, None, None, _RELATIVE_OFFSETS[m.group("rel").lower()]))
    out.sort(key=lambda r: r.begin)
    return out


def _covered(pos: int, groups: list[list[_Raw]]) -> bool:
    return any(g[0].begin <= pos < g[-1].end for g in groups)


def month_named_any(text: str) -> bool:
    """A month name may be in the text (its first three letters, any case)."""
    folded = text.lower()
    return any(start.lower() in folded for start in _MONTH_STARTS)


def _ordinal_dates(text: str, taken: list[tuple[int, int]], words: int | None = None) -> list[list[_Raw]]:
    """Dates whose day is an ordinal word ("the second of January"), where no written date stands."""
    out: list[list[_Raw]] = []
    ordinal = _ORDINAL_GUARD.possible(text) if words is None else _ORDINAL_GUARD.possible_in(words)
    if not (ordinal and month_named_any(text)):
        return out
    for m in ORDINAL_DATE_RE.finditer(text):
        month = m.group("mon1") or m.group("mon2")
        if not month[:1].isupper() or any(a <= m.start() < b or a < m.end() <= b for a, b in taken):
            continue  # "may" the verb, or part of a date already read
        day = ORDINAL_WORDS[(m.group("ord1") or m.group("ord2")).lower()]
        out.append([_Raw(m.start(), m.end(), _month(month), day, int(m.group("year")) if m.group("year") else None,
                         _weekday(m.group("wd")))])
        taken.append((m.start(), m.end()))
    return out


def _overlaps(m: re.Match[str], taken: list[tuple[int, int]]) -> bool:
    return any(a <= m.start() < b or a < m.end() <= b for a, b in taken)


def _month_first_dates(text: str, groups: list[list[_Raw]], taken: list[tuple[int, int]]) -> None:
    """ "Friday, May 5, 2023", "May 5 and 12": a group of days per match."""
    for m in DATE_RE.finditer(text):
        month = _month(m.group("mon"))
        year = int(m.group("year")) if m.group("year") else None
        days = [int(x) for x in _DAY_NUMBER_RE.findall(m.group("days"))]
        if any(not 1 <= d <= 31 for d in days):
            continue
        wd = _weekday(m.group("wd") or m.group("wd2"))
        if len(days) == 1:
            groups.append([_Raw(m.start(), m.end(), month, days[0], year, wd)])
        else:
            groups.append([_Raw(m.start(), m.end(), month, d, year, wd if i == 0 else None)
                           for i, d in enumerate(days)])
        taken.append((m.start(), m.end()))


_NOT_A_DAY_BEFORE_RE = re.compile(
    r"\b(?:grades?|levels?|versions?|no\.?|numbers?)\s*$|\d\s*(?:through|thru|to|and|or|[–—-])\s*$", re.I)


def _day_first_dates(text: str, groups: list[list[_Raw]], taken: list[tuple[int, int]]) -> None:
    """ "Friday, 5 May 2023", and a bare "5 May" only with its weekday or year."""
    for m in DAY_FIRST_RE.finditer(text):
        if _overlaps(m, taken) or not 1 <= int(m.group("day")) <= 31:
            continue
        groups.append([_Raw(m.start(), m.end(), _month(m.group("mon")), int(m.group("day")),
                            int(m.group("year")) if m.group("year") else None,
                            _weekday(m.group("wd") or m.group("wd2")))])
        taken.append((m.start(), m.end()))
    for m in BARE_DAY_FIRST_RE.finditer(text):
        if (_overlaps(m, taken) or not 1 <= int(m.group("day")) <= 31
                or not (m.group("wd") or m.group("year"))
                or _NOT_A_DAY_BEFORE_RE.search(text[max(0, m.start() - 12):m.start()])):
            continue
        groups.append([_Raw(m.start(), m.end(), _month(m.group("mon")), int(m.group("day")),
                            int(m.group("year")) if m.group("year") else None, _weekday(m.group("wd")))])
        taken.append((m.start(), m.end()))


def _weekday_the_day_dates(text: str, groups: list[list[_Raw]], taken: list[tuple[int, int]]) -> None:
    """ "Friday the 28th": a day of a month the passage gives."""
    for m in WEEKDAY_THE_DAY_RE.finditer(text):
        if _overlaps(m, taken) or not 1 <= int(m.group("day")) <= 31:
            continue
        groups.append([_Raw(m.start(), m.end(), DAY_OF_MONTH_ONLY, int(m.group("day")), None, _weekday(m.group("wd")))])
        taken.append((m.start(), m.end()))


def _numeric_dates(text: str, groups: list[list[_Raw]], taken: list[tuple[int, int]]) -> None:
    """ "5/12/2023", "Friday, 5/12"."""
    for m in NUMERIC_DATE_GUARD.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        year = m.group("year")
        y = None if not year else (int(year) + 2000 if len(year) == 2 else int(year))
        groups.append([_Raw(m.start(), m.end(), int(m.group("mon")), int(m.group("day")), y,
                            _weekday(m.group("wd")))])


def _written_dates(text: str, words: int | None = None) -> list[list[_Raw]]:
    groups: list[list[_Raw]] = []
    if not _DIGIT_RE.search(text):
        groups = _ordinal_dates(text, [], words)
        groups.sort(key=lambda g: g[0].begin)
        return groups
    taken: list[tuple[int, int]] = []
    if _MONTH_NAME_GUARDS[0].possible(text):  # the three guards share their words
        _month_first_dates(text, groups, taken)
        _day_first_dates(text, groups, taken)
    groups.extend(_ordinal_dates(text, taken, words))
    if "the" in text:
        _weekday_the_day_dates(text, groups, taken)
    _numeric_dates(text, groups, taken)
    groups.sort(key=lambda g: g[0].begin)
    return groups


def _clocks(text: str) -> list[_Clock]:
    out: list[_Clock] = []
    for m in TIME_RE.finditer(text):
        value = _clock_of(m)
        if value is not None:
            midnight = (m.group("noon") or "").lower() == "midnight"
            out.append(_Clock(m.start(), m.end(), value, _zone_name(m.group("zone")), midnight))
    return out


_APPROX = r"(?:(?:approximately|about|around|roughly|approx\.)\s*)?"
_CLOCK_AFTER_GAP_RE = re.compile(
    r"\s*[,|(]?\s*(?:at|by|from|between|beginning\s+at|starting\s+at)?\s*" + _APPROX, re.I)
_CLOCK_BEFORE_GAP_RE = re.compile(r"\s*,?\s*(?:on|,)?\s*")
_BARE_HOUR_START_RE = re.compile(r"(\d{1,2})(?::(\d{2}))?(\s*(?:through|to|until|[–—-])\s*)$")
_CLOCK_RANGE_GAP_RE = re.compile(r"\s*(?:,?\s*(?:through|thru|until|till|to|and)|[–—-])\s*", re.I)
MAX_GAP = 48  # characters between a date and its time; longer gaps are not read


class _Clocks:
    """The times of one sentence, looked up by position (sorted, so each lookup is a bisection)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.all = _clocks(text)
        self.begins = [c.begin for c in self.all]
        self.ends = [c.end for c in self.all]
        self.zone = next((c.zone for c in self.all if c.zone), None)

    def first_from(self, pos: int) -> int:
        """Index of the first time that starts at or after `pos` (len(all) when none)."""
        return bisect_left(self.begins, pos)

    def after(self, pos: int) -> _Clock | None:
        """A time right after a date: "August 14 at 5 p.m.", "August 26, at approximately 5 p.m."."""
        i = self.first_from(pos)
        if i < len(self.all) and self.all[i].begin - pos <= MAX_GAP:
            c = self.all[i]
            if _CLOCK_AFTER_GAP_RE.fullmatch(self.text, pos, c.begin):
                return c
        return None

    def between(self, begin: int, end: int) -> _Clock | None:
        """The first time that lies wholly between two positions."""
        i = self.first_from(begin)
        if i < len(self.all) and self.all[i].end <= end:
            return self.all[i]
        return None

    def following(self, c: _Clock) -> _Clock | None:
        i = bisect_left(self.begins, c.end)
        return self.all[i] if i < len(self.all) else None

    def span_before(self, pos: int) -> tuple[_Clock, _Clock | None] | None:
        """A time (or time range) right before a date: "11:59 p.m. on Tuesday", "from 8 a.m.
        through 11 a.m. PT on May 3"."""
        i = bisect_right(self.ends, pos) - 1
        if i < 0:
            return None
        c = self.all[i]
        if pos - c.end > MAX_GAP or not _CLOCK_BEFORE_GAP_RE.fullmatch(self.text, c.end, pos):
            return None
        if i > 0 and c.begin - self.all[i - 1].end <= MAX_GAP and CONNECTOR_RE.match(
                self.text[self.all[i - 1].end:c.begin]):
            return self.all[i - 1], c
        m = _BARE_HOUR_START_RE.search(self.text, max(0, c.begin - 24), c.begin)
        if m and c.value is not None:
            hour, minute = int(m.group(1)), int(m.group(2) or 0)
            if 1 <= hour <= 12:
                pm = c.value.hour >= 12
                h24 = (hour % 12) + (12 if pm else 0)
                if h24 > c.value.hour:  # "11 through 1 p.m." -> 11 a.m.
                    h24 -= 12
                start = _Clock(m.start(1), m.end(2) if m.group(2) else m.end(1), time(h24, minute), c.zone)
                return start, c
        return c, None


def _day_after(day: date, start: time | None, end: time | None) -> date:
    """The end's day of a time range on one day: the next day when it crosses midnight
    ("from 7 p.m. to 2 a.m.")."""
    if start is not None and end is not None and end <= start:
        return day + timedelta(days=1)
    return day


def find_mentions(text: str, sent: date | datetime | None, after: date | None = None,
                  words: int | None = None) -> list[Mention]:
    """Every date point and range in `text` (one sentence), resolved; bad dates left out.

    `after`: the last date of the passage before this sentence, for a weekday written
    alone ("The downtime starts Friday, May 19. Systems return Monday at 8 a.m.").
    `words`: the guard words in `text` (guard.word_mask), when the caller has them."""
    groups = _raw_dates(text, words)
    if not groups:
        return []
    past = _PAST_GUARD.possible(text) if words is None else _PAST_GUARD.possible_in(words)
    reader = _MentionReader(text, sent, _Clocks(text), past and PAST_RE.search(text) is not None, after)
    i = 0
    while i < len(groups):
        nxt = groups[i + 1] if i + 1 < len(groups) else None
        i += reader.read(groups[i], nxt)
    out = reader.out
    if len(out) == 1 and out[0].stop is None and out[0].point.clock is None:
        # "Saturday, March 14: TOMS maintenance window from 6 a.m. to 6 p.m.": the sentence's one
        # date takes the one time range written apart from it
        return [_with_time_range(out[0], reader.clocks, text)]
    return out


@dataclass
class _MentionReader:
    """Reads a sentence's date groups in order into `out`; `last_day` is the date a weekday written
    alone counts from."""

    text: str
    sent: date | datetime | None
    clocks: _Clocks
    past: bool
    last_day: date | None
    out: list[Mention] = field(default_factory=list)

    def read(self, group: list[_Raw], nxt: list[_Raw] | None) -> int:
        """Reads `group` (and `nxt` when the two make a range); returns how many groups it took."""
        first, last = group[0], group[-1]
        clock_after = self.clocks.after(last.end)
        before = self.clocks.span_before(first.begin)
        start_end = clock_after.end if clock_after else last.end
        if len(group) == 1 and nxt is not None and len(nxt) == 1 and self._range_to(first, before, clock_after,
                                                                                    start_end, nxt[0]):
            return 2
        if len(group) == 1 and not first.relative and self._range_to_bare_day(first, before, clock_after, start_end):
            return 1
        # a time range after the date: "Saturday, May 4, from 6 a.m. to noon"
        if clock_after is not None and before is None:
            nxt_clock = self.clocks.following(clock_after)
            if (nxt_clock is not None and nxt_clock.begin - clock_after.end <= MAX_GAP
                    and _CLOCK_RANGE_GAP_RE.fullmatch(self.text, clock_after.end, nxt_clock.begin)):
                before = (clock_after, nxt_clock)
                clock_after = None
        self._points(group, before, clock_after)
        return 1

    def _add_range(self, first: _Raw, before, clock_after: _Clock | None, end_raw: _Raw,
                   end_after: _Clock | None) -> None:
        mention = _range(first, before, clock_after, end_raw, end_after, self.sent, self.past, self.clocks.zone,
                         self.last_day)
        if mention is not None:
            self.out.append(mention)
            self.last_day = mention.stop.day  # type: ignore[union-attr]

    def _range_to(self, first: _Raw, before, clock_after: _Clock | None, start_end: int, end_raw: _Raw) -> bool:
        """A range to another written date: "May 1 to May 5", "between May 1 at 6 p.m. and May 2"."""
        text, clocks = self.text, self.clocks
        gap = text[start_end:end_raw.begin]
        gap_clock = clocks.between(start_end, end_raw.begin)
        masked = ""
        if gap_clock is not None:
            masked = text[start_end:gap_clock.begin] + "@" + text[gap_clock.end:end_raw.begin]
        between = re.search(r"\bbetween\s+(?:\S+\s+){0,3}$", text[max(0, first.begin - 30):first.begin]) or (
            before is not None and re.search(r"\bbetween\s*$", text[max(0, before[0].begin - 12):before[0].begin]))
        and_gap = between and re.fullmatch(r"\s*,?\s*and\s*(?:@\s*,?\s*(?:on\s+)?)?",
                                           masked if gap_clock is not None else gap)
        if not (len(gap) <= 2 * MAX_GAP and (CONNECTOR_RE.match(gap) or (
                gap_clock is not None and CONNECTOR_TIME_RE.match(masked)) or and_gap)):
            return False
        end_after = clocks.after(end_raw.end) if gap_clock is None else gap_clock
        self._add_range(first, before, clock_after, end_raw, end_after)
        return True

    def _range_to_bare_day(self, first: _Raw, before, clock_after: _Clock | None, start_end: int) -> bool:
        """A range to a bare day: "August 11–13", "November 15 through 17, 2022"."""
        conn = _BARE_DAY_CONNECTOR_RE.match(self.text, start_end)
        bare = BARE_DAY_END_RE.match(self.text, conn.end()) if conn else None
        if conn is None or bare is None:
            return False
        end_raw = _Raw(conn.end(), bare.end(), first.month, int(bare.group("day")),
                       int(bare.group("year")) if bare.group("year") else None, None)
        self._add_range(first, before, clock_after, end_raw, self.clocks.after(end_raw.end))
        return True

    def _points(self, group: list[_Raw], before, clock_after: _Clock | None) -> None:
        """The group's days (a list of days shares its year and its time span)."""
        shared_year = group[-1].year
        zone_default = self.clocks.zone
        for raw in group:
            spoken_past = bool(PAST_BEFORE_DATE_RE.search(self.text, max(0, group[0].begin - 30), group[0].begin)
                               or PAST_AFTER_DATE_RE.match(self.text, group[-1].end))
            d = _settle(raw, self.sent, self.past, shared_year, self.last_day, spoken_past)
            if d is None:
                continue
            self.last_day = d
            written = raw.year is not None or shared_year is not None
            if before and before[1] is not None:
                s_clock, e_clock = before
                zone = e_clock.zone or s_clock.zone or zone_default or PACIFIC.key
                sp = Point(raw.begin, raw.end, d, s_clock.value, zone, written)
                ep = Point(raw.begin, raw.end, _day_after(d, s_clock.value, e_clock.value), e_clock.value, zone,
                           written)
                self.out.append(Mention(min(s_clock.begin, raw.begin), max(raw.end, e_clock.end), sp, ep))
            else:
                c = clock_after or (before[0] if before else None)
                zone = (c.zone if c else None) or zone_default or PACIFIC.key
                p = Point(raw.begin, raw.end, d, c.value if c else None, zone, written)
                b = min(raw.begin, c.begin) if c else raw.begin
                e = max(raw.end, c.end) if c else raw.end
                self.out.append(Mention(b, e, p, None))


def _with_time_range(m: Mention, clocks: "_Clocks", text: str) -> Mention:
    pairs = []
    for a, b in zip(clocks.all, clocks.all[1:], strict=False):
        if (b.begin - a.end <= MAX_GAP and _CLOCK_RANGE_GAP_RE.fullmatch(text, a.end, b.begin)
                and not (a.begin < m.end and m.begin < b.end)):
            pairs.append((a, b))
    if len(pairs) != 1 or len(clocks.all) != 2:
        return m
    a, b = pairs[0]
    p = m.point
    zone = b.zone or a.zone or p.zone
    start = Point(p.begin, p.end, p.day, a.value, zone, p.year_written)
    stop = Point(p.begin, p.end, _day_after(p.day, a.value, b.value), b.value, zone, p.year_written)
    return Mention(min(m.begin, a.begin), max(m.end, b.end), start, stop)


_BARE_DAY_CONNECTOR_RE = re.compile(r"\s*,?\s*(?:through|thru|to|until|[–—-])\s*")


def dropped_dates(text: str, sent: date | datetime | None) -> list[str]:
    """Dates written with a weekday that no calendar day agrees with ("Friday, April 15" in a year
    where it is a Saturday): the finder drops them; a reviewer should see them."""
    out = []
    past = bool(PAST_RE.search(text))
    for group in _raw_dates(text):
        for raw in group:
            if raw.weekday is not None and not raw.relative and _settle(raw, sent, past, group[-1].year) is None:
                out.append(text[raw.begin:raw.end])
    return out


def _day_of(when: date | datetime) -> date:
    return when.date() if isinstance(when, datetime) else when


def _on_or_before(raw: _Raw, end: date) -> date:
    """The last (month, day) of `raw` on or before `end` (a window's start before its end)."""
    year = end.year if (raw.month, raw.day) <= (end.month, end.day) else end.year - 1
    try:
        return date(year, raw.month, raw.day)
    except ValueError:
        return end


def _start_year(first: _Raw, end_raw: _Raw, sent, past: bool) -> int | None:
    """The start borrows the year from the end; with neither written, a window under way (its
    start before the sent day, its end after) ends on the nearest such day and began before it."""
    start_year = first.year
    end_known = end_raw.year
    if start_year is None and end_known is None and not first.relative and not end_raw.relative:
        end_first = _settle(end_raw, sent, past)
        if end_first is not None and sent is not None and end_first >= _day_of(sent) > _on_or_before(first, end_first):
            end_known = end_first.year
    if start_year is None and end_known is not None and not first.relative:
        start_year = end_known if (first.month, first.day) <= (end_raw.month, end_raw.day) else end_known - 1
    return start_year


def _range_days(first: _Raw, end_raw: _Raw, start_clock: _Clock | None, end_after: _Clock | None, sent,
                past: bool, last_day: date | None) -> tuple[date, date | None] | None:
    """The start and end days of a range; None when the start does not settle."""
    if first.weekday_only and not end_raw.relative:
        # "from Friday at 5 p.m. through Tuesday, August 18": the start is the last such day before the end
        end_day = _settle(end_raw, sent, past)
        if end_day is None:
            return None
        return end_day - timedelta(days=(end_day.weekday() - first.weekday) % 7), end_day  # type: ignore[operator]
    start_year = _start_year(first, end_raw, sent, past)
    start_day = _settle(first, sent, past, start_year, last_day)
    if start_day is None:
        return None
    if end_raw.relative:
        end_day = _settle(end_raw, sent, past, None, start_day)
        if end_day is not None and end_day == start_day and end_raw.weekday_only:
            end_day = _day_after(start_day, start_clock.value if start_clock else None,
                                 end_after.value if end_after else None)
            if end_day != start_day:
                end_day = start_day + timedelta(days=7)
        return start_day, end_day
    end_year = end_raw.year
    if end_year is None:
        end_year = start_day.year if (end_raw.month, end_raw.day) >= (first.month, first.day) else start_day.year + 1
    return start_day, _settle(end_raw, sent, past, end_year)


def _range(first: _Raw, before, after: _Clock | None, end_raw: _Raw, end_after: _Clock | None,
           sent, past: bool, zone_default: str | None, last_day: date | None = None) -> Mention | None:
    start_clock = after or (before[0] if before and before[1] is None else None)
    days = _range_days(first, end_raw, start_clock, end_after, sent, past, last_day)
    if days is None:
        return None
    start_day, end_day = days
    if end_day is None or end_day < start_day:
        return None
    if start_clock is not None and start_clock.midnight:
        start_clock = _Clock(start_clock.begin, start_clock.end, time(0, 0), start_clock.zone, True)
    zone = ((end_after.zone if end_after else None) or (start_clock.zone if start_clock else None)
            or zone_default or PACIFIC.key)
    written = first.year is not None or end_raw.year is not None
    sp = Point(first.begin, first.end, start_day, start_clock.value if start_clock else None, zone, written)
    ep = Point(end_raw.begin, end_raw.end, end_day, end_after.value if end_after else None, zone, written)
    begin = min(first.begin, start_clock.begin) if start_clock else first.begin
    end = max(end_raw.end, end_after.end) if end_after else end_raw.end
    return Mention(begin, end, sp, ep)


# --- school years -------------------------------------------------------------------

SCHOOL_YEAR_RE = re.compile(r"(?<![\d/])((?:19|20)\d{2})\s*[–—‒―-]\s*((?:19|20)?\d{2})(?![\d])")


def normalize_school_year(text: str) -> str | None:
    """'2019–2020', '2019—20', '2019-20' -> '2019-20'; None if not a school year."""
    m = SCHOOL_YEAR_RE.search(text)
    if not m:
        return None
    return _school_year_from(m)


def _school_year_from(m: re.Match[str]) -> str | None:
    start = int(m.group(1))
    end_text = m.group(2)
    end = int(end_text) if len(end_text) == 4 else (start // 100) * 100 + int(end_text)
    if end != start + 1:
        return None
    return f"{start}-{end % 100:02d}"


def school_years(text: str) -> list[str]:
    """All school years written in `text`, in order, normalised."""
    out = []
    for m in SCHOOL_YEAR_RE.finditer(text):
        sy = _school_year_from(m)
        if sy:
            out.append(sy)
    return out


def school_year_of(day: date | datetime) -> str:
    """The school year (July through June) a day falls in."""
    start = day.year if day.month >= 7 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


# --- retention horizons --------------------------------------------------------------

_NUM = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten)"
_KEEP_RE = re.compile(
    rf"\b{_NUM}\s+(?:\(\d+\)\s+)?years?\s+of\s+(?:historical|history|historic)?\s*(?:student\s+)?(?:data|results|files?)"
    rf"(?:,?\s+(?:plus|and|as well as)\s+{_NUM}\s+years?\s+of\s+current\s+(?:\w+\s+)?(?:data|results|files?))?",
    re.I,
)


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word.lower()]


def keep_years(text: str) -> int | None:
    """How many years of data a system keeps, when the text says so."""
    m = _KEEP_RE.search(text)
    if not m:
        return None
    total = _number(m.group(1))
    if m.group(2):
        total += _number(m.group(2))
    return total


# --- relative anchors ----------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """A time given relative to another event of the notice, for now always a downtime."""

    event: str  # "downtime"
    edge: str  # "start" | "end"
    day: date | None  # the date written with it ("prior to downtime on August 14")
    before: bool = True  # "prior to", "before", "ahead of": a deadline can hang on it


_ANCHOR_RE = re.compile(
    r"\b(?P<prep>prior\s+to|before|ahead\s+of|in\s+advance\s+of|during|while|whilst|throughout|as\s+soon\s+as"
    r"|when|once|after|(?:at|with|by)\s+the\s+(?:start|beginning|onset)\s+of|as\s+(?:part\s+of|of)|upon)\s+"
    r"(?:the\s+|this\s+|that\s+|each\s+)?(?:[A-Z][a-z]+\.?\s+\d{1,2},?\s+(?:\d{4},?\s+)?)?"
    r"(?:(?:[\w-]+\s+){0,3}?(?:downtime|down\s+time|outage)(?:\s+(?:starts|begins|is\s+over|ends|period))?"
    # "before the systems go offline", "once TOMS goes dark"
    r"|(?:[\w()/-]+\s+){1,4}?(?:go|goes|are\s+taken|is\s+taken)\s+(?:offline|off-line|down|dark))",
    re.I,
)
_CLOSES_RE = re.compile(r"\bbefore\s+(?:the\s+)?(?:TOMS|systems?)\s+(?:closes?|goes?\s+(?:down|offline))\b", re.I)


def relative_anchor(text: str, sent: date | datetime | None = None) -> Anchor | None:
    """A downtime the text ties a time to, with the date written beside it if any."""
    m = _ANCHOR_RE.search(text)
    if not m:
        m = _CLOSES_RE.search(text)
        if not m:
            return None
    day = None
    tail = text[m.end():m.end() + 60]
    dm = re.match(r"\s*(?:(?:that|which)\s+)?(?:begins|starts|beginning|starting)?\s*(?:on|of)?\s*", tail)
    rest = tail[dm.end():] if dm else tail
    mentions = find_mentions(rest, sent)
    if mentions and mentions[0].begin == 0:
        day = mentions[0].point.day
    # "before the June 30 downtime"
    if day is None:
        pre = find_mentions(text[max(0, m.start() - 5):m.end()], sent)
        if pre:
            day = pre[-1].point.day
    prep = (m.groupdict().get("prep") or "before").lower()
    edge = "end" if prep.split()[0] == "after" or re.search(r"\b(?:is\s+over|ends)\s*$", m.group(0), re.I) else "start"
    return Anchor("downtime", edge, day, prep.split()[0] in ("prior", "before", "ahead", "in"))
