"""sources.files.iter_paths: .eml files, directories, mbox, Maildir, stdin, bad paths."""
from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import pytest

from caltac_inbox.model import RawMessage
from caltac_inbox.sources import files
from caltac_inbox.sources.files import SourceError, iter_paths
from tests.shared import SHARED, needs_shared

REPO = Path(__file__).resolve().parents[2]
CORPUS = SHARED / "corpus"


def message(n: int, body: str = "Dear LEA Coordinator:\n") -> bytes:
    return (
        f"From: CalTAC <CalTAC@info.ets.org>\nSubject: Notice {n}\n"
        f"Date: Tue, 03 Sep 2019 10:33:00 -0700\n\n{body}"
    ).encode()


def mbox_of(*messages: bytes) -> bytes:
    return b"".join(b"From MAILER-DAEMON Tue Sep  3 10:33:00 2019\n" + m + b"\n" for m in messages)


def items(*paths: str, stdin: io.BytesIO | None = None) -> list[RawMessage | SourceError]:
    return list(iter_paths(list(paths), stdin=stdin))


def test_single_eml_file(tmp_path):
    p = tmp_path / "a.eml"
    p.write_bytes(message(1))
    assert items(str(p)) == [RawMessage(raw=message(1), source=str(p))]


def test_directory_is_recursive_sorted_and_skips_non_mail(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.eml").write_bytes(message(2))
    (tmp_path / "a.eml").write_bytes(message(1))
    (tmp_path / "c").write_bytes(message(3))  # no extension, looks like mail: counts
    (tmp_path / "labels.jsonl").write_text('{"file": "a.eml"}\n')
    (tmp_path / "notes.txt").write_text("From: not a message, just notes\n")
    (tmp_path / "README").write_text("Some words about these files.\n")  # no extension, not mail
    (tmp_path / ".hidden.eml").write_bytes(message(9))
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.eml").write_bytes(message(9))
    got = items(str(tmp_path))
    mail = [i for i in got if isinstance(i, RawMessage)]
    assert [i.source for i in mail] == [str(tmp_path / "a.eml"), str(tmp_path / "b" / "2.eml"), str(tmp_path / "c")]
    # the others are reported as skipped (issue 25), not passed over in silence
    skipped = [i for i in got if not isinstance(i, RawMessage)]
    assert all(isinstance(i, SourceError) and i.skipped and "not mail" in i.message for i in skipped)
    assert sorted(i.source for i in skipped) == sorted(str(tmp_path / n) for n in ("README", "labels.jsonl",
                                                                                   "notes.txt"))


def test_directory_without_mail_is_one_source_error(tmp_path):
    (tmp_path / "labels.jsonl").write_text("{}\n")
    (tmp_path / "notes.txt").write_text("hello\n")
    got = items(str(tmp_path))
    assert all(isinstance(i, SourceError) for i in got)
    assert [i.skipped for i in got] == [True, True, False]
    assert got[-1].source == str(tmp_path) and "no mail" in got[-1].message


def test_mbox_file_streams_each_message(tmp_path):
    body_with_from = "Line one\n>From the desk of CalTAC\n"
    p = tmp_path / "inbox.mbox"
    p.write_bytes(mbox_of(message(1), message(2, "Hi\nFrom the field: no split without a blank line\n"), message(3, body_with_from)))
    got = items(str(p))
    assert [i.source for i in got] == [f"{p}#1", f"{p}#2", f"{p}#3"]
    assert got[0].raw == message(1)
    assert b"From the field: no split" in got[1].raw
    assert b"\nFrom the desk of CalTAC\n" in got[2].raw  # mboxrd ">From " unquoted


def test_mbox_without_extension_in_a_directory(tmp_path):
    (tmp_path / "Inbox").write_bytes(mbox_of(message(1), message(2)))
    got = items(str(tmp_path))
    assert [i.source for i in got] == [f"{tmp_path / 'Inbox'}#1", f"{tmp_path / 'Inbox'}#2"]


def test_mbox_is_read_lazily():
    consumed = []

    def lines():
        for n in range(1, 1000):
            consumed.append(n)
            yield b"From x Tue Sep  3 10:33:00 2019\n"
            yield from io.BytesIO(message(n) + b"\n")

    stream = files._mbox_messages(lines(), "big.mbox")
    first = next(stream)
    assert first.source == "big.mbox#1" and first.raw == message(1)
    assert len(consumed) == 2  # only read up to the start of message 2


def test_maildir(tmp_path):
    md = tmp_path / "Mail"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    (md / "cur" / "1700000000.1.host:2,S").write_bytes(message(1))
    (md / "new" / "1700000001.2.host").write_bytes(message(2))
    (md / "tmp" / "1700000002.3.host").write_bytes(message(3))  # still being delivered
    sub = md / ".Archive"
    for s in ("cur", "new", "tmp"):
        (sub / s).mkdir(parents=True)
    (sub / "cur" / "1600000000.4.host:2,S").write_bytes(message(4))
    got = items(str(md))
    assert [i.raw for i in got] == [message(1), message(2), message(4)]
    assert got[0].source == str(md / "cur" / "1700000000.1.host:2,S")


def test_stdin_one_message():
    got = items("-", stdin=io.BytesIO(message(1)))
    assert got == [RawMessage(raw=message(1), source="-")]


def test_stdin_mbox():
    got = items("-", stdin=io.BytesIO(mbox_of(message(1), message(2))))
    assert [(i.source, i.raw) for i in got] == [("-#1", message(1)), ("-#2", message(2))]


def test_stdin_empty():
    got = items("-", stdin=io.BytesIO(b""))
    assert len(got) == 1 and isinstance(got[0], SourceError) and got[0].source == "-"


def test_bad_paths_are_reported_and_the_rest_processed(tmp_path):
    good = tmp_path / "good.eml"
    good.write_bytes(message(1))
    pdf = tmp_path / "scores.pdf"
    pdf.write_bytes(b"%PDF-1.7\n\x00\x01\x02binary")
    empty = tmp_path / "empty.mbox"
    empty.write_bytes(b"")
    got = items(str(tmp_path / "missing.eml"), str(pdf), str(empty), str(good))
    assert [type(i).__name__ for i in got] == ["SourceError", "SourceError", "SourceError", "RawMessage"]
    assert "no such file" in got[0].message
    assert "not a mail file" in got[1].message
    assert "empty" in got[2].message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_unreadable_file(tmp_path):
    p = tmp_path / "secret.eml"
    p.write_bytes(message(1))
    p.chmod(0)
    got = items(str(p))
    assert isinstance(got[0], SourceError) and "cannot read" in got[0].message


def test_unreadable_file_simulated(tmp_path, monkeypatch):
    p = tmp_path / "a.eml"
    p.write_bytes(message(1))

    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    got = items(str(p))
    assert got == [SourceError(str(p), "cannot read: permission denied")]


def test_source_error_is_a_frozen_dataclass():
    err = SourceError("x", "y")
    with pytest.raises(dataclasses.FrozenInstanceError):
        err.message = "z"  # type: ignore[misc]


@needs_shared("corpus")
def test_corpus_directory():
    got = [i for i in items(str(CORPUS)) if not (isinstance(i, SourceError) and i.skipped)]
    names = sorted(p.name for p in CORPUS.glob("*.eml"))
    assert len(names) >= 27 and all(isinstance(i, RawMessage) for i in got)
    assert [Path(i.source).name for i in got] == names


def test_eml_with_an_mbox_from_line_is_one_message(tmp_path):
    p = tmp_path / "saved.eml"
    p.write_bytes(mbox_of(message(1)))
    got = items(str(p))
    assert len(got) == 1 and got[0].source == str(p)
    from caltac_inbox.parse import parse_message

    assert parse_message(got[0].raw, got[0].source).subject == "Notice 1"
