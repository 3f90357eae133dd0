"""Header bombs (issue 15): a 1 MB header of any shape costs the parser and the poller's
header summary a bounded amount of time and memory.

CPython's header decoding is quadratic on long values (cpython issue 136063: 420 KB of
encoded words took 4.2 GB), so each shape runs in a child process with its address space
capped, which measures its own peak RSS growth and time.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MB = 1_000_000
SECONDS = 3.0
EXTRA_MB = 100  # peak RSS growth allowed for one 1 MB message
ADDRESS_SPACE = 3 * 2**30  # today's code would take tens of GB

# The child builds one message of a shape, then reads it as `what` says.
CHILD = r"""
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[4]), int(sys.argv[4])))
from tests.system.test_header_bomb import message
from caltac_inbox.parse import parse_message
from caltac_inbox.sources.imap import summarize_headers
shape, size, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
raw = message(shape, size)
head = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
parse_message(b"From: a@ets.org\r\nSubject: warm-up\r\n\r\nx\r\n", "warm.eml")
summarize_headers(b"From: a@ets.org\r\nSubject: warm-up\r\n\r\n")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    if what == "parse":
        notice = parse_message(raw, "bomb.eml")
        result = {"sender": notice.sender, "subject": (notice.subject or "")[:40]}
    else:
        summary = summarize_headers(head)
        result = {"sender": summary and summary.sender, "subject": summary and summary.subject[:40]}
except MemoryError:
    result = {"error": "MemoryError"}
except Exception as exc:
    result = {"error": type(exc).__name__ + ": " + str(exc)[:100]}
seconds = time.perf_counter() - start
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"seconds": seconds, "peak_growth_mb": grown / 1024, **result}))
"""

WORD = b"=?utf-8?q?caaspp_=C3=A9?= "
HEAD = b"To: c@district.example\r\nDate: Tue, 14 Jul 2020 09:00:00 -0700\r\nMessage-ID: <bomb@ets.org>\r\n"
BODY = b"CAASPP systems will be unavailable.\r\n"


def _words(size: int, sep: bytes = b" ") -> bytes:
    word = WORD.rstrip() + sep
    return (word * (size // len(word) + 1))[:size]


def message(shape: str, size: int) -> bytes:
    """A message whose `shape` part is about `size` bytes long."""
    sender = b"From: CalTAC <caltac@ets.org>\r\n"
    if shape == "subject":
        return HEAD + sender + b"Subject: " + _words(size) + b"\r\n\r\n" + BODY
    if shape == "folded-subject":
        return HEAD + sender + b"Subject: " + _words(size, b"\r\n ") + b"\r\n\r\n" + BODY
    if shape == "from":
        return HEAD + b"Subject: hi\r\nFrom: " + _words(size) + b"<caltac@ets.org>\r\n\r\n" + BODY
    if shape == "content-type-params":
        return (HEAD + sender + b"Subject: hi\r\nContent-Type: text/plain; "
                + b"a=b; " * (size // 5) + b"\r\n\r\n" + BODY)
    if shape == "many-fields":
        fields = b"".join(b"X-F%d: =?utf-8?q?a?=\r\n" % i for i in range(size // 20))
        return HEAD + sender + b"Subject: hi\r\n" + fields + b"\r\n" + BODY
    if shape == "attached-subject":
        inner = b"From: caltac@ets.org\r\nSubject: " + _words(size) + b"\r\n\r\n" + BODY
        return (HEAD + b"From: colleague@district.example\r\nSubject: FW: notice\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nFYI\r\n"
                b"--XX\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--XX--\r\n")
    if shape == "part-content-type":
        return (HEAD + sender + b"Subject: hi\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: multipart/alternative; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain; "
                + b"a=b; " * (size // 5) + b"\r\n\r\n" + BODY + b"--XX--\r\n")
    raise ValueError(shape)


SHAPES = ["subject", "folded-subject", "from", "content-type-params", "many-fields", "attached-subject",
          "part-content-type"]


def measure(shape: str, size: int, what: str, timeout: float = 60) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, shape, str(size), what, str(ADDRESS_SPACE)],
                              capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"seconds": timeout, "peak_growth_mb": None, "error": f"still running after {timeout} s"}
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


# the poller's header summary reads only the outer header block
CASES = [(shape, "parse") for shape in SHAPES] + [
    (shape, "summary") for shape in SHAPES if shape not in ("attached-subject", "part-content-type")]


@pytest.mark.parametrize(("shape", "what"), CASES)
def test_a_1_mb_header_costs_little_time_and_memory(shape, what):
    result = measure(shape, MB, what, timeout=6 * SECONDS)
    assert "error" not in result, result
    assert result["seconds"] < SECONDS, result
    assert result["peak_growth_mb"] < EXTRA_MB, result


def test_a_header_bomb_still_yields_the_notice():
    from caltac_inbox.parse import parse_message

    notice = parse_message(message("subject", MB), "bomb.eml")
    assert notice.sender == "caltac@ets.org"
    assert notice.subject.startswith("caaspp é") and len(notice.subject) <= 1000
    assert "CAASPP systems will be unavailable." in notice.text
    attached = parse_message(message("attached-subject", MB), "fw.eml")
    assert attached.sender == "caltac@ets.org" and attached.forwarded_by == "colleague@district.example"


def test_bounded_cuts_length_and_encoded_words():
    from caltac_inbox.mailheaders import MAX_ENCODED_WORDS, MAX_HEADER_CHARS, bounded, decoded

    assert bounded("plain") == "plain"
    assert len(bounded("x" * (MAX_HEADER_CHARS + 10))) == MAX_HEADER_CHARS
    words = " ".join(["=?utf-8?q?a?="] * (MAX_ENCODED_WORDS + 5))
    cut = bounded(words)
    assert cut.count("=?") == MAX_ENCODED_WORDS and not cut.endswith("=")
    assert decoded("subject", words).split() == ["a" * (MAX_ENCODED_WORDS)]  # adjacent words join


def test_bound_message_cuts_every_part_in_place():
    import email

    from caltac_inbox.mailheaders import MAX_HEADER_CHARS, bound_message

    msg = bound_message(email.message_from_bytes(message("attached-subject", 50_000)))
    inner = msg.get_payload()[1].get_payload()[0]
    assert len(inner["Subject"]) <= MAX_HEADER_CHARS
    assert msg["Subject"] == "FW: notice"  # short values are left alone
