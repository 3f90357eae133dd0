"""One poll per mailbox at a time, with a lock that says who holds it.

The lock is a POSIX record lock (`fcntl.lockf`) on a small file. The kernel releases it
when its holder dies (kill -9 included), and unlike flock() a forked worker process does
not inherit it, so a poll killed while one of its workers is still busy leaves no lock
behind: the next run takes it over. The file records the holder (PID, the process's own
start time, host, when the poll started and its deadline), so a run that finds the lock
held can tell a poll within its deadline (skip quietly) from one held past it (report,
so cron mails someone), and name it.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

# A poll stops at its deadline, then finishes the message in hand, commits and refreshes
# the timeline: only a lock held this much longer than its deadline is hung.
GRACE_SECONDS = 120.0

_HELD_HERE: set[str] = set()  # POSIX locks never conflict within one process: track them


def process_start(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot, from /proc), None when there
    is no such process or no /proc to ask. Tells a live holder from a reused PID."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    try:
        return int(stat.rsplit(")", 1)[1].split()[19])  # field 22; the name may hold ") "
    except (IndexError, ValueError):
        return None


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a lock, as recorded in its file."""

    pid: int
    host: str
    started: float  # seconds since the epoch
    deadline: float  # the holder's own deadline, seconds
    process_start: int | None = None  # see process_start(); None where unknown

    @classmethod
    def me(cls, deadline: float, now: float) -> "Holder":
        pid = os.getpid()
        return cls(pid=pid, host=socket.gethostname(), started=now, deadline=deadline,
                   process_start=process_start(pid))

    @classmethod
    def from_record(cls, data: bytes) -> "Holder | None":
        try:
            fields = json.loads(data.decode("utf-8"))
            return cls(pid=int(fields["pid"]), host=str(fields["host"]), started=float(fields["started"]),
                       deadline=float(fields["deadline"]),
                       process_start=None if fields.get("process_start") is None else int(fields["process_start"]))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None

    def record(self) -> bytes:
        return json.dumps(asdict(self)).encode("utf-8") + b"\n"

    def running(self) -> bool | None:
        """Whether the recorded process still runs (same PID and start time); None when
        it is on another host and cannot be asked."""
        if self.host != socket.gethostname():
            return None
        started = process_start(self.pid)
        if started is None:
            return self.process_start is None and pid_exists(self.pid)
        return self.process_start is None or started == self.process_start

    def age(self, now: float) -> float:
        return max(0.0, now - self.started)

    def describe(self, now: float) -> str:
        since = datetime.fromtimestamp(self.started, timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        return f"pid {self.pid}{where}, started {since}, {_duration(self.age(now))} ago"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class LockHeld(Exception):
    """Another run holds the lock. `overdue`: its holder runs past its deadline."""

    def __init__(self, path: Path, holder: Holder | None, now: float) -> None:
        super().__init__(str(path))
        self.path = path
        self.now = now
        # A record whose process is gone was left by a dead run: whoever holds the lock
        # now has only just taken it and not yet written its own.
        self.holder = holder if holder is not None and holder.running() is not False else None
        self.overdue = self.holder is not None and self.holder.age(now) > self.holder.deadline + GRACE_SECONDS

    def skipping(self) -> str:
        """The line for a run that finds the lock held and leaves quietly."""
        if self.holder is None:
            return "another poll is running (lock held; it has just started); skipping"
        return f"another poll is running (lock held by {self.holder.describe(self.now)}); skipping"

    def hung(self) -> str:
        """The line for a lock held past its holder's deadline: it needs a person."""
        assert self.holder is not None
        pid = self.holder.pid
        return (f"the poll holding the lock ({self.holder.describe(self.now)}) is past its deadline of "
                f"{_duration(self.holder.deadline)} and may be hung; check it (`ps -p {pid}`), stop it "
                f"if it is (`kill {pid}`), and the next run takes the lock over ({self.path})")


def lock_path(mailbox: str, sqlite_file: Path | None) -> Path:
    """Next to the SQLite database (the lock guards its checkpoints), else in the user
    state directory."""
    safe = re.sub(r"[^A-Za-z0-9._@+-]", "_", mailbox)
    if sqlite_file is not None:
        return sqlite_file.with_name(f"{sqlite_file.name}.poll-{safe}.lock")
    import platformdirs

    return Path(platformdirs.user_state_dir("caltac-inbox")) / "locks" / f"poll-{safe}.lock"


@contextlib.contextmanager
def mailbox_lock(path: Path, *, deadline: float = 1800.0,
                 clock: Callable[[], float] = time.time) -> Iterator[Holder | None]:
    """Hold the lock at `path` for a run with this `deadline`, or raise LockHeld.

    Yields the holder recorded by a run that died holding it (taken over), else None."""
    key = os.path.abspath(path)
    if key in _HELD_HERE:
        raise LockHeld(path, Holder.me(deadline, clock()), clock())
    from caltac_inbox.private_files import open_lock_file, private_directory

    private_directory(path.parent)
    fd = open_lock_file(path)
    try:
        try:
            import fcntl

            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise LockHeld(path, Holder.from_record(_read(fd)), clock()) from None
        left_behind = Holder.from_record(_read(fd))
        _write(fd, Holder.me(deadline, clock()).record())
        _HELD_HERE.add(key)
        try:
            yield left_behind
        finally:
            _HELD_HERE.discard(key)
            _write(fd, b"")  # released: a record in the file means its run died holding it
    finally:
        os.close(fd)  # also releases the lock


def _read(fd: int) -> bytes:
    return os.pread(fd, 4096, 0)


def _write(fd: int, data: bytes) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


__all__ = ["GRACE_SECONDS", "Holder", "LockHeld", "lock_path", "mailbox_lock", "process_start"]
