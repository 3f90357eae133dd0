"""What every kind's classifier shares about one notice: its sentences, dates, program."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from caltac_inbox.classify import dates
from caltac_inbox.classify.text import Doc, Sentence, build_doc
from caltac_inbox.model import Fact, Notice


@dataclass
class Context:
    notice: Notice
    doc: Doc
    downtimes: list[Fact] = field(default_factory=list)

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
            s = self.doc.sentences[index]
            found = dates.find_mentions(_blank_markup(s.text), self.sent)
            cache[index] = [_shift(m, s.begin) for m in found]
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

    def anchor_time(self, anchor: dates.Anchor | None) -> date | datetime | None:
        """The downtime start a relative phrase points at; None when it is not clear which."""
        if anchor is None or not self.downtimes:
            return None
        starts = [f.start for f in self.downtimes if f.start is not None]
        if anchor.day is not None:
            for s in starts:
                d = s.date() if isinstance(s, datetime) else s
                if d == anchor.day:
                    return s
            return None
        distinct = sorted({s for s in starts}, key=str)
        if len(distinct) == 1:
            return distinct[0]
        # several windows that start together (per-system windows) share one start
        return None


# systems that serve CAASPP only (Smarter Balanced interims, the educator reporting system)
CAASPP_ONLY_SYSTEMS = frozenset({"IAHSS", "IAVS", "CERS"})


def program_of_systems(systems: list[str] | tuple[str, ...], evidence: str,
                       default: tuple[str, ...]) -> tuple[str, ...]:
    """Facts only about CAASPP-only systems are CAASPP facts, unless their sentence names a program."""
    if systems and all(c in CAASPP_ONLY_SYSTEMS for c in systems) and not programs_in(evidence):
        return ("CAASPP",)
    return default


def programs_in(text: str) -> tuple[str, ...]:
    has_c = re.search(r"\bCAASPP\b", text) is not None
    has_e = re.search(r"\bELPAC\b", text) is not None
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


_CUE_RE = re.compile(
    r"(?:\b(?:by|no\s+later\s+than|not\s+later\s+than|until|due(?:\s+(?:by|on))?|deadline(?:\s+(?:of|is|was))?"
    r"|on\s+or\s+before|before|closes(?:\s+on)?|was|is)\s+(?:the\s+)?(?:(?:deadline|close\s+of\s+business|end\s+of\s+(?:the\s+)?day)"
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
    return words[0]
