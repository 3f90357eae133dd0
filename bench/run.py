#!/usr/bin/env python3
"""caltac-inbox benchmark: start-up, IMAP no-op poll, backfill, queries, calendar feed, extract.

    make bench                          # full run (a few minutes)
    .venv/bin/python bench/run.py --quick          # fewer repetitions and messages
    .venv/bin/python bench/run.py --json           # one JSON object instead of the table

Every number is the median over repeated runs of the real `caltac-inbox` console
script in a subprocess (the process's own start-up included, as under cron); the
bare interpreter (`python -c pass`) is measured the same way as the floor. Peak RSS
is the child's ru_maxrss (forked by a small launcher). Everything lives in one temporary directory,
removed at the end; PostgreSQL runs use a fresh database that is dropped afterwards.

This is a benchmark, not a test: it prints PASS/FAIL beside each target and exits 0
unless the harness itself breaks (pass --strict to exit 1 on a FAIL).
"""
from __future__ import annotations

import argparse
import email.utils
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's bin/ (sys.executable not resolved)
CLI = str(BIN / "caltac-inbox")
PYTHON = sys.executable
SHARED = Path(os.environ.get("CALTAC_SHARED") or os.environ.get("SHARED") or ROOT.parent / "shared")
PG_SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
AS_OF = date(2026, 9, 1)  # `upcoming --as-of` for the query benchmarks
MB = 1024 * 1024


# ----------------------------------------------------------------------------- running things


# Forks, execs argv[2:], waits; writes [wall s, cpu s, peak RSS KiB, exit code] to argv[1].
LAUNCHER = """
import json, os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as fh:
    json.dump([wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status)], fh)
"""


@dataclass
class Run:
    wall: float  # seconds
    cpu: float  # user + system seconds of the child
    rss: int  # peak resident set of the child, bytes
    code: int
    stdout: bytes
    stderr: bytes


class Bench:
    def __init__(self, tmp: Path, quick: bool, verbose: bool) -> None:
        self.tmp = tmp
        self.quick = quick
        self.verbose = verbose
        self.results: list[dict[str, Any]] = []
        self.notes: list[str] = []
        home = tmp / "home"
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("CALTAC_INBOX_DB", "CALTAC_INBOX_CONFIG", "PYTHONPROFILEIMPORTTIME")}
        self.env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
                        XDG_STATE_HOME=str(home / "state"), XDG_CACHE_HOME=str(home / "cache"))

    def log(self, text: str) -> None:
        if self.verbose:
            print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    def run(self, argv: list[str], *, env: dict[str, str] | None = None, check: bool = True) -> Run:
        """Run `argv` through LAUNCHER, a small process that forks and times it: Linux
        carries a process's peak RSS across fork and exec, so a child forked straight
        from this (big) process would report this process's size as its own."""
        with tempfile.TemporaryFile(dir=self.tmp) as out, tempfile.TemporaryFile(dir=self.tmp) as err, \
                tempfile.NamedTemporaryFile(dir=self.tmp, suffix=".usage") as usage_file:
            subprocess.run([PYTHON, "-S", "-c", LAUNCHER, usage_file.name, *argv], stdout=out, stderr=err,
                           stdin=subprocess.DEVNULL, env=env or self.env, cwd=self.tmp, check=False)
            out.seek(0)
            err.seek(0)
            wall, cpu, maxrss_kb, code = json.loads(Path(usage_file.name).read_text() or "[0, 0, 0, -1]")
            result = Run(wall, cpu, maxrss_kb * 1024, code, out.read(), err.read())
        if check and result.code != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {result.code}:\n{result.stderr.decode(errors='replace')[-2000:]}")
        return result

    def median_run(self, argv: list[str], reps: int, *, env: dict[str, str] | None = None,
                   warmup: int = 1) -> tuple[float, list[Run]]:
        for _ in range(warmup):
            self.run(argv, env=env)
        runs = [self.run(argv, env=env) for _ in range(reps)]
        return statistics.median(r.wall for r in runs), runs

    def record(self, name: str, value: float | None, unit: str, target: str = "",
               ok: bool | None = None, note: str = "") -> None:
        self.results.append({"name": name, "value": value, "unit": unit, "target": target,
                             "pass": ok, "note": note})
        shown = "skipped" if value is None else f"{value:.1f} {unit}" if isinstance(value, float) else f"{value} {unit}"
        self.log(f"{name}: {shown} {target} {'' if ok is None else 'PASS' if ok else 'FAIL'} {note}")

    def db_upgrade(self, url: str) -> None:
        self.run([CLI, "--db", url, "db", "upgrade"])


