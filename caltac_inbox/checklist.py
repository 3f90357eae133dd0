"""The CDE "LEA CAASPP Coordinator Checklist" as facts: one `task` per checklist item,
plus the dated requirements it states (designation, deadline, retention).

Pure: `parse_checklist(text, source)` takes the checklist as text, in the structure a
Word-to-text export gives (or Markdown, or what `docx_to_text` produces):

- top-level sections: "Ongoing or Continuous", "During Testing", one per month
  ("July 2026" ... "June 2027", or a bare "November" that takes its year from the
  edition), then reference sections ("Additional Information", acronyms) that hold
  no tasks;
- subsection headings inside them ("General Guidelines", "Training", ...);
- items: paragraphs and bullets ("· ", "- ", "* ", "1. "). A bullet that follows an
  item ending in ":" and does not itself end a sentence ("· Monthly Coffee Sessions")
  is part of that item, not a task of its own.

Years: the edition's school year ("... Administration of the 2026–27 ...") places
July–December in its first calendar year and January–June in the second. A date
written without a year resolves to the first such day on or after the start of the
month section it is in (the edition's July 1 for the ongoing sections). Where the
checklist contradicts itself - a due date before the month it is listed under, a
designation due in another year than the school year it designates for, a data file
year that does not fit the edition's retention - the text's own date and year are kept
and the fact (and its task) get needs_review=True.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Iterator

from .errors import InputError
from .model import Fact
from .timeline.kinds import canonical_json

PROGRAM = ("CAASPP",)
TASK_SECTIONS = ("Ongoing or Continuous", "During Testing")
# Top-level sections after the months: an expanded reference, not tasks.
REFERENCE_SECTIONS = ("Additional Information", "Commonly Used Acronyms and Initialisms")

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
_MONTH_NUMBER = {name.lower(): i for i, name in enumerate(MONTHS, start=1)}
_MONTH_NUMBER.update({name[:3].lower(): i for i, name in enumerate(MONTHS, start=1)})
_MONTH_NUMBER["sept"] = 9
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_BOOKMARK = re.compile(r"\[bookmark: ?([^\]]*)\]")
_MONTH_HEADING = re.compile(rf"^({'|'.join(MONTHS)})(?:\s+(\d{{4}}))?$", re.IGNORECASE)
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
_BULLET = re.compile(r"^(?:[·•◦▪‣\-\*–☐☑☒□■]|\d{1,2}[.)])\s+(?:\[[ xX]\]\s+)?")
_SCHOOL_YEAR = re.compile(r"(?<!\d)(20\d\d)\s*[–—‐‑-]\s*(?:20)?(\d\d)(?!\d)")
_MONTH_ALT = "|".join(
    [*MONTHS, *(m[:3] + r"\." for m in MONTHS if len(m) > 3), "Sept\\."]
)
_DATE = re.compile(
    rf"(?:\b(?P<weekday>{'|'.join(WEEKDAYS)}),?\s+)?"
    rf"\b(?P<month>{_MONTH_ALT})\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?!\d)"
    r"(?:,?\s+(?P<year>\d{4})(?!\d))?"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"(\[])")
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}
_KEEP_YEARS = re.compile(
    r"maintains only (\w+) years? of historical data and (\w+) years? of current data",
    re.IGNORECASE,
)
_REMOVAL = re.compile(
    r"^(?P<data>.+?)\s+(?:will|shall)\s+be\s+(?:deleted|removed|purged|no longer (?:be )?available)",
    re.IGNORECASE,
)
_TRANSITION = re.compile(r"Transition to the (20\d\d\s*[–—-]\s*(?:20)?\d\d)", re.IGNORECASE)
_FOR_YEAR = re.compile(
    r"\bfor (?:the )?(20\d\d\s*[–—‐‑-]\s*(?:20)?\d\d)(?!\s+interim)", re.IGNORECASE
)


class ChecklistError(InputError):
    """The file is not a coordinator checklist this parser can read (exit code 1)."""


@dataclass(frozen=True)
class SchoolYear:
    start: int  # 2026 for 2026-27

    @classmethod
    def parse(cls, text: str) -> "SchoolYear | None":
        """The first school year written in `text` ("2026–27", "2026-2027")."""
        for m in _SCHOOL_YEAR.finditer(text):
            year = cls.from_match(m)
            if year:
                return year
        return None

    @classmethod
    def from_match(cls, m: re.Match[str]) -> "SchoolYear | None":
        start, end = int(m.group(1)), int(m.group(2))
        return cls(start) if (start + 1) % 100 == end else None

    @property
    def first_day(self) -> date:
        return date(self.start, 7, 1)

    def month_year(self, month: int) -> int:
        return self.start if month >= 7 else self.start + 1

    def __str__(self) -> str:  # docs/facts.md form: 2026-27
        return f"{self.start}-{(self.start + 1) % 100:02d}"

    @property
    def display(self) -> str:  # the checklist's own form: 2026–27
        return f"{self.start}–{(self.start + 1) % 100:02d}"


# --- text structure ---------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    kind: str  # "heading" | "item" | "bullet" | "cell" | "blank"
    text: str
    level: int | None = None  # markdown heading level, when given
    toc: bool = False  # carried a Word table-of-contents bookmark (a top-level heading)


def _lines(text: str) -> Iterator[Line]:
    for raw in text.splitlines():
        toc = any(name.startswith("_Toc") for name in _BOOKMARK.findall(raw))
        cell = raw.startswith("\t")
        stripped = _collapse(_BOOKMARK.sub("", raw))
        if not stripped:
            yield Line("blank", "")
            continue
        if cell:
            yield Line("cell", stripped)
            continue
        md = _MD_HEADING.match(stripped)
        if md:
            yield Line("heading", _collapse(md.group(2)), level=len(md.group(1)), toc=toc)
            continue
        bullet = _BULLET.match(stripped)
        if bullet:
            yield Line("bullet", stripped[bullet.end():].strip())
        elif toc or _looks_like_heading(stripped):
            yield Line("heading", stripped, toc=toc)
        else:
            yield Line("item", stripped)


def _looks_like_heading(text: str) -> bool:
    """A short title-like paragraph: "General Guidelines", "Prepare for Testing"."""
    return (
        len(text) <= 60
        and len(text.split()) <= 8
        and not text.endswith((".", ":", ";", ",", "!", "?"))
        and text[0].isupper()
    )


def _collapse(text: str) -> str:
    return " ".join(text.split())


# --- sections and items -----------------------------------------------------------------


@dataclass
class _Item:
    section: str
    month: date | None  # first day of the month section, None for ongoing sections
    text: str
    subitems: list[str] = field(default_factory=list)
    month_misfit: bool = False  # the month heading's year does not fit the edition

    @property
    def full_text(self) -> str:
        if not self.subitems:
            return self.text
        return f"{self.text} {'; '.join(self.subitems)}"


@dataclass
class _Section:
    name: str
    month: date | None
    month_misfit: bool = False
    holds_tasks: bool = True


def _edition(text: str) -> SchoolYear:
    """The school year the checklist is for: the first school year named before the
    first section, else the year of its first July heading."""
    for line in _lines(text):
        if line.kind == "heading" and _is_task_section(line.text):
            break
        named = SchoolYear.parse(line.text)
        if named:
            return named
    for line in _lines(text):
        m = _MONTH_HEADING.match(line.text) if line.kind == "heading" else None
        if m and m.group(2):
            month, year = _MONTH_NUMBER[m.group(1).lower()], int(m.group(2))
            return SchoolYear(year if month >= 7 else year - 1)
    raise ChecklistError(
        "no school year (such as 2026–27) and no dated month heading found;"
        " is this the LEA CAASPP Coordinator Checklist?"
    )


def _is_task_section(name: str) -> bool:
    return bool(_MONTH_HEADING.match(name)) or name.lower() in (s.lower() for s in TASK_SECTIONS)


def _top_level_name(line: Line, top_level: int | None = None) -> str | None:
    """The name of a top-level section heading, or None for a subsection heading.

    `top_level` is the heading level (Markdown, or Word style) month headings use in
    this document: headings at that level or above are sections too.
    """
    if _MONTH_HEADING.match(line.text):
        return line.text
    if line.text.lower() in (s.lower() for s in TASK_SECTIONS + REFERENCE_SECTIONS):
        return line.text
    if line.toc or line.level == 1:
        return line.text
    if line.level is not None and top_level is not None and line.level <= top_level:
        return line.text
    return None


def _items(text: str, edition: SchoolYear) -> Iterator[_Item]:
    section: _Section | None = None
    subsection: str | None = None
    current: _Item | None = None
    collecting_subitems = False
    row: list[str] = []
    top_level: int | None = None

    def flush_row() -> Iterator[_Item]:
        nonlocal current, collecting_subitems
        if row and section and section.holds_tasks:
            current = _new_item(" | ".join(row))
            collecting_subitems = False
            yield current
        row.clear()

    def _new_item(item_text: str) -> _Item:
        assert section is not None
        name = section.name if section.month is None else (subsection or section.name)
        return _Item(name, section.month, item_text, month_misfit=section.month_misfit)

    for line in _lines(text):
        if line.kind == "cell":
            row.append(line.text)
            continue
        yield from flush_row()
        if line.kind == "blank":
            continue
        if line.kind == "heading":
            collecting_subitems = False
            current = None
            top = _top_level_name(line, top_level)
            if top is not None and line.level is not None and top_level is None and (
                _section(top, edition).holds_tasks
            ):
                top_level = line.level
            if top is not None:
                section = _section(top, edition)
                subsection = None
            else:
                subsection = line.text
            continue
        if section is None or not section.holds_tasks:
            continue
        if (
            line.kind == "bullet"
            and collecting_subitems
            and current is not None
            and not line.text.endswith((".", ":"))
        ):
            current.subitems.append(line.text.rstrip(";,"))
            continue
        current = _new_item(line.text)
        collecting_subitems = line.text.endswith(":")
        yield current
    yield from flush_row()


def _section(name: str, edition: SchoolYear) -> _Section:
    m = _MONTH_HEADING.match(name)
    if m:
        month = _MONTH_NUMBER[m.group(1).lower()]
        expected = edition.month_year(month)
        year = int(m.group(2)) if m.group(2) else expected
        return _Section(name, date(year, month, 1), month_misfit=year != expected)
    for known in TASK_SECTIONS:
        if name.lower() == known.lower():
            return _Section(known, None)
    return _Section(name, None, holds_tasks=False)


# --- dates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FoundDate:
    when: date
    text: str
    suspect: bool  # weekday disagrees, or the date does not fit where it is listed
    why: str | None = None  # what makes it suspect (Fact.review_reason)


def _dates(sentence: str, anchor: date, edition: SchoolYear) -> list[_FoundDate]:
    found = []
    for m in _DATE.finditer(sentence):
        month = _MONTH_NUMBER[m.group("month").rstrip(".").lower()]
        day = int(m.group("day"))
        try:
            if m.group("year"):
                when = date(int(m.group("year")), month, day)
            else:
                when = _on_or_after(anchor, month, day)
        except ValueError:  # "February 30"
            continue
        why = None
        if when < anchor:
            why = f"{m.group(0)} is before the month it is listed under"
        elif when.year > edition.start + 2:
            why = f"{m.group(0)} is years after the {edition.display} school year"
        if m.group("weekday") and WEEKDAYS[when.weekday()] != m.group("weekday"):
            why = f"{m.group(0)}: {when.isoformat()} is a {WEEKDAYS[when.weekday()]}"
        found.append(_FoundDate(when, m.group(0), why is not None, why))
    return found


def _on_or_after(anchor: date, month: int, day: int) -> date:
    year = anchor.year
    while True:
        try:
            candidate = date(year, month, day)
        except ValueError:  # Feb 29 in a common year: try the next
            year += 1
            continue
        if candidate >= anchor:
            return candidate
        year += 1


def _school_year_of(sentence: str, item_text: str) -> SchoolYear | None:
    """The school year a requirement is about: one introduced by "for (the)" wins, then
    the first one in the sentence, then the first one in the whole item."""
    for text in (sentence, item_text):
        m = _FOR_YEAR.search(text)
        if m:
            year = SchoolYear.parse(m.group(1))
            if year:
                return year
        year = SchoolYear.parse(text)
        if year:
            return year
    return None


# --- requirements -----------------------------------------------------------------------


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _requirements(item: _Item, edition: SchoolYear) -> list[Fact]:
    anchor = item.month or edition.first_day
    text = item.full_text
    facts: list[Fact] = []
    sentences = _sentences(text)
    for i, sentence in enumerate(sentences):
        evidence = sentence
        if i and sentence.split(" ", 1)[0] in ("This", "These", "It", "That"):
            evidence = f"{sentences[i - 1]} {sentence}"  # "This designation is due July 1."
        facts.extend(_dated_requirements(sentence, evidence, text, anchor, edition, item))
        retention = _undated_retention(sentence, text, anchor)
        if retention:
            facts.append(retention)
    return facts


def _programs(sentence: str) -> tuple[str, ...]:
    return ("CAASPP", "ELPAC") if "ELPAC" in sentence else PROGRAM


def _dated_requirements(
    sentence: str, evidence: str, item_text: str, anchor: date, edition: SchoolYear, item: _Item
) -> Iterator[Fact]:
    found = _dates(sentence, anchor, edition)
    if len(found) != 1:  # none, or a range/comparison we would have to guess at
        return
    (found_date,) = found
    lower = sentence.lower()
    year = _school_year_of(sentence, item_text)
    why = found_date.why or (_MONTH_MISFIT if item.month_misfit else None)
    program = _programs(sentence)
    if "designat" in lower or ("coordinator" in lower and "select" in lower):
        year = year or edition
        if why is None and found_date.when.year != year.start:
            why = f"due in {found_date.when.year}, not in {year.start} when the {year.display} designation is due"
        yield Fact(
            kind="designation", evidence=evidence, program=program, due=found_date.when,
            school_year=str(year), needs_review=why is not None, review_reason=why,
        )
        return
    removal = _REMOVAL.match(sentence)
    if removal:
        yield Fact(
            kind="retention", evidence=evidence, program=program, at=found_date.when,
            data=removal.group("data"), school_year=str(year) if year else None,
            needs_review=why is not None, review_reason=why,
        )
        return
    yield Fact(
        kind="deadline", evidence=evidence, program=program, due=found_date.when,
        action=_action(sentence, year or edition),
        school_year=str(year or edition), needs_review=why is not None, review_reason=why,
    )


_MONTH_MISFIT = "the month heading's year does not fit the checklist's school year"


def _action(sentence: str, year: SchoolYear) -> str:
    lower = sentence.lower()
    if "test administration window" in lower:
        return f"set up {year.display} CAASPP test administration window in TOMS"
    if "secure browser" in lower and "support" in lower:
        return "install the current secure browsers before legacy and prior-year support is dropped"
    if "interim assessments" in lower and "available until" in lower:
        return f"finish using the {year.display} interim assessments before they close"
    if "new role" in lower:  # "... will require a new role for 2026–27 in TOMS"
        years = _all_school_years(sentence)
        roles_for = years[-1] if years else year
        return (
            "give users who administer or score interim assessments after this date"
            f" a {roles_for.display} role in TOMS"
        )
    # Otherwise the sentence itself says what to do.
    action = sentence.rstrip(".").strip()
    return action[:1].lower() + action[1:]


def _all_school_years(text: str) -> list[SchoolYear]:
    years = [SchoolYear.from_match(m) for m in _SCHOOL_YEAR.finditer(text)]
    return [y for y in years if y]


def _undated_retention(sentence: str, item_text: str, anchor: date) -> Fact | None:
    """ "Ensure that the 2023–24 student score data file has been downloaded ... TOMS
    maintains only two years of historical data and one year of current data."

    The removal happens when the next administration year begins (July 1 on or after
    the section), when TOMS drops the year that is `keep_years` before the new one.
    """
    if "data file" not in sentence.lower() or _DATE.search(sentence):
        return None
    keep = _KEEP_YEARS.search(item_text)
    data_year = SchoolYear.parse(sentence)
    if not keep or not data_year:
        return None
    historical = _number(keep.group(1))
    current = _number(keep.group(2))
    if historical is None or current is None:
        return None
    keep_years = historical + current
    at = _on_or_after(anchor, 7, 1)
    removed_then = SchoolYear(at.year - keep_years)
    m = re.search(r"(20\d\d\s*[–—-]\s*(?:20)?\d\d\s+[^.,;]*?data file)", sentence)
    data = _collapse(m.group(1)) if m else f"{data_year.display} student score data file"
    evidence = " ".join(
        s for s in _sentences(item_text) if s == sentence or _KEEP_YEARS.search(s)
    )
    return Fact(
        kind="retention", evidence=evidence, program=_programs(sentence), at=at,
        data=data, school_year=str(data_year), system="TOMS", keep_years=keep_years,
        needs_review=data_year != removed_then,
        review_reason=(f"the {data_year.display} data file does not fit keeping {keep_years} years "
                       f"(that removes {removed_then.display} data)") if data_year != removed_then else None,
    )


def _number(word: str) -> int | None:
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word.lower())


def _stale_transition(item: _Item) -> bool:
    """ "Preparing to Transition to the 2026–27 Test Administration" listed in June 2027:
    that transition was a year earlier."""
    if item.month is None:
        return False
    for m in _TRANSITION.finditer(item.full_text):
        year = SchoolYear.parse(m.group(1))
        if year and year.first_day < item.month:
            return True
    return False


# --- public -----------------------------------------------------------------------------


def parse_checklist(text: str, source: str) -> tuple[Fact, ...]:
    """Every checklist task, then the dated requirements, each fact once.

    `source` names the checklist in error messages; facts do not carry it (the store
    records the source with the archived file).
    """
    try:
        edition = _edition(text)
    except ChecklistError as exc:
        raise ChecklistError(f"{source}: {exc}") from None
    tasks: list[Fact] = []
    requirements: list[Fact] = []
    for position, item in enumerate(list(_items(text, edition)), start=1):  # whole items: sub-items attach later
        found = _requirements(item, edition)
        requirements.extend(found)
        task_text = item.full_text
        why = (_MONTH_MISFIT if item.month_misfit else
               next((f.review_reason for f in found if f.needs_review), None) or
               ("it prepares a transition that was a year before the month it is listed under"
                if _stale_transition(item) else None))
        tasks.append(
            Fact(
                kind="task", evidence=task_text, program=PROGRAM,
                month=item.month.strftime("%Y-%m") if item.month else None,
                section=item.section, text=task_text, school_year=str(edition), position=position,
                needs_review=why is not None, review_reason=why,
            )
        )
    if not tasks:
        raise ChecklistError(f"{source}: no checklist tasks found under month headings")
    return tuple(_unique(tasks + requirements))


def _unique(facts: Iterable[Fact]) -> list[Fact]:
    """Facts of one identity (timeline.kinds: what they state, not where or how) are one
    fact: the first one's position, the evidence of each, needs_review if any needs it."""
    by_key: dict[str, Fact] = {}
    for fact in facts:
        key = canonical_json(fact)
        first = by_key.get(key)
        if first is None:
            by_key[key] = fact
            continue
        evidence = first.evidence
        if fact.evidence not in evidence:
            evidence = f"{evidence} {fact.evidence}"
        by_key[key] = first.with_changes(
            evidence=evidence, needs_review=first.needs_review or fact.needs_review,
            review_reason=first.review_reason or fact.review_reason,
        )
    return list(by_key.values())


