"""What every command shares: the error line, the common options, output formats, `emit` and `say`.

The leaf of the CLI package: it imports nothing else from `caltac_inbox.cli`, so every
command module can import it, and nothing of the model or the timeline, so a poll that
finds nothing new stays light (the options that choose entries are in cli/selection.py).
Listing commands take `@output_options` (`--json` JSON Lines, `--csv`, a readable table
by default) and print with `emit(rows, output, columns)`.
"""
from __future__ import annotations

import functools
import sys
from typing import Any, Callable, Iterable, Sequence

import click

from caltac_inbox.display import clip, csv_cell, fit_columns, json_line, printable, table_length

PROG = "caltac-inbox"
MAX_LIMIT = 2**62  # a database integer: a larger --limit is a usage error, not an overflow


def print_error(message: str) -> None:
    """One line on stderr in the house style (mail text in it cannot reach the terminal raw)."""
    click.echo(f"{PROG}: error: {printable(message)}", err=True)


# ----------------------------------------------------------------------------- shared options


def authserv_id_option(f: Callable) -> Callable:
    return click.option(
        "--authserv-id", "authserv_ids", multiple=True, metavar="ID",
        help="Trust Authentication-Results written by this receiving server (repeatable), e.g. "
             "mx.google.com; without one, senders are shown unverified (see README).")(f)


def budget_options(f: Callable) -> Callable:
    # imported here, by the modules of the commands that read mail: a listing needs no budget
    from caltac_inbox.budget import MESSAGE_MEMORY_MB_RANGE, MESSAGE_SECONDS_RANGE

    f = click.option("--memory-limit", "memory_limit", type=click.IntRange(*MESSAGE_MEMORY_MB_RANGE), metavar="MB",
                     help="Memory parsing and classifying one message may take; a message over it fails with "
                          "the reason (default 512; ingest and reparse: [limits] message_memory_mb).")(f)
    return click.option("--time-limit", "time_limit", type=click.FloatRange(*MESSAGE_SECONDS_RANGE),
                        metavar="SECONDS",
                        help="Time parsing and classifying one message may take; a message over it fails with "
                             "the reason (default 30; ingest and reparse: [limits] message_seconds).")(f)


def notify_option(f: Any) -> Any:
    return click.option("--notify-command", "notify_command", metavar="CMD",
                        help="Run CMD (split like a shell would, no shell) with the timeline changes as a JSON "
                             "array on stdin, only when something changed. Default: notify_command in the "
                             "config file. Secrets for it come from its environment.")(f)


def verbose_option(f: Any) -> Any:
    return click.option("--verbose", "-v", is_flag=True,
                        help="Also print the counts when stdout is not a terminal (cron).")(f)


def by_option(f: Callable) -> Callable:
    return click.option("--by", metavar="NAME", help="Who decided (default: the OS user).")(f)


def decided_by(by: str | None) -> str:
    """--by, else the OS user (else "unknown")."""
    if by:
        return by
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        return "unknown"


def json_option(f: Callable) -> Callable:
    return click.option("--json", "json_output", is_flag=True, help="Print the result as one JSON object.")(f)


# ----------------------------------------------------------------------------- output


def output_options(f: Callable) -> Callable:
    """Add --json / --csv to a listing command; the command receives `output`
    ("json", "csv" or "table") and prints with `emit`."""

    @click.option("--csv", "csv_output", is_flag=True, help="CSV with a header row.")
    @click.option("--json", "json_output", is_flag=True, help="JSON Lines: one object per line.")
    @functools.wraps(f)
    def wrapper(*args: Any, json_output: bool, csv_output: bool, **kwargs: Any) -> Any:
        if json_output and csv_output:
            raise click.UsageError("choose one of --json and --csv")
        output = "json" if json_output else "csv" if csv_output else "table"
        return f(*args, output=output, **kwargs)

    return wrapper


Column = tuple[str, Callable[[dict[str, Any]], Any]]


# The columns a table narrows to fit a terminal (display.fit_columns), first the first.
ELASTIC = ("what", "subject", "error", "source", "sender", "name", "flags", "kinds", "mailbox", "program", "status")
KEEP_END = frozenset({"source"})  # a path: cut from the left, so the file name shows
# Characters of `what` a table keeps before it drops kind and program and abbreviates status.
WHAT_ROOM = 30
# How a coloured table shows a status (click.style arguments); headers are bold.
STYLES: dict[tuple[str, str], dict[str, Any]] = {
    ("status", "now"): {"fg": "yellow", "bold": True},
    ("status", "past"): {"dim": True},
    ("status", "cancelled"): {"fg": "red"},
}


