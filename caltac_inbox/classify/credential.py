"""Reminders to generate or regenerate SIS-vendor credentials (user name and secret key).

One fact per notice. `school_year` is the reporting year the credentials prepare for:
a school year written beside "reporting" or the score reports, else the school year the
notice was sent in.
"""
from __future__ import annotations

import re
from datetime import date, datetime

from caltac_inbox.classify import dates
from caltac_inbox.classify.context import Context, cue_before
from caltac_inbox.classify.text import Sentence, evidence, plain
from caltac_inbox.classify.topics import CREDENTIAL_ACT_RE, is_credential
from caltac_inbox.model import Fact

_SIS_RE = re.compile(r"\b(?:SIS|student\s+information\s+system|vendors?|secret\s+key|user\s+name)\b", re.I)
_VENDORS_RE = re.compile(
    r"\bdesignated\s+(?P<names>.+?)\s+as\s+(?:your|the|its)\s+(?:student\s+information\s+system|SIS)", re.I)
_REPORTING_YEAR_RE = re.compile(
    r"((?:19|20)\d{2}\s*[–—-]\s*(?:19|20)?\d{2})\s+(?:reporting|SSRs?|Student\s+Score\s+Reports?|score\s+reports?|results)",
    re.I)


def _reporting_year(ctx: Context, hits: list[Sentence]) -> str | None:
    """The reporting year named near the credentials, else the sent date's school year."""
    for s in ctx.doc.sentences:
        ym = _REPORTING_YEAR_RE.search(s.text)
        if ym and (s in hits or _SIS_RE.search(s.text) or "credential" in s.text.lower()):
            return dates.normalize_school_year(ym.group(1))
    return dates.school_year_of(ctx.sent) if ctx.sent is not None else None


def _vendors(text: str) -> tuple[str, ...]:
    vm = _VENDORS_RE.search(plain(text))
    if not vm:
        return ()
    names = re.split(r",\s*(?:and\s+)?|\s+and\s+", vm.group("names"))
    return tuple(n.strip() for n in names if n.strip() and len(n.split()) <= 6)


def _due(ctx: Context, hits: list[Sentence]) -> date | datetime | None:
    """The first due date of the last credential sentence that has one."""
    due: date | datetime | None = None
    for s in hits:
        for mention in ctx.mentions(s):
            if not mention.is_range and cue_before(ctx.doc.text, mention.begin) in {"by", "no", "not", "before", "due"}:
                due = mention.point.when
                break
    return due


def classify_credentials(ctx: Context) -> list[Fact]:
    doc = ctx.doc
    hits = [s for s in doc.sentences if is_credential(s)]
    if not hits or not _SIS_RE.search(doc.text):
        return []
    first = hits[0]
    m = CREDENTIAL_ACT_RE.search(first.plain_text)
    action = "regenerate" if m and (m.group(1) or m.group(2)) else "generate"
    school_year = _reporting_year(ctx, hits)
    vendors = _vendors(doc.text)
    due = _due(ctx, hits)
    parts = hits[:1]
    return [Fact(
        kind="credential",
        evidence=evidence(doc, parts),
        program=ctx.program,
        school_year=school_year,
        vendors=vendors,
        action=action,
        due=due,
    )]
