"""What an install carries and says about itself: the package list, the migrations found
through the package, --version, `python -m caltac_inbox`, shell completion, the optional
PostgreSQL extra and `doctor`'s migrations check. The real wheel/pipx install is in
tests/system/test_install.py."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner

from caltac_inbox import __version__, cli
from caltac_inbox.errors import DatabaseError
from caltac_inbox.store import db

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_pyproject_lists_every_package_and_maps_the_migrations():
    setuptools = PYPROJECT["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "caltac_inbox").rglob("__init__.py")}
    assert on_disk - set(setuptools["packages"]) == set(), "add these to [tool.setuptools] packages"
    assert setuptools["package-dir"] == {db.MIGRATIONS_PACKAGE: "migrations"}
    assert {db.MIGRATIONS_PACKAGE, f"{db.MIGRATIONS_PACKAGE}.versions"} <= set(setuptools["packages"])


def test_schema_head_is_the_head_of_the_migrations():
    assert db.SCHEMA_HEAD == db.script_head() == db.head_revision(), (
        "a new migration? set SCHEMA_HEAD in caltac_inbox/store/db.py to its revision")


def test_migrations_are_found_through_the_package():
    # An editable install maps the package onto the repository's migrations/.
    assert db.migrations_dir() == Path(str(files(db.MIGRATIONS_PACKAGE))) == REPO / "migrations"


@pytest.fixture
def run(monkeypatch, tmp_path):
    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "empty.toml"))
    (tmp_path / "empty.toml").write_text("")

    def invoke(*args: str):
        return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)

    return invoke


def test_without_migrations_commands_and_doctor_name_the_problem(run, monkeypatch, tmp_path):
    monkeypatch.setattr(db, "MIGRATIONS_PACKAGE", "caltac_inbox._not_installed")
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with pytest.raises(DatabaseError, match=r"no database migrations .*; reinstall caltac-inbox \(pip install"):
        db.connect(url)
    ingest = run("--db", url, "ingest", str(REPO / "samples"))
    assert ingest.exit_code == 5 and "no database migrations" in ingest.output
    doctor = run("--db", url, "doctor")
    assert doctor.exit_code == 5
    assert "FAIL  migrations: this installation has no database migrations (package caltac_inbox._not_installed" \
        in doctor.output
    assert run("--version").output == f"caltac-inbox {__version__} (database migrations missing; run caltac-inbox doctor)\n"


def test_doctor_fails_when_the_migrations_end_elsewhere(run, monkeypatch, tmp_path):
    monkeypatch.setattr(db, "SCHEMA_HEAD", "0999")
    doctor = run("--db", f"sqlite:///{tmp_path / 'new.db'}", "doctor")
    assert doctor.exit_code == 5
    assert f"FAIL  migrations: the database migrations in {REPO / 'migrations'} end at revision {db.script_head()}, " \
           "but this caltac-inbox expects 0999; reinstall caltac-inbox" in doctor.output


def test_doctor_reports_the_migrations(run, tmp_path):
    doctor = run("--db", f"sqlite:///{tmp_path / 'new.db'}", "doctor")
    assert f"ok    migrations: {REPO / 'migrations'}: up to revision {db.SCHEMA_HEAD}" in doctor.output
    assert doctor.exit_code == 0  # no mailbox is fine for someone who only ingests files (D11)
    assert [line for line in doctor.output.splitlines() if line.startswith("FAIL")] == []


def test_version_names_the_schema(run):
    assert run("--version").output == f"caltac-inbox {__version__} (schema {db.SCHEMA_HEAD})\n"


def _module_cli(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "caltac_inbox", *args], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=60)


def test_python_dash_m_runs_the_command_line(tmp_path):
    done = _module_cli("--version", tmp_path=tmp_path)
    assert (done.returncode, done.stdout) == (0, f"caltac-inbox {__version__} (schema {db.SCHEMA_HEAD})\n")
    done = _module_cli("upcoming", "--help", tmp_path=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("Usage: caltac-inbox upcoming [OPTIONS]")


def test_python_dash_m_inside_a_checkout_finds_the_checkout_s_migrations(tmp_path):
    """D1: run from a checkout, `python -m caltac_inbox` imports the source tree, whose
    migrations are the repository's migrations/ (no caltac_inbox._migrations package)."""
    import shutil

    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "caltac_inbox", checkout / "caltac_inbox", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "migrations", checkout / "migrations", ignore=shutil.ignore_patterns("__pycache__"))
    # as with a wheel installed: no editable install's finder maps caltac_inbox._migrations here
    run_from_checkout = (
        "import runpy, sys; "
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in str(getattr(f, '__module__', ''))]; "
        "sys.argv = ['caltac_inbox', *sys.argv[1:]]; runpy.run_module('caltac_inbox', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", run_from_checkout, "--db", f"sqlite:///{tmp_path / 'x.db'}", "ingest",
                           str(REPO / "samples")], cwd=checkout, capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert done.returncode == 0, done.stderr
    assert "migrations missing" not in done.stderr


def test_bash_completion_as_the_readme_says(tmp_path):
    source = _module_cli(tmp_path=tmp_path, _CALTAC_INBOX_COMPLETE="bash_source")
    assert source.returncode == 0 and "complete -o nosort -F _caltac_inbox_completion caltac-inbox" in source.stdout
    words = _module_cli(tmp_path=tmp_path, _CALTAC_INBOX_COMPLETE="bash_complete", COMP_WORDS="caltac-inbox upc",
                        COMP_CWORD="1")
    assert words.stdout.splitlines() == ["plain,upcoming"]


def test_postgresql_without_psycopg_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as in a base install without the extra
    with pytest.raises(DatabaseError) as caught:
        db.make_engine("postgresql://postgres@127.0.0.1:5432/caltac")
    assert "PostgreSQL support is not installed" in str(caught.value)
    assert "pip install 'caltac-inbox[postgres]'" in str(caught.value)
    assert "\n" not in str(caught.value)
