"""Every Guard in the classifiers is a true necessary condition of its pattern.

The proof reads the pattern's parse tree (re._parser): a sequence is covered when one
of its items is covered, or when a run of items that match only known strings (literals,
small character sets, alternations and bounded repeats of those) yields only strings
holding a guard word; an alternation is covered when all its branches are; a repeat
when it must occur at least once and its body is covered. Anything else (classes
like \\s or [^.], lookarounds, optional parts) proves nothing and ends a run.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]

import pytest

import caltac_inbox.classify as classify_package
from caltac_inbox.classify.guard import Guard, fold

_MAX_STRINGS = 512
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)


def _exact(op, av) -> set[str] | None:
    """All strings the item can match, when that set is small; else None."""
    if op is C.LITERAL:
        return {chr(av)}
    if op is C.AT:
        return {""}
    if op is C.IN:
        if all(o is C.LITERAL for o, _ in av):
            return {chr(c) for _, c in av}
        return None
    if op is C.SUBPATTERN:
        _group, add_flags, del_flags, body = av
        return None if add_flags or del_flags else _exact_seq(body)
    if op is C.BRANCH:
        out: set[str] = set()
        for branch in av[1]:
            strings = _exact_seq(branch)
            if strings is None:
                return None
            out |= strings
        return out if len(out) <= _MAX_STRINGS else None
    if op in _REPEATS:
        low, high, body = av
        inner = _exact_seq(body)
        if inner is None or high > 4:
            return None
        out, current = set(), {""}
        for count in range(high + 1):
            if count >= low:
                out |= current
            current = {a + b for a in current for b in inner}
            if len(current) > _MAX_STRINGS:
                return None
        return out
    return None


def _exact_seq(items) -> set[str] | None:
    out = {""}
    for op, av in items:
        strings = _exact(op, av)
        if strings is None:
            return None
        out = {a + b for a in out for b in strings}
        if len(out) > _MAX_STRINGS:
            return None
    return out


def _covered_seq(items, holds) -> bool:
    run = {""}  # the strings the current run of exact items can match, one of which every match holds
    for op, av in items:
        strings = _exact(op, av)
        if strings is not None:
            joined = {a + b for a in run for b in strings}
            if len(joined) <= _MAX_STRINGS:
                run = joined
                continue
            if all(holds(s) for s in run):
                return True
            run = strings
            continue
        if all(holds(s) for s in run) or _covered(op, av, holds):
            return True
        body = _required_repeats(op, av)
        if body is None:
            run = {""}
            continue
        # the body occurs at least `low` times in a row: its first occurrences end the run
        # before it, its last ones start the next run
        if all(holds(a + b) for a in run for b in body):
            return True
        run = body
    return all(holds(s) for s in run)


def _required_repeats(op, av) -> set[str] | None:
    """For a repeat that must occur `low` >= 1 times with an exact body: the strings of its
    body repeated min(low, 4) times (every match holds one of them, both at the start and at
    the end of the repeat's part); else None."""
    if op not in _REPEATS or av[0] < 1:
        return None
    body = _exact_seq(av[2])
    if body is None:
        return None
    out = {""}
    for _ in range(min(av[0], 4)):
        out = {a + b for a in out for b in body}
        if len(out) > _MAX_STRINGS:
            return body
    return out


def _covered(op, av, holds) -> bool:
    if op is C.SUBPATTERN:
        return _covered_seq(av[3], holds)
    if op is C.ATOMIC_GROUP:
        return _covered_seq(av, holds)
    if op is C.BRANCH:
        return all(_covered_seq(branch, holds) for branch in av[1])
    if op in _REPEATS:
        low, _high, body = av
        return low >= 1 and _covered_seq(body, holds)
    return False


def proves(guard: Guard) -> bool:
    """True when every match of the guard's pattern contains one of its words."""
    words = guard.words

    def holds(s: str) -> bool:
        s = s.lower() if guard.ignores_case else s
        return any(w in s for w in words)

    tree = P.parse(guard.pattern.pattern, guard.pattern.flags)
    return _covered_seq(list(tree), holds)


def all_guards() -> list[tuple[str, Guard]]:
    found = []
    for info in pkgutil.iter_modules(classify_package.__path__):
        module = importlib.import_module(f"{classify_package.__name__}.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Guard):
                found.append((f"{info.name}.{name}", value))
            elif isinstance(value, (tuple, list)) and value and all(isinstance(v, Guard) for v in value):
                found.extend((f"{info.name}.{name}[{i}]", v) for i, v in enumerate(value))
    return found


GUARDS = all_guards()


def test_the_classifiers_use_guards():
    assert len(GUARDS) >= 10


@pytest.mark.parametrize("name,guard", GUARDS, ids=[n for n, _ in GUARDS])
def test_guard_words_are_in_every_match(name, guard):
    assert proves(guard), f"{name}: some match of {guard.pattern.pattern!r} holds none of {guard.words}"


@pytest.mark.parametrize("pattern,words,expected", [
    (re.compile(r"\bno\s+longer\b", re.I), ("longer",), True),
    (re.compile(r"\bno\s+longer\b", re.I), ("nolonger",), False),
    (re.compile(r"removed|cleared", re.I), ("remove",), False),
    (re.compile(r"removed|cleared", re.I), ("remove", "clear"), True),
    (re.compile(r"(?:re)?generat\w*", re.I), ("regenerat",), False),
    (re.compile(r"(?:re)?generat\w*", re.I), ("generat",), True),
    (re.compile(r"a(?:bc)?d", re.I), ("abcd",), False),
    (re.compile(r"a(?:bc)?d", re.I), ("ad", "abcd"), True),
    (re.compile(r"x(?:ab)+", re.I), ("xab",), True),
    (re.compile(r"x(?:ab)*", re.I), ("xab",), False),
    (re.compile(r"Jan|Feb"), ("Jan", "Feb"), True),
    (re.compile(r"Jan|Feb"), ("jan", "feb"), False),  # case-sensitive pattern, words as written
    (re.compile(r"\d+/\d+"), ("/",), True),
    (re.compile(r"x\.{4,}y"), ("....",), True),
    (re.compile(r"x\.{3,}y"), ("....",), False),
    (re.compile(r"(?:ab){2,}"), ("abab",), True),
    (re.compile(r"(?:ab){2,}"), ("ababab",), False),
])
def test_the_proof_rejects_a_wrong_guard(pattern, words, expected):
    assert proves(Guard(pattern, words)) is expected


def test_guard_skips_the_pattern_when_no_word_is_there():
    guard = Guard(re.compile(r"\bwill\s+be\s+removed\b", re.I), ("removed",))
    assert guard.search("The files Will Be REMOVED today.")
    assert guard.search("The files will be kept.") is None
    assert not guard.possible("The files will be kept.")


def test_fold_matches_what_ignorecase_matches():
    # re.IGNORECASE matches these to ASCII letters; the guard must see the word too
    for text in ("Tıme", "TİME", "ſecret", "\u212aey"):
        pattern = re.compile(r"time|secret|key", re.I)
        assert pattern.search(text)
        assert Guard(pattern, ("time", "secret", "key")).search(text)
    assert fold("ABC") == "abc"


def test_words_with_spaces_or_markup_are_refused():
    with pytest.raises(ValueError):
        Guard(re.compile("lose access", re.I), ("lose access",))
    with pytest.raises(ValueError):
        Guard(re.compile("Lose", re.I), ("Lose",))
