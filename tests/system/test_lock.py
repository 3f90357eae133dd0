"""The poll's lock (caltac_inbox.lock): one poll per mailbox, the holder recorded, a dead
holder's lock taken over, a hung one reported; with real processes."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from caltac_inbox.lock import LockHeld, lock_path, mailbox_lock


def test_lock_next_to_sqlite_db_and_exclusive(tmp_path):
    path = lock_path("coordinator", tmp_path / "caltac.db")
    assert path.parent == tmp_path and "coordinator" in path.name
    assert lock_path("a/b", None).name == "poll-a_b.lock"
    with mailbox_lock(path):
        with pytest.raises(LockHeld):
            with mailbox_lock(path):
                pass
        # another process is refused too
        probe = subprocess.run(
            [sys.executable, "-c",
             "import sys; from pathlib import Path; from caltac_inbox.lock import mailbox_lock, LockHeld\n"
             "try:\n    with mailbox_lock(Path(sys.argv[1])): print('got')\n"
             "except LockHeld: print('held')", str(path)],
            capture_output=True, text=True, check=True)
        assert probe.stdout.strip() == "held"
    with mailbox_lock(path):  # released
        pass


HOLDER = """
import os, sys, time
from pathlib import Path
from caltac_inbox.lock import mailbox_lock
path, deadline, age, fork = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "fork"
with mailbox_lock(path, deadline=deadline, clock=lambda: time.time() - age):
    worker = os.fork() if fork else None
    if worker == 0:  # a worker process that outlives its poll, inheriting the poll's files
        time.sleep(60)
        os._exit(0)
    print("held", worker or 0, flush=True)
    time.sleep(60)
"""


@contextlib.contextmanager
def lock_holder(path, *, deadline=1800.0, age=0.0, fork=False):
    """A real process holding the lock at `path`, started `age` seconds ago (as it records it)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(deadline), str(age),
                             "fork" if fork else "-"], stdout=subprocess.PIPE, text=True)
    worker = 0
    try:
        word, worker = proc.stdout.readline().split()
        assert word == "held"
        worker = int(worker)
        yield proc, worker
    finally:
        for pid in (proc.pid, worker):
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()


def test_lock_records_who_holds_it_and_a_dead_holders_lock_is_taken_over(tmp_path):
    from caltac_inbox.lock import process_start

    path = lock_path("coordinator", tmp_path / "caltac.db")
    with lock_holder(path) as (proc, _):
        record = json.loads(path.read_text())
        assert record["pid"] == proc.pid and record["process_start"] == process_start(proc.pid)
        assert abs(record["started"] - time.time()) < 30 and record["deadline"] == 1800
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        with pytest.raises(LockHeld) as held:
            with mailbox_lock(path):
                pass
        assert held.value.holder.pid == proc.pid and not held.value.overdue
        assert f"lock held by pid {proc.pid}, started " in held.value.skipping()
        proc.kill()  # kill -9: the record stays, the kernel drops the lock
        proc.wait()
        with mailbox_lock(path) as left_behind:
            assert left_behind.pid == proc.pid  # taken over
            assert json.loads(path.read_text())["pid"] == os.getpid()
    assert path.read_text() == ""  # released cleanly: nothing left behind
    with mailbox_lock(path) as left_behind:
        assert left_behind is None


def test_a_killed_polls_lock_is_taken_over_while_its_worker_still_runs(tmp_path):
    path = lock_path("coordinator", tmp_path / "caltac.db")
    with lock_holder(path, fork=True) as (proc, worker):
        proc.kill()
        proc.wait()
        os.kill(worker, 0)  # the worker, which inherited the poll's open files, still runs
        with mailbox_lock(path) as left_behind:
            assert left_behind.pid == proc.pid


def test_a_lock_held_past_its_deadline_is_overdue(tmp_path):
    path = lock_path("coordinator", tmp_path / "caltac.db")
    with lock_holder(path, deadline=60, age=3600) as (proc, _):
        with pytest.raises(LockHeld) as held:
            with mailbox_lock(path):
                pass
    assert held.value.overdue
    line = held.value.hung()
    assert f"pid {proc.pid}, started " in line and "60 min ago" in line and "past its deadline of 60 s" in line
    assert str(path) in line and "\n" not in line


