"""CLI: help texts, error handling, and the commands over a store on both backends.

The parser/classifier are replaced by the stand-ins in tests/fakes.py so these
tests exercise the CLI and store, not the extraction quality.
"""
from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from caltac_inbox import cli
from caltac_inbox.cli.app import App
from caltac_inbox.errors import AuthError, ConfigError, ConnectionFailure, DatabaseError, UserError
from tests.fakes import DESIGNATION, DOWNTIME, RETENTION, fake_classify, fake_parse, make_eml


@pytest.fixture
def fakes(monkeypatch):
    import caltac_inbox.pipeline as pipeline

    monkeypatch.setattr(pipeline, "default_parser", lambda: fake_parse)
    monkeypatch.setattr(pipeline, "default_classifier", lambda: fake_classify)


@pytest.fixture
def mail_dir(tmp_path):
    d = tmp_path / "mail"
    d.mkdir()
    (d / "a.eml").write_bytes(make_eml(message_id="<a@x>", facts=[DOWNTIME, DESIGNATION]))
    (d / "b.eml").write_bytes(make_eml(message_id="<b@x>", sent="2020-07-20T09:00:00-07:00",
                                       facts=[DOWNTIME, RETENTION]))
    return d


@pytest.fixture
def run(monkeypatch, tmp_path):
    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "no-config.toml"))
    (tmp_path / "no-config.toml").write_text("")
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli.main, [str(a) for a in args], input=input, catch_exceptions=False)

    return invoke


def _all_commands(group: click.Group, prefix=()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, prefix + (name,))


def test_every_command_has_help_with_an_example(run):
    commands = list(_all_commands(cli.main))
    assert {"extract", "ingest", "upcoming", "timeline", "show", "messages", "reparse", "db"} <= {
        c[0][0] for c in commands}
    top = run("--help")
    assert top.exit_code == 0 and "Example" in top.output
    for path, command in commands:
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        assert command.help and "Example" in result.output, f"{' '.join(path)} --help has no example"


@pytest.mark.parametrize("limit", [20, 45, 60, 200])
def test_root_help_lists_each_command_by_the_first_paragraph_of_its_own_help(limit):
    """The root `--help` lists the lazy commands from cli.LAZY_COMMANDS without importing
    them: each summary says what the command's own help begins with."""
    for name, lazy in cli.LAZY_COMMANDS.items():
        summary = click.Command(name, help=lazy.summary).get_short_help_str(limit)
        assert summary == cli.load_command(name).get_short_help_str(limit), name


def test_root_help_imports_no_command_module():
    code = ("import sys; from caltac_inbox.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('caltac_inbox.cli.') and m != 'caltac_inbox.cli.options'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert "upcoming" in done.stdout and "What is coming" in done.stdout


def test_help_does_not_import_heavy_modules():
    code = ("import sys; import caltac_inbox.cli; "
            "heavy = [m for m in ('sqlalchemy', 'alembic', 'bs4', 'dateparser', 'icalendar', 'imapclient', "
            "'mailparser', 'docx', 'caltac_inbox.pipeline') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("exc, code", [
    (UserError("x.eml: broken"), 1), (ConfigError("bad"), 2), (AuthError("no"), 3),
    (ConnectionFailure("down"), 4), (DatabaseError("locked"), 5),
])
def test_user_errors_print_one_line_and_exit_code(exc, code, capsys):
    assert cli.handle_cli_error(exc) == code
    err = capsys.readouterr().err
    assert err == f"caltac-inbox: error: {exc}\n"


def test_unexpected_errors_are_one_line_with_debug_hint(capsys):
    assert cli.handle_cli_error(ValueError("bad\nthing")) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "ValueError" in err and "--debug" in err


def test_unexpected_error_inside_a_command_has_no_traceback(run, monkeypatch, tmp_path):
    import caltac_inbox.store.writer as writer

    def boom(url, **kw):
        raise RuntimeError("kaput")

    monkeypatch.setattr(writer, "open_store", boom)
    result = run("--db", f"sqlite:///{tmp_path}/x.db", "reparse")  # a writing command opens the store
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "unexpected RuntimeError: kaput" in result.output and "--debug" in result.output


@pytest.mark.postgres  # psycopg, to reach a port where no server listens
def test_database_error_exit_code(run):
    result = run("--db", "postgresql+psycopg://postgres:secret@127.0.0.1:1/x?connect_timeout=2", "messages")
    assert result.exit_code == 5
    assert "secret" not in result.output
    assert result.output.startswith("caltac-inbox: error: cannot open database")


