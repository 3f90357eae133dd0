"""A notice's text as lines, blocks and sentences, each with its place in the text.

Classifiers read sentences with their context (the heading above them, the paragraph
that introduces a list) and quote them as evidence verbatim: every `Sentence` keeps
its character span in `notice.text`, and `evidence()` cuts the span and collapses
whitespace, so evidence is always a substring of the whitespace-collapsed text.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from caltac_inbox.classify.guard import Guard, fold, word_mask

_ITEM_RE = re.compile(r"^\s*(?:[-*•·▪◦]|\d{1,2}[.)]|[a-z][.)])\s+|^\s+o\s+")  # "  o " : Outlook's nested bullet
_MARKUP_RE = re.compile(r"[*_#>`]+")
_ITEM_MARK_RE = re.compile(r"^\s*(?:[-*•·▪◦]|\d{1,2}[.)]|[a-z][.)])\s+")
# words after which a period does not end a sentence
_ABBREVIATIONS = {
    "i.e", "e.g", "etc.,", "dr", "mr", "ms", "mrs", "st", "no", "vs", "u.s", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "tues", "wed",
    "thu", "thur", "thurs", "fri", "sat", "sun", "inc", "dept", "approx", "ca", "gov",
}
# words after "a.m."/"p.m." that continue the sentence: a zone, or the day ("until 6 a.m. Monday")
_TIME_FOLLOWERS = {"PT", "PST", "PDT", "ET", "EST", "EDT", "CT", "CST", "CDT", "MT", "MST", "MDT",
                   "Pacific", "Eastern", "Central", "Mountain", "Monday", "Tuesday", "Wednesday", "Thursday",
                   "Friday", "Saturday", "Sunday", "January", "February", "March", "April", "May", "June", "July",
                   "August", "September", "October", "November", "December"}
_BOUNDARY_RE = re.compile(r"[.!?][\"”’')\]*]*\s+(?=[\"“‘(\[*]*[A-Z0-9])")
_LETTER_RE = re.compile(r"[a-z]")
_NEXT_WORD_RE = re.compile(r"[\"“‘(\[*]*(\w+)")
_NUMBERED_RE = re.compile(r"^\d{1,2}\.\d")
_END_PUNCTUATION_RE = re.compile(r"[.!?;,:]$")


@dataclass(frozen=True)
class Sentence:
    index: int
    begin: int
    end: int
    text: str
    line: int  # index into Doc.lines
    kind: str  # "heading" | "item" | "para"
    heading: str | None  # the heading line governing this sentence
    intro: str | None  # items and table rows: the paragraph line that introduces the list or table
    near_heading: bool = False  # no other paragraph stands between the heading and this line
    parent: str | None = None  # nested list items: the item they sit under
    header: tuple[str, ...] = ()  # table rows: the header row's cells
    row: bool = False  # a table row ("TOMS | Aug 14 | Aug 20", "ELPAC: April 1, 2024")
    masthead: bool = False  # the newsletter's title block (its date is the issue date, not a fact)
    lead_line: int | None = None  # the line of `lead_in`

    @property
    def label_like(self) -> bool:
        """A list item or table row under a lead-in that is only a label and a date
        ("- ELPAC: April 1, 2024"): it takes its meaning from the lead-in."""
        return (self.kind == "item" or self.row) and self.lead_line is not None and len(self.plain_text.split()) <= 12

    @property
    def lead_in(self) -> str | None:
        """What a list item or table row inherits: the item above it, else the list's intro."""
        return self.parent or self.intro

    @cached_property
    def context(self) -> str:
        """Plain text of what this sentence inherits: its heading, the list's or table's
        intro, the parent item and the table header, for cue words the sentence leaves out."""
        parts = [self.heading if self.near_heading or self.kind in ("item",) or self.row else None,
                 self.intro, self.parent, " ".join(self.header) or None]
        return plain(" ".join(p for p in parts if p))

    # Every classifier reads every sentence: its plain and folded forms are made once.
    @cached_property
    def plain_text(self) -> str:
        """plain(text): no markdown, whitespace collapsed."""
        return plain(self.text)

    @cached_property
    def folded(self) -> str:
        """fold(text), for Guard.possible() on `text` or `plain_text`."""
        return fold(self.text)

    @cached_property
    def cue_mask(self) -> int:
        """word_mask(folded): which guard words are in the sentence, for `Guard.possible_in`.
        Every text cut from the sentence (a clause, the words before a date) holds no guard word
        the sentence lacks, so this mask is a necessary condition for those too."""
        return word_mask(self.folded)

    def search_text(self, *words: str) -> bool:
        """Whether one of these lowercase words is in the sentence (a cheap test before a regex)."""
        return any(w in self.folded for w in words)

    def possible(self, guard: Guard) -> bool:
        """False when `guard`'s pattern cannot match the sentence or any part of it."""
        if guard.ignores_case:
            return bool(guard.mask & self.cue_mask)
        return guard.possible(self.text)

    def search(self, guard: Guard) -> re.Match[str] | None:
        """guard.pattern.search(plain_text); not run when none of the guard's words is here."""
        if not self.possible(guard):
            return None
        return guard.pattern.search(self.plain_text)


