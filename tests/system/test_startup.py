"""Start-up stays light: which modules a command imports (not how long it takes; timing
is bench/run.py's job, since wall-clock assertions are flaky)."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from caltac_inbox.store import db

HEAVY = ("sqlalchemy", "alembic", "bs4", "dateparser", "icalendar", "imapclient", "mailparser", "docx", "mako",
         "starlette", "uvicorn", "jinja2", "anyio")


def imported_after(code: str) -> set[str]:
    """Modules imported by running `code` in a fresh interpreter (dotted names, plus
    every top-level package name)."""
    return run_listing_modules(code)[0]


def run_listing_modules(code: str) -> tuple[set[str], str]:
    """(modules imported, standard output) of `code` run in a fresh interpreter."""
    script = textwrap.dedent(code) + textwrap.dedent("""
        import json, sys
        sys.stdout.flush()
        sys.__stderr__.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    line = [ln for ln in done.stderr.splitlines() if ln.startswith("MODULES ")]
    assert line, done.stderr
    names = set(json.loads(line[-1].split(" ", 1)[1]))
    return names | {name.split(".")[0] for name in names}, done.stdout


def test_cli_help_imports_no_heavy_module():
    modules = imported_after("""
        from caltac_inbox.cli import main
        try:
            main(["--help"])
        except SystemExit:
            pass
    """)
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_every_command_help_imports_no_heavy_module():
    modules = imported_after("""
        from caltac_inbox.cli import main
        for args in (["extract", "--help"], ["ingest", "--help"], ["upcoming", "--help"], ["poll", "--help"],
                     ["export-ics", "--help"], ["db", "upgrade", "--help"], ["checklist", "--help"],
                     ["serve", "--help"], ["feed", "create", "--help"], ["feed", "list", "--help"]):
            try:
                main(args)
            except SystemExit:
                pass
    """)
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_version_reads_the_schema_head_without_heavy_modules():
    modules, stdout = run_listing_modules("""
        from caltac_inbox.cli import main
        try:
            main(["--version"])
        except SystemExit:
            pass
    """)
    assert stdout.endswith(f"(schema {db.SCHEMA_HEAD})\n")
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_queries_on_existing_sqlite_database_import_no_sqlalchemy(tmp_path):
    """upcoming/timeline/show read an existing SQLite file at head with the stdlib
    sqlite3 (store.light): SQLAlchemy and its ORM are most of a query's start-up."""
    url = f"sqlite:///{tmp_path / 'caltac.db'}"
    db.connect(url).dispose()  # creates and migrates
    modules, stdout = run_listing_modules(f"""
        from caltac_inbox.cli import main
        for args in (["upcoming"], ["upcoming", "--as-of", "2020-08-01", "--json"], ["timeline"], ["show", "1"]):
            try:
                main(["--db", {url!r}, *args])
            except SystemExit:
                pass
    """)
    # the queries really ran
    assert stdout.startswith("Nothing coming up between ") and stdout.endswith(".\nNo entries.\n")
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))
    assert "caltac_inbox.store.light" in modules


# What a listing on an existing SQLite store at head never imports (issue 28: `upcoming`
# starts no slower than at bbe6bca): the configuration module and what reads and finds its
# file (with no mailbox ever polled there is no freshness to tell, so the file is not read),
# hashlib (only writing makes fact identities), shutil (only a terminal's size), csv (only
# --csv), traceback (only a failing command), the read budget and its resource limits (only
# reading mail) and getpass (only naming who decided a correction).
LISTING_NEVER_IMPORTS = ("caltac_inbox.config", "platformdirs", "tomllib", "subprocess", "difflib", "shlex",
                         "hashlib", "shutil", "csv", "traceback", "caltac_inbox.budget", "resource", "getpass")


def test_a_listing_on_a_light_store_imports_neither_the_configuration_nor_writing_modules(tmp_path):
    url = f"sqlite:///{tmp_path / 'caltac.db'}"
    notices = sorted(str(path) for path in (Path(__file__).resolve().parents[2] / "samples").glob("*.eml"))
    subprocess.run([sys.executable, "-m", "caltac_inbox", "--db", url, "ingest", *notices], check=True,
                   capture_output=True)
    modules, stdout = run_listing_modules(f"""
        from caltac_inbox.cli import main
        for args in (["upcoming"], ["upcoming", "--as-of", "2020-08-01", "--days", "400"],
                     ["timeline", "--from", "2020-08-01", "--to", "2020-08-31"]):
            try:
                main(["--db", {url!r}, *args])
            except SystemExit:
                pass
    """)
    assert stdout.startswith("Nothing coming up between ")  # today: the samples are from 2016-2020
    assert stdout.count("designate the LEA coordinator") == 2  # a table from upcoming and from timeline
    assert "caltac_inbox.store.light" in modules
    assert modules.isdisjoint(LISTING_NEVER_IMPORTS), sorted(modules & set(LISTING_NEVER_IMPORTS))


def test_iso_dates_do_not_import_dateparser_and_phrases_do(tmp_path):
    """dateparser (~0.3 s to import) is loaded only for a date that is not YYYY-MM-DD."""
    url = f"sqlite:///{tmp_path / 'caltac.db'}"
    db.connect(url).dispose()
    query = """
        from caltac_inbox.cli import main
        for args in ({args}):
            try:
                main(["--db", {url!r}, *args])
            except SystemExit:
                pass
    """
    iso = '["upcoming", "--as-of", "2020-08-01"], ["timeline", "--from", "2020-01-01", "--to", "2020-12-31"]'
    modules, stdout = run_listing_modules(query.format(args=iso, url=url))
    assert "dateparser" not in modules and stdout.startswith("Nothing coming up")
    modules, stdout = run_listing_modules(query.format(args='["upcoming", "--as-of", "in 3 days"],', url=url))
    assert "dateparser" in modules and stdout.startswith("Nothing coming up")