def checklist_title(text: str) -> str:
    """What the archive shows as the checklist's subject: its first line and edition,
    "LEA CAASPP Coordinator Checklist (2026–27)"."""
    title = next((line.text for line in _lines(text) if line.kind != "blank"), "Checklist")
    try:
        edition = _edition(text)
    except ChecklistError:
        return title
    return title if edition.display in title else f"{title} ({edition.display})"


# --- files ------------------------------------------------------------------------------


def checklist_text(raw: bytes, filename: str) -> str:
    """The checklist file's text: .docx through python-docx, anything else as UTF-8."""
    if filename.lower().endswith(".docx"):
        try:
            return docx_to_text(raw)
        except ChecklistError as exc:
            raise ChecklistError(f"{filename}: {exc}; save it again from Word as .docx") from None
    if filename.lower().endswith(".doc"):
        raise ChecklistError(f"{filename}: old Word .doc files are not supported; save it as .docx")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ChecklistError(
            f"{filename}: not UTF-8 text (byte {exc.start}); save it as .docx, .txt or .md"
        ) from None


def docx_to_text(raw: bytes) -> str:
    """A .docx as the text structure `parse_checklist` reads: headings (by style) as
    Markdown headings, list paragraphs as "· " bullets, table rows as tab-indented
    cells followed by a blank line, all in document order. Text inside content
    controls (Word checklists wrap items and checkboxes in them), hyperlinks and
    smart tags counts; bookmarks, field codes and deleted text do not."""
    import io
    import zipfile

    import docx
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(raw))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ChecklistError(f"not a readable .docx file ({exc})") from None
    out: list[str] = []
    style_names: dict[str | None, str] = {}  # per w:pStyle id: python-docx looks each up in every style
    for element in _body_blocks(document.element.body):
        if element.tag == _W + "tbl":
            for row in element.iter(_W + "tr"):
                for cell in row.iterchildren(_W + "tc"):
                    out.append("\t" + _element_text(cell))
                out.append("")
            continue
        text = _element_text(element)
        if not text:
            out.append("")
            continue
        style = _style_name(Paragraph(element, document), style_names)
        level = _heading_level(style)
        if level:
            out.append("#" * level + " " + text)
        elif style.lower().startswith("list") or _has_numbering(element):
            out.append("· " + text)
        else:
            out.append(text)
    return "\n".join(out) + "\n"


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CHECKBOXES = "☐☑☒□■"