@dataclass(frozen=True)
class Line:
    index: int
    begin: int
    end: int
    text: str
    kind: str  # "heading" | "item" | "para" | "blank"
    indent: int = 0  # leading spaces: a list item deeper than the one above is nested in it


@dataclass(frozen=True)
class Doc:
    text: str
    lines: tuple[Line, ...]
    sentences: tuple[Sentence, ...]
    rows: tuple[bool, ...] = ()  # per line: a table row (computed once by build_doc)

    def lead_sentence(self, s: Sentence) -> Sentence | None:
        """The sentence a list item or table row hangs from: the last of its lead-in line."""
        if s.lead_line is None:
            return None
        found = self.line_sentences(s.lead_line)
        return found[-1] if found else None

    def line_sentences(self, line: int) -> list[Sentence]:
        index = self.__dict__.get("_by_line")
        if index is None:
            index = {}
            for s in self.sentences:
                index.setdefault(s.line, []).append(s)
            object.__setattr__(self, "_by_line", index)
        return index.get(line, [])

    def next_nonblank(self, line: int) -> Line | None:
        for ln in self.lines[line + 1:]:
            if ln.kind != "blank":
                return ln
        return None

    def list_after(self, line: int) -> list[Line]:
        """The list items that directly follow a line (blank lines between are allowed)."""
        out: list[Line] = []
        for ln in self.lines[line + 1:]:
            if ln.kind == "blank":
                if out and not _continues(self, ln.index):
                    break
                continue
            if ln.kind != "item" and not self.is_table_row(ln.index):
                break
            out.append(ln)
        return out

    def is_table_row(self, line: int) -> bool:
        """A row-like line that stands in a table: " | " cells, or next to another row with no
        blank line between ("TOMS: August 26–September 6" under "Test Delivery System: ...")."""
        if self.rows:
            return self.rows[line]
        ln = self.lines[line]
        if ln.kind == "item" or not is_row(ln.text):
            return False
        if " | " in ln.text:
            return True
        for other in (line - 1, line + 1):
            if 0 <= other < len(self.lines):
                o = self.lines[other]
                if o.kind != "blank" and (o.kind == "item" or is_row(o.text)):
                    return True
        return False


def _continues(doc: Doc, blank_line: int) -> bool:
    nxt = doc.next_nonblank(blank_line)
    return nxt is not None and nxt.kind == "item"


# "TOMS: August 26–September 6", "Sept. 8 (Mon.): Answer Books must be packed", "ELPAC ........ 4/1/2026"
_ROW_RE = re.compile(r"^(?:[^:.!?|]{2,160}|[^:!?|]{2,24}):\s+[^!?]{1,200}$|^[^.:|]{2,60}?\s*\.{4,}\s*\S[^!?]{0,100}$")
_SENTENCE_END_RE = re.compile(r"(?<![ap]\.m)(?<!\b[A-Z][a-z]{2})\.$")  # "8 a.m." and "Sept." end no sentence
_ROW_GUARD = Guard(_ROW_RE, (":", "...."))  # most lines have neither, and the pattern backtracks on them


def is_row(text: str) -> bool:
    """A table row ("TOMS | Aug 14 | Aug 20") or a two-cell row ("TOMS: August 14–20")."""
    t = text.strip()
    return " | " in t or bool(_ROW_GUARD.match(t) and not _SENTENCE_END_RE.search(t))


def strip_item_mark(text: str) -> str:
    """ "- Every test ..." -> "Every test ..."."""
    return _ITEM_MARK_RE.sub("", text)


def collapse(text: str) -> str:
    return " ".join(text.split())


def plain(text: str) -> str:
    """Text without light markdown (**bold**, #### headings), for matching only."""
    return collapse(_MARKUP_RE.sub(" ", text))


ELISION = " … "


def evidence(doc: Doc, parts: Sequence[Sentence | Line]) -> str:
    """The parts' text, verbatim and whitespace-collapsed. Parts with other lines between them
    (a list's lead-in and one of its items) are joined by " … " rather than quoting what lies
    between, so each piece is a substring of the collapsed text."""
    spans = sorted((p.begin, p.end) for p in parts)
    pieces: list[tuple[int, int]] = []
    for begin, end in spans:
        if pieces and (begin <= pieces[-1][1] or doc.text.count("\n", pieces[-1][1], begin) <= 1
                       or not doc.text[pieces[-1][1]:begin].strip()):
            pieces[-1] = (pieces[-1][0], max(end, pieces[-1][1]))
        else:
            pieces.append((begin, end))
    return ELISION.join(collapse(doc.text[b:e]) for b, e in pieces)


