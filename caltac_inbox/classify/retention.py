"""Data removed at a cutoff: score data files, hand-scoring responses, reports.

A sentence saying data will be removed, cleared, deleted, no longer available, or that
coordinators will lose access gives a fact when the time is known: a date written with
it, or the downtime it is tied to ("during the downtime", "as soon as the downtime
starts", "before the downtime on June 30", a "During the Downtime" heading), which
resolves to the downtime's start. A sentence that starts "This file ..." takes its
data, school year and system from the sentence before it. Work to finish before the
removal (hand scoring) belongs to this fact, not to a deadline.
"""
from __future__ import annotations

import re
from datetime import date, datetime

from caltac_inbox.classify import dates
from caltac_inbox.classify.context import Context, program_of_systems
from caltac_inbox.classify.systems import find_systems
from caltac_inbox.classify.text import Sentence, evidence, plain, strip_item_mark
from caltac_inbox.classify.topics import DATA_RE, REMOVAL_RE, is_retention
from caltac_inbox.model import Fact

_REFERS_BACK_RE = re.compile(r"^\W*(?:this|that|these|those|it|they|the\s+file)\b", re.I)
_NOUN_RE = re.compile(
    r"((?:(?:19|20)\d{2}\s*[–—-]\s*(?:19|20)?\d{2}\s+)?(?:[A-Z][\w-]*\s+)*(?:student\s+)?(?:score\s+)?"
    r"(?:data\s+(?:download\s+)?file|student\s+responses|responses|reports|data\s+and\s+reports))",
    re.I,
)


def classify_retentions(ctx: Context) -> list[Fact]:
    doc = ctx.doc
    facts: list[Fact] = []
    seen: set[tuple] = set()
    for s in doc.sentences:
        if s.kind == "heading" or s.masthead or not is_retention(s):
            continue
        text = s.plain_text
        removal = REMOVAL_RE.search(text)
        place = _PLACE_RE.match(text, removal.end()) if removal else None
        prev = doc.sentences[s.index - 1] if s.index and doc.sentences[s.index - 1].line == s.line else None
        at, inherited = _removal_time(ctx, s, prev, place)
        if at is None:
            continue
        parts = [s]
        if prev is not None and (_REFERS_BACK_RE.search(text) or _REFERS_BACK_RE.match(_data_phrase([s]))):
            parts = [prev, s]  # "This file ...", "..., so this file will be removed": the file named before
        data = _data_phrase(parts)
        system, school_year = _system_and_year(ctx, s, parts, data, removal, place)
        key = (at, system, school_year)
        if _restated(key, seen):
            continue
        seen.add(key)
        lead = doc.lead_sentence(s) if inherited else None
        quoted = evidence(doc, [lead, *parts] if lead is not None else parts)
        facts.append(Fact(
            kind="retention",
            evidence=quoted,
            program=program_of_systems([system] if system else [], quoted, ctx.program_near(s.text)),
            at=at,
            data=data,
            system=system,
            school_year=school_year,
            keep_years=dates.keep_years(" ".join(p.plain_text for p in parts)),
        ))
    return facts


def _restated(key: tuple, seen: set[tuple]) -> bool:
    """A restatement ("During the Downtime: the 2018–19 file is removed") is the same fact."""
    at, system, school_year = key
    return key in seen or (system is not None and any(k[0] == at and k[1] == system and None in (k[2], school_year)
                                                      for k in seen))


def _anchor_of(ctx: Context, s: Sentence, prev: Sentence | None) -> tuple[dates.Anchor | None, date | datetime | None]:
    """(the downtime a relative phrase points at, or a time the sentence before gives)."""
    doc = ctx.doc
    text = s.plain_text
    at: date | datetime | None = None
    anchor = dates.relative_anchor(text, ctx.sent)
    if anchor is None and prev is not None and _THAT_MOMENT_RE.match(text):
        anchor = dates.relative_anchor(prev.plain_text, ctx.sent)  # "... before the downtime. At that moment ..."
        if anchor is None and not ctx.mentions(s):
            # "ORS access ends at 5 p.m. on Friday, January 29. After that, its reports will be removed."
            said = [m for m in ctx.mentions(prev) if not m.is_range]
            at = said[0].point.when if len(said) == 1 else None
    nxt = doc.sentences[s.index + 1] if s.index + 1 < len(doc.sentences) else None
    if anchor is None and at is None and not ctx.mentions(s) and nxt is not None and nxt.line == s.line:
        # "X will not carry over. Submit it before the systems go dark."
        anchor = dates.relative_anchor(nxt.plain_text, ctx.sent)
    if anchor is not None and anchor.day is None and s.heading:
        # "during the downtime" under "Before the Downtime on July 28": the heading says which
        dated = dates.relative_anchor(plain(s.heading), ctx.sent)
        anchor = dated if dated is not None and dated.day is not None else anchor
    return anchor, at


