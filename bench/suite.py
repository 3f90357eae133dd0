#!/usr/bin/env python3
"""`make bench`: the costs issue 28 set targets for, as ratios to floors measured in the same run.

    make bench                                   # the wheel installed in build/bench-venv, as users do
    build/bench-venv/bin/python bench/suite.py --small     # small sizes, while developing

Every timing is the median of at least 3 runs of the installed `caltac-inbox` in a
subprocess (peak RSS is the child's, see bench/run.py's launcher). Every target is a
ratio to a floor measured in this run (`python -c pass`; the archive floor: a compat32
parse, a sha256 and one INSERT per message of the same mbox; `timeline --json` of the
same entries; the same command on SQLite; the same command of bbe6bca), so a loaded
machine moves the absolute numbers, not the verdicts. The results go to
bench/results.json; the next run compares its ratios with them and fails when one
regressed by more than 15 %, or when a target fails.
"""
from __future__ import annotations

import argparse
import json
import mailbox
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as base  # noqa: E402 - bench/run.py: the launcher, the notices, the synthetic timeline

from run import CLI, MB, PYTHON, ROOT, SHARED, Bench, fact_templates, fill_timeline  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
REGRESSION = 0.15
BASELINE = "bbe6bca"  # before the regression issue 28 measured
# the console script's entry point, for both versions alike (bbe6bca's is on PYTHONPATH)
ENTRY = "import sys; from caltac_inbox.cli import main; sys.argv[0] = 'caltac-inbox'; sys.exit(main())"


class Suite:
    def __init__(self, bench: Bench, reps: int, small: bool) -> None:
        self.b, self.reps, self.small = bench, reps, small
        self.rows: list[dict[str, Any]] = []

    def target(self, name: str, ratio: float | None, limit: float | None, detail: str,
               absolute: tuple[float, float] | None = None) -> None:
        """One row: `ratio` against `limit` (None: reported only), and an absolute limit
        `absolute` (value, limit) that must hold too."""
        ok = None if limit is None or ratio is None else ratio <= limit
        if absolute is not None and ok is not False:
            ok = absolute[0] <= absolute[1]
        self.rows.append({"name": name, "ratio": ratio, "limit": limit, "pass": ok, "detail": detail})
        self.b.log(f"{name}: ratio {ratio if ratio is None else round(ratio, 2)} {detail}")

    def runs(self, argv: list[str], *, prepare: Callable[[], None] | None = None, env: dict[str, str] | None = None,
             reps: int | None = None) -> list[base.Run]:
        out = []
        for _ in range(reps or self.reps):
            if prepare is not None:
                prepare()
            out.append(self.b.run(argv, env=env))
        return out


def median(runs: list[base.Run], what: str = "wall") -> float:
    return statistics.median(getattr(r, what) for r in runs)


def peak(runs: list[base.Run]) -> float:
    return max(r.rss for r in runs) / MB


# --------------------------------------------------------------------------- floors


def floor_start(s: Suite) -> float:
    runs = s.runs([PYTHON, "-c", "pass"], reps=max(5, s.reps))
    s.target("python -c pass (floor)", 1.0, None, f"{median(runs) * 1000:.0f} ms")
    return median(runs)


ARCHIVE_FLOOR = """
import email, hashlib, mailbox, resource, sqlite3, sys
from email import policy
conn = sqlite3.connect(sys.argv[2])
conn.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, sha256 TEXT UNIQUE, subject TEXT, raw BLOB)")
start = resource.getrusage(resource.RUSAGE_SELF)
n = 0
for msg in mailbox.mbox(sys.argv[1], create=False):
    raw = msg.as_bytes()
    parsed = email.message_from_bytes(raw, policy=policy.compat32)
    conn.execute("INSERT INTO m (sha256, subject, raw) VALUES (?, ?, ?)",
                 (hashlib.sha256(raw).hexdigest(), parsed["Subject"], raw))
    n += 1
conn.commit()
end = resource.getrusage(resource.RUSAGE_SELF)
print((end.ru_utime + end.ru_stime - start.ru_utime - start.ru_stime) / n)
"""


def corpus_mbox(s: Suite, count: int) -> Path:
    """An mbox of the corpus notices (and the samples), each also as varied copies up to `count`."""
    templates = [p.read_bytes() for p in sorted((SHARED / "corpus").rglob("*.eml"))] if (SHARED / "corpus").is_dir() \
        else []
    templates += [p.read_bytes() for p in sorted((ROOT / "samples").glob("*.eml"))]
    path = s.b.tmp / f"corpus-{count}.mbox"
    box = mailbox.mbox(str(path), create=True)
    for i in range(count):
        box.add(base.vary_notice(templates[i % len(templates)], i) if i >= len(templates) else templates[i])
    box.flush()
    box.close()
    return path


