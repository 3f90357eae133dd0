"""The document model: a notice's text as headings, paragraphs, list items and table rows,
each sentence knowing what it inherits. Every shape in its plain-text and HTML form."""
import pytest

from caltac_inbox.classify.text import build_doc
from caltac_inbox.parse import html_to_text, normalize_text


def doc_of(form: str, plain_text: str, html: str):
    return build_doc(normalize_text(plain_text) if form == "plain" else html_to_text(html))


def by_text(doc, start: str):
    return next(s for s in doc.sentences if s.plain_text.startswith(start))


FORMS = ["plain", "html"]


@pytest.mark.parametrize("form", FORMS)
def test_list_items_inherit_their_lead_in_and_heading(form):
    doc = doc_of(form,
                 "Key Dates\n\nSurveys are due as follows:\n\n- Teachers: May 3\n- Parents: May 10\n\nThanks.\n",
                 "<h2>Key Dates</h2><p>Surveys are due as follows:</p><ul><li>Teachers: May 3</li>"
                 "<li>Parents: May 10</li></ul><p>Thanks.</p>")
    item = by_text(doc, "- Parents")
    assert item.kind == "item" and item.heading == "Key Dates"
    assert item.intro == "Surveys are due as follows:" and item.lead_in == item.intro
    assert doc.lead_sentence(item).plain_text == "Surveys are due as follows:"
    assert by_text(doc, "Thanks").intro is None


@pytest.mark.parametrize("form", FORMS)
def test_nested_items_hang_from_the_item_above(form):
    doc = doc_of(form,
                 "Coordinators are due:\n\n- ELPAC\n  - Initial: April 1\n  - Summative: April 8\n- CAASPP: July 1\n",
                 "<p>Coordinators are due:</p><ul><li>ELPAC<ul><li>Initial: April 1</li>"
                 "<li>Summative: April 8</li></ul></li><li>CAASPP: July 1</li></ul>")
    nested = by_text(doc, "- Summative")
    assert nested.parent == "- ELPAC" and nested.lead_in == "- ELPAC"
    assert doc.lead_sentence(nested).plain_text == "- ELPAC"
    top = by_text(doc, "- CAASPP")
    assert top.parent is None and top.lead_in == "Coordinators are due:"


@pytest.mark.parametrize("form", FORMS)
def test_table_rows_know_their_header_and_intro(form):
    doc = doc_of(form,
                 "Outage Schedule\n\nThese systems are affected:\n\nSystem | Down | Back\n"
                 "TOMS | May 3 | May 5\nORS | May 3 | May 4\n",
                 "<h3>Outage Schedule</h3><p>These systems are affected:</p><table>"
                 "<tr><th>System</th><th>Down</th><th>Back</th></tr>"
                 "<tr><td>TOMS</td><td>May 3</td><td>May 5</td></tr>"
                 "<tr><td>ORS</td><td>May 3</td><td>May 4</td></tr></table>")
    row = by_text(doc, "ORS")
    assert row.row and row.header == ("System", "Down", "Back")
    assert row.intro == "These systems are affected:" and row.heading == "Outage Schedule"
    assert "Down" in row.context and "These systems are affected" in row.context


@pytest.mark.parametrize("form", FORMS)
def test_two_cell_rows_are_a_table_without_header(form):
    doc = doc_of(form, "Windows by system:\n\nTOMS: May 3–5\nORS: May 3–4\n",
                 "<p>Windows by system:</p><table><tr><td>TOMS:</td><td>May 3–5</td></tr>"
                 "<tr><td>ORS:</td><td>May 3–4</td></tr></table>")
    row = by_text(doc, "ORS")
    assert row.row and row.header == () and row.kind == "para"
    assert row.intro == "Windows by system:"


@pytest.mark.parametrize("form", FORMS)
def test_headings_govern_what_follows_until_the_next(form):
    doc = doc_of(form,
                 "Upcoming Systems Downtime\n\nFrom Friday at 5 p.m. to Tuesday at 8 a.m.\n\nSecond paragraph.\n\n"
                 "New Manuals\n\nManuals are posted.\n",
                 "<h2>Upcoming Systems Downtime</h2><p>From Friday at 5 p.m. to Tuesday at 8 a.m.</p>"
                 "<p>Second paragraph.</p><h2>New Manuals</h2><p>Manuals are posted.</p>")
    first = by_text(doc, "From Friday")
    assert first.heading == "Upcoming Systems Downtime" and first.near_heading
    assert "Upcoming Systems Downtime" in first.context
    assert not by_text(doc, "Second paragraph").near_heading
    assert by_text(doc, "Manuals are").heading == "New Manuals"


def test_masthead_date_lines_are_marked():
    doc = build_doc("CAASPP email update, March 3, 2021.\n\nTOMS is down March 5.\n")
    assert [s.masthead for s in doc.sentences] == [True, False]
    doc = build_doc("Testing News\nMarch 3, 2021\n\nThe survey is due March 20, 2021.\n")
    assert [s.masthead for s in doc.sentences] == [False, True, False]
    # deeper in the notice a bare date line is not the title block
    doc = build_doc("One.\n\nTwo.\n\nThree.\n\nMarch 3, 2021\n")
    assert not doc.sentences[-1].masthead


def test_outlook_nested_bullets_in_plain_text():
    doc = build_doc(normalize_text("Due dates:\n- ELPAC\n    o Initial: April 1\n"))
    item = by_text(doc, "o Initial")
    assert item.kind == "item" and item.parent == "- ELPAC"
