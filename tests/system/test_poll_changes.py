"""A poll says what it changed in the timeline, one line per entry, and nothing when
nothing changed; --notify-command gets the same changes as JSON; `changes` shows them again."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.dovecot import crlf, dovecot  # noqa: F401 - fixture
from tests.shared import SHARED, needs_shared
from tests.system.test_imap_dovecot import Poller

pytestmark = [pytest.mark.dovecot, needs_shared("corpus")]

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "samples" / "2016-09-09-extended-downtime.eml"  # the "004" extension notice

NOTIFY_SCRIPT = """import sys
with open(sys.argv[1], "wb") as out:
    out.write(sys.stdin.buffer.read())
"""


def horizon_164() -> bytes:
    (found,) = sorted((SHARED / "corpus").glob("*-164-*.eml"))
    return crlf(found.read_bytes())


@pytest.fixture
def poller(tmp_path, dovecot):  # noqa: F811
    return Poller(tmp_path, dovecot)


def test_second_poll_prints_the_extension_and_notifies_with_json(poller, dovecot, tmp_path):  # noqa: F811
    script = tmp_path / "notify.py"
    script.write_text(NOTIFY_SCRIPT)
    received = tmp_path / "received.json"
    notify = f"{sys.executable} {script} {received}"

    dovecot.append([horizon_164()])
    first = poller.run("--notify-command", notify)  # stdout is a pipe, as under cron
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "new      downtime TOMS, ORS, CSS unavailable (CAASPP, from 2016-08-26 17:00): until 2016-09-06",
        "new      downtime TDS, TAI, ARMS, IAVS, IAHSS unavailable (CAASPP, from 2016-08-26 17:00): until 2016-09-11 23:59",
    ]
    assert [c["change"] for c in json.loads(received.read_text())] == ["new", "new"]
    received.unlink()

    dovecot.append([crlf(EXTENSION.read_bytes())])
    second = poller.run("--notify-command", notify)
    assert second.returncode == 0, second.stderr
    lines = second.stdout.splitlines()
    assert lines[0].startswith("changed  downtime TOMS, ORS, CSS unavailable (CAASPP, from 2016-08-26 17:00): "
                               "end 2016-09-06 → 2016-09-13 23:59"), lines
    assert lines[0].endswith("(extended)")
    assert len(lines) == 2 and lines[1].startswith("changed  downtime TDS, TAI")
    sent = json.loads(received.read_text())
    toms = next(c for c in sent if c["summary"].startswith("TOMS"))
    assert toms["change"] == "changed" and toms["reason"] == "extended"
    assert toms["before"]["end"] == "2016-09-06" and toms["after"]["end"] == "2016-09-13T23:59:00-07:00"
    assert toms["uid"].startswith("downtime-") and toms["kind"] == "downtime"
    assert {c["mailbox"] for c in sent} == {"coordinator"}  # which mailbox, as `changes --json` says

    # kept: shown again later, and as JSON
    again = poller.run("--since", "last-poll", command="changes")
    assert again.returncode == 0, again.stderr
    assert [line[18:] for line in again.stdout.splitlines()] == lines
    stored = [json.loads(line) for line in poller.run("--since", "2000-01-01", "--json", command="changes").stdout.splitlines()]
    assert [c["change"] for c in stored] == ["new", "new", "changed", "changed"]
    assert {c["mailbox"] for c in stored} == {"coordinator"}

    # nothing new: nothing printed, nothing notified
    received.unlink()
    third = poller.run("--notify-command", notify)
    assert (third.returncode, third.stdout, third.stderr) == (0, "", "")
    assert not received.exists()


def test_poll_json_carries_the_changes(poller, dovecot):  # noqa: F811
    dovecot.append([horizon_164()])
    code, report, err = poller.poll_json()
    assert code == 0, err
    assert [c["change"] for c in report["changes"]] == ["new", "new"]
    code, report, err = poller.poll_json()
    assert (code, report["changes"]) == (0, [])


def test_failing_notify_command_is_one_line_and_exit_1_and_the_data_stays(poller, dovecot, tmp_path):  # noqa: F811
    dovecot.append([horizon_164()])
    done = poller.run("--notify-command", f"{sys.executable} -c 'import sys; sys.exit(3)'")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"caltac-inbox: error: notify command {sys.executable!r} failed with exit status 3 (the changes are "
        "stored: `caltac-inbox changes --since last-poll`)"]
    assert poller.query("SELECT count(*) FROM entries") == [(2,)]
    assert len(poller.query("SELECT id FROM timeline_changes")) == 2


def test_notify_command_from_the_config_file(poller, dovecot, tmp_path):  # noqa: F811
    script = tmp_path / "notify.py"
    script.write_text(NOTIFY_SCRIPT)
    received = tmp_path / "got.json"
    poller.configure(extra="")
    poller.config_file.write_text(f'notify_command = "{sys.executable} {script} {received}"\n'
                                  + poller.config_file.read_text())
    dovecot.append([horizon_164()])
    done = poller.run()
    assert done.returncode == 0, done.stderr
    assert len(json.loads(received.read_text())) == 2


def test_verbose_adds_the_counts_under_cron(poller, dovecot):  # noqa: F811
    dovecot.append([horizon_164()])
    done = poller.run("--verbose")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "coordinator: fetched 1, new 1, facts 2, errors 0"
