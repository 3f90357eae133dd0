"""`caltac-inbox poll` against a misbehaving IMAP server (tests/fake_imap.py, on loopback):
what a real Dovecot never does, a broken or hostile server may (issue 25, DESIGN.md poller
rules 6 and 9). Every poll runs the real CLI in a subprocess.

- A FETCH reply that leaves a message out, drops its body or names another UID loses
  nothing: the checkpoint stops before it, the poll exits non-zero, the next poll gets it.
- A server that trickles its reply a byte at a time cannot keep the poll past `deadline`.
- A folder too large for one UID SEARCH reply (imaplib refuses lines over 1 MB) backfills.
- A UIDVALIDITY that is not a number and a UID over 32 bits are one-line errors, exit 4.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fake_imap import PASSWORD, FakeImapServer, Script

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [ROOT / "samples" / name for name in (
    "2016-09-09-extended-downtime.eml", "2019-03-18-credential-reminder.eml",
    "2019-09-03-designated-lea-coordinator.eml")]


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def three_notices() -> dict[int, bytes]:
    return {uid: crlf(path.read_bytes()) for uid, path in zip((10, 11, 12), SAMPLES)}


class Poll:
    def __init__(self, tmp_path: Path, server: FakeImapServer) -> None:
        self.db_file = tmp_path / "caltac.db"
        self.config = tmp_path / "config.toml"
        self.server = server
        self.tmp = tmp_path
        self.configure()

    def configure(self, **extra: object) -> None:
        self.config.write_text(self.server.mailbox_toml(**extra))

    def run(self, *args: str, timeout: float = 120) -> tuple[int, dict, str, float]:
        env = dict(os.environ, CALTAC_INBOX_CONFIG=str(self.config), CALTAC_INBOX_DB=f"sqlite:///{self.db_file}",
                   CALTAC_FAKE_IMAP_PASSWORD=PASSWORD, XDG_STATE_HOME=str(self.tmp / "state"),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "caltac_inbox.cli", "poll", "--json", *args], env=env,
                              capture_output=True, text=True, timeout=timeout, cwd=self.tmp, check=False)
        took = time.monotonic() - started
        assert "Traceback" not in done.stderr and "unexpected" not in done.stderr, done.stderr
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        return done.returncode, (lines[0] if lines else {}), done.stderr, took

    def last_uid(self) -> int | None:
        with sqlite3.connect(self.db_file) as conn:
            row = conn.execute("SELECT last_uid FROM imap_state").fetchone()
        return None if row is None else row[0]

    def stored_uids(self) -> list[int]:
        with sqlite3.connect(self.db_file) as conn:
            return [r[0] for r in conn.execute(
                "SELECT uid FROM imap_messages WHERE status != 'ignored' ORDER BY uid")]


@pytest.mark.parametrize("fault", ["omit", "no_body", "renumber"])
def test_a_message_left_out_of_a_fetch_reply_is_kept_for_the_next_poll(tmp_path, fault):
    notices = three_notices()
    script = Script(uids=sorted(notices), body=notices.__getitem__)
    if fault == "omit":
        script.omit.add(11)
    elif fault == "no_body":
        script.no_body.add(11)
    else:
        script.renumber[11] = 99
    with FakeImapServer(script) as server:
        poll = Poll(tmp_path, server)
        code, report, stderr, _ = poll.run()
        assert code == 1 and report["errors"] == 1, (report, stderr)
        assert "uid=11" in stderr and "left this message out" in stderr and "next poll" in stderr
        assert poll.last_uid() == 10  # not past the message left out
        assert poll.stored_uids() == [10, 12]
        before = len(script.commands)
        code, report, stderr, _ = poll.run()  # still left out: still an error
        assert code == 1 and report["errors"] == 1 and poll.last_uid() == 10
        fetches = [c.split()[3] for c in script.commands[before:] if b"UID FETCH" in c]
        assert fetches and set(fetches) == {b"11"}  # only the one left out is asked for again
        script.omit.clear()
        script.no_body.clear()
        script.renumber.clear()
        code, report, stderr, _ = poll.run()
        assert code == 0 and report["errors"] == 0 and report["fetched"] == 1, (report, stderr)
        assert poll.last_uid() == 12 and poll.stored_uids() == [10, 11, 12]


def test_a_message_expunged_meanwhile_is_no_error(tmp_path):
    notices = three_notices()
    script = Script(uids=sorted(notices), body=notices.__getitem__)
    original_fetch = FakeImapServer._fetch

    def fetch_then_expunge(self, conn, tag, args):  # the body FETCH finds 11 gone
        if "BODY.PEEK[]" in args.upper():
            self.script.uids = [10, 12]
        original_fetch(self, conn, tag, args)

    with FakeImapServer(script) as server:
        server._fetch = fetch_then_expunge.__get__(server)  # type: ignore[method-assign]
        poll = Poll(tmp_path, server)
        code, report, stderr, _ = poll.run()
        assert code == 0 and report["errors"] == 0, (report, stderr)
        assert poll.last_uid() == 12


@pytest.mark.slow
def test_a_server_trickling_bytes_cannot_outlast_the_deadline(tmp_path):
    notices = three_notices()
    # the body FETCH reply goes out a byte each 50 ms (a read never waits for long), for up to 60 s
    script = Script(uids=sorted(notices), body=notices.__getitem__, trickle_bodies=True, trickle_for=60.0)
    with FakeImapServer(script) as server:
        poll = Poll(tmp_path, server)
        poll.configure(deadline=5, read_timeout=4)
        code, report, stderr, took = poll.run(timeout=100)
    assert took < 5 + 8, f"the poll ran {took:.0f} s with deadline = 5"
    assert code != 0 and "deadline" in stderr, (report, stderr)


@pytest.mark.slow
def test_a_server_trickling_its_greeting_cannot_outlast_the_deadline(tmp_path):
    # the greeting (before IMAPClient returns, before any command) goes out a byte each 50 ms
    script = Script(uids=[], body=lambda uid: b"", trickle_greeting=True, trickle_for=60.0)
    with FakeImapServer(script) as server:
        poll = Poll(tmp_path, server)
        poll.configure(deadline=4, read_timeout=3)
        code, report, stderr, took = poll.run(timeout=100)
    assert took < 4 + 8, f"the poll ran {took:.0f} s with deadline = 4"
    assert code != 0 and "deadline" in stderr, (report, stderr)


@pytest.mark.slow
def test_a_folder_too_large_for_one_search_reply_backfills(tmp_path):
    notices = three_notices()
    friend = crlf(b"From: Pat Friend <pat@gmail.com>\nTo: coordinator@district.example\nSubject: Lunch?\n"
                  b"Date: Tue, 14 Jul 2020 09:00:00 -0700\nMessage-ID: <lunch@gmail.com>\n\nLunch on Friday?\n")
    # 200,000 UIDs of 7 digits: one UID SEARCH reply would be 1.6 MB, over imaplib's 1 MB limit
    uids = list(range(1_000_001, 1_000_001 + 200_000))
    firsts = dict(zip(uids[:3], notices.values()))
    script = Script(uids=uids, body=lambda uid: firsts.get(uid, friend))
    with FakeImapServer(script) as server:
        poll = Poll(tmp_path, server)
        poll.configure(deadline=6)
        code, report, stderr, _ = poll.run()
        assert "more than" not in stderr, stderr
        assert report["folders"][0]["examined"] >= 500 and report["new"] == 3, (report, stderr)
        assert code == 1 and report["folders"][0]["deadline_reached"]  # a long backfill goes on next run
        assert poll.last_uid() >= uids[499]
        searches = [c for c in script.commands if b"UID SEARCH" in c]
        assert len(searches) >= 2  # the boundaries, then the first range
        assert all(len(c) < 1000 for c in searches)


@pytest.mark.parametrize("fault, said", [
    ({"uidvalidity": b"abc"}, "UIDVALIDITY"),  # not a number
    ({"search_extra": [b"1" + b"0" * 23]}, "not an IMAP UID"),  # a UID over 32 bits
])
def test_numbers_no_imap_server_may_send_are_a_connection_error(tmp_path, fault, said):
    notices = three_notices()
    script = Script(uids=sorted(notices), body=notices.__getitem__, **fault)
    with FakeImapServer(script) as server:
        poll = Poll(tmp_path, server)
        code, report, stderr, _ = poll.run()
    assert code == 4, (report, stderr)
    [line] = stderr.splitlines()
    assert line.startswith("caltac-inbox: error: ") and said in line
    assert not poll.db_file.exists() or poll.last_uid() is None
