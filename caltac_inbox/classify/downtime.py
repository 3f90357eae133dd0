"""Downtime windows: when named systems are unavailable.

A window is a date range in a sentence that speaks of downtime ("downtime",
"unavailable", "offline", "maintenance", "will be down"), or in a list item under such
a sentence or heading. Systems come from the list that the sentence introduces
("these systems will be unavailable:"), else from the sentence itself and from later
sentences of its paragraph that speak of "during this downtime". List items that carry
their own ranges ("TOMS: August 26–September 6") become one window per distinct range,
and a list date equal to the summary's start or end borrows the summary's time.
An end without a start counts only when the notice extends a downtime ("we extended the
downtime period through 11:59 p.m. on Tuesday, September 13, 2016"). A start in one
sentence ("will begin at 5 p.m. on Friday, March 8") pairs with an end a few sentences
later, or at the top of the next paragraph ("available again at 8 a.m. on Monday"), when
no other date stands between. A one-day downtime cancelled or rescheduled to one date
(no time of day) gives that date as start and end. Per-system starts in one sentence with a
shared end in the next ("... both run through September 4") give one window per system.
Whether what surrounds a dated sentence says systems are down is the ordered rule table
`DOWN_CONTEXT_RULES` (classify.rules).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from caltac_inbox.classify import dates
from caltac_inbox.classify.context import Context
from caltac_inbox.classify.guard import Guard, fold, word_mask
from caltac_inbox.classify.rules import KindRule, always, first_rule
from caltac_inbox.classify.systems import find_systems, systems_of_item
from caltac_inbox.classify.text import Doc, Line, Sentence, evidence, plain
from caltac_inbox.model import Fact

# a system that cannot be used: the predicate forms, which also make a one-day window
UNAVAILABLE_RE = re.compile(
    r"\b(?:offline|off-line|unavailable|inaccessible|not\s+(?:be\s+)?(?:available|accessible|reachable)"
    r"|(?:cannot|can\s*not|can't|will\s+not)\s+(?:be\s+)?(?:viewed|accessed|reached|used|logged\s+(?:on|in)(?:to)?)"
    r"|(?:be|go|goes|going|went|gone|are|is|was|were|remain|stay|stays)\s+down|go(?:es)?\s+dark|shut(?:s|ting)?\s+down|taken\s+(?:down|offline)"
    r"|no\s+[^.;]{0,80}?\bcan\s+be\s+(?:administered|viewed|accessed|used|scored|started|opened))\b",
    re.I,
)
DOWN_RE = re.compile(
    r"\b(?:downtimes?|down\s+time|maintenance|outages?)\b|" + UNAVAILABLE_RE.pattern,
    re.I,
)
# words for a downtime that need a system beside them: "the TOMS rollover", "the systems
# transition to the 2024–25 administration year"
_WEAK_DOWN_RE = re.compile(r"\b(?:roll\s?-?over|transition(?:s|ing)?\s+(?:to|into)|year[-\s]end\s+(?:close|processing))\b",
                           re.I)
_SYSTEM_WORD_RE = re.compile(r"\bsystems?\b", re.I)
_DOWN_GUARD = Guard(DOWN_RE, ("down", "maintenance", "outage", "offline", "off-line", "available", "accessible",
                              "reachable", "viewed", "accessed", "reached", "used", "logged", "dark", "administered",
                              "scored", "started", "opened"))
_WEAK_DOWN_GUARD = Guard(_WEAK_DOWN_RE, ("roll", "transition", "year"))
# "the rollover to the 2024–25 test administration year"
_NEW_YEAR_RE = re.compile(r"\b(?:to|into|for)\s+the\s+(?:new|next|(?:19|20)\d\d\s*[–—-]\s*\d{2,4})\s+"
                          r"(?:(?:test|testing)\s+)?(?:administration|school)\s+year\b", re.I)
_EXTEND_RE = re.compile(r"\b(?:extend|lengthen|prolong)(?:ed|ing|s)?\b", re.I)
_BEGAN_RE = re.compile(r"\b(?:went|gone|been|was|were)\s+(?:down|offline|off-line)\b[^.;]{0,30}$|\b(?:began|started|since)"
                       r"\b[^.;]{0,20}$", re.I)
_OPEN_END_RE = re.compile(r"\b(?:through|until|till|thru)\s*$", re.I)
_DURING_RE = re.compile(
    r"\b(?:during\s+(?:this|the|that)\s+(?:scheduled\s+)?(?:downtime|time)|also\s+be\s+(?:offline|down|unavailable))\b",
    re.I,
)
_REFERS_RE = re.compile(r"^\W*(?:it|this|that|they|these|the\s+(?:downtime|outage|maintenance|window))\b", re.I)
MAX_DAYS = 62
FOLLOWING_REACH = 6  # later sentences of a paragraph that may name the window's systems
MAX_POINTS_TO_PAIR = 6


def status_of(text: str) -> str:
    if re.search(r"\bcancel(?:l?ed|s|lation)?\b", text, re.I):
        return "cancelled"
    if re.search(r"\b(?:reschedul\w*|postpon\w*|moved\s+to|new\s+dates?)\b", text, re.I):
        return "rescheduled"
    if _EXTEND_RE.search(text):
        return "extended"
    return "scheduled"


# a window naming no system is a notice's downtime unless it is about a person ("I will be unavailable
# May 3–5") or a place ("the library will be unavailable for maintenance")
_SYSTEMISH_RE = re.compile(
    r"\b(?:systems?|online|applications?|websites?|site|portals?|interfaces?|servers?|downtimes?|outages?|roll\s?-?overs?"
    r"|CAASPP|ELPAC|TOMS|CALPADS|CERS)\b", re.I)
_PERSON_AWAY_RE = re.compile(r"\b(?:I|we|I'll|we'll|our\s+(?:office|staff|team))\b[^.;]{0,30}\b(?:unavailable|out|away|offline)\b")
_PLACE_RE = re.compile(r"\b(?:cafeteria|library|gym(?:nasium)?|office|building|room|campus|parking|pool|auditorium|"
                       r"kitchen|classroom|hall)\b", re.I)


def _about_systems(ctx: Context, f: Fact) -> bool:
    """The window's words, with what its sentence inherits and the sentence before it ("It is scheduled
    to be offline ..." after one that names CALPADS)."""
    if _PERSON_AWAY_RE.search(f.evidence):
        return False
    texts = [f.evidence]
    at = ctx._position(f)
    if at is not None:
        s = ctx.doc.sentences[at]
        texts.append(s.context)
        if at and ctx.doc.sentences[at - 1].line == s.line:
            texts.append(ctx.doc.sentences[at - 1].text)
    return not _PLACE_RE.search(f.evidence) or any(_SYSTEMISH_RE.search(t) for t in texts)


