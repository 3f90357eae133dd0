"""The samples reproduce their golden expectations (samples/expected.jsonl) in every shape.

Parse-level checks (sender, sent, subject, forwarded_by, key sentences) and fact-level
checks (every labelled fact, no extra facts; matching as in ../shared/tools/score.py)
are separate tests, so a classifier regression never hides a parser one.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from caltac_inbox.parse import parse_message
from tests.shared import SHARED, needs_shared

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
SEEDS = SHARED / "seeds"
EXPECTED = [json.loads(line) for line in (SAMPLES / "expected.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]

# --- matching rule copied from ../shared/tools/score.py (same / matches / KEYS) ---
KEYS = {"downtime": ("start", "end"), "designation": ("due",), "deadline": ("due",),
        "retention": ("at",), "credential": ("school_year",)}


def same(label_val, pred_val) -> bool:
    if label_val is None:
        return True
    if pred_val is None:
        return False
    if isinstance(label_val, str) and len(label_val) == 10 and label_val[4] == "-":
        try:
            date.fromisoformat(label_val)
            return str(pred_val)[:10] == label_val
        except ValueError:
            pass
    if isinstance(label_val, str) and "T" in label_val:
        try:
            return datetime.fromisoformat(label_val) == datetime.fromisoformat(str(pred_val))
        except ValueError:
            return False
    return str(label_val).strip().lower() == str(pred_val).strip().lower()


def matches(lab, pred) -> bool:
    if lab.get("kind") != pred.get("kind"):
        return False
    return all(same(lab.get(k), pred.get(k)) for k in KEYS.get(lab["kind"], ()))
# --- end of copied logic ---


def ids(row: dict) -> str:
    return row["file"]


def test_every_sample_has_expectations_and_vice_versa():
    on_disk = sorted(p.name for p in SAMPLES.glob("*.eml"))
    assert on_disk == sorted(row["file"] for row in EXPECTED)
    assert len(on_disk) >= 10
    shapes = {name.removesuffix(".eml").rsplit("-", 1)[-1] for name in on_disk}
    assert {"forwarded", "html", "attached"} <= shapes


@pytest.mark.parametrize("row", EXPECTED, ids=ids)
def test_sample_parses_to_its_original_notice(row):
    raw = (SAMPLES / row["file"]).read_bytes()
    notice = parse_message(raw, row["file"], authserv_ids=("mx.district.k12.ca.us",),
                           trusted_forwarders=("district.k12.ca.us",))
    assert notice.sender == row["sender"]
    assert notice.sent is not None and notice.sent == datetime.fromisoformat(row["sent"])
    assert notice.sent.isoformat() == row["sent"]
    assert notice.subject == row["subject"]
    assert notice.forwarded_by == row["forwarded_by"]
    assert notice.authenticated is row["authenticated"]
    for sentence in row["text_contains"]:
        assert sentence in notice.text
    if row["forwarded_by"]:
        # a colleague's forward is verified only when the colleague is a trusted forwarder
        untrusted = parse_message(raw, row["file"], authserv_ids=("mx.district.k12.ca.us",))
        assert untrusted.authenticated is (False if row["authenticated"] else row["authenticated"])
        assert notice.forward_note and notice.forward_note not in notice.text
        assert "From:" not in notice.text and "Sent:" not in notice.text
    else:
        assert notice.forward_note == ""
    assert "**" not in notice.text and "](" not in notice.text  # markdown stripped


def test_all_shapes_of_a_notice_give_the_same_text():
    by_seed: dict[str, set[str]] = {}
    for row in EXPECTED:
        text = parse_message((SAMPLES / row["file"]).read_bytes(), row["file"]).text
        by_seed.setdefault(row["seed"], set()).add(text)
    assert all(len(texts) == 1 for texts in by_seed.values()), {k: len(v) for k, v in by_seed.items()}


@pytest.mark.parametrize("row", [r for r in EXPECTED if "-html" not in r["file"] and "-attached" not in r["file"]], ids=ids)
def test_html_part_alone_gives_the_same_notice(row):
    """Drop the text/plain alternative: the HTML rendering (Outlook forward block included) must agree."""
    from email import message_from_bytes, policy

    raw = (SAMPLES / row["file"]).read_bytes()
    msg = message_from_bytes(raw, policy=policy.default)
    msg.set_payload([p for p in msg.get_payload() if p.get_content_type() == "text/html"])
    from_html = parse_message(msg.as_bytes(), row["file"])
    from_plain = parse_message(raw, row["file"])
    assert from_html.html is True and from_plain.html is False
    assert (from_html.sender, from_html.sent, from_html.subject, from_html.forwarded_by) == (
        from_plain.sender, from_plain.sent, from_plain.subject, from_plain.forwarded_by)
    assert from_html.text == from_plain.text
    assert from_html.forward_note == from_plain.forward_note


@needs_shared("seeds", "labels.jsonl")
def test_samples_rebuild_byte_for_byte(tmp_path, monkeypatch):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("build_samples", SAMPLES / "build_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "build_samples", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    written = module.build(SEEDS, tmp_path)
    for name in [*written, "expected.jsonl"]:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


@pytest.mark.parametrize("row", EXPECTED, ids=ids)
def test_sample_gives_exactly_its_labelled_facts(row):
    """Needs the classifiers (caltac_inbox.classify); fails until they are complete."""
    from caltac_inbox.pipeline import extract
    from caltac_inbox.sources.files import iter_paths

    [extraction] = list(extract(iter_paths([str(SAMPLES / row["file"])])))
    out = extraction.to_json()
    assert out.get("error") is None
    assert out["sender"] == row["sender"] and out["forwarded_by"] == row["forwarded_by"]
    predicted = out["facts"]
    used: set[int] = set()
    missing = []
    for label in row["facts"]:
        hit = next((i for i, p in enumerate(predicted) if i not in used and matches(label, p)), None)
        if hit is None:
            missing.append(label)
        else:
            used.add(hit)
    extra = [p for i, p in enumerate(predicted) if i not in used]
    assert not missing and not extra, {"missing": missing, "extra": extra}
    assert out["kinds"] == sorted(set(row["kinds"]))
