"""The README says what this version does: its /healthz example names the schema this
version reads (D10), the first table says why rows would be unverified (D12), and the
first pages show freshness, done, read and digest."""
from __future__ import annotations

import re
from pathlib import Path

from caltac_inbox.store import db

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_the_healthz_example_names_the_schema_this_version_reads():
    [example] = re.findall(r'"schema": "(\d{4})"', README)
    assert example == db.SCHEMA_HEAD


def test_the_first_table_says_why_rows_would_be_unverified():
    first = README.split("## What it shows", 1)[1].split("\n## ", 1)[0]
    assert "--authserv-id mx.district.k12.ca.us" in first and "unverified" in first


def test_the_first_pages_show_freshness_done_read_and_digest():
    first_pages = README.split("## Installing", 1)[0]
    for shown in ("mail checked 3 hours ago", "caltac-inbox done 3", "caltac-inbox read ", "--raw",
                  "caltac-inbox digest", "digest --send", "max_age"):
        assert shown in first_pages, shown
