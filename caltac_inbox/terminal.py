"""What the terminal a command prints to can take: its width, colour, a progress bar.

Output that goes to a pipe or a file (cron mail, `> dates.txt`, a test) stays exactly
as it always was: no fitting unless COLUMNS asks for it, no colour, no progress bar.
On a terminal, tables fit its width, statuses are coloured unless NO_COLOR is set
(https://no-color.org), and a long ingest shows a progress bar on stderr.

Light: click and the standard library only (the CLI imports it for every table).
"""
from __future__ import annotations

import collections
import os
import shutil
import sys
from typing import Any, Iterable, Iterator, Sequence, TextIO

import click

# Inputs smaller than this (about 40 notices) are read before a bar would say anything.
PROGRESS_MIN_BYTES = 256 * 1024


def is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def table_width(stream: TextIO) -> int | None:
    """The width a table printed to `stream` must fit: COLUMNS when it is a positive
    number, else the terminal's width when `stream` is a terminal, else None (a pipe
    or a file without COLUMNS: the table as it always was)."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if is_terminal(stream):
        return shutil.get_terminal_size().columns
    return None


def colour_wanted(stream: TextIO) -> bool:
    """Colour only on a terminal, and not when NO_COLOR is set (to anything but "")
    or the terminal is "dumb"."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def input_bytes(paths: Sequence[str]) -> int:
    """Bytes in the files under `paths` (standard input and unreadable paths count 0)."""
    total = 0
    for path in paths:
        if path == "-":
            continue
        try:
            if os.path.isdir(path):
                for folder, _dirs, files in os.walk(path):
                    for name in files:
                        try:
                            total += os.stat(os.path.join(folder, name)).st_size
                        except OSError:
                            continue
            else:
                total += os.stat(path).st_size
        except OSError:
            continue
    return total


class IngestProgress:
    """A progress bar on stderr for `ingest`, by the bytes of the messages stored so
    far; only on a terminal and for inputs of PROGRESS_MIN_BYTES or more, else silent.

    Wrap the input with `items(...)` and give `stored` to pipeline.ingest as `progress`:
    the store tells of each item once its batch has committed, in input order, so
    the bar shows what is safely stored, not what was merely read."""

    def __init__(self, paths: Sequence[str], stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._sizes: collections.deque[int] = collections.deque()
        self._bar: Any = None
        self._stored = 0
        total = input_bytes(paths) if is_terminal(self._stream) else 0
        if total >= PROGRESS_MIN_BYTES:
            self._bar = click.progressbar(length=total, label="ingesting", file=self._stream,
                                          item_show_func=lambda n: f"{n} message(s)" if n else None)

    def __enter__(self) -> "IngestProgress":
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._bar is not None:
            if exc_type is None and self._bar.length > self._bar.pos:
                self._bar.update(self._bar.length - self._bar.pos, current_item=self._stored)
            self._bar.__exit__(exc_type, exc, tb)
            self._bar = None

    def items(self, items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            if self._bar is not None:
                raw = getattr(item, "raw", None)
                self._sizes.append(len(raw) if raw is not None else 0)
            yield item

    def stored(self, _stored: Any) -> None:
        if self._bar is None:
            return
        self._stored += 1
        self._bar.update(self._sizes.popleft() if self._sizes else 0, current_item=self._stored)


__all__ = ["IngestProgress", "colour_wanted", "input_bytes", "is_terminal", "table_width"]