def ms(seconds: float) -> float:
    return seconds * 1000.0


def cpu_ms(runs: list[Run]) -> float:
    """Median CPU time (user + system) of the runs, in ms: much less sensitive than wall
    time to other load on the machine."""
    return ms(statistics.median(r.cpu for r in runs))


# ----------------------------------------------------------------------------- notices


def sample_messages() -> list[bytes]:
    return [p.read_bytes() for p in sorted((ROOT / "samples").glob("*.eml"))]


GREETINGS = (b"Dear ", b"Hello ", b"Greetings, ", b"Attention ", b"To the ")


def vary_notice(template: bytes, serial: int) -> bytes:
    """A copy of a sample with its own Message-ID, a shifted Date, a different greeting
    and a serial header: distinct bytes (sha256), same structure."""
    raw = template
    raw = re.sub(rb"(?im)^(Message-ID:\s*<)([^>]*)>",
                 lambda m: m.group(1) + b"bench-%d." % serial + m.group(2) + b">", raw, count=1)

    def shift_date(m: re.Match[bytes]) -> bytes:
        try:
            sent = email.utils.parsedate_to_datetime(m.group(2).decode().strip())
        except (TypeError, ValueError):
            return m.group(0)
        sent += timedelta(minutes=serial % 720)  # within half a day: same facts
        return m.group(1) + email.utils.format_datetime(sent).encode()

    raw = re.sub(rb"(?im)^(Date:[ \t]*)([^\r\n]*)", shift_date, raw, count=1)
    raw = raw.replace(b"Dear ", GREETINGS[serial % len(GREETINGS)], 1)
    newline = b"\r\n" if b"\r\n" in raw[:200] else b"\n"
    return b"X-Bench-Serial: %d" % serial + newline + raw


def make_notices(count: int) -> list[bytes]:
    templates = sample_messages()
    return [vary_notice(templates[i % len(templates)], i) for i in range(count)]


