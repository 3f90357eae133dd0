"""The behavioural suite: per cue family, the generated variants (minimum functionality
and negatives) must pass at PASS_RATE, and each invariance group must give the same
fact whatever the structure or delivery. Families in PENDING_FAMILIES (score.py) are
held to the rate they had instead, until the new classifier lands.

Also checks the yardstick itself: the generator is seeded and large enough, its
messages parse as the notices they carry, and every weekday it writes agrees (or, in
the contradicting-weekday negatives, disagrees) with FACTS.md's year rule."""
from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.unit.behaviour.generate import (
    COLLEAGUE,
    DELIVERIES,
    FAMILIES,
    MONTHS,
    NEGATIVE,
    POSITIVE,
    STRUCTURES,
    WEEKDAYS,
    Expected,
    generate,
)
from tests.unit.behaviour.score import (
    PASS_RATE,
    PENDING_FAMILIES,
    describe,
    invariance_groups,
    run,
)

LA = ZoneInfo("America/Los_Angeles")
WRITTEN_DATE = re.compile(rf"\b({'|'.join(WEEKDAYS)}), ({'|'.join(MONTHS)}) (\d{{1,2}})(?:, (\d{{4}}))?")


def _score(behaviour, family):
    return next(s for s in behaviour[1] if s.family == family)


def _first_failures(behaviour, family, limit=5):
    failing = [o for o in behaviour[0] if o.variant.family == family and not o.passed]
    return "\n".join(describe(o) for o in failing[:limit])


@pytest.mark.parametrize("family", FAMILIES)
def test_family_passes(behaviour, family):
    score = _score(behaviour, family)
    assert score.variants >= 30
    gate = score.gate.rate
    assert score.rate >= gate, (
        f"{family}: {score.passed}/{score.variants} = {score.rate:.1%} < {gate:.1%}\n"
        + _first_failures(behaviour, family))


@pytest.mark.parametrize("family", list(POSITIVE))
def test_invariance_groups_agree(behaviour, family):
    """One fact written in every structure its family allows, or sent by every delivery:
    every rendering yields it (so all agree). A pending family must keep the groups it held."""
    groups = {name: g for name, g in invariance_groups(behaviour[0]).items() if name.split("/")[0] == family}
    assert len(groups) >= 4 and all(len(g) >= 2 for g in groups.values())
    agreeing = [name for name, g in groups.items() if all(o.passed for o in g)]
    needed = _score(behaviour, family).gate.groups
    assert len(agreeing) >= needed, "\n".join(
        describe(o) for name, g in groups.items() if name not in agreeing for o in g if not o.passed)


def test_pending_families_are_known_families():
    assert set(PENDING_FAMILIES) <= set(FAMILIES)
    assert all(0 <= floor.rate < PASS_RATE and 0 <= floor.groups <= 4 for floor in PENDING_FAMILIES.values())


def test_the_generator_is_seeded_and_covers_its_axes(variants):
    first, again = variants, generate()  # the session's variants and a second, fresh generation
    assert again is not first
    assert len(first) >= 1000
    assert [v.name for v in first] == [v.name for v in again]
    digest = hashlib.sha256(b"".join(v.message() for v in first[::50])).hexdigest()
    assert digest == hashlib.sha256(b"".join(v.message() for v in again[::50])).hexdigest()
    assert generate(1)[0].message() != first[0].message()
    assert {v.family for v in first} == set(FAMILIES)
    assert {v.delivery for v in first} == set(DELIVERIES)
    assert {v.structure for v in first} >= set(STRUCTURES)
    for family in POSITIVE:
        mine = [v for v in first if v.family == family and v.check == "mft"]
        assert len({v.delivery for v in mine}) == len(DELIVERIES), family
        assert all(v.expected for v in mine)
    assert all(not v.expected for v in first if v.family in NEGATIVE or v.family == "neg_labelled_event")
    texts = [t for v in first for b in v.blocks for t in (b.text, *b.items, *(c for row in b.rows for c in row))]
    assert not [t for t in texts if "{" in t or ".." in t], "a template left a placeholder or a double full stop"


def test_messages_parse_as_the_notices_they_carry(behaviour):
    """Every delivery reaches extract as the notice: its own sent date (the inner one for a
    forward), the colleague as forwarded_by for a forward, and no error."""
    for outcome in behaviour[0]:
        v = outcome.variant
        assert outcome.error is None, v.name
        assert outcome.sent is not None and datetime.fromisoformat(outcome.sent) == v.sent, v.name
        assert outcome.forwarded_by == (COLLEAGUE[1] if v.delivery in ("outlook", "gmail") else None), v.name


def _resolved(month: int, day: int, sent: date, past: bool) -> date:
    """FACTS.md: a date without a year is the nearest such date on or after the sent date
    (on or before it, for a date spoken of as past)."""
    this = date(sent.year, month, day)
    if past:
        return this if this <= sent else date(sent.year - 1, month, day)
    return this if this >= sent else date(sent.year + 1, month, day)


def test_written_weekdays_agree_with_the_year_rule(variants):
    """The yardstick's own check: a weekday written in a positive variant is its date's
    weekday under FACTS.md's year rule; in a contradicting-weekday negative it is not."""
    checked = 0
    for v in variants:
        if v.check == "inv":
            continue
        past = v.family == "past_tense" or (v.family == "designation" and "was designated" in v.focus)
        for weekday, month, day, year in WRITTEN_DATE.findall(v.focus):
            sent = v.sent.date()
            when = (date(int(year), MONTHS.index(month) + 1, int(day)) if year
                    else _resolved(MONTHS.index(month) + 1, int(day), sent, past))
            agrees = WEEKDAYS[when.weekday()] == weekday
            if v.family == "neg_weekday_contradiction":
                assert not agrees, v.focus
            elif v.family in POSITIVE:
                assert agrees, (v.name, v.focus)
            checked += 1
    assert checked > 400


def test_expected_dates_are_the_written_ones(variants):
    """Each key date of a positive variant is written in it ('Month D'), and a date without
    a year resolves to the expected one by the year rule."""
    for v in variants:
        if v.family not in POSITIVE:
            continue
        for expected in v.expected:
            for _key, value in expected.keys:
                if isinstance(value, str):
                    assert value[:4] in v.focus or f"{value[:4]}–" in v.focus, (v.name, v.focus)
                    continue
                day = value.date() if isinstance(value, datetime) else value
                written = f"{MONTHS[day.month - 1]} {day.day}"
                assert re.search(rf"{written}\b", v.focus), (v.name, v.focus, value)
                if f"{written}, {day.year}" not in v.focus:
                    past = v.family in ("past_tense", "designation") and day < v.sent.date()
                    assert _resolved(day.month, day.day, v.sent.date(), past) == day, (v.name, v.focus)


def test_the_checks_can_fail(behaviour):
    """A passing variant fails when its expectation is a year off, or when it is held to
    the negatives' 'no fact'; a negative fails when a fact is expected of it."""
    passing = next(o.variant for o in behaviour[0] if o.passed and o.variant.family == "due_marker")
    due = dict(passing.expected[0].keys)["due"]
    year_off = Expected("deadline", (("due", due.replace(year=due.year + 1)),))
    negative = next(o.variant for o in behaviour[0] if o.variant.family == "neg_training")
    mutants = [replace(passing, expected=(year_off,)), replace(passing, expected=()),
               replace(negative, expected=passing.expected)]
    assert [o.passed for o in run([passing, *mutants])] == [True, False, False, False]
