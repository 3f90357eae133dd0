#!/usr/bin/env python3
"""In-process backfill CPU per message: an ingest with `workers=0` of COUNT corpus and sample
messages (varied as bench/suite.py's backfill mbox) into a fresh SQLite file, with the
time spent in parse_message alone beside it.

    .venv/bin/python bench/ingest_cost.py [--count 600] [--reps 3]

One process, no workers: less noise from a loaded machine than the CLI's all-process CPU.
Run it with main's interpreter too to compare two versions in one session.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from parse_cost import messages


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    from caltac_inbox import parse
    from caltac_inbox import pipeline
    from caltac_inbox.model import RawMessage

    try:  # Store and open_store left the pipeline for store/ (issue 24)
        from caltac_inbox.store.writer import open_store  # type: ignore[import-not-found]

        def ingest(store, raws):  # type: ignore[no-untyped-def]
            return pipeline.ingest(store, raws, workers=0)  # type: ignore[attr-defined]
    except ImportError:
        from caltac_inbox.pipeline import open_store  # type: ignore[attr-defined,no-redef]

        def ingest(store, raws):  # type: ignore[no-untyped-def]
            return store.ingest(raws, workers=0)

    raws = [RawMessage(raw, f"bench.mbox#{i}") for i, raw in enumerate(messages(args.count))]
    spent = [0.0]
    parse_message = parse.parse_message

    def timed_parse(*a, **k):  # type: ignore[no-untyped-def]
        start = time.process_time()
        try:
            return parse_message(*a, **k)
        finally:
            spent[0] += time.process_time() - start

    pipeline.default_parser = lambda: timed_parse  # type: ignore[assignment]
    totals, parses = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps + 1):  # the first run warms imports and caches
            store = open_store(f"sqlite:///{tmp}/bench-{rep}.db")
            spent[0] = 0.0
            start = time.process_time()
            ingest(store, raws)
            if rep:
                totals.append((time.process_time() - start) / len(raws))
                parses.append(spent[0] / len(raws))
            store.close()
    runs = ", ".join(f"{v * 1000:.2f}" for v in totals)
    print(f"ingest CPU per message {statistics.median(totals) * 1000:.2f} ms (runs {runs}), "
          f"of it parse {statistics.median(parses) * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
