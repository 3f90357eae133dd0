"""Dates typed on the command line."""
from datetime import date

import pytest

from caltac_inbox.user_dates import DateInputError, read_user_date

TODAY = date(2026, 11, 30)  # a Monday


@pytest.mark.parametrize("text, day, iso", [
    ("2020-08-01", date(2020, 8, 1), True),
    ("today", TODAY, False),
    (" Tomorrow ", date(2026, 12, 1), False),
    ("yesterday", date(2026, 11, 29), False),
    ("+7d", date(2026, 12, 7), False),
    ("-2w", date(2026, 11, 16), False),
    ("+1m", date(2026, 12, 30), False),
    ("+3 months", date(2027, 2, 28), False),  # no February 30: the month's last day
    ("monday", TODAY, False),
    ("next monday", date(2026, 12, 7), False),
    ("friday", date(2026, 12, 4), False),
    ("last friday", date(2026, 11, 27), False),
    ("in 3 days", date(2026, 12, 3), False),
    ("December 15", date(2026, 12, 15), False),
    ("2020-8-1", date(2020, 8, 1), False),
])
def test_reads_what_people_type(text, day, iso):
    got = read_user_date(text, TODAY)
    assert (got.day, got.iso) == (day, iso)


@pytest.mark.parametrize("text", ["", "soonish", "9999-12-31", "+3000000d", "1800-01-01",
                                  "2020-13-01", "2020-02-30", "5"])
def test_what_it_cannot_read_is_one_clear_error(text):
    with pytest.raises(DateInputError) as exc:
        read_user_date(text, TODAY)
    assert "\n" not in str(exc.value)


def test_iso_dates_import_no_date_parser():
    import subprocess
    import sys

    code = ("import sys; from datetime import date; from caltac_inbox.user_dates import read_user_date; "
            "read_user_date('2020-08-01', date(2026, 11, 30)); read_user_date('+7d', date(2026, 11, 30)); "
            "print('dateparser' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
