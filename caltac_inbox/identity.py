"""A message's archive identity: the sha256 of its bytes as the sender wrote them,
whatever route they came by (DESIGN.md, IMAP rule 3).

The same notice read from an mbox export and then from the IMAP server differs in
ways that say nothing about the notice: LF against CRLF line ends, an mbox envelope
line ("From sender date"), ">From " quoting of body lines, a missing or extra newline
at the end, and status headers that mail programs write into mbox files (Status,
X-Mozilla-Status, X-Keywords, ...). `normalized(raw)` undoes all of these;
`message_identity(raw)` is its sha256. Two different messages that share a
Message-ID (a damaged copy, a re-send) keep different identities.

Pure; bytes in, bytes or hex out.
"""
from __future__ import annotations

import hashlib
import re

# Headers a mail program or an mbox writer adds to its own copy (lower case).
_LOCAL_HEADERS = (
    b"status", b"x-status", b"x-keywords", b"x-uid", b"x-imap", b"x-imapbase", b"content-length", b"lines",
    b"x-mozilla-status", b"x-mozilla-status2", b"x-mozilla-keys", b"x-gmail-labels", b"x-gm-thrid",
)
_LOCAL_HEADER = re.compile(
    rb"^(?:" + b"|".join(re.escape(name) for name in _LOCAL_HEADERS) + rb")[ \t]*:.*\n(?:[ \t].*\n)*",
    re.IGNORECASE | re.MULTILINE)
# The cheap test whether a lower-cased header block (after a "\n") holds one of them.
_HAS_LOCAL_HEADER = re.compile(rb"\n(?:" + b"|".join(re.escape(name) for name in _LOCAL_HEADERS) + rb")[ \t]*:")
_QUOTED_FROM = re.compile(rb"^>+(From )", re.MULTILINE)


def normalized(raw: bytes) -> bytes:
    """`raw` with line ends, mbox artefacts, local status headers and trailing newlines
    made the same for every copy of one message."""
    text = raw.replace(b"\r\n", b"\n")
    if text.startswith(b"From "):  # an mbox envelope line, not a header (no colon)
        text = text.partition(b"\n")[2]
    head, blank, body = text.partition(b"\n\n")
    if _HAS_LOCAL_HEADER.search(b"\n" + head.lower()):  # rarely: removing them costs ~30 us
        head = _LOCAL_HEADER.sub(b"", head + b"\n")[:-1]
    if b">From " in body:
        body = _QUOTED_FROM.sub(rb"\1", body)
    return (head + blank + body).rstrip(b"\n")


def message_identity(raw: bytes) -> str:
    return hashlib.sha256(normalized(raw)).hexdigest()


__all__ = ["message_identity", "normalized"]
