"""Why a notice gave the facts it gave: for every dated sentence, the cues that fired on each
of its dates and the arbiter's decision (a fact and its kind, or a lead and its reason).

`explain(notice)` returns data; `explain_lines(notice)` words it for `extract --explain`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from caltac_inbox.classify import decisions_of
from caltac_inbox.classify.arbiter import Decision, leads_of
from caltac_inbox.classify.text import evidence
from caltac_inbox.model import Notice


@dataclass(frozen=True)
class DateExplanation:
    when: date | datetime | None  # None: a written date whose weekday contradicts it
    until: date | datetime | None  # the end of a window
    cues: tuple[str, ...]
    kind: str | None  # the fact's kind, None for a lead
    reason: str  # the rule that made the fact, or why it is a lead

    @property
    def decision(self) -> str:
        return f"fact: {self.kind} ({self.reason})" if self.kind else f"lead: {self.reason}"


@dataclass(frozen=True)
class SentenceExplanation:
    sentence: str
    dates: tuple[DateExplanation, ...]


def _date_of(d: Decision) -> DateExplanation:
    m = d.candidate.mention
    until = m.stop.when if m.start is not None and m.stop is not None else None
    return DateExplanation(when=d.candidate.when, until=until, cues=tuple(sorted(d.cues)), kind=d.kind,
                           reason=d.reason)


def explain(notice: Notice) -> tuple[SentenceExplanation, ...]:
    """Every dated sentence of `notice` in text order, with a decision per date."""
    ctx, _, decisions = decisions_of(notice)
    by_sentence: dict[int, list[Decision]] = {}
    for d in decisions:
        by_sentence.setdefault(d.candidate.sentence.index, []).append(d)
    mismatched = {lead.sentence for lead in leads_of(ctx, decisions) if lead.reason == "weekday mismatch"}
    out: list[SentenceExplanation] = []
    for s in ctx.doc.sentences:
        said = evidence(ctx.doc, [s])
        if s.index in by_sentence:
            out.append(SentenceExplanation(said, tuple(_date_of(d) for d in by_sentence[s.index])))
        elif said in mismatched:
            out.append(SentenceExplanation(said, (DateExplanation(None, None, (), None, "weekday mismatch"),)))
    return tuple(out)


def _iso(value: date | datetime | None) -> str:
    return "?" if value is None else value.isoformat()


def explain_lines(notice: Notice) -> list[str]:
    """`explain(notice)` as text: each sentence, then one indented line per date."""
    lines: list[str] = []
    for sentence in explain(notice):
        lines.append(f"  {sentence.sentence}")
        for d in sentence.dates:
            when = _iso(d.when) + (f" to {_iso(d.until)}" if d.until is not None else "")
            cues = ", ".join(d.cues) or "none"
            lines.append(f"    {when}: {d.decision}; cues: {cues}")
    return lines


__all__ = ["DateExplanation", "SentenceExplanation", "explain", "explain_lines"]
