"""`caltac-inbox poll` and `doctor` against a real Dovecot (tests/dovecot.py): read-only,
incremental, crash-safe, one poll per mailbox at a time, clear errors, no secret leaks.

Every poll runs the real CLI in a subprocess, so kill -9 and concurrent runs are real.
What the poller downloaded is counted by Dovecot itself (its per-session body_count).
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from caltac_inbox.sources.imap import MailboxReport, body_fetch_groups
from tests.dovecot import DovecotServer, crlf, dovecot  # noqa: F401 - fixture

pytestmark = pytest.mark.dovecot

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "samples").glob("*.eml"))
CLI = [sys.executable, "-m", "caltac_inbox.cli"]
WRONG_PASSWORD = "Wr0ng-Pa55-4-caltac-tests"

FRIEND = crlf(b"""From: Pat Friend <pat@gmail.com>
To: coordinator@district.example
Subject: Lunch on Friday?
Date: Tue, 14 Jul 2020 09:00:00 -0700
Message-ID: <lunch-1@gmail.com>

Are we still on for lunch on Friday?
""")
COLLEAGUE_FORWARD = crlf(b"""From: Tom Alvarez <talvarez@district.k12.ca.us>
To: coordinator@district.example
Subject: FW: Parking lot repaving
Date: Wed, 15 Jul 2020 10:00:00 -0700
Message-ID: <fw-parking@district.k12.ca.us>

FYI

-----Original Message-----
From: Facilities <facilities@district.k12.ca.us>
Sent: Tuesday, July 14, 2020 3:00 PM
To: All Staff <staff@district.k12.ca.us>
Subject: Parking lot repaving