def test_store_query_on_migrated_database_does_not_import_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'caltac.db'}"
    db.connect(url).dispose()  # creates and migrates
    modules, stdout = run_listing_modules(f"""
        from caltac_inbox.cli import main
        try:
            main(["--db", {url!r}, "reparse"])
        except SystemExit:
            pass
    """)
    assert stdout == "reparsed 0 message(s): 0 ok, 0 failed; 0 fact(s) added, 0 removed\n"
    assert "sqlalchemy" in modules  # `reparse` goes through the store
    assert "alembic" not in modules and "mako" not in modules
    # JSONB comes from the PostgreSQL dialect package, imported only for PostgreSQL.
    assert "sqlalchemy.dialects.postgresql" not in modules


def test_script_head_matches_alembic_head():
    assert db.script_head() == db.head_revision()


def test_ensure_schema_still_migrates_a_new_database(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert db.stamped_revisions(engine) is None
        db.ensure_schema(engine)
        assert db.stamped_revisions(engine) == [db.head_revision()]
        with engine.connect() as conn:
            assert db.current_revision(conn) == db.head_revision()
    finally:
        engine.dispose()


def test_ensure_schema_upgrades_a_database_behind_head(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        db.upgrade(engine)
        db.downgrade(engine, "base")
        assert db.stamped_revisions(engine) == []
        db.ensure_schema(engine)
        assert db.stamped_revisions(engine) == [db.head_revision()]
    finally:
        engine.dispose()


def test_importing_the_timeline_loads_nothing_else_of_the_package():
    modules = imported_after("import caltac_inbox.timeline.reconcile, caltac_inbox.timeline.kinds")
    ours = {m for m in modules if m.startswith("caltac_inbox.")}
    assert ours <= {"caltac_inbox.model", "caltac_inbox.timeline", "caltac_inbox.timeline.time",
                    "caltac_inbox.timeline.kinds", "caltac_inbox.timeline.entry",
                    "caltac_inbox.timeline.reconcile", "caltac_inbox.timeline.wording",
                    "caltac_inbox.timeline.history"}, sorted(ours)


@pytest.mark.postgres
@pytest.mark.parametrize("driver", ["libpq", "psycopg"])
def test_queries_on_postgresql_database_at_head_import_no_sqlalchemy(driver, monkeypatch):
    """upcoming/timeline/show read a PostgreSQL database at head with store.libpq (libpq
    through ctypes), not SQLAlchemy, its ORM and Alembic, nor psycopg, whose import alone
    cost more than the whole query on SQLite (issue 28); with psycopg alone where no
    libpq loads (CALTAC_INBOX_PG_DRIVER=psycopg stands for that here)."""
    from tests.conftest import pg_database

    if driver == "psycopg":
        monkeypatch.setenv("CALTAC_INBOX_PG_DRIVER", "psycopg")
    else:
        monkeypatch.delenv("CALTAC_INBOX_PG_DRIVER", raising=False)
    notices = sorted(str(path) for path in (Path(__file__).resolve().parents[2] / "samples").glob("*.eml"))
    with pg_database() as url:
        subprocess.run([sys.executable, "-m", "caltac_inbox", "--db", url, "ingest", *notices], check=True,
                       capture_output=True)
        modules, stdout = run_listing_modules(f"""
            from caltac_inbox.cli import main
            for args in (["upcoming"], ["upcoming", "--as-of", "2020-08-01", "--json"],
                         ["timeline", "--from", "2020-08-01", "--to", "2020-08-31"], ["show", "1"]):
                try:
                    main(["--db", {url!r}, *args])
                except SystemExit:
                    pass
        """)
    # the queries really ran, on PostgreSQL, and found the samples' entries
    assert stdout.startswith("Nothing coming up between ") and '"kind": "downtime"' in stdout, stdout
    assert "designate the LEA coordinator" in stdout and "Entry 1: credential" in stdout, stdout
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))
    if driver == "libpq":
        assert "caltac_inbox.store.libpq" in modules and "psycopg" not in modules, sorted(
            m for m in modules if "psycopg" in m)
    else:
        assert "psycopg" in modules and "caltac_inbox.store.libpq" not in modules


def test_ingest_of_one_notice_reads_it_without_warming_this_process(tmp_path):
    """One new notice (a mail filter's `ingest -`, the bench's one-notice case) is read
    by one worker process, cold: this process neither reads the built-in warm-up notices
    (one is HTML: bs4) nor imports the classifiers. Two notices still warm it up first."""
    root = Path(__file__).resolve().parents[2]
    notice = root / "samples" / "2019-09-03-designated-lea-coordinator.eml"
    url = f"sqlite:///{tmp_path / 'caltac.db'}"
    db.connect(url).dispose()
    code = f"""
        from caltac_inbox.cli import main
        try:
            main(["--db", {url!r}, "ingest", *PATHS])
        except SystemExit:
            pass
    """
    one, stdout = run_listing_modules("PATHS = [" + repr(str(notice)) + "]\n" + textwrap.dedent(code))
    assert "1 new" in stdout
    assert not one & {"bs4", "caltac_inbox.classify.deadline", "caltac_inbox.warm_up"}, sorted(one)
    other = root / "samples" / "2019-03-18-credential-reminder.eml"
    two, stdout = run_listing_modules("PATHS = " + repr([str(notice), str(other)]) + "\n" + textwrap.dedent(code))
    assert "1 new" in stdout and {"bs4", "caltac_inbox.warm_up"} <= two