def _line_kind(text: str, next_text: str | None) -> str:
    stripped = text.strip()
    if not stripped:
        return "blank"
    if _ITEM_RE.match(text) and not _NUMBERED_RE.match(stripped):
        return "item"
    if stripped.startswith("#"):
        return "heading"
    bare = plain(stripped)
    if not bare:
        return "blank"
    if (len(bare) <= 110 and not _END_PUNCTUATION_RE.search(bare) and next_text is not None
            and len(_BOUNDARY_RE.findall(bare)) == 0):
        return "heading"
    return "para"


MAX_SENTENCE_CHARS = 800  # a longer "sentence" is cut: no notice writes one, and every pass stays linear
MAX_LINE_CHARS = 4000  # a longer line is read as several paragraphs
_LAST_TOKEN_RE = re.compile(r"\S+$")
_CUT_RE = re.compile(r"[\s,;]")
_DASH_RE = re.compile(r"[–—/-]")


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans in one line of text, none longer than MAX_SENTENCE_CHARS."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY_RE.finditer(text):
        cut = m.start() + 1
        if cut >= 2 and text[cut - 2] == ".":
            continue  # dot leaders ("ELPAC ....... 4/1/2026") and ellipses end no sentence
        # the word that ends at the boundary's punctuation (never empty), read from a bounded window
        token = _LAST_TOKEN_RE.search(text, max(start, cut - 40), cut).group(0).lower()  # type: ignore[union-attr]
        token = _DASH_RE.split(token.rstrip(".").strip("(\"“*"))[-1]  # "7–Aug." ends with "aug"
        if token in _ABBREVIATIONS or _LETTER_RE.fullmatch(token) or (start == 0 and token.isdigit() and len(token) <= 2
                                                                       and not text[:cut - 1].strip(" 0123456789")):
            continue  # "1. Monday, December 1": a list number, not a sentence
        if token in ("a.m", "p.m"):
            nxt = _NEXT_WORD_RE.match(text, m.end())
            if nxt and nxt.group(1) in _TIME_FOLLOWERS:
                continue
        end = m.end()
        _add_span(spans, text, offset, start, end)
        start = end
    if start < len(text):
        _add_span(spans, text, offset, start, len(text))
    return spans