def _style_name(paragraph: Any, known: dict[str | None, str]) -> str:  # a python-docx Paragraph
    """The name of the paragraph's style ("" for none), looked up once per style id."""
    style_id = paragraph._p.style
    if style_id not in known:
        style = paragraph.style
        known[style_id] = (style.name if style is not None else "") or ""
    return known[style_id]


def _body_blocks(parent: Any) -> Any:  # lxml elements
    """w:p and w:tbl in document order, looking inside block-level content controls."""
    for child in parent.iterchildren():
        if child.tag in (_W + "p", _W + "tbl"):
            yield child
        elif child.tag == _W + "sdt":
            content = child.find(_W + "sdtContent")
            if content is not None:
                yield from _body_blocks(content)


def _element_text(element: Any) -> str:  # an lxml element
    parts = []
    for node in element.iter(_W + "t", _W + "tab", _W + "br", _W + "p"):
        if node.tag == _W + "t":
            parts.append(node.text or "")
        else:  # a tab, a line break, or the next paragraph of a table cell
            parts.append(" ")
    return _collapse("".join(parts)).lstrip(_CHECKBOXES + " ")


def _heading_level(style: str) -> int | None:
    if style == "Title":
        return 1
    m = re.fullmatch(r"Heading (\d)", style)
    return int(m.group(1)) if m else None


def _has_numbering(p: Any) -> bool:  # an lxml w:p
    ppr = p.find(_W + "pPr")
    return ppr is not None and ppr.find(_W + "numPr") is not None


__all__ = [
    "ChecklistError",
    "SchoolYear",
    "checklist_text",
    "checklist_title",
    "docx_to_text",
    "parse_checklist",
]
