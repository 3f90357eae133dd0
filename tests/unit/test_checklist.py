"""The coordinator checklist importer: text and .docx -> task and requirement facts."""
from __future__ import annotations

import io
import json
import os
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from caltac_inbox.checklist import (
    ChecklistError,
    checklist_text,
    checklist_title,
    docx_to_text,
    parse_checklist,
)
from caltac_inbox.model import Fact
from tests.properties import fast_and_full

DATA = Path(__file__).parents[1] / "data"
SEED = DATA / "lea_caaspp_coordinator_checklist_2026_27.txt"
GOLDEN = Path(__file__).parents[1] / "golden" / "checklist_2026_27.json"


@pytest.fixture(scope="module")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed_facts(seed_text: str) -> tuple[Fact, ...]:
    return parse_checklist(seed_text, str(SEED))


def _requirements(facts, kind):
    return [f for f in facts if f.kind == kind]


def _golden(facts: tuple[Fact, ...]) -> dict:
    tasks = [f for f in facts if f.kind == "task"]
    per_month = Counter(f.month or f.section for f in tasks)
    per_section = Counter(f"{f.month or '-'} {f.section}" for f in tasks)
    return {
        "tasks": len(tasks),
        "tasks_per_month": dict(sorted(per_month.items())),
        "tasks_per_section": dict(sorted(per_section.items())),
        "tasks_needing_review": sorted(f.text for f in tasks if f.needs_review),
        "requirements": [f.to_json() for f in facts if f.kind != "task"],
    }