def _extension_end(ctx: Context, s: Sentence, m: dates.Mention, prev: Sentence) -> Fact | None:
    """ "The CALPADS outage has been lengthened. CALPADS will not accept files again until Monday,
    April 18.": the new end, in the sentence after the one that says the downtime was extended."""
    if ctx.mentions(prev) or not (_EXTEND_RE.search(prev.text) and _sentence_down(prev)):
        return None
    head = " ".join(ctx.doc.text[max(s.begin, m.begin - 40):m.begin].split())
    if len([x for x in ctx.mentions(s) if not x.is_range]) != 1 or not (_OPEN_END_RE.search(head)
                                                                        or _BACK_RE.search(head)):
        return None
    fact = _fact(ctx, s, None, m.point.when, set())
    systems = tuple(dict.fromkeys([*_systems_in(prev.text), *fact.systems]))
    return fact.with_changes(evidence=evidence(ctx.doc, [prev, s]), systems=systems, status="extended")


def _section_ids(ctx: Context) -> tuple[list[int], set[int]]:
    """Each sentence's section (the index of the heading above it, -1 before any), and the
    sections where some sentence says systems are down."""
    cached = ctx.__dict__.get("_down_sections")
    if cached is None:
        ids: list[int] = []
        down: set[int] = set()
        current = -1
        for x in ctx.doc.sentences:
            if x.kind == "heading" and not x.row:
                current = x.index
            ids.append(current)
            if current not in down and _sentence_down(x):
                down.add(current)
        cached = ctx.__dict__["_down_sections"] = (ids, down)
    return cached


def _in_down_section(ctx: Context, s: Sentence) -> bool:
    ids, down = _section_ids(ctx)
    return ids[s.index] in down


_WORD_RE = re.compile(r"[A-Za-z]{3,}")


def _bare(s: Sentence, mentions: list[dates.Mention]) -> bool:
    """A sentence that is little more than its dates ("Friday, August 26, at 5 p.m. until Sunday,
    September 11, at 11:59 p.m.")."""
    text = s.text
    for m in sorted(mentions, key=lambda x: -x.begin):
        text = text[:m.begin - s.begin] + " " + text[m.end - s.begin:]
    return len(_WORD_RE.findall(text)) <= 3


SUMMARY_REACH = 8  # sentences looked back at for the window a table or list breaks down


def _summary_before(ctx: Context, s: Sentence) -> dates.Mention | None:
    """The whole window stated just before a list or table of per-system windows."""
    ids, _ = _section_ids(ctx)
    for x in reversed(ctx.doc.sentences[max(0, s.index - SUMMARY_REACH):s.index]):
        if ids[x.index] != ids[s.index]:
            return None
        if x.kind == "item" or x.row:
            continue
        ranges = [r for r in ctx.mentions(x) if r.is_range]
        if ranges:
            return ranges[-1]
    return None


# "During that time, no interim assessment can be administered": the sentence before set the time
_THAT_TIME_RE = re.compile(
    r"^\W*(?:during|throughout|for)\s+(?:that|this|the\s+same)\s+(?:time|period|window|weekend)\b|^\W*meanwhile\b", re.I)


def _next_says_down(doc: Doc, s: Sentence) -> bool:
    """The next sentence of the paragraph says what is unavailable during the time this one gives."""
    nxt = doc.sentences[s.index + 1] if s.index + 1 < len(doc.sentences) else None
    return (nxt is not None and nxt.line == s.line and bool(_THAT_TIME_RE.search(nxt.plain_text))
            and _sentence_down(nxt))


def _is_down(*texts: str | None) -> bool:
    return any(t and _says_down(plain(t), word_mask(fold(t))) for t in texts)


def _sentence_down(s: Sentence) -> bool:
    """_is_down(s.text), with the sentence's guard words found once."""
    return _says_down(s.plain_text, s.cue_mask)


def _says_down(bare: str, mask: int) -> bool:
    """`bare`: a plain text; `mask`: the guard words in it (guard.word_mask)."""
    if _DOWN_GUARD.possible_in(mask) and DOWN_RE.search(bare):
        return True
    return bool(_WEAK_DOWN_GUARD.possible_in(mask) and _WEAK_DOWN_RE.search(bare)
                and (_SYSTEM_WORD_RE.search(bare) or _NEW_YEAR_RE.search(bare) or find_systems(bare)))


def _ok_window(start: date | datetime | None, end: date | datetime) -> bool:
    if start is None:
        return True
    sd = start.date() if isinstance(start, datetime) else start
    ed = end.date() if isinstance(end, datetime) else end
    return 0 <= (ed - sd).days <= MAX_DAYS


