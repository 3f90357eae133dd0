"""`serve` under stress and attack (issue 25), each against a real `serve` process on
loopback: slowloris, DNS rebinding with --open, tokens where the log could pick them up."""
from __future__ import annotations

import http.client
import socket
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.web import EXTENSIONS, create_feed, ingest, serving


@pytest.fixture(scope="module")
def served_db(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('stress') / 'caltac.db'}"
    ingest(url, *EXTENSIONS)
    return url


def _get(base: str, path: str, headers: dict[str, str] | None = None, timeout: float = 5) -> tuple[int, float]:
    parts = urllib.parse.urlsplit(base)
    started = time.monotonic()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.putrequest("GET", path, skip_host="Host" in (headers or {}))
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        conn.close()


@pytest.mark.slow
def test_slowloris_neither_blocks_healthz_nor_floods_the_log(served_db, tmp_path, monkeypatch):
    import caltac_inbox.web.server as server_module

    log = tmp_path / "serve.log"
    with serving(served_db, log) as server:
        parts = urllib.parse.urlsplit(server.base)
        idle: list[socket.socket] = []
        try:
            for _ in range(1100):  # each sends half a request head, then nothing
                sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                idle.append(sock)
            status, took = _get(server.base, "/healthz")
            # blocked, it would wait for the idle heads' HEAD_TIMEOUT; half of it leaves room for load
            assert status == 200 and took < server_module.HEAD_TIMEOUT / 2, took
            # an idle connection is closed once its time for a request head is up
            idle[0].settimeout(server_module.HEAD_TIMEOUT + 10)
            assert idle[0].recv(100) == b""
            status, took = _get(server.base, "/healthz")
            assert status == 200 and took < server_module.HEAD_TIMEOUT / 2, took
        finally:
            for sock in idle:
                sock.close()
        text = server.log_text()
    assert log.stat().st_size < 1_000_000
    assert "Traceback" not in text


def test_open_answers_only_its_own_host_names(served_db, tmp_path):
    with serving(served_db, tmp_path / "serve.log", "--open", "--base-url", "https://caltac.example.org") as server:
        port = urllib.parse.urlsplit(server.base).port
        assert _get(server.base, "/", {"Host": "rebound.attacker.example"})[0] == 400
        assert _get(server.base, "/healthz", {"Host": f"rebound.attacker.example:{port}"})[0] == 400
        assert _get(server.base, "/", {"Host": f"127.0.0.1:{port}"})[0] == 200
        assert _get(server.base, "/", {"Host": f"localhost:{port}"})[0] == 200
        assert _get(server.base, "/", {"Host": "caltac.example.org"})[0] == 200
        assert "Host header names another server" in server.log_text()


def test_no_token_reaches_the_log_from_an_odd_path_or_the_user_agent(served_db, tmp_path):
    token = create_feed(served_db)["token"]
    with serving(served_db, tmp_path / "serve.log") as server:
        assert _get(server.base, f"//calendar/{token}.ics")[0] in (200, 404)
        assert _get(server.base, "/healthz", {"User-Agent": f"Calendar/1.0 (feed {token})"})[0] == 200
        assert _get(server.base, f"/x/{token}.ics")[0] == 404
        text = server.log_text()
    assert token not in text and token[:20] not in text
    assert "[redacted]" in text


def test_the_host_rules(tmp_path: Path):
    from caltac_inbox.web.http import allowed_hosts, host_allowed

    assert allowed_hosts(None, "127.0.0.1", False) is None  # tokens guard everything
    local = allowed_hosts(None, "127.0.0.1", True)
    assert host_allowed("localhost:8025", local) and host_allowed("127.0.0.1", local)
    assert host_allowed("[::1]:8025", local) and host_allowed("192.168.1.5:8025", local)  # an address
    assert not host_allowed("evil.example", local) and not host_allowed("", local)
    lan = allowed_hosts("https://caltac.example.org/", "0.0.0.0", True)
    assert host_allowed("CalTAC.example.org", lan) and not host_allowed("caltac.example.org.evil.example", lan)


# -- the database behind serve: hung, replaced, read-only, its timeline left behind ------------

def _calendar_events(base: str, token: str) -> int:
    import urllib.request

    with urllib.request.urlopen(f"{base}/calendar/{token}.ics?from=all", timeout=10) as response:
        return response.read().count(b"BEGIN:VEVENT")


def _healthz(base: str) -> tuple[int, dict, float]:
    import json
    import urllib.error
    import urllib.request

    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=20) as response:
            return response.status, json.loads(response.read()), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), time.monotonic() - started


def _leave_timeline_behind(db_file: Path) -> None:
    """What an ingest killed between storing its facts and rebuilding the timeline leaves."""
    import sqlite3

    with sqlite3.connect(db_file) as conn:
        conn.execute("DELETE FROM entry_sources")
        conn.execute("DELETE FROM entries")
        conn.execute("UPDATE timeline_state SET facts_generation = timeline_generation + 1")


def test_serve_rebuilds_a_timeline_left_behind_by_a_dead_ingest(tmp_path):
    url = f"sqlite:///{tmp_path / 'caltac.db'}"
    ingest(url, *EXTENSIONS)
    token = create_feed(url)["token"]
    with serving(url, tmp_path / "first.log") as server:
        events = _calendar_events(server.base, token)
    assert events > 0
    _leave_timeline_behind(tmp_path / "caltac.db")
    with serving(url, tmp_path / "serve.log") as server:
        assert _calendar_events(server.base, token) == events
        status, health, _ = _healthz(server.base)
        assert status == 200 and health["timeline"] == "current"


