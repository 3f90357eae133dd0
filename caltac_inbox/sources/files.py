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
from collections.abc import Iterable, Iterator, Sequence
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
    """An input path that yielded no message: missing, unreadable or not mail."""

    source: str
    message: str


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
        first = fh.readline()
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
                found = True
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
        yield from _iter_maildir(directory)
    for entry in entries:
        try:
            if entry.is_dir():
                if _is_mail_subdirectory(entry, maildir):
                    yield from _iter_directory(entry, seen)
                continue
            if not entry.name.startswith(".") and entry.is_file():
                yield from _iter_file(entry)
        except OSError as exc:
            yield SourceError(str(entry), f"cannot read: {_reason(exc)}")


def _iter_maildir(directory: Path) -> Iterator[RawMessage | SourceError]:
    """The messages of a Maildir's cur/, new/ and tmp/."""
    for sub in _MAILDIR_PARTS:
        try:
            files = sorted((e for e in (directory / sub).iterdir() if e.is_file()), key=lambda e: e.name)
        except OSError as exc:
            yield SourceError(str(directory / sub), f"cannot list Maildir folder: {_reason(exc)}")
            continue
        for f in files:
            if not f.name.startswith("."):
                yield _read_message(f, str(f))


def _is_mail_subdirectory(entry: Path, in_maildir: bool) -> bool:
    """Whether to read a subdirectory: not a Maildir's own cur/new/tmp (read already), and
    not hidden, except a Maildir++ subfolder (".Folder", itself a Maildir)."""
    if in_maildir and entry.name in ("cur", "new", "tmp"):
        return False
    return not entry.name.startswith(".") or (in_maildir and _is_maildir(entry))


def _iter_file(entry: Path) -> Iterator[RawMessage | SourceError]:
    """A file in a directory: an .eml, an mbox, or a message without a suffix; anything
    else (labels.jsonl, .txt, .pdf, ...) is not mail and is skipped silently."""
    suffix = entry.suffix.lower()
    if suffix == ".eml":
        yield _read_message(entry, str(entry))
    elif suffix in ("", ".mbox", ".mbx"):
        kind = _sniff(entry)
        if kind == "mbox":
            yield from _iter_mbox_file(entry, str(entry))
        elif kind == "mail":
            yield _read_message(entry, str(entry))


def _is_maildir(directory: Path) -> bool:
    return all((directory / sub).is_dir() for sub in _MAILDIR_PARTS)


def _sniff(path: Path) -> str:
    """'mbox', 'mail', 'empty' or 'other' from the first bytes of a file."""
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head.strip():
        return "empty"
    if head.startswith(b"From "):
        return "mbox"
    if b"\x00" in head:
        return "other"
    first = head.lstrip(b"\r\n").split(b"\n", 1)[0]
    return "mail" if _HEADER_LINE.match(first) else "other"


def _read_message(path: Path, source: str) -> RawMessage | SourceError:
    try:
        size = path.stat().st_size
        if size > MAX_MESSAGE_BYTES:
            return SourceError(source, f"message file is {size // 2**20} MB, over {MAX_MESSAGE_BYTES // 2**20} MB")
        return RawMessage(raw=path.read_bytes(), source=source)
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
            yield from _mbox_messages(fh, source)
        except OSError as exc:
            yield SourceError(source, f"read failed part-way through the mbox: {_reason(exc)}")


_ESCAPED_FROM = re.compile(rb"^>(>*From )")


def _mbox_messages(lines: Iterable[bytes], source: str) -> Iterator[RawMessage | SourceError]:
    """Split an mbox stream at "From " lines that start the file or follow a blank line.

    The "From " separator line is not part of the message; one level of ">From "
    quoting (mboxrd) is undone.
    """
    buf: list[bytes] = []
    size = 0
    oversized = False
    number = 0
    previous_blank = True

    def finish() -> RawMessage | SourceError | None:
        if number == 0:
            return None
        name = f"{source}#{number}"
        if oversized:
            return SourceError(name, f"message is over {MAX_MESSAGE_BYTES // 2**20} MB; skipped")
        if buf and buf[-1] in (b"\n", b"\r\n"):
            buf.pop()  # the blank line that separates mbox messages
        return RawMessage(raw=b"".join(buf), source=name)

    for line in lines:
        if line.startswith(b"From ") and previous_blank:
            done = finish()
            if done is not None:
                yield done
            buf, size, oversized = [], 0, False
            number += 1
            previous_blank = False
            continue
        previous_blank = line in (b"\n", b"\r\n")
        if number == 0 or oversized:
            continue
        size += len(line)
        if size > MAX_MESSAGE_BYTES:
            oversized, buf = True, []
            continue
        buf.append(_ESCAPED_FROM.sub(rb"\1", line))
    done = finish()
    if done is not None:
        yield done


def _chain(first: list[bytes], rest: Iterable[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def _reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


__all__ = ["MAX_MESSAGE_BYTES", "SourceError", "iter_paths"]
