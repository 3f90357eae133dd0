"""The coordinator's corrections end to end, on SQLite and PostgreSQL: dismiss, correct,
add, undo, corrections, review; they survive `reparse --all`, and a later notice
supersedes a correction it contradicts."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from caltac_inbox.cli import main
from tests.shared import SHARED, needs_shared

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
ORIGINAL_164 = SHARED / "corpus" / "2016-07-27-cde-update-164-downtime-horizon.eml"
EXTENSION = SAMPLES / "2016-09-09-extended-downtime.eml"


@pytest.fixture
def cli(db_url, monkeypatch, tmp_path):
    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    (tmp_path / "no-config.toml").write_text("")
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "no-config.toml"))
    runner = CliRunner()

    def invoke(*args: object, code: int = 0) -> str:
        result = runner.invoke(main, ["--db", db_url, *map(str, args)], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return invoke


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def _entry(cli, kind: str, **match) -> dict:
    found = [e for e in _lines(cli("timeline", "--include-dismissed", "--json")) if e["kind"] == kind
             and all(e.get(k) == v for k, v in match.items())]
    assert len(found) == 1, found
    return found[0]


def _events(ics: str) -> dict[str, str]:
    """UID -> the unfolded VEVENT text."""
    text = ics.replace("\r\n", "\n").replace("\n ", "")
    return {re.search(r"^UID:(.*)$", e, re.M).group(1): e
            for e in re.findall(r"BEGIN:VEVENT\n(.*?)END:VEVENT", text, re.S)}


def test_corrections_dismissals_and_additions_survive_reparse_all(cli):
    cli("ingest", SAMPLES)
    retention = _entry(cli, "retention", data="2017–2018 student data file")
    downtime = _entry(cli, "downtime", start="2020-08-14T17:00:00-07:00")
    before_ics = _events(cli("export-ics"))

    dismissed = json.loads(cli("dismiss", retention["id"], "--reason", "not our data", "--by", "pat", "--json"))
    assert dismissed["action"] == "dismiss" and dismissed["by"] == "pat" and dismissed["before"]["status"] == "scheduled"
    corrected = json.loads(cli("correct", downtime["id"], "--end", "2020-08-21 08:00", "--json"))
    assert corrected["values"] == {"end": "2020-08-21T08:00:00-07:00"}
    assert corrected["before"] == {"end": "2020-08-20T08:00:00-07:00"}
    added = json.loads(cli("add", "--kind", "deadline", "--due", "2026-12-01", "--what", "send the site list",
                           "--program", "CAASPP", "--json"))
    assert added["target"] == "manual-" + str(added["id"])

    shown = _lines(cli("timeline", "--json"))
    assert retention["uid"] not in {e["uid"] for e in shown}
    assert retention["uid"] not in {e["uid"] for e in _lines(cli("upcoming", "--as-of", "2020-08-01", "--json"))}
    assert retention["uid"] in {e["uid"] for e in _lines(cli("upcoming", "--as-of", "2020-08-01",
                                                             "--include-dismissed", "--json"))}
    now = {e["uid"]: e for e in shown}
    assert now[downtime["uid"]]["end"] == "2020-08-21T08:00:00-07:00"
    assert now[downtime["uid"]]["corrections"][0]["state"] == "active"
    assert now[added["target"]]["due"] == "2026-12-01" and now[added["target"]]["action"] == "send the site list"
    table = cli("timeline")
    assert re.search(r"2020-08-21 08:00 .*corrected", table) and re.search(r"send the site list .*added", table)

    events = _events(cli("export-ics"))
    uid = downtime["uid"] + "@caltac-inbox"
    assert "SEQUENCE:1" in events[uid] and "SEQUENCE:0" in before_ics[uid]
    assert "DTEND;TZID=America/Los_Angeles:20200821T080000" in events[uid]
    assert "Corrected by" in events[uid] and "end (was Thu 2020-08-20 08:00)" in events[uid]
    assert retention["uid"] + "@caltac-inbox" not in events

    everything = cli("timeline", "--include-dismissed", "--json")
    assert "reparsed 10 message(s): 10 ok" in cli("reparse", "--all")
    assert cli("timeline", "--include-dismissed", "--json") == everything
    assert _events(cli("export-ics")) == events

    # undo brings the notice's value back, with a new SEQUENCE
    cli("undo", corrected["id"])
    entry = _entry(cli, "downtime", start="2020-08-14T17:00:00-07:00")
    assert entry["end"] == "2020-08-20T08:00:00-07:00" and "corrections" not in entry
    assert "SEQUENCE:2" in _events(cli("export-ics"))[uid]
    listed = _lines(cli("corrections", "--json"))
    assert [(c["action"], c["state"]) for c in listed] == [("dismiss", "active"), ("correct", "undone"),
                                                           ("add", "active")]


@needs_shared("corpus", "2016-07-27-cde-update-164-downtime-horizon.eml")
def test_an_extension_after_a_manual_end_correction_wins_and_supersedes_it(cli):
    cli("ingest", ORIGINAL_164)
    window = _entry(cli, "downtime", end="2016-09-11T23:59:00-07:00")
    correction = json.loads(cli("correct", window["uid"], "--end", "2016-09-12 23:59", "--json"))
    assert _entry(cli, "downtime", uid=window["uid"])["end"] == "2016-09-12T23:59:00-07:00"

    cli("ingest", EXTENSION)
    entry = _entry(cli, "downtime", uid=window["uid"])
    assert entry["end"] == "2016-09-13T23:59:00-07:00"  # the notice's value
    [mark] = entry["corrections"]
    assert mark["state"] == "superseded" and mark["superseded_by"] == "notice of 2016-09-09"
    [listed] = _lines(cli("corrections", "--json"))
    assert listed["id"] == correction["id"] and listed["state"] == "superseded"
    assert listed["superseded_by"] == "notice of 2016-09-09"
    shown = cli("show", window["uid"])
    assert "2016-09-09 17:11  extended: 2016-09-11T23:59:00-07:00 -> 2016-09-13T23:59:00-07:00" in shown
    assert re.search(r"corrected end 2016-09-11 23:59 -> 2016-09-12 23:59 by \S+: superseded by notice of 2016-09-09",
                     shown)
    assert "superseded" in cli("timeline")
    assert "superseded by notice of 2016-09-09" in cli("export-ics").replace("\r\n", "\n").replace("\n ", "")
    cli("reparse", "--all")
    assert _entry(cli, "downtime", uid=window["uid"]) == entry


def test_review_lists_leads_newest_first_and_keeps_dismissals_and_added_leads_through_reparse(cli):
    cli("ingest", SAMPLES)
    leads = _lines(cli("review", "--as-of", "2020-08-01", "--days", "30", "--json"))
    assert leads and {lead["subject"] for lead in leads} == {"CAASPP: Preparing to Transition to the 2020-21 Administration"}
    assert len({lead["id"] for lead in leads}) == len(leads)  # one lead per notice, whatever its copies
    everything = _lines(cli("review", "--as-of", "2020-08-01", "--days", "2000", "--json"))
    sent = [lead["sent"] for lead in everything]
    assert sent == sorted(sent, reverse=True) and len(everything) > len(leads)
    assert all(lead["sentence"] and lead["reason"] for lead in everything)
    assert cli("review", "--as-of", "2030-01-01") == "No leads in the 30 days to 2030-01-01.\n"

    first, second = leads[0], leads[1]
    cli("dismiss", first["id"])
    added = json.loads(cli("add", "--from-lead", second["id"], "--kind", "deadline", "--what", "check TOMS",
                           "--json"))
    assert added["lead"] == second["id"] and added["values"]["due"] == second["when"][:10]
    cli("reparse", "--all")
    left = {lead["id"] for lead in _lines(cli("review", "--as-of", "2020-08-01", "--json"))}
    assert left == {lead["id"] for lead in leads} - {first["id"], second["id"]}
    entry = _entry(cli, "deadline", action="check TOMS")
    assert entry["evidence"] == second["sentence"]
    assert first["id"] in {lead["id"] for lead in _lines(cli("review", "--as-of", "2020-08-01",
                                                             "--include-dismissed", "--json"))}
    dismissal = next(c for c in _lines(cli("corrections", "--json")) if c["action"] == "dismiss")
    assert dismissal["entry"] == first["id"] and dismissal["target"] == "lead:" + first["identity"]
    cli("undo", dismissal["id"])
    assert first["id"] in {lead["id"] for lead in _lines(cli("review", "--as-of", "2020-08-01", "--json"))}


def test_mistakes_get_one_line_errors(cli):
    cli("ingest", SAMPLES)
    deadline = _entry(cli, "designation", due="2020-08-14T17:00:00-07:00")

    def error(*args, code):
        out = cli(*args, code=code)
        assert len(out.strip().splitlines()) == 1 and "Traceback" not in out, out
        return out

    assert "no timeline entry with id or uid '999'" in error("correct", 999, "--due", "2020-01-01", code=1)
    assert "no timeline entry with id or uid 'nope'" in error("dismiss", "nope", code=1)
    assert "no lead with id 'L00000000'" in error("dismiss", "L00000000", code=1)
    assert "no correction with id '42'" in error("undo", 42, code=1)
    assert "--end does not belong to a designation entry; a designation takes --due" in error(
        "correct", deadline["id"], "--end", "2020-08-20 08:00", code=2)
    assert "--due: cannot read 'the day after never' as a date" in error(
        "correct", deadline["id"], "--due", "the day after never", code=2)
    assert "has no such time of day" in error("correct", deadline["id"], "--due", "2020-08-20 25:00", code=2)
    assert "a deadline entry needs --what" in error("add", "--kind", "deadline", "--due", "2026-12-01", code=2)
    assert _lines(cli("corrections", "--json")) == []


def test_an_added_entry_carries_its_mailbox(cli):
    cli("ingest", "--mailbox", "district-a", SAMPLES / "2019-03-18-credential-reminder.eml")
    cli("add", "--kind", "designation", "--due", "2026-07-01", "--mailbox", "district-b")
    assert [e["kind"] for e in _lines(cli("timeline", "--mailbox", "district-b", "--json"))] == ["designation"]
    assert [e["kind"] for e in _lines(cli("timeline", "--mailbox", "district-a", "--json"))] == ["credential"]
    [listed] = _lines(cli("corrections", "--mailbox", "district-b", "--json"))
    assert listed["mailbox"] == "district-b" and listed["by"]


@needs_shared("corpus", "labels.jsonl")
def test_review_lists_every_dated_sentence_of_the_corpus_that_gave_no_fact(cli):
    from caltac_inbox.classify import classify_with_leads
    from caltac_inbox.parse import parse_message

    corpus = SHARED / "corpus"
    expected = set()
    for path in sorted(corpus.glob("*.eml")):
        notice = parse_message(path.read_bytes(), str(path))
        expected |= {(notice.message_id, lead.sentence, lead.reason) for lead in classify_with_leads(notice)[1]}
    cli("ingest", corpus)
    listed = _lines(cli("review", "--as-of", "2026-12-01", "--days", "36525", "--json"))
    assert expected and len(listed) == len(expected)
    assert {(lead["sentence"], lead["reason"]) for lead in listed} == {(s, r) for _, s, r in expected}
