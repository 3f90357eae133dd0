"""Leads on the labelled corpus: how many per notice, and the safety net's recall.

For each labelled notice: parse, classify with leads (what ingest stores), match the
facts to the labels as the corpus scorer does (SHARED/tools/score.py `matches`). A
labelled fact that extraction misses is caught by the safety net when one of the
notice's leads resolved the same day as the fact's key date (a downtime's start or
end, a due date, a retention date). Recall = caught / missed.

With today's extractor few labelled facts are missed, so the script also asks the
counterfactual: for each labelled fact that extraction found, had it been left out (the
same notice classified, that one fact dropped), would a lead on its day have appeared?
That is the safety net's recall for the facts a cautious extractor might drop. A dropped fact
the arbiter makes again from its own rules (classify.arbiter) is counted apart
(`dropped_remade_by_arbiter`); `counterfactual_recall_with_arbiter` counts both.

Run: python bench/leads.py [SHARED_DIR] [--json] [--verbose]
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

KEY_DATES = {"downtime": ("start", "end"), "designation": ("due",), "deadline": ("due",), "retention": ("at",),
             "credential": ("due",)}


def _scorer(shared: Path):
    spec = importlib.util.spec_from_file_location("score", shared / "tools" / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_ALSO_DAY = re.compile(r"; also (\d{4}-\d\d-\d\d):")


def _days_of(leads) -> set[str]:
    """The days a notice's leads name: each lead's day, and the other days its reason lists
    (a lead is one sentence; "...; also 2026-05-09: no cue" names a second undecided date)."""
    days = {str(lead.when)[:10] for lead in leads if lead.when is not None}
    return days | {day for lead in leads for day in _ALSO_DAY.findall(lead.reason)}


def measure(shared: Path, verbose: bool = False) -> dict:
    from caltac_inbox.classify import classify_with_leads
    from caltac_inbox.classify.arbiter import arbiter_facts, decide, leads_of
    from caltac_inbox.classify.context import Context
    from caltac_inbox.parse import parse_message

    score = _scorer(shared)
    corpus = shared / "corpus"
    labels = [json.loads(line) for line in (corpus / "labels.jsonl").read_text().splitlines() if line.strip()]
    notices = leads_total = missed = caught = labelled = found_facts = dropped_caught = dropped_remade = 0
    reasons: Counter[str] = Counter()
    per_notice: list[int] = []
    for row in labels:
        path = corpus / row["file"]
        notice = parse_message(path.read_bytes(), str(path))
        facts, leads = classify_with_leads(notice)
        notices += 1
        leads_total += len(leads)
        per_notice.append(len(leads))
        reasons.update(lead.reason for lead in leads)
        predicted = [f.to_json() for f in facts]
        used: set[int] = set()
        lead_days = _days_of(leads)
        for fact in row.get("facts", []):
            labelled += 1
            hit = next((i for i, p in enumerate(predicted) if i not in used and score.matches(fact, p)), None)
            if hit is not None:
                used.add(hit)
                found_facts += 1
                kept = [f for i, f in enumerate(facts) if i != hit]
                ctx = Context.of(notice)
                days = {str(fact[k])[:10] for k in KEY_DATES.get(fact["kind"], ()) if fact.get(k)}
                decisions = decide(ctx, kept)
                new_leads = set(leads_of(ctx, decisions)) - set(leads)
                remade = {str(f.due or f.at or f.start)[:10] for f in arbiter_facts(decisions)}
                dropped_caught += bool(days & _days_of(new_leads))
                dropped_remade += bool(days & remade) and not days & _days_of(new_leads)
                continue
            missed += 1
            days = {str(fact[k])[:10] for k in KEY_DATES.get(fact["kind"], ()) if fact.get(k)}
            found = bool(days & lead_days)
            caught += found
            if verbose:
                print(f"{'CAUGHT' if found else 'MISSED'} {row['file']}: {json.dumps(fact)}", file=sys.stderr)
    per_notice.sort()
    return {
        "notices": notices,
        "leads": leads_total,
        "leads_per_notice": round(leads_total / notices, 2) if notices else 0.0,
        "median_leads_per_notice": per_notice[len(per_notice) // 2] if per_notice else 0,
        "max_leads_per_notice": per_notice[-1] if per_notice else 0,
        "notices_without_leads": sum(1 for n in per_notice if n == 0),
        "reasons": dict(reasons.most_common()),
        "labelled_facts": labelled,
        "missed_by_extract": missed,
        "missed_found_as_leads": caught,
        "safety_net_recall": round(caught / missed, 3) if missed else None,
        "found_by_extract": found_facts,
        "dropped_found_as_leads": dropped_caught,
        "counterfactual_recall": round(dropped_caught / found_facts, 3) if found_facts else None,
        "dropped_remade_by_arbiter": dropped_remade,
        "counterfactual_recall_with_arbiter": (round((dropped_caught + dropped_remade) / found_facts, 3)
                                               if found_facts else None),
    }


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    shared = Path(args[0] if args else os.environ.get("CALTAC_SHARED") or Path(__file__).resolve().parents[2] / "shared")
    result = measure(shared, verbose="--verbose" in argv)
    if "--json" in argv:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
