"""What a calendar event says about the notices behind it, within a size a calendar
client shows: each wording once (a direct notice, its forwards and its HTML copy quote
the same sentence), at most SOURCES_LISTED notices named, and DESCRIPTION_LIMIT bytes.

A backfill of years of mail repeats one notice hundreds of times; a DESCRIPTION that
names each copy grew to hundreds of kilobytes for one event, which clients truncate,
stall on, or refuse. `caltac-inbox show` still lists every source. Pure.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

from caltac_inbox.timeline.entry import SourceRef
from caltac_inbox.timeline.time import LOS_ANGELES

SOURCES_LISTED = 5
DESCRIPTION_LIMIT = 4096  # bytes of the DESCRIPTION value as written, before line folding
SHORTENED = "\n[…] (shortened; `caltac-inbox show` lists every source)"

# Typographic variants that one notice's plain-text, HTML and forwarded copies disagree on.
_SAME_CHARACTER = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u00a0": " ", "\u202f": " ",
})


@dataclass(frozen=True)
class Wording:
    """One sentence as the notices quote it, and the notices that quote it, in order."""

    evidence: str  # as the first of them quotes it
    sources: tuple[SourceRef, ...]


def normalized_evidence(text: str) -> str:
    """What makes two quotes the same sentence: compatibility forms, case, quote and
    dash styles and runs of white space do not count."""
    if not text.isascii():  # ASCII is its own NFKC form, and _SAME_CHARACTER maps no ASCII character
        text = unicodedata.normalize("NFKC", text).translate(_SAME_CHARACTER)
    return re.sub(r"\s+", " ", text.casefold()).strip()


def wordings(sources: Sequence[SourceRef]) -> list[Wording]:
    """The sources grouped by normalized evidence, groups in the order of their first
    notice. A group's first source is its first direct notice when it has one: a
    forward and its original carry the same sent date, so their order says nothing."""
    if len(sources) == 1:  # one group, whatever its sentence
        return [Wording(sources[0].evidence, (sources[0],))]
    groups: dict[str, list[SourceRef]] = {}
    keys: dict[str, str] = {}  # copies of a notice quote the same sentence: normalized once
    for source in sources:
        key = keys.get(source.evidence)
        if key is None:
            key = keys[source.evidence] = normalized_evidence(source.evidence)
        groups.setdefault(key, []).append(source)
    out = []
    for group in groups.values():
        lead = next((s for s in group if not s.forwarded_by), group[0])
        ordered = (lead, *(s for s in group if s is not lead))
        out.append(Wording(lead.evidence, ordered))
    return out


def sent_text(source: SourceRef) -> str:
    return source.sent.astimezone(LOS_ANGELES).strftime("%Y-%m-%d %H:%M") if source.sent else "an unknown date"


def also_in(source: SourceRef, first: SourceRef) -> str:
    """One more notice quoting `first`'s sentence: who forwarded it, its subject when
    that differs, and the notice's date."""
    subject = source.subject or "(no subject)"
    other_subject = subject != (first.subject or "(no subject)")
    if source.forwarded_by:
        what = f"forward from {source.forwarded_by}" + (f" of \u201c{subject}\u201d" if other_subject else "")
    else:
        what = f"\u201c{subject}\u201d" if other_subject else "another copy"
    return f"Also in: {what} on {sent_text(source)}"


def sources_lines(sources: Sequence[SourceRef], limit: int = SOURCES_LISTED) -> list[str]:
    """The notices part of a DESCRIPTION: for each wording its first notice and the
    sentence, then the other notices quoting it, at most `limit` lines naming notices
    in all (each wording's first notice before any repeat; repeats that read alike
    share a line), then how many more notices there are."""
    groups = wordings(sources)
    shown_first = groups[:limit]
    repeats_left = max(0, limit - len(shown_first))
    lines: list[str] = []
    listed = 0
    for group in shown_first:
        first = group.sources[0]
        lines.append("")
        lines.append(f"Notice: {first.subject or '(no subject)'} (sent {sent_text(first)})")
        if first.forwarded_by:
            lines.append(f"Forwarded by {first.forwarded_by}")
        if group.evidence:
            lines.append(f"\u201c{' '.join(group.evidence.split())}\u201d")
        listed += 1
        # copies that read alike (one forwarder, one date) are one line with their count
        repeats: dict[str, int] = {}
        for source in group.sources[1:]:
            line = also_in(source, first)
            if line in repeats or len(repeats) < repeats_left:
                repeats[line] = repeats.get(line, 0) + 1
        repeats_left -= len(repeats)
        listed += sum(repeats.values())
        lines.extend(line + (f" ({count} messages)" if count > 1 else "") for line, count in repeats.items())
    more = len(sources) - listed
    if more:
        worded_otherwise = sum(len(group.sources) for group in groups[limit:])
        wording_note = f" ({worded_otherwise} worded differently)" if worded_otherwise else " saying the same"
        lines.append("")
        lines.append(f"And {more} more notice{'s' if more != 1 else ''}{wording_note}.")
    return lines


def escaped_size(text: str) -> int:
    """Bytes of `text` as an RFC 5545 TEXT value (backslash, semicolon, comma and line
    break are escaped with one more byte each), before line folding."""
    return len(text.encode("utf-8")) + sum(text.count(c) for c in "\\;,\n")


def fit(text: str, limit: int = DESCRIPTION_LIMIT, marker: str = SHORTENED) -> str:
    """`text` when its escaped_size is at most `limit`; else its longest prefix (cut
    between characters) followed by `marker` that is."""
    if escaped_size(text) <= limit:
        return text
    budget = limit - escaped_size(marker)
    if budget < 0:
        raise ValueError(f"a limit of {limit} bytes leaves no room for the marker")
    used = 0
    cut = 0
    for cut, char in enumerate(text):  # noqa: B007 - `cut` is where the loop stopped
        used += escaped_size(char)
        if used > budget:
            break
    return text[:cut].rstrip() + marker


__all__ = ["DESCRIPTION_LIMIT", "SOURCES_LISTED", "Wording", "escaped_size", "fit", "normalized_evidence",
           "sources_lines", "wordings"]