def classify_downtimes(ctx: Context) -> list[Fact]:
    facts: list[Fact] = []
    used_items: set[int] = set()
    for s in ctx.doc.sentences:
        if s.line in used_items or s.masthead:
            continue
        mentions = ctx.mentions(s)
        if mentions:
            _sentence_downtimes(ctx, s, mentions, facts, used_items)
    facts = [f for f in _merge(facts) if f.systems or _about_systems(ctx, f)]
    ctx.downtime_refs = _downtime_references(ctx)
    assembled = _referenced_window(ctx, facts)
    return facts + ([assembled] if assembled is not None else [])


def _sentence_downtimes(ctx: Context, s: Sentence, mentions: list[dates.Mention], facts: list[Fact],
                        used_items: set[int]) -> None:
    """Adds to `facts` the windows sentence `s` states (the ones before it may pair with its dates)."""
    shared = _shared_end_windows(ctx, s, mentions)
    if shared:
        facts.extend(shared)
        return
    reading = _read_down(ctx, s, mentions)
    if reading.row and reading.down_context and not any(m.is_range for m in mentions):
        mentions = _row_range(s, mentions)
    if reading.down_here and not any(m.is_range for m in mentions):
        changed = _changed_day(ctx, s, mentions) or _one_day(ctx, s, mentions)
        if changed is not None:
            facts.append(changed)
            return
    # a start paired with an end said elsewhere needs a sentence of few dates (a list of days is none)
    pairing = sum(1 for m in mentions if not m.is_range) <= MAX_POINTS_TO_PAIR
    for m in _current(s, mentions):
        if m.is_range:
            if reading.down_context:
                facts.extend(_range_facts(ctx, s, m, reading.row, used_items))
        elif pairing:
            found = _point_fact(ctx, s, m, reading, mentions, facts, used_items)
            if found is not None:
                facts.append(found)


# "... both run through Monday, September 4": one end for the systems the sentence before started
_SHARED_END_RE = re.compile(
    r"\b(?:both|all|each)\s+(?:(?:will\s+)?(?:run|last|continue|stay\s+down|remain\s+(?:down|unavailable|offline)"
    r"|return|come\s+back|be\s+back|are\s+back|be\s+restored|reopen))\s+(?:on|through|until|till|thru)"
    r"(?:\s+\w+day,?)?\s*$", re.I)
# "... starts in ART on August 22, and in TOMS on August 30": a system and the day its window starts
_SYSTEM_STARTS_ON_RE = re.compile(
    r"\b(?:in|for|of)\s+(?:the\s+)?(?P<name>[A-Z][\w-]*(?:\s+[A-Z][\w-]*){0,5})\s+(?:on|at|starting)"
    r"(?:\s+\w+day,?)?\s*$")
_STARTS_RE = re.compile(r"\b(?:starts?|begins?|starting|beginning|go(?:es)?\s+(?:away|down|offline)|from)\b", re.I)


def _shared_end_windows(ctx: Context, s: Sentence, mentions: list[dates.Mention]) -> list[Fact]:
    """ "X goes down on A, and Y on B. Both return on C.": one window per system, each from its own
    start to the shared end; nothing unless every start of the sentence before names one system."""
    doc = ctx.doc
    ends = [m for m in mentions if not m.is_range]
    if len(ends) != 1 or len(mentions) != 1 or not s.index or doc.sentences[s.index - 1].line != s.line:
        return []
    prev = doc.sentences[s.index - 1]
    if not _SHARED_END_RE.search(" ".join(plain(doc.text[s.begin:ends[0].begin]).split())):
        return []
    if not (_sentence_down(s) or _sentence_down(prev)):
        return []
    end = ends[0].point.when
    program = ctx.program_near(prev.text, s.text, s.heading)
    return [Fact(kind="downtime", evidence=evidence(doc, [prev, s]), program=program, start=start, end=end,
                 systems=(code,), status=status_of(f"{prev.text} {s.text}"),
                 school_year=_school_year(prev) or _school_year(s))
            for start, code in _system_starts(ctx, prev) if _ok_window(start, end)]


def _system_starts(ctx: Context, s: Sentence) -> list[tuple[date | datetime, str]]:
    """(start, system) for every date of "starts in ART on A, and in TOMS on B"; none unless every
    date of the sentence has its one system."""
    starts = ctx.mentions(s)
    if len(starts) < 2 or any(m.is_range for m in starts) or not _STARTS_RE.search(s.plain_text):
        return []
    found: list[tuple[date | datetime, str]] = []
    for m in starts:
        named = _SYSTEM_STARTS_ON_RE.search(" ".join(plain(ctx.doc.text[s.begin:m.begin]).split()))
        name = named.group("name") if named else ""
        codes = find_systems(name) or ([name] if name.isupper() and 2 <= len(name) <= 6 else [])
        if len(codes) != 1:
            return []
        found.append((m.point.when, codes[0]))
    return found


@dataclass(frozen=True)
class _DownReading:
    """What a sentence says about systems being down, once for all its dates."""

    prev: Sentence | None  # the sentence before, in the same paragraph
    row: bool  # a list item or table row
    down_here: bool  # the sentence (or the row's intro, heading or header) says systems are down
    down_context: bool  # so does the sentence or what it refers to, its heading, the next one or its section
    extends_here: bool  # it extends a window


@dataclass(frozen=True)
class _DatedSentence:
    """A sentence with dates, as the down-context rules read it."""

    ctx: Context
    sentence: Sentence
    mentions: tuple[dates.Mention, ...]
    prev: Sentence | None
    row: bool
    heading: str | None  # the heading right above, if any
    down_here: bool


def _refers_back_to_down(d: _DatedSentence) -> bool:
    return d.prev is not None and bool(_REFERS_RE.match(d.sentence.plain_text)) and _sentence_down(d.prev)


def _bare_in_down_section(d: _DatedSentence) -> bool:
    return _in_down_section(d.ctx, d.sentence) and bool(
        _bare(d.sentence, list(d.mentions)) or (d.row and find_systems(d.sentence.text)))


