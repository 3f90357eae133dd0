"""Dates as people type them on the command line (issue 17): --as-of, --from and --to
take ISO days, today, weekdays, offsets and phrases, read in America/Los_Angeles, and
tell back on stderr which day a non-ISO value was read as."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.fakes import DOWNTIME, RETENTION, make_eml
from tests.system.test_cli import fakes, run  # noqa: F401 - fixtures


def la_today():
    return datetime.now(ZoneInfo("America/Los_Angeles")).date()


@pytest.fixture
def filled(run, fakes, tmp_path):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'x.db'}"
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "a.eml").write_bytes(make_eml(facts=[DOWNTIME, RETENTION]))
    assert run("--db", url, "ingest", "--mailbox", "district-a", tmp_path / "mail").exit_code == 0
    return url


def test_as_of_next_monday_is_read_and_told_back(run, filled):  # noqa: F811
    today = la_today()
    monday = today + timedelta(days=(0 - today.weekday()) % 7 or 7)
    result = run("--db", filled, "upcoming", "--as-of", "next monday")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"as of Monday {monday.isoformat()} (next monday)\n"
    assert result.stdout == (f"Nothing coming up between {monday.isoformat()} and "  # the samples are years back
                             f"{(monday + timedelta(days=60)).isoformat()}.\n")


def test_today_is_the_day_in_los_angeles(run, filled):  # noqa: F811
    result = run("--db", filled, "upcoming", "--as-of", "today", "--days", "1")
    today = la_today()
    assert result.exit_code == 0 and result.stderr == f"as of {today:%A} {today.isoformat()} (today)\n"
    assert result.stdout == f"Nothing coming up between {today.isoformat()} and {today + timedelta(days=1)}.\n"


def test_a_phrase_selects_the_same_entries_as_the_iso_day(run, filled):  # noqa: F811
    by_iso = run("--db", filled, "upcoming", "--as-of", "2020-08-01", "--json")
    by_phrase = run("--db", filled, "upcoming", "--as-of", "August 1, 2020", "--json")
    assert by_iso.exit_code == by_phrase.exit_code == 0
    assert by_iso.stderr == "" and by_phrase.stderr == "as of Saturday 2020-08-01 (August 1, 2020)\n"
    # stdout stays JSON Lines: the echo is on stderr only
    assert by_phrase.stdout == by_iso.stdout and {json.loads(x)["kind"] for x in by_phrase.stdout.splitlines()} == {
        "downtime", "retention"}


def test_offsets_on_from_and_to(run, filled):  # noqa: F811
    result = run("--db", filled, "timeline", "--from", "-2w", "--to", "+7d", "--csv")
    today = la_today()
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"from {today - timedelta(weeks=2):%A} {(today - timedelta(weeks=2)).isoformat()} (-2w)",
        f"to {today + timedelta(days=7):%A} {(today + timedelta(days=7)).isoformat()} (+7d)"]
    assert result.stdout == "id,when,until,kind,program,status,what,flags\n"


@pytest.mark.parametrize("args", [("upcoming", "--as-of", "soonish"), ("timeline", "--from", "2020-13-01"),
                                  ("export-ics", "--to", "the day after"), ("upcoming", "--as-of", "5")])
def test_unreadable_dates_are_one_line_usage_errors_saying_what_is_accepted(run, tmp_path, args):  # noqa: F811
    result = run("--db", f"sqlite:///{tmp_path / 'x.db'}", *args)
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"caltac-inbox: error: Invalid value for '{args[1]}': ") and "YYYY-MM-DD" in line


@pytest.mark.parametrize("command", ["timeline", "export-ics"])
def test_from_after_to_is_a_usage_error(run, filled, command):  # noqa: F811
    result = run("--db", filled, command, "--from", "2021-01-01", "--to", "2020-01-01")
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("caltac-inbox: error: --from 2021-01-01 is after --to 2020-01-01; give the earlier "
                           "day to --from (see `") and line.endswith(f" {command} --help`)")
    same_day = run("--db", filled, command, "--from", "2020-08-14", "--to", "2020-08-14")
    assert same_day.exit_code == 0 and same_day.stdout


def test_export_ics_reads_phrases_too(run, filled):  # noqa: F811
    result = run("--db", filled, "export-ics", "--from", "Aug 14 2020", "--to", "2020-08-14")
    assert result.exit_code == 0 and result.stderr == "from Friday 2020-08-14 (Aug 14 2020)\n"
    assert result.stdout.count("BEGIN:VEVENT") == 2


@pytest.mark.parametrize("args, said", [
    (("upcoming", "--as-of", "2020-08-01", "--days", "5"), "Nothing coming up between 2020-08-01 and 2020-08-06."),
    (("upcoming", "--as-of", "2020-08-01", "--kind", "designation", "--kind", "Deadline", "--mailbox", "district-a"),
     "Nothing coming up between 2020-08-01 and 2020-09-30 (kind designation or deadline, mailbox district-a)."),
    (("upcoming", "--as-of", "2020-08-01", "--program", "elpac", "--kind", "downtime"),
     "Nothing coming up between 2020-08-01 and 2020-09-30 (kind downtime, program ELPAC)."),
    (("timeline", "--from", "2021-01-01", "--to", "2021-06-30"), "No entries from 2021-01-01 to 2021-06-30."),
    (("timeline", "--from", "2021-01-01"), "No entries from 2021-01-01 on."),
    (("timeline", "--to", "2019-12-31", "--include-cancelled"), "No entries up to 2019-12-31 (cancelled included)."),
    (("timeline", "--mailbox", "district-a", "--kind", "task"), "No entries (kind task, mailbox district-a)."),
])
def test_an_empty_result_names_the_period_and_filters(run, filled, args, said):  # noqa: F811
    result = run("--db", filled, *args)
    assert result.exit_code == 0 and result.stdout == said + "\n"
    assert run("--db", filled, *args, "--json").stdout == ""  # JSON Lines of nothing: no line at all