def write_notices(notices: list[bytes], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(notices):
        (directory / f"{i:05d}.eml").write_bytes(raw)
    return directory


# ----------------------------------------------------------------------------- benchmarks


def bench_startup(b: Bench, reps: int) -> float:
    floor, runs = b.median_run([PYTHON, "-c", "pass"], reps)
    b.record("python -c pass (floor)", ms(floor), "ms", note=f"cpu {cpu_ms(runs):.0f} ms")
    help_s, runs = b.median_run([CLI, "--help"], reps)
    b.record("start-up: --help", ms(help_s), "ms", "<= floor + 80 ms", help_s - floor <= 0.080,
             f"floor + {ms(help_s - floor):.0f} ms; cpu {cpu_ms(runs):.0f} ms")
    empty = b.tmp / "empty.db"
    url = f"sqlite:///{empty}"
    b.db_upgrade(url)
    up_s, runs = b.median_run([CLI, "--db", url, "upcoming"], reps)
    b.record("start-up: upcoming, empty SQLite", ms(up_s), "ms", "<= floor + 350 ms", up_s - floor <= 0.350,
             f"floor + {ms(up_s - floor):.0f} ms; cpu {cpu_ms(runs):.0f} ms")
    return floor


def bench_backfill(b: Bench, notices_dir: Path, count: int, url: str, label: str, reps: int,
                   cleanup: Callable[[], str] | None = None) -> None:
    """`ingest` of `count` fresh notices into an empty (migrated) database."""
    walls, cpus, rsses, report = [], [], [], {}
    for rep in range(reps):
        target = cleanup() if cleanup else url.replace(".db", f"-{rep}.db")
        b.db_upgrade(target)
        run = b.run([CLI, "--db", target, "ingest", str(notices_dir), "--json"])
        report = json.loads(run.stdout.decode().strip().splitlines()[-1])
        if report.get("new") != count:
            raise RuntimeError(f"backfill stored {report.get('new')} of {count} notices: {report}")
        walls.append(run.wall)
        cpus.append(run.cpu)
        rsses.append(run.rss)
    wall = statistics.median(walls)
    cpu_per_message = ms(statistics.median(cpus)) / count  # the CLI and its worker processes
    rate = count / wall
    rss = max(rsses) / MB
    facts = report.get("facts")
    if label == "SQLite":
        b.record(f"backfill {count} notices, SQLite", rate, "msg/s", ">= 300 msg/s", rate >= 300,
                 f"{wall:.1f} s wall incl. start-up and timeline refresh, {facts} facts; "
                 f"cpu {cpu_per_message:.2f} ms/msg in all processes")
        b.record("backfill peak RSS, SQLite", rss, "MB", "<= 200 MB", rss <= 200)
    else:
        b.record(f"backfill {count} notices, {label}", rate, "msg/s", "", None,
                 f"{wall:.1f} s wall, {facts} facts; cpu {cpu_per_message:.2f} ms/msg in all processes")
        b.record(f"backfill peak RSS, {label}", rss, "MB")


def bench_breakdown(b: Bench, notices: list[bytes]) -> None:
    """Where a backfill's time goes, in this process (CPU): parse, classify, then the
    store alone (`pipeline.ingest` with parser and classifier stubbed by the results
    computed before, workers=0: batched transactions, a savepoint per message) and the
    timeline refresh that ends an ingest."""
    from caltac_inbox.classify import classify
    from caltac_inbox.model import RawMessage
    from caltac_inbox.parse import parse_message
    from caltac_inbox.pipeline import ingest
    from caltac_inbox.store.writer import open_store

    n = len(notices)
    raws = [RawMessage(raw=raw, source=f"bench/{i:05d}.eml") for i, raw in enumerate(notices)]
    started = time.process_time()
    parsed = {r.source: parse_message(r.raw, r.source) for r in raws}
    parse_s = time.process_time() - started
    started = time.process_time()
    facts = {id(notice): tuple(classify(notice)) for notice in parsed.values()}
    classify_s = time.process_time() - started
    b.record("backfill part: parse (CPU)", ms(parse_s) / n, "ms/msg", "", None, f"{n} notices in-process")
    b.record("backfill part: classify (CPU)", ms(classify_s) / n, "ms/msg", "", None,
             f"{ms(parse_s + classify_s) / n:.1f} ms/msg pure work = at most {n / (parse_s + classify_s):.0f} msg/s "
             "per CPU before any database work")

    def stub_parser(raw: bytes, source: str) -> Any:
        return parsed[source]

    def stub_classifier(notice: Any) -> Any:
        return facts[id(notice)]

    url = f"sqlite:///{b.tmp / 'breakdown.db'}"
    b.db_upgrade(url)
    store = open_store(url)
    stored_at: list[tuple[float, float]] = []  # (wall, cpu) when each message's batch had committed
    try:
        started, cpu = time.perf_counter(), time.process_time()
        report = ingest(store, raws, parser=stub_parser, classifier=stub_classifier, workers=0,
                        progress=lambda stored: stored_at.append((time.perf_counter(),
                                                                  time.process_time())))
        ended, ended_cpu = time.perf_counter(), time.process_time()
    finally:
        store.close()
    last, last_cpu = stored_at[-1]
    b.record("backfill part: store (CPU)", ms(last_cpu - cpu) / n, "ms/msg", "", None,
             f"{report.new} new; {ms(last - started) / n:.2f} ms/msg wall")
    b.record("backfill part: timeline refresh (CPU)", ms(ended_cpu - last_cpu) * 1000 / n, "ms per 1,000 msg", "",
             None, f"once per ingest; {ms(ended - last):.0f} ms wall for {n}")


def postgres_factory(b: Bench) -> tuple[Callable[[], str], Callable[[], None]] | None:
    """(make a fresh database -> URL, drop them all) or None when the server is unreachable."""
    try:
        import psycopg
    except ImportError:
        b.notes.append("PostgreSQL skipped: psycopg is not installed")
        return None
    try:
        admin = psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001
        b.notes.append(f"PostgreSQL skipped: {PG_SERVER} unreachable ({' '.join(str(exc).split())[:120]})")
        return None
    created: list[str] = []
    base = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)

    def fresh() -> str:
        name = f"caltac_bench_{os.getpid()}_{len(created)}"
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"{base}/{name}"

    def drop_all() -> None:
        for name in created:
            try:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception:  # noqa: BLE001
                pass
        admin.close()

    return fresh, drop_all


# -- IMAP -------------------------------------------------------------------------------


