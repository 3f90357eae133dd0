"""Text from mail made safe for the places it is shown: terminals, CSV files, JSON, .ics.

Subjects, senders, evidence and parse errors come from whoever sent the mail. Printed
as they are, an escape sequence in a Subject can retitle the terminal (OSC 0), write
the clipboard (OSC 52) or move the cursor, and a CSV cell starting with `=` becomes a
live spreadsheet formula. Every output edge passes text through here:

- `printable(text)`: escape sequences (ESC and C1 forms: CSI, OSC, DCS/SOS/PM/APC up
  to their terminator, two-character ESC sequences) are removed whole, then the other
  C0 controls, DEL, C1 controls and bidirectional overrides. Line breaks and tabs become spaces, or with
  `multiline=True` stay (CRLF and a lone CR become LF).
- `csv_cell(value)`: a number stays as it is (a negative number too: it is data, not
  a formula); text starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'`
  (OWASP CSV injection).
- `json_line(value)`: JSON with DEL, C1 controls and bidirectional controls escaped as
  well (`json.dumps` escapes C0 only), so a terminal showing it sees no control character.
- `fit_columns(headers, rows, width, elastic)` and `clip(text, width)`: a table cut to
  a terminal's width by its summary column ("…"), never by its dates or ids.

Pure functions, no imports beyond the standard library.
"""
from __future__ import annotations

import functools
import json
import re
from typing import Any, Sequence

_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


_ST = r"(?:\x1b\\|\x9c|\x07)"  # string terminator (BEL also ends an OSC in practice)
_PATTERNS = {
    # A string-type sequence without its terminator runs to the end of the line.
    "escape_sequence": (
        r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI: parameters, intermediates, final
        rf"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*{_ST}?"  # OSC, DCS, SOS, PM, APC
        r"|\x1b[ -/]*[0-~]?"  # other ESC sequences (ESC c, ESC ( B, ...) and a lone ESC
    ),
    # bidirectional embeddings, overrides and isolates reorder what is read: removed like controls
    "control": r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]",
    "break": r"\r\n?|[\n\t\v\f]",
    "line_break": r"\r\n?",
    "other_control": r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]",
    # DEL, C1, and the bidirectional marks, embeddings, overrides and isolates
    # (U+202E turns "exe.txt" into "txt.exe" on screen): escaped as \uXXXX
    "json_unescaped": r"[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]",
}


@functools.cache
def _pattern(name: str) -> re.Pattern[str]:
    """Compiled on first use, each on its own: the CLI imports this module at start-up, and
    a listing of non-ASCII text without a control character needs only "control" (a
    class beyond Latin-1 costs ~1 ms to compile)."""
    return re.compile(_PATTERNS[name])


def printable(text: str, *, multiline: bool = False) -> str:
    """`text` without escape sequences or control characters (see the module docstring)."""
    if text.isascii() and text.isprintable():  # the usual case, without a regex
        return text
    if not _pattern("control").search(text):
        return text
    text = _pattern("escape_sequence").sub("", text)
    text = _pattern("line_break").sub("\n", text) if multiline else _pattern("break").sub(" ", text)
    return _pattern("other_control").sub("", text)


def csv_cell(value: Any, text: str) -> str:
    """The CSV cell for `value`, shown as `text`: a spreadsheet never reads it as a formula."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return text
    return "'" + text if text.startswith(_CSV_TRIGGERS) else text


def json_line(value: Any) -> str:
    """`value` as one line of JSON (non-ASCII kept) with every control character escaped."""
    line = json.dumps(value, ensure_ascii=False, default=str)
    if line.isascii():
        return line
    return _pattern("json_unescaped").sub(lambda m: f"\\u{ord(m.group()):04x}", line)


ELLIPSIS = "…"


def clip(text: str, width: int, *, keep_end: bool = False) -> str:
    """`text` in at most `width` characters; when cut, the last one is "…" (or the
    first, with `keep_end`: a path keeps its file name)."""
    if len(text) <= width:
        return text
    if width <= 0:
        return ""
    return ELLIPSIS + text[len(text) - width + 1:] if keep_end else text[: width - 1] + ELLIPSIS


def table_length(widths: Sequence[int | None], gap: int = 2) -> int:
    """Characters in a table line whose columns (None: left out) are `widths` wide."""
    shown = [w for w in widths if w is not None]
    return sum(shown) + gap * max(len(shown) - 1, 0)


def fit_columns(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int, elastic: Sequence[str],
                *, gap: int = 2, room: int = 20, keep_first: bool = False) -> list[int | None]:
    """Column widths for a table of `rows` that fits in `width` characters.

    Only the columns named in `elastic` (the summary, a subject: text that stays
    readable cut short) are narrowed, never a date or an id: a column empty in every
    row is left out (None), then the first elastic column is narrowed to `room`, the
    others to half of it, then all to their header (with `keep_first`, the first one
    last). A table whose other columns alone are wider than `width` stays wider."""
    widths: list[int | None] = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    if table_length(widths, gap) <= width:
        return widths
    widths = [None if all(not r[i] for r in rows) else w for i, w in enumerate(widths)]
    order = [i for name in elastic for i, h in enumerate(headers) if h == name and widths[i] is not None]

    def narrow(i: int, least: int) -> None:
        excess = table_length(widths, gap) - width
        current = widths[i]
        if excess > 0 and current is not None and current > least:
            widths[i] = max(least, current - excess)

    floors = [(order[:1], lambda h: max(len(h), room)), (order[1:], lambda h: max(len(h), room // 2)),
              (order[1:] + order[:1] if keep_first else order, len)]
    for columns, least in floors:
        for i in columns:
            narrow(i, max(least(headers[i]), 2))
    return widths


__all__ = ["ELLIPSIS", "clip", "csv_cell", "fit_columns", "json_line", "printable", "table_length"]
