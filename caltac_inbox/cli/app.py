"""The root group's state (`App`: global options, configuration, store) and the read path
the timeline queries share (`read_timeline`). Imports only the leaf `options` of the CLI."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import click

from caltac_inbox.display import printable
from caltac_inbox.errors import UserError
from caltac_inbox.cli.options import PROG
from caltac_inbox.store import open_reader, open_writer
from caltac_inbox.store.read import known_mailboxes, timeline_behind

if TYPE_CHECKING:
    from caltac_inbox.budget import ReadBudget
    from caltac_inbox.config import Config

T = TypeVar("T")


@dataclass
class App:
    """Global options, resolved lazily so `--help` and `extract` never touch config or DB."""

    db_option: str | None = None
    config_option: str | None = None
    debug: bool = False
    _config: "Config | None" = field(default=None, repr=False)

    def config(self) -> "Config":
        """The loaded configuration (caltac_inbox.config.Config)."""
        if self._config is None:
            # Here: a command given --db never reads the configuration, nor imports it (~10 ms).
            from caltac_inbox.config import load_config

            self._config = load_config(self.config_option)
        return self._config

    def db_url(self) -> str | None:
        """--db > CALTAC_INBOX_DB > config [database] url > None (the default SQLite file); a
        plain path is a SQLite file."""
        from caltac_inbox.store.db import as_database_url

        if self.db_option:
            return as_database_url(self.db_option)
        database = getattr(self.config(), "database", None)
        return as_database_url(getattr(database, "url", None) or None)

    def budget(self, seconds: float | None = None, memory_mb: int | None = None) -> ReadBudget:
        """The ReadBudget of one message: the options given, else [limits] in the config file."""
        from caltac_inbox.budget import ReadBudget

        limits = self.config().limits
        return ReadBudget(seconds or limits.message_seconds, memory_mb or limits.message_memory_mb)

    def open_store(self) -> Any:
        """The store opened for writing (store.open_writer: created or migrated on first
        use); close it (or use `with`) when done."""
        return open_writer(self.db_url())


pass_app = click.make_pass_decorator(App)


def current_app() -> App:
    """The root group's App, from any command or subgroup."""
    return click.get_current_context().find_root().obj


def read_timeline(app: App, query: Callable[[Any], T]) -> T:
    """`query(source)` with `source` a row source of caltac_inbox.store.read.

    store.open_reader decides how: an existing SQLite file at the current migration is
    read through the standard library's sqlite3 (store.light): importing SQLAlchemy, its
    ORM and our models would cost ~0.25 s, most of such a command's run. Anything else
    (PostgreSQL, an older database) goes through the writer, which migrates it first.

    A timeline behind the stored facts (a run died between storing facts and refreshing
    the timeline) is rebuilt first, or, when the database cannot be written, shown as it
    is with a warning.

    Reading never creates a database: a missing SQLite file is a DatabaseError naming
    it. A `mailbox` parameter of the current command (--mailbox) must name a mailbox
    the database or the configuration knows, else it is a usage error listing them."""
    ctx = click.get_current_context(silent=True)
    mailbox = ctx.params.get("mailbox") if ctx is not None else None
    with open_reader(app.db_url()) as reader:
        if reader.light:
            with reader.snapshot() as snapshot:
                if mailbox:
                    require_known_mailbox(app, snapshot, mailbox)
                if not timeline_behind(snapshot):
                    return query(snapshot)
    with app.open_store() as store:
        if mailbox:
            with store.session(readonly=True) as session:
                require_known_mailbox(app, session, mailbox)
        try:
            store.catch_up_timeline()
        except UserError as exc:
            click.echo(f"{PROG}: warning: the timeline is behind the stored notices (a run stopped before "
                       f"updating it) and cannot be rebuilt now; showing it as it is: {printable(str(exc))}",
                       err=True)
        with store.session(readonly=True) as session:
            return query(session)


def require_known_mailbox(app: App, source: Any, mailbox: str) -> None:
    """A usage error unless `mailbox` is one the database stored notices for or the
    configuration names: a typo must not look like an empty timeline."""
    known = sorted(set(known_mailboxes(source)) | {mb.name for mb in app.config().mailboxes})
    if mailbox not in known:
        listed = ", ".join(known) if known else "none: no notice was stored with a mailbox name"
        raise click.UsageError(f"no mailbox named {mailbox!r} (known: {listed})")
