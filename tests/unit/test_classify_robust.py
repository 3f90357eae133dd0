"""classify() never raises, whatever text it is given."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from caltac_inbox.classify import classify
from caltac_inbox.model import Notice

WORDS = ["Friday,", "August", "14", "at", "5", "p.m.", "through", "Monday,", "September", "3,", "2020",
         "downtime", "TOMS", "unavailable", "-", "\n", "\n- ", "by", "must", "be", "designated", "coordinator",
         "2019–20", "removed", "during", "the", "credentials", "regenerate", "SIS", ":", "|", "noon", "–", "12/1",
         "extended", "until", "Prior", "to", "Downtime", "on"]


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=60), st.booleans())
def test_classify_never_raises(words, with_sent):
    sent = datetime(2020, 7, 15, 12, tzinfo=ZoneInfo("America/Los_Angeles")) if with_sent else None
    facts = classify(Notice(source="x", text=" ".join(words), sent=sent))
    for f in facts:
        f.to_json()


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=400))
def test_classify_never_raises_on_any_text(text):
    classify(Notice(source="x", text=text, sent=None))