def _removal_time(ctx: Context, s: Sentence, prev: Sentence | None,
                  place: re.Match[str] | None) -> tuple[date | datetime | None, str | None]:
    """(when the data goes, the lead-in that said it when that is where it came from)."""
    text = s.plain_text
    near_systems = [c for c in find_systems(place.group("place") if place else text) if c != "ALL"]
    anchor, at = _anchor_of(ctx, s, prev)
    if anchor is not None and at is None:
        at = ctx.anchor_time(anchor, s, near_systems)
    if at is None:
        at = _when_system_goes_offline(ctx, text)
    if at is None:
        at = _date_with_the_removal(ctx, s)
    for context in (s.heading, s.lead_in):  # "Prior to Downtime on August 14", "During the downtime:"
        if at is None and context:
            at = ctx.anchor_time(dates.relative_anchor(plain(context), ctx.sent), s)
            if at is not None:
                return at, context if context is s.lead_in else None
    return at, None


def _date_with_the_removal(ctx: Context, s: Sentence) -> date | datetime | None:
    """The date that goes with the removal: the first after the removal words, else the last before."""
    removal = REMOVAL_RE.search(s.text)
    cut = s.begin + (removal.start() if removal else 0)
    points = [m for m in ctx.mentions(s) if not m.is_range]
    after = [m for m in points if m.begin >= cut]
    chosen = after[0] if after else (points[-1] if points else None)
    return chosen.point.when if chosen is not None else None


def _system_and_year(ctx: Context, s: Sentence, parts: list[Sentence], data: str, removal: re.Match[str] | None,
                     place: re.Match[str] | None) -> tuple[str | None, str | None]:
    """The system the data leaves and the data's school year."""
    return _system(ctx, s, parts, data, removal, place), _data_year(s, parts, data)


def _codes(text: str) -> list[str]:
    return [c for c in find_systems(text) if c != "ALL"]


def _system(ctx: Context, s: Sentence, parts: list[Sentence], data: str, removal: re.Match[str] | None,
            place: re.Match[str] | None) -> str | None:
    """Named with the data, after the removal words, in the sentence referred to, by the system
    that keeps the data, else in the section above."""
    text = s.plain_text
    where = " ".join([data, text[removal.end():] if removal else "", *(p.plain_text for p in parts[:-1])])
    systems = _codes(place.group("place") if place else "") or _codes(where)
    if "IAHSS" in systems and "hand scor" in " ".join(p.plain_text for p in parts).lower():
        return "IAHSS"
    if systems:
        return systems[0]
    keeper = _KEEPER_RE.search(text)
    if keeper:
        # "TOMS keeps only three years of data, so this file will be removed": the system that keeps it
        kept_by = next(iter(_codes(keeper.group("who"))), None)
        if kept_by is not None:
            return kept_by
    return next((codes[0] for x in _section_before(ctx, s) if len(codes := _codes(x.plain_text)) == 1), None)


def _data_year(s: Sentence, parts: list[Sentence], data: str) -> str | None:
    years = dates.school_years(data) or [y for p in parts[:-1] for y in dates.school_years(p.plain_text)]
    if years:
        return years[0]
    if s.heading and DATA_RE.search(s.heading):
        # a "2022–23 Student Score Data Files" heading; not the subject, which names the year to come
        found = set(dates.school_years(s.heading))
        if len(found) == 1:
            return found.pop()
    return None


_KEPT_RE = re.compile(r"\b(?:download\w*|available|accessible|access|stored|kept|located|remains?|posted)\b", re.I)


SECTION_REACH = 12  # sentences looked back at for where the data is kept


_KEEPER_RE = re.compile(r"\b(?P<who>[A-Z][\w()]*(?:\s+[A-Z][\w()]*){0,6})\s+(?:keeps|holds|stores|retains|maintains)\b")
_THAT_MOMENT_RE = re.compile(
    r"^\W*(?:at\s+that\s+(?:moment|time|point)|then|when\s+(?:that|this)\s+happens|after\s+(?:that|this)|thereafter)\b",
    re.I)
