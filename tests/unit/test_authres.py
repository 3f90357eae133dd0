"""Which Authentication-Results count (issue 15): only the topmost ones written by our own
receiving server, and only an aligned DKIM or DMARC pass."""
from __future__ import annotations

import pytest

from caltac_inbox.authres import (
    GMAIL,
    MICROSOFT_365,
    aligned,
    authenticated,
    default_authserv_ids,
    parse_header,
)

OURS = ("mx.district.k12.ca.us",)
SENDER = "CalTAC@info.ets.org"


def fields(*results: str, before: tuple[tuple[str, str], ...] = ()) -> list[tuple[str, str]]:
    """Header fields top to bottom: `before`, then one Authentication-Results per value,
    then the sender's own headers."""
    return [*before, *(("Authentication-Results", r) for r in results), ("Received", "from sender.example"),
            ("From", SENDER)]


@pytest.mark.parametrize(("results", "expected"), [
    (["mx.district.k12.ca.us; dkim=pass header.d=info.ets.org"], True),
    (["mx.district.k12.ca.us; dkim=pass header.d=ets.org"], True),  # relaxed alignment
    (["mx.district.k12.ca.us; dmarc=pass header.from=info.ets.org; dkim=fail"], True),
    (["MX.District.K12.CA.US 1; dkim=pass (good) header.d=info.ets.org"], True),  # case, version, comment
    (["mx.district.k12.ca.us; dkim=pass"], False),  # no signing domain: not a pass
    (["mx.district.k12.ca.us; dkim=pass header.s=sel"], False),
    (["mx.district.k12.ca.us; dmarc=pass"], False),
    (["mx.district.k12.ca.us; dkim=pass header.d=mailer.example.com"], False),  # not aligned
    (["mx.district.k12.ca.us; dkim=pass header.d=org"], False),  # a bare TLD aligns with nothing
    (["mx.district.k12.ca.us; spf=pass smtp.mailfrom=info.ets.org"], False),  # SPF alone is not enough
    (["mx.district.k12.ca.us; none"], False),
    # written by someone else (the sender, a relay): ignored
    (["mx.attacker.example; dkim=pass header.d=info.ets.org; dmarc=pass header.from=info.ets.org"], None),
    ([], None),  # no header at all
    # our verdict first; a pass the message brought along below it does not count
    (["mx.district.k12.ca.us; dkim=fail header.d=info.ets.org",
      "mx.attacker.example; dkim=pass header.d=info.ets.org"], False),
    # a later hop above ours is skipped; ours still decides
    (["relay.district.k12.ca.us; dkim=fail", "mx.district.k12.ca.us; dkim=pass header.d=info.ets.org"], True),
    # two consecutive headers of our server (one per filter) are one verdict
    (["mx.district.k12.ca.us; spf=pass smtp.mailfrom=info.ets.org",
      "mx.district.k12.ca.us; dmarc=pass header.from=info.ets.org"], True),
])
def test_only_our_topmost_results_count(results, expected):
    assert authenticated(fields(*results), SENDER, OURS) is expected


def test_a_forged_header_with_our_name_below_our_own_is_not_read():
    forged = [("Authentication-Results", "mx.district.k12.ca.us; dkim=pass header.d=info.ets.org"),
              ("From", SENDER)]
    ours = [("Authentication-Results", "mx.district.k12.ca.us; dkim=fail header.d=info.ets.org"),
            ("Received", "by mx.district.k12.ca.us")]
    assert authenticated(ours + forged, SENDER, OURS) is False


def test_nothing_is_trusted_without_a_named_server():
    assert authenticated(fields("mx.district.k12.ca.us; dkim=pass header.d=info.ets.org"), SENDER, ()) is None


def test_gmail_header():
    gmail = ("mx.google.com; dkim=pass header.i=@info.ets.org header.s=s1 header.b=AbC; spf=pass "
             "(google.com: domain of x@info.ets.org designates 1.2.3.4 as permitted sender) "
             "smtp.mailfrom=x@info.ets.org; dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=ets.org")
    assert authenticated(fields(gmail), SENDER, (GMAIL,)) is True
    no_domain = "mx.google.com; dkim=pass header.s=s1 header.b=AbC"
    assert authenticated(fields(no_domain), SENDER, (GMAIL,)) is False
    assert default_authserv_ids("imap.gmail.com") == (GMAIL,)


