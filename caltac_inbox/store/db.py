"""Engines and migrations: the database URL, connection settings, and `upgrade`.

- Default: a SQLite file in the user data directory (platformdirs).
- SQLite connections use WAL (readers keep working while a poll writes) with
  synchronous=NORMAL, a busy timeout, and enforce foreign keys.
- PostgreSQL uses psycopg 3 (`postgresql+psycopg://`; plain `postgresql://` and
  `postgres://` URLs are rewritten to it).
- Migrations run automatically on first use; concurrent first runs are serialized
  by a transaction-level advisory lock on PostgreSQL and a file lock on SQLite.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from caltac_inbox.errors import ConfigError, DatabaseError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection, Engine

APP_NAME = "caltac-inbox"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# pg_advisory_xact_lock key for migrations: any constant shared by all processes.
MIGRATION_LOCK_KEY = 0x6361_6C74_6163  # "caltac"
TIMELINE_LOCK_KEY = MIGRATION_LOCK_KEY + 1
# Execution option marking read-only transactions (see make_engine, SQLite).
READONLY_OPTION = "caltac_readonly"
# The revision that creates the tables schema.py describes, i.e. what this code reads and
# writes. Bump it with every new file in migrations/versions (tests/system/test_packaging.py checks).
SCHEMA_HEAD = "0014"
MIGRATIONS_PACKAGE = "caltac_inbox._migrations"
INSTALL_POSTGRES = "pip install 'caltac-inbox[postgres]' (with pipx: pipx inject caltac-inbox 'psycopg[binary]')"
UPGRADE_HINT = "run `caltac-inbox db upgrade` (or an ingest or poll) with this version first"
REINSTALL = "reinstall caltac-inbox (pip install --force-reinstall WHEEL, or pip install . in its checkout)"


def default_url() -> str:
    """sqlite:///<user data dir>/caltac-inbox.db (the directory is created on use)."""
    from platformdirs import user_data_path

    return f"sqlite:///{user_data_path(APP_NAME) / 'caltac-inbox.db'}"


def as_database_url(given: str | None) -> str | None:
    """What --db, CALTAC_INBOX_DB or [database] url say, as a URL: a plain path
    (`caltac.db`, `~/caltac.db`: what most people type) is that SQLite file."""
    if not given or "://" in given or given.startswith("file:"):
        return given or None
    from urllib.parse import quote

    return "sqlite:///" + quote(str(Path(given).expanduser().absolute()), safe="/")


def resolve_url(url: str | None) -> str:
    """The URL to use: the given one (normalized) or the default SQLite file. Raises
    ConfigError for an in-memory SQLite database."""
    if not url:
        return default_url()
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if is_sqlite_memory(url):
        # An ingest into memory reports "10 new ... stored" and then loses everything.
        raise ConfigError(
            f"database URL {url!r} names no file: SQLite would keep everything in memory and lose it on exit; "
            "give a file (sqlite:////var/lib/caltac-inbox/caltac.db) and check that every variable used in "
            "--db / CALTAC_INBOX_DB is set")
    return url


def is_sqlite_memory(url: str) -> bool:
    """True for every spelling of an in-memory SQLite database: sqlite://, sqlite:///,
    sqlite:///:memory:, sqlite+pysqlite://, file::memory:, ?mode=memory."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0].lower() != "sqlite":
        return False
    from urllib.parse import unquote

    path, _, query = rest.removeprefix("/").partition("?")
    path = unquote(path).strip()
    return (path in ("", ":memory:") or path.startswith("file::memory:")
            or "mode=memory" in query.lower().replace("&", " ").split())


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return hide_password(make_url(url).render_as_string(hide_password=True))
    except Exception:  # noqa: BLE001 - any URL SQLAlchemy cannot read is shown as invalid
        return "<invalid database URL>"


def hide_password(url: str) -> str:
    """`url` with the password of its user part and of a `password=` query parameter (which
    libpq reads too) shown as ***, parsed with the standard library alone."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return "<invalid database URL>"
    userinfo, at, hostinfo = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        url = url.replace(parts.netloc, f"{userinfo.split(':', 1)[0]}:***@{hostinfo}", 1)
    if any(name == "password" for name, _ in query):
        hidden = [(name, "***" if name == "password" else value) for name, value in query]
        url = url.partition("?")[0] + "?" + urlencode(hidden, safe="*")
    return url


def plain_sqlite_file(url: str | None) -> Path | None:
    """The file behind a plain `sqlite:///path` URL (None: the default file), parsed
    without SQLAlchemy; None for anything else (PostgreSQL, memory, query options)."""
    from urllib.parse import unquote

    url = url or default_url()
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(prefix):
            rest = url[len(prefix):]
            if not rest or "?" in rest or rest == ":memory:":
                return None
            return Path(unquote(rest))
    return None


