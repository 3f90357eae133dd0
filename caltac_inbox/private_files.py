"""Files and directories the tool creates hold raw notices and checkpoints: only their
owner may read them (files 0600, directories 0700), whatever the umask.

- `private_directory(path)`: create `path` and its missing parents as 0700 (existing
  directories are left as they are).
- `private_file(path)`: create an empty 0600 file unless one exists; the SQLite file
  created this way gives its -wal and -shm files the same mode (SQLite copies the
  database file's permissions to them).
- `private_umask()`: the command line runs with umask 077, so anything else it
  creates (lock files, state directories) is private too.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

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


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


__all__ = ["private_directory", "private_file", "private_umask"]
