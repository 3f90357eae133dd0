"""`python -m tests.unit.behaviour`: the pass rate per family, and failing variants on request."""
from __future__ import annotations

import argparse
import sys
import time

from tests.unit.behaviour.generate import FAMILIES, SEED, generate
from tests.unit.behaviour.score import breakdown, failures, run, scores, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.unit.behaviour", description=__doc__)
    parser.add_argument("--failures", type=int, default=0, metavar="N",
                        help="list the first N failing variants of each family")
    parser.add_argument("--family", choices=FAMILIES, help="only this family's variants")
    parser.add_argument("--by", choices=("structure", "delivery", "date_form"), action="append", default=[],
                        help="also print each family's passes by structure, delivery or how its dates are written")
    parser.add_argument("--seed", type=int, default=SEED, help=f"generator seed (default {SEED})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    variants = generate(args.seed)
    if args.family:
        variants = [v for v in variants if v.family == args.family]
    outcomes = run(variants)
    family_scores = [s for s in scores(outcomes) if s.variants]
    print(table(family_scores))
    print(f"{len(variants)} variants in {time.perf_counter() - started:.1f} s (seed {args.seed})")
    for axis in args.by:
        print(breakdown(outcomes, axis))
    if args.failures:
        print(failures(outcomes, args.family, args.failures))
    return 0 if all(s.ok for s in family_scores) else 1


if __name__ == "__main__":
    sys.exit(main())
