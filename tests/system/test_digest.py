"""`digest` end to end on SQLite and PostgreSQL, and `digest --send` to a real local SMTP
server (aiosmtpd, started here) and through a sendmail command."""
from __future__ import annotations

import email
import email.policy
import socket
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from caltac_inbox.cli import main
from tests.system.test_corrections import SAMPLES, _entry

class Sink:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_sink():
    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def run(db_url, monkeypatch, tmp_path):
    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(config))

    def invoke(*args: object, code: int = 0) -> str:
        result = CliRunner().invoke(main, ["--db", db_url, *map(str, args)], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    invoke.config = config  # type: ignore[attr-defined]
    return invoke


def test_digest_lists_what_is_coming_changed_and_needs_a_look(run):
    run("ingest", SAMPLES)
    text = run("digest", "--as-of", "2020-08-10")
    assert text.startswith("CalTAC, ETS and CDE notices: digest for Monday, August 10, 2020\n")
    coming = text.split("Coming up from Monday, August 10, 2020 to Monday, August 24, 2020 (4)\n")[1].split("\n\n")[0]
    downtime = _entry(run, "downtime", start="2020-08-14T17:00:00-07:00")
    assert f"#{downtime['id']}  2020-08-14 17:00 → 2020-08-20 08:00  downtime  systems unavailable (CAASPP)" in coming
    assert "Changed in the last 7 days, since " in text and "new      downtime systems unavailable" in text
    assert "Unverified sender: #" in text and "check them with `caltac-inbox review`" in text
    assert "2016" not in coming  # the 2016 window is long over

    run("done", downtime["id"])
    assert "downtime  systems unavailable" not in run("digest", "--as-of", "2020-08-10").split("Changed")[0]
    html = run("digest", "--as-of", "2020-08-10", "--html")
    assert html.startswith("<!doctype html>") and "<li>#" in html and "2017–2018 student data file" in html
    assert run("digest", "--as-of", "2020-08-10", "--days", "2").count("  #") < text.count("  #")


def test_digest_send_delivers_one_multipart_message_to_the_smtp_server(run, smtp_sink):
    sink, port = smtp_sink
    run("ingest", SAMPLES)
    run.config.write_text(f'[digest]\nto = ["coordinator@district.example", "backup@district.example"]\n'
                          f'from = "caltac-inbox@district.example"\nhost = "127.0.0.1"\nport = {port}\n'
                          'security = "plain"\n')
    said = run("digest", "--as-of", "2020-08-10", "--send")
    assert said == (f"digest for 2020-08-10 sent to coordinator@district.example, backup@district.example through "
                    f"SMTP 127.0.0.1:{port}\n")
    [envelope] = sink.envelopes
    assert sorted(envelope.rcpt_tos) == ["backup@district.example", "coordinator@district.example"]
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"].startswith("CalTAC notices for the week of Monday, August 10, 2020: 4 coming up")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "downtime  systems unavailable (CAASPP)" in text and "downtime  systems unavailable (CAASPP)" in html
    # the next digest counts from this one: nothing changed since
    after = run("digest", "--as-of", "2020-08-17")
    assert "Changed since the last digest on " in after and "No notice changed anything." in after


def test_digest_send_logs_in_with_the_password_from_a_command_never_the_file(run, tmp_path, monkeypatch):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret-smtp")

    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        run("ingest", SAMPLES)
        secret = tmp_path / "secret.sh"
        secret.write_text("#!/bin/sh\necho s3cret-smtp\n")
        secret.chmod(0o755)
        run.config.write_text(f'[digest]\nto = "coordinator@district.example"\nfrom = "caltac@district.example"\n'
                              f'host = "127.0.0.1"\nport = {port}\nsecurity = "plain"\nusername = "caltac"\n'
                              f'password_command = "{secret}"\n')
        said = run("digest", "--send")
        assert "sent to coordinator@district.example" in said and "s3cret" not in said
        assert logins == [(b"caltac", b"s3cret-smtp")] and len(sink.envelopes) == 1
        monkeypatch.delenv("CALTAC_SMTP_PASSWORD", raising=False)
        run.config.write_text(run.config.read_text().replace(f'password_command = "{secret}"',
                                                             'password_env = "CALTAC_SMTP_PASSWORD"'))
        unset = run("digest", "--send", code=2)
        assert "[digest]: environment variable CALTAC_SMTP_PASSWORD (password_env) is not set" in unset
        monkeypatch.setenv("CALTAC_SMTP_PASSWORD", "s3cret-smtp")
        assert "sent to" in run("digest", "--send") and logins[-1] == (b"caltac", b"s3cret-smtp")
    finally:
        controller.stop()


def test_digest_send_through_sendmail_and_config_errors(run, tmp_path):
    run("ingest", SAMPLES)
    received = tmp_path / "sent.eml"
    script = tmp_path / "sendmail"
    script.write_text(f"#!{sys.executable}\nimport sys\nopen({str(received)!r}, 'wb').write(sys.stdin.buffer.read())\n")
    script.chmod(0o755)
    run.config.write_text(f'[digest]\nto = "coordinator@district.example"\nfrom = "caltac@district.example"\n'
                          f'sendmail = "{script} -t -oi"\n')
    assert run("digest", "--send").endswith("through sendmail\n")
    message = email.message_from_bytes(received.read_bytes(), policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative" and message["To"] == "coordinator@district.example"

    run.config.write_text('[digest]\nto = "a@b.example"\nfrom = "c@b.example"\nhost = "smtp.example"\n'
                          'password = "hunter2"\n')
    refused = run("digest", "--send", code=2)
    assert "secrets are never stored in the configuration file" in refused and "hunter2" not in refused
    run.config.write_text("")
    assert "no [digest] table" in run("digest", "--send", code=2)


def test_the_readme_documents_a_weekly_digest_cron_line():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert any(line.strip().startswith("0 7 * * 1 ") and "digest --send" in line for line in readme.splitlines())