def test_golden_seed_checklist(seed_facts):
    """Set CALTAC_UPDATE_GOLDEN=1 to rewrite the golden file after a deliberate change."""
    got = _golden(seed_facts)
    if os.environ.get("CALTAC_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert got == json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_tasks_per_month(seed_facts):
    per_month = Counter(f.month for f in seed_facts if f.kind == "task")
    assert per_month == {
        None: 47,
        "2026-07": 9, "2026-08": 14, "2026-09": 17, "2026-10": 5, "2026-11": 7,
        "2026-12": 5, "2027-01": 11, "2027-02": 10, "2027-03": 6, "2027-04": 5,
        "2027-05": 12, "2027-06": 12,
    }
    ongoing = {f.section for f in seed_facts if f.kind == "task" and f.month is None}
    assert ongoing == {"Ongoing or Continuous", "During Testing"}
    assert {f.school_year for f in seed_facts if f.kind == "task"} == {"2026-27"}


def test_november_tasks(seed_facts):
    november = [f for f in seed_facts if f.kind == "task" and f.month == "2026-11"]
    expected = [
        ("General Guidelines", "Create CAASPP test administration window"),
        ("General Guidelines", "Verify school calendars and noninstruct"),
        ("General Guidelines", "Set LEA testing window(s) accordingly."),
        ("General Guidelines", "Activate the optional California Spanis"),
        ("General Guidelines", "Assign school sites to those testing wi"),
        ("General Guidelines", "Verify with LEA technology personnel th"),
        ("Training", "Check for current training options on t"),
    ]
    assert len(november) == len(expected)
    for fact, (section, start) in zip(november, expected):
        assert fact.section == section and fact.text.startswith(start)
    # the list of trainings belongs to its task, not to tasks of their own
    assert november[-1].text.endswith(
        "include the following: New Coordinator Training Webinars; Pretest Virtual Training Series"
    )
    assert all(f.evidence == f.text and "  " not in f.text for f in november)
    assert not any("[bookmark" in f.text for f in seed_facts if f.kind == "task")


def test_reference_sections_hold_no_tasks(seed_facts):
    texts = [f.text for f in seed_facts if f.kind == "task"]
    assert not any(t.startswith("Review the California Assessment Accessibility Resources Matrix before") for t in texts)
    assert not any("Statewide Student Identifier" in t for t in texts)  # acronym table


def test_designations(seed_facts):
    designations = {f.due: f for f in _requirements(seed_facts, "designation")}
    assert sorted(designations) == [date(2026, 7, 1), date(2027, 7, 1)]
    july_2026 = designations[date(2026, 7, 1)]
    assert (july_2026.school_year, july_2026.program) == ("2026-27", ("CAASPP",))
    # stated in the ongoing section and in July: one fact carrying both sentences ...
    assert "must be designated by July 1" in july_2026.evidence
    assert "is not selected by July 1" in july_2026.evidence
    # ... and again under February 2027 ("due July 1, 2026", long past there): the text's
    # date is kept, and the contradiction flags the fact for review
    assert "This designation is due July 1, 2026." in july_2026.evidence
    assert july_2026.needs_review
    # June 2027 says the 2026–27 designation "is due July 1": there, July 1, 2027
    july_2027 = designations[date(2027, 7, 1)]
    assert july_2027.school_year == "2026-27" and july_2027.needs_review
    feb = next(f for f in seed_facts if f.kind == "task" and f.month == "2027-02" and "designation" in f.text)
    july = next(f for f in seed_facts if f.kind == "task" and f.month == "2026-07" and "designation" in f.text)
    assert feb.needs_review and not july.needs_review


def test_clean_designation_when_the_checklist_agrees_with_itself():
    text = _mini("July 2026\nPrepare for Testing\n· A primary LEA CAASPP coordinator must be designated by July 1.\n")
    (designation,) = [f for f in parse_checklist(text, "m") if f.kind == "designation"]
    assert (designation.due, designation.school_year, designation.needs_review) == (date(2026, 7, 1), "2026-27", False)


def test_deadlines(seed_facts):
    deadlines = {f.due: f for f in _requirements(seed_facts, "deadline")}
    assert sorted(deadlines) == [
        date(2026, 7, 3), date(2026, 8, 5), date(2026, 9, 15), date(2026, 10, 31), date(2026, 12, 1)
    ]
    assert all(not f.needs_review and f.action and f.evidence for f in deadlines.values())
    interims = deadlines[date(2026, 8, 5)]
    assert interims.school_year == "2025-26" and interims.program == ("CAASPP", "ELPAC")
    assert "available until August 5, 2026" in interims.evidence
    assert "new role" in deadlines[date(2026, 7, 3)].evidence
    assert "2026–27" in deadlines[date(2026, 7, 3)].action
    assert "secure browser" in deadlines[date(2026, 10, 31)].evidence
    window = deadlines[date(2026, 12, 1)]
    assert window.action == "set up 2026–27 CAASPP test administration window in TOMS"
    assert window.school_year == "2026-27"


def test_stale_score_data_file_year_needs_review(seed_facts):
    (retention,) = _requirements(seed_facts, "retention")
    assert retention.data == "2023–24 student score data file"
    assert retention.school_year == "2023-24" and retention.system == "TOMS"
    assert retention.keep_years == 3
    assert retention.at == date(2027, 7, 1)  # when the next administration year begins
    # in 2027-28 TOMS keeps 2027-28, 2026-27 and 2025-26: 2024-25 goes, 2023-24 is long gone
    assert retention.needs_review
    assert "two years of historical data and one year of current data" in retention.evidence


def test_facts_are_unique_and_serialise(seed_facts):
    flags = ("evidence", "needs_review", "unverified")  # the store's identity leaves these out
    keys = [json.dumps({k: v for k, v in f.to_json().items() if k not in flags}) for f in seed_facts]
    assert len(keys) == len(set(keys))
    for fact in seed_facts:
        assert Fact.from_json(fact.to_json()) == fact


def _mini(body: str, title: str = "2026–27") -> str:
    return f"LEA CAASPP Coordinator Checklist\nFor the {title} Administration\n{body}"


def test_title():
    assert checklist_title(SEED.read_text(encoding="utf-8")) == "LEA CAASPP Coordinator Checklist (2026–27)"


def test_year_resolution_from_month_headings():
    text = _mini(
        "November\nGeneral Guidelines\n· Windows must be set by December 1.\n"
        "January\nPrepare for Testing\n· Legacy browser support will be dropped on February 3.\n"
    )
    facts = parse_checklist(text, "mini.txt")
    assert {f.month for f in facts if f.kind == "task"} == {"2026-11", "2027-01"}
    assert {f.due for f in facts if f.kind == "deadline"} == {date(2026, 12, 1), date(2027, 2, 3)}


def test_month_heading_outside_edition_needs_review():
    facts = parse_checklist(_mini("November 2025\nTraining\n· Train the trainers.\n"), "m.txt")
    (task,) = facts
    assert task.month == "2025-11" and task.needs_review


def test_due_date_before_its_month_needs_review():
    facts = parse_checklist(_mini("March 2027\nGeneral Guidelines\n· Submit the survey by January 5, 2027.\n"), "m")
    (deadline,) = [f for f in facts if f.kind == "deadline"]
    assert deadline.due == date(2027, 1, 5) and deadline.needs_review
    assert next(f for f in facts if f.kind == "task").needs_review


def test_weekday_that_disagrees_needs_review():
    facts = parse_checklist(_mini("October 2026\nGeneral Guidelines\n· Submit the form by Friday, October 7, 2026.\n"), "m")
    (deadline,) = [f for f in facts if f.kind == "deadline"]
    assert deadline.due == date(2026, 10, 7) and deadline.needs_review  # a Wednesday


def test_markdown_checklist():
    text = _mini(
        "## Ongoing or Continuous\n- Keep the binder current.\n"
        "## September 2026\n### Training\n- [ ] Book the room.\n- Review the following:\n  - Moodle\n  - CERS\n"
    )
    tasks = [f for f in parse_checklist(text, "c.md") if f.kind == "task"]
    assert [(f.month, f.section, f.text) for f in tasks] == [
        (None, "Ongoing or Continuous", "Keep the binder current."),
        ("2026-09", "Training", "Book the room."),
        ("2026-09", "Training", "Review the following: Moodle; CERS"),
    ]


def test_heading_levels_follow_the_month_headings():
    text = _mini(
        "# Checklist\n## June 2027\n### General Guidelines\n- Share results.\n"
        "## Test Security\n### Confirm Agreements\n- Not a task: reference text.\n"
    )
    tasks = [f for f in parse_checklist(text, "c.md") if f.kind == "task"]
    assert [(f.month, f.section, f.text) for f in tasks] == [
        ("2027-06", "General Guidelines", "Share results.")
    ]


def test_text_without_checklist_is_rejected():
    with pytest.raises(ChecklistError):
        parse_checklist("Dear coordinator,\nthanks.\n", "x.txt")
    with pytest.raises(ChecklistError):
        parse_checklist(_mini("Nothing here.\n"), "x.txt")


def test_checklist_text_rejects_non_utf8_and_doc():
    with pytest.raises(ChecklistError, match="UTF-8"):
        checklist_text(b"\xff\xfe\x00bad", "x.txt")
    with pytest.raises(ChecklistError, match=".docx"):
        checklist_text(b"whatever", "x.doc")
    with pytest.raises(ChecklistError):
        checklist_text(b"not a zip", "x.docx")


# --- .docx --------------------------------------------------------------------------------

_SUBSECTIONS = {
    "Designation", "Review Information", "Share Test Resources", "Communication",
    "Accessibility", "Trainings", "Student Score Reports", "Prepare for Testing",
    "Training", "General Guidelines",
}
_BOOKMARK = re.compile(r"\[bookmark: ?([^\]]*)\]")


def _add_bookmarks(paragraph, names, first_id):
    """w:bookmarkStart ... w:bookmarkEnd around the paragraph's runs, as Word writes them."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    p = paragraph._p
    for offset, name in enumerate(names):
        start = OxmlElement("w:bookmarkStart")
        start.set(qn("w:id"), str(first_id + offset))
        start.set(qn("w:name"), name)
        end = OxmlElement("w:bookmarkEnd")
        end.set(qn("w:id"), str(first_id + offset))
        ppr = p.pPr
        if ppr is not None:
            ppr.addnext(start)
        else:
            p.insert(0, start)
        p.append(end)


def build_docx(seed_text: str) -> bytes:
    """The seed checklist as Word would hold it: title, headings by style, list
    paragraphs, the acronym table, and the bookmarks the text export shows."""
    import docx

    document = docx.Document()
    # add_paragraph(text, style) looks the style up among all the document's styles for
    # every paragraph (~1 ms each); its id, looked up once, writes the same w:pStyle
    style_ids = {name: document.styles[name].style_id for name in ("Title", "Heading 1", "Heading 2", "List Bullet")}

    def add(text: str, style: str | None = None):
        paragraph = document.add_paragraph(text)
        if style is not None:
            paragraph._p.style = style_ids[style]
        return paragraph

    bookmark_id = 0
    rows: list[list[str]] = []
    row: list[str] = []

    def flush_table():
        if not rows:
            return
        table = document.add_table(rows=0, cols=max(len(r) for r in rows))
        for cells in rows:
            new = table.add_row().cells
            for i, value in enumerate(cells):
                new[i].text = value
        rows.clear()

    for number, line in enumerate(seed_text.splitlines()):
        names = _BOOKMARK.findall(line)
        text = " ".join(_BOOKMARK.sub("", line).split())
        if line.startswith("\t"):
            row.append(text)
            continue
        if row:
            rows.append(row)
            row = []
        if not text:
            continue
        flush_table()
        if number == 0:
            paragraph = add(text, "Title")
        elif any(n.startswith("_Toc") for n in names):
            paragraph = add(text, "Heading 1")
        elif text in _SUBSECTIONS:
            paragraph = add(text, "Heading 2")
        elif text.startswith("· "):
            paragraph = add(text[2:], "List Bullet")
        else:
            paragraph = add(text)
        if names:
            _add_bookmarks(paragraph, names, bookmark_id)
            bookmark_id += len(names)
    if row:
        rows.append(row)
    flush_table()
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def seed_docx(seed_text: str) -> bytes:
    return build_docx(seed_text)


def test_docx_holds_bookmarks_lists_and_a_table(seed_docx):
    import docx

    document = docx.Document(io.BytesIO(seed_docx))
    body = document.element.body.xml
    assert body.count("w:bookmarkStart") > 100 and "_Toc220943195" in body
    assert len(document.tables) == 1
    assert any(p.style.name == "List Bullet" for p in document.paragraphs)


def test_docx_text_structure(seed_docx):
    text = docx_to_text(seed_docx)
    assert "# November 2026\n## General Guidelines\n· Create CAASPP test administration window(s) in TOMS." in text
    assert "\tCAASPP\n\tCalifornia Assessment of Student Performance and Progress\n\n" in text
    assert "bookmark" not in text


def test_docx_gives_the_same_facts_as_text(seed_docx, seed_facts):
    assert parse_checklist(checklist_text(seed_docx, "checklist.docx"), "checklist.docx") == seed_facts


# --- end to end through the CLI and the store ----------------------------------------------


def test_docx_content_controls_and_checkboxes():
    """Word checklists put a checkbox content control before each item, and sometimes
    wrap whole items in block-level content controls: their text still counts."""
    import docx
    from docx.oxml import OxmlElement

    document = docx.Document()
    document.add_paragraph("LEA CAASPP Coordinator Checklist 2026–27", style="Title")
    document.add_heading("November 2026", level=1)
    document.add_heading("General Guidelines", level=2)
    item = document.add_paragraph(style="List Bullet")
    inline = OxmlElement("w:sdt")
    content = OxmlElement("w:sdtContent")
    run = OxmlElement("w:r")
    glyph = OxmlElement("w:t")
    glyph.text = "☐"
    run.append(glyph)
    content.append(run)
    inline.append(content)
    item._p.append(inline)
    item.add_run(" Set LEA testing window(s) by ")
    item.add_run("December 1, 2026.")
    wrapped = document.add_paragraph("Assign school sites to those testing windows.", style="List Bullet")
    block = OxmlElement("w:sdt")
    block_content = OxmlElement("w:sdtContent")
    wrapped._p.addprevious(block)
    block_content.append(wrapped._p)  # moves the paragraph into the content control
    block.append(block_content)
    out = io.BytesIO()
    document.save(out)

    facts = parse_checklist(docx_to_text(out.getvalue()), "c.docx")
    assert [f.text for f in facts if f.kind == "task"] == [
        "Set LEA testing window(s) by December 1, 2026.",
        "Assign school sites to those testing windows.",
    ]
    assert [f.due for f in facts if f.kind == "deadline"] == [date(2026, 12, 1)]


_SEED_LINES = SEED.read_text(encoding="utf-8").splitlines()


def _lines_strategy():
    from hypothesis import strategies as st

    noise = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
    return st.lists(st.one_of(st.sampled_from(_SEED_LINES), noise), max_size=60)


@fast_and_full(40, 150)
def test_any_mix_of_checklist_lines_parses_or_says_why(max_examples):
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=max_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_lines_strategy())
    def check(lines):
        text = "\n".join(["LEA CAASPP Coordinator Checklist", "For the 2026–27 Administration", *lines])
        try:
            facts = parse_checklist(text, "mix.txt")
        except ChecklistError as exc:
            assert str(exc).startswith("mix.txt: ")
            return
        for fact in facts:
            assert fact.evidence
            if fact.kind == "task":
                assert fact.text and fact.section
                in_edition = fact.month is None or "2026-07" <= fact.month <= "2027-06"
                assert in_edition or fact.needs_review
            else:
                key = fact.due or fact.at
                assert key is not None
                assert key >= date(2026, 7, 1) or fact.needs_review

    check()


def test_tasks_carry_their_place_in_the_checklist(seed_facts):
    positions = [f.position for f in seed_facts if f.kind == "task"]
    assert positions == sorted(positions) and len(set(positions)) == len(positions) and positions[0] == 1
    assert all(f.position is None for f in seed_facts if f.kind != "task")


def test_a_months_tasks_list_in_checklist_order(seed_facts):
    """Not in uid-hash order ("Training" first, then General Guidelines 2, 6, 1, 5, 4, 3)."""
    from caltac_inbox.timeline.entry import SourcedFact
    from caltac_inbox.timeline.reconcile import reconcile

    entries = reconcile([SourcedFact(fact=f, message_pk=1) for f in seed_facts])
    november = [(e.fact.section, e.fact.text[:40]) for e in entries if e.kind == "task" and e.fact.month == "2026-11"]
    assert november == [(f.section, f.text[:40]) for f in seed_facts if f.kind == "task" and f.month == "2026-11"]
    assert [section for section, _ in november] == ["General Guidelines"] * 6 + ["Training"]