def archive_floor_run(s: Suite, mbox: Path, i: int) -> float:
    """CPU seconds per message of the archive floor on `mbox` (one run)."""
    db = s.b.tmp / f"floor-{i}.db"
    db.unlink(missing_ok=True)
    return float(s.b.run([PYTHON, "-c", ARCHIVE_FLOOR, str(mbox), str(db)]).stdout)


# --------------------------------------------------------------------------- cases


def backfill(s: Suite, mbox: Path, count: int, pg: Callable[[], str] | None) -> None:
    """Backfill CPU per message against the archive floor, each backfill run paired with a
    floor run just before it (this machine's speed drifts by a fifth within minutes; a
    pair sees the same speed); the verdict is the median of the pairs' ratios."""
    def fresh_sqlite() -> str:
        db = s.b.tmp / "backfill.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{db}"

    urls: list[tuple[str, Callable[[], str]]] = [("SQLite", fresh_sqlite)]
    if pg is not None:
        urls.append(("PostgreSQL", pg))
    floors: list[float] = []
    for label, make in urls:
        cpus, ratios = [], []
        for i in range(max(5, s.reps)):
            url = make()
            s.b.db_upgrade(url)
            floors.append(archive_floor_run(s, mbox, i))
            run = s.b.run([CLI, "--db", url, "ingest", str(mbox)])
            cpus.append(run.cpu / count)
            ratios.append(cpus[-1] / floors[-1])
        if label == "SQLite":
            s.target("archive floor (compat32 + sha256 + INSERT)", 1.0, None,
                     f"{statistics.median(floors) * 1000:.2f} ms CPU/message (median of the runs paired below)")
        s.target(f"backfill {count} corpus messages, {label}: CPU per message / archive floor",
                 statistics.median(ratios), 8.0 if label == "SQLite" else None,
                 f"{statistics.median(cpus) * 1000:.2f} ms CPU/message; pairs {min(ratios):.1f}-{max(ratios):.1f}")


def incremental(s: Suite, sizes: tuple[int, ...]) -> None:
    """One new notice (a designation notice, what most polls bring) into archives of
    `sizes` messages (one fact each, 20 years of history built from the samples' facts,
    bench/run.py fill_timeline). Not a downtime extension: in this history (an extension
    every few days for 20 years, far more than a district gets) one reaches every
    extended window, and its refresh costs what a full replay of them does (FINDINGS)."""
    templates = fact_templates()
    samples = base.sample_messages()
    notices = {"a designation notice": base.vary_notice(samples[6], 10_001)}
    archives = {}
    for size in sizes:
        master = s.b.tmp / f"archive-{size}.db"
        s.b.db_upgrade(f"sqlite:///{master}")
        fill_timeline(f"sqlite:///{master}", templates, size, current=min(100, size))
        archives[size] = master
    for label, raw in notices.items():
        notice = s.b.tmp / "one-notice.eml"
        notice.write_bytes(raw)
        results: dict[int, list[base.Run]] = {size: [] for size in archives}
        for _ in range(max(5, s.reps)):  # the sizes alternately: a drift in speed moves them alike
            for size, master in archives.items():
                work = s.b.tmp / f"archive-{size}-work.db"
                shutil.copyfile(master, work)
                results[size].append(s.b.run([CLI, "--db", f"sqlite:///{work}", "ingest", str(notice)]))
        small = median(results[sizes[0]])
        typical = label == "a designation notice"
        for size in sizes[1:]:
            if size not in results:
                continue
            wall, rss = median(results[size]), peak(results[size])
            big = size >= 50_000
            s.target(f"{label} into {size:,} messages / into {sizes[0]}", wall / small,
                     2.0 if typical and not big else None,
                     f"{wall * 1000:.0f} ms vs {small * 1000:.0f} ms; peak {rss:.0f} MB"
                     + (" (target <= 1.5 s)" if big else " (target <= 150 MB)"),
                     absolute=((wall, 1.5) if big else (rss, 150.0)) if typical else None)
            if not typical:
                s.rows[-1]["pass"] = None


def calendar(s: Suite, entries_wanted: int) -> None:
    db = s.b.tmp / "calendar.db"
    url = f"sqlite:///{db}"
    s.b.db_upgrade(url)
    entries = fill_timeline(url, fact_templates(), 100 + 2 * (entries_wanted - 100))
    s.b.run([CLI, "--db", url, "timeline", "--json"])  # warm the page cache
    timeline = s.runs([CLI, "--db", url, "timeline", "--json"])
    export = s.runs([CLI, "--db", url, "export-ics", "-o", str(s.b.tmp / "out.ics")])
    events = (s.b.tmp / "out.ics").read_bytes().count(b"BEGIN:VEVENT")
    s.target(f"export-ics of {events:,} events / timeline --json of {entries:,} entries",
             median(export) / median(timeline), 2.0,
             f"{median(export) * 1000:.0f} ms vs {median(timeline) * 1000:.0f} ms; peak {peak(export):.0f} MB "
             "(target <= 200 MB)", absolute=(peak(export), 200.0))


