"""Forgeries polled from a real Dovecot (issue 25): a forged Authentication-Results header
right below the receiving server's own, and an outsider's forward of a forged notice
whose own DKIM passes, change nothing `upcoming` and the .ics show for a verified entry
without a visible flag. Polled from files instead, the outsider's forward is stored but
unverified, so it too is only a flag (tests/system/test_trust.py)."""
from __future__ import annotations

import json
import re

import pytest

from tests.dovecot import crlf, dovecot  # noqa: F401 - fixture
from tests.system.test_imap_dovecot import ROOT, Poller

pytestmark = pytest.mark.dovecot

VERIFIED = crlf((ROOT / "samples" / "2020-07-15-transition-downtime.eml").read_bytes())
FORGED_BELOW = crlf(b"""Authentication-Results: mx.district.k12.ca.us; dkim=none (no signature);
 spf=softfail smtp.mailfrom=info.ets.org; dmarc=fail header.from=info.ets.org
Authentication-Results: mx.district.k12.ca.us; dkim=pass header.d=info.ets.org;
 dmarc=pass header.from=info.ets.org
From: CAASPP <Do-Not-Reply@info.ets.org>
To: coordinator@district.k12.ca.us
Subject: CAASPP: Transition downtime cancelled
Date: Mon, 03 Aug 2020 09:00:00 -0700
Message-ID: <forged-below@info.ets.org>

Dear LEA CAASPP Coordinator:

The CAASPP system downtime from Friday, August 14 at 5 p.m. through Thursday, August 20, 2020, at 8 a.m. has \
been cancelled. All CAASPP systems will remain available.
""")
FORGED_EXTENSION = crlf(b"""Authentication-Results: mx.district.k12.ca.us; dkim=none (no signature);
 spf=fail smtp.mailfrom=info.ets.org; dmarc=fail header.from=info.ets.org
From: CAASPP <Do-Not-Reply@info.ets.org>
To: coordinator@district.k12.ca.us
Subject: CAASPP downtime extended
Date: Wed, 05 Aug 2020 09:00:00 -0700
Message-ID: <forged-ext@info.ets.org>

The CAASPP system downtime that began Friday, August 14, 2020, at 5 p.m. has been extended through Saturday, \
August 22, 2020, at 8 a.m.
""")
OUTSIDER_FORWARD = crlf(b"""Authentication-Results: mx.district.k12.ca.us; dkim=pass header.d=outsider.example;
 spf=pass smtp.mailfrom=outsider.example; dmarc=pass header.from=outsider.example
From: Helpful Stranger <friend@outsider.example>
To: coordinator@district.k12.ca.us
Subject: FW: CAASPP downtime extended
Date: Tue, 04 Aug 2020 10:00:00 -0700
Message-ID: <fw-forgery@outsider.example>

FYI

-----Original Message-----
From: CAASPP <Do-Not-Reply@info.ets.org>
Sent: Tuesday, August 4, 2020 9:00 AM
To: LEA Coordinators
Subject: CAASPP downtime extended

The CAASPP system downtime that began Friday, August 14, 2020, at 5 p.m. has been extended through Friday, \
August 21, 2020, at 8 a.m.
""")


@pytest.fixture
def poller(tmp_path, dovecot):  # noqa: F811
    return Poller(tmp_path, dovecot)


def test_forgeries_polled_from_dovecot_leave_the_verified_downtime_flagged_not_changed(poller, dovecot):  # noqa: F811
    dovecot.append([VERIFIED, FORGED_BELOW, FORGED_EXTENSION, OUTSIDER_FORWARD])
    code, report, err = poller.poll_json()
    assert code == 0, err
    assert report["new"] == 3 and report["ignored"] == 1  # the outsider's forward is judged by its outer sender
    verdicts = dict(poller.query("SELECT message_id, authenticated FROM messages"))
    assert verdicts == {"<caltac-inbox-sample.002.direct.202007151239@info.ets.org>": 1,
                        "<forged-below@info.ets.org>": 0, "<forged-ext@info.ets.org>": 0}

    done = poller.run("--as-of", "2020-08-01", "--kind", "downtime", "--json", command="upcoming")
    [entry] = [json.loads(line) for line in done.stdout.splitlines()]
    assert (entry["start"], entry["end"]) == ("2020-08-14T17:00:00-07:00", "2020-08-20T08:00:00-07:00")
    assert entry["status"] == "scheduled" and entry["unverified"] is False
    assert [p["note"] for p in entry["pending"]] == ["cancelled by an unverified notice: check",
                                                     "extended to 2020-08-22 08:00 by an unverified notice: check"]
    table = poller.run("--as-of", "2020-08-01", "--kind", "downtime", command="upcoming").stdout
    assert re.search(r"2020-08-20 08:00 .*scheduled .*cancelled by an unverified notice: check", table)
    ics = poller.run(command="export-ics").stdout.replace("\r\n", "\n").replace("\n ", "")
    [event] = [e for e in re.findall(r"BEGIN:VEVENT\n(.*?)END:VEVENT", ics, re.S) if entry["uid"] in e]
    assert "SUMMARY:[check] CAASPP downtime" in event and "DTEND;TZID=America/Los_Angeles:20200820T080000" in event
