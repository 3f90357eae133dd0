"""What every kind's classifier shares about one notice: its sentences, dates, program."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property

from caltac_inbox.classify import dates
from caltac_inbox.classify.text import ELISION, Doc, Sentence, build_doc, collapse
from caltac_inbox.model import Fact, Notice


@dataclass
class Context:
    notice: Notice
    doc: Doc
    downtimes: list[Fact] = field(default_factory=list)
    # days the notice calls a downtime's start ("before the downtime on August 2 at 5 p.m.")
    downtime_refs: list[tuple[Sentence, dates.Point]] = field(default_factory=list)

    @classmethod
    def of(cls, notice: Notice) -> "Context":
        return cls(notice, build_doc(notice.text or ""))

    @property
    def sent(self) -> datetime | None:
        return self.notice.sent

    def mentions(self, s: Sentence) -> list[dates.Mention]:
        return self._mentions(s.index)

    def _mentions(self, index: int) -> list[dates.Mention]:
        cache = self.__dict__.setdefault("_mention_cache", {})
        if index not in cache:
            # a paragraph's sentences in order: a weekday written alone counts from the date
            # written before it ("The downtime starts Friday, May 19. TOMS returns Monday.")
            line = self.doc.line_sentences(self.doc.sentences[index].line)
            last_day = None
            for s in line:
                if s.index not in cache:
                    found = dates.find_mentions(_blank_markup(s.text), self.sent, last_day, s.cue_mask)
                    cache[s.index] = [_shift(m, s.begin) for m in found]
                if cache[s.index]:
                    last = cache[s.index][-1]
                    last_day = (last.stop or last.start).day
                    if self.sent is not None and last_day < self.sent.date() - timedelta(days=dates.GRACE_DAYS):
                        last_day = None  # history ("in March 2019 we ...") anchors nothing
        return cache[index]

    @cached_property
    def program(self) -> tuple[str, ...]:
        """The notice's program: subject first, then the greeting, then the text."""
        subject = self.notice.subject or ""
        found = programs_in(subject)
        if found:
            return found
        greeting = re.search(r"^\s*Dear\b[^\n]*", self.notice.text or "", re.M)
        if greeting:
            found = programs_in(greeting.group(0))
            if found:
                return found
        text = self.notice.text or ""
        caaspp, elpac = len(re.findall(r"\bCAASPP\b", text)), len(re.findall(r"\bELPAC\b", text))
        if caaspp and elpac and min(caaspp, elpac) * 3 >= max(caaspp, elpac):
            return ("CAASPP", "ELPAC")
        if caaspp > elpac:
            return ("CAASPP",)
        if elpac:
            return ("ELPAC",)
        sender = (self.notice.sender or "").lower()
        if "caaspp" in sender:
            return ("CAASPP",)
        if "elpac" in sender:
            return ("ELPAC",)
        return ()

    def program_near(self, *texts: str | None) -> tuple[str, ...]:
        """'CAASPP and ELPAC systems' in the evidence or its heading beats the notice's program."""
        for t in texts:
            if t:
                found = programs_in(t)
                if len(found) == 2:
                    return found
        return self.program

    def anchor_time(self, anchor: dates.Anchor | None, near: Sentence | None = None,
                    systems: list[str] | tuple[str, ...] = ()) -> date | datetime | None:
        """The downtime start a relative phrase points at; None when it is not clear which.

        With several downtimes, the one that takes down one of `systems` (the data's system),
        else "this downtime" in sentence `near` is the one described last before it (or, when
        none is, first after it)."""
        if anchor is None or not (self.downtimes or self.downtime_refs):
            return None
        starts = [f.start for f in self.downtimes if f.start is not None]
        if systems and anchor.day is None:
            theirs = self._starts_taking_down(systems)
            if len(theirs) == 1:
                return theirs.pop()
        if anchor.day is not None:
            return self._start_on_day(anchor, starts)
        if not starts:
            return self._start_named_only(anchor)
        distinct = sorted({s for s in starts}, key=str)
        if len(distinct) == 1:
            return distinct[0]
        return self._start_described_near(near) if near is not None else None

    def _start_described_near(self, near: Sentence) -> date | datetime | None:
        """The start of the window described last before sentence `near`, else first after it."""
        placed = sorted((self._position(f), f.start) for f in self.downtimes if f.start is not None)
        before = [start for pos, start in placed if pos is not None and pos <= near.index]
        after = [start for pos, start in placed if pos is not None and pos > near.index]
        chosen = before[-1:] or after[:1]
        return chosen[0] if chosen else None

    def _starts_taking_down(self, systems: list[str] | tuple[str, ...]) -> set[date | datetime]:
        """The starts of the windows that take down one of `systems`, else of those that name no
        system (or all of them) over ones that name only others."""
        theirs = {f.start for f in self.downtimes if f.start is not None and set(systems) & set(f.systems)}
        if not theirs:
            theirs = {f.start for f in self.downtimes if f.start is not None
                      and (not f.systems or "ALL" in f.systems)}
        return theirs

    def _start_on_day(self, anchor: dates.Anchor, starts: list[date | datetime]) -> date | datetime | None:
        """The window that starts on the anchor's day; or a downtime the notice names only by its
        day: the time said with it anywhere."""
        for s in starts:
            d = s.date() if isinstance(s, datetime) else s
            if d == anchor.day:
                return s
        if anchor.edge != "start":
            return None
        refs = sorted(self._refs_by_day().get(anchor.day, ()), key=str)  # type: ignore[arg-type]
        timed = [w for w in refs if isinstance(w, datetime)]
        if len(timed) == 1:
            return timed[0]
        return refs[0] if len(refs) == 1 else None

    def _start_named_only(self, anchor: dates.Anchor) -> date | datetime | None:
        """No window the notice states whole, but one it names by its start ("the downtime that
        begins on Friday, August 1, at 5 p.m."): that start."""
        by_day = self._refs_by_day()
        if anchor.edge == "start" and len(by_day) == 1:
            whens = sorted(next(iter(by_day.values())), key=str)
            timed = [w for w in whens if isinstance(w, datetime)]
            return timed[0] if len(timed) == 1 else (whens[0] if len(whens) == 1 else None)
        return None

    def _refs_by_day(self) -> dict[date, set[date | datetime]]:
        by_day = self.__dict__.get("_refs_by_day_cache")
        if by_day is None:
            by_day = {}
            for _, p in self.downtime_refs:
                by_day.setdefault(p.day, set()).add(p.when)
            self.__dict__["_refs_by_day_cache"] = by_day
        return by_day

    def _position(self, fact: Fact) -> int | None:
        """The index of the sentence a fact's evidence starts with."""
        return self._piece_start(fact.evidence.split(ELISION)[0])

    def _piece_start(self, piece: str) -> int | None:
        starts = self.__dict__.get("_sentence_starts")
        if starts is None:  # sentences by the first characters of their text: one pass, then lookups
            starts = {}
            for s in self.doc.sentences:
                starts.setdefault(collapse(s.text)[:_START_KEY], []).append(s)
            self.__dict__["_sentence_starts"] = starts
        return next((s.index for s in starts.get(piece[:_START_KEY], ()) if piece.startswith(collapse(s.text))), None)

    def quoted_sentences(self, facts: list[Fact] | tuple[Fact, ...]) -> set[int]:
        """Indexes of the sentences some fact's evidence quotes (each piece is a run of sentences)."""
        out: set[int] = set()
        sentences = self.doc.sentences
        for piece in {p for f in facts for p in f.evidence.split(ELISION)}:
            i = self._piece_start(piece)
            while i is not None and i < len(sentences) and collapse(sentences[i].text) in piece:
                out.add(i)
                i += 1
        return out