def test_a_lock_record_is_trusted_only_for_the_same_live_process():
    from caltac_inbox.lock import Holder, process_start

    me = Holder.me(deadline=60, now=time.time() - 3600)
    assert me.running() is True
    assert replace(me, process_start=me.process_start + 1).running() is False  # PID reused
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    gone = replace(me, pid=int(dead.stdout), process_start=process_start(os.getpid()))
    assert gone.running() is False
    assert replace(me, host="elsewhere.example").running() is None
    # a record left by a dead run while the kernel lock is held: a new holder is just starting
    assert not LockHeld(Path("x.lock"), gone, time.time()).overdue
    assert "just started" in LockHeld(Path("x.lock"), gone, time.time()).skipping()
    assert LockHeld(Path("x.lock"), me, time.time()).overdue


# Locks never follow a symlink or a hard link, and live only in a directory the user owns
# (issue 25): otherwise whoever can write to the database directory could make a root cron
# poll create or empty any file.

def _poll_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text('[[mailbox]]\nname = "coordinator"\nhost = "127.0.0.1"\nport = 9\nsecurity = "plain"\n'
                      'username = "u"\npassword_env = "CALTAC_TEST_PASSWORD"\nretries = 0\nconnect_timeout = 2\n')
    return config


def _one_line_error(result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("caltac-inbox: error: "), result.stderr
    return lines[0]


def test_a_symlinked_poll_lock_is_refused_and_its_target_left_alone(tmp_path):
    from caltac_inbox.errors import ConfigError

    victim = tmp_path / "system-file"
    victim.write_text("precious\n")
    path = lock_path("coordinator", tmp_path / "caltac.db")
    path.symlink_to(victim)
    with pytest.raises(ConfigError, match="symbolic link") as refused:
        with mailbox_lock(path):
            pass
    assert str(path) in str(refused.value)
    assert victim.read_text() == "precious\n"
    path.unlink()
    path.symlink_to(tmp_path / "created-by-the-lock")  # a dangling link is not followed either
    with pytest.raises(ConfigError, match="symbolic link"):
        with mailbox_lock(path):
            pass
    assert not (tmp_path / "created-by-the-lock").exists()


def test_a_hard_linked_or_foreign_lock_file_is_refused(tmp_path):
    from caltac_inbox.errors import ConfigError

    victim = tmp_path / "system-file"
    victim.write_text("precious\n")
    path = lock_path("coordinator", tmp_path / "caltac.db")
    os.link(victim, path)
    with pytest.raises(ConfigError, match="hard link"):
        with mailbox_lock(path):
            pass
    assert victim.read_text() == "precious\n"
    path.unlink()
    if os.geteuid() == 0:  # only root can give a file away
        path.write_text("")
        os.chown(path, 65534, 65534)
        with pytest.raises(ConfigError, match="belongs to another user"):
            with mailbox_lock(path):
                pass
        path.unlink()
        os.chown(tmp_path, 65534, 65534)
        try:
            with pytest.raises(ConfigError, match="directory .* belongs to another user"):
                with mailbox_lock(path):
                    pass
        finally:
            os.chown(tmp_path, 0, 0)
    with mailbox_lock(path):  # a fresh lock is created 0600 with O_EXCL
        assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_poll_with_a_symlinked_or_directory_lock_exits_2_with_one_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from caltac_inbox import cli

    monkeypatch.delenv("CALTAC_INBOX_DB", raising=False)
    monkeypatch.setenv("CALTAC_INBOX_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("CALTAC_TEST_PASSWORD", "x")
    config = _poll_config(tmp_path)
    db = tmp_path / "caltac.db"
    victim = tmp_path / "system-file"
    victim.write_text("precious\n")
    lock = lock_path("coordinator", db)
    lock.symlink_to(victim)
    runner = CliRunner()
    result = runner.invoke(cli.main, ["--config", str(config), "--db", f"sqlite:///{db}", "poll"])
    line = _one_line_error(result, 2)
    assert str(lock) in line and "symbolic link" in line
    assert victim.read_text() == "precious\n"
    lock.unlink()
    lock.mkdir()
    result = runner.invoke(cli.main, ["--config", str(config), "--db", f"sqlite:///{db}", "poll"])
    line = _one_line_error(result, 2)
    assert str(lock) in line and "is a directory" in line


def test_the_migrate_lock_never_follows_a_symlink(tmp_path):
    from caltac_inbox.errors import ConfigError
    from caltac_inbox.store.db import make_engine, upgrade

    victim = tmp_path / "system-file"
    victim.write_text("precious\n")
    db = tmp_path / "caltac.db"
    Path(f"{db}.migrate-lock").symlink_to(victim)
    with pytest.raises(ConfigError, match="symbolic link"):
        upgrade(make_engine(f"sqlite:///{db}"))
    assert victim.read_text() == "precious\n"
