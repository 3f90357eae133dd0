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
            assert status == 200 and took < 1.0, took
            # an idle connection is closed once its time for a request head is up
            idle[0].settimeout(server_module.HEAD_TIMEOUT + 10)
            assert idle[0].recv(100) == b""
            status, took = _get(server.base, "/healthz")
            assert status == 200 and took < 1.0, took
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