def test_db_option_precedence(run, monkeypatch, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/from-config.db"\n')
    app = App(config_option=str(cfg))
    assert app.db_url() == f"sqlite:///{tmp_path}/from-config.db"
    assert App(db_option="sqlite:///flag.db", config_option=str(cfg)).db_url() == "sqlite:///flag.db"
    monkeypatch.setenv("CALTAC_INBOX_DB", f"sqlite:///{tmp_path}/env.db")
    result = run("--config", cfg, "db", "upgrade")
    assert result.exit_code == 0 and "env.db" in result.output
    result = run("--db", f"sqlite:///{tmp_path}/flag.db", "--config", cfg, "db", "upgrade")
    assert "flag.db" in result.output
    monkeypatch.delenv("CALTAC_INBOX_DB")
    assert "from-config.db" in run("--config", cfg, "db", "upgrade").output


def test_extract_json_lines_and_bad_inputs(run, fakes, mail_dir, tmp_path):
    (mail_dir / "c.eml").write_bytes(b"Subject: no sender\r\n\r\nhello")
    result = run("extract", mail_dir, tmp_path / "missing.eml", "--json")
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["source"].rsplit("/", 1)[-1] for line in lines] == ["a.eml", "b.eml", "c.eml", "missing.eml"]
    assert lines[0]["kinds"] == ["designation", "downtime"]
    assert lines[2]["facts"] == [] and "error" in lines[2]
    errors = result.stderr.splitlines()
    assert len(errors) == 2
    assert all(e.startswith("caltac-inbox: error: ") for e in errors)
    assert "c.eml" in errors[0] and "missing.eml" in errors[1]


def test_extract_table_and_csv(run, fakes, mail_dir):
    table = run("extract", mail_dir)
    assert table.exit_code == 0
    assert "downtime" in table.output and "TOMS, ORS unavailable" in table.output
    csv_out = run("extract", mail_dir, "--csv").output.splitlines()
    assert csv_out[0] == "source,kind,when,until,program,status,what" and len(csv_out) == 5
    assert run("extract", mail_dir, "--csv", "--json").exit_code == 2


def test_ingest_then_query_commands(run, fakes, mail_dir, db_url):
    first = run("--db", db_url, "ingest", mail_dir)
    assert first.exit_code == 0, first.output
    assert "2 new" in first.output and "4 fact(s) stored" in first.output
    second = run("--db", db_url, "ingest", mail_dir)
    assert second.exit_code == 0 and "nothing new stored" in second.output

    up = run("--db", db_url, "upcoming", "--as-of", "2020-08-01", "--json")
    rows = [json.loads(line) for line in up.output.splitlines()]
    assert {r["kind"] for r in rows} == {"downtime", "retention"}
    assert all({"id", "uid", "status", "sources", "unverified"} <= set(r) for r in rows)
    assert "TOMS, ORS unavailable" in run("--db", db_url, "upcoming", "--as-of", "2020-08-01").output
    assert run("--db", db_url, "upcoming", "--as-of", "2020-08-01", "--kind", "retention", "--json"
               ).output.count("\n") == 1
    assert run("--db", db_url, "upcoming", "--as-of", "2021-01-01").output == (
        "Nothing coming up between 2021-01-01 and 2021-03-02.\n")

    tl = run("--db", db_url, "timeline", "--from", "2020-07-01", "--to", "2020-07-31", "--json")
    assert [json.loads(x)["kind"] for x in tl.output.splitlines()] == ["designation"]
    assert run("--db", db_url, "timeline", "--program", "elpac", "--csv").output.count("\n") == 3  # header + 2

    entry = json.loads(tl.output.splitlines()[0])
    shown = run("--db", db_url, "show", entry["id"])
    assert shown.exit_code == 0 and "Designate by July 1." in shown.output
    assert json.loads(run("--db", db_url, "show", entry["uid"], "--json").output)["id"] == entry["id"]
    missing = run("--db", db_url, "show", "424242")
    assert missing.exit_code == 1 and "no timeline entry" in missing.output

    msgs = run("--db", db_url, "messages", "--json")
    assert len(msgs.output.splitlines()) == 2
    assert "No failed messages" in run("--db", db_url, "messages", "--failed").output


def test_failed_messages_and_reparse(run, fakes, mail_dir, db_url):
    (mail_dir / "c.eml").write_bytes(b"Subject: no sender\r\n\r\nhello")
    result = run("--db", db_url, "ingest", mail_dir)
    assert result.exit_code == 1
    assert "1 failed to parse" in result.stdout
    assert result.stderr.startswith("caltac-inbox: error: ") and "c.eml" in result.stderr
    failed = run("--db", db_url, "messages", "--failed", "--json")
    assert [json.loads(x)["source"].rsplit("/", 1)[-1] for x in failed.output.splitlines()] == ["c.eml"]
    assert run("--db", db_url, "reparse", "--failed").exit_code == 1
    again = run("--db", db_url, "reparse", "--all")
    assert "reparsed 3 message(s)" in again.stdout and "0 fact(s) added, 0 removed" in again.stdout


def test_db_upgrade_command(run, db_url):
    result = run("--db", db_url, "db", "upgrade")
    assert result.exit_code == 0 and "latest" in result.output
    assert run("--db", db_url, "db", "upgrade").exit_code == 0
