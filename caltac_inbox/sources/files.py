"""Raw messages from local files: .eml files, directories, mbox files, Maildirs, stdin.

Streams: an mbox is read message by message, never loaded whole. A path that cannot
be used (missing, unreadable, not mail, a directory without mail) becomes one
`SourceError` item in the stream instead of an exception, so the caller reports it and
carries on with the other inputs.
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from caltac_inbox.model import RawMessage

MAX_MESSAGE_BYTES = 256 * 2**20  # one message larger than this is reported, not read
_SNIFF_BYTES = 4096
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:[ \t]*\S?")  # RFC 5322 field name, then ':'
_MAILDIR_PARTS = ("cur", "new")


@dataclass(frozen=True)
class SourceError:
    """An input path that yielded no message: missing, unreadable or not mail.
    `skipped`: a file in a directory that is not mail, passed over (a warning, not an
    error)."""

    source: str
    message: str
    skipped: bool = False


_BOM = b"\xef\xbb\xbf"
# Header names that make a file mail whatever its name (a header line alone, "Note: ...",
# does not).
_MAIL_HEADER = re.compile(rb"^(?:from|date|subject|message-id|received|return-path|mime-version|"
                          rb"delivered-to|to|cc|sender|reply-to|x-mozilla-status):", re.IGNORECASE | re.MULTILINE)


def iter_paths(
    paths: Sequence[str], stdin: BinaryIO | None = None
) -> Iterator[RawMessage | SourceError]:
    """One RawMessage per message found under `paths`, in order; SourceError for bad paths.

    A path is an .eml (or any single-message) file, an mbox file (first line "From "),
    a Maildir (cur/new/tmp), a directory (recursive, sorted by name) or "-" for
    standard input (one message, or an mbox).
    """
    for path in paths:
        if path == "-":
            yield from _iter_stdin(stdin if stdin is not None else sys.stdin.buffer)
        else:
            yield from _iter_path(path)


def _iter_stdin(fh: BinaryIO) -> Iterator[RawMessage | SourceError]:
    try:
        first = fh.readline().removeprefix(_BOM)
        if not first:
            yield SourceError("-", "standard input is empty; pipe one message or an mbox into it")
            return
        if first.startswith(b"From "):
            yield from _mbox_messages(_chain([first], fh), "-")
            return
        rest = fh.read(MAX_MESSAGE_BYTES)
        if fh.read(1):
            yield SourceError("-", f"message on standard input is over {MAX_MESSAGE_BYTES // 2**20} MB")
            return
        yield RawMessage(raw=first + rest, source="-")
    except OSError as exc:
        yield SourceError("-", f"cannot read standard input: {_reason(exc)}")


def _iter_path(path: str) -> Iterator[RawMessage | SourceError]:
    p = Path(path)
    try:
        if p.is_dir():
            found = False
            for item in _iter_directory(p, seen=set()):
                found = found or not (isinstance(item, SourceError) and item.skipped)
                yield item
            if not found:
                yield SourceError(path, "no mail found in this directory (.eml files, mbox files or a Maildir)")
            return
        if not p.exists():
            yield SourceError(path, "no such file or directory")
            return
        kind = _sniff(p)
    except OSError as exc:
        yield SourceError(path, f"cannot read: {_reason(exc)}")
        return
    if p.suffix.lower() == ".eml" and kind != "empty":
        yield _read_message(p, path)  # even with an mbox "From " line: the parser skips it
    elif kind == "mbox":
        yield from _iter_mbox_file(p, path)
    elif kind == "mail":
        yield _read_message(p, path)
    elif kind == "empty":
        yield SourceError(path, "file is empty")
    else:
        yield SourceError(path, "not a mail file (no mail headers and not an mbox)")


def _iter_directory(directory: Path, seen: set[str]) -> Iterator[RawMessage | SourceError]:
    real = os.path.realpath(directory)
    if real in seen:  # symlink loop
        return
    seen.add(real)
    try:
        entries = sorted(directory.iterdir(), key=lambda e: e.name)
    except OSError as exc:
        yield SourceError(str(directory), f"cannot list directory: {_reason(exc)}")
        return
    maildir = _is_maildir(directory)
    if maildir:
        for sub in _MAILDIR_PARTS:
            try:
                files = sorted((e for e in (directory / sub).iterdir() if e.is_file()), key=lambda e: e.name)
            except OSError as exc:
                yield SourceError(str(directory / sub), f"cannot list Maildir folder: {_reason(exc)}")
                continue
            for f in files:
                if not f.name.startswith("."):
                    yield _read_message(f, str(f))
    for entry in entries:
        name = entry.name
        try:
            if entry.is_dir():
                if maildir and name in ("cur", "new", "tmp"):
                    continue
                # Maildir++ keeps subfolders as ".Folder" Maildirs; other hidden dirs are not mail.
                if name.startswith(".") and not (maildir and _is_maildir(entry)):
                    continue
                yield from _iter_directory(entry, seen)
                continue
            if name.startswith(".") or not entry.is_file():
                continue
            yield from _directory_file(entry)
        except OSError as exc:
            yield SourceError(str(entry), f"cannot read: {_reason(exc)}")


def _directory_file(entry: Path) -> Iterator[RawMessage | SourceError]:
    """A file found in a directory: tried whatever its name (.txt, .msg, numbered
    files ...); one that is not mail is reported as skipped."""
    kind = _sniff(entry)
    if kind == "mbox":
        yield from _iter_mbox_file(entry, str(entry))
    elif kind == "mail" or (kind != "empty" and entry.suffix.lower() == ".eml"):
        yield _read_message(entry, str(entry))
    else:
        why = "empty" if kind == "empty" else "not mail (no mail headers and not an mbox)"
        yield SourceError(str(entry), f"skipped: {why}", skipped=True)


def _is_maildir(directory: Path) -> bool:
    return all((directory / sub).is_dir() for sub in _MAILDIR_PARTS)


def _sniff(path: Path) -> str:
    """'mbox', 'mail', 'empty' or 'other' from the first bytes of a file."""
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    head = head.removeprefix(_BOM)
    if not head.strip():
        return "empty"
    if head.startswith(b"From ") and is_postmark(head.split(b"\n", 1)[0]):
        return "mbox"
    if b"\x00" in head:
        return "other"
    first = head.lstrip(b"\r\n").split(b"\n", 1)[0]
    if _HEADER_LINE.match(first) and len(_MAIL_HEADER.findall(head.split(b"\n\n", 1)[0])) >= 2:
        return "mail"
    if head.startswith(b"From ") and len(_MAIL_HEADER.findall(head)) >= 2:
        return "mbox"  # an mbox whose first postmark we do not know the form of
    if len(_MAIL_HEADER.findall(head.split(b"\n\n", 1)[0])) >= 2:
        return "mail"  # mail headers below a damaged first line: the parser decides, and a failure is archived
    return "other"


def _read_message(path: Path, source: str) -> RawMessage | SourceError:
    try:
        size = path.stat().st_size
        if size > MAX_MESSAGE_BYTES:
            return SourceError(source, f"message file is {size // 2**20} MB, over {MAX_MESSAGE_BYTES // 2**20} MB")
        return RawMessage(raw=path.read_bytes().removeprefix(_BOM), source=source)
    except OSError as exc:
        return SourceError(source, f"cannot read: {_reason(exc)}")


def _iter_mbox_file(path: Path, source: str) -> Iterator[RawMessage | SourceError]:
    try:
        fh = path.open("rb")
    except OSError as exc:
        yield SourceError(source, f"cannot read: {_reason(exc)}")
        return
    with fh:
        try:
            first = fh.readline().removeprefix(_BOM)
            yield from _mbox_messages(_chain([first], fh), source)
        except OSError as exc:
            yield SourceError(source, f"read failed part-way through the mbox: {_reason(exc)}")


_ESCAPED_FROM = re.compile(rb"^>(>*From )")
_MONTH = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# "From sender date": the date as ctime() writes it ("Fri Sep  9 17:11:00 2016"), as
# Gmail's export does ("Fri Sep 09 17:11:00 +0000 2016") or with the day first. A body
# line such as "From 5 p.m. on Friday, September 9 ..." is none of these.
_POSTMARK = re.compile(rb"^From \S+ +(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? +)?"
                       rb"(?:" + _MONTH + rb" +\d{1,2}|\d{1,2} +" + _MONTH + rb")\b.*\d{1,2}:\d\d")
_CONTENT_LENGTH = re.compile(rb"^Content-Length:[ \t]*(\d{1,12})[ \t]*\r?$", re.IGNORECASE)
_BLANK = (b"\n", b"\r\n")


def is_postmark(line: bytes) -> bool:
    """An mbox "From " separator line: a sender and a date."""
    return bool(_POSTMARK.match(line))


class _MboxMessage:
    """One message being read from an mbox: its lines, and its Content-Length (mboxcl2)."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.lines: list[bytes] = []
        self.size = 0
        self.oversized = False
        self.in_headers = True
        self.content_length: int | None = None
        self.body_left: int | None = None  # bytes of a Content-Length body still to read
        self.body_start = 0  # index in lines where the body starts
        self.length_held = False  # the Content-Length ended right before a "From " line

    def add(self, line: bytes, *, literal: bool = False) -> None:
        if self.oversized:
            return
        self.size += len(line)
        if self.size > MAX_MESSAGE_BYTES:
            self.oversized, self.lines = True, []
            return
        self.lines.append(line if literal else _ESCAPED_FROM.sub(rb"\1", line))

    def header_line(self, line: bytes) -> None:
        """A line of the header block; at its end, start counting a Content-Length body."""
        if line in _BLANK:
            self.in_headers = False
            self.body_start = len(self.lines)
            if self.content_length is not None and self.content_length <= MAX_MESSAGE_BYTES:
                self.body_left = self.content_length
            return
        found = _CONTENT_LENGTH.match(line)
        if found:
            self.content_length = int(found.group(1))

    def finish(self, source: str) -> RawMessage | SourceError:
        name = f"{source}#{self.number}"
        if self.oversized:
            return SourceError(name, f"message is over {MAX_MESSAGE_BYTES // 2**20} MB; skipped")
        if self.lines and self.lines[-1] in _BLANK:
            self.lines.pop()  # the blank line that separates mbox messages
        return RawMessage(raw=b"".join(self.lines), source=name)


