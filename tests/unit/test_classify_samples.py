"""Every fact classified from the sample notices quotes its evidence from the notice text."""
from pathlib import Path

import pytest

from caltac_inbox.classify import classify
from caltac_inbox.classify.text import collapse
from caltac_inbox.model import FACT_KINDS
from caltac_inbox.parse import parse_message

SAMPLES = sorted(Path(__file__).resolve().parents[2].joinpath("samples").glob("*.eml"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_evidence_is_verbatim_and_kinds_are_known(path):
    notice = parse_message(path.read_bytes(), str(path))
    facts = classify(notice)
    assert facts, "every sample notice carries at least one fact"
    text = collapse(notice.text)
    for f in facts:
        assert f.kind in FACT_KINDS
        assert f.evidence and all(collapse(piece) in text for piece in f.evidence.split(" … "))
