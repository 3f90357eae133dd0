"""Files and directories the tool creates hold raw notices and checkpoints: only their
owner may read them (files 0600, directories 0700), whatever the umask.

- `private_directory(path)`: create `path` and its missing parents as 0700 (existing
  directories are left as they are).
- `private_file(path)`: create an empty 0600 file unless one exists; the SQLite file
  created this way gives its -wal and -shm files the same mode (SQLite copies the
  database file's permissions to them).
- `private_umask()`: the command line runs with umask 077, so anything else it
  creates (lock files, state directories) is private too.
- `open_lock_file(path)`: open (or create) a lock file that is not a symlink, not a
  hard link, owned by the user, in a directory the user owns; anything else is a
  ConfigError naming the path. Someone who can write to the database directory could
  otherwise point the lock at a file the tool would then create or truncate.
"""
from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Iterator

from caltac_inbox.errors import ConfigError

PRIVATE_UMASK = 0o077


def private_directory(path: Path) -> None:
    missing = []
    for directory in [path, *path.parents]:
        if directory.exists():
            break
        missing.append(directory)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            directory.mkdir(mode=0o700)
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask


def private_file(path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def open_lock_file(path: Path) -> int:
    """A read-write descriptor on the lock file at `path`, created 0600 if missing
    (O_CREAT|O_EXCL, never through a symlink). The caller closes it."""
    _check_lock_directory(path.parent, path)
    flags = os.O_RDWR | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    for _attempt in range(5):  # another process may create or remove it meanwhile
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            try:
                fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            except OSError as exc:
                raise _unsafe(path, exc) from None
        except OSError as exc:
            raise _unsafe(path, exc) from None
        try:
            _check_lock_file(fd, path)
        except BaseException:
            os.close(fd)
            raise
        return fd
    raise ConfigError(f"lock file {path}: it keeps appearing and disappearing; check what else writes to "
                      f"{path.parent}")


def _unsafe(path: Path, exc: OSError) -> ConfigError:
    import errno

    if exc.errno == errno.ELOOP or path.is_symlink():
        why = "is a symbolic link, and a lock file is never followed through one"
    elif exc.errno == errno.EISDIR or path.is_dir():
        why = "is a directory"
    else:
        why = f"cannot be opened ({exc.strerror or exc})"
    return ConfigError(f"lock file {path} {why}; remove it (or fix its permissions) and run again")


def _check_lock_directory(directory: Path, path: Path) -> None:
    try:
        info = os.stat(directory)
    except OSError as exc:
        raise ConfigError(f"lock file {path}: its directory cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"lock file {path}: {directory} is not a directory")
    if info.st_uid != os.geteuid():
        raise ConfigError(f"lock file {path}: its directory {directory} belongs to another user (uid "
                          f"{info.st_uid}); keep the database in a directory you own")


def _check_lock_file(fd: int, path: Path) -> None:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"lock file {path} is not a regular file; remove it and run again")
    if info.st_uid != os.geteuid():
        raise ConfigError(f"lock file {path} belongs to another user (uid {info.st_uid}); remove it and run again")
    if info.st_nlink != 1:
        raise ConfigError(f"lock file {path} has other names (a hard link); remove it and run again")


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


__all__ = ["open_lock_file", "private_directory", "private_file", "private_umask"]