# whether what surrounds a sentence says systems are down: the first rule that holds decides
DOWN_CONTEXT_RULES: tuple[KindRule[_DatedSentence, bool], ...] = (
    KindRule("the sentence or its row's intro says so", lambda d: d.down_here, True),
    KindRule("it refers back to a sentence that says so", _refers_back_to_down, True),
    KindRule("its heading says so", lambda d: _is_down(d.heading), True),
    KindRule("the next sentence says so", lambda d: _next_says_down(d.ctx.doc, d.sentence), True),
    KindRule("a bare date or a system's row in a downtime section", _bare_in_down_section, True),
    KindRule("nothing says systems are down", always, False),
)


def _read_down(ctx: Context, s: Sentence, mentions: list[dates.Mention]) -> _DownReading:
    doc = ctx.doc
    prev = doc.sentences[s.index - 1] if s.index and doc.sentences[s.index - 1].line == s.line else None
    row = s.kind == "item" or s.row
    heading = s.heading if s.near_heading else None
    down_here = bool(_sentence_down(s) or (row and _is_down(s.intro, heading, " ".join(s.header))))
    down_context = first_rule(DOWN_CONTEXT_RULES,
                              _DatedSentence(ctx, s, tuple(mentions), prev, row, heading, down_here)).outcome
    return _DownReading(prev, row, down_here, down_context, bool(_EXTEND_RE.search(s.text)))


def _range_facts(ctx: Context, s: Sentence, m: dates.Mention, row: bool, used_items: set[int]) -> list[Fact]:
    """The window a range states: a row's (its times borrowed from the summary above it), one per
    system when the systems have windows of their own, else one."""
    start, end = m.start.when, m.stop.when  # type: ignore[union-attr]
    if not _ok_window(start, end):
        return []
    if row:
        summary = _summary_before(ctx, s)
        if summary is not None:
            start = _borrow(m.start, summary.start)  # type: ignore[arg-type]
            end = _borrow(m.stop, summary.stop)  # type: ignore[arg-type]
        return [_row_fact(ctx, s, m, start, end)]
    per_system = _per_system_windows(ctx, s, m, used_items)
    return per_system or [_fact(ctx, s, start, end, used_items)]


def _point_fact(ctx: Context, s: Sentence, m: dates.Mention, reading: _DownReading, mentions: list[dates.Mention],
                facts: list[Fact], used_items: set[int]) -> Fact | None:
    """A window from one date point: an extension of the window before, a start paired with an end
    said elsewhere, or an extended end."""
    if m.stop is None and reading.prev is not None and not reading.extends_here:
        extended = _extension_end(ctx, s, m, reading.prev)
        if extended:
            return extended
    if m.stop is None and not m.is_range and reading.down_here and not reading.extends_here:
        return _back_with_the_others(ctx, s, m, facts) or _split_range(ctx, s, m) or _end_under_a_start(ctx, s, m)
    if m.stop is None and reading.extends_here and _sentence_down(s):
        return _extended_to(ctx, s, m, mentions, used_items)
    return None


def _extended_to(ctx: Context, s: Sentence, m: dates.Mention, mentions: list[dates.Mention],
                 used_items: set[int]) -> Fact | None:
    """ "CALPADS went down on April 6, and the downtime has been extended until April 18"."""
    head = " ".join(ctx.doc.text[max(s.begin, m.begin - 40):m.begin].split())
    if not (_OPEN_END_RE.search(head) or _BACK_RE.search(head)):  # "through ...", "will now return at"
        return None
    began = [p for p in mentions if not p.is_range and p.end <= m.begin
             and _BEGAN_RE.search(ctx.doc.text, max(s.begin, p.begin - 40), p.begin)]
    start = began[-1].point.when if len(began) == 1 else None
    return _fact(ctx, s, start, m.start.when, used_items).with_changes(status="extended")  # type: ignore[union-attr]


# a downtime named by its day elsewhere in the notice: "the system downtime that begins on August 2",
# "before the system downtime on August 2, 2024, at 5 p.m."
_DOWNTIME_REF_RE = re.compile(
    r"\b(?:downtime|outage|maintenance)\s+(?:that\s+|which\s+)?(?:begins|starts|beginning|starting|(?:is\s+)?scheduled"
    r"\s+for|on)\s+(?:on\s+)?(?:at\s+)?$", re.I)
_AFTER_REF_RE = re.compile(r"\b(?:after|following|end\s+of|once|when)\s+(?:the\s+|this\s+)?(?:\w+\s+){0,2}"
                           r"(?:downtime|outage|maintenance)\b", re.I)
# "Once systems resume at 8 a.m. on August 6": the end of a downtime named elsewhere
_RESUME_RE = re.compile(
    r"\b(?:systems?|applications?|it|they)\s+(?:will\s+)?(?:resume|return|reopen|come\s+back|(?:are|is|be)\s+back)"
    r"(?:\s+online)?\s+(?:at\s+|on\s+)?$", re.I)
REF_WINDOW = 48  # characters before a date that may name its downtime


def _preceding(ctx: Context, m: dates.Mention) -> str:
    return " ".join(plain(ctx.doc.text[max(0, m.begin - REF_WINDOW):m.begin]).split()) + " "


def _downtime_references(ctx: Context) -> list[tuple[Sentence, dates.Point]]:
    """Every day the notice calls the start of a downtime, with the time when one is given."""
    found = []
    for s in ctx.doc.sentences:
        if not s.search_text("downtime", "outage", "maintenance"):
            continue
        for m in ctx.mentions(s):
            before = _preceding(ctx, m)
            if (not m.is_range and m.stop is None and _DOWNTIME_REF_RE.search(before)
                    and not _AFTER_REF_RE.search(before)):
                found.append((s, m.point))
    return found


