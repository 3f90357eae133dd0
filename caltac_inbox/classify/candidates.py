"""Candidates: every date, time or window the resolver settles in a notice, in its block context.

A candidate is what the arbiter (classify.arbiter) decides about: one resolved mention in one
sentence, with what a coordinator reads around it: the sentence itself, the words just before
the date (its clause up to the date), the heading over the paragraph, the lead-in of a list or
table, the label of a "Label: date" line and the table header. Cues (classify.cues) read these
fields only; they never look the notice up again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from caltac_inbox.classify import dates
from caltac_inbox.classify.context import Context, clause_around
from caltac_inbox.classify.text import Sentence, plain

CLAUSE_REACH = 300  # characters read on each side of a date

# "Deadline: Friday, May 5", "- Survey closes: May 5": the words before the colon label the date
_LABEL_RE = re.compile(r"^\W*(?P<label>[^:.]{2,80}?)\s*[:—–]\s*$")


@dataclass(frozen=True)
class Candidate:
    sentence: Sentence
    mention: dates.Mention
    before: str  # the clause's words before the date, plain and collapsed
    after: str  # the clause's words after the date, plain and collapsed
    clause: str  # the clause around the date, plain and collapsed
    label: str | None  # "Deadline" of "Deadline: May 5" when the date follows a label
    heading: str | None
    lead_in: str | None
    header: str | None  # a table row's header cells, joined
    previous: str | None = None  # the sentence before, under the same heading

    @property
    def when(self) -> date | datetime:
        point = self.mention.start or self.mention.stop
        assert point is not None
        return point.when

    @property
    def due(self) -> date | datetime:
        """The one date of a point, the end of a window."""
        return self.mention.point.when

    @property
    def text(self) -> str:
        return self.sentence.plain_text

    @property
    def block(self) -> str:
        """What the sentence inherits: heading, lead-in and table header, plain."""
        return " ".join(p for p in (self.heading, self.lead_in, self.header) if p)

    @property
    def year_written(self) -> bool:
        point = self.mention.start or self.mention.stop
        return bool(point and point.year_written)


def _collapse(text: str) -> str:
    return " ".join(plain(text).split())


def candidate_of(ctx: Context, s: Sentence, m: dates.Mention) -> Candidate:
    doc_text = ctx.doc.text
    c_begin, c_end = clause_around(doc_text, s.begin, s.end, m.begin)
    # a clause longer than a reader's glance is no clause (and cues stay linear in the text)
    c_begin, c_end = max(c_begin, m.begin - CLAUSE_REACH), min(c_end, m.end + CLAUSE_REACH)
    before = _collapse(doc_text[c_begin:m.begin])
    label = _LABEL_RE.match(before)
    return Candidate(
        sentence=s,
        mention=m,
        before=before,
        after=_collapse(doc_text[m.end:max(m.end, c_end)]),
        clause=_collapse(doc_text[c_begin:c_end]),
        label=label.group("label") if label else None,
        heading=plain(s.heading) if s.heading and s.heading != s.text else None,
        lead_in=plain(s.lead_in) if s.lead_in else None,
        header=" ".join(s.header) or None,
        previous=_previous(ctx, s),
    )


def _previous(ctx: Context, s: Sentence) -> str | None:
    if not s.index:
        return None
    before = ctx.doc.sentences[s.index - 1]
    if before.masthead:
        return None
    # a short label line ("Deadline: May 5") reads as a heading of its own: the sentence above still leads to it
    same_section = s.kind == "heading" or before.heading == s.heading or before.text == s.heading
    return before.plain_text if same_section else None


def find_candidates(ctx: Context) -> tuple[Candidate, ...]:
    """Every resolved mention of every sentence but the masthead's, in text order."""
    return tuple(candidate_of(ctx, s, m) for s in ctx.doc.sentences if not s.masthead for m in ctx.mentions(s))


__all__ = ["Candidate", "candidate_of", "find_candidates"]
