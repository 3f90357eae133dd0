"""Issue 17's small roughnesses: a lock held is no cron mail, an extension is shown with
its status, needs_review says why, times are Los Angeles time, an unknown host fails at once."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from caltac_inbox.cli import main
from caltac_inbox.cli.mailbox import _print_report
from caltac_inbox.sources.imap import MailboxReport

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "tests" / "data" / "lea_caaspp_coordinator_checklist_2026_27.txt"
LA_OFFSETS = ("-07:00", "-08:00")


def cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_lock_held_is_told_on_a_terminal_and_quiet_under_cron(capsys):
    report = MailboxReport(mailbox="coordinator", skipped="another poll is running (lock held by pid 4242); skipping")
    _print_report(report, as_json=False, interactive=True)
    shown = capsys.readouterr()
    assert shown.out == "coordinator: another poll is running (lock held by pid 4242); skipping\n"
    assert shown.err == ""
    _print_report(report, as_json=False, interactive=False)
    assert capsys.readouterr() == ("", "")


def test_extract_shows_an_extension_with_its_status_not_as_a_point():
    result = cli("extract", ROOT / "samples" / "2016-09-09-extended-downtime.eml")
    assert result.exit_code == 0, result.output
    header, _rule, row = result.output.splitlines()
    assert header.split() == ["source", "kind", "when", "until", "program", "status", "what"]
    cells = row.split("  ")
    assert "2016-09-13 23:59" in row and row.count("2016-09-13 23:59") == 1
    assert "extended" in [c.strip() for c in cells]


def test_needs_review_says_why_and_times_are_los_angeles(tmp_path):
    db = f"sqlite:///{tmp_path / 'caltac.db'}"
    assert cli("--db", db, "checklist", "import", SEED).exit_code == 0
    entries = [json.loads(line) for line in cli("--db", db, "timeline", "--json").output.splitlines()]
    flagged = [e for e in entries if e.get("needs_review")]
    assert flagged and all(e.get("review_reason") for e in flagged)
    designation = next(e for e in flagged if e["kind"] == "designation" and e["due"] == "2026-07-01")
    assert designation["review_reason"] == "July 1, 2026 is before the month it is listed under"
    shown = cli("--db", db, "show", designation["id"])
    assert "  review_reason: July 1, 2026 is before the month it is listed under" in shown.output.splitlines()
    detail = json.loads(cli("--db", db, "show", designation["id"], "--json").output)
    assert detail["updated_at"].endswith(LA_OFFSETS)
    messages = [json.loads(line) for line in cli("--db", db, "messages", "--json").output.splitlines()]
    assert messages and all(m["archived_at"].endswith(LA_OFFSETS) for m in messages)


def test_a_host_that_does_not_exist_fails_at_once_with_one_line(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[[mailbox]]\nname = "coordinator"\nhost = "imap.no-such-district.invalid"\n'
                      'username = "me"\npassword_env = "CALTAC_TEST_PASSWORD"\nretries = 3\nretry_delay = 40\n')
    env = dict(os.environ, CALTAC_TEST_PASSWORD="x", CALTAC_INBOX_CONFIG=str(config),
               CALTAC_INBOX_DB=f"sqlite:///{tmp_path / 'caltac.db'}", XDG_STATE_HOME=str(tmp_path / "state"),
               PYTHONPATH=str(ROOT))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "caltac_inbox.cli", "poll"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert done.returncode == 4, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "host 'imap.no-such-district.invalid' not found" in lines[0], done.stderr
    # One retry would wait 40 s (then 80 s, 160 s): far above any start-up on a loaded machine,
    # so the bound tells "no retry" from "retried" without timing anything finer.
    assert elapsed < 40