@pytest.fixture
def immutable(tmp_path):
    """chattr +i: even root cannot write the file or add one to the directory."""
    import shutil
    import subprocess

    if shutil.which("chattr") is None:
        pytest.skip("no chattr")
    made: list[Path] = []

    def freeze(path: Path) -> None:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"chattr +i not permitted here: {done.stderr.decode().strip()}")
        made.append(path)

    yield freeze
    for path in reversed(made):
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_serve_reads_a_read_only_copy_and_says_when_its_timeline_is_behind(tmp_path, immutable):
    import shutil
    import sqlite3

    url = f"sqlite:///{tmp_path / 'caltac.db'}"
    ingest(url, *EXTENSIONS)
    token = create_feed(url)["token"]
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    with sqlite3.connect(tmp_path / "caltac.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(tmp_path / "caltac.db", copy_dir / "caltac.db")
    immutable(copy_dir / "caltac.db")
    immutable(copy_dir)
    copy_url = f"sqlite:///{copy_dir / 'caltac.db'}"
    with serving(copy_url, tmp_path / "serve.log") as server:
        assert _calendar_events(server.base, token) > 0
        status, health, _ = _healthz(server.base)
        assert status == 200 and health["status"] == "ok"
    stale_dir = tmp_path / "stale"
    stale_dir.mkdir()
    shutil.copy(tmp_path / "caltac.db", stale_dir / "caltac.db")
    _leave_timeline_behind(stale_dir / "caltac.db")
    immutable(stale_dir / "caltac.db")
    immutable(stale_dir)
    log = tmp_path / "stale.log"
    import subprocess

    from tests.demo import SOURCE_CLI

    process = subprocess.Popen([*SOURCE_CLI, "--db", f"sqlite:///{stale_dir / 'caltac.db'}", "serve", "--port", "0"],
                               stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        from tests.web import _wait_for_port

        base = _wait_for_port(process, log, 60)
        status, health, _ = _healthz(base)
        assert status == 503 and health["timeline"] == "behind"  # cannot be rebuilt here: said so
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_healthz_fails_when_the_database_file_is_no_database_any_more(tmp_path):
    import os

    url = f"sqlite:///{tmp_path / 'caltac.db'}"
    ingest(url, *EXTENSIONS)
    with serving(url, tmp_path / "serve.log") as server:
        assert _healthz(server.base)[0] == 200
        garbage = tmp_path / "garbage"
        garbage.write_bytes(b"this is not a database\n" * 200)
        os.replace(garbage, tmp_path / "caltac.db")
        for suffix in ("-wal", "-shm"):
            (tmp_path / f"caltac.db{suffix}").unlink(missing_ok=True)
        status, health, _ = _healthz(server.base)
        assert status == 503 and health["database"] == "unreachable"


@pytest.mark.postgres
def test_healthz_and_feeds_answer_fast_while_postgresql_hangs(tmp_path):
    import urllib.error
    import urllib.request

    import psycopg

    from tests.conftest import pg_database

    with pg_database() as url:
        ingest(url, *EXTENSIONS)
        token = create_feed(url)["token"]
        with serving(url, tmp_path / "serve.log") as server:
            assert _calendar_events(server.base, token) > 0
            conninfo = url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(conninfo) as blocker:
                # another connection holds every table the server reads: its queries wait
                blocker.execute("LOCK TABLE alembic_version, timeline_state, feed_tokens, entries "
                                "IN ACCESS EXCLUSIVE MODE")
                status, health, took = _healthz(server.base)
                assert status == 503 and took < 2.0, (health, took)
                started = time.monotonic()
                with pytest.raises(urllib.error.HTTPError) as refused:
                    urllib.request.urlopen(f"{server.base}/calendar/{token}.ics", timeout=30)
                assert refused.value.code == 503 and time.monotonic() - started < 15
                blocker.rollback()
            status, _, _ = _healthz(server.base)
            assert status == 200


def test_connections_beyond_the_cap_are_refused_with_one_log_line_a_second(caplog):
    """The connection cap itself, on a uvicorn server in this process with a cap of 5."""
    import asyncio
    import logging
    import threading

    import uvicorn

    from caltac_inbox.web.server import SERVER_LOGGER, guarded_protocol

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, http=guarded_protocol(5, head_timeout=30), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[listener])), daemon=True)
    caplog.set_level(logging.WARNING, logger=SERVER_LOGGER)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
        extra = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(20)]
        for sock in extra:  # closed by the server at once
            assert sock.recv(10) == b""
        refusals = [r for r in caplog.records if r.name == SERVER_LOGGER]
        assert 1 <= len(refusals) <= 2 and "refusing new ones" in refusals[0].getMessage()
        assert all(r.exc_info is None for r in refusals)
        for sock in idle + extra:
            sock.close()
        time.sleep(0.3)
        assert _get(f"http://127.0.0.1:{port}", "/")[0] == 200  # room again once they are gone
    finally:
        server.should_exit = True
        thread.join(timeout=10)