def _referenced_window(ctx: Context, facts: list[Fact]) -> Fact | None:
    """A downtime the notice never states as one window: its start named as "the downtime on
    August 2 at 5 p.m." and its end as "once systems resume at 8 a.m. on August 6"."""
    refs = ctx.downtime_refs
    if not refs:
        return None
    known = {_day(f.start) for f in facts}
    days = sorted({p.day for _, p in refs} - known)
    if len(days) != 1:
        return None
    day = days[0]
    on_day = [(s, p) for s, p in refs if p.day == day]
    timed = [(s, p) for s, p in on_day if p.clock is not None]
    if len({p.clock for _, p in timed}) > 1:
        return None
    start_sentence, start = (timed or on_day)[0]
    for s in ctx.doc.sentences:
        if not s.search_text("resume", "return", "reopen", "back"):
            continue
        for m in ctx.mentions(s):
            if m.is_range or not _RESUME_RE.search(_preceding(ctx, m)):
                continue
            end = m.point
            if _ok_window(start.day, end.day) and end.day > start.day:
                fact = _fact(ctx, start_sentence, start.when, end.when, set())
                return fact.with_changes(evidence=evidence(ctx.doc, [start_sentence, s]), systems=())
    return None


_BACK_RE = re.compile(
    r"\b(?:resume[sd]?|return(?:s|ed)?|reopen(?:s|ed)?|restored|back\s+(?:online|up)|(?:available|accessible)\s+again"
    r"|(?:downtime|outage|maintenance|work)\s+(?:will\s+|should\s+)?(?:ends?|conclude[sd]?|finish(?:es)?)"
    r"|(?:wrap|wraps|wrapped)\s+up|(?:be\s+)?(?:completed?|finished|over)\s+(?:by|at|on)|come\s+back)\b", re.I)
_UNTIL_BEFORE_RE = re.compile(r"\b(?:until|till|through|thru)\s+(?:\w+day,?\s+)?$", re.I)
_BEGIN_RE = re.compile(
    r"\b(?:begin|begins|beginning|began|start|starts|starting|started|commence[sd]?"
    r"|(?:go(?:es)?|went|taken|be\s+taken)\s+(?:offline|off-line|down|dark)|from)\b",
    re.I)


def _split_range(ctx: Context, s: Sentence, m: dates.Mention) -> Fact | None:
    """A start and an end said apart: "The downtime begins Friday, April 9, at 6 p.m. Systems
    will be back online Monday, April 12, at 7 a.m.", or in one sentence: "TOMS goes offline
    starting Saturday, May 20, at 7 p.m., and the work should wrap up early Sunday at 2 a.m."."""
    points = [x for x in ctx.mentions(s) if not x.is_range]
    if not _BEGIN_RE.search(ctx.doc.text, s.begin, m.begin):
        return None
    if len(points) == 2 and points[0] is m:
        end_point = points[1]
        # "... and the work should wrap up early Sunday", "go offline on September 21 and stay down until October 1"
        if not (_BACK_RE.search(ctx.doc.text, m.end, end_point.begin)
                or _UNTIL_BEFORE_RE.search(ctx.doc.text, max(m.end, end_point.begin - 30), end_point.begin)):
            return None
        return _window(ctx, s, m.point.when, end_point.point.when, [s], [])
    if len(points) != 1:
        return None
    nxt = _sentence_with_the_end(ctx, s, m)
    if nxt is None:
        return None
    ends = [x for x in ctx.mentions(nxt) if not x.is_range]
    end = ends[0] if len(ends) == 1 else _end_point(ctx, nxt)
    if end is None:
        return None
    between = list(ctx.doc.sentences[s.index + 1:nxt.index])
    return _window(ctx, s, m.point.when, end.point.when, [s, nxt], between)


def _sentence_with_the_end(ctx: Context, s: Sentence, m: dates.Mention) -> Sentence | None:
    """The end may stand a few sentences later in the paragraph ("During this time, TOMS and TDS
    will be unavailable. All systems will be available again at 8 a.m. on Monday."), the sentences
    between carrying no date of their own; or open the next paragraph; or, for a start with its
    time, come further on."""
    sentences = ctx.doc.sentences
    for x in sentences[s.index + 1:s.index + 4]:
        if x.line != s.line:
            break
        if _BACK_RE.search(x.text) or _end_point(ctx, x) is not None:
            return x
        if ctx.mentions(x):
            return None
    last_of_line = s.index + 1 == len(sentences) or sentences[s.index + 1].line != s.line
    if last_of_line:
        # "TOMS will be available again at 8 a.m. on Monday, March 11." opening the next paragraph
        following = ctx.doc.next_nonblank(s.line)
        if following is not None and following.kind == "para":
            first = ctx.doc.line_sentences(following.index)[:1]
            if first and _BACK_RE.search(first[0].text):
                return first[0]
    if m.point.clock is not None and not _DOWNTIME_REF_RE.search(_preceding(ctx, m)):
        return _return_further_on(ctx, s)  # a start with its time, not "the downtime on October 21"
    return None


def _end_point(ctx: Context, x: Sentence) -> dates.Mention | None:
    """The one date of a sentence that says how long the systems stay down ("will now remain unavailable
    until noon on Sunday, April 12, instead of returning at 6 p.m. today")."""
    ends = [m for m in ctx.mentions(x) if not m.is_range and _UNTIL_BEFORE_RE.search(
        ctx.doc.text, max(x.begin, m.begin - 30), m.begin)]
    return ends[0] if len(ends) == 1 and _sentence_down(x) else None


RETURN_REACH = 20  # sentences looked ahead at for "systems will come back online Tuesday at 7 a.m."