# "cleared when the IAHSS goes offline": the start of the window of that system
_SYSTEM_OFFLINE_RE = re.compile(
    r"\b(?:when|once|as\s+soon\s+as|before)\s+(?:the\s+)?(?P<who>[^.,;]{2,60}?)\s+(?:goes|go|is\s+taken|are\s+taken)\s+"
    r"(?:offline|off-line|down)\b", re.I)


def _when_system_goes_offline(ctx: Context, text: str):
    m = _SYSTEM_OFFLINE_RE.search(text)
    if not m:
        return None
    named = [c for c in find_systems(m.group("who")) if c != "ALL"]
    starts = {f.start for f in ctx.downtimes if f.start is not None and set(named) & set(f.systems)}
    return starts.pop() if len(starts) == 1 else None


def _section_before(ctx: Context, s: Sentence, limit: int = 4) -> list[Sentence]:
    """Up to `limit` earlier sentences under the same heading that say where data is kept
    ("Student Score Data Files remain available in TOMS"), nearest first."""
    out: list[Sentence] = []
    sentences = ctx.doc.sentences
    for i in range(s.index - 1, max(-1, s.index - 1 - SECTION_REACH), -1):
        x = sentences[i]
        if x.kind == "heading" or x.heading != s.heading or len(out) >= limit:
            break
        t = x.plain_text
        if x.kind != "item" and DATA_RE.search(t) and _KEPT_RE.search(t):
            out.append(x)
    return out


def _data_phrase(parts: list[Sentence]) -> str:
    """What is removed: the subject of "will be removed", the object of "lose access to";
    for "This file will be removed" the file named in the sentence before."""
    t = strip_item_mark(parts[-1].plain_text)
    m = REMOVAL_RE.search(t)
    phrase = ""
    if m and m.group(0).lower().startswith("lose"):
        phrase = re.split(r"[.;,]", t[m.end():].lstrip())[0]
        phrase = re.sub(r"^to\s+", "", phrase)
    elif m:
        clauses = re.split(r"[;,]\s+", t[:m.start()])
        # the clause that holds the data noun: "Every incomplete test, summative or interim, will be ..."
        clause = next((c for c in reversed(clauses) if DATA_RE.search(c)), clauses[-1])
        clause = re.sub(r"^(?:and|or|but|that|then|so)\s+", "", clause.strip(), flags=re.I)
        phrase = re.sub(r"\s+(?:will|would|can|may|shall)(?:\s+not)?(?:\s+be)?$", "", clause, flags=re.I)
        place = _PLACE_RE.match(t, m.end())
        if phrase and place and find_systems(place.group("place")) and " in " not in phrase:
            phrase = f"{phrase} in {place.group('place')}"  # "removed from the ORS" -> "... data in the ORS"
    if not phrase or _REFERS_BACK_RE.match(phrase):
        for p in reversed(parts[:-1]):
            nm = _NOUN_RE.search(p.plain_text)
            if nm:
                return " ".join(nm.group(1).split())
    phrase = re.sub(r"^(?:all|the|all\s+the|every|each|any)\s+", "", phrase, flags=re.I).strip()
    # "the Teacher Hand Scoring System (THSS)" -> "the THSS"
    phrase = _NAMED_SYSTEM_RE.sub(lambda n: n.group("abbr"), phrase)
    phrase = _ASIDE_RE.sub(" ", phrase).strip()
    phrase = _WHEN_TAIL_RE.sub("", phrase)  # "groups created in CERS during the 2023–24 year": the data, not its history
    phrase = re.sub(r"\s*\b(?:will|would|can|may|shall)(?:\s+not)?(?:\s+be)?$", "", phrase, flags=re.I).strip(" —–-,")
    return phrase[:160] or t[:160]


_WHEN_TAIL_RE = re.compile(r"\s+(?:during|throughout|over)\s+(?:the|this|that)\s+[^,;]{0,60}$", re.I)
_ASIDE_RE = re.compile(r"\s*—[^—]{1,80}—\s*|\s*—[^—]{1,80}$")
_NAMED_SYSTEM_RE = re.compile(r"(?:[A-Z][\w/-]*\s+(?:(?:and|of|for)\s+)?){1,8}\((?P<abbr>[A-Z]{2,6})\)")


_PLACE_RE = re.compile(
    r"\s+(?:from|out\s+of|of|in)\s+(?P<place>(?:the\s+)?[^.,;()]{2,80}?(?:\s*\([A-Z]{2,6}\))?)"
    r"(?=\s+(?:during|at|on|by|when|before|after|as|and|once|until|starting|beginning)\b|\s*[.,;]|\s*$)", re.I)
