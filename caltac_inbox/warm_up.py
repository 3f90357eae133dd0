"""Notices the reading process reads before it forks workers, so they start warm.

The first message a process parses and classifies costs ~125 ms more than the next
ones (date-parser language data, compiled patterns, lookup caches). Workers forked from
a process that has read these notices inherit all of that. Trusted, built-in text:
they are read in the caller's own process, outside any budget.
"""
from __future__ import annotations

from typing import Callable

WARM_UP_NOTICE = b"""\
From: CAASPP <Do-Not-Reply@info.ets.org>
To: LEA Coordinator <coordinator@district.k12.ca.us>
Subject: CAASPP: Systems Downtime and Coordinator Designation
Date: Wed, 15 Jul 2020 12:39:00 -0700
Message-ID: <warm-up@caltac-inbox.invalid>
Authentication-Results: mx.district.k12.ca.us; dkim=pass header.d=info.ets.org; dmarc=pass
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="warm-up"

--warm-up
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Dear LEA CAASPP Coordinator:

The Test Operations Management System (TOMS), the test delivery system and the Online=
 Reporting System will be unavailable from Friday, August 14, at 5 p.m. through Thursd=
ay, August 20, 2020, at 8 a.m. The 2017=E2=80=932018 student score data file will be re=
moved during the downtime, as TOMS keeps only three years of data.

Superintendents must designate an LEA CAASPP coordinator by July 1, 2020. Generate SIS =
vendor credentials for 2020-21 in TOMS before September 6.

--warm-up
Content-Type: text/html; charset="utf-8"

<html><body><p>Systems will be down <b>August 14&ndash;20, 2020</b>.</p></body></html>
--warm-up--
""".replace(b"\n", b"\r\n")
# An HTML-only notice: its text comes from the HTML parser (imported on first use).
WARM_UP_HTML_NOTICE = b"""From: CAASPP <Do-Not-Reply@info.ets.org>
Subject: CAASPP: Systems Downtime
Date: Wed, 15 Jul 2020 12:39:00 -0700
Message-ID: <warm-up-html@caltac-inbox.invalid>
MIME-Version: 1.0
Content-Type: text/html; charset="utf-8"

<html><body><p>TOMS will be unavailable from <b>5 p.m. on Friday, August 14, 2020</b>,
through 8 a.m. on Thursday, August 20, 2020.</p>
<ul><li>Designate a coordinator by July 1.</li></ul></body></html>
""".replace(b"\n", b"\r\n")

_warmed = False


def warm_up(read: Callable[[list], list], raw_message: Callable[[bytes], object]) -> None:
    """Once per process: `read` the built-in notices (each wrapped by `raw_message`)."""
    global _warmed
    if not _warmed:
        _warmed = True
        read([raw_message(WARM_UP_NOTICE), raw_message(WARM_UP_HTML_NOTICE)])


__all__ = ["WARM_UP_HTML_NOTICE", "WARM_UP_NOTICE", "warm_up"]