def _return_further_on(ctx: Context, s: Sentence) -> Sentence | None:
    """The sentence further on that says when the systems come back: one dated return, with no
    other window between."""
    for x in ctx.doc.sentences[s.index + 1:s.index + 1 + RETURN_REACH]:
        found = ctx.mentions(x)
        if any(m.is_range for m in found) or (_sentence_down(x) and any(
                _BEGIN_RE.search(ctx.doc.text, x.begin, m.begin) for m in found)):
            return None  # another window starts first
        points = [m for m in found if not m.is_range]
        if len(points) == 1 and _RESUME_RE.search(_preceding(ctx, points[0])):
            return x
    return None


def _window(ctx: Context, s: Sentence, start, end, parts: list[Sentence], between: list[Sentence]) -> Fact | None:
    if not _ok_window(start, end):
        return None
    if isinstance(start, datetime) and isinstance(end, datetime) and start >= end:
        return None
    fact = _fact(ctx, s, start, end, set())
    systems = list(fact.systems)
    for x in between:
        systems.extend(c for c in _systems_in(x.text) if c not in systems)
    return fact.with_changes(evidence=evidence(ctx.doc, parts), systems=tuple(systems))


_WITH_OTHERS_RE = re.compile(
    r"\b(?:comes?\s+back|returns?|is\s+back|reopens?|resumes?)\s+(?:online\s+)?(?:with|alongside|at\s+the\s+same\s+time\s+as)"
    r"\s+the\s+(?:other|rest)\b", re.I)


def _back_with_the_others(ctx: Context, s: Sentence, m: dates.Mention, facts: list[Fact]) -> Fact | None:
    """ "CERS goes offline a day earlier, on Thursday, July 27, at 5 p.m., and comes back with the
    other systems.": the start here, the end of the window described just before."""
    if not facts or facts[-1].end is None or not _WITH_OTHERS_RE.search(s.plain_text):
        return None
    if not _BEGIN_RE.search(ctx.doc.text, s.begin, m.begin):
        return None
    return _window(ctx, s, m.point.when, facts[-1].end, [s], [])


def _end_under_a_start(ctx: Context, s: Sentence, m: dates.Mention) -> Fact | None:
    """ "The systems go offline beginning Friday, August 26, at 5 p.m. They do not all return on the
    same day:" over "- TOMS remains unavailable through Tuesday, September 6." (or over a table of
    return times): one window per item or row, the start from the lead-in."""
    if not (s.kind == "item" or s.row) or s.lead_line is None:
        return None
    head = " ".join(ctx.doc.text[max(s.begin, m.begin - 30):m.begin].split())
    lead = ctx.doc.lead_sentence(s)
    if not (_OPEN_END_RE.search(head) or (lead is not None and _BACK_RE.search(lead.text))):
        return None
    starts = [(x, p) for x in ctx.doc.line_sentences(s.lead_line)
              for p in ctx.mentions(x) if not p.is_range and _BEGIN_RE.search(ctx.doc.text, x.begin, p.begin)]
    if len(starts) != 1 or not any(_sentence_down(x) for x, _ in starts):
        return None
    start_sentence, start = starts[0]
    fact = _window(ctx, s, start.point.when, m.point.when, [start_sentence, s], [])
    return fact.with_changes(systems=tuple(_systems_in(s.text))) if fact is not None else None


# "is August 7", "on Saturday, August 7", "for August 7": the day itself, not a start or an end
_ONE_DAY_CUE_RE = re.compile(r"\b(?:on|is|for|will\s+be)\s*$", re.I)


def _one_day(ctx: Context, s: Sentence, mentions: list[dates.Mention]) -> Fact | None:
    """A system unavailable on one day with no time given ("The one date on which the ORS
    cannot be viewed at all is August 7."): that day is the start and the end."""
    text = s.plain_text
    if len(mentions) != 1 or not UNAVAILABLE_RE.search(text) or _BEGIN_RE.search(text) or _EXTEND_RE.search(text):
        return None
    m = mentions[0]
    if m.stop is not None or m.point.clock is not None or re.search(r"\b(?:until|through|till|after|since)\b", text, re.I):
        return None
    head = " ".join(plain(ctx.doc.text[max(s.begin, m.begin - 30):m.begin]).split())
    if not _ONE_DAY_CUE_RE.search(head):
        return None
    day = m.point.day
    fact = _fact(ctx, s, day, day, set())
    return fact if fact.systems else None


_NEW_DAY_RE = re.compile(r"\b(?:reschedul\w*|postpon\w*|moved|changed)\s+(?:to|until)\s+$", re.I)


def _changed_day(ctx: Context, s: Sentence, mentions: list[dates.Mention]) -> Fact | None:
    """A one-day downtime cancelled ("The TOMS downtime scheduled for Saturday, March 9, has been
    cancelled.") or moved to one day ("... has been rescheduled to Saturday, March 16."): the day,
    without a time, is both start and end. A day that carries a time gives no fact (its end is unknown)."""
    status = status_of(s.text)
    text = s.plain_text
    down = DOWN_RE.search(text)
    change = re.search(r"\b(?:cancel|reschedul|postpon|moved|changed)", text, re.I)
    if (down is None or change is None or down.start() > change.start()
            or re.search(r"\b(?:webinar|webcast|training|workshop|session|meeting|office\s+hours)\b", text, re.I)):
        return None
    if status == "cancelled":
        if len(mentions) != 1:
            return None
        chosen = mentions[0]
    elif status == "rescheduled":
        after = [m for m in mentions
                 if _NEW_DAY_RE.search(" ".join(ctx.doc.text[max(s.begin, m.begin - 40):m.begin].split()) + " ")]
        if len(after) != 1:
            return None
        chosen = after[0]
    else:
        return None
    if chosen.stop is not None or chosen.point.clock is not None:
        return None
    day = chosen.point.day
    return _fact(ctx, s, day, day, set()).with_changes(status=status)


