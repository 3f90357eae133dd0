"""The smaller defects of issue 25, point 9: each a usage, configuration or connection
error in one line instead of "unexpected ...", and no bidirectional control characters
in --json. (A lock path that is a directory: tests/system/test_lock.py; a UIDVALIDITY
that is not a number and a UID over 32 bits: tests/system/test_imap_misbehaving.py.)"""
from __future__ import annotations

import json

from click.testing import CliRunner

from caltac_inbox import cli
from tests.fakes import make_eml


def _invoke(tmp_path, monkeypatch, *args: str, config: bytes = b""):
    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    (tmp_path / "config.toml").write_bytes(config)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "config.toml"))
    return CliRunner().invoke(cli.main, ["--db", f"sqlite:///{tmp_path / 'caltac.db'}", *args],
                              catch_exceptions=False)


def _one_line(result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "unexpected" not in result.output and "Traceback" not in result.output
    return result.stderr.strip().splitlines()[-1]


def test_a_huge_limit_is_a_usage_error(tmp_path, monkeypatch):
    (tmp_path / "a.eml").write_bytes(make_eml(message_id="<a@x>"))
    assert _invoke(tmp_path, monkeypatch, "ingest", str(tmp_path / "a.eml")).exit_code == 0
    line = _one_line(_invoke(tmp_path, monkeypatch, "messages", "--limit", "99999999999999999999999"), 2)
    assert "--limit" in line


def test_a_config_file_that_is_not_utf8_is_a_configuration_error(tmp_path, monkeypatch):
    line = _one_line(_invoke(tmp_path, monkeypatch, "poll", config=b'[database]\nurl = "caf\xe9"\n'), 2)
    assert line.startswith("caltac-inbox: error: ") and "not UTF-8" in line and "config.toml" in line


def test_bidi_controls_are_escaped_in_json(tmp_path, monkeypatch):
    from caltac_inbox.display import json_line

    assert json_line({"subject": "invoice\u202etxt.exe"}) == '{"subject": "invoice\\u202etxt.exe"}'
    subject = "=?utf-8?b?" + __import__("base64").b64encode("Downtime \u202egnp.exe\u2066".encode()).decode() + "?="
    (tmp_path / "a.eml").write_bytes(make_eml(message_id="<a@x>", subject=subject))
    assert _invoke(tmp_path, monkeypatch, "ingest", str(tmp_path / "a.eml")).exit_code == 0
    listed = _invoke(tmp_path, monkeypatch, "messages", "--json")
    assert listed.exit_code == 0
    assert "\u202e" not in listed.stdout and "\u2066" not in listed.stdout
    assert "\\u202e" in listed.stdout
    rows = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
    assert any("\u202e" in json.dumps(row, ensure_ascii=False) for row in rows)  # the data itself kept
