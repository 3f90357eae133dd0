"""Helpers of the web server's tests: notices to ingest, the CLI, a real `serve` process
(`serving`, also used by bench/run.py: standard library only)."""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from tests.demo import DEMO_AUTHSERV_ID, REPO, SAMPLES, SOURCE_CLI, ok, run

# The 2016 fall downtime as first announced; samples/2016-09-09-extended-downtime*.eml extend it.
ORIGINAL_2016_DOWNTIME = """\
From: CalTac <CalTAC@info.ets.org>
To: LEA Coordinator <coordinator@district.k12.ca.us>
Subject: {subject}
Date: Wed, 27 Jul 2016 10:00:00 -0700
Message-ID: <{message_id}@info.ets.org>
Authentication-Results: mx.district.k12.ca.us; dkim=pass header.d=info.ets.org;
 spf=pass smtp.mailfrom=info.ets.org; dmarc=pass header.from=info.ets.org
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"

Dear LEA CAASPP Coordinator:

To prepare for the 2016-17 school year, all CAASPP {systems} will be unavailable from Friday, August 26, 2016, \
at 5 p.m. through Tuesday, September 6, 2016.

Sincerely,
CalTAC
"""
EXTENSIONS = sorted(SAMPLES.glob("2016-09-09-extended-downtime*.eml"))
# RFC 2047: ESC [31m, a <script> element, an OSC title change ending in BEL
HOSTILE_SUBJECT_HEADER = "=?utf-8?q?=1B[31m<script>alert(1)</script>=1B]0;pwned=07?= Downtime & <b>"
HOSTILE_SUBJECT = "\x1b[31m<script>alert(1)</script>\x1b]0;pwned\x07 Downtime & <b>"


def original_2016_notice(subject: str = "CAASPP Systems Downtime", message_id: str = "caltac-inbox-test.2016",
                         systems: str = "systems") -> bytes:
    return ORIGINAL_2016_DOWNTIME.format(subject=subject, message_id=message_id, systems=systems).encode()


def hostile_notice() -> bytes:
    return original_2016_notice(subject=HOSTILE_SUBJECT_HEADER, message_id="hostile",
                                systems="<script>alert('x')</script> systems")


def cli(db_url: str, *args: str, cwd: Path = REPO, timeout: float = 120) -> str:
    """Standard output of `caltac-inbox --db URL ARGS...` run as a user runs it."""
    return ok(run(SOURCE_CLI, "--db", db_url, *args, cwd=cwd, timeout=timeout))


def ingest(db_url: str, *paths: Path | str) -> str:
    return cli(db_url, "ingest", "--authserv-id", DEMO_AUTHSERV_ID, *map(str, paths))


def create_feed(db_url: str, *args: str) -> dict:
    return json.loads(cli(db_url, "feed", "create", "--json", *args))


def add_editor(db_url: str, name: str, *args: str) -> dict:
    """`editor add NAME --json`, with the token of its sign-in link as `token`."""
    added = json.loads(cli(db_url, "editor", "add", name, "--json", *args))
    return {**added, "token": added["url"].split("token=", 1)[1]}


@dataclass(frozen=True)
class Server:
    base: str
    log: Path
    process: subprocess.Popen

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def serving(db_url: str, log: Path, *args: str, timeout: float = 60, command: Sequence[str] = SOURCE_CLI,
            cwd: Path = REPO, env: dict[str, str] | None = None) -> Iterator[Server]:
    """`caltac-inbox serve --port 0 ARGS` in a process of its own until the block ends
    (`command`: another caltac-inbox, such as an installed wheel's)."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "CALTAC_INBOX_DB"}
    with open(log, "wb") as sink:
        process = subprocess.Popen([*command, "--db", db_url, "serve", "--port", "0", *args], cwd=cwd,
                                   stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        base = _wait_for_port(process, log, timeout)
        server = Server(base, log, process)
        _wait_healthy(server, timeout)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_port(process: subprocess.Popen, log: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"Uvicorn running on (http://[\d.]+:\d+)", log.read_text(errors="replace"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            raise AssertionError(f"serve exited {process.returncode}:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
    raise AssertionError(f"serve did not start in {timeout} s:\n{log.read_text(errors='replace')}")


def _wait_healthy(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(server.base + "/healthz", timeout=5):
                return
        except OSError:  # refused, or an HTTP error status
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"/healthz never answered 200:\n{server.log_text()}")
        time.sleep(0.1)


def ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


__all__ = ["EXTENSIONS", "HOSTILE_SUBJECT", "Server", "add_editor", "ci", "cli", "create_feed", "hostile_notice", "ingest",
           "original_2016_notice", "serving"]
