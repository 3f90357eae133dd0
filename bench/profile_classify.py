"""Classify cost per notice, in-process: `python bench/profile_classify.py [--count N] [--profile]`.

Builds the bench's backfill input (the corpus notices and the samples, then varied copies
up to N, as `make bench` does), parses every message once, then times `classify_keeping_leads`
over the parsed notices (CPU, median of --reps runs) and, with --profile, prints cProfile's
top functions and the number of regular-expression calls. bench/FINDINGS.md quotes it.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import ROOT, SHARED, vary_notice


def notices(count: int) -> list:
    from caltac_inbox.parse import parse_message

    templates = [p.read_bytes() for p in sorted((SHARED / "corpus").rglob("*.eml"))] \
        if (SHARED / "corpus").is_dir() else []
    templates += [p.read_bytes() for p in sorted((ROOT / "samples").glob("*.eml"))]
    raws = [templates[i] if i < len(templates) else vary_notice(templates[i % len(templates)], i)
            for i in range(count)]
    return [parse_message(raw, f"bench-{i}") for i, raw in enumerate(raws)]


def classify_all(parsed: list) -> None:
    from caltac_inbox.classify import classify_keeping_leads

    for notice in parsed:
        classify_keeping_leads(notice)


def regex_calls(stats: pstats.Stats) -> dict[str, int]:
    out: dict[str, int] = {}
    for (_file, _line, name), (_cc, nc, *_rest) in stats.stats.items():  # type: ignore[attr-defined]
        if name.startswith("<method '") and "re.Pattern" in name:
            out[name] = out.get(name, 0) + nc
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    parsed = notices(args.count)
    classify_all(parsed[:20])  # warm: imports, compiled patterns
    cpu = []
    for _ in range(args.reps):
        start = time.process_time()
        classify_all(parsed)
        cpu.append(time.process_time() - start)
    per = statistics.median(cpu) / len(parsed) * 1000
    print(f"classify: {per:.3f} ms CPU per notice (median of {args.reps} runs over {len(parsed)} notices;"
          f" runs {', '.join(f'{c:.2f}' for c in cpu)} s)")
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(classify_all, parsed)
        stats = pstats.Stats(profile)
        calls = regex_calls(stats)
        print(f"regex calls per notice: {sum(calls.values()) / len(parsed):.1f}")
        for name, n in calls.items():
            print(f"  {n:>9} {n / len(parsed):8.1f}/notice  {name}")
        stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
