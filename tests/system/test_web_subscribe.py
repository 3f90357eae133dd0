"""A calendar client subscribed to a feed of a running `caltac-inbox serve`, as a
calendar app polls it: plain HTTP with If-None-Match (httpx) and an iCalendar parser.
An ingest of the extension notice while the server runs changes the ETag, and the next
fetch has the new end with SEQUENCE + 1."""
from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import httpx
import icalendar

from tests.demo import SAMPLES
from tests.web import EXTENSIONS, create_feed, ingest, original_2016_notice, serving

LA = ZoneInfo("America/Los_Angeles")
START_2016 = datetime(2016, 8, 26, 17, 0, tzinfo=LA)


def downtime_2016(ics: bytes) -> icalendar.Event:
    (event,) = [e for e in icalendar.Calendar.from_ical(ics).walk("VEVENT") if e.decoded("dtstart") == START_2016]
    return event


def test_extension_reaches_a_subscribed_calendar(db_url, tmp_path):
    (tmp_path / "original.eml").write_bytes(original_2016_notice())
    others = [p for p in sorted(SAMPLES.glob("*.eml")) if p not in EXTENSIONS]
    ingest(db_url, tmp_path / "original.eml", *others)
    feed = create_feed(db_url, "--name", "subscriber")
    with serving(db_url, tmp_path / "serve.log") as server, httpx.Client(timeout=30) as client:
        url = server.base + feed["path"] + "?from=2016-01-01"  # the samples are from 2016 to 2020
        first = client.get(url)
        assert first.status_code == 200
        before = downtime_2016(first.content)
        assert before.decoded("dtend") == datetime(2016, 9, 7, 0, 0, tzinfo=LA)  # through September 6
        assert client.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
        assert client.get(url, headers={"If-Modified-Since": first.headers["last-modified"]}).status_code == 304

        ingest(db_url, *EXTENSIONS)  # the poller's work, while the server runs

        after = client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert after.status_code == 200 and after.headers["etag"] != first.headers["etag"]
        extended = downtime_2016(after.content)
        assert extended["uid"] == before["uid"]
        assert extended.decoded("dtend") == datetime(2016, 9, 13, 23, 59, tzinfo=LA)
        assert extended["sequence"] == before["sequence"] + 1
        assert "(extended)" in str(extended["summary"])
        assert client.get(url, headers={"If-None-Match": after.headers["etag"]}).status_code == 304
        assert parsedate_to_datetime(after.headers["last-modified"]) >= parsedate_to_datetime(first.headers["last-modified"])
    log = server.log_text()  # complete once the server has stopped
    assert feed["token"] not in log
    assert log.count('"target": "/calendar/[redacted].ics?from=2016-01-01"') == 5
