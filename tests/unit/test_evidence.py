"""The notices part of an .ics DESCRIPTION: each wording once, at most five notices, 4 KB."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from caltac_inbox.export.evidence import (DESCRIPTION_LIMIT, SHORTENED, escaped_size, fit, normalized_evidence,
                                          sources_lines, wordings)
from caltac_inbox.timeline.entry import SourceRef

LA = ZoneInfo("America/Los_Angeles")
SENT = datetime(2020, 7, 15, 12, 39, tzinfo=LA)
SUBJECT = "CAASPP: Preparing to Transition to the 2020-21 Administration"
SENTENCE = "3. Download the 2017\u20132018 student data file for the LEA\u2019s records."


def ref(n: int, evidence: str = SENTENCE, *, forwarded_by: str | None = None, subject: str = SUBJECT,
        sent: datetime | None = SENT) -> SourceRef:
    return SourceRef(fact_id=n, message_pk=n, message_id=f"<m{n}@x>", subject=subject, sent=sent,
                     forwarded_by=forwarded_by, evidence=evidence, unverified=False)


def samples_transition_sources() -> list[SourceRef]:
    """What samples/2020-07-15-* give one entry: the notice, a forward of it, its HTML copy
    (whose text extraction spells the dash, apostrophe and spaces its own way)."""
    return [
        ref(1),
        ref(2, forwarded_by="dhuang@district.k12.ca.us"),
        ref(3, "3.  Download the 2017-2018 student data file\nfor the LEA's records."),
    ]


def test_one_sentence_from_a_notice_its_forward_and_its_html_copy_is_quoted_once():
    text = "\n".join(sources_lines(samples_transition_sources()))
    assert text.count("student data file") == 1
    assert text.strip().splitlines() == [
        f"Notice: {SUBJECT} (sent 2020-07-15 12:39)",
        f"\u201c{SENTENCE}\u201d",
        "Also in: forward from dhuang@district.k12.ca.us on 2020-07-15 12:39",
        "Also in: another copy on 2020-07-15 12:39",
    ]


def test_other_wordings_are_each_quoted_with_their_own_notice():
    sources = [ref(1), ref(2, "TOMS keeps three years of data.", subject="Spotlight 8",
                           sent=SENT + timedelta(days=3)),
               ref(3, forwarded_by="a@b.org", subject="Fwd copy", sent=SENT + timedelta(days=5))]
    lines = sources_lines(sources)
    assert [line for line in lines if line.startswith("Notice: ")] == [
        f"Notice: {SUBJECT} (sent 2020-07-15 12:39)", "Notice: Spotlight 8 (sent 2020-07-18 12:39)"]
    assert "\u201cTOMS keeps three years of data.\u201d" in lines
    # the forward follows the sentence it repeats, and names its subject of its own
    assert lines[lines.index(f"\u201c{SENTENCE}\u201d") + 1] == (
        "Also in: forward from a@b.org of \u201cFwd copy\u201d on 2020-07-20 12:39")


def test_repeats_follow_the_sentence_they_repeat():
    sources = [ref(1), ref(2, "Another sentence."), ref(3, forwarded_by="x@y.org")]
    lines = [line for line in sources_lines(sources) if line]
    assert lines == [
        f"Notice: {SUBJECT} (sent 2020-07-15 12:39)", f"\u201c{SENTENCE}\u201d",
        "Also in: forward from x@y.org on 2020-07-15 12:39",
        f"Notice: {SUBJECT} (sent 2020-07-15 12:39)", "\u201cAnother sentence.\u201d",
    ]


def test_at_most_five_notices_then_how_many_more():
    sources = [ref(n, forwarded_by=f"person{n}@district.org") for n in range(1, 13)]
    lines = sources_lines(sources)
    named = [line for line in lines if line.startswith(("Notice: ", "Also in: "))]
    assert len(named) == 5
    assert lines[-1] == "And 7 more notices saying the same."


def test_each_wording_is_shown_before_any_repeat_and_the_rest_are_counted():
    sources = [ref(n, f"Sentence number {n}.") for n in range(1, 8)] + [ref(8, "Sentence number 1.")]
    lines = sources_lines(sources)
    assert [line for line in lines if line.startswith("\u201c")] == [
        f"\u201cSentence number {n}.\u201d" for n in range(1, 6)]
    assert not any(line.startswith("Also in: ") for line in lines)
    assert lines[-1] == "And 3 more notices (2 worded differently)."


def test_one_more_notice_is_singular():
    sources = [ref(n, sent=SENT + timedelta(days=n)) for n in range(1, 7)]
    assert sources_lines(sources)[-1] == "And 1 more notice saying the same."


def test_no_count_when_every_notice_is_named():
    assert not any(line.startswith("And ") for line in sources_lines([ref(n) for n in range(1, 60)]))


def test_undated_notice_and_missing_subject():
    lines = sources_lines([ref(1, subject=None, sent=None), ref(2, subject=None, sent=None)])
    assert lines[1] == "Notice: (no subject) (sent an unknown date)"
    assert lines[-1] == "Also in: another copy on an unknown date"


@pytest.mark.parametrize("a,b", [
    ("The file\u2019s \u201cdata\u201d \u2013 removed.", "The file's \"data\" - removed."),
    ("Systems  are\n down\u00a0Friday.", "systems are down friday."),
    ("\uff34OMS", "TOMS"),  # a full-width letter from an HTML part
])
def test_normalized_evidence_ignores_typography_case_and_spacing(a, b):
    assert normalized_evidence(a) == normalized_evidence(b)


def test_normalized_evidence_keeps_words_and_numbers_apart():
    assert normalized_evidence("removed on August 14") != normalized_evidence("removed on August 15")


def test_wordings_keep_the_first_quote_and_the_order():
    groups = wordings(samples_transition_sources() + [ref(4, "Other.")])
    assert [g.evidence for g in groups] == [SENTENCE, "Other."]
    assert [[s.fact_id for s in g.sources] for g in groups] == [[1, 2, 3], [4]]


@pytest.mark.parametrize("text", ["plain", "commas, semicolons; back\\slash\nand lines", "é€😀"])
def test_escaped_size_is_the_size_icalendar_writes(text):
    event = icalendar.Event()
    event.add("description", text)
    line = event.to_ical().decode("utf-8").replace("\r\n ", "").split("\r\n")[1]
    assert line.startswith("DESCRIPTION:")
    assert escaped_size(text) == len(line.removeprefix("DESCRIPTION:").encode("utf-8"))


def test_fit_keeps_text_within_the_limit():
    text = "short, text"
    assert fit(text) == text
    exact = "x" * DESCRIPTION_LIMIT
    assert fit(exact) == exact


@pytest.mark.parametrize("unit", ["a", "é", "€,", "😀\n", "\\;"])
def test_fit_cuts_between_characters_and_marks_the_cut(unit):
    text = unit * 5000
    fitted = fit(text)
    assert escaped_size(fitted) <= DESCRIPTION_LIMIT
    assert escaped_size(fitted) > DESCRIPTION_LIMIT - escaped_size(SHORTENED) - 2 * escaped_size(unit) - 1
    assert fitted.endswith(SHORTENED)
    assert text.startswith(fitted.removesuffix(SHORTENED))
    fitted.encode("utf-8")  # whole characters only (a split surrogate pair would not encode)


def test_fit_refuses_a_limit_smaller_than_its_marker():
    with pytest.raises(ValueError):
        fit("x" * 100, limit=10)


def test_a_direct_notice_leads_its_forwards():
    sources = [ref(1, forwarded_by="fwd@district.org"), ref(2)]
    lines = [line for line in sources_lines(sources) if line]
    assert lines == [f"Notice: {SUBJECT} (sent 2020-07-15 12:39)", f"\u201c{SENTENCE}\u201d",
                     "Also in: forward from fwd@district.org on 2020-07-15 12:39"]
    only_forwards = [ref(1, forwarded_by="a@x.org"), ref(2, forwarded_by="b@x.org")]
    assert [line for line in sources_lines(only_forwards) if line][:2] == [
        f"Notice: {SUBJECT} (sent 2020-07-15 12:39)", "Forwarded by a@x.org"]


def test_copies_that_read_alike_share_a_line_with_their_count():
    sources = ([ref(1)] + [ref(n, forwarded_by="talvarez@district.org") for n in range(2, 300)]
               + [ref(n, sent=SENT + timedelta(minutes=n)) for n in range(300, 310)])
    lines = [line for line in sources_lines(sources) if line]
    assert lines[2] == "Also in: forward from talvarez@district.org on 2020-07-15 12:39 (298 messages)"
    assert lines[3:] == [f"Also in: another copy on {(SENT + timedelta(minutes=n)):%Y-%m-%d %H:%M}"
                         for n in range(300, 303)] + ["And 7 more notices saying the same."]


def _normalized_as_before(text: str) -> str:
    """normalized_evidence before its ASCII shortcut (the oracle)."""
    import re
    import unicodedata

    from caltac_inbox.export.evidence import _SAME_CHARACTER

    text = unicodedata.normalize("NFKC", text).translate(_SAME_CHARACTER).casefold()
    return re.sub(r"\s+", " ", text).strip()


def test_normalized_evidence_of_ascii_and_other_text_is_what_the_full_normalization_gives():
    import random

    rng = random.Random(28)
    alphabet = "aZ 09.,;'\"-\t\n\r\x0b\x0c\x1c\x1f\x7f\u00a0\u2019\u201c\u2013\u2212\ufb01\u2126\u00c5K\u0130\u017f\u2000"
    texts = [SENTENCE, "  ASCII\tonly\n text. ", "", "\x1c\x1d\x1e\x1f", "\ufb01le \u2126"]
    texts += ["".join(rng.choice(alphabet[:14] if i % 2 else alphabet) for _ in range(rng.randrange(40)))
              for i in range(3000)]
    for text in texts:
        assert normalized_evidence(text) == _normalized_as_before(text), repr(text)


def test_wordings_of_one_source_or_repeated_quotes_are_the_grouping_by_normalized_quote():
    sources = samples_transition_sources()
    for chosen in ([sources[2]], [sources[0], ref(4)], sources, [*sources, ref(5, forwarded_by="a@b.org")],
                   sources[::-1]):
        groups: dict[str, list[SourceRef]] = {}
        for source in chosen:
            groups.setdefault(_normalized_as_before(source.evidence), []).append(source)
        expected = [(next((s for s in g if not s.forwarded_by), g[0]).evidence, len(g)) for g in groups.values()]
        assert [(w.evidence, len(w.sources)) for w in wordings(chosen)] == expected
