"""What a coordinator's terminal shows (issue 17): tables that fit its width and cut
the summary, not the dates; colour only on a terminal and never with NO_COLOR;
statuses that follow time; a progress bar for a long ingest, on a terminal only.
Output to a pipe or a file without COLUMNS is the table it always was.

Terminals are real: the CLI runs in a subprocess whose stdout or stderr is a
pseudo-terminal (pty) of a set size."""
from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

from tests.demo import DEMO_AUTHSERV_ID, REPO, SAMPLES, readme_upcoming
from tests.fakes import DOWNTIME, RETENTION, make_eml
from tests.system.test_cli import fakes, run  # noqa: F401 - fixtures

CLI = (sys.executable, "-m", "caltac_inbox")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def plain_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "CALTAC_INBOX_DB", "TERM")}
    env.update(CALTAC_INBOX_CONFIG=os.devnull, TERM="xterm", **extra)
    return env


def run_cli(*args: str, env: dict[str, str], tty: tuple[str, ...] = (), columns: int = 100,
            timeout: float = 120) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the CLI with the streams named in `tty`
    ("stdout", "stderr") on a pseudo-terminal `columns` wide, the others piped."""
    masters, slaves, outputs, readers = {}, {}, {}, []
    for name in tty:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        masters[name], slaves[name] = master, slave
    proc = subprocess.Popen([*CLI, *args], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                            stdout=slaves.get("stdout", subprocess.PIPE), stderr=slaves.get("stderr", subprocess.PIPE))
    for slave in slaves.values():
        os.close(slave)

    def drain(name: str, fd: int) -> None:
        chunks = []
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's last writer has gone
                break
            if not chunk:
                break
            chunks.append(chunk)
        outputs[name] = b"".join(chunks)

    for name, fd in masters.items():
        readers.append(threading.Thread(target=drain, args=(name, fd)))
        readers[-1].start()
    piped_out, piped_err = proc.communicate(timeout=timeout)
    for reader in readers:
        reader.join(timeout)
    for fd in masters.values():
        os.close(fd)

    def text(name: str, piped: bytes | None) -> str:
        data = outputs[name].replace(b"\r\n", b"\n") if name in outputs else piped or b""
        return data.decode("utf-8")

    return proc.returncode, text("stdout", piped_out), text("stderr", piped_err)


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory) -> str:
    """The samples ingested (real parser): long summaries, downtimes, several kinds."""
    url = f"sqlite:///{tmp_path_factory.mktemp('samples') / 'samples.db'}"
    code, _out, err = run_cli("--db", url, "ingest", "--authserv-id", DEMO_AUTHSERV_ID, str(SAMPLES), env=plain_env())
    assert code == 0, err
    return url


TABLES = [("upcoming", "--as-of", "2020-08-01"), ("upcoming", "--as-of", "2020-08-15"),
          ("timeline", "--include-cancelled"), ("messages",), ("extract", str(SAMPLES))]


@pytest.mark.parametrize("args", TABLES, ids=" ".join)
def test_tables_fit_columns_80_cutting_the_summary_not_dates_or_ids(samples_db, args):
    code, wide, _ = run_cli("--db", samples_db, *args, env=plain_env())
    code80, narrow, err = run_cli("--db", samples_db, *args, env=plain_env(COLUMNS="80"))
    assert code == code80 == 0 and err == ""
    assert max(len(line) for line in wide.splitlines()) > 80  # the test has something to fit
    assert max(len(line) for line in narrow.splitlines()) <= 80, narrow
    assert "…" in narrow or "kind" not in narrow.splitlines()[0]  # cut, or kind and program dropped (D7)
    wide_rows, narrow_rows = wide.splitlines()[2:], narrow.splitlines()[2:]
    assert len(wide_rows) == len(narrow_rows)
    for full, fitted in zip(wide_rows, narrow_rows):  # ids and dates whole, in the same order
        first = full.split()[0]
        assert fitted.split()[0] == (first if args[0] != "extract" else fitted.split()[0])
        assert [w for w in full.split() if DAY.match(w)][:1] == [w for w in fitted.split() if DAY.match(w)][:1]


def test_upcoming_at_80_columns_on_the_samples(samples_db):
    """D7: kind and program go and "scheduled" is left unsaid before `what` is cut
    below 30 characters."""
    _, out, _ = run_cli("--db", samples_db, "upcoming", "--as-of", "2020-08-01", env=plain_env(COLUMNS="80"))
    lines = out.splitlines()
    assert lines[0].split() == ["id", "when", "until", "what"]  # flags and the statuses: empty, left out
    assert lines[3] == "5   2020-08-14 17:00  08-20 08:00  systems unavailable"
    assert lines[4].startswith("6   2020-08-14 17:00               student responses in the Interim Assessment")
    what = lines[0].index("what")
    assert min(len(line[what:]) for line in lines[2:]) >= 19 and max(map(len, lines)) <= 80
    assert len(lines[1][what:]) >= 30  # the column: at least 30 characters of `what`
    _, past, _ = run_cli("--db", samples_db, "timeline", env=plain_env(COLUMNS="80"))
    head, rule = past.splitlines()[:2]
    assert head.split() == ["id", "when", "until", "status", "what"] and len(rule[head.index("what"):]) >= 30


def test_a_wide_terminal_shows_the_whole_summary(samples_db):
    _, out, _ = run_cli("--db", samples_db, "upcoming", "--as-of", "2020-08-01", env=plain_env(COLUMNS="200"))
    assert "student responses in the Interim Assessment Hand Scoring System" in out and "…" not in out


def test_a_pipe_without_columns_gets_the_table_as_it_always_was(samples_db):
    """The README's demo table (tests/system/test_readme.py) is what a pipe gets: 60-character
    cells, two-space gaps, nothing fitted, no colour."""
    _, out, _ = run_cli("--db", samples_db, "upcoming", "--as-of", "2020-08-01", env=plain_env())
    assert out == readme_upcoming() and max(map(len, out.splitlines())) == 140


def test_on_a_terminal_tables_fit_its_width_and_are_coloured(samples_db):
    code, out, _ = run_cli("--db", samples_db, "upcoming", "--as-of", "2020-08-15", env=plain_env(),
                           tty=("stdout",), columns=70)
    assert code == 0 and "\x1b[" in out
    assert "\x1b[33m\x1b[1mnow" in out  # the downtime in progress on 2020-08-15: yellow, bold
    visible = [strip_ansi(line) for line in out.splitlines()]
    assert max(map(len, visible)) <= 70 and (any(line.endswith("…") for line in visible)
                                             or "kind" not in visible[0])  # kind and program dropped (D7)


@pytest.mark.parametrize("no_color", ["1", "yes"])
def test_no_color_turns_colour_off_on_a_terminal(samples_db, no_color):
    code, out, _ = run_cli("--db", samples_db, "upcoming", "--as-of", "2020-08-15", env=plain_env(NO_COLOR=no_color),
                           tty=("stdout",), columns=70)
    assert code == 0 and "now" in out and "\x1b" not in out


def test_piped_output_has_no_colour_even_with_columns(samples_db):
    _, out, _ = run_cli("--db", samples_db, "timeline", env=plain_env(COLUMNS="90"))
    assert "\x1b" not in out and "past" in out


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


# ----------------------------------------------------------------------------- statuses


def test_statuses_follow_the_as_of_day_and_today(run, fakes, tmp_path):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'x.db'}"
    (tmp_path / "a.eml").write_bytes(make_eml(facts=[DOWNTIME, RETENTION]))  # 08-14 17:00 to 08-20 08:00; 08-14 17:00
    assert run("--db", url, "ingest", tmp_path / "a.eml").exit_code == 0

    def statuses(*args):
        lines = run("--db", url, *args, "--csv").stdout.splitlines()[1:]
        return {line.split(",")[3]: line.split(",")[5] for line in lines}

    assert statuses("upcoming", "--as-of", "2020-08-01") == {"downtime": "scheduled", "retention": "scheduled"}
    assert statuses("upcoming", "--as-of", "2020-08-15") == {"downtime": "now"}  # the retention date has passed
    assert statuses("upcoming", "--as-of", "2020-08-20") == {"downtime": "now"}  # until 08:00 that day
    assert statuses("timeline") == {"downtime": "past", "retention": "past"}  # today is years later
    table = run("--db", url, "upcoming", "--as-of", "2020-08-15").stdout
    assert table.splitlines()[2].split()[5:8] == ["downtime", "CAASPP", "now"]
    # JSON keeps the entry's own status (docs/facts.md)
    assert {json.loads(x)["status"] for x in run("--db", url, "timeline", "--json").stdout.splitlines()} == {
        "scheduled"}


# ----------------------------------------------------------------------------- progress


@pytest.fixture(scope="module")
def many_notices(tmp_path_factory) -> Path:
    """Over terminal.PROGRESS_MIN_BYTES of notices: the samples five times over."""
    folder = tmp_path_factory.mktemp("many")
    for copy in range(5):
        for sample in SAMPLES.glob("*.eml"):
            shutil.copy(sample, folder / f"{copy}-{sample.name}")
    from caltac_inbox.terminal import PROGRESS_MIN_BYTES, input_bytes

    assert input_bytes([str(folder)]) >= PROGRESS_MIN_BYTES
    return folder


def test_ingest_shows_progress_on_a_terminal(tmp_path, many_notices):
    code, out, err = run_cli("--db", f"sqlite:///{tmp_path / 'x.db'}", "ingest", str(many_notices), env=plain_env(),
                             tty=("stderr",))
    # the timeline's changes first (issue 17a), then the counts
    assert code == 0 and out.splitlines()[-1].startswith("50 message(s) read: 10 new, 40 already archived")
    assert "ingesting" in err and "100%" in err and "50 message(s)" in err


def test_ingest_shows_no_progress_when_not_on_a_terminal(tmp_path, many_notices):
    code, out, err = run_cli("--db", f"sqlite:///{tmp_path / 'x.db'}", "ingest", str(many_notices), env=plain_env())
    assert code == 0 and out.splitlines()[-1].startswith("50 message(s) read") and err == ""
    # stdout a terminal, stderr a pipe: still nothing on stderr
    code, _out, err = run_cli("--db", f"sqlite:///{tmp_path / 'y.db'}", "ingest", str(many_notices),
                              env=plain_env(), tty=("stdout",))
    assert code == 0 and err == ""


def test_a_small_ingest_on_a_terminal_shows_no_bar(tmp_path):
    notices = [str(p) for p in sorted(SAMPLES.glob("*.eml"))]  # samples/ also holds its build script
    code, _out, err = run_cli("--db", f"sqlite:///{tmp_path / 'x.db'}", "ingest", *notices, env=plain_env(),
                              tty=("stderr",))
    assert code == 0 and err == ""
