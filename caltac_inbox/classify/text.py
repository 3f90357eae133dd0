"""A notice's text as lines, blocks and sentences, each with its place in the text.

Classifiers read sentences with their context (the heading above them, the paragraph
that introduces a list) and quote them as evidence verbatim: every `Sentence` keeps
its character span in `notice.text`, and `evidence()` cuts the span and collapses
whitespace, so evidence is always a substring of the whitespace-collapsed text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from caltac_inbox.classify.guard import Guard, fold

_ITEM_RE = re.compile(r"^\s*(?:[-*•·▪◦]|\d{1,2}[.)]|[a-z][.)])\s+")
_MARKUP_RE = re.compile(r"[*_#>`]+")
# words after which a period does not end a sentence
_ABBREVIATIONS = {
    "i.e", "e.g", "etc.,", "dr", "mr", "ms", "mrs", "st", "no", "vs", "u.s", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "tues", "wed",
    "thu", "thur", "thurs", "fri", "sat", "sun", "inc", "dept", "approx", "ca", "gov",
}
_TIME_FOLLOWERS = {"PT", "PST", "PDT", "ET", "EST", "EDT", "CT", "CST", "CDT", "MT", "MST", "MDT",
                   "Pacific", "Eastern", "Central", "Mountain"}
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
    intro: str | None  # for list items: the paragraph line just before the list
    near_heading: bool = False  # no other paragraph stands between the heading and this line

    # Every classifier reads every sentence: its plain and folded forms are made once.
    @cached_property
    def plain_text(self) -> str:
        """plain(text): no markdown, whitespace collapsed."""
        return plain(self.text)

    @cached_property
    def folded(self) -> str:
        """fold(text), for Guard.possible() on `text` or `plain_text`."""
        return fold(self.text)

    def search(self, guard: Guard) -> re.Match[str] | None:
        """guard.pattern.search(plain_text); not run when none of the guard's words is here."""
        if not guard.possible(self.text, self.folded):
            return None
        return guard.pattern.search(self.plain_text)


@dataclass(frozen=True)
class Line:
    index: int
    begin: int
    end: int
    text: str
    kind: str  # "heading" | "item" | "para" | "blank"


@dataclass(frozen=True)
class Doc:
    text: str
    lines: tuple[Line, ...]
    sentences: tuple[Sentence, ...]

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


_ROW_RE = re.compile(r"^[^:.!?|]{2,80}:\s+[^!?]{1,100}$")


def is_row(text: str) -> bool:
    """A table row ("TOMS | Aug 14 | Aug 20") or a two-cell row ("TOMS: August 14–20")."""
    t = text.strip()
    return " | " in t or bool(_ROW_RE.match(t) and not t.endswith("."))


def collapse(text: str) -> str:
    return " ".join(text.split())


def plain(text: str) -> str:
    """Text without light markdown (**bold**, #### headings), for matching only."""
    return collapse(_MARKUP_RE.sub(" ", text))


def evidence(doc: Doc, parts: list[Sentence] | list[Line]) -> str:
    begin = min(p.begin for p in parts)
    end = max(p.end for p in parts)
    return collapse(doc.text[begin:end])


def _line_kind(text: str, next_text: str | None) -> str:
    stripped = text.strip()
    if not stripped:
        return "blank"
    if _ITEM_RE.match(stripped) and not _NUMBERED_RE.match(stripped):
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


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans in one line of text."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY_RE.finditer(text):
        cut = m.start() + 1
        before = text[start:cut]
        # `before` ends with the boundary's punctuation: its last word is never empty
        token = before.rsplit(None, 1)[-1].lower().rstrip(".").strip("(\"“*")
        if token in _ABBREVIATIONS or _LETTER_RE.fullmatch(token):
            continue
        if token in ("a.m", "p.m"):
            nxt = _NEXT_WORD_RE.match(text, m.end())
            if nxt and nxt.group(1) in _TIME_FOLLOWERS:
                continue
        end = m.end()
        spans.append((offset + start, offset + len(text[:end].rstrip())))
        start = end
    if text[start:].strip():
        spans.append((offset + start, offset + len(text.rstrip())))
    return spans


def build_doc(text: str) -> Doc:
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
        lines.append(Line(i, pos, pos + len(raw), raw, _line_kind(raw, next_nonblank[i])))
        pos += len(raw) + 1
    sentences: list[Sentence] = []
    heading: str | None = None
    intro: str | None = None
    last_para: str | None = None
    paras_since_heading = 0
    for ln in lines:
        if ln.kind == "blank":
            continue
        if ln.kind == "heading":
            heading = plain(ln.text)
            last_para = None
            paras_since_heading = 0
        if ln.kind == "para":
            last_para = ln.text
            intro = None
            paras_since_heading += 1
        if ln.kind == "item" and intro is None:
            intro = last_para
        lead = len(ln.text) - len(ln.text.lstrip())
        for b, e in split_sentences(ln.text.strip(), ln.begin + lead):
            sentences.append(Sentence(len(sentences), b, e, text[b:e], ln.index, ln.kind,
                                      heading if ln.kind != "heading" else None,
                                      intro if ln.kind == "item" else None,
                                      heading is not None and paras_since_heading <= 1))
    return Doc(text, tuple(lines), tuple(sentences))
