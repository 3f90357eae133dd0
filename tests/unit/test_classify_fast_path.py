"""Skipping patterns whose guard words are absent changes nothing the classifier finds.

Each guard is proved necessary for its pattern from the parse tree
(tests/unit/test_classify_guards.py). Here the fast path as a whole is checked against a
reference path that runs every pattern (every guard says "possible"): the facts, leads,
cues and decisions of generated notices must be the same, and a sentence's guard-word
mask (one scan) must hold exactly the registered words that are substrings of it.
"""
from __future__ import annotations

import random
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from caltac_inbox.classify import classify_with_leads, cues, decisions_of
from caltac_inbox.classify import credential, deadline, designation, downtime, retention  # noqa: F401  (their guards)
from caltac_inbox.classify.guard import WORDS, Guard, fold, word_mask
from caltac_inbox.classify.text import Sentence
from caltac_inbox.model import Notice

_PACIFIC = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def run_everything(monkeypatch):
    """The reference path: every guarded pattern runs."""

    def patch():
        monkeypatch.setattr(Guard, "possible", lambda self, text, folded=None: True)
        monkeypatch.setattr(Guard, "possible_in", lambda self, mask: True)
        monkeypatch.setattr(Sentence, "possible", lambda self, guard: True)
        monkeypatch.setattr(cues, "_hit", lambda guard, c, part: guard.pattern.search(part) is not None)

    return patch


# sentences and pieces that carry the guard words, near misses of them, case and markup
# variants, and the four characters re.IGNORECASE matches to ASCII letters
_SUBJECTS = ("LEAs", "Your district", "The LEA CAASPP coordinator", "Test examiners", "The CALPADS system",
             "TOMS", "All CAASPP systems", "The survey", "Score reports", "Student data files", "The secret key",
             "Designations", "The testing window", "The webinar", "It", "Schools", "Kits", "The ſurvey", "TOMS users")
_VERBS = ("must submit the roster", "should complete the course", "will be unavailable", "will be offline",
          "will go down for maintenance", "will be removed", "will no longer be available", "are due",
          "closes", "has been extended to", "was moved to", "is recommended to finish", "will be released",
          "must designate a coordinator", "must regenerate credentials", "remain available until",
          "were due", "has passed", "ended", "may begin testing", "will not be retained", "opens",
          "do not submit", "is to be returned", "need to upload the files", "will be posted",
          "must be shipped", "is the deadline to reply", "DESIGNATE an LEA coordinator", "ſhall ſubmit",
          "İS DUE", "will be taken offline", "cannot be accessed", "rolls over to the new school year",
          "transition to the 2024–25 administration year", "office hours", "whichever comes first")
_DATES = ("by Friday, May 5", "no later than June 2, 2026", "on August 14 at 5 p.m.", "from May 1–5",
          "through 11:59 p.m. on Tuesday, September 13", "before the downtime on August 2", "March 3",
          "the second of January", "on 5/12/2026", "two weeks before June 1", "but not before May 4",
          "in 2021", "until Monday at 8 a.m.", "Friday the 28th", "8 March 2026", "today", "")
_TAILS = ("", ".", ", whichever is earlier.", " (TOMS).", " per Education Code Section 60640.",
          " FYI.", " for the webcast.", " for students five years old.", "; the data will be purged.")
_LINES = ("# Important dates", "## Designation of the LEA coordinator", "Deadline: May 5", "System | Start | End",
          "TOMS | Aug 14 | Aug 20", "- ELPAC: April 1, 2026", "1. Return the kits",
          "CAASPP e-mail update, sent July 15", "Due date", "ELPAC ........ 4/1/2026",
          "Heads up: roles go away June 30", "")


def _sentence(rng: random.Random) -> str:
    words = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_DATES)}{rng.choice(_TAILS)}"
    if rng.random() < 0.2:
        words = words.upper() if rng.random() < 0.5 else words.title()
    if rng.random() < 0.2:  # markup inside a word: "des**ignat**ion"
        at = rng.randrange(len(words))
        words = words[:at] + rng.choice(("**", "_", "`")) + words[at:]
    return words


def _notice(rng: random.Random) -> Notice:
    lines = []
    for _ in range(rng.randint(3, 14)):
        line = " ".join(_sentence(rng) for _ in range(rng.randint(1, 3)))
        lines.append(rng.choice(_LINES) if rng.random() < 0.3 else line)
    sent = datetime(2026, rng.randint(1, 12), rng.randint(1, 28), 9, tzinfo=_PACIFIC)
    return Notice(source="t.eml", text="\n".join(lines), subject=rng.choice(("Reminder", "LEA coordinator designation",
                                                                               "TOMS downtime", None)),
                  sender="caltac@ets.org", sent=sent)


def _everything(notice: Notice) -> tuple:
    facts, leads = classify_with_leads(notice)
    _ctx, proposed, decisions = decisions_of(notice)
    return facts, leads, proposed, [(d.candidate, sorted(d.cues), d.kind, d.reason, d.fact) for d in decisions]


@pytest.mark.slow  # 200 generated notices classified twice (about 4 s): make test runs it
def test_the_fast_path_finds_what_running_every_pattern_finds(run_everything):
    rng = random.Random(2028)
    notices = [_notice(rng) for _ in range(200)]
    fast = [_everything(n) for n in notices]
    assert sum(len(f[0]) for f in fast) > 100 and sum(len(f[3]) for f in fast) > 500  # the notices are read
    run_everything()
    for notice, found in zip(notices, fast, strict=True):
        assert _everything(notice) == found, notice.text


def test_the_reference_path_runs_the_patterns(run_everything):
    # a guard that says "impossible" for this sentence: the fast path skips, the reference runs
    guard = Guard(re.compile(r"\bremoved\b", re.I), ("removed",))
    assert Guard.possible(guard, "kept") is False
    run_everything()
    assert Guard.possible(guard, "kept") is True


def test_a_sentence_mask_holds_exactly_the_words_in_it():
    rng = random.Random(7)
    words = list(WORDS.bits)
    assert len(words) > 150  # every case-insensitive guard of the classifiers registered its words
    noise = "abcdeilnorstu -'§:."
    for _ in range(5000):
        parts = [rng.choice(words) if rng.random() < 0.3
                 else "".join(rng.choice(noise) for _ in range(rng.randint(0, 6))) for _ in range(rng.randint(0, 8))]
        text = fold(("" if rng.random() < 0.5 else " ").join(parts))
        expected = 0
        for word, bit in WORDS.bits.items():
            if word in text:
                expected |= bit
        assert word_mask(text) == expected, text


def test_a_new_guard_word_reaches_the_masks_of_texts_already_seen():
    text = fold("The zyxwvutsr files")
    before = word_mask(text)
    guard = Guard(re.compile(r"zyxwv", re.I), ("zyxwv",))
    assert not guard.possible_in(before)
    assert guard.possible_in(word_mask(text))


def test_every_cue_pattern_is_guarded():
    """A cue pattern without a guard would run on every candidate: each has one, except those
    whose every word is too common to skip anything."""
    unguarded = {"_OBLIGATION_RE", "_DIGIT_RE"}
    guarded = {id(v.pattern) for v in vars(cues).values() if isinstance(v, Guard)}
    for name, value in vars(cues).items():
        if isinstance(value, re.Pattern) and name not in unguarded:
            assert id(value) in guarded, name
