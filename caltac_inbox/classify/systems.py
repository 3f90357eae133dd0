"""System names and abbreviations in notices -> the FACTS.md system codes.

Longer names are tried first, so "Appeals/Completion Status/Roster Management System"
gives ARMS and CSS, "Initial ELPAC Teacher Hand-Scoring System" THSS, and a system
the table does not know keeps its own name ("Practice and Training Tests").
"""
from __future__ import annotations

import re

from caltac_inbox.classify.guard import Guard, fold

# (pattern, codes, guard words: one is in every match) in priority order; patterns are
# case-insensitive unless noted
_NAMED: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    (r"appeals\s*/\s*completion\s+status\s*/\s*roster\s+management(?:\s+system)?", ("ARMS", "CSS"), ("roster",)),
    (r"completion\s+status\s+and\s+roster\s+management(?:\s+system)?", ("CSS", "ARMS"), ("roster",)),
    (r"appeals\s+and\s+roster\s+management(?:\s+system)?|roster\s+management\s+system", ("ARMS",), ("roster",)),
    (r"test\s+operations\s+management\s+system", ("TOMS",), ("operations",)),
    (r"online\s+reporting\s+system", ("ORS",), ("reporting",)),
    (r"completion\s+status(?:\s+system)?", ("CSS",), ("completion",)),
    (r"test\s+delivery\s+system", ("TDS",), ("delivery",)),
    (r"test\s+administrator(?:\s+\(TA\))?\s+interface", ("TAI",), ("administrator",)),
    (r"interim\s+assessment(?:\s+\(IA\))?\s+viewing\s+system|\bIA\s+viewing\s+system", ("IAVS",), ("viewing",)),
    (r"interim\s+assessment(?:\s+\(IA\))?\s+hand[\s-]+scoring\s+system|\bIA\s+hand[\s-]+scoring\s+system",
     ("IAHSS",), ("scoring",)),
    (r"(?:initial\s+elpac\s+)?teacher\s+hand[\s-]+scoring\s+system", ("THSS",), ("scoring",)),
    (r"california\s+educator\s+reporting\s+system", ("CERS",), ("educator",)),
    (r"california\s+longitudinal\s+pupil\s+achievement\s+data\s+system", ("CALPADS",), ("longitudinal",)),
    (r"security\s+and\s+test\s+administration\s+incident\s+reporting\s+system", ("STAIRS",), ("incident",)),
    (r"data\s+entry\s+interface", ("DEI",), ("entry",)),
    (r"secure\s+browsers?", ("SB",), ("browser",)),
    (r"\ball\s+(?:of\s+the\s+)?(?:CAASPP\s+|ELPAC\s+|CAASPP\s+and\s+ELPAC\s+|online\s+)?systems\b", ("ALL",),
     ("systems",)),
    # named systems without a code keep their own name
    (r"practice\s+and\s+training\s+tests", ("Practice and Training Tests",), ("practice",)),
    (r"training\s+and\s+practice\s+tests", ("Practice and Training Tests",), ("practice",)),
    (r"\bstudent\s+interface\b", ("Student Interface",), ("interface",)),
    (r"smarter\s+balanced\s+interim\s+assessments", ("Smarter Balanced Interim Assessments",), ("smarter",)),
]
_ABBREVIATIONS = ["TOMS", "ORS", "TDS", "TAI", "ARMS", "IAVS", "IAHSS", "THSS", "CERS", "CALPADS", "STAIRS",
                  "DEI", "CSS"]
_GUARDED = [(Guard(re.compile(p, re.I), words), codes) for p, codes, words in _NAMED]
_GUARD_WORDS = tuple(sorted({w for guard, _ in _GUARDED for w in guard.words}))
_ABBR_RE = re.compile(r"\b(" + "|".join(_ABBREVIATIONS) + r")\b")


def find_systems(text: str) -> list[str]:
    """Codes of every system named in `text`, in order of first appearance, no repeats."""
    hits: list[tuple[float, str]] = []
    covered: list[tuple[int, int]] = []
    folded = fold(text)
    present = {w for w in _GUARD_WORDS if w in folded}  # each word looked for once, not once per pattern
    for guard, codes in _GUARDED:
        if present.isdisjoint(guard.words):
            continue
        for m in guard.pattern.finditer(text):
            if any(a <= m.start() < b or a < m.end() <= b for a, b in covered):
                continue
            covered.append((m.start(), m.end()))
            hits.extend((m.start() + i / 10, c) for i, c in enumerate(codes))
    for m in _ABBR_RE.finditer(text):
        if any(a <= m.start() < b for a, b in covered):
            continue
        # "(TOMS)" right after the full name is the same system
        hits.append((m.start(), m.group(1)))
    out: list[str] = []
    for _, code in sorted(hits):
        if code not in out:
            out.append(code)
    return out


def normalize_system(name: str) -> str:
    """One system name as written -> its code, or the cleaned name when it has none."""
    codes = find_systems(name)
    if codes:
        return codes[0]
    return clean_name(name)


def clean_name(name: str) -> str:
    text = re.sub(r"\([^)]*\)", " ", name)
    text = re.sub(r"[*_]+", " ", text)
    text = " ".join(text.split()).strip(" .,:;|-–—")
    return text


def systems_of_item(item: str) -> list[str]:
    """The systems a list item names: known codes, else the item itself as a name."""
    codes = find_systems(item)
    if codes:
        return codes
    name = clean_name(re.sub(r"^\s*(?:[-*•·▪◦]|\d{1,2}[.)])\s+", "", item))
    if not name or len(name.split()) > 8 or re.search(r"[.!?]$", name):
        return []
    return [name]
