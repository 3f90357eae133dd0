"""Adversarial inputs for parse + classify: every shape that once made them super-linear.

Each case builds a message body of a given size; the script times parse_message + classify
in-process and reports seconds and peak memory (tracemalloc) per size, so a curve that is
not linear shows. Run: python bench/adversarial.py [--sizes 125000,250000,500000,1000000] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from email.message import EmailMessage
from typing import Callable

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _repeat(unit: Callable[[int], str], size: int, sep: str = "") -> str:
    parts, total, i = [], 0, 0
    while total < size:
        piece = unit(i) + sep
        parts.append(piece)
        total += len(piece)
        i += 1
    return "".join(parts)[:size]


CASES: dict[str, Callable[[int], str]] = {
    # "unavailable on August 1, 2, 3, ... and 30" without a sentence end
    "day list, one sentence": lambda n: "TOMS will be unavailable on August " + _repeat(
        lambda i: f"{i % 28 + 1}, ", n) + "and 30",
    # dates and times in one endless sentence
    "dates and times, one sentence": lambda n: "Systems are down " + _repeat(
        lambda i: f"from August {i % 28 + 1} at {i % 11 + 1} p.m. to August {i % 28 + 2} at {i % 11 + 1} a.m., ", n),
    "times only, one sentence": lambda n: "The downtime runs " + _repeat(lambda i: f"{i % 12 + 1}:00 p.m. to ", n),
    "weekdays, one sentence": lambda n: "Maintenance from " + _repeat(
        lambda i: f"{WEEKDAYS[i % 7]} at 5 p.m. to ", n),
    # many short sentences on one line, each dated
    "dated sentences, one line": lambda n: _repeat(
        lambda i: f"TOMS will be offline from May {i % 28 + 1} at 5 p.m. to May {i % 28 + 2} at 8 a.m. ", n),
    "downtime references, one line": lambda n: _repeat(
        lambda i: f"Data will be removed during the downtime that begins on May {i % 28 + 1}. ", n),
    "removals, one line": lambda n: _repeat(lambda i: "Student data files will be removed during the downtime. ", n),
    # structure: one list, one table, many headings
    "list under one lead-in": lambda n: "Designations are due as follows:\n\n" + _repeat(
        lambda i: f"- Program {i}: July {i % 28 + 1}, 2024\n", n),
    "nested list": lambda n: "Due dates:\n" + _repeat(lambda i: "  " * (i % 4) + f"- Item {i}: May {i % 28 + 1}\n", n),
    "table rows": lambda n: "Outages\n\nSystem | Down | Back\n" + _repeat(
        lambda i: f"TOMS {i} | May {i % 28 + 1}, 2024, 5 p.m. | May {i % 28 + 2}, 2024, 8 a.m.\n", n),
    "headings": lambda n: _repeat(lambda i: f"Downtime Notice {i}\n\nTOMS is down May {i % 28 + 1}.\n\n", n),
    # no structure at all
    "one long word": lambda n: "x" * n,
    "digits and slashes": lambda n: _repeat(lambda i: f"{i % 12 + 1}/{i % 28 + 1} ", n),
    "colons and pipes": lambda n: _repeat(lambda i: f"a{i}: b | c: ", n),
}


def message(body: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "CalTAC <caltac@ets.org>"
    msg["To"] = "coordinator@district.k12.ca.us"
    msg["Subject"] = "CAASPP: System Notice"
    msg["Date"] = "Wed, 01 May 2024 09:00:00 -0700"
    msg["Message-ID"] = "<adversarial@example.org>"
    msg.set_content(body)
    return msg.as_bytes()


def measure(raw: bytes) -> tuple[float, float, int]:
    """Seconds of parse + classify, then their peak traced memory in a second run (tracing
    slows allocation several times, so time is taken without it)."""
    from caltac_inbox.classify import classify_with_leads
    from caltac_inbox.parse import parse_message

    t0 = time.perf_counter()
    facts, _leads = classify_with_leads(parse_message(raw, "adversarial.eml"))
    seconds = time.perf_counter() - t0
    tracemalloc.start()
    classify_with_leads(parse_message(raw, "adversarial.eml"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak / 2**20, len(facts)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="125000,250000,500000,1000000")
    parser.add_argument("--cases", default="", help="case names separated by ';' (default: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    chosen = [c for c in CASES if not args.cases or c in args.cases.split(";")]
    results = []
    for name in chosen:
        row = {"case": name, "points": []}
        for size in sizes:
            seconds, peak_mb, n_facts = measure(message(CASES[name](size)))
            row["points"].append({"bytes": size, "seconds": round(seconds, 3), "peak_mb": round(peak_mb, 1),
                                  "facts": n_facts})
        first, last = row["points"][0], row["points"][-1]
        row["time_ratio"] = round(last["seconds"] / max(first["seconds"], 1e-3), 1)
        results.append(row)
        if not args.json:
            cells = "  ".join(f"{p['bytes'] // 1000:>5}k {p['seconds']:6.2f}s {p['peak_mb']:6.1f}MB"
                              for p in row["points"])
            print(f"{name:32} {cells}  x{row['time_ratio']} for x{sizes[-1] // sizes[0]} size", flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
