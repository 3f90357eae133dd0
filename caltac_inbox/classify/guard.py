"""Cheap necessary conditions tested before a regular expression.

Most sentences of a notice match none of a classifier's patterns, and a pattern that
starts with a case-insensitive alternation is tried at every position of the sentence.
A `Guard` pairs a pattern with words of which every match of the pattern contains one
(read off the pattern: the literal parts no match can avoid); when none of the words is
in the text, the pattern cannot match and is not run. A guard changes how fast a
classifier is, never what it finds: tests/unit/test_classify_guards.py checks every guard
in the package against the parse of its pattern.

Case-insensitive guards share one scan per text: every guard word gets a bit, and
`word_mask(folded)` gives the bits of all the words in a folded text at once (one split into
whitespace-free tokens, each token's bits looked up, or found once with one trie-shaped
pattern over the token). A sentence keeps its mask (text.Sentence.cue_mask), so each guard
after that is one AND: only the patterns whose words are present run.
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


def _caseless_word(word: str) -> bool:
    """A word a case-insensitive pattern matches only as written in folded text: lowercase
    ASCII, or characters without case ("§")."""
    return all(c.isascii() and c == c.lower() or not c.isascii() and c == c.lower() == c.upper()
               and c not in "\u0130\u0131\u017f\u212a" for c in word)


class _WordTable:
    """Every case-insensitive guard word with its bit, and the masks of the tokens seen."""

    MAX_TOKENS = 50_000  # tokens remembered (a notice has a few hundred distinct ones)

    def __init__(self) -> None:
        self.bits: dict[str, int] = {}
        self.tokens: dict[str, int] = {}
        self._scanner: re.Pattern[str] | None = None
        self._prefixes: dict[str, int] = {}

    def mask_of(self, words: tuple[str, ...]) -> int:
        mask = 0
        for word in words:
            if word not in self.bits:
                self.bits[word] = 1 << len(self.bits)
                self.tokens.clear()  # a remembered token may hold the new word
                self._scanner = None
            mask |= self.bits[word]
        return mask

    def text_mask(self, folded: str) -> int:
        """The bits of every registered word that is a substring of `folded` (a folded text)."""
        tokens = self.tokens
        mask = 0
        for token in folded.split():
            bits = tokens.get(token)
            if bits is None:
                bits = self._token_mask(token)
            mask |= bits
        return mask

    def _token_mask(self, token: str) -> int:
        if self._scanner is None:
            self._compile()
        assert self._scanner is not None
        bits = 0
        # at every position, the longest word starting there; the shorter words starting there are its prefixes
        for longest in self._scanner.findall(token):
            bits |= self._prefixes[longest]
        if len(self.tokens) >= self.MAX_TOKENS:
            self.tokens.clear()
        self.tokens[token] = bits
        return bits

    def _compile(self) -> None:
        words = sorted(self.bits)
        self._prefixes = {w: self.mask_of(tuple(p for p in words if w.startswith(p))) for w in words}
        self._scanner = re.compile("(?=(" + _trie_pattern(words) + "))", re.S) if words else re.compile("(?!)")


def _trie_pattern(words: list[str]) -> str:
    """One pattern matching the words, shaped as their trie: at a position, the longest word wins."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = f"(?:{'|'.join(branches)})"
        return body + "?" if "" in node else body

    return build(trie)


WORDS = _WordTable()


def word_mask(folded: str) -> int:
    """The guard-word bits of a folded text (`fold(text)`): `guard.mask & word_mask(...)` is
    False exactly when none of a case-insensitive guard's words is in the text."""
    return WORDS.text_mask(folded)


@dataclass(frozen=True)
class Guard:
    """`pattern` with `words`, one of which is in every match of it (case-folded ASCII
    words when the pattern ignores case). Words hold no spaces or markdown markup, so
    a word is in a text exactly when it is in the text's `plain()` form."""

    pattern: re.Pattern[str]
    words: tuple[str, ...]
    ignores_case: bool = field(init=False)
    mask: int = field(init=False, repr=False, compare=False)  # the words' bits (case-insensitive guards)
    finder: re.Pattern[str] = field(init=False, repr=False, compare=False)  # finds any of the words

    def __post_init__(self) -> None:
        ignores_case = bool(self.pattern.flags & re.IGNORECASE)
        object.__setattr__(self, "ignores_case", ignores_case)
        if not self.words or any(not w or _MARKUP_OR_SPACE.search(w) or any(c.isspace() for c in w)
                                 for w in self.words):
            raise ValueError(f"guard words must be non-empty, without spaces or markup: {self.words!r}")
        if ignores_case and not all(_caseless_word(w) for w in self.words):
            raise ValueError(f"a case-insensitive guard takes lowercase ASCII words: {self.words!r}")
        object.__setattr__(self, "mask", WORDS.mask_of(self.words) if ignores_case else 0)
        object.__setattr__(self, "finder", re.compile("|".join(re.escape(w) for w in self.words)))

    def possible(self, text: str, folded: str | None = None) -> bool:
        """False when `pattern` cannot match `text`. `folded`: fold(text) or
        fold(plain(text)) when the caller already has it."""
        if self.ignores_case:
            text = fold(text) if folded is None else folded
        return self.finder.search(text) is not None  # one of the words is a substring

    def possible_in(self, mask: int) -> bool:
        """For a case-insensitive guard: False when none of its words is in the text whose
        `word_mask` is `mask`."""
        return bool(self.mask & mask)

    def search(self, text: str, folded: str | None = None) -> re.Match[str] | None:
        return self.pattern.search(text) if self.possible(text, folded) else None

    def match(self, text: str, folded: str | None = None) -> re.Match[str] | None:
        return self.pattern.match(text) if self.possible(text, folded) else None

    def finditer(self, text: str, folded: str | None = None):
        return self.pattern.finditer(text) if self.possible(text, folded) else iter(())


__all__ = ["WORDS", "Guard", "fold", "word_mask"]
