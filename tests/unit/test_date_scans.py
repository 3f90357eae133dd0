"""The date finder's StartScans give exactly their patterns' finditer.

A StartScan tries its pattern only at the characters of a class. That is the same as the
pattern's own scan when every match starts with such a character (proved here from the
pattern's parse tree, re._parser) and no match is empty; the randomized comparison below
checks the scans against `finditer` on sentences of the samples and generated text too.
"""
from __future__ import annotations

import random
import re
from pathlib import Path
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]

import pytest

from caltac_inbox.classify import dates
from caltac_inbox.classify.dates import StartScan

SCANS = [(name, value) for name, value in vars(dates).items() if isinstance(value, StartScan)]
_ZERO_WIDTH = (C.AT, C.ASSERT, C.ASSERT_NOT)
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)
# what re.IGNORECASE matches to an ASCII letter besides its two cases
_TWINS = {"i": "\u0130\u0131", "s": "\u017f", "k": "\u212a"}


def _atoms_of_set(items, ignore_case: bool) -> set | None:
    """The characters (and categories, like \\d) an IN item matches, or None when that is no small set."""
    out: set = set()
    for op, av in items:
        if op is C.LITERAL:
            out |= _cased(chr(av), ignore_case)
        elif op is C.RANGE and av[1] - av[0] <= 64:
            for code in range(av[0], av[1] + 1):
                out |= _cased(chr(code), ignore_case)
        elif op is C.CATEGORY:
            out.add(av)
        else:
            return None  # a negated set, a large range
    return out


def _cased(ch: str, ignore_case: bool) -> set:
    if not ignore_case:
        return {ch}
    return {ch, ch.lower(), ch.upper(), *_TWINS.get(ch.lower(), "")}


def _first(items, ignore_case: bool) -> tuple[set | None, bool]:
    """(what the first character of a match of the sequence can be, whether it can match empty)."""
    out: set = set()
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue  # consumes nothing: the first character comes later
        if op is C.LITERAL:
            first, empty = _cased(chr(av), ignore_case), False
        elif op is C.IN:
            first, empty = _atoms_of_set(av, ignore_case), False
        elif op is C.SUBPATTERN:
            _group, add_flags, del_flags, body = av
            if add_flags or del_flags:
                return None, True
            first, empty = _first(body, ignore_case)
        elif op is C.BRANCH:
            first, empty = set(), False
            for branch in av[1]:
                f, e = _first(branch, ignore_case)
                if f is None:
                    return None, True
                first |= f
                empty = empty or e
        elif op in _REPEATS:
            first, empty = _first(av[2], ignore_case)
            empty = empty or av[0] == 0
        else:
            return None, True
        if first is None:
            return None, True
        out |= first
        if not empty:
            return out, False
    return out, True


def start_atoms(pattern: re.Pattern[str]) -> set | None:
    """The characters a match can start with, or None when the parse proves no small set
    (or a match can be empty)."""
    first, empty = _first(list(P.parse(pattern.pattern, pattern.flags)), bool(pattern.flags & re.IGNORECASE))
    return None if empty else first


def class_atoms(scan: StartScan) -> set:
    (op, av), = list(P.parse(scan.starts.pattern, scan.starts.flags))
    assert op is C.IN
    atoms = _atoms_of_set(av, False)
    assert atoms is not None
    return atoms


def within(first: set, atoms: set) -> bool:
    """Every first character is in the class (a decimal digit is in \\d)."""
    return all(a in atoms or isinstance(a, str) and a.isdecimal() and C.CATEGORY_DIGIT in atoms for a in first)


def test_the_finder_uses_scans():
    assert len(SCANS) >= 6


@pytest.mark.parametrize("name,scan", SCANS, ids=[n for n, _ in SCANS])
def test_every_match_starts_in_the_class(name, scan):
    first = start_atoms(scan.pattern)
    assert first is not None, f"{name}: no small set of first characters read from its pattern"
    assert within(first, class_atoms(scan)), f"{name}: a match may start outside {scan.starts.pattern}"


@pytest.mark.parametrize("pattern,starts,expected", [
    (r"(?:\bthe\s+)?\d+", r"[t\d]", True),
    (r"(?:\bthe\s+)?\d+", r"[\d]", False),
    (r"(?:Mon|Tue)?,?\s*May", r"[MT]", False),  # may start with "," or a space
    (r"a*", r"[a]", None),  # matches the empty string
    (r"(?i:x)y", r"[xX]", None),  # a flag change inside: not read
])
def test_the_proof_rejects_a_wrong_class(pattern, starts, expected):
    first = start_atoms(re.compile(pattern))
    if expected is None:
        assert first is None
    else:
        assert (first is not None and within(first, class_atoms(StartScan(re.compile(pattern), starts)))) is expected


def _sentences() -> list[str]:
    root = Path(__file__).resolve().parents[2]
    text = "\n".join(p.read_text(errors="replace") for p in sorted((root / "samples").glob("*.eml")))
    return [line for line in text.split("\n") if line.strip()]


_PIECES = ("Friday, ", "Fri. ", "Monday the 3rd", "the 21st of May", "3 March 2024", "May 5", "Aug. 14, 2020",
           "5/12/2023", "12/31", "11:59 p.m.", "5 P.M. PT", "noon", "Midnight", "next Tuesday", "early Sunday morning",
           "on Thursday", "Sept. 8 (Mon.)", "May 3, 4, and 5, 2017", "\u0661\u0662 May", "2019\u201320", " ", ", ",
           "-", "(", ")", "ı", "K", "TOMS", "the ", "of ", "and ", "through ", "10", "7", "31st", "a.m.")


def test_scans_find_what_finditer_finds():
    rng = random.Random(28)
    texts = _sentences()
    texts += ["".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 14))) for _ in range(4000)]
    for name, scan in SCANS:
        for text in texts:
            expected = [(m.span(), m.groupdict()) for m in scan.pattern.finditer(text)]
            assert [(m.span(), m.groupdict()) for m in scan.finditer(text)] == expected, (name, text)
