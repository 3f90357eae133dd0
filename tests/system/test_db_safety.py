"""Where the data goes (issue 15): never into an in-memory database, and only into files
and directories their owner alone can read."""
from __future__ import annotations

import os
import stat

import pytest

from caltac_inbox.pipeline import ingest
from tests.fakes import make_eml
from tests.system.test_cli import fakes, run  # noqa: F401 - fixtures

MEMORY_URLS = ["sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite+pysqlite://", "sqlite+pysqlite:///:memory:",
               "sqlite:///file::memory:?uri=true", "sqlite:///file:notes?mode=memory&uri=true", "sqlite:///%3Amemory%3A"]


def _one_line_error(result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("caltac-inbox: error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("url", MEMORY_URLS)
def test_in_memory_sqlite_urls_are_refused_with_exit_2(run, fakes, tmp_path, url):  # noqa: F811
    (tmp_path / "a.eml").write_bytes(make_eml(message_id="<a@x>"))
    line = _one_line_error(run("--db", url, "ingest", tmp_path / "a.eml"), 2)
    assert "in memory" in line and "CALTAC_INBOX_DB" in line
    _one_line_error(run("--db", url, "upcoming"), 2)
    _one_line_error(run("--db", url, "messages"), 2)


def test_an_unset_variable_in_caltac_inbox_db_is_refused(run, fakes, tmp_path, monkeypatch):  # noqa: F811
    (tmp_path / "a.eml").write_bytes(make_eml(message_id="<a@x>"))
    monkeypatch.setenv("CALTAC_INBOX_DB", "sqlite:///")  # what `sqlite:///$DATA_DIR` becomes with DATA_DIR unset
    _one_line_error(run("ingest", tmp_path / "a.eml"), 2)


def test_doctor_reports_an_in_memory_url(run):  # noqa: F811
    result = run("--db", "sqlite://", "doctor")
    assert result.exit_code == 2 and "FAIL  database:" in result.output and "in memory" in result.output


def test_the_file_urls_are_still_accepted():
    from caltac_inbox.store import db

    for url in ("sqlite:///x.db", "sqlite:////var/lib/caltac/caltac.db", "sqlite:///x.db?mode=ro",
                "sqlite+pysqlite:///memory.db", "postgresql+psycopg://u@h/memory"):
        assert not db.is_sqlite_memory(url), url
        db.resolve_url(url)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)  # the usual default, which made everything world-readable
    yield
    os.umask(previous)


def test_database_files_and_directories_are_private(run, fakes, tmp_path, umask_022):  # noqa: F811
    (tmp_path / "a.eml").write_bytes(make_eml(message_id="<a@x>"))
    path = tmp_path / "data" / "caltac" / "caltac.db"
    assert run("--db", f"sqlite:///{path}", "ingest", tmp_path / "a.eml").exit_code == 0
    assert _mode(tmp_path / "data") == 0o700 and _mode(tmp_path / "data" / "caltac") == 0o700
    assert _mode(path) == 0o600
    assert _mode(f"{path}.migrate-lock") == 0o600
    assert os.umask(0o022) == 0o022  # the command left the caller's umask as it was


def test_the_wal_and_shm_files_are_private_also_outside_the_cli(tmp_path, umask_022):
    from caltac_inbox.model import RawMessage
    from caltac_inbox.store.writer import open_store
    from tests.fakes import fake_classify, fake_parse

    path = tmp_path / "new" / "lib.db"
    with open_store(f"sqlite:///{path}") as store:
        ingest(store, [RawMessage(make_eml(), "a.eml")], parser=fake_parse, classifier=fake_classify, workers=0)
        with store.engine.connect():  # the WAL and shared-memory files exist while a connection is open
            assert _mode(f"{path}-wal") == 0o600 and _mode(f"{path}-shm") == 0o600
    assert _mode(path) == 0o600 and _mode(tmp_path / "new") == 0o700


def test_the_poll_lock_file_is_private(run, tmp_path, monkeypatch, umask_022):  # noqa: F811
    config = tmp_path / "config.toml"
    config.write_text('[[mailbox]]\nname = "coordinator"\nhost = "127.0.0.1"\nport = 9\nsecurity = "plain"\n'
                      'username = "u"\npassword_env = "CALTAC_TEST_PASSWORD"\nretries = 0\nconnect_timeout = 2\n')
    monkeypatch.setenv("CALTAC_TEST_PASSWORD", "x")
    path = tmp_path / "state" / "caltac.db"
    result = run("--config", config, "--db", f"sqlite:///{path}", "poll")
    assert result.exit_code == 4, result.output  # nothing listens on port 9
    [lock] = [p for p in path.parent.iterdir() if p.name.endswith(".lock")]
    assert _mode(lock) == 0o600 and _mode(path.parent) == 0o700
