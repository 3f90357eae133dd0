"""Out-of-range values (issue 15): a date or number the tool cannot compute with is a
usage error on the command line (exit 2, one line), and a fact dated beyond the
supported days is not stored, so it cannot break the queries of everyone else."""
from __future__ import annotations

import pytest

from tests.fakes import DOWNTIME, make_eml
from tests.system.test_cli import fakes, run  # noqa: F401 - fixtures

OUT_OF_RANGE = [
    ("upcoming", "--as-of", "9999-12-31"),
    ("upcoming", "--as-of", "0001-01-01"),
    ("upcoming", "--days", "3000000"),
    ("upcoming", "--days", "9" * 40),
    ("timeline", "--from", "0001-01-01"),
    ("timeline", "--to", "9999-12-31"),
    ("export-ics", "--from", "0001-01-01"),
    ("export-ics", "--to", "9999-12-31"),
    ("export-ics", "--alarm-downtime", "99999999999d"),
    ("export-ics", "--alarm-deadline", "999999999w"),
    ("export-ics", "--alarm-deadline", "9" * 5000 + "m"),
]


@pytest.mark.parametrize("args", OUT_OF_RANGE, ids=lambda args: " ".join(a[:20] for a in args))
def test_out_of_range_cli_values_are_one_line_usage_errors(run, tmp_path, args):  # noqa: F811
    result = run("--db", f"sqlite:///{tmp_path / 'x.db'}", *args)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("caltac-inbox: error: ") and args[1] in line or "alarm" in line
    assert "OverflowError" not in line and "Traceback" not in result.output


def test_other_usage_errors_are_one_line_too(run, tmp_path):  # noqa: F811
    for args in (("ingest",), ("upcoming", "--as-of", "2020-13-01"), ("upcoming", "--kind", "party")):
        result = run(*args)
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output
        assert result.stderr.startswith("caltac-inbox: error: ") and f"{args[0]} --help" in result.stderr


def test_the_edges_of_the_supported_days_work(run, fakes, tmp_path):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'x.db'}"
    (tmp_path / "a.eml").write_bytes(make_eml(facts=[DOWNTIME]))
    assert run("--db", url, "ingest", tmp_path / "a.eml").exit_code == 0
    for args in (("upcoming", "--as-of", "2999-12-31", "--days", "36525"), ("upcoming", "--as-of", "1900-01-01"),
                 ("timeline", "--from", "1900-01-01", "--to", "2999-12-31"),
                 ("export-ics", "--from", "1900-01-01", "--to", "2999-12-31", "--alarm-downtime", "365d")):
        assert run("--db", url, *args).exit_code == 0, args


def test_a_fact_dated_beyond_the_supported_days_is_not_stored(run, fakes, tmp_path):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'x.db'}"
    far = {"kind": "deadline", "program": "CAASPP", "due": "9999-12-31", "action": "far", "evidence": "x"}
    (tmp_path / "far.eml").write_bytes(make_eml(message_id="<far@x>", facts=[far]))
    (tmp_path / "near.eml").write_bytes(make_eml(message_id="<near@x>", facts=[DOWNTIME]))
    result = run("--db", url, "ingest", tmp_path)
    assert result.exit_code == 1 and "due 9999-12-31 is outside the supported days" in result.stderr
    for args in (("timeline",), ("timeline", "--from", "2020-01-01"), ("upcoming", "--as-of", "2020-08-01"),
                 ("export-ics",)):
        shown = run("--db", url, *args)
        assert shown.exit_code == 0 and "TOMS" in shown.output, (args, shown.output)
    assert "far.eml" in run("--db", url, "messages", "--failed", "--json").output
