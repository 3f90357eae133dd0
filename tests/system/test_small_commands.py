"""doctor --json, messages --limit/--search, and the README's one cron line."""
from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from caltac_inbox.cli import main

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_doctor_json_is_one_object_with_every_check_and_the_exit_code(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("")
    result = cli("--config", config, "--db", f"sqlite:///{tmp_path / 'caltac.db'}", "doctor", "--json")
    assert result.exit_code == 0  # D11: no mailbox is fine for someone who only ingests files
    (line,) = result.output.splitlines()
    report = json.loads(line)
    assert report["ok"] is True
    by_what = {c["what"]: c for c in report["checks"]}
    assert by_what["config"] == {"ok": True, "what": "config", "exit_code": 0,
                                 "detail": f"{config}: no mailbox configured (poll needs one: add a [[mailbox]] "
                                           "table)"}
    assert by_what["database"]["ok"] is True and by_what["migrations"]["ok"] is True


def test_doctor_without_a_configuration_file_passes_and_says_poll_needs_a_mailbox(tmp_path, monkeypatch):
    """D11: someone who only ingests files has no configuration file."""
    monkeypatch.delenv("CALTAC_INBOX_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg-dirs"))
    monkeypatch.setattr("caltac_inbox.config.SYSTEM_CONFIG", tmp_path / "etc" / "config.toml")
    result = cli("--db", f"sqlite:///{tmp_path / 'caltac.db'}", "doctor")
    assert result.exit_code == 0, result.output
    assert "no mailbox configured (poll needs one" in result.output
    assert "all checks passed" in result.output


def test_messages_search_and_limit_on_every_backend(db_url):
    assert cli("--db", db_url, "ingest", ROOT / "samples").exit_code == 0
    every = [json.loads(line) for line in cli("--db", db_url, "messages", "--json").output.splitlines()]
    assert len(every) == 10

    found = [json.loads(line) for line in cli("--db", db_url, "messages", "--search", "eXtEnDeD dOwNtImE",
                                              "--json").output.splitlines()]
    assert found and all("extended downtime" in m["subject"].lower() for m in found)
    assert len(found) < len(every)
    by_sender = [json.loads(line) for line in cli("--db", db_url, "messages", "--search", "ETS.ORG",
                                                  "--json").output.splitlines()]
    assert by_sender and all("ets.org" in (m["sender"] or "").lower() for m in by_sender)
    # LIKE's wildcards are searched for as text
    nothing = cli("--db", db_url, "messages", "--search", "%")
    assert (nothing.exit_code, nothing.output) == (0, "No archived message matches --search.\n")

    last = [json.loads(line) for line in cli("--db", db_url, "messages", "--limit", "3", "--json").output.splitlines()]
    assert [m["id"] for m in last] == [m["id"] for m in every[-3:]]
    both = [json.loads(line) for line in cli("--db", db_url, "messages", "--search", "downtime", "--limit", "1",
                                             "--json").output.splitlines()]
    assert [m["id"] for m in both] == [[m for m in every if "downtime" in (m["subject"] or "").lower()][-1]["id"]]
    assert cli("--db", db_url, "messages", "--limit", "0").exit_code == 2


def test_readme_shows_the_cron_line_once_with_the_config_path():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    cron_lines = [line for line in readme.splitlines() if re.match(r"\s*(#\s*)?\*/\d+ \* \* \* \*", line)]
    assert len(cron_lines) == 1, cron_lines
    assert "--config /etc/caltac-inbox/config.toml poll" in cron_lines[0]
    assert "`$XDG_CONFIG_DIRS` (default `/etc/xdg`)" in readme and "system-wide `/etc/caltac-inbox/config.toml`" in readme


def test_changes_are_kept_and_shown_again_on_every_backend(db_url, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    for sample in (ROOT / "samples").glob("2020-07-15-transition-downtime.eml"):
        (first / sample.name).write_bytes(sample.read_bytes())
    (second / "designation.eml").write_bytes((ROOT / "samples" / "2019-09-03-designated-lea-coordinator.eml").read_bytes())
    ingested = cli("--db", db_url, "ingest", "--mailbox", "coordinator", first)
    assert ingested.exit_code == 0 and ingested.output.startswith("new      designation designate the LEA "
                                                                  "coordinator (CAASPP, due 2020-08-14 17:00)\n")
    again = json.loads(cli("--db", db_url, "ingest", "--mailbox", "coordinator", first, "--json").output)
    assert again["changes"] == []  # nothing new, nothing changed
    cli("--db", db_url, "ingest", "--mailbox", "coordinator", second)

    last = [json.loads(line) for line in cli("--db", db_url, "changes", "--since", "last-poll", "--json").output.splitlines()]
    assert [(c["kind"], c["change"], c["mailbox"]) for c in last] == [("designation", "new", "coordinator")]
    every = [json.loads(line) for line in cli("--db", db_url, "changes", "--since", "2000-01-01", "--json").output.splitlines()]
    assert [c["change"] for c in every] == ["new"] * len(every) and len(every) > len(last)
    assert all(c["recorded_at"].endswith(("-07:00", "-08:00")) for c in every)
    assert cli("--db", db_url, "changes", "--since", "tomorrow").output == ""
    table = cli("--db", db_url, "changes", "--since", "last-poll").output.splitlines()
    assert len(table) == 1 and table[0][16:].startswith("  new      designation ")
    bad = cli("--db", db_url, "changes", "--since", "someday soon-ish")
    assert bad.exit_code == 2


def test_db_takes_a_plain_path_as_most_people_type_it(tmp_path, monkeypatch):
    """D4: `--db caltac.db` is that SQLite file (here: in the current directory)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    assert cli("--db", "caltac.db", "ingest", ROOT / "samples").exit_code == 0
    assert (tmp_path / "caltac.db").is_file()
    upcoming = cli("--db", "caltac.db", "upcoming", "--as-of", "2020-08-01")
    assert upcoming.exit_code == 0 and "systems unavailable" in upcoming.output
    monkeypatch.setenv("CALTAC_INBOX_DB", "caltac.db")
    assert "systems unavailable" in cli("upcoming", "--as-of", "2020-08-01").output
    assert cli("doctor").exit_code == 0