def _add_span(spans: list[tuple[int, int]], text: str, offset: int, start: int, end: int) -> None:
    """One sentence span (trailing spaces dropped), cut at a space or comma when it is too long."""
    while end > start and text[end - 1].isspace():
        end -= 1
    while end - start > MAX_SENTENCE_CHARS:
        limit = start + MAX_SENTENCE_CHARS
        cut = max((m.end() for m in _CUT_RE.finditer(text, limit - 200, limit)), default=limit)
        spans.append((offset + start, offset + cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        spans.append((offset + start, offset + end))


def _line_pieces(raw: str) -> list[tuple[int, int]]:
    """(begin, end) of the paragraphs a line is read as: itself, or cuts at a sentence end
    (else a space) every MAX_LINE_CHARS."""
    if len(raw) <= MAX_LINE_CHARS:
        return [(0, len(raw))]
    pieces = []
    start = 0
    while len(raw) - start > MAX_LINE_CHARS:
        limit = start + MAX_LINE_CHARS
        window = raw.rfind(". ", limit - 1000, limit)
        cut = window + 2 if window > start else (raw.rfind(" ", limit - 1000, limit) + 1 or limit)
        if cut <= start:
            cut = limit
        pieces.append((start, cut))
        start = cut
    pieces.append((start, len(raw)))
    return pieces


_MASTHEAD_RE = re.compile(
    r"\b(?:update|newsletter|issue|edition|bulletin|communication|spotlight|digest|news)\b", re.I)
_MASTHEAD_GUARD = Guard(_MASTHEAD_RE, ("update", "newsletter", "issue", "edition", "bulletin", "communication",
                                       "spotlight", "digest", "news"))
_DATE_ONLY_RE = re.compile(r"^[\W_]*(?:[A-Z][a-z]+day,?\s+)?[A-Z][a-z]+\.?\s+\d{1,2},?\s+\d{4}[\W_]*$"
                           r"|^[\W_]*[A-Z][a-z]+\s+\d{4}[\W_]*$")
MASTHEAD_LINES = 3  # the title block: this many non-blank lines at the top


def _is_masthead(sentence: str) -> bool:
    """ "CAASPP e-mail update, sent July 15, 2015." or a bare date under the title."""
    bare = plain(sentence)
    return bool(_DATE_ONLY_RE.match(bare) or (_MASTHEAD_GUARD.search(bare) and re.search(r"\d", bare)
                                              and len(bare) <= 200))


def _line_indent(raw: str) -> int:
    return len(raw) - len(raw.lstrip(" \t"))


def _cells(text: str) -> tuple[str, ...]:
    return tuple(c for c in (plain(x) for x in text.split(" | ")) if c)


def build_doc(text: str) -> Doc:
    lines = _lines(text)
    plain_doc = Doc(text, tuple(lines), ())
    rows = [plain_doc.is_table_row(ln.index) for ln in lines]
    # a table row is never a heading, however short ("System | Start | End", "TOMS: May 3–5")
    lines = [replace(ln, kind="para") if rows[ln.index] and ln.kind == "heading" else ln for ln in lines]
    headers = _table_headers(lines, rows)
    walk = _BlockWalk()
    sentences: list[Sentence] = []
    for ln in lines:
        if ln.kind == "blank":
            continue
        row = rows[ln.index]
        parent, lead_line = walk.enter(ln, row)
        lead = len(ln.text) - len(ln.text.lstrip())
        for b, e in split_sentences(ln.text.strip(), ln.begin + lead):
            masthead = walk.nonblank_seen <= MASTHEAD_LINES and _is_masthead(text[b:e])
            sentences.append(Sentence(len(sentences), b, e, text[b:e], ln.index, ln.kind,
                                      walk.heading if ln.kind != "heading" else None,
                                      walk.intro if ln.kind == "item" or row else None,
                                      walk.heading is not None and walk.paras_since_heading <= 1,
                                      parent, headers.get(ln.index, ()), row, masthead, lead_line))
    return Doc(text, tuple(lines), tuple(sentences), tuple(rows))


def _lines(text: str) -> list[Line]:
    """The text's lines, each of its pieces (a line can hold several blocks) a Line of its kind."""
    raw_lines = text.split("\n")
    next_nonblank: list[str | None] = [None] * len(raw_lines)  # the first non-blank line after each
    following: str | None = None
    for i in range(len(raw_lines) - 1, -1, -1):
        next_nonblank[i] = following
        if raw_lines[i].strip():
            following = raw_lines[i]
    lines: list[Line] = []
    pos = 0
    for i, raw in enumerate(raw_lines):
        kind = _line_kind(raw, next_nonblank[i])
        for n, (b, e) in enumerate(_line_pieces(raw)):
            lines.append(Line(len(lines), pos + b, pos + e, raw[b:e], kind if n == 0 else "para",
                              _line_indent(raw) if n == 0 else 0))
        pos += len(raw) + 1
    return lines


def _table_headers(lines: list[Line], rows: list[bool]) -> dict[int, tuple[str, ...]]:
    """Each table row's header: a first row of " | " cells without a digit, above rows with one."""
    headers: dict[int, tuple[str, ...]] = {}
    table_header: tuple[str, ...] = ()
    for ln in lines:
        if not rows[ln.index]:
            if ln.kind != "blank":
                table_header = ()
            continue
        previous_row = ln.index > 0 and rows[ln.index - 1]
        if not previous_row:
            table_header = ()
            if " | " in ln.text and not re.search(r"\d", ln.text):
                table_header = _cells(ln.text)
                continue
        headers[ln.index] = table_header
    return headers


@dataclass
class _BlockWalk:
    """What governs the line being read: its heading, the paragraph that introduces its list or
    table, the items it is nested under."""

    heading: str | None = None
    intro: str | None = None
    intro_line: int | None = None
    last_para: Line | None = None
    paras_since_heading: int = 0
    open_items: list[Line] = field(default_factory=list)  # the items above the current one, outermost first
    nonblank_seen: int = 0

    def enter(self, ln: Line, row: bool) -> tuple[str | None, int | None]:
        """Moves to non-blank line `ln`; returns (the item it is nested under, its lead line)."""
        self.nonblank_seen += 1
        if ln.kind == "heading":
            self.heading = plain(ln.text)
            self.last_para = None
            self.paras_since_heading = 0
        if ln.kind == "para" and not row:
            self.last_para = ln
            self.intro = self.intro_line = None
            self.paras_since_heading += 1
        if (ln.kind == "item" or row) and self.intro is None and self.last_para is not None:
            self.intro, self.intro_line = self.last_para.text, self.last_para.index
        parent = None
        lead_line = self.intro_line if ln.kind == "item" or row else None
        if ln.kind != "item":
            self.open_items = []
            return parent, lead_line
        while self.open_items and self.open_items[-1].indent >= ln.indent:
            self.open_items.pop()
        if self.open_items:
            parent, lead_line = plain(self.open_items[-1].text), self.open_items[-1].index
        self.open_items.append(ln)
        return parent, lead_line