def _row_range(s: Sentence, mentions: list[dates.Mention]) -> list[dates.Mention]:
    """A table row "TOMS | Friday, August 14, 5 p.m. | Thursday, August 20, 8 a.m.": start and end columns."""
    points = [m for m in mentions if not m.is_range and m.stop is None]
    if len(points) != 2 or "|" not in s.text:
        return mentions
    a, b = points
    return [dates.Mention(a.begin, b.end, a.start, b.start)]


def _row_fact(ctx: Context, s: Sentence, m: dates.Mention, start, end) -> Fact:
    label = ctx.doc.text[s.begin:m.begin]
    systems = systems_of_item(label) if label.strip(" -|:,\t") else []
    if not systems:
        systems = find_systems(s.text)
    return Fact(
        kind="downtime",
        evidence=evidence(ctx.doc, [s]),
        program=ctx.program_near(s.text, s.heading, s.intro),
        start=start,
        end=end,
        systems=tuple(systems),
        status=status_of(" ".join([s.text, s.heading or ""])),
        school_year=_school_year(s),
    )


_MOVED_RE = re.compile(r"\b(?:reschedul\w*|postpon\w*|moved|changed|new\s+dates?|instead|now)\b", re.I)


def _current(s: Sentence, mentions: list[dates.Mention]) -> list[dates.Mention]:
    """In "the downtime scheduled for May 3–5 has been moved to May 10–12" only the new
    window is a fact."""
    ranges = [m for m in mentions if m.is_range]
    if len(ranges) < 2 or status_of(s.text) != "rescheduled":
        return mentions
    moved = _MOVED_RE.search(s.text)
    if moved is None:
        return mentions
    after = [m for m in ranges if m.begin >= s.begin + moved.start()]
    keep = after or ranges[-1:]
    return [m for m in mentions if not m.is_range or m in keep]


def _fact(ctx: Context, s: Sentence, start, end, used_items: set[int]) -> Fact:
    """A window stated in sentence `s`: its systems, evidence, program and school year come from the
    sentence and what surrounds it, the same for every window of the sentence (worked out once)."""
    cache = ctx.__dict__.setdefault("_window_base", {})
    base = cache.get(s.index)
    if base is None:
        base = cache[s.index] = _window_base(ctx, s, used_items)
    status = base.status
    if start is None and status == "scheduled":
        status = "extended"
    return base.with_changes(start=start, end=end, status=status)


def _window_base(ctx: Context, s: Sentence, used_items: set[int]) -> Fact:
    doc = ctx.doc
    parts: list[Sentence | Line] = [s]
    systems: list[str] = []
    listed = _system_list(ctx, s) if s.kind != "item" else []
    if listed:
        for item in listed:
            systems.extend(c for c in systems_of_item(item.text) if c not in systems)
            used_items.add(item.index)
        parts = [s, *listed]
    else:
        _systems_in_paragraph(ctx, s, systems, parts)
    return Fact(
        kind="downtime",
        evidence=evidence(doc, parts),
        program=ctx.program_near(s.text, s.heading, s.intro, doc.lines[s.line].text),
        systems=tuple(systems),
        status=status_of(s.text),
        school_year=_school_year(s),
    )


def _system_list(ctx: Context, s: Sentence) -> list[Line]:
    """A list right after the paragraph that names the systems ("... these systems will be
    unavailable:"), or a list under a short "Affected systems:" line right after it; [] when the
    list is no list of systems or carries dates of its own."""
    doc = ctx.doc
    listed: list[Line] = []
    last = doc.line_sentences(s.line)[-1]
    if s is last or _sentence_down(last) or last.text.rstrip().endswith(":"):
        listed = doc.list_after(s.line) if _introduces_systems(last.text) else []
    if not listed:
        nxt = doc.next_nonblank(s.line)
        if (nxt is not None and nxt.kind == "para" and nxt.text.rstrip().endswith(":")
                and len(doc.line_sentences(nxt.index)) == 1 and re.search(r"\bsystems?\b", nxt.text, re.I)
                and not ctx.mentions(doc.line_sentences(nxt.index)[0])):
            listed = doc.list_after(nxt.index)
    if (listed and _names_systems(listed)
            and not any(ctx.mentions(x) for i in listed for x in doc.line_sentences(i.index))):
        return listed
    return []


def _systems_in_paragraph(ctx: Context, s: Sentence, systems: list[str], parts: list[Sentence | Line]) -> None:
    """Adds the systems the sentence names, else the one it refers back to, and those the next
    sentences of the paragraph name while saying what is down (with those sentences, to `parts`)."""
    doc = ctx.doc
    systems.extend(c for c in _systems_in(s.text) if c not in systems)
    before = doc.sentences[s.index - 1] if s.index else None
    if not systems and before is not None and before.line == s.line and _REFERS_RE.match(s.plain_text):
        systems.extend(_systems_in(before.text))  # "CALPADS is moving to the cloud. It will be offline ..."
    for later in doc.sentences[s.index + 1:s.index + 1 + FOLLOWING_REACH]:
        if later.line != s.line:
            break
        if "web page" in later.text.lower():
            continue
        if _DURING_RE.search(later.text) or (
                (_sentence_down(later) or re.search(r"\baffect", later.text, re.I)) and not ctx.mentions(later)):
            systems.extend(c for c in _systems_in(later.text) if c not in systems)
            parts.append(later)


_INTRO_RE = re.compile(r"\b(?:systems?|following|these|unavailable|affected|offline|down|not\s+be\s+available)\b", re.I)
_SMALL_WORDS = {"and", "of", "for", "the", "a", "an", "in", "to", "on", "or", "with", "including", "by"}


def _introduces_systems(text: str) -> bool:
    return bool(_INTRO_RE.search(text))


