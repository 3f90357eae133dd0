"""A read-only command never answers "nothing there" for a database it cannot see: a
missing file is an error naming it (exit 5, nothing created), an unknown --mailbox is a
usage error listing the known ones, and a database in a read-only directory is read."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
CLI = [sys.executable, "-m", "caltac_inbox.cli"]

READ_COMMANDS = [("upcoming",), ("timeline",), ("show", "1"), ("export-ics",), ("messages",),
                 ("changes", "--since", "last-poll"), ("review",), ("corrections",),
                 # a correction needs the database it corrects: a mistyped --db is not a new one
                 ("dismiss", "1"), ("correct", "1", "--what", "x"), ("undo", "1"),
                 ("add", "--kind", "deadline", "--due", "2026-12-01", "--what", "x")]


def env_for(base: Path) -> dict[str, str]:
    (base / "empty.toml").write_text("")
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(base / "state"),
               XDG_DATA_HOME=str(base / "data"), XDG_CONFIG_HOME=str(base / "config"),
               CALTAC_INBOX_CONFIG=str(base / "empty.toml"))
    env.pop("CALTAC_INBOX_DB", None)
    return env


def run(env: dict[str, str], *args: str, cwd: Path, as_nobody: bool = False) -> subprocess.CompletedProcess[str]:
    argv = [*CLI, *args]
    if as_nobody and os.geteuid() == 0:  # root ignores file permissions, nobody does not
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot drop privileges")
        argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: c[0])
def test_a_missing_database_is_an_error_naming_it_and_is_not_created(tmp_path, command):
    missing = tmp_path / "typo" / "caltac.db"
    done = run(env_for(tmp_path), "--db", f"sqlite:///{missing}", *command, cwd=tmp_path)
    assert done.returncode == 5, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert done.stderr == (f"caltac-inbox: error: no database at {missing}; check --db / CALTAC_INBOX_DB / "
                           "[database] url, or store notices first with `caltac-inbox ingest` or `caltac-inbox poll`\n")
    assert not missing.parent.exists()


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    base = tmp_path_factory.mktemp("stored")
    env = env_for(base)
    db_url = f"sqlite:///{base / 'caltac.db'}"
    done = run(env, "--db", db_url, "ingest", "--mailbox", "coordinator", str(SAMPLES), cwd=base)
    assert done.returncode == 0, done.stderr
    return base, env, db_url


@pytest.mark.parametrize("command", [("upcoming",), ("timeline",), ("export-ics",), ("messages",),
                                     ("changes", "--since", "last-poll")], ids=lambda c: c[0])
def test_an_unknown_mailbox_is_a_usage_error_listing_the_known_ones(stored, command):
    base, env, db_url = stored
    done = run(env, "--db", db_url, *command, "--mailbox", "nosuch", cwd=base)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert done.stderr.startswith("caltac-inbox: error: no mailbox named 'nosuch' (known: coordinator)")
    known = run(env, "--db", db_url, *command, "--mailbox", "coordinator", cwd=base)
    assert known.returncode == 0, known.stderr


def test_a_database_in_a_read_only_directory_is_still_read(stored):
    base, env, db_url = stored
    place = Path(tempfile.mkdtemp(prefix="caltac-ro-"))  # nobody must be able to enter it
    try:
        os.chmod(place, 0o755)
        copy = place / "caltac.db"
        source = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        target = sqlite3.connect(copy)
        source.backup(target)
        source.close()
        target.execute("PRAGMA journal_mode=WAL")  # as the store leaves it
        target.close()
        os.chmod(copy, 0o644)
        os.chmod(place, 0o555)
        done = run(env, "--db", f"sqlite:///{copy}", "timeline", "--json", cwd=place, as_nobody=True)
        assert done.returncode == 0, done.stderr
        assert len([json.loads(line) for line in done.stdout.splitlines()]) >= 3
        assert sorted(p.name for p in place.iterdir()) == ["caltac.db"]
    finally:
        os.chmod(place, 0o755)
        shutil.rmtree(place, ignore_errors=True)
