"""No single message may stall the classifier: every adversarial shape of bench/adversarial.py,
at 500 KB, parses and classifies in-process well inside a bound that a super-linear pass
(minutes at this size) cannot meet. The curves themselves are measured by `make bench`."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from adversarial import CASES, message  # noqa: E402

SIZE = 500_000
BOUND_SECONDS = 30  # linear code takes 0.1-2 s here; the quadratic passes this replaced took minutes


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_adversarial_shape_is_classified_in_bounded_time(case):
    from caltac_inbox.classify import classify_with_leads
    from caltac_inbox.parse import parse_message

    raw = message(CASES[case](SIZE))
    t0 = time.process_time()
    classify_with_leads(parse_message(raw, "adversarial.eml"))
    assert time.process_time() - t0 < BOUND_SECONDS, case


def test_long_sentences_and_lines_are_cut():
    from caltac_inbox.classify.text import MAX_LINE_CHARS, MAX_SENTENCE_CHARS, build_doc

    doc = build_doc("word, " * 50_000)
    assert max(s.end - s.begin for s in doc.sentences) <= MAX_SENTENCE_CHARS
    assert max(ln.end - ln.begin for ln in doc.lines) <= MAX_LINE_CHARS
    # nothing is lost: the cut pieces cover the line
    assert doc.sentences[0].begin == 0 and doc.sentences[-1].end == len(("word, " * 50_000).rstrip())
