#!/usr/bin/env python3
"""Parse CPU per message: `parse_message` in-process over the corpus and the samples,
repeated (as bench/suite.py's backfill mbox varies them) to COUNT messages.

    .venv/bin/python bench/parse_cost.py [--count 2000] [--reps 3] [--profile] [--distinct-senders]

Prints the median over `--reps` passes of CPU (process_time) per message. Run it with
another checkout's interpreter and PYTHONPATH to compare two versions in one session.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from run import SHARED, vary_notice  # noqa: E402


def messages(count: int) -> list[bytes]:
    templates = [p.read_bytes() for p in sorted((SHARED / "corpus").rglob("*.eml"))] if (SHARED / "corpus").is_dir() \
        else []
    templates += [p.read_bytes() for p in sorted((ROOT / "samples").glob("*.eml"))]
    return [vary_notice(templates[i % len(templates)], i) if i >= len(templates) else templates[i]
            for i in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--distinct-senders", action="store_true",
                        help="give every message its own From address (no repeated sender)")
    args = parser.parse_args()
    from caltac_inbox.parse import parse_message

    raws = messages(args.count)
    if args.distinct_senders:
        raws = [re.sub(rb"(?m)^From:([^\r\n]*?)([\w.+-]+)@", rb"From:\1\2+s%d@" % i, raw, count=1)
                for i, raw in enumerate(raws)]
    for raw in raws[:50]:  # warm imports and caches
        parse_message(raw, "warm")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for i, raw in enumerate(raws):
            parse_message(raw, f"m{i}")
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        return 0
    per_message = []
    for _ in range(args.reps):
        start = time.process_time()
        for i, raw in enumerate(raws):
            parse_message(raw, f"m{i}")
        per_message.append((time.process_time() - start) / len(raws))
    print(f"parse CPU per message: median {statistics.median(per_message) * 1000:.3f} ms "
          f"(runs: {', '.join(f'{v * 1000:.3f}' for v in per_message)}; {len(raws)} messages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
