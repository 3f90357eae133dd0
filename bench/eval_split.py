"""Extraction scores on fixed parts of the labelled corpus, for first-sight checks.

Sets (all fixed, so two runs on two commits compare):
- all: every labelled notice;
- new28: the 28 notices appended last to labels.jsonl (the earlier blind set, issue 23);
- A / B: the notices in file-name order, A the even positions (0, 2, ...), B the odd ones.
  Develop on one half, look at the other only to measure it.

For each set: F1, precision, recall, F1 per kind, deadline recall, facts right but for the
year, and the wording of matched actions, as SHARED/tools/score.py computes them.

Run: python bench/eval_split.py [--shared DIR] [--predictions FILE] [--sets all,new28,A,B]
Without --predictions it runs `caltac-inbox extract SHARED/corpus --json` (the one in this
virtualenv) once and scores its output.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

NEW_NOTICES = 28  # labels.jsonl grew in three batches; the last 28 lines are the newest notices
KINDS = ("credential", "deadline", "designation", "downtime", "retention")


def _scorer(shared: Path) -> Any:
    spec = importlib.util.spec_from_file_location("score", shared / "tools" / "score.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def corpus_sets(labels: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_name = sorted(labels, key=lambda row: row["file"])
    return {
        "all": labels,
        "new28": labels[-NEW_NOTICES:],
        "A": by_name[0::2],
        "B": by_name[1::2],
    }


def score_set(scorer: Any, rows: list[dict[str, Any]], predictions: Path) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            result = scorer.main([handle.name, str(predictions), "--json"])
    finally:
        os.unlink(handle.name)
    text = printed.getvalue()
    wrong_years = int(text.split("facts right but for the year ")[1].split()[0])
    wording = None
    if "wording (token F1, matched deadline+retention facts) " in text:
        wording = float(text.split("matched deadline+retention facts) ")[1].split()[0])
    facts = sum(len(row.get("facts", [])) for row in rows)
    return {"notices": len(rows), "facts": facts, "scores": result, "wrong_years": wrong_years,
            "wording": wording}


def _row(name: str, s: dict[str, Any]) -> str:
    scores = s["scores"]
    every = scores["ALL"]
    kinds = " ".join(f"{k[:5]} {scores[k]['f1']:.3f}" if k in scores else f"{k[:5]}   -  " for k in KINDS)
    deadline_recall = f"{scores['deadline']['r']:.3f}" if "deadline" in scores else "  -  "
    wording = f"{s['wording']:.3f}" if s["wording"] is not None else "  -  "
    return (f"{name:6} {s['notices']:3} {s['facts']:4} {every['f1']:.3f} {every['p']:.3f} {every['r']:.3f} "
            f"{deadline_recall:>6} {s['wrong_years']:3} {wording:>6}  {kinds}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", default=os.environ.get("CALTAC_SHARED", "../shared"))
    parser.add_argument("--predictions", help="extract --json output to score instead of running extract")
    parser.add_argument("--sets", default="all,new28,A,B")
    parser.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    args = parser.parse_args(argv)
    shared = Path(args.shared)
    corpus = shared / "corpus"
    labels = [json.loads(line) for line in (corpus / "labels.jsonl").read_text().splitlines() if line.strip()]
    scorer = _scorer(shared)
    with tempfile.TemporaryDirectory() as tmp:
        predictions = Path(args.predictions) if args.predictions else Path(tmp) / "corpus.jsonl"
        if not args.predictions:
            cli = Path(sys.executable).with_name("caltac-inbox")
            with predictions.open("w") as out:
                subprocess.run([str(cli), "extract", str(corpus), "--json"], stdout=out, check=False)
        sets = corpus_sets(labels)
        results = {name: score_set(scorer, sets[name], predictions) for name in args.sets.split(",")}
    if args.json:
        print(json.dumps(results))
        return 0
    print("set    msg facts F1    P     R     dl-R  wy  words  F1 per kind")
    for name, s in results.items():
        print(_row(name, s))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