def fill_maildir(server: Any, notices: list[bytes]) -> None:
    """Put the notices straight into the Maildir (APPENDing 5,000 takes long); Dovecot
    indexes them and assigns UIDs on the first SELECT."""
    user_dir = server.mail_dir / server.user
    for sub in ("cur", "new", "tmp"):
        (user_dir / sub).mkdir(parents=True, exist_ok=True)
    stamp = int(time.time()) - len(notices)
    for i, raw in enumerate(notices):
        data = raw.replace(b"\r\n", b"\n")
        (user_dir / "cur" / f"{stamp + i}.M{i}P{os.getpid()}.bench,S={len(data)}:2,S").write_bytes(data)
    if os.getuid() == 0:
        import pwd

        nobody = pwd.getpwnam("nobody")
        for path in [server.mail_dir, user_dir, *user_dir.rglob("*")]:
            os.chown(path, nobody.pw_uid, nobody.pw_gid)


def bench_poll(b: Bench, notices: list[bytes], reps: int) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from tests.dovecot import DovecotServer, dovecot_binary
    except Exception as exc:  # noqa: BLE001
        b.notes.append(f"no-op poll skipped: cannot import tests/dovecot.py ({exc})")
        b.record("no-op poll wall", None, "ms", "<= 400 ms")
        return
    binary = dovecot_binary()
    if binary is None:
        b.notes.append("no-op poll skipped: dovecot is not installed (make test installs it as root)")
        b.record("no-op poll wall", None, "ms", "<= 400 ms")
        return
    root = Path(tempfile.mkdtemp(prefix="caltac-bench-dovecot-"))  # short path: unix sockets
    server = DovecotServer(binary, root)
    try:
        fill_maildir(server, notices)
        server.start()
        config = b.tmp / "poll.toml"
        config.write_text(server.mailbox_toml(name="bench", extra="deadline = 3600\nbatch_size = 100\n"))
        env = dict(b.env, CALTAC_TEST_IMAP_PASSWORD=server.password)
        url = f"sqlite:///{b.tmp / 'poll.db'}"
        b.db_upgrade(url)
        argv = [CLI, "--db", url, "--config", str(config), "poll", "--json"]
        first = b.run(argv, env=env)
        report = json.loads(first.stdout.decode().strip().splitlines()[-1])
        b.record(f"poll backfill of {len(notices)} (first poll)", len(notices) / first.wall, "msg/s", "", None,
                 f"{first.wall:.1f} s wall; fetched {report.get('fetched')}, new {report.get('new')}")
        if report.get("new") != len(notices):
            b.notes.append(f"first poll stored {report.get('new')} of {len(notices)}: {report}")
        wall, runs = b.median_run(argv, reps, env=env)
        poll_cpu = cpu_ms(runs)
        again = json.loads(runs[-1].stdout.decode().strip().splitlines()[-1])
        if again.get("fetched"):
            b.notes.append(f"the no-op poll fetched {again.get('fetched')} message(s)")
        b.record(f"no-op poll wall ({len(notices)} in folder)", ms(wall), "ms", "<= 400 ms", wall <= 0.400,
                 f"cpu {poll_cpu:.0f} ms")
        counted = b.run([PYTHON, str(ROOT / "bench" / "imap_count.py"), *argv[1:]], env=env)
        found = re.search(rb"BENCH-IMAP-COMMANDS (\d+)", counted.stderr)
        b.record("no-op poll IMAP commands", int(found.group(1)) if found else None, "commands", "", None,
                 "tagged commands sent by the client")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# -- queries on a big timeline ------------------------------------------------------------


def fact_templates() -> list[dict[str, Any]]:
    from caltac_inbox.model import Fact
    from caltac_inbox.timeline.kinds import key_date

    out = subprocess.run([CLI, "extract", str(ROOT / "samples"), "--json"], capture_output=True, check=False)
    facts = []
    for line in out.stdout.decode().splitlines():
        for f in json.loads(line).get("facts", []):
            fact = Fact.from_json(f)
            if key_date(fact) is not None and fact.kind != "task":
                facts.append(f)
    if not facts:
        raise RuntimeError("extract found no dated facts in samples/")
    return facts


def _shift(fact: Any, days: int) -> Any:
    delta = timedelta(days=days)
    changes = {name: getattr(fact, name) + delta for name in ("start", "end", "due", "term_end", "at")
               if getattr(fact, name) is not None}
    return fact.with_changes(**changes)