def _names_systems(items: list[Line]) -> bool:
    """A list of system names, not of instructions ("Download your files")."""
    def name_like(text: str) -> bool:
        if find_systems(text):
            return True
        words = re.sub(r"^\s*(?:[-*•·▪◦]|\d{1,2}[.)])\s+", "", text).split()
        if not words or len(words) > 10 or text.rstrip().endswith("."):
            return False
        caps = [w for w in words if w.lower() not in _SMALL_WORDS and w[:1].isalpha()]
        return bool(caps) and all(w[:1].isupper() for w in caps)

    good = sum(1 for i in items if name_like(i.text))
    return good * 2 >= len(items)


_STAYS_UP_RE = re.compile(
    r"\bnot\s+(?:be\s+)?affected\b|\bunaffected\b|\bremains?\s+(?:available|open|online)\b"
    r"|\b(?:will|would)\s+(?:still|continue\s+to)\s+be\s+available\b|\bnot\s+(?:be\s+)?(?:included|impacted)\b",
    re.I)


# "...will be down from August 1 through August 9: TA Interface; ORS; Appeals System."
_COLON_LIST_RE = re.compile(r":\s+(?P<items>[^:;]{2,80}(?:;\s+[^:;]{2,80}){1,20})\.?\s*$")


def _systems_in(text: str) -> list[str]:
    """Systems named in a sentence, except in a clause saying they stay up; a list after a
    colon names each of its items, known or not."""
    listed = _COLON_LIST_RE.search(plain(text))
    if listed:
        items: list[str] = []
        for item in listed.group("items").split(";"):
            items.extend(c for c in systems_of_item(item) if c not in items)
        if items:
            return items
    clauses = re.split(r"[;.]\s+|,\s+(?:but|while|and)\s+|\s+(?:but|while|whereas)\s+", text)
    out: list[str] = []
    for clause in clauses:
        if _STAYS_UP_RE.search(clause):
            continue
        out.extend(c for c in find_systems(clause) if c not in out)
    return out


def _school_year(s: Sentence) -> str | None:
    for t in (s.text, s.heading or ""):
        m = re.search(r"((?:19|20)\d{2}\s*[–—-]\s*(?:19|20)?\d{2})\s+(?:school\s+year|administration)", t)
        if m:
            return dates.normalize_school_year(m.group(1))
    if s.heading:
        found = dates.school_years(s.heading)
        if len(found) == 1 and _is_down(s.heading):
            return found[0]
    return None


def _per_system_windows(ctx: Context, s: Sentence, summary: dates.Mention, used_items: set[int]) -> list[Fact]:
    """ "It runs from ... and the dates differ by system:" followed by "TOMS: Aug 26–Sep 6" items."""
    doc = ctx.doc
    line_sents = doc.line_sentences(s.line)
    if s is not line_sents[-1] and not line_sents[-1].text.rstrip().endswith(":"):
        return []
    items = doc.list_after(s.line)
    windows: dict[tuple, list[str]] = {}
    evidence_items: dict[tuple, list[Line]] = {}
    for item in items:
        item_sents = doc.line_sentences(item.index)
        ranges = [m for x in item_sents for m in _row_range(x, ctx.mentions(x)) if m.is_range]
        if len(ranges) != 1:
            continue
        r = ranges[0]
        start = _borrow(r.start, summary.start)  # type: ignore[arg-type]
        end = _borrow(r.stop, summary.stop)  # type: ignore[arg-type]
        label = doc.text[item.begin:r.begin]
        codes = systems_of_item(label)
        key = (start, end)
        windows.setdefault(key, [])
        windows[key].extend(c for c in codes if c not in windows[key])
        evidence_items.setdefault(key, []).append(item)
        used_items.add(item.index)
    if not windows:
        return []
    facts = []
    status = status_of(s.text)
    for (start, end), systems in windows.items():
        facts.append(Fact(
            kind="downtime",
            evidence=evidence(doc, [s, *evidence_items[(start, end)]]),
            program=ctx.program_near(s.text, s.heading),
            start=start,
            end=end,
            systems=tuple(systems),
            status=status,
            school_year=_school_year(s),
        ))
    return facts


def _borrow(point: dates.Point, summary: dates.Point | None):
    """A list date equal to the summary's date takes the summary's time of day."""
    if summary is not None and point.clock is None and summary.day == point.day:
        return summary.when
    return point.when


def _merge(facts: list[Fact]) -> list[Fact]:
    """One fact per window: the same window said twice merges its systems."""
    out: list[Fact] = []
    by_days: dict[tuple, list[int]] = {}  # (start day, end day) -> indexes in `out`: same-window candidates
    for f in facts:
        key = (_day(f.start), _day(f.end))
        twin_at = next((i for i in by_days.get(key, ()) if _same_window(out[i], f)), None)
        if twin_at is None:
            by_days.setdefault(key, []).append(len(out))
            out.append(f)
            continue
        twin = out[twin_at]
        better_end = twin.end if isinstance(twin.end, datetime) or not isinstance(f.end, datetime) else f.end
        better_start = twin.start if isinstance(twin.start, datetime) or not isinstance(f.start, datetime) else f.start
        systems = twin.systems + tuple(c for c in f.systems if c not in twin.systems)
        out[twin_at] = twin.with_changes(end=better_end, systems=systems, start=better_start or f.start)
    return out


def _day(v) -> date | None:
    if v is None:
        return None
    return v.date() if isinstance(v, datetime) else v


def _same_window(a: Fact, b: Fact) -> bool:
    """The same days, and the same times where both give one ("August 14–20" in a heading
    and "from 5 p.m. Friday, August 14 through 8 a.m. Thursday, August 20" below it)."""
    if _day(a.end) != _day(b.end):
        return False
    if a.start is None or b.start is None:
        return a.start is None and b.start is None
    if _day(a.start) != _day(b.start):
        return False
    for x, y in ((a.start, b.start), (a.end, b.end)):
        if isinstance(x, datetime) and isinstance(y, datetime) and x != y:
            return False
    return True