def _mbox_messages(lines: Iterable[bytes], source: str) -> Iterator[RawMessage | SourceError]:
    """Split an mbox stream into its messages (the mbox family, see mbox(5)):

    - a message starts at a "From " postmark line (a sender and a date) at the start
      of the file or after a blank line; a body line that merely starts with "From "
      (Thunderbird does not escape them) never splits a message;
    - a Content-Length header (mboxcl2) is honoured when the next line after that many
      body bytes is a "From " line (or the blank line before one, or the end): its
      body is taken as it is, "From " lines and all;
    - one level of ">From " quoting (mboxrd) is undone elsewhere.

    The separator line is not part of the message."""
    pushed: list[bytes] = []  # lines read ahead and given back, last first
    stream = iter(lines)

    def next_line() -> bytes | None:
        return pushed.pop() if pushed else next(stream, None)

    current: _MboxMessage | None = None
    number = 0
    previous_blank = True
    while (line := next_line()) is not None:
        if current is not None and current.body_left is not None:
            current.add(line, literal=True)
            current.body_left -= len(line)
            if current.body_left <= 0:
                _end_counted_body(current, next_line, pushed)
            continue
        starts = line.startswith(b"From ") and (
            number == 0 or (current is not None and current.length_held) or (previous_blank and is_postmark(line)))
        if starts:
            if current is not None:
                yield current.finish(source)
            number += 1
            current = _MboxMessage(number)
            previous_blank = False
            continue
        previous_blank = line in _BLANK
        if current is None:
            continue
        if current.length_held and not previous_blank:
            current.length_held = False
        if current.in_headers:
            current.header_line(line)
        current.add(line)
        if current.body_left is not None and current.body_left <= 0:
            _end_counted_body(current, next_line, pushed)
    if current is not None:
        yield current.finish(source)


def _end_counted_body(message: _MboxMessage, next_line: Callable[[], bytes | None], pushed: list[bytes]) -> None:
    """A Content-Length body has been read: keep it when a "From " line (or a blank line
    and one, or the end) follows, else give its lines back to be split the usual way."""
    message.body_left = None
    ahead: list[bytes] = []
    for _ in range(2):
        line = next_line()
        if line is None:
            break
        ahead.append(line)
        if line not in _BLANK:
            break
    pushed.extend(reversed(ahead))
    following = next((line for line in ahead if line not in _BLANK), None)
    if following is None and (len(ahead) < 2):
        message.length_held = True  # the end of the file
        return
    if following is not None and following.startswith(b"From "):
        message.length_held = True
        return
    body = message.lines[message.body_start:]  # not mboxcl2 after all
    del message.lines[message.body_start:]
    message.size -= sum(len(line) for line in body)
    message.content_length = None
    pushed.extend(reversed(body))


def _chain(first: list[bytes], rest: Iterable[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def _reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


__all__ = ["MAX_MESSAGE_BYTES", "SourceError", "iter_paths"]
