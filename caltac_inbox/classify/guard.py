"""Cheap necessary conditions tested before a regular expression.

Most sentences of a notice match none of a classifier's patterns, and a pattern that
starts with a case-insensitive alternation is tried at every position of the sentence.
A `Guard` pairs a pattern with words of which every match of the pattern contains one
(read off the pattern: the literal parts no match can avoid); when none of the words is
in the text, the pattern cannot match and is not run. A guard changes how fast a
classifier is, never what it finds: tests/unit/test_classify_guards.py checks every guard
in the package against the parse of its pattern.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# re.IGNORECASE matches four non-ASCII letters to ASCII ones (U+0130 and U+0131 to "i",
# U+017F to "s", the Kelvin sign U+212A to "k"); str.lower() alone does not.
_IGNORECASE_TWINS = (("\u0130", "i"), ("\u0131", "i"), ("\u017f", "s"), ("\u212a", "k"))
_MARKUP_OR_SPACE = re.compile(r"[\s*_#>`]")


def fold(text: str) -> str:
    """`text` lowercased so that a case-insensitive ASCII word matched anywhere in it
    is a plain substring."""
    if not text.isascii():
        for twin, letter in _IGNORECASE_TWINS:
            if twin in text:
                text = text.replace(twin, letter)
    return text.lower()


@dataclass(frozen=True)
class Guard:
    """`pattern` with `words`, one of which is in every match of it (case-folded ASCII
    words when the pattern ignores case). Words hold no spaces or markdown markup, so
    a word is in a text exactly when it is in the text's `plain()` form."""

    pattern: re.Pattern[str]
    words: tuple[str, ...]
    ignores_case: bool = field(init=False)

    def __post_init__(self) -> None:
        ignores_case = bool(self.pattern.flags & re.IGNORECASE)
        object.__setattr__(self, "ignores_case", ignores_case)
        if not self.words or any(not w or _MARKUP_OR_SPACE.search(w) for w in self.words):
            raise ValueError(f"guard words must be non-empty, without spaces or markup: {self.words!r}")
        if ignores_case and any(not w.isascii() or w != w.lower() for w in self.words):
            raise ValueError(f"a case-insensitive guard takes lowercase ASCII words: {self.words!r}")

    def possible(self, text: str, folded: str | None = None) -> bool:
        """False when `pattern` cannot match `text`. `folded`: fold(text) or
        fold(plain(text)) when the caller already has it."""
        if self.ignores_case:
            text = fold(text) if folded is None else folded
        return any(word in text for word in self.words)

    def search(self, text: str, folded: str | None = None) -> re.Match[str] | None:
        return self.pattern.search(text) if self.possible(text, folded) else None

    def match(self, text: str, folded: str | None = None) -> re.Match[str] | None:
        return self.pattern.match(text) if self.possible(text, folded) else None

    def finditer(self, text: str, folded: str | None = None):
        return self.pattern.finditer(text) if self.possible(text, folded) else iter(())


__all__ = ["Guard", "fold"]
