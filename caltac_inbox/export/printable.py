"""Mail text made safe to show: no control characters, no bidirectional overrides.

The parser drops control characters from a notice's body, not from its Subject, and a
Subject is whatever the sender wrote (RFC 2047 can encode ESC and BEL). Shown in a
calendar, a web page or a terminal, ESC sequences recolour or retitle the reader's
terminal and bidi overrides reorder what is read; both become U+FFFD here. Newlines and
tabs stay (descriptions are multi-line). Escaping for HTML or iCalendar is the
renderer's job, after this.
"""
from __future__ import annotations

import re

# C0 but tab and newline, DEL, C1; the bidi embeddings, overrides and isolates
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
REPLACEMENT = "\ufffd"


def printable(text: str) -> str:
    """`text` with every control character and bidi override replaced by U+FFFD."""
    return _UNSAFE.sub(REPLACEMENT, text)


__all__ = ["REPLACEMENT", "printable"]
