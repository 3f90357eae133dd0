"""The IMAP poller's pure planning: which UIDs are new, which messages are worth a
download, the sender filter, sources. (The lock is tested in system/test_lock.py, the
real servers in system/test_imap_dovecot.py.)"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from caltac_inbox.model import Notice
from caltac_inbox.sources.imap import (
    MailboxReport,
    FolderReport,
    body_fetch_groups,
    is_candidate,
    message_source,
    new_uids,
    resume_point,
    scrub,
    search_criteria,
    sender_filter,
    sender_matches,
    sniff_is_candidate,
)

SENDERS = ("ets.org", "cde.ca.gov")
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.mark.parametrize("address, ok", [
    ("CalTAC@info.ets.org", True),
    ("do-not-reply@ets.org", True),
    ("caaspp@mlist.cde.ca.gov", True),
    ("someone@cde.ca.gov", True),
    ("phish@ets.org.evil.example", False),
    ("someone@notets.org", False),
    ("friend@gmail.com", False),
    ("", False),
    (None, False),
    ("no-at-sign", False),
])
def test_sender_domains_include_subdomains_only(address, ok):
    assert sender_matches(address, SENDERS) is ok


def test_sender_exact_address():
    senders = ("boss@district.k12.ca.us",)
    assert sender_matches("Boss@District.K12.ca.us", senders)
    assert not sender_matches("other@district.k12.ca.us", senders)


def test_sender_filter_judges_the_original_notice_of_a_trusted_forwarder():
    accept = sender_filter(SENDERS, ("district.k12.ca.us",))
    forwarded = Notice(source="x", text="", sender="CalTAC@info.ets.org", forwarded_by="colleague@district.k12.ca.us")
    colleague = Notice(source="x", text="", sender="colleague@district.k12.ca.us")
    assert accept(forwarded)
    assert not accept(colleague)
    assert not accept(Notice(source="x", text="", sender=None))


def test_sender_filter_judges_any_other_forward_by_its_outer_sender():
    outsider = Notice(source="x", text="", sender="CalTAC@info.ets.org", forwarded_by="friend@outsider.example")
    assert not sender_filter(SENDERS, ("district.k12.ca.us",))(outsider)
    assert not sender_filter(SENDERS)(outsider)
    colleague = Notice(source="x", text="", sender="CalTAC@info.ets.org", forwarded_by="colleague@district.k12.ca.us")
    assert not sender_filter(SENDERS)(colleague)  # no forwarder trusted: a colleague is an outsider too
    caltac_forward = Notice(source="x", text="", sender="CalTAC@info.ets.org", forwarded_by="helpdesk@cde.ca.gov")
    assert sender_filter(SENDERS)(caltac_forward)  # forwarded by one of the senders themselves


def headers(sender: str, subject: str | None = "Lunch", content_type: str = "text/plain") -> bytes:
    out = f"From: Someone <{sender}>\r\n"
    if subject is not None:
        out += f"Subject: {subject}\r\n"
    return (out + f"Content-Type: {content_type}\r\n\r\n").encode()


@pytest.mark.parametrize("block, ok", [
    (headers("caltac@info.ets.org"), True),
    (headers("friend@gmail.com"), False),
    (headers("colleague@district.k12.ca.us", "FW: Extended Downtime"), True),
    (headers("colleague@district.k12.ca.us", "Fwd: something"), True),
    (headers("colleague@district.k12.ca.us", "RE: FW: something"), True),
    (headers("colleague@district.k12.ca.us", "[EXTERNAL] Fw: something"), True),
    (headers("colleague@district.k12.ca.us", "=?utf-8?q?FW=3A_Downtime?="), True),
    (headers("colleague@district.k12.ca.us", "ELPAC window reminder"), True),
    (headers("colleague@district.k12.ca.us", None), True),  # a forward of a subject-less notice
    (headers("colleague@district.k12.ca.us", "notes", "multipart/mixed; boundary=x"), True),
    (headers("colleague@district.k12.ca.us", "notes", "multipart/alternative; boundary=x"), False),
    (headers("colleague@district.k12.ca.us", "The forward pass"), False),
    (b"", True),
    (None, True),
])
def test_candidates_from_headers(block, ok):
    assert is_candidate(block, SENDERS) is ok


def test_every_sample_is_a_candidate_by_headers_or_first_bytes():
    samples = sorted(SAMPLES.glob("*.eml"))
    if not samples:
        pytest.skip("samples/ not built yet")
    for path in samples:
        raw = path.read_bytes().replace(b"\r\n", b"\n")
        head, _, body = raw.partition(b"\n\n")
        assert is_candidate(head + b"\n\n", SENDERS) or sniff_is_candidate(body[:8192], SENDERS), path.name


@pytest.mark.parametrize("text, ok", [
    (b"---------- Forwarded message ---------\nFrom: CalTAC", True),
    (b"-----Original Message-----\nFrom: x", True),
    (b"From: CalTAC <caltac@info.ets.org>\r\nSent: Monday, March 18, 2019\r\n", True),
    (b"see the note from caltac@ets.org below", True),
    (b"Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8=", True),
    (b"Are we still on for lunch?", False),
    (b"", False),
    (None, False),
])
def test_sniff_of_first_body_bytes(text, ok):
    assert sniff_is_candidate(text, SENDERS) is ok


def test_search_criteria_keep_since_on_every_scan():
    assert search_criteria(0, None) == ["UID", "1:*"]
    assert search_criteria(41, None) == ["UID", "42:*"]
    assert search_criteria(0, date(2016, 1, 1)) == ["UID", "1:*", "SINCE", date(2016, 1, 1)]
    assert search_criteria(41, date(2016, 1, 1)) == ["UID", "42:*", "SINCE", date(2016, 1, 1)]


def test_new_uids_drops_the_n_star_quirk():
    # `UID 43:*` on a folder whose highest UID is 42 answers 42.
    assert new_uids([42], 42) == []
    assert new_uids([44, 43, 42, 43], 42) == [43, 44]
    assert new_uids([], 0) == []


def test_resume_point():
    assert resume_point((None, 0), 7) == (0, False)  # never polled
    assert resume_point((7, 120), 7) == (120, False)  # continue
    assert resume_point((7, 120), 9) == (0, True)  # UIDVALIDITY changed: rescan


def test_body_fetch_groups_bound_declared_bytes_and_count():
    sizes = {1: 40, 2: 50, 3: 20, 4: 500, 5: 30, 6: 100, 7: 1, 8: 1, 9: 1}
    groups = body_fetch_groups(list(sizes), sizes, budget=100, max_count=25)
    assert groups == [[1, 2], [3], [4], [5], [6], [7, 8, 9]]  # 20 + 500 and 30 + 100 are over 100
    assert [uid for group in groups for uid in group] == list(sizes)  # every UID once, in order
    for group in groups:
        assert len(group) == 1 or sum(sizes[uid] for uid in group) <= 100


def test_body_fetch_groups_keep_the_count_limit_and_fetch_unknown_sizes_alone():
    sizes = {uid: 10 for uid in range(1, 8)}
    assert body_fetch_groups(list(sizes), sizes, budget=1000, max_count=3) == [[1, 2, 3], [4, 5, 6], [7]]
    del sizes[3]  # the server did not declare it: assume the worst
    assert body_fetch_groups([1, 2, 3, 4], sizes, budget=1000, max_count=25) == [[1, 2], [3], [4]]
    assert body_fetch_groups([], {}, budget=1000, max_count=25) == []


def test_message_source_is_unique_per_uid():
    assert message_source("coordinator", "INBOX", 7, 3) == "imap://coordinator/INBOX;uidvalidity=7;uid=3"
    assert message_source("m", "Notices/CalTAC 2020", 7, 3) == "imap://m/Notices/CalTAC%202020;uidvalidity=7;uid=3"


def test_scrub():
    assert scrub("bad pass Hunter22 here", "Hunter22") == "bad pass *** here"
    assert scrub("nothing", None) == "nothing"


def test_report_lines_and_json():
    report = MailboxReport("coordinator", folders=[FolderReport("INBOX", fetched=12, new=3, facts=5)])
    assert report.summary_line() == "coordinator: fetched 12, new 3, facts 5, errors 0"
    data = report.to_json()
    assert {k: data[k] for k in ("mailbox", "fetched", "new", "facts", "errors")} == {
        "mailbox": "coordinator", "fetched": 12, "new": 3, "facts": 5, "errors": 0}
    assert data["folders"][0]["folder"] == "INBOX"


def test_fetches_are_peeks_and_nothing_writes_to_the_server():
    """Rules 1 and 10: BODY.PEEK only (EXAMINE alone would hide a BODY[] from the
    Dovecot flag test), and no call that flags, moves, copies, deletes or expunges."""
    import inspect

    import caltac_inbox.sources.imap as imap

    for item in (imap.FETCH_BODY, imap.FETCH_HEADERS, imap.FETCH_SNIFF):
        assert item.startswith(b"BODY.PEEK["), item
    assert imap.FETCH_SIZE == b"RFC822.SIZE"  # not RFC822, which sets \Seen
    source = inspect.getsource(imap)
    for call in (".add_flags(", ".set_flags(", ".remove_flags(", ".add_gmail_labels(", ".expunge(",
                 ".uid_expunge(", ".move(", ".copy(", ".delete_messages(", ".delete_folder(", "client.append(",
                 "readonly=False"):
        assert call not in source, call


def test_server_text_is_decoded_not_python_bytes():
    import imaplib

    from imapclient.exceptions import LoginError

    from caltac_inbox.sources.imap import _reason, server_text

    refused = LoginError(str(imaplib.IMAP4.error(b"[AUTHENTICATIONFAILED] Authentication failed.")))
    assert _reason(refused) == "[AUTHENTICATIONFAILED] Authentication failed."
    assert server_text("b\"it's\"") == "it's"
    assert server_text("plain words") == "plain words"
    assert server_text("b'broken") == "b'broken"


def test_a_host_that_does_not_exist_fails_at_once_without_retries(monkeypatch):
    import socket

    import imapclient

    from caltac_inbox.config import MailboxConfig
    from caltac_inbox.errors import ConnectionFailure
    from caltac_inbox.sources.imap import TransientFault, open_connection

    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(imapclient, "IMAPClient", no_such_host)
    mb = MailboxConfig(name="coordinator", host="imap.no-such-district.invalid", port=993, security="ssl",
                       username="me", password_env="X")
    with pytest.raises(ConnectionFailure, match=r"host 'imap.no-such-district.invalid' not found "
                                                r"\(Name or service not known\); check host"):
        open_connection(mb)

    def try_again(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(imapclient, "IMAPClient", try_again)
    with pytest.raises(TransientFault):
        open_connection(mb)


def test_a_large_folder_is_searched_in_uid_ranges_of_bounded_size():
    from caltac_inbox.sources.imap import (
        SEARCH_CHUNK,
        boundary_sequence_numbers,
        invalid_uid,
        uid_ranges,
    )

    assert boundary_sequence_numbers(SEARCH_CHUNK) == []  # a folder of one chunk: one search
    assert boundary_sequence_numbers(3 * SEARCH_CHUNK + 1) == [SEARCH_CHUNK, 2 * SEARCH_CHUNK, 3 * SEARCH_CHUNK]
    assert uid_ranges(0, []) == [(0, None)]
    assert uid_ranges(0, [500, 900]) == [(0, 500), (500, 900), (900, None)]
    assert uid_ranges(700, [500, 900]) == [(700, 900), (900, None)]  # only above the checkpoint
    assert uid_ranges(900, [500, 900]) == [(900, None)]
    assert search_criteria(500, None, 900) == ["UID", "501:900"]
    assert invalid_uid([1, 2, 2 ** 32 - 1]) is None
    assert invalid_uid([1, 10 ** 23]) == 10 ** 23 and invalid_uid([0]) == 0