def fill_timeline(url: str, templates: list[dict[str, Any]], total_facts: int, current: int = 100) -> int:
    """Insert `total_facts` facts and their entries with Core executemany: `current` facts
    dated around AS_OF (the same in every database) and the rest years of history
    before it (two notices per entry, as a direct notice and its forward). Returns the
    number of entries."""
    from sqlalchemy import create_engine, insert

    from caltac_inbox.model import Fact
    from caltac_inbox.store.schema import EntryRow, EntrySourceRow, FactRow, MessageRow
    from caltac_inbox.store.write import fact_values
    from caltac_inbox.timeline.kinds import key_date
    from caltac_inbox.timeline.time import instant

    now = datetime.now(timezone.utc)
    messages, facts, entries, links = [], [], [], []
    base = [Fact.from_json(t) for t in templates]

    def key_day(fact: Any) -> date:
        key = key_date(fact)
        return key.date() if isinstance(key, datetime) else key

    def add(fact: Any, copies: int) -> None:
        entry_id = len(entries) + 1
        first_fact_id = len(facts) + 1
        for _ in range(copies):
            msg_id = len(messages) + 1
            messages.append(dict(id=msg_id, sha256=hashlib.sha256(b"bench-%d" % msg_id).hexdigest(),
                                 raw=b"synthetic", size=9, origin="mail", source=f"bench/{msg_id}.eml",
                                 mailbox=None, message_id=f"<bench-{msg_id}@bench.invalid>",
                                 subject="Synthetic notice", sender="caltac@ets.org",
                                 sent=now, parse_status="ok", archived_at=now))
            values = fact_values(fact, message_pk=msg_id, mailbox=None, unverified=False)
            facts.append(dict(id=len(facts) + 1, **values))
        data = fact.to_json()
        data.pop("unverified", None)
        uid = hashlib.sha256(json.dumps([entry_id, data], sort_keys=True).encode()).hexdigest()[:32]
        entries.append(dict(id=entry_id, uid=uid, kind=fact.kind, program=list(fact.program),
                            key_at=instant(key_date(fact)),
                            end_at=instant(fact.end) if fact.kind == "downtime" and fact.end else None,
                            status=fact.status or "scheduled", fields=data, sequence=0, content_hash=uid,
                            history=[], unverified=False, needs_review=False, updated_at=now))
        links.extend(dict(entry_id=entry_id, fact_id=f) for f in range(first_fact_id, len(facts) + 1))

    for i in range(current):  # spread over AS_OF - 30 days .. AS_OF + 90 days
        template = base[i % len(base)]
        add(_shift(template, (AS_OF - key_day(template)).days - 30 + (i * 120) // current), 1)
    history = total_facts - current
    first_day = date(2006, 1, 1)
    span = (AS_OF - timedelta(days=400) - first_day).days
    for j in range(history // 2):
        template = base[j % len(base)]
        day = first_day + timedelta(days=(j * span) // max(1, history // 2))
        add(_shift(template, (day - key_day(template)).days), 2)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for table, rows in ((MessageRow, messages), (FactRow, facts), (EntryRow, entries), (EntrySourceRow, links)):
                for start in range(0, len(rows), 20_000):
                    conn.execute(insert(table), rows[start:start + 20_000])
    finally:
        engine.dispose()
    return len(entries)


def bench_queries(b: Bench, reps: int, floor: float) -> None:
    templates = fact_templates()
    sizes = (100, 100_000)
    upcoming: dict[int, float] = {}
    cpu: dict[int, float] = {}
    upcoming_kind: dict[int, float] = {}
    for size in sizes:
        url = f"sqlite:///{b.tmp / f'facts-{size}.db'}"
        b.db_upgrade(url)
        n_entries = fill_timeline(url, templates, size)
        up, runs = b.median_run([CLI, "--db", url, "upcoming", "--as-of", AS_OF.isoformat(), "--json"], reps)
        upcoming[size] = up
        shown = len(runs[-1].stdout.splitlines())
        cpu[size] = statistics.median(r.cpu for r in runs)
        b.record(f"upcoming, {size:,} facts", ms(up), "ms", "", None,
                 f"{n_entries:,} entries, {shown} shown; floor + {ms(up - floor):.0f} ms; cpu {cpu_ms(runs):.0f} ms")
        by_kind, runs = b.median_run([CLI, "--db", url, "upcoming", "--as-of", AS_OF.isoformat(), "--kind", "downtime",
                                      "--json"], reps)
        upcoming_kind[size] = by_kind
        b.record(f"upcoming --kind downtime, {size:,} facts", ms(by_kind), "ms", "", None,
                 f"{len(runs[-1].stdout.splitlines())} shown; cpu {cpu_ms(runs):.0f} ms")
        tl, runs = b.median_run([CLI, "--db", url, "timeline", "--json"], 3)
        b.record(f"timeline --json, {size:,} facts", ms(tl), "ms", "", None,
                 f"{len(runs[-1].stdout.splitlines()):,} entries printed; peak RSS {max(r.rss for r in runs) / MB:.0f} MB")
    diff = upcoming[sizes[1]] - upcoming[sizes[0]]
    b.record("upcoming: 100,000 facts minus 100 facts", ms(diff), "ms", "<= 20 ms", diff <= 0.020,
             f"cpu difference {ms(cpu[sizes[1]] - cpu[sizes[0]]):.0f} ms")
    b.record("upcoming --kind: 100,000 facts minus 100 facts", ms(upcoming_kind[sizes[1]] - upcoming_kind[sizes[0]]),
             "ms", "", None, "same target as without --kind")


# -- calendar feed over HTTP ----------------------------------------------------------------


def timed_get(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[float, int, dict[str, str], int]:
    """(seconds, status, headers, body bytes) of one GET on a new connection, as a
    calendar client's poll is."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    return time.perf_counter() - started, response.status, {k.lower(): v for k, v in response.getheaders()}, len(body)


def bench_feed(b: Bench, reps: int) -> None:
    """GET /calendar/<token>.ics of a running `serve` on 100,000 facts: the 304 a calendar
    polling an unchanged feed gets, the 200 after the timeline changed (the whole calendar
    rendered: every entry back to 2006, as export-ics writes it), and a 200 of an
    unchanged feed without validators (served from the render cache)."""
    import sqlite3

    size = 100_000
    url = f"sqlite:///{b.tmp / f'feed-{size}.db'}"
    b.db_upgrade(url)
    n_entries = fill_timeline(url, fact_templates(), size)
    feed = json.loads(b.run([CLI, "--db", url, "feed", "create", "--json"]).stdout)
    sys.path.insert(0, str(ROOT))
    from tests.web import serving

    def changed() -> None:  # what an ingest that changed the timeline does to its generation
        with sqlite3.connect(b.tmp / f"feed-{size}.db") as conn:
            conn.execute("UPDATE timeline_state SET generation = generation + 1, changed_at = CURRENT_TIMESTAMP")

    with serving(url, b.tmp / "serve.log", command=(CLI,), cwd=b.tmp, env=b.env) as server:
        base = server.base
        renders = []
        for _ in range(3):  # each renders ~50,000 events
            changed()
            seconds, status, headers, length = timed_get(base, feed["path"])
            if status != 200:
                raise RuntimeError(f"feed answered {status} after a change")
            renders.append(seconds)
        etag = headers["etag"]
        b.record(f"feed 200 after a change, {size:,} facts", ms(statistics.median(renders)), "ms", "", None,
                 f"{n_entries:,} events, {length / MB:.1f} MB rendered; median of {len(renders)}")
        cached = [timed_get(base, feed["path"])[0] for _ in range(reps)]
        b.record(f"feed 200 unchanged (render cache), {size:,} facts", ms(statistics.median(cached)), "ms", "", None,
                 f"median of {reps}")
        not_modified = []
        for _ in range(reps):
            seconds, status, _, _ = timed_get(base, feed["path"], {"If-None-Match": etag})
            if status != 304:
                raise RuntimeError(f"feed answered {status} to its own ETag")
            not_modified.append(seconds)
        worst = max(not_modified)
        b.record(f"feed 304 unchanged, {size:,} facts", ms(statistics.median(not_modified)), "ms", "<= 200 ms",
                 worst <= 0.200, f"max {ms(worst):.1f} ms of {reps}")


def bench_extract(b: Bench, reps: int) -> None:
    corpus = SHARED / "corpus"
    if not corpus.is_dir():
        b.notes.append(f"extract skipped: {corpus} not found")
        b.record("extract corpus", None, "msg/s")
        return
    count = len(list(corpus.rglob("*.eml")))
    wall, runs = b.median_run([CLI, "extract", str(corpus), "--json"], reps)
    b.record(f"extract {count} corpus notices", count / wall, "msg/s", "", None,
             f"{ms(wall):.0f} ms wall incl. start-up")


# ----------------------------------------------------------------------------- output


def table(results: list[dict[str, Any]]) -> str:
    rows = [("measurement", "value", "target", "result", "note")]
    for r in results:
        value = r["value"]
        if value is None:
            text = "skipped"
        elif isinstance(value, float):
            text = f"{value:,.1f} {r['unit']}" if value < 100 else f"{value:,.0f} {r['unit']}"
        else:
            text = f"{value:,} {r['unit']}"
        result = "" if r["pass"] is None else "PASS" if r["pass"] else "FAIL"
        rows.append((r["name"], text, r["target"], result, r["note"]))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4])
        if n == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 4)
    return "\n".join(line.rstrip() for line in lines)


def markdown(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (for the README's Performance section)."""
    lines = ["| measurement | value | target | result | note |", "|---|---:|---|---|---|"]
    for r in results:
        value = r["value"]
        if value is None:
            text = "skipped"
        elif isinstance(value, float):
            text = f"{value:,.1f} {r['unit']}" if value < 100 else f"{value:,.0f} {r['unit']}"
        else:
            text = f"{value:,} {r['unit']}"
        result = "" if r["pass"] is None else "PASS" if r["pass"] else "FAIL"
        lines.append(f"| {r['name']} | {text} | {r['target']} | {result} | {r['note']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and messages (for iterating)")
    parser.add_argument("--only", action="append", choices=["startup", "backfill", "breakdown", "postgres", "poll",
                                                             "queries", "feed", "extract"],
                        help="run only these parts (repeatable)")
    parser.add_argument("--from-json", metavar="FILE",
                        help="print the table (or --markdown) of a saved --json run instead of running")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("-q", "--silent", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        print(markdown(saved["results"]) if args.markdown else table(saved["results"]))
        for note in saved["notes"]:
            print(f"\nnote: {note}" if args.markdown else f"note: {note}")
        return 0
    parts = set(args.only or ["startup", "backfill", "breakdown", "postgres", "poll", "queries", "feed", "extract"])
    reps = 5 if args.quick else 15
    messages = 1000 if args.quick else 5000
    backfill_reps = 1  # 5,000 messages per run is long enough to be steady

    # SIGTERM (and SIGINT, which background jobs ignore) still remove the temporary files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="caltac-bench-"))
    b = Bench(tmp, args.quick, verbose=not args.silent)
    started = time.time()
    b.notes.append(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    try:
        floor = bench_startup(b, reps) if "startup" in parts else b.median_run([PYTHON, "-c", "pass"], reps)[0]
        notices = make_notices(messages) if parts & {"backfill", "breakdown", "postgres", "poll"} else []
        notices_dir = write_notices(notices, tmp / "notices") if notices else tmp
        if "backfill" in parts:
            bench_backfill(b, notices_dir, messages, f"sqlite:///{tmp / 'backfill.db'}", "SQLite", backfill_reps)
        if "breakdown" in parts:
            bench_breakdown(b, notices[:1000] if args.quick else notices[:2000])
        if "postgres" in parts:
            pg = postgres_factory(b)
            if pg is None:
                b.record(f"backfill {messages} notices, PostgreSQL", None, "msg/s")
            else:
                fresh, drop_all = pg
                try:
                    bench_backfill(b, notices_dir, messages, "", "PostgreSQL", backfill_reps, cleanup=fresh)
                finally:
                    drop_all()
        if "poll" in parts:
            bench_poll(b, notices, reps)
        if "queries" in parts:
            bench_queries(b, reps, floor)
        if "feed" in parts:
            bench_feed(b, reps)
        if "extract" in parts:
            bench_extract(b, max(3, reps // 3))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    b.notes.append(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    failed = [r["name"] for r in b.results if r["pass"] is False]
    if args.json:
        print(json.dumps({
            "quick": args.quick, "repetitions": reps, "messages": messages,
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "cpus": os.cpu_count()},
            "seconds": round(time.time() - started, 1),
            "results": b.results, "notes": b.notes, "failed": failed,
        }, indent=2))
    else:
        print(markdown(b.results) if args.markdown else table(b.results))
        for note in b.notes:
            print(f"note: {note}")
        print(f"{len(failed)} target(s) failed" + (f": {', '.join(failed)}" if failed else "")
              + f"; medians of {reps} runs; {time.time() - started:.0f} s")
    return 1 if (failed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
