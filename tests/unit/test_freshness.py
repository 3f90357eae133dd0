"""caltac_inbox.freshness: which mailboxes count, when they are stale, how it is said."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from caltac_inbox.config import ConfigError, parse_config, parse_max_age
from caltac_inbox.freshness import PollRecord, ago, assess, checked_line, warning_lines

NOW = datetime(2026, 12, 7, 18, 0, tzinfo=timezone.utc)


def test_stale_past_max_age_or_never_polled_and_the_last_error_is_said():
    records = [PollRecord("district", NOW - timedelta(hours=3), NOW - timedelta(hours=3), None),
               PollRecord("county", NOW - timedelta(hours=1), NOW - timedelta(days=3), "login refused"),
               PollRecord("failing", NOW - timedelta(hours=1), None, "no route to host")]
    states = assess(records, ["district", "county", "failing", "new"], NOW, timedelta(hours=26))
    assert [(s.mailbox, s.stale) for s in states] == [("county", True), ("district", False), ("failing", True),
                                                      ("new", False)]  # new: never polled, a setup not done yet
    assert checked_line(states) == "mail checked 3 days ago (mailbox county)"
    lines = warning_lines(states)
    assert lines[0].startswith("mail of mailbox county last checked 3 days ago (more than 1 day); the last poll "
                               "failed: login refused: the timeline may be out of date")
    assert lines[1].startswith("mailbox failing has never been polled successfully; the last poll failed: no route")
    assert states[0].to_json()["age_seconds"] == 3 * 86_400 and states[0].to_json()["last_error"] == "login refused"


def test_without_configured_mailboxes_the_polled_ones_count_and_none_means_no_line():
    record = PollRecord("district", NOW, NOW - timedelta(minutes=5), None)
    assert [s.mailbox for s in assess([record], [], NOW)] == ["district"]
    assert checked_line(assess([record], [], NOW)) == "mail checked 5 minutes ago"
    assert assess([], [], NOW) == [] and checked_line([]) is None and warning_lines([]) == []
    assert assess([record], [], NOW, timedelta(0))[0].stale


@pytest.mark.parametrize("delta, said", [(timedelta(seconds=59), "less than a minute"),
                                         (timedelta(minutes=1), "1 minute"), (timedelta(hours=25), "1 day"),
                                         (timedelta(hours=2, minutes=59), "2 hours")])
def test_ago(delta, said):
    assert ago(delta) == said


def test_max_age_setting():
    assert parse_max_age(26) == timedelta(hours=26) and parse_max_age("2d") == timedelta(days=2)
    assert parse_max_age("90m") == timedelta(minutes=90) and parse_max_age(0) == timedelta(0)
    assert parse_config({"max_age": "12h"}).max_age == timedelta(hours=12)
    assert parse_config({}).max_age == timedelta(hours=26)
    for bad in ("soon", -1, True, "h"):
        with pytest.raises(ConfigError, match="max_age"):
            parse_config({"max_age": bad})