_START_KEY = 40


# systems that serve CAASPP only (Smarter Balanced interims, the educator reporting system)
CAASPP_ONLY_SYSTEMS = frozenset({"IAHSS", "IAVS", "CERS"})


def program_of_systems(systems: list[str] | tuple[str, ...], evidence: str,
                       default: tuple[str, ...]) -> tuple[str, ...]:
    """Facts only about CAASPP-only systems are CAASPP facts, unless their sentence names a program."""
    if systems and all(c in CAASPP_ONLY_SYSTEMS for c in systems) and not programs_in(evidence):
        return ("CAASPP",)
    return default


_CAASPP_RE = re.compile(r"\bCAASPP\b")
_ELPAC_RE = re.compile(r"\bELPAC\b")


def programs_in(text: str) -> tuple[str, ...]:
    has_c = "CAASPP" in text and _CAASPP_RE.search(text) is not None
    has_e = "ELPAC" in text and _ELPAC_RE.search(text) is not None
    return tuple(p for p, ok in (("CAASPP", has_c), ("ELPAC", has_e)) if ok)


def _blank_markup(text: str) -> str:
    """Markdown emphasis replaced by spaces, keeping character offsets."""
    if "*" not in text and "_" not in text:
        return text
    return re.sub(r"[*_]{1,3}", lambda m: " " * len(m.group(0)), text)