def sqlite_path(url: str | None) -> Path | None:
    """The file behind a SQLite URL (None: the default file); None for PostgreSQL. A
    plain sqlite:///path is read without importing SQLAlchemy."""
    plain = plain_sqlite_file(url)
    if plain is not None:
        return plain
    from sqlalchemy.engine import make_url

    parsed = make_url(resolve_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def postgres_connect_args(connect_timeout: float | None, statement_timeout: float | None) -> dict[str, object]:
    """psycopg's connection arguments for the timeouts (seconds) of `make_engine`, as both
    the SQLAlchemy engine and store.light's psycopg reader pass them (they override
    the same settings in the URL)."""
    args: dict[str, object] = {}
    if connect_timeout is not None:
        args["connect_timeout"] = max(1, round(connect_timeout))
    if statement_timeout is not None:
        args["options"] = f"-c statement_timeout={round(statement_timeout * 1000)}"
    return args


def make_engine(url: str, *, connect_timeout: float | None = None, statement_timeout: float | None = None) -> "Engine":
    """An Engine for `url` with the per-backend settings above. Raises DatabaseError.

    `connect_timeout` and `statement_timeout` (seconds; PostgreSQL) bound how long a
    connection attempt and one statement (a lock wait included) may take: a server that
    hangs then costs a request an error, not the whole web server its threads."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    url = resolve_url(url)
    try:
        path = sqlite_path(url)
    except ArgumentError:
        raise DatabaseError(f"invalid database URL {url!r}; use e.g. sqlite:///path/to.db or "
                            "postgresql+psycopg://user@host/dbname") from None
    if path is not None:
        from caltac_inbox.private_files import private_directory, private_file

        try:
            private_directory(path.parent)
        except OSError as exc:
            raise DatabaseError(f"cannot create directory {path.parent} for the database: {exc.strerror}; "
                                "choose another location with --db") from None
        # SQLite reports what is wrong with the path when it opens it
        with contextlib.suppress(OSError):
            private_file(path)  # before SQLite creates it 0644 (its -wal and -shm files copy the mode)
    connect_args = postgres_connect_args(connect_timeout, statement_timeout) if url.startswith("postgresql") else {}
    try:
        engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"), connect_args=connect_args)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        if isinstance(exc, ImportError) and url.startswith("postgresql"):  # psycopg: an optional extra
            raise DatabaseError(f"PostgreSQL support is not installed ({exc}); {INSTALL_POSTGRES}") from None
        raise DatabaseError(f"unsupported database URL {display_url(url)}: {exc}; "
                            "use sqlite:/// or postgresql+psycopg://") from None

    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            # Let SQLAlchemy (not pysqlite) issue BEGIN so transactions cover DDL too.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if path is not None:
                cur.execute("PRAGMA journal_mode = WAL")
                # In WAL mode NORMAL syncs at checkpoints, not at every commit: a crash
                # of the process loses nothing and cannot corrupt the file; a power cut
                # may drop the last commits. Those are refetched on the next poll, since
                # the IMAP checkpoint commits in the same transaction as its messages.
                # Saves one fsync (1-5 ms) per stored message.
                cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # pragma: no cover - trivial
            # Writers BEGIN IMMEDIATE: take the write lock up front, so two writers
            # queue on busy_timeout instead of failing when a read turns into a write.
            # Readers (engine.execution_options(readonly=True)) BEGIN DEFERRED and,
            # thanks to WAL, never wait for a writer.
            readonly = conn.get_execution_options().get(READONLY_OPTION)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def describe_db_error(url: str, exc: BaseException, doing: str) -> DatabaseError:
    """A one-line DatabaseError for a driver exception (no password, no traceback)."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = reason[0] if reason else type(exc).__name__
    return DatabaseError(
        f"cannot {doing} database {display_url(url)}: {first}; "
        "check --db / CALTAC_INBOX_DB and that the database is reachable and writable"
    )


def migrations_dir() -> Path:
    """The Alembic script directory: the repository's migrations/, installed as the
    package caltac_inbox._migrations (pyproject.toml) by wheels, sdists and editable
    installs alike. Raises DatabaseError naming the fix when it is missing."""
    from importlib.resources import files

    try:
        found = files(MIGRATIONS_PACKAGE)
    except ModuleNotFoundError:
        # `python -m caltac_inbox` inside a checkout imports the source tree, where the
        # migrations are the repository's migrations/ beside the package
        checkout = Path(__file__).resolve().parents[2] / "migrations"
        if MIGRATIONS_PACKAGE == "caltac_inbox._migrations" and (checkout / "env.py").is_file():
            return checkout
        raise DatabaseError(f"this installation has no database migrations (package {MIGRATIONS_PACKAGE} "
                            f"is missing); {REINSTALL}") from None
    if not isinstance(found, Path):  # e.g. imported from a zip archive: Alembic needs real files
        raise DatabaseError(f"the database migrations at {found} are not plain files; {REINSTALL}")
    if not (found / "env.py").is_file():
        raise DatabaseError(f"the database migrations in {found} are incomplete (no env.py); {REINSTALL}")
    return found


def alembic_config(connection: "Connection | None" = None) -> "Config":
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(conn: "Connection") -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def revision_of(engine: "Engine") -> str | None:
    """The revision the database is stamped with, read over one connection; `engine` is
    disposed afterwards."""
    try:
        with engine.connect() as conn:
            return current_revision(conn)
    finally:
        engine.dispose()


@contextlib.contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    path = sqlite_path(url)
    if path is None:
        yield
        return
    import fcntl

    from caltac_inbox.private_files import open_lock_file

    with os.fdopen(open_lock_file(Path(f"{path}.migrate-lock")), "r+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade(engine: "Engine", revision: str = "head") -> None:
    """Migrate to `revision` in one transaction, serialized across processes."""
    from alembic import command

    with _sqlite_file_lock(str(engine.url)), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            from sqlalchemy import text

            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: "Engine", revision: str = "base") -> None:
    from alembic import command

    with _sqlite_file_lock(str(engine.url)), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            from sqlalchemy import text

            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        command.downgrade(alembic_config(conn), revision)


def script_head() -> str | None:
    """The head revision read from migrations/versions/*.py without importing Alembic
    (which costs ~0.25 s of every start); None when that is not one clear head."""
    import re

    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (migrations_dir() / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found = re.search(r"^revision\b[^=\n]*=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE)
        down = re.search(r"^down_revision\b[^=\n]*=(.*)$", text, re.MULTILINE)
        if found is None or down is None:
            return None
        revisions.add(found.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def installed_schema_head() -> str:
    """The head of the installed migrations when it is SCHEMA_HEAD, as `doctor` checks;
    otherwise a DatabaseError naming what is wrong and the fix."""
    found = migrations_dir()
    head = script_head()
    if head != SCHEMA_HEAD:
        ends = f"end at revision {head}" if head else "have no single head revision"
        raise DatabaseError(f"the database migrations in {found} {ends}, but this caltac-inbox expects "
                            f"{SCHEMA_HEAD}; {REINSTALL}")
    return head


def stamped_revisions(engine: "Engine") -> list[str] | None:
    """alembic_version's rows read with plain SQL in a read-only transaction; None when
    the table cannot be read (a new database)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with engine.execution_options(**{READONLY_OPTION: True}).connect() as conn:
            return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except SQLAlchemyError:
        return None


def ensure_schema(engine: "Engine") -> None:
    """Upgrade to head if the database is not there yet. The usual case (already at
    SCHEMA_HEAD) is decided without Alembic or the migration files; anything else goes
    through them."""
    if stamped_revisions(engine) == [SCHEMA_HEAD]:
        return
    with engine.connect() as conn:
        current = current_revision(conn)
    if current != head_revision():
        upgrade(engine)


def connect(url: str | None, *, migrate: bool = True) -> "Engine":
    """Engine for `url` (default SQLite file), checked and migrated. Raises DatabaseError."""
    from sqlalchemy.exc import SQLAlchemyError

    resolved = resolve_url(url)
    engine = make_engine(resolved)
    try:
        if migrate:
            ensure_schema(engine)
        else:
            with engine.connect():
                pass
    except SQLAlchemyError as exc:
        engine.dispose()
        raise describe_db_error(resolved, exc, "open") from None
    except Exception as exc:
        from alembic.util import CommandError

        engine.dispose()
        if isinstance(exc, CommandError):
            # e.g. the database was migrated by a newer caltac-inbox than this one
            raise DatabaseError(
                f"cannot migrate database {display_url(resolved)}: {' '.join(str(exc).split())}; "
                "upgrade caltac-inbox or point --db at another database"
            ) from None
        raise
    return engine


# ANALYZE a table once a run has changed more than this share of its rows (PostgreSQL;
# autovacuum waits for 10 % and its next round, while plans go wrong from the first run).
ANALYZE_SHARE = 0.05
ANALYZED_TABLES = ("messages", "facts", "entries", "entry_sources", "leads", "timeline_pending")


def analyze_changed(engine: "Engine", changed: dict[str, int]) -> list[str]:
    """ANALYZE each table of `changed` (table -> rows a run inserted, updated or deleted)
    whose statistics no longer describe it: never analyzed, or the change is more than
    ANALYZE_SHARE of the rows they count. PostgreSQL only (SQLite plans without them).
    Returns the tables analyzed."""
    if engine.dialect.name != "postgresql":
        return []
    from sqlalchemy import text

    wanted = {table: rows for table, rows in changed.items() if rows > 0 and table in ANALYZED_TABLES}
    if not wanted:
        return []
    with engine.connect() as conn:
        counted = {str(name): float(rows) for name, rows in conn.execute(
            text("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(:names) "
                 "AND relkind = 'r' AND relnamespace = 'public'::regnamespace"), {"names": list(wanted)})}
    stale = [table for table, rows in wanted.items()
             if (known := counted.get(table)) is None or known < 0 or rows > ANALYZE_SHARE * max(known, 1)]
    if stale:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in stale:
                conn.execute(text(f"ANALYZE {table}"))
    return stale


__all__ = ["analyze_changed",
    "connect",
    "default_url",
    "display_url",
    "downgrade",
    "ensure_schema",
    "head_revision",
    "installed_schema_head",
    "make_engine",
    "resolve_url",
    "upgrade",
]