The parking lot will be repaved on Friday, July 17.
""")


def sample_bytes() -> list[bytes]:
    if not SAMPLES:
        pytest.skip("samples/*.eml not built yet")
    return [crlf(p.read_bytes()) for p in SAMPLES]


def copies(count: int) -> list[bytes]:
    """`count` distinct messages (distinct bytes and Message-ID) made from the samples."""
    base = sample_bytes()
    out = []
    for i in range(count):
        raw = base[i % len(base)]
        out.append(b"X-Test-Copy: %d\r\n" % i + raw.replace(b"Message-ID: <", b"Message-ID: <copy%d." % i, 1))
    return out


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def padded(raw: bytes, size: int) -> bytes:
    """`raw` made distinct and at least `size` bytes long by text lines after its body."""
    line = b"padding " + b"x" * 66 + b"\r\n"
    return b"X-Test-Padded: %d\r\n" % size + raw.rstrip(b"\r\n") + b"\r\n" + line * (size // len(line) + 1)


def imported_modules(importtime_stderr: str) -> set[str]:
    """Module names from `python -X importtime` output."""
    return {line.rsplit("|", 1)[1].strip() for line in importtime_stderr.splitlines()
            if line.startswith("import time:") and "|" in line} - {"imported package"}


class Poller:
    """A caltac-inbox configuration + database for one Dovecot, and ways to run it."""

    def __init__(self, tmp_path: Path, server: DovecotServer) -> None:
        self.tmp = tmp_path
        self.server = server
        self.db_file = tmp_path / "caltac.db"
        self.config_file = tmp_path / "config.toml"
        self.configure()
        self.env = dict(os.environ)
        self.env.update(
            CALTAC_INBOX_CONFIG=str(self.config_file),
            CALTAC_INBOX_DB=f"sqlite:///{self.db_file}",
            CALTAC_TEST_IMAP_PASSWORD=server.password,
            XDG_STATE_HOME=str(tmp_path / "state"),
            XDG_DATA_HOME=str(tmp_path / "data"),
            XDG_CONFIG_HOME=str(tmp_path / "config"),
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        )

    def configure(self, **kwargs) -> None:
        self.config_file.write_text(self.server.mailbox_toml(**kwargs))

    def run(self, *args: str, command: str = "poll", timeout: float = 180,
            python_options: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, *python_options, *CLI[1:], command, *args]
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout, cwd=self.tmp)

    def poll_json(self, *args: str) -> tuple[int, dict, str]:
        done = self.run("--json", *args)
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        assert len(lines) == 1, (done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        return done.returncode, lines[0], done.stderr

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([*CLI, "poll", *args], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=self.tmp)

    def query(self, sql: str, *params) -> list[tuple]:
        if not self.db_file.exists():
            return []
        conn = sqlite3.connect(f"file:{self.db_file}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise
        finally:
            conn.close()

    def stored_count(self) -> int:
        try:
            rows = self.query("SELECT count(*) FROM messages")
        except sqlite3.OperationalError:  # locked for a moment, or being created
            return 0
        return rows[0][0] if rows else 0

    def stored_hashes(self) -> list[str]:
        return [r[0] for r in self.query("SELECT sha256 FROM messages")]

    def wait_until_storing(self, proc: subprocess.Popen[str], at_least: int = 1, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            count = self.stored_count()
            if count >= at_least:
                return count
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError(f"poll ended before storing: {proc.returncode} {out} {err}")
            time.sleep(0.01)
        raise AssertionError("poll did not start storing")


@pytest.fixture
def poller(tmp_path, dovecot):  # noqa: F811
    return Poller(tmp_path, dovecot)


def assert_exactly_once(poller: Poller, expected: list[bytes]) -> None:
    hashes = poller.stored_hashes()
    assert len(hashes) == len(set(hashes))
    assert sorted(hashes) == sorted(sha(raw) for raw in expected)


# -- the rules -------------------------------------------------------------------------


def test_first_poll_stores_the_samples_and_ignores_other_mail(poller, dovecot):  # noqa: F811
    samples = sample_bytes()
    dovecot.append(samples + [FRIEND, COLLEAGUE_FORWARD])
    code, report, err = poller.poll_json()
    assert code == 0, err
    assert report["mailbox"] == "coordinator"
    assert report["new"] == len(samples)
    assert report["ignored"] == 2
    # the colleague's "FW:" was downloaded (it could have been a notice), the friend's mail not
    assert report["fetched"] == len(samples) + 1
    assert report["facts"] == poller.query("SELECT count(*) FROM facts")[0][0]
    assert report["errors"] == 0
    assert_exactly_once(poller, samples)

    # forwarded CalTAC notices got through the sender filter, judged on the original sender
    forwarded = poller.query("SELECT sender, forwarded_by FROM messages WHERE forwarded_by IS NOT NULL")
    assert forwarded, "no forwarded sample was stored"
    assert all(sender.lower().endswith("ets.org") for sender, _ in forwarded)

    # every downloaded UID is recorded; the colleague's own mail as ignored, not archived
    statuses = dict(poller.query("SELECT status, count(*) FROM imap_messages GROUP BY status"))
    assert statuses == {"stored": len(samples), "ignored": 1}
    (state,) = poller.query("SELECT uidvalidity, last_uid FROM imap_state WHERE mailbox='coordinator' AND folder='INBOX'")
    assert state == (dovecot.uidvalidity(), len(samples) + 2)
    assert not poller.query("SELECT 1 FROM messages WHERE sender LIKE '%gmail.com' OR subject LIKE '%Parking%'")


def test_second_poll_downloads_no_bodies_and_no_flag_changes(poller, dovecot):  # noqa: F811
    samples = sample_bytes()
    dovecot.append(samples[:3], flags=(b"\\Flagged",))
    dovecot.append(samples[3:] + [FRIEND])
    before = dovecot.flags()
    code, first, err = poller.poll_json()
    assert code == 0 and first["new"] == len(samples), err
    bodies_after_first = dovecot.body_fetches()
    assert bodies_after_first >= len(samples)

    code, second, err = poller.poll_json()
    assert code == 0, err
    assert (second["fetched"], second["new"], second["ignored"]) == (0, 0, 0)
    assert dovecot.body_fetches() == bodies_after_first  # counted by the server

    after = dovecot.flags()
    assert after == before
    assert not any(b"\\Seen" in flags for flags in after.values())


def test_cron_run_is_silent_when_nothing_is_new(poller, dovecot):  # noqa: F811
    dovecot.append(sample_bytes()[:2])
    first = poller.run()  # stdout is a pipe, as under cron
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("new      downtime ")  # the new entries, no counts
    assert "fetched" not in first.stdout
    second = poller.run()
    assert second.returncode == 0
    assert second.stdout == "" and second.stderr == ""


# Not needed to poll, and slow to import: SQLAlchemy alone is ~0.25 s of a ~0.4 s run.
NOT_FOR_A_NOOP_POLL = ("sqlalchemy", "alembic", "psycopg", "mailparser", "bs4", "dateparser", "caltac_inbox.pipeline",
                       "caltac_inbox.parse", "caltac_inbox.classify", "caltac_inbox.store.write", "caltac_inbox.timeline",
                       "caltac_inbox.store.schema", "caltac_inbox.model", "email.policy")


def test_noop_poll_reads_the_checkpoint_without_sqlalchemy_and_new_mail_still_lands(poller, dovecot):  # noqa: F811
    samples = sample_bytes()
    dovecot.append(samples[:3])
    assert poller.poll_json()[1]["new"] == 3  # creates the database through the full store

    noop = poller.run("--json", python_options=("-X", "importtime"))
    assert noop.returncode == 0, noop.stderr
    report = json.loads(noop.stdout)
    assert (report["fetched"], report["new"], report["folders"][0]["uidvalidity"]) == (0, 0, dovecot.uidvalidity())
    modules = imported_modules(noop.stderr)
    assert "imapclient" in modules and "caltac_inbox.store.light" in modules  # it did poll
    heavy = sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in NOT_FOR_A_NOOP_POLL))
    assert not heavy, heavy

    # the checkpoint read that way is the real one: only the new message is fetched
    dovecot.append(samples[3])
    code, report, err = poller.poll_json()
    assert (code, report["fetched"], report["new"]) == (0, 1, 1), err
    assert poller.query("SELECT uidvalidity, last_uid FROM imap_state") == [(dovecot.uidvalidity(), 4)]
    assert_exactly_once(poller, samples[:4])
    assert poller.poll_json()[1]["fetched"] == 0


def test_terminal_gets_a_progress_bar_and_a_summary_line(poller, dovecot):  # noqa: F811
    import pty

    dovecot.append(copies(60))
    main, child = pty.openpty()
    try:
        proc = subprocess.Popen([*CLI, "poll"], env=poller.env, stdout=child, stderr=child,
                                stdin=subprocess.DEVNULL, cwd=poller.tmp)
        os.close(child)
        chunks = []
        while True:
            try:
                data = os.read(main, 4096)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=120)
    finally:
        os.close(main)
    out = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, out
    assert "coordinator/INBOX" in out and "100%" in out  # click.progressbar
    assert "coordinator: fetched 60, new 60" in out
    again = poller.run()  # and nothing on a pipe once nothing is new
    assert again.stdout == ""


def test_unparseable_message_is_kept_as_failed_exit_1(poller, dovecot):  # noqa: F811
    broken = crlf(b"X-Mailer: broken gateway\n\nCAASPP systems will be unavailable.\n")
    dovecot.append([sample_bytes()[0], broken])
    code, report, err = poller.poll_json()
    assert code == 1
    assert (report["new"], report["errors"]) == (2, 1)
    assert "imap://coordinator/INBOX;uidvalidity=" in err and "uid=2" in err
    assert poller.query("SELECT parse_status FROM messages WHERE sha256 = ?", sha(broken)) == [("failed",)]
    assert poller.query("SELECT status FROM imap_messages WHERE uid = 2") == [("failed",)]
    code, report, _ = poller.poll_json()  # recorded: not fetched again, not an error again
    assert (code, report["fetched"]) == (0, 0)


def test_message_over_max_message_mb_is_archived_unparsed_with_the_reason(poller, dovecot):  # noqa: F811
    samples = sample_bytes()
    big = padded(samples[0], 1_200_000)
    dovecot.append([samples[1], big, samples[2]])
    poller.configure(extra="max_message_mb = 1")
    code, report, err = poller.poll_json()
    assert code == 1  # like a parse failure: kept, and listed by `messages --failed`
    assert (report["fetched"], report["new"], report["errors"]) == (3, 3, 1)
    assert "uid=2" in err and "over the 1048576-byte size limit" in err

    assert poller.query("SELECT parse_status, size, length(raw) FROM messages WHERE sha256 = ?", sha(big)) == [
        ("skipped", len(big), len(big))]  # the raw bytes are kept for `reparse --all`
    assert sorted(poller.query("SELECT parse_status FROM messages WHERE sha256 != ?", sha(big))) == [("ok",), ("ok",)]
    listed = poller.run("--failed", "--json", command="messages")
    assert listed.returncode == 0, listed.stderr
    (failed,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert failed["parse_status"] == "skipped" and "size limit" in failed["parse_error"]

    code, report, _ = poller.poll_json()  # recorded: not fetched again
    assert (code, report["fetched"]) == (0, 0)


@dataclass(frozen=True)
class BodyFetch:
    uids: tuple[int, ...]  # as requested
    sizes: dict[int, int]  # bytes of each body the server returned


@dataclass(frozen=True)
class PollTrace:
    report: MailboxReport
    body_fetches: list[BodyFetch]
    fetches: int  # every FETCH: headers, first body bytes, bodies
    commands: int  # tagged IMAP commands


def poll_in_process(poller: Poller, monkeypatch, **options) -> PollTrace:
    """One poll in this process (so options can be passed to poll_mailbox), with what it
    sent to the server."""
    import imaplib

    from imapclient import IMAPClient

    from caltac_inbox.config import load_config
    from caltac_inbox.cli.mailbox import LazyPollStore
    from caltac_inbox.cli.mailbox import poll_mailbox
    from caltac_inbox.sources.imap import FETCH_BODY

    body_fetches: list[BodyFetch] = []
    fetches = commands = 0
    real_fetch, real_new_tag = IMAPClient.fetch, imaplib.IMAP4._new_tag

    def recording_fetch(client, messages, data, modifiers=None):
        nonlocal fetches
        fetches += 1
        response = real_fetch(client, messages, data, modifiers)
        if FETCH_BODY in data:
            body_fetches.append(BodyFetch(tuple(messages), {uid: len(item[b"BODY[]"]) for uid, item in response.items()}))
        return response

    def counting_new_tag(imap):  # every tagged command takes a tag (as bench/imap_count.py counts)
        nonlocal commands
        commands += 1
        return real_new_tag(imap)

    with monkeypatch.context() as patch:
        patch.setenv("CALTAC_TEST_IMAP_PASSWORD", poller.server.password)
        patch.setattr(IMAPClient, "fetch", recording_fetch)
        patch.setattr(imaplib.IMAP4, "_new_tag", counting_new_tag)
        mb = load_config(str(poller.config_file)).mailbox("coordinator")
        store = LazyPollStore.open(f"sqlite:///{poller.db_file}")
        try:
            report = poll_mailbox(store, mb, **options)
        finally:
            store.close()
    return PollTrace(report, body_fetches, fetches, commands)


def test_body_fetches_stay_within_the_byte_budget(poller, dovecot, monkeypatch):  # noqa: F811
    budget = 100_000
    samples = sample_bytes()
    sizes = [30_000, 45_000, 20_000, 250_000, 60_000, 35_000, 10_000, 90_000, 5_000]
    messages = [padded(samples[i % len(samples)], size) for i, size in enumerate(sizes)]
    dovecot.append(messages)

    backfill = poll_in_process(poller, monkeypatch, body_budget=budget)
    report, body_fetches = backfill.report, backfill.body_fetches
    assert (report.error, report.new, report.fetched) == (None, len(messages), len(messages))
    uids = [uid for fetch in body_fetches for uid in fetch.uids]
    assert uids == list(range(1, len(messages) + 1))  # each body fetched once, in UID order
    for fetch in body_fetches:
        assert fetch.sizes == {uid: len(messages[uid - 1]) for uid in fetch.uids}  # as declared
        assert len(fetch.uids) == 1 or sum(fetch.sizes.values()) <= budget, fetch
    (big,) = [fetch for fetch in body_fetches if 4 in fetch.uids]
    assert big.uids == (4,)  # over the budget: alone
    assert len(body_fetches) >= 5  # batch_size alone would make it one FETCH of ~560 kB
    # and grouped as tightly as the sizes allow (which needs the sizes before the bodies)
    sizes = {uid: len(raw) for uid, raw in enumerate(messages, start=1)}
    assert [list(fetch.uids) for fetch in body_fetches] == body_fetch_groups(uids, sizes, budget, max_count=25)
    assert any(len(fetch.uids) > 1 for fetch in body_fetches)
    # The sizes come with the headers: one header FETCH (+ one of first body bytes for the
    # messages the headers did not pick) and no extra round trip.
    assert backfill.fetches - len(body_fetches) in (1, 2)
    assert backfill.commands == 8 + backfill.fetches  # the no-op poll's 8 + the FETCHes
    assert_exactly_once(poller, messages)
    assert poller.query("SELECT last_uid FROM imap_state") == [(len(messages),)]

    noop = poll_in_process(poller, monkeypatch, body_budget=budget)
    # CAPABILITY, STARTTLS, CAPABILITY, LOGIN, EXAMINE, CAPABILITY, UID SEARCH, LOGOUT
    assert (noop.report.error, noop.report.fetched, noop.fetches, noop.commands) == (None, 0, 0, 8)


def test_appended_message_is_stored_exactly_once(poller, dovecot):  # noqa: F811
    samples = sample_bytes()
    dovecot.append(samples[:4])
    assert poller.poll_json()[1]["new"] == 4
    dovecot.append(samples[4])
    code, report, _ = poller.poll_json()
    assert (code, report["fetched"], report["new"]) == (0, 1, 1)
    assert poller.poll_json()[1]["fetched"] == 0
    # the same bytes delivered again (a second copy) are archived once
    dovecot.append(samples[0])
    code, report, _ = poller.poll_json()
    assert (report["fetched"], report["new"], report["duplicates"]) == (1, 0, 1)
    assert_exactly_once(poller, samples[:5])
    assert poller.query("SELECT count(*) FROM imap_messages")[0][0] == 6


def test_uidvalidity_change_rescans_with_zero_duplicates(poller, dovecot):  # noqa: F811
    samples = sample_bytes()
    poller.configure(folders=("CalTAC",))
    dovecot.append(samples, folder="CalTAC")
    assert poller.poll_json()[1]["new"] == len(samples)
    old_validity = dovecot.uidvalidity("CalTAC")

    dovecot.recreate_folder("CalTAC")
    dovecot.append(samples, folder="CalTAC")
    code, report, err = poller.poll_json()
    assert code == 0, err
    folder = report["folders"][0]
    assert folder["rescan"] is True and folder["uidvalidity"] != old_validity
    assert (report["new"], report["duplicates"]) == (0, len(samples))
    assert_exactly_once(poller, samples)
    (state,) = poller.query("SELECT uidvalidity FROM imap_state WHERE folder='CalTAC'")
    assert state[0] == dovecot.uidvalidity("CalTAC")
    assert poller.poll_json()[1]["fetched"] == 0


def test_rescan_downloads_no_body_it_already_has(poller, dovecot):  # noqa: F811
    samples = sample_bytes()
    poller.configure(folders=("CalTAC",))
    dovecot.append(samples + [COLLEAGUE_FORWARD], folder="CalTAC")
    code, report, err = poller.poll_json()
    assert (code, report["new"], report["ignored"]) == (0, len(samples), 1), err
    bodies = dovecot.body_fetches()

    dovecot.recreate_folder("CalTAC")
    arrived = copies(1)[0]
    dovecot.append(samples + [COLLEAGUE_FORWARD, arrived], folder="CalTAC")
    code, report, err = poller.poll_json()
    assert code == 0 and "warning" not in err, err
    assert dovecot.body_fetches() == bodies + 1  # counted by the server: only the new message
    folder = report["folders"][0]
    assert folder["rescan"] is True
    assert folder["recognised"] == len(samples) + 1  # the archived ones and the ignored forward
    assert (report["fetched"], report["new"], report["duplicates"], report["ignored"]) == (1, 1, len(samples), 1)
    assert_exactly_once(poller, samples + [arrived])
    uidvalidity = dovecot.uidvalidity("CalTAC")
    assert poller.query("SELECT count(*) FROM imap_messages WHERE uidvalidity = ?", uidvalidity) == [
        (len(samples) + 2,)]
    assert poller.query("SELECT last_uid FROM imap_state") == [(len(samples) + 2,)]
    code, report, err = poller.poll_json()
    assert (code, report["fetched"], report["folders"][0]["examined"]) == (0, 0, 0), err


def test_uidvalidity_changing_on_consecutive_polls_is_a_warning(poller, dovecot):  # noqa: F811
    samples = sample_bytes()[:3]
    poller.configure(folders=("CalTAC",))
    dovecot.append(samples, folder="CalTAC")

    def renumbered_poll() -> tuple[int, dict, str]:
        dovecot.recreate_folder("CalTAC")
        dovecot.append(samples, folder="CalTAC")
        return poller.poll_json()

    assert poller.poll_json()[0] == 0
    code, report, err = renumbered_poll()  # a folder recreated once: no warning
    assert code == 0 and "warning" not in err, err
    assert poller.poll_json()[2] == ""  # scanned to the end unchanged: settled
    code, report, err = renumbered_poll()
    assert code == 0 and "warning" not in err, err

    bodies = dovecot.body_fetches()
    code, report, err = renumbered_poll()  # changed again on the very next poll
    assert code == 0, err
    (warning,) = [line for line in err.splitlines() if "warning" in line]
    assert warning.startswith("caltac-inbox: warning: mailbox 'coordinator' folder 'CalTAC': UIDVALIDITY changed")
    assert "Courier" in warning and "read-write" in warning
    assert report["folders"][0]["warning"] in warning
    assert dovecot.body_fetches() == bodies
    assert (report["fetched"], report["folders"][0]["recognised"]) == (0, 3)
    assert_exactly_once(poller, samples)


def test_kill_9_mid_poll_then_rerun_loses_and_duplicates_nothing(poller, dovecot):  # noqa: F811
    messages = copies(120)
    dovecot.append(messages)
    poller.configure(extra="batch_size = 1")
    proc = poller.start()
    poller.wait_until_storing(proc, at_least=3)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    stored_at_kill = poller.stored_count()
    assert 0 < stored_at_kill < len(messages), "the poll was not interrupted in the middle"

    code, report, err = poller.poll_json()
    assert code == 0, err
    assert report["duplicates"] <= 1  # at most the message in flight when killed
    assert_exactly_once(poller, messages)
    assert poller.query("SELECT count(*) FROM imap_messages")[0][0] == len(messages)


def test_two_concurrent_polls_one_fetches_the_other_skips(poller, dovecot):  # noqa: F811
    messages = copies(80)
    dovecot.append(messages)
    poller.configure(extra="batch_size = 1")
    first = poller.start()
    poller.wait_until_storing(first)
    second = poller.run()
    assert second.returncode == 0
    assert (second.stdout, second.stderr) == ("", "")  # under cron: nothing to mail (a terminal is told)
    out, err = first.communicate(timeout=180)
    assert first.returncode == 0, err
    assert_exactly_once(poller, messages)


def test_lock_held_is_reported_in_json(poller, dovecot):  # noqa: F811
    from caltac_inbox.lock import lock_path, mailbox_lock

    dovecot.append(sample_bytes()[:1])
    with mailbox_lock(lock_path("coordinator", poller.db_file)):
        code, report, _ = poller.poll_json()
    assert code == 0
    assert report["skipped"].startswith("another poll is running") and report["fetched"] == 0
    assert poller.poll_json()[1]["new"] == 1


def reauthenticated(raw: bytes, tag: str, *results: str) -> bytes:
    """A sample notice with its Authentication-Results replaced by `results` (top first)
    and a Message-ID of its own."""
    import re as regex

    head, body = raw.split(b"\r\n\r\n", 1)
    head = regex.sub(rb"(?im)^Authentication-Results:.*(?:\r\n[ \t].*)*\r\n", b"", head + b"\r\n")
    head = head.replace(b"Message-ID: <", b"Message-ID: <%s." % tag.encode(), 1)
    added = b"".join(b"Authentication-Results: %s\r\n" % r.encode() for r in results)
    return added + head + b"\r\n" + body


def test_only_our_servers_authentication_results_verify_a_sender(poller, dovecot):  # noqa: F811
    sample_bytes()
    notice = crlf((ROOT / "samples" / "2020-07-15-transition-downtime.eml").read_bytes())
    messages = {
        "genuine": reauthenticated(notice, "genuine", "mx.district.k12.ca.us; dkim=pass header.d=info.ets.org"),
        "none": reauthenticated(notice, "none"),
        "forged": reauthenticated(notice, "forged", "mx.attacker.example; dkim=pass header.d=info.ets.org; "
                                                    "dmarc=pass header.from=info.ets.org"),
        "nodomain": reauthenticated(notice, "nodomain", "mx.district.k12.ca.us; dkim=pass header.s=s1"),
    }
    dovecot.append(list(messages.values()))
    code, report, err = poller.poll_json()
    assert (code, report["new"]) == (0, len(messages)), err
    rows = poller.query("SELECT m.message_id, m.authenticated, min(f.unverified), count(f.id) FROM messages m "
                        "JOIN facts f ON f.message_pk = m.id GROUP BY m.id")
    verdicts = {mid.split(".", 1)[0].lstrip("<"): (authenticated, bool(unverified)) for mid, authenticated, unverified, _ in rows}
    assert verdicts == {"genuine": (1, False), "none": (None, True), "forged": (None, True), "nodomain": (0, True)}


def test_lock_held_past_its_deadline_is_reported_with_exit_1(poller, dovecot):  # noqa: F811
    from tests.system.test_lock import lock_holder

    dovecot.append(sample_bytes()[:1])
    path = poller.db_file.with_name(f"{poller.db_file.name}.poll-coordinator.lock")
    with lock_holder(path, deadline=600, age=3 * 3600) as (holder, _):
        hung = poller.run()
        as_json = poller.run("--json")
    assert hung.returncode == 1 and as_json.returncode == 1  # cron mails someone
    (line,) = [line for line in hung.stderr.splitlines() if "error" in line]
    assert line.startswith(f"caltac-inbox: error: mailbox 'coordinator': the poll holding the lock (pid {holder.pid}")
    assert "past its deadline of 10 min" in line and "Traceback" not in hung.stderr
    report = json.loads(as_json.stdout)
    assert report["fetched"] == 0 and report["exit_code"] == 1 and "may be hung" in report["error"]
    # its holder killed, the lock is free again: the next run polls
    code, report, err = poller.poll_json()
    assert (code, report["new"]) == (0, 1), err


def test_wrong_password_exit_3_clear_message_no_secret(poller, dovecot):  # noqa: F811
    dovecot.append(sample_bytes()[:1])
    poller.env["CALTAC_TEST_IMAP_PASSWORD"] = WRONG_PASSWORD
    plain = poller.run()
    as_json = poller.run("--json")
    doctor = poller.run(command="doctor")
    for done in (plain, as_json, doctor):
        assert done.returncode == 3, done.stderr
        everything = done.stdout + done.stderr
        assert WRONG_PASSWORD not in everything and dovecot.password not in everything
        assert "Traceback" not in everything
    assert "login as coordinator@district.example refused ([AUTHENTICATIONFAILED] " in plain.stderr
    assert "b'" not in plain.stderr  # the server's text, not Python bytes
    assert "CALTAC_TEST_IMAP_PASSWORD" in plain.stderr  # says where the password came from
    assert json.loads(as_json.stdout)["error"].startswith("mailbox 'coordinator'")
    for path in poller.tmp.rglob("*"):
        if path.is_file():
            assert WRONG_PASSWORD.encode() not in path.read_bytes(), path


def test_no_secret_in_outputs_or_database_after_a_good_poll(poller, dovecot):  # noqa: F811
    dovecot.append(sample_bytes())
    done = poller.run("--json")
    assert done.returncode == 0
    assert dovecot.password not in done.stdout + done.stderr
    for path in poller.tmp.rglob("*"):
        if path.is_file():
            assert dovecot.password.encode() not in path.read_bytes(), path


def test_server_stopped_during_fetch_clear_error_then_resume(poller, dovecot):  # noqa: F811
    messages = copies(120)
    dovecot.append(messages)
    poller.configure(extra="batch_size = 1")
    proc = poller.start("--json")
    poller.wait_until_storing(proc, at_least=3)
    dovecot.stop()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 4, (out, err)
    assert "Traceback" not in err
    assert "mailbox 'coordinator'" in err and "the next run continues" in err
    assert json.loads(out)["new"] == poller.stored_count()
    assert 0 < poller.stored_count() < len(messages)

    dovecot.start()
    code, report, err = poller.poll_json()
    assert code == 0, err
    assert_exactly_once(poller, messages)


def test_transient_outage_is_retried_within_the_run(poller, dovecot):  # noqa: F811
    messages = copies(60)
    dovecot.append(messages)
    poller.configure(extra="batch_size = 1\nretries = 6\nretry_delay = 0.5")
    # mailbox_toml sets retries = 1 already; the later key must not be a duplicate
    text = poller.config_file.read_text().replace("retries = 1\n", "").replace("retry_delay = 0.1\n", "")
    poller.config_file.write_text(text)
    proc = poller.start("--json")
    poller.wait_until_storing(proc, at_least=2)
    dovecot.stop()
    dovecot.start()
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert json.loads(out)["new"] == len(messages)
    assert_exactly_once(poller, messages)


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_verified_with_ca_file_and_refused_without(poller, dovecot, security):  # noqa: F811
    dovecot.append(sample_bytes()[:1])
    poller.configure(security=security, ca_file=False)
    refused = poller.run()
    assert refused.returncode == 4
    assert "certificate" in refused.stderr and "ca_file" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not poller.stored_hashes()

    poller.configure(security=security, ca_file=True)
    code, report, err = poller.poll_json()
    assert code == 0, err
    assert report["new"] == 1


@pytest.mark.parametrize("token_ok", [True, False])
def test_xoauth2_with_token_command(poller, dovecot, token_ok):  # noqa: F811
    # Dovecot's XOAUTH2 checks the bearer token against the passdb, so the static
    # password serves as the one valid token here.
    token = dovecot.password if token_ok else WRONG_PASSWORD
    (poller.tmp / "token.txt").write_text(token + "\n")
    command = json.dumps([sys.executable, "-c", f"print(open({str(poller.tmp / 'token.txt')!r}).read())"])
    text = poller.config_file.read_text().replace(
        'password_env = "CALTAC_TEST_IMAP_PASSWORD"', f"oauth2_token_command = {command}")
    poller.config_file.write_text(text)
    dovecot.append(sample_bytes()[:1])
    done = poller.run("--json")
    assert token not in done.stdout + done.stderr
    if token_ok:
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["new"] == 1
        assert "method=XOAUTH2" in dovecot.log()
    else:
        assert done.returncode == 3
        assert "oauth2_token_command" in done.stderr


def test_plain_to_loopback(poller, dovecot):  # noqa: F811
    dovecot.append(sample_bytes()[:1])
    poller.configure(security="plain", ca_file=False)
    code, report, err = poller.poll_json()
    assert (code, report["new"]) == (0, 1), err


def test_since_limits_the_first_scan(poller, dovecot):  # noqa: F811
    samples = sample_bytes()
    dovecot.append(samples[0], msg_time=datetime(2015, 6, 1, tzinfo=timezone.utc))
    dovecot.append(samples[1], msg_time=datetime(2020, 6, 1, tzinfo=timezone.utc))
    poller.configure(extra='since = "2016-01-01"')
    code, report, err = poller.poll_json()
    assert (code, report["new"]) == (0, 1), err
    assert poller.stored_hashes() == [sha(samples[1])]


def test_since_holds_on_every_poll(poller, dovecot):  # noqa: F811
    samples = sample_bytes()
    old, recent = datetime(2015, 6, 1, tzinfo=timezone.utc), datetime(2020, 6, 1, tzinfo=timezone.utc)
    dovecot.append(samples[0], msg_time=old)
    dovecot.append(samples[1], msg_time=recent)
    poller.configure(extra='since = "2016-01-01"')
    assert poller.poll_json()[1]["new"] == 1
    # delivered after the checkpoint moved on (higher UIDs), one of them dated before `since`
    dovecot.append(samples[2], msg_time=old)
    dovecot.append(samples[3], msg_time=recent)
    code, report, err = poller.poll_json()
    assert (code, report["fetched"], report["new"]) == (0, 1, 1), err
    assert sorted(poller.stored_hashes()) == sorted([sha(samples[1]), sha(samples[3])])
    bodies = dovecot.body_fetches()
    code, report, err = poller.poll_json()  # nothing new: no body downloaded
    assert (code, report["fetched"], report["folders"][0]["examined"]) == (0, 0, 0), err
    assert dovecot.body_fetches() == bodies


def test_deadline_stops_cleanly_exit_1_and_next_run_continues(poller, dovecot):  # noqa: F811
    samples = sample_bytes()
    dovecot.append(samples)
    poller.configure(extra="deadline = 0.001")
    code, report, err = poller.poll_json()
    assert code == 1  # cron mails someone
    assert report["folders"][0]["deadline_reached"] is True and report["new"] == 0
    assert "mailbox 'coordinator'" in err and "stopped at its deadline" in err and "next run continues" in err
    assert "Traceback" not in err
    poller.configure()
    assert poller.poll_json()[1]["new"] == len(samples)


def test_deadline_stops_at_the_next_message_boundary_inside_a_fetch(poller, dovecot, monkeypatch):  # noqa: F811
    """The deadline passes while the 4th body of one 10-message FETCH is handed on: the
    poll stops at the next message, stores the 4, and the next run fetches the other 6."""
    messages = copies(10)
    dovecot.append(messages)
    now = [0.0]
    handed = [0]

    def progress(total, label):
        def tick(n):
            handed[0] += n
            if handed[0] == 4:
                now[0] = 10_000.0  # far past the deadline from here on
        return tick

    trace = poll_in_process(poller, monkeypatch, clock=lambda: now[0], progress=progress)
    assert [len(f.uids) for f in trace.body_fetches] == [10]  # one FETCH, cut short
    report = trace.report
    assert (report.new, report.deadline_reached, report.exit_code) == (4, True, 1)
    assert "stopped at its deadline" in report.error
    assert poller.query("SELECT last_uid FROM imap_state") == [(4,)]
    rest = poll_in_process(poller, monkeypatch)
    assert (rest.report.new, rest.report.exit_code) == (6, 0)
    assert_exactly_once(poller, messages)


def test_deadline_cuts_a_stalled_fetch_short(poller, dovecot):  # noqa: F811
    """The server stops answering mid-poll: the poll ends at its deadline (exit 1), not
    after read_timeout, and what it stored stays stored."""
    messages = copies(300)
    dovecot.append(messages)
    poller.configure(extra="batch_size = 1\ndeadline = 4")
    text = poller.config_file.read_text().replace("read_timeout = 10\n", "read_timeout = 120\n")
    poller.config_file.write_text(text)
    proc = poller.start("--json")
    started = time.monotonic()
    poller.wait_until_storing(proc, at_least=1)
    os.killpg(dovecot.process.pid, signal.SIGSTOP)
    try:
        out, err = proc.communicate(timeout=60)
        elapsed = time.monotonic() - started
    finally:
        os.killpg(dovecot.process.pid, signal.SIGCONT)
    assert proc.returncode == 1, (out, err)
    assert elapsed < 4 + 10, elapsed
    assert "stopped at its deadline" in err and "Traceback" not in err
    assert 0 < poller.stored_count() < len(messages)
    assert json.loads(out)["new"] == poller.stored_count()


def test_missing_folder_is_reported_and_the_other_folders_are_polled(poller, dovecot):  # noqa: F811
    samples = sample_bytes()
    dovecot.append(samples[:2])
    dovecot.append(samples[2:4], folder="CalTAC")
    poller.configure(folders=("INBOX", "No Such Folder", "CalTAC"))
    done = poller.run("--json")
    assert done.returncode == 2
    problems = [line for line in done.stderr.splitlines() if "No Such Folder" in line]
    assert len(problems) == 1 and "mailbox 'coordinator'" in problems[0]
    assert "'No Such Folder' cannot be opened" in problems[0] and "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["new"] == 4 and report["exit_code"] == 2
    assert [f.get("error") is not None for f in report["folders"]] == [False, True, False]
    assert_exactly_once(poller, samples[:4])


def test_connection_refused_exit_4(poller, dovecot):  # noqa: F811
    dovecot.stop()
    done = poller.run()
    assert done.returncode == 4
    assert "cannot connect" in done.stderr and "Traceback" not in done.stderr


def test_search_retries_without_charset_on_badcharset(dovecot):  # noqa: F811
    from caltac_inbox.sources.imap import search_uids

    dovecot.append(sample_bytes()[:2])
    with dovecot.client() as client:
        client.select_folder("INBOX", readonly=True)
        with pytest.raises(Exception, match="BADCHARSET"):  # the server refuses it as such
            client.search(["UID", "1:*"], charset="idna")  # a codec Python has and Dovecot lacks
        assert search_uids(client, ["UID", "1:*"], charset="idna") == [1, 2]
        assert search_uids(client, ["UID", "1:*"]) == [1, 2]


# -- doctor ----------------------------------------------------------------------------------


def test_doctor_all_good(poller, dovecot):  # noqa: F811
    dovecot.append(sample_bytes()[:2])
    done = poller.run(command="doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok    config:" in done.stdout
    assert "ok    database:" in done.stdout
    assert "ok    mailbox coordinator: logged in as coordinator@district.example" in done.stdout
    assert "ok    mailbox coordinator folder INBOX: 2 messages" in done.stdout
    assert "ok    mailbox coordinator sender verification: trusting the Authentication-Results written by " \
           "mx.district.k12.ca.us" in done.stdout
    assert dovecot.flags() == {1: (b"\\Recent",), 2: (b"\\Recent",)}  # EXAMINE keeps even \Recent


def test_doctor_reports_what_to_fix(poller, dovecot):  # noqa: F811
    poller.configure(folders=("INBOX", "Notices"))
    done = poller.run(command="doctor")
    assert done.returncode == 2
    assert "FAIL  mailbox coordinator folder Notices:" in done.stdout
    assert "folders on the server: INBOX" in done.stdout

    dovecot.stop()
    done = poller.run(command="doctor")
    assert done.returncode == 4 and "FAIL  mailbox coordinator:" in done.stdout

    poller.configure()
    poller.config_file.write_text(poller.config_file.read_text().replace('authserv_id = "mx.district.k12.ca.us"', ""))
    dovecot.start()
    done = poller.run(command="doctor")
    assert done.returncode == 2
    assert "FAIL  mailbox coordinator sender verification: authserv_id is not set" in done.stdout
    assert "shown unverified" in done.stdout

    poller.config_file.write_text('[[mailbox]]\nname = "x"\nhost = "imap.example.org"\nusername = "u"\npassword = "p"\n')
    done = poller.run(command="doctor")
    assert done.returncode == 2 and "FAIL  config:" in done.stdout and "password_env" in done.stdout


def test_poll_on_each_database_backend(tmp_path, dovecot, db_url, monkeypatch):  # noqa: F811
    """The same poll on SQLite and PostgreSQL (the lock then lives in the state dir)."""
    from sqlalchemy import create_engine, text

    from caltac_inbox.lock import lock_path, mailbox_lock

    samples = sample_bytes()
    dovecot.append(samples + [FRIEND])
    poller = Poller(tmp_path, dovecot)
    poller.env["CALTAC_INBOX_DB"] = db_url
    code, report, err = poller.poll_json()
    assert (code, report["new"], report["ignored"]) == (0, len(samples), 1), err
    code, report, err = poller.poll_json()
    assert (code, report["fetched"]) == (0, 0), err
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            hashes = [r[0] for r in conn.execute(text("SELECT sha256 FROM messages"))]
            (last_uid,) = conn.execute(text("SELECT last_uid FROM imap_state")).one()
    finally:
        engine.dispose()
    assert sorted(hashes) == sorted(sha(raw) for raw in samples)
    assert last_uid == len(samples) + 1
    if db_url.startswith("postgresql"):
        # the poll subprocess's state dir is the test's (XDG_STATE_HOME); compute the lock there
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
        path = lock_path("coordinator", None)
        assert str(path).startswith(str(tmp_path / "state"))
        with mailbox_lock(path):
            code, report, _ = poller.poll_json()
        assert code == 0 and report.get("skipped")


def test_a_folder_is_searched_in_uid_ranges_on_a_real_server(poller, dovecot, monkeypatch):  # noqa: F811
    """UID SEARCH by ranges (issue 25): the UIDs of every 3rd message (a sequence-set
    search), then one UID SEARCH per range; every message stored once, the checkpoint at
    the end, and a second poll finds nothing new."""
    from caltac_inbox.sources import imap

    messages = copies(10)
    dovecot.append(messages)
    monkeypatch.setattr(imap, "SEARCH_CHUNK", 3)
    searches: list[list] = []
    real_search = imap.search_uids

    def recording_search(client, criteria, charset=None):
        searches.append(list(criteria))
        return real_search(client, criteria, charset)

    monkeypatch.setattr(imap, "search_uids", recording_search)
    trace = poll_in_process(poller, monkeypatch)
    assert (trace.report.new, trace.report.exit_code) == (10, 0)
    assert searches[0] == ["3,6,9"]
    assert [c[1] for c in searches[1:]] == ["1:3", "4:6", "7:9", "10:*"]
    assert_exactly_once(poller, messages)
    assert poller.query("SELECT last_uid FROM imap_state") == [(10,)]
    again = poll_in_process(poller, monkeypatch)
    assert (again.report.new, again.report.fetched) == (0, 0)