def _shift(m: dates.Mention, by: int) -> dates.Mention:
    def p(pt: dates.Point | None) -> dates.Point | None:
        if pt is None:
            return None
        return dates.Point(pt.begin + by, pt.end + by, pt.day, pt.clock, pt.zone, pt.year_written)

    return dates.Mention(m.begin + by, m.end + by, p(m.start), p(m.stop))


# a date that describes someone or something else than the coordinator's task: eligibility
# ("five years old on or before September 1"), law ("effective January 1", "Section 852(a)")
_REFERENCE_RE = re.compile(
    r"(?:\b(?:years?\s+old|born|birthdays?|ages?\s+\d+|turns?\s+(?:\d+|five|six|seven|eight)|effective(?:\s+date)?|"
    r"regulations?|statutes?|enacted|chaptered|signed\s+into\s+law|(?:Education|Government)\s+Code|CCR|§|"
    r"Sections?\s+\d+)\b[^.;:]{0,50}$)",
    re.I,
)


def is_reference_date(doc_text: str, begin: int, clause_begin: int) -> bool:
    """True when the words just before a date (within its clause) make it an eligibility
    or legal date rather than something to do."""
    return bool(_REFERENCE_RE.search(" ".join(doc_text[max(clause_begin, begin - 80):begin].split())))


# "must be installed by this date" in an item that opens with the date
THIS_DATE_RE = re.compile(
    r"\b(?:by|before|on\s+or\s+before|no\s+later\s+than|until)\s+(?:this|that|the\s+(?:above|same))\s+(?:date|day|deadline)\b",
    re.I)
_OPENING_RE = re.compile(r"[\s*_>#\-•·▪◦]*(?:\d{1,2}[.)]\s+)?")


def opens_sentence(doc_text: str, s: Sentence, m: dates.Mention) -> bool:
    """The date stands first in its sentence, after any list marker ("- Friday, June 9: ...")."""
    return _OPENING_RE.fullmatch(doc_text, s.begin, m.begin) is not None


# where one clause of a sentence ends and the next begins
_CLAUSE_BREAK_RE = re.compile(r";\s+|,\s+(?:and|but|so|while|whereas)\s+|\s+(?:and\s+then|but)\s+")


def clause_around(text: str, begin: int, end: int, pos: int) -> tuple[int, int]:
    """The clause of text[begin:end] around position `pos`."""
    start, stop = begin, end
    for m in _CLAUSE_BREAK_RE.finditer(text, begin, end):
        if m.end() <= pos:
            start = m.end()
        elif m.start() >= pos:
            stop = m.start()
            break
    return start, stop


_CUE_RE = re.compile(
    r"(?:\b(?:by|no\s+later\s+than|not\s+later\s+than|until|due(?:\s+(?:by|on))?|deadline(?:\s+(?:of|is|was))?"
    r"|on\s+or\s+before|before|closes(?:\s+(?:on|at))?|ends(?:\s+(?:on|at))?|was|is)\s+(?:the\s+)?(?:(?:deadline|close\s+of\s+business"
    r"|end\s+of\s+(?:the\s+)?day)"
    r"\s+(?:of|on)\s+)?(?:\w+day,?\s+)?)$",
    re.I,
)


def cue_before(doc_text: str, begin: int, window: int = 60) -> str | None:
    """The deadline word right before a date ("by", "no later than", "was"), if any."""
    before = _blank_markup(doc_text[max(0, begin - window):begin])
    before = " ".join(before.split()) + " "
    m = _CUE_RE.search(before)
    if not m:
        return None
    words = m.group(0).lower().split()
    if words[:3] == ["on", "or", "before"]:
        return "before"
    return "closes" if words[0] == "ends" else words[0]
