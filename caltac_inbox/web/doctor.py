"""Whether the web server can run, and what `doctor` says about the calendar feeds: light
to import (the standard library and the store's light modules), so a poll that imports
the doctor's module stays light."""
from __future__ import annotations

import importlib.util
import os

from caltac_inbox.errors import ConfigError
from caltac_inbox.store import db
from caltac_inbox.store.feeds import list_feeds
from caltac_inbox.web.address import BASE_URL_ENV

INSTALL_WEB = "pip install 'caltac-inbox[web]' (with pipx: pipx inject caltac-inbox starlette uvicorn jinja2)"
WEB_MODULES = ("starlette", "uvicorn", "jinja2")


def missing_web_module() -> str | None:
    """The first module of the `web` extra that cannot be imported, or None."""
    for name in WEB_MODULES:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):  # a module set to None in sys.modules
            return name
    return None


def require_web() -> None:
    missing = missing_web_module()
    if missing:
        raise ConfigError(f"the web server is not installed (no module {missing}); {INSTALL_WEB}")


def feed_doctor_lines(url: str | None) -> list[tuple[bool, str, int]]:
    """(ok, detail, exit code) for `doctor`: the feeds table, active feeds, and the web
    extra that serves them. Reads only."""
    resolved = db.resolve_url(url)
    path = db.plain_sqlite_file(resolved)
    if path is not None and not path.is_file():
        return [(True, "no database yet, so no feeds; create one with `caltac-inbox feed create`", 0)]
    engine = db.make_engine(resolved)
    try:
        if db.stamped_revisions(engine) != [db.SCHEMA_HEAD]:
            return [(True, "the database has no feed table yet; `caltac-inbox db upgrade` (or the next ingest or "
                           "poll) adds it", 0)]
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            feeds = list_feeds(session, include_revoked=False)
    except Exception as exc:  # noqa: BLE001 - reported by the database check already
        return [(False, f"cannot read the feeds: {' '.join(str(exc).split())[:200]}", 5)]
    finally:
        engine.dispose()
    if not feeds:
        return [(True, "none active; create one with `caltac-inbox feed create`", 0)]
    names = ", ".join(f"{f.id}" + (f" ({f.name})" if f.name else "") for f in feeds)
    out = [(True, f"{len(feeds)} active: {names}", 0)]
    missing = missing_web_module()
    if missing:
        out.append((False, f"feeds exist but the web server that serves them is not installed (no module "
                           f"{missing}); {INSTALL_WEB}", ConfigError.exit_code))
    base = os.environ.get(BASE_URL_ENV)
    if base and not base.startswith(("http://", "https://")):
        out.append((False, f"{BASE_URL_ENV}={base!r} is not an http(s) URL; subscription links would not work",
                    ConfigError.exit_code))
    return out
