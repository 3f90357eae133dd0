"""The checklist import through the CLI and the store, on every backend."""
from __future__ import annotations

import json
import re

from tests.unit.test_checklist import seed_docx, seed_text  # noqa: F401 - fixtures


def _next_edition(text: str) -> str:
    """The same checklist a year later: every school year and calendar year plus one."""
    text = re.sub(r"(20\d\d)–(\d\d)\b", lambda m: f"{int(m.group(1)) + 1}–{(int(m.group(2)) + 1) % 100:02d}", text)
    return re.sub(r"(?<![\d–])(20\d\d)(?![\d–])", lambda m: str(int(m.group(1)) + 1), text)


def _cli(db_url: str, *args: str):
    from click.testing import CliRunner

    from caltac_inbox.cli import main

    result = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
    return result


def _entries(db_url: str) -> dict[str, dict]:
    rows = [json.loads(line) for line in _cli(db_url, "timeline", "--json").output.splitlines()]
    return {row["uid"]: row for row in rows}


def _entry_rows(db_url: str) -> dict[str, tuple]:
    from sqlalchemy import create_engine, select

    from caltac_inbox.store.schema import EntryRow

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {r.uid: (r.sequence, r.content_hash) for r in conn.execute(select(EntryRow))}
    finally:
        engine.dispose()


def test_cli_import_reimport_and_upcoming(db_url, tmp_path, seed_text):
    checklist = tmp_path / "checklist.txt"
    checklist.write_text(seed_text, encoding="utf-8")
    first = _cli(db_url, "checklist", "import", str(checklist), "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert report["new"] and report["tasks"] == 160 and report["facts_stored"] == 168
    before = _entry_rows(db_url)
    assert len(before) == report["timeline_changes"] > 160

    again = _cli(db_url, "checklist", "import", str(checklist))
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert _entry_rows(db_url) == before

    upcoming = _cli(db_url, "upcoming", "--as-of", "2026-11-15", "--days", "30", "--json")
    rows = [json.loads(line) for line in upcoming.output.splitlines()]
    november = {r["text"] for r in rows if r["kind"] == "task" and r["month"] == "2026-11"}
    assert len(november) == 7
    assert any(r["kind"] == "deadline" and r["due"] == "2026-12-01" for r in rows)
    assert not any(r["kind"] == "task" and r["month"] == "2026-10" for r in rows)

    tasks_only = _cli(db_url, "upcoming", "--as-of", "2026-11-15", "--days", "30", "--kind", "task", "--json")
    task_rows = [json.loads(line) for line in tasks_only.output.splitlines()]
    assert {r["kind"] for r in task_rows} == {"task"}
    assert {r["month"] for r in task_rows} == {"2026-11", "2026-12"}
    assert task_rows[0]["sources"][0]["subject"] == "LEA CAASPP Coordinator Checklist (2026–27)"

    in_november = [r for r in task_rows if r["month"] == "2026-11"]  # in the checklist's order
    assert [r["position"] for r in in_november] == sorted(r["position"] for r in in_november)
    assert [r["section"] for r in in_november] == ["General Guidelines"] * 6 + ["Training"]

    table = _cli(db_url, "upcoming", "--as-of", "2026-11-15", "--kind", "task")
    assert "Create CAASPP test administration window" in table.output


def test_cli_docx_import_matches_text_import(db_url, tmp_path, seed_text, seed_docx):
    docx_path = tmp_path / "checklist.docx"
    docx_path.write_bytes(seed_docx)
    result = _cli(db_url, "checklist", "import", str(docx_path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["facts_stored"] == 168
    # the same checklist as text is another file but the same facts: no new entries
    before = set(_entry_rows(db_url))
    text_path = tmp_path / "checklist.txt"
    text_path.write_text(seed_text, encoding="utf-8")
    assert _cli(db_url, "checklist", "import", str(text_path)).exit_code == 0
    assert set(_entry_rows(db_url)) == before


def test_cli_another_edition_leaves_the_old_entries_alone(db_url, tmp_path, seed_text):
    """Dated entries and the ongoing tasks (month None) of the old edition stay as they
    were; the new edition adds as many of its own."""
    old = tmp_path / "2026-27.txt"
    old.write_text(seed_text, encoding="utf-8")
    assert _cli(db_url, "checklist", "import", str(old)).exit_code == 0
    before = _entry_rows(db_url)
    new = tmp_path / "2027-28.txt"
    new.write_text(_next_edition(seed_text), encoding="utf-8")
    result = _cli(db_url, "checklist", "import", str(new), "--json")
    assert result.exit_code == 0, result.output
    after = _entry_rows(db_url)
    assert {uid: after.get(uid) for uid in before} == before
    assert len(after) == 2 * len(before)
    entries = _entries(db_url)
    assert {e.get("month") for e in entries.values() if e["kind"] == "task"} >= {"2026-11", "2027-11"}
    assert any(e["kind"] == "deadline" and e["due"] == "2027-12-01" for e in entries.values())


def test_cli_import_errors(db_url, tmp_path):
    missing = _cli(db_url, "checklist", "import", str(tmp_path / "nope.docx"))
    assert missing.exit_code == 1 and "nope.docx: no such file" in missing.output
    notice = tmp_path / "notice.txt"
    notice.write_text("Dear coordinator, TOMS is down.\n", encoding="utf-8")
    wrong = _cli(db_url, "checklist", "import", str(notice))
    assert wrong.exit_code == 1 and "notice.txt" in wrong.output and "Traceback" not in wrong.output
