"""The README shows real output: its demo table is what the samples give today."""
from __future__ import annotations

from caltac_inbox import __version__
from caltac_inbox.store.db import SCHEMA_HEAD
from tests.demo import REPO, SOURCE_CLI, demo_upcoming, readme_upcoming


def test_readme_demo_table_is_what_upcoming_prints(tmp_path):
    printed = demo_upcoming(SOURCE_CLI, f"sqlite:///{tmp_path / 'demo.db'}", cwd=REPO)
    assert readme_upcoming() == printed, "README.md is out of date: paste this `make demo` output:\n" + printed


def test_readme_version_example_is_this_version():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"    $ caltac-inbox --version\n    caltac-inbox {__version__} (schema {SCHEMA_HEAD})\n" in readme