def feed(s: Suite, facts: int, clients: int) -> None:
    """A running `serve` on `facts` facts: the first GET after a change (default horizon,
    and ?from=all), then `clients` clients at once right after another change."""
    import sqlite3

    sys.path.insert(0, str(ROOT))
    from tests.web import serving

    db = s.b.tmp / "feed.db"
    url = f"sqlite:///{db}"
    s.b.db_upgrade(url)
    entries = fill_timeline(url, fact_templates(), facts)
    token = json.loads(s.b.run([CLI, "--db", url, "feed", "create", "--json"]).stdout)

    def changed() -> None:
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE timeline_state SET generation = generation + 1, changed_at = CURRENT_TIMESTAMP")

    def high_water(pid: int) -> float:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    firsts, everything = [], []
    for _ in range(s.reps):
        with serving(url, s.b.tmp / "serve.log", command=(CLI,), cwd=s.b.tmp, env=s.b.env) as server:
            changed()
            firsts.append(base.timed_get(server.base, token["path"])[0])
            first_rss = high_water(server.process.pid)
            changed()
            everything.append(base.timed_get(server.base, token["path"] + "?from=all")[0])
    first = statistics.median(firsts)
    s.target(f"first feed GET, {facts:,} facts (last 12 months and ahead)", None, None,
             f"{first * 1000:.0f} ms (target <= 5 s); server peak {first_rss:.0f} MB (target <= 300 MB)")
    s.rows[-1]["pass"] = first <= 5.0 and first_rss <= 300
    s.target(f"feed GET ?from=all, {facts:,} facts ({entries:,} entries)", None, None,
             f"{statistics.median(everything) * 1000:.0f} ms")
    with serving(url, s.b.tmp / "serve.log", command=(CLI,), cwd=s.b.tmp, env=s.b.env) as server:
        base.timed_get(server.base, token["path"])
        changed()
        walls: list[float] = []
        threads = [threading.Thread(target=lambda: walls.append(base.timed_get(server.base, token["path"])[0]))
                   for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rss = high_water(server.process.pid)
    s.target(f"{clients} clients at once after a change, {facts:,} facts", None, None,
             f"slowest {max(walls) * 1000:.0f} ms; server peak {rss:.0f} MB (target <= 400 MB)")
    s.rows[-1]["pass"] = rss <= 400


def postgres_upcoming(s: Suite, pg: Callable[[], str] | None, facts: int) -> None:
    if pg is None:
        s.target("PostgreSQL upcoming / SQLite upcoming", None, None, "skipped: no PostgreSQL server")
        return
    templates = fact_templates()
    argvs = {}
    for label, url in (("SQLite", f"sqlite:///{s.b.tmp / 'upcoming.db'}"), ("PostgreSQL", pg())):
        s.b.db_upgrade(url)
        fill_timeline(url, templates, facts)
        if label == "PostgreSQL":  # what an ingest of this size does (store.db.analyze_changed)
            from sqlalchemy import create_engine

            from caltac_inbox.store.db import analyze_changed

            engine = create_engine(url)
            analyze_changed(engine, {"messages": facts, "facts": facts, "entries": facts, "entry_sources": facts})
            engine.dispose()
        argvs[label] = [CLI, "--db", url, "upcoming", "--as-of", base.AS_OF.isoformat(), "--days", "90", "--json"]
        s.b.run(argvs[label])
    # alternately, 11 pairs: two commands of about 100 ms, where 3 runs each moved the ratio 50 %
    runs: dict[str, list[base.Run]] = {label: [] for label in argvs}
    for _ in range(max(11, s.reps)):
        for label, argv in argvs.items():
            runs[label].append(s.b.run(argv))
    walls = {label: median(found) for label, found in runs.items()}
    s.target(f"upcoming at {facts:,} facts: PostgreSQL / SQLite", walls["PostgreSQL"] / walls["SQLite"], 2.0,
             f"{walls['PostgreSQL'] * 1000:.0f} ms vs {walls['SQLite'] * 1000:.0f} ms")


def against_baseline(s: Suite, floor: float) -> None:
    """--help and upcoming of this wheel against bbe6bca's, run alternately in this run."""
    source = s.b.tmp / "baseline-src"
    source.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE], capture_output=True, check=False)
    if archive.returncode != 0:
        s.target("--help / bbe6bca's", None, None, f"skipped: git archive {BASELINE} failed")
        return
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
    # its source tree (bbe6bca reads its migrations from there), compiled as an install would be
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(source / "caltac_inbox")], check=True, capture_output=True)
    env_old = {**s.b.env, "PYTHONPATH": str(source)}
    old_db, new_db = s.b.tmp / "old-empty.db", s.b.tmp / "new-empty.db"
    commands = {"--help": (["--help"], ["--help"]),
                "upcoming": (["--db", f"sqlite:///{old_db}", "upcoming"], ["--db", f"sqlite:///{new_db}", "upcoming"])}
    s.b.run([PYTHON, "-c", ENTRY, "--db", f"sqlite:///{old_db}", "db", "upgrade"], env=env_old)
    s.b.db_upgrade(f"sqlite:///{new_db}")
    for name, (old_args, new_args) in commands.items():
        olds, news = [], []
        # alternately, so load moves both alike; 21 pairs: a 2 % difference is within the spread of 5
        for _ in range(max(21, s.reps)):
            olds.append(s.b.run([PYTHON, "-c", ENTRY, *old_args], env=env_old).wall)
            news.append(s.b.run([PYTHON, "-c", ENTRY, *new_args]).wall)
        old_s, new_s = statistics.median(olds), statistics.median(news)
        s.target(f"{name}: this wheel / {BASELINE}", new_s / old_s, 1.0,
                 f"{new_s * 1000:.0f} ms vs {old_s * 1000:.0f} ms (floor {floor * 1000:.0f} ms)")
    s.rows[-1]["limit"] = s.rows[-2]["limit"] = 1.0


