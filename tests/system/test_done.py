"""`done` end to end on SQLite and PostgreSQL: stored with the corrections, survives
reparse, reverted by `undo`, carried in --json, tables, the .ics; `upcoming` hides done
entries unless asked; a later notice that moves a done entry reopens it and says so."""
from __future__ import annotations

import json
import re

from tests.shared import needs_shared
from tests.system import test_corrections
from tests.system.test_corrections import EXTENSION, ORIGINAL_164, SAMPLES, _entry, _events, _lines

cli = test_corrections.cli  # the same fixture: the CLI on each backend's empty database


def test_done_is_a_correction_that_survives_reparse_and_undo_reopens(cli):
    cli("ingest", SAMPLES)
    downtime = _entry(cli, "downtime", start="2020-08-14T17:00:00-07:00")
    assert downtime["done"] is False
    marked = json.loads(cli("done", downtime["id"], "--note", "told the test site", "--by", "ana", "--json"))
    assert marked["action"] == "done" and marked["by"] == "ana" and marked["reason"] == "told the test site"
    assert marked["at"].endswith(("-07:00", "-08:00"))  # Los Angeles time

    upcoming = {e["uid"] for e in _lines(cli("upcoming", "--as-of", "2020-08-10", "--json"))}
    assert downtime["uid"] not in upcoming
    listed = {e["uid"]: e for e in _lines(cli("upcoming", "--as-of", "2020-08-10", "--include-done", "--json"))}
    assert listed[downtime["uid"]]["done"] is True
    assert [(m["action"], m["by"], m["note"]) for m in listed[downtime["uid"]]["corrections"]] == [
        ("done", "ana", "told the test site")]
    assert re.search(rf"^{downtime['id']} .* done ", cli("upcoming", "--as-of", "2020-08-10", "--include-done"), re.M)
    assert "done" not in cli("upcoming", "--as-of", "2020-08-10").split()
    event = _events(cli("export-ics"))[downtime["uid"] + "@caltac-inbox"]
    assert "Done (marked by ana on" in event and "told the test site" in event
    shown = cli("show", downtime["id"])
    assert re.search(r"#\d+ done by ana: active \(told the test site\)", shown)

    cli("reparse", "--all")
    assert _entry(cli, "downtime", uid=downtime["uid"])["done"] is True

    undone = json.loads(cli("undo", marked["id"], "--json"))
    assert undone["state"] == "undone"
    assert _entry(cli, "downtime", uid=downtime["uid"])["done"] is False
    assert downtime["uid"] in {e["uid"] for e in _lines(cli("upcoming", "--as-of", "2020-08-10", "--json"))}


def test_done_twice_and_unknown_entries_are_one_line_errors(cli):
    cli("ingest", SAMPLES)
    downtime = _entry(cli, "downtime", start="2020-08-14T17:00:00-07:00")
    cli("done", downtime["id"])
    again = cli("done", downtime["id"], code=1)
    assert "already done" in again and "undo" in again
    assert "no timeline entry with id or uid '9999'" in cli("done", "9999", code=1)


def test_undo_twice_is_an_error_not_a_second_success(cli):
    """D6: the second `undo` of one correction says it is undone already."""
    cli("ingest", SAMPLES)
    downtime = _entry(cli, "downtime", start="2020-08-14T17:00:00-07:00")
    mark = json.loads(cli("dismiss", downtime["id"], "--json"))
    cli("undo", mark["id"])
    again = cli("undo", mark["id"], code=1)
    assert f"correction {mark['id']} is already undone" in again


@needs_shared("corpus", "2016-07-27-cde-update-164-downtime-horizon.eml")
def test_a_later_notice_that_moves_a_done_entry_reopens_it_and_says_so(cli):
    cli("ingest", ORIGINAL_164)
    window = _entry(cli, "downtime", end="2016-09-11T23:59:00-07:00")
    cli("done", window["uid"], "--by", "ana")
    assert _entry(cli, "downtime", uid=window["uid"])["done"] is True

    said = cli("ingest", EXTENSION)
    assert re.search(r"changed +downtime .*end 2016-09-11 23:59 → 2016-09-13 23:59 \(extended, reopened\)", said), said
    entry = _entry(cli, "downtime", uid=window["uid"])
    assert entry["done"] is False
    [mark] = entry["corrections"]
    assert (mark["action"], mark["state"]) == ("done", "superseded")
    assert mark["superseded_by"] == "notice of 2016-09-09"
    assert "reopened" in cli("timeline")
    assert "Marked done by ana on" in cli("export-ics").replace("\r\n", "\n").replace("\n ", "")
    cli("reparse", "--all")
    assert _entry(cli, "downtime", uid=window["uid"])["done"] is False


