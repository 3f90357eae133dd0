"""Memory stays bounded on a large backfill: `ingest` streams an mbox message by
message, so a 10,000-message mailbox costs about what a 1,000-message one does.

Each run is the real CLI in its own process; peak RSS is that child's ru_maxrss. The
mailboxes carry an attachment per message so that holding the mailbox (or every
message's bytes, or every parsed notice) in memory would show as tens of megabytes.
"""
from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "samples").glob("*.eml"))
ATTACHMENT = base64.encodebytes(os.urandom(6 * 1024))  # ~8 KB encoded, distinct per run
# Peak RSS of a 10x larger backfill may exceed the small one's by this much (allocator
# noise, SQLite page cache, the larger timeline); holding the 10,000-message mailbox
# would add ~100 MB.
GROWTH_ALLOWED = 30 * 2**20
PEAK_ALLOWED = 200 * 2**20

# Runs argv, prints the child's peak RSS in bytes (Linux reports KiB).
MEASURE = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024); sys.exit(done.returncode)")


def notice_copy(serial: int) -> bytes:
    """A distinct message: every tenth a real sample notice, the rest plain mail with a
    base64 attachment."""
    if serial % 10 == 0:
        raw = SAMPLES[serial // 10 % len(SAMPLES)].read_bytes()
        return b"X-Bulk-Copy: %d\n" % serial + raw
    return (b"From: Someone <someone@example.org>\n"
            b"To: coordinator@example.org\n"
            b"Subject: Weekly newsletter %d\n"
            b"Date: Tue, 03 Mar 2026 09:00:00 -0800\n"
            b"Message-ID: <bulk%d@example.org>\n"
            b"MIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=\"b\"\n\n"
            b"--b\nContent-Type: text/plain; charset=utf-8\n\n"
            b"News of the week, number %d. Nothing to schedule.\n"
            b"--b\nContent-Type: application/octet-stream; name=\"n.bin\"\n"
            b"Content-Transfer-Encoding: base64\n\n%s--b--\n") % (serial, serial, serial, ATTACHMENT)


def write_mbox(path: Path, count: int) -> Path:
    with path.open("wb") as fh:
        for serial in range(count):
            fh.write(b"From MAILER-DAEMON Tue Mar  3 09:00:00 2026\n")
            fh.write(notice_copy(serial).replace(b"\nFrom ", b"\n>From "))
            fh.write(b"\n")
    return path


def ingest_peak_rss(tmp_path: Path, mbox: Path) -> tuple[int, dict]:
    db = tmp_path / f"{mbox.stem}.db"
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    env.pop("CALTAC_INBOX_DB", None)
    env.pop("CALTAC_INBOX_CONFIG", None)
    cli = [sys.executable, "-m", "caltac_inbox.cli", "--db", f"sqlite:///{db}", "ingest", "--json", str(mbox)]
    done = subprocess.run([sys.executable, "-c", MEASURE, *cli], env=env, capture_output=True, text=True,
                          timeout=1200, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    *report_lines, peak = done.stdout.strip().splitlines()
    report = json.loads(report_lines[-1])
    return int(peak), report


def stored_messages(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.slow
def test_a_10000_message_backfill_streams_in_bounded_memory(tmp_path):
    small = write_mbox(tmp_path / "small.mbox", 1_000)
    large = write_mbox(tmp_path / "large.mbox", 10_000)
    assert large.stat().st_size > 80 * 2**20

    small_peak, small_report = ingest_peak_rss(tmp_path, small)
    large_peak, large_report = ingest_peak_rss(tmp_path, large)

    assert stored_messages(tmp_path / "large.db") == 10_000, large_report
    assert stored_messages(tmp_path / "small.db") == 1_000, small_report
    assert large_peak - small_peak < GROWTH_ALLOWED, (small_peak / 2**20, large_peak / 2**20)
    assert large_peak < PEAK_ALLOWED, large_peak / 2**20