# --------------------------------------------------------------------------- report


def compare(rows: list[dict[str, Any]], previous: dict[str, Any] | None) -> list[str]:
    if not previous:
        return []
    before = {r["name"]: r["ratio"] for r in previous.get("rows", []) if r.get("ratio")}
    worse = []
    for row in rows:
        old = before.get(row["name"])
        if old and row["ratio"] and row["limit"] is not None and row["ratio"] > old * (1 + REGRESSION):
            worse.append(f"{row['name']}: ratio {row['ratio']:.2f}, was {old:.2f} (+{row['ratio'] / old - 1:.0%})")
        row["previous"] = old
    return worse


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'case':<78} {'ratio':>7} {'target':>7} {'verdict':>7}  detail"]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        limit = "-" if r["limit"] is None else f"<={r['limit']:g}"
        verdict = "" if r["pass"] is None else "PASS" if r["pass"] else "FAIL"
        lines.append(f"{r['name']:<78} {ratio:>7} {limit:>7} {verdict:>7}  {r['detail']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="small sizes (develop the bench, not a verdict)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.reps < 3:
        parser.error("--reps: every timing is a median of at least 3 runs")
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="caltac-bench-"))
    b = Bench(tmp, quick=args.small, verbose=True)
    s = Suite(b, args.reps, args.small)
    small = dict(backfill=120, archives=(10, 1_000, 5_000), events=500, feed=5_000, pg=5_000)
    # backfill: the 2,000-notice inbox issue 28 measured; a run's own start (imports, the
    # workers' warm-up: about 1 s of CPU) is then shared as a real backfill shares it, where
    # at 600 it was a fifth of the CPU per message
    full = dict(backfill=2_000, archives=(10, 10_000, 50_000), events=5_000, feed=100_000, pg=50_000)
    sizes: dict[str, Any] = small if args.small else full
    factory = base.postgres_factory(b)
    pg, drop = factory if factory is not None else (None, lambda: None)
    try:
        floor = floor_start(s)
        against_baseline(s, floor)
        mbox = corpus_mbox(s, int(sizes["backfill"]))
        backfill(s, mbox, int(sizes["backfill"]), pg)
        incremental(s, tuple(sizes["archives"]))  # type: ignore[arg-type]
        calendar(s, int(sizes["events"]))
        feed(s, int(sizes["feed"]), 50)
        postgres_upcoming(s, pg, int(sizes["pg"]))
    finally:
        drop()
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - started
    previous = json.loads(args.results.read_text()) if args.results.exists() else None
    worse = compare(s.rows, previous if previous and previous.get("small") == args.small else None)
    print(table(s.rows))
    print(f"\n{elapsed:.0f} s on {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the end "
          "(absolute times move with the load; the ratios are the verdicts)")
    failed = [r["name"] for r in s.rows if r["pass"] is False]
    for line in worse:
        print("REGRESSION " + line)
    for name in failed:
        print("FAIL " + name)
    args.results.write_text(json.dumps({"small": args.small, "seconds": round(elapsed), "rows": s.rows,
                                        "date": date.today().isoformat()}, indent=1) + "\n")
    return 1 if worse or failed else 0


if __name__ == "__main__":
    sys.exit(main())
