"""Tables fitted to a terminal, colour and width decisions, statuses that follow time."""
from __future__ import annotations

import io
import os
from datetime import datetime

import pytest

from caltac_inbox.cli.columns import entry_status, entry_until_narrow
from caltac_inbox.display import clip, fit_columns, table_length
from caltac_inbox.terminal import colour_wanted, table_width
from caltac_inbox.timeline.time import LOS_ANGELES


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_clip_marks_what_it_cut():
    assert clip("systems unavailable", 19) == "systems unavailable"
    assert clip("systems unavailable", 8) == "systems…"
    assert clip("samples/2016-09-09-extended-downtime.eml", 12, keep_end=True) == "…owntime.eml"
    assert clip("abc", 0) == ""


HEADERS = ["id", "when", "what", "flags"]
ROWS = [["3", "2020-08-14 17:00", "designate the LEA coordinator for the coming school year", ""],
        ["12", "2020-08-20", "systems unavailable", ""]]


def test_a_table_that_fits_keeps_its_natural_widths():
    assert fit_columns(HEADERS, ROWS, 200, ("what",)) == [2, 16, 56, 5]


def test_only_the_summary_is_narrowed_and_an_empty_column_left_out():
    widths = fit_columns(HEADERS, ROWS, 40, ("what", "flags"))
    assert widths[:2] == [2, 16] and widths[3] is None and table_length(widths) == 40


def test_the_summary_gives_way_to_its_header_before_a_date_is_cut():
    widths = fit_columns(HEADERS, ROWS, 10, ("what",))
    assert widths == [2, 16, 4, None]  # wider than 10: the id and the date are never cut


def test_other_elastic_columns_shrink_after_the_summary_reaches_its_room():
    rows = [["1", "x" * 50, "y" * 50]]
    widths = fit_columns(["id", "what", "sender"], rows, 45, ("what", "sender"))
    assert widths[1] >= 20 and table_length(widths) == 45


@pytest.mark.parametrize("env, stream, width", [
    ({}, io.StringIO(), None),  # a pipe: the table as it always was
    ({"COLUMNS": "80"}, io.StringIO(), 80),
    ({"COLUMNS": "abc"}, io.StringIO(), None),
    ({"COLUMNS": "0"}, io.StringIO(), None),
    ({"COLUMNS": "120"}, Terminal(), 120),
])
def test_table_width(monkeypatch, env, stream, width):
    monkeypatch.delenv("COLUMNS", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert table_width(stream) == width


def test_a_terminal_without_columns_gives_its_own_width(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert isinstance(table_width(Terminal()), int)


@pytest.mark.parametrize("size", [os.terminal_size((123, 40)), os.terminal_size((0, 0)), OSError("not a tty")])
def test_a_terminal_width_is_what_shutil_would_say(monkeypatch, size):
    """table_width reads the terminal without importing shutil, and answers as
    shutil.get_terminal_size() does: its columns, or 80 when the size is unknown."""
    import shutil

    def terminal_size(_fd: int) -> os.terminal_size:
        if isinstance(size, OSError):
            raise size
        return size

    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(os, "get_terminal_size", terminal_size)
    expected = 80 if isinstance(size, OSError) else size.columns or 80
    assert table_width(Terminal()) == shutil.get_terminal_size().columns == expected


@pytest.mark.parametrize("env, stream, wanted", [
    ({}, Terminal(), True),
    ({}, io.StringIO(), False),
    ({"NO_COLOR": "1"}, Terminal(), False),
    ({"NO_COLOR": ""}, Terminal(), True),  # no-color.org: set and not empty
    ({"TERM": "dumb"}, Terminal(), False),
])
def test_colour_wanted(monkeypatch, env, stream, wanted):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert colour_wanted(stream) is wanted


def at(*args):
    return datetime(*args, tzinfo=LOS_ANGELES)


DOWNTIME = {"kind": "downtime", "program": "CAASPP", "start": "2020-08-14T17:00:00-07:00",
            "end": "2020-08-20T08:00:00-07:00", "status": "extended", "evidence": "x"}
DEADLINE = {"kind": "deadline", "program": "CAASPP", "due": "2020-08-14", "action": "x", "status": "scheduled",
            "evidence": "x"}
TASK = {"kind": "task", "month": "2026-11", "title": "x", "status": "scheduled", "evidence": "x"}


@pytest.mark.parametrize("entry, moment, shown", [
    (DOWNTIME, at(2020, 8, 1), "extended"),
    (DOWNTIME, at(2020, 8, 14, 17), "now"),
    (DOWNTIME, at(2020, 8, 20, 7, 59), "now"),
    (DOWNTIME, at(2020, 8, 20, 8, 0, 1), "past"),
    ({**DOWNTIME, "status": "cancelled"}, at(2020, 8, 15), "cancelled"),
    (DEADLINE, at(2020, 8, 13), "scheduled"),
    (DEADLINE, at(2020, 8, 14, 12), "now"),  # due that day
    (DEADLINE, at(2020, 8, 15), "past"),
    (TASK, at(2026, 11, 30), "now"),
    (TASK, at(2026, 12, 1), "past"),
    ({"kind": "task", "title": "x", "status": "scheduled", "evidence": "x"}, at(2026, 12, 1), "scheduled"),
])
def test_entry_status_follows_time(entry, moment, shown):
    assert entry_status(entry, moment) == shown


@pytest.mark.parametrize("end, shown", [("2020-08-14T23:00:00-07:00", "23:00"), ("2020-08-20T08:00:00-07:00",
                                        "08-20 08:00"), ("2021-01-04T08:00:00-08:00", "2021-01-04 08:00")])
def test_a_narrow_until_says_only_what_differs_from_the_start(end, shown):
    assert entry_until_narrow({**DOWNTIME, "end": end}) == shown
