"""The .ics as calendar clients read it: khal lists every event of the samples' export and
of a 5,000-message backfill's, shows instants as instants, and the backfill's file stays
small (each DESCRIPTION within 4 KB however often a notice was repeated).

khal is in the `test` extra; without it these tests skip (the backfill's size checks
still run), except under CI=true, where they fail."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from tests.shared import IN_CI, SHARED, needs_shared

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
BACKFILL = 5000
BACKFILL_LIMIT = 200_000  # bytes of the whole .ics
DESCRIPTION_LIMIT = 4096

KHAL_CONFIG = """\
[calendars]
[[caltac]]
path = {vdir}
type = calendar
[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
local_timezone = America/Los_Angeles
default_timezone = America/Los_Angeles
[sqlite]
path = {db}
"""


def need_khal() -> None:
    if importlib.util.find_spec("khal") is None:
        if IN_CI:
            pytest.fail("khal is not installed: pip install -e '.[test]'")
        pytest.skip("khal is not installed (pip install -e '.[test]')")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "caltac_inbox", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return done


def export(notices: Path, tmp_path: Path) -> bytes:
    url = f"sqlite:///{tmp_path / 'caltac.db'}"
    cli("--db", url, "ingest", str(notices), cwd=tmp_path)
    target = tmp_path / "caltac.ics"
    cli("--db", url, "export-ics", "-o", str(target), cwd=tmp_path)
    return target.read_bytes()


def khal_list(ics: bytes, tmp_path: Path, first: date, last: date) -> list[dict[str, str]]:
    """Every event khal shows once it has imported `ics`, from `first` to `last`:
    uid, start, end, the time range as its list shows it, and title."""
    home = tmp_path / "khal"
    (home / "calendar").mkdir(parents=True)
    config = home / "config"
    config.write_text(KHAL_CONFIG.format(vdir=home / "calendar", db=home / "khal.db"))
    (home / "import.ics").write_bytes(ics)
    env = {**os.environ, "HOME": str(home), "LC_ALL": "C.UTF-8", "TZ": "America/Los_Angeles"}
    khal = [sys.executable, "-m", "khal", "-c", str(config)]
    imported = subprocess.run([*khal, "import", "--batch", "-a", "caltac", str(home / "import.ics")],
                              capture_output=True, text=True, env=env, timeout=300)
    assert imported.returncode == 0, imported.stderr
    fields = ("uid", "start", "end", "range", "title")
    listed = subprocess.run([*khal, "list", "--once", "--day-format", "",
                             "--format", "{uid}\t{start}\t{end}\t{start-end-time-style}\t{title}",
                             first.isoformat(), last.isoformat()], capture_output=True, text=True, env=env,
                            timeout=300)
    assert listed.returncode == 0, listed.stderr
    return [dict(zip(fields, line.split("\t"))) for line in listed.stdout.splitlines() if line.strip()]


def vevents(ics: bytes) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(ics)
    return {str(ev["UID"]): ev for ev in cal.walk("VEVENT")}


def date_range(events: dict[str, icalendar.Event]) -> tuple[date, date]:
    days = [ev.decoded("DTSTART") for ev in events.values()]
    days = [d.date() if isinstance(d, datetime) else d for d in days]
    return min(days) - timedelta(days=1), max(days) + timedelta(days=30)


def description_sizes(ics: bytes) -> dict[str, int]:
    """Bytes of each VEVENT's DESCRIPTION value as written (unfolded), by UID."""
    sizes, uid, size = {}, None, None
    for line in ics.decode("utf-8").replace("\r\n ", "").split("\r\n"):
        if line == "BEGIN:VEVENT":
            uid = size = None
        elif line.startswith("UID:"):
            uid = line[4:]
        elif line.startswith("DESCRIPTION:") and size is None:  # the event's own, not its alarm's
            size = len(line.encode("utf-8")) - len("DESCRIPTION:")
        elif line == "END:VEVENT":
            sizes[uid] = size
    return sizes


def test_khal_lists_every_event_of_the_samples_and_shows_instants_as_instants(tmp_path):
    need_khal()
    ics = export(SAMPLES, tmp_path)
    events = vevents(ics)
    listed = khal_list(ics, tmp_path, *date_range(events))
    print("\nkhal list of the samples' export:\n" + "\n".join(
        f"{row['range']:>13}  {row['start']} .. {row['end']}  {row['title']}" for row in listed))
    assert sorted(row["uid"] for row in listed) == sorted(events)
    by_uid = {row["uid"]: row for row in listed}
    timed_instants = [uid for uid, ev in events.items()
                      if isinstance(ev.decoded("DTSTART"), datetime) and "DTEND" not in ev]
    assert len(timed_instants) >= 3  # the 2020 designation, both retentions, the 2016 extension's end
    for uid in timed_instants:
        start = events[uid].decoded("DTSTART").strftime("%H:%M")
        assert by_uid[uid]["range"] == f"{start}-{start}", by_uid[uid]  # not a one-hour meeting
        assert by_uid[uid]["start"] == by_uid[uid]["end"]
    all_day = [uid for uid, ev in events.items() if not isinstance(ev.decoded("DTSTART"), datetime)]
    assert all_day and all(by_uid[uid]["range"] == "" for uid in all_day)
    # each sentence once: the transition notice, its forward and its HTML copy
    retention = next(ev for ev in events.values() if "2017–2018 student data file" in str(ev["SUMMARY"]))
    text = str(retention["DESCRIPTION"])
    assert text.count("three years of historical data") == 1
    assert "Also in: forward from dhuang@district.k12.ca.us on 2020-07-15 12:39" in text
    assert "Also in: another copy on 2020-07-15 12:39" in text


def backfill(templates: list[bytes], directory: Path) -> Path:
    """BACKFILL messages: the templates over and over, each copy with a Message-ID, Date
    and greeting of its own (bench/run.py's generator)."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from run import vary_notice, write_notices
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return write_notices([vary_notice(templates[i % len(templates)], i) for i in range(BACKFILL)], directory)


def notices_by_uid(tmp_path: Path) -> dict[str, int]:
    """How many notices (one per Message-ID: a forward that keeps its original's is that
    notice) each calendar event of the exported database rests on."""
    from caltac_inbox.export.ics import UID_DOMAIN, calendar_entries
    from caltac_inbox.store.writer import open_store

    with open_store(f"sqlite:///{tmp_path / 'caltac.db'}") as store, store.session(readonly=True) as session:
        return {f"{e.uid}@{UID_DOMAIN}": len(e.notice_sources()) for e in calendar_entries(session)}


def eml(directory: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted(directory.glob("*.eml"))]


@pytest.mark.slow
@pytest.mark.parametrize("corpus,fewest_events", [
    ("samples", 7),
    # more kinds and shapes of entry (cancelled, rescheduled, ELPAC, many deadlines)
    pytest.param("samples+shared corpus", 60, marks=needs_shared("corpus")),
])
def test_the_calendar_of_a_5000_message_backfill_is_small_and_every_event_is_listed(tmp_path, corpus,
                                                                                    fewest_events):
    templates = eml(SAMPLES) + (eml(SHARED / "corpus") if "corpus" in corpus else [])
    ics = export(backfill(templates, tmp_path / "notices"), tmp_path)
    events = vevents(ics)
    print(f"\n.ics of a {BACKFILL}-message backfill of {corpus}: {len(ics)} bytes, {len(events)} events, "
          f"largest DESCRIPTION {max(description_sizes(ics).values())} bytes")
    assert len(ics) < BACKFILL_LIMIT
    assert len(events) == ics.count(b"BEGIN:VEVENT") >= fewest_events
    sizes = description_sizes(ics)
    assert sizes.keys() == events.keys() and max(sizes.values()) <= DESCRIPTION_LIMIT
    for ev in events.values():  # every event parses whole
        assert ev.decoded("DTSTART") and str(ev["SUMMARY"]) and ev.decoded("DTSTAMP")
    notices = notices_by_uid(tmp_path)
    assert notices.keys() == events.keys()
    assert max(notices.values()) >= BACKFILL // len(templates)  # hundreds of copies of one notice
    for uid, ev in events.items():
        # every notice counted, in at most five lines naming notices
        lines = str(ev["DESCRIPTION"]).splitlines()
        naming = [line for line in lines if line.startswith(("Notice: ", "Also in: "))]
        assert 1 <= len(naming) <= 5
        counted = sum(int(m.group(1)) if (m := re.search(r"\((\d+) messages\)$", line)) else 1 for line in naming)
        counted += sum(int(m.group(1)) for line in lines if (m := re.match(r"And (\d+) more notices?", line)))
        assert counted == notices[uid], (uid, lines)
    if importlib.util.find_spec("khal") is None and not IN_CI:
        return  # the size and icalendar checks stand without khal
    need_khal()
    listed = khal_list(ics, tmp_path, *date_range(events))
    assert sorted(row["uid"] for row in listed) == sorted(events)