def test_microsoft_365_header_names_no_authserv_id():
    m365 = ("spf=pass (sender IP is 40.107.1.1) smtp.mailfrom=info.ets.org; dkim=pass (signature was verified) "
            "header.d=info.ets.org;dmarc=pass action=none header.from=info.ets.org;compauth=pass reason=100")
    header = parse_header(m365)
    assert header.authserv_id is None and [r.method for r in header.results] == ["spf", "dkim", "dmarc", "compauth"]
    assert authenticated(fields(m365), SENDER, (MICROSOFT_365,)) is True
    assert authenticated(fields(m365), SENDER, OURS) is None  # not our server's
    assert authenticated(fields("mx.attacker.example; dkim=pass header.d=info.ets.org"), SENDER,
                         (MICROSOFT_365,)) is None
    assert default_authserv_ids("outlook.office365.com") == (MICROSOFT_365,)
    assert default_authserv_ids("imap.district.k12.ca.us") == ()


def test_alignment():
    assert aligned("ets.org", "info.ets.org") and aligned("info.ets.org", "ets.org")
    assert not aligned("evil-ets.org", "ets.org") and not aligned("org", "ets.org")


# Issue 25: a forged header of our server's name placed right below its real one.
GMAIL_FAIL = ("mx.google.com; spf=softfail (google.com: domain of transitioning x@info.ets.org does not designate "
              "6.6.6.6 as permitted sender) smtp.mailfrom=x@info.ets.org; dmarc=fail (p=NONE sp=NONE dis=NONE) "
              "header.from=info.ets.org")
M365_FAIL = ("spf=fail (sender IP is 6.6.6.6) smtp.mailfrom=info.ets.org; dkim=none (message not signed) "
             "header.d=none;dmarc=fail action=none header.from=info.ets.org;compauth=fail reason=001")
FORGED_PASS = "dkim=pass header.d=info.ets.org; dmarc=pass header.from=info.ets.org"


@pytest.mark.parametrize(("real", "forged", "trusted"), [
    (GMAIL_FAIL, f"mx.google.com; {FORGED_PASS}", (GMAIL,)),
    (M365_FAIL, FORGED_PASS, (MICROSOFT_365,)),  # Exchange Online names no authserv-id, nor need a forger
    (M365_FAIL, f"microsoft365; {FORGED_PASS}", (MICROSOFT_365,)),
    # unsigned mail: our header reports no DKIM at all, the forger's reports a pass
    ("mx.google.com; spf=pass smtp.mailfrom=x@info.ets.org", f"mx.google.com; {FORGED_PASS}", (GMAIL,)),
])
def test_a_forged_pass_right_below_the_defaults_own_header_is_not_read(real, forged, trusted):
    gmail_like = [("Received", "from relay by mx.google.com"), ("Received-SPF", "softfail")]
    assert authenticated(fields(real, forged, before=tuple(gmail_like)), SENDER, trusted) is False
    assert authenticated(fields(real, forged), SENDER, trusted) is False
    assert authenticated(fields(forged), SENDER, trusted) is True  # the same header on top is the server's


def test_one_header_per_filter_reports_each_method_once():
    dkim_milter = "mx.district.k12.ca.us; dkim=none (no signature)"
    dmarc_milter = "mx.district.k12.ca.us; dmarc=fail header.from=info.ets.org"
    forged = "mx.district.k12.ca.us; dkim=pass header.d=info.ets.org"
    assert authenticated(fields(dkim_milter, forged), SENDER, OURS) is False  # dkim told above: not overruled
    assert authenticated(fields(dmarc_milter, forged), SENDER, OURS) is False  # dmarc=fail vetoes any pass
    spf_milter = "mx.district.k12.ca.us; spf=pass smtp.mailfrom=info.ets.org"
    assert authenticated(fields(spf_milter, "mx.district.k12.ca.us; dkim=pass header.d=info.ets.org"), SENDER,
                         OURS) is True


def test_a_forward_is_verified_only_from_a_trusted_internal_forwarder():
    from caltac_inbox.authres import forwarder_trusted

    internal = ("district.k12.ca.us", "helpdesk@county.k12.ca.us")
    assert forwarder_trusted("pat@district.k12.ca.us", True, internal) is True
    assert forwarder_trusted("it@mail.district.k12.ca.us", True, internal) is True  # subdomain
    assert forwarder_trusted("helpdesk@county.k12.ca.us", True, internal) is True
    assert forwarder_trusted("other@county.k12.ca.us", True, internal) is False
    assert forwarder_trusted("friend@outsider.example", True, internal) is False  # its own DKIM passed
    assert forwarder_trusted("friend@outsider.example", True, ()) is False
    assert forwarder_trusted("pat@district.k12.ca.us", False, internal) is False  # the outer message failed
    assert forwarder_trusted("pat@district.k12.ca.us", None, internal) is None