def test_changes_since_last_poll_are_the_last_ingest_s_not_a_correction_s(cli):
    """D3: the coordinator's own correction is not "the last poll"."""
    cli("ingest", SAMPLES)
    after_ingest = cli("changes", "--since", "last-poll")
    assert after_ingest.count("\n") >= 5
    downtime = _entry(cli, "downtime", start="2020-08-14T17:00:00-07:00")
    cli("done", downtime["id"])
    cli("correct", downtime["id"], "--end", "2020-08-21 08:00")
    assert cli("changes", "--since", "last-poll") == after_ingest
    assert "marked done" in cli("changes", "--since", "today")  # still recorded, by day


def test_show_corrections_and_feed_list_give_one_time_zone(cli):
    """D2: `show`, `corrections` and `feed list` all say Los Angeles time."""
    cli("ingest", SAMPLES)
    downtime = _entry(cli, "downtime", start="2020-08-14T17:00:00-07:00")
    mark = json.loads(cli("done", downtime["id"], "--json"))
    at = mark["at"][:16].replace("T", " ")
    [listed] = _lines(cli("corrections", "--json"))
    assert listed["at"] == mark["at"] and mark["at"].endswith(("-07:00", "-08:00"))
    assert re.search(rf"^  - {at}  #{mark['id']} done by ", cli("show", downtime["id"]), re.M)
    assert json.loads(cli("show", downtime["id"], "--json"))["corrections"][0]["at"] == mark["at"]
    cli("feed", "create", "--name", "office")
    [feed] = _lines(cli("feed", "list", "--json"))
    assert feed["created_at"].endswith(("-07:00", "-08:00"))


def test_an_entry_added_from_a_lead_keeps_its_program_and_notice_and_names_a_same_day_entry(cli, db_url):
    """D8: `add --from-lead` keeps the lead's program and source notice, and says when an
    entry of the same notice is on the same day."""
    from click.testing import CliRunner

    from caltac_inbox.cli import main

    cli("ingest", SAMPLES)
    lead = next(lead for lead in _lines(cli("review", "--as-of", "2020-08-01", "--json"))
                if lead["when"] and lead["when"].startswith("2020-08-14"))
    result = CliRunner().invoke(main, ["--db", db_url, "add", "--from-lead", lead["id"], "--kind", "deadline",
                                       "--what", "download the TOMS user list", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "is on the same day from the same notice" in result.stderr and "caltac-inbox undo" in result.stderr
    entry = _entry(cli, "deadline", action="download the TOMS user list")
    assert entry["program"] == "CAASPP"
    assert [s["subject"] for s in entry["sources"]] == [lead["subject"]]
    shown = cli("show", entry["id"])
    assert f"  - {lead['sent'][:16].replace('T', ' ')}  {lead['subject']}" in shown
    assert "read it: caltac-inbox read" in shown
    cli("reparse", "--all")
    assert _entry(cli, "deadline", action="download the TOMS user list")["sources"] == entry["sources"]


def test_an_extension_without_its_original_notice_is_not_a_zero_length_downtime(cli):
    """D9: the window runs from the extension notice to its end in the .ics; the table
    does not show its end as its start."""
    cli("ingest", EXTENSION)
    [event] = _events(cli("export-ics")).values()
    assert "DTSTART;TZID=America/Los_Angeles:20160909T171100" in event
    assert "DTEND;TZID=America/Los_Angeles:20160913T235900" in event and "DURATION:P0D" not in event
    assert "Start not known" in event
    row = cli("timeline").splitlines()[2]
    assert row.count("2016-09-13 23:59") == 1 and re.match(r"\d+\s+\?\s+2016-09-13 23:59", row)


def test_the_web_page_shows_a_done_entry_as_done(cli, db_url):
    from starlette.testclient import TestClient

    from caltac_inbox.web.app import ServeSettings, create_app

    cli("ingest", SAMPLES)
    downtime = _entry(cli, "downtime", start="2020-08-14T17:00:00-07:00")
    cli("done", downtime["id"], "--note", "posted to staff", "--by", "ana")
    with TestClient(create_app(ServeSettings(db_url=db_url, open_access=True))) as client:
        page = client.get("/", params={"as_of": "2020-08-10"}).text
    entry = page.split(f'id="entry-{downtime["id"]}"')[1].split("</details>")[0]
    assert '<span class="flag">done</span>' in entry
    assert "Done (marked by ana on " in entry and "posted to staff" in entry