def say(json_output: bool, data: dict[str, Any], line: str) -> None:
    """What a command did: `data` as one JSON object with --json, else `line`."""
    click.echo(json_line(data) if json_output else printable(line))


def emit(rows: Iterable[dict[str, Any]], output: str, columns: Sequence[Column], *, empty: str = "",
         narrow: Sequence[Column] | None = None, compact: Sequence[Column] | None = None) -> None:
    """Print rows as JSON Lines (the whole dict), CSV or a table (the given columns).
    Mail text never reaches the terminal or a spreadsheet raw (see caltac_inbox.display).

    A table fits the terminal (or COLUMNS; caltac_inbox.terminal): when it is too
    wide it takes the `narrow` columns, if given, and cuts the ELASTIC ones; when that
    would leave `what` under WHAT_ROOM characters, it takes the `compact` columns (fewer,
    abbreviated), if given; on a terminal it is coloured unless NO_COLOR is set. To a pipe or a file without
    COLUMNS it is printed as it always was, cells cut at 60 characters."""
    if output == "json":
        for row in rows:
            click.echo(json_line(row))
        return
    headers = [name for name, _ in columns]
    if output == "csv":
        import csv  # here: only --csv writes it

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(headers)
        for row in rows:
            writer.writerow([csv_cell(value, cell(value)) for value in (get(row) for _, get in columns)])
        return
    rows = list(rows)
    cells = [[cell(get(row)) for _, get in columns] for row in rows]
    if not cells:
        if empty:
            click.echo(printable(empty))
        return
    from caltac_inbox.terminal import table_width  # here: an empty listing never needs it (shutil, ~3 ms)

    width = table_width(sys.stdout)
    if width is None:
        _print_plain_table(headers, cells)
        return
    _print_fitted_table(*_fitted_table(rows, headers, cells, width, narrow, compact))


def _fitted_table(rows: list[dict[str, Any]], headers: list[str], cells: list[list[str]], width: int,
                  narrow: Sequence[Column] | None, compact: Sequence[Column] | None
                  ) -> tuple[list[str], list[list[str]], list[int | None]]:
    """(headers, cells, widths) of a table that fits `width`: the `narrow` columns when the
    natural ones are too wide, the `compact` ones when `what` would keep under WHAT_ROOM."""
    natural = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    if narrow is not None and table_length(natural) > width:
        cells = [[cell(get(row)) for _, get in narrow] for row in rows]
    fitted = fit_columns(headers, cells, width, ELASTIC)
    if compact is not None and "what" in headers and (fitted[headers.index("what")] or 0) < WHAT_ROOM:
        headers = [name for name, _ in compact]
        cells = [[cell(get(row)) for _, get in compact] for row in rows]
        fitted = fit_columns(headers, cells, width, ELASTIC, room=WHAT_ROOM, keep_first=True)
    return headers, cells, fitted


def _print_plain_table(headers: list[str], cells: list[list[str]]) -> None:
    """To a pipe or a file without COLUMNS: cells cut at 60 characters, as it always was."""
    limit = 60
    cells = [[c if len(c) <= limit else c[: limit - 1] + "…" for c in row] for row in cells]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    for line in [headers, ["-" * w for w in widths], *cells]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def _print_fitted_table(headers: list[str], cells: list[list[str]], fitted: list[int | None]) -> None:
    from caltac_inbox.terminal import colour_wanted

    colour = colour_wanted(sys.stdout)
    shown = [(i, w) for i, w in enumerate(fitted) if w is not None]

    def line(texts: Sequence[str], style: Callable[[int, str], dict[str, Any] | None]) -> str:
        parts = []
        for i, w in shown:
            text = clip(texts[i], w, keep_end=headers[i] in KEEP_END)
            look = style(i, text) if colour else None
            parts.append((click.style(text, **look) if look else text) + " " * (w - len(text)))
        return "  ".join(parts).rstrip()

    click.echo(line(headers, lambda i, text: {"bold": True}))
    click.echo(line(["-" * (w or 0) for w in fitted], lambda i, text: None))
    for row in cells:
        click.echo(line(row, lambda i, text: STYLES.get((headers[i], text))))


def cell(value: Any) -> str:
    """A value as one printable table cell: lists joined, booleans yes/no, None blank."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(v) for v in value)
    return " ".join(printable(str(value)).split())
