"""The `serve` and `feed` commands. `--help` must not import the web stack, SQLAlchemy or
Jinja2: `serve` imports them when it runs."""
from __future__ import annotations

import json
import os
import sys

import click

from caltac_inbox.cli.app import current_app, read_timeline
from caltac_inbox.cli.options import emit, output_options
from caltac_inbox.cli.selection import kind_option, mailbox_option, program_option
from caltac_inbox.errors import ConfigError
from caltac_inbox.store.feeds import create_feed, list_feeds, normalized_filter, revoke_feed
from caltac_inbox.timeline.wording import short_when
from caltac_inbox.web.address import BASE_URL_ENV, DEFAULT_BASE_URL, DEFAULT_HOST, DEFAULT_PORT
from caltac_inbox.web.doctor import require_web


@click.command("serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port to listen on.")
@click.option("--open", "open_access", is_flag=True,
              help="Show the web timeline without a token (a trusted LAN only); feeds still need theirs.")
@click.option("--base-url", metavar="URL", envvar=BASE_URL_ENV,
              help=f"Public URL of this server for subscription links, e.g. https://caltac.example.org "
                   f"(env {BASE_URL_ENV}); default: the URL each request came to.")
@click.option("--trust-user-header", "trusted_user_header", metavar="HEADER",
              help="Behind a proxy that signs users in (oauth2-proxy): take the user from this request header, "
                   "e.g. X-Forwarded-User. Only for a server that nothing but the proxy can reach.")
@click.option("--editors", "editor_names", metavar="LIST",
              help="With --trust-user-header: the users (comma-separated, as the proxy names them) who may change "
                   "the timeline from the page.")
def serve_command(host: str, port: int, open_access: bool, base_url: str | None, trusted_user_header: str | None,
                  editor_names: str | None) -> None:
    """Serve calendar feeds and the web timeline; editors can act on the page.

    \b
    GET /calendar/TOKEN.ics  the calendar of export-ics for a feed (see `feed
                             create`); ?kind=, ?program=, ?mailbox= narrow it;
                             answers 304 when nothing changed since the last fetch
    GET /?token=TOKEN        the timeline by week, each entry with its evidence
                             and sources; the token is then kept in a cookie
    GET /healthz             database reachable and schema at head, each
                             mailbox's last successful poll and `stale` (JSON)

    GET /sign-in?token=T     an editor's sign-in link (`editor add`): mark done,
                             dismiss, correct, add, confirm or reject on the
                             page, review leads

    Reads the same database as the other commands; writes only what an editor
    does on the page, as the correction commands would. Listens on
    127.0.0.1 by default: put a TLS proxy (nginx, Caddy) in front of it to reach
    it from other machines (README, "Serving feeds and the web timeline"). Access
    logs are JSON lines on stderr, without tokens.

    \b
    Example:
      caltac-inbox serve
      caltac-inbox --db postgresql+psycopg://me@dbhost/caltac serve --port 8025
    """
    require_web()
    editors = tuple(n.strip() for n in (editor_names or "").split(",") if n.strip())
    if bool(trusted_user_header) != bool(editors):
        raise click.UsageError("--trust-user-header and --editors go together: the header names the user, "
                               "--editors says which users may change the timeline")
    import logging

    import uvicorn

    from caltac_inbox.web import server
    from caltac_inbox.web.access import ACCESS_LOGGER
    from caltac_inbox.web.app import ServeSettings, create_app
    from caltac_inbox.web.http import allowed_hosts

    from caltac_inbox.web.session import SESSION_KEY_ENV, SessionKeyError

    app = current_app()
    config = app.config()
    try:
        application = create_app(ServeSettings(db_url=app.db_url(), open_access=open_access,
                                               base_url=base_url.rstrip("/") if base_url else None,
                                               mailboxes=tuple(mb.name for mb in config.mailboxes),
                                               max_age=config.max_age,
                                               allowed_hosts=allowed_hosts(base_url, host, open_access),
                                               trusted_user_header=trusted_user_header, editors=editors,
                                               session_key=os.environ.get(SESSION_KEY_ENV)))
    except SessionKeyError as exc:
        raise ConfigError(str(exc)) from None
    access = logging.getLogger(ACCESS_LOGGER)
    if not access.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
    if open_access:
        click.echo(f"caltac-inbox: warning: --open: anyone who can reach {host}:{port} sees the timeline", err=True)
    if trusted_user_header:
        click.echo(f"caltac-inbox: warning: --trust-user-header: whoever reaches {host}:{port} directly can claim "
                   f"to be an editor in {trusted_user_header}; let only the signing-in proxy reach it", err=True)
    connections = server.raise_open_files_limit(server.DEFAULT_MAX_CONNECTIONS)
    server.quiet_accept_errors()
    # uvicorn's access log prints raw request lines, tokens included: ours replaces it.
    uvicorn.run(application, host=host, port=port, access_log=False, proxy_headers=True, server_header=False,
                log_level="info", http=server.guarded_protocol(connections), limit_concurrency=connections,
                timeout_keep_alive=server.KEEP_ALIVE_TIMEOUT,
                h11_max_incomplete_event_size=server.MAX_REQUEST_HEAD)


@click.group("feed")
def feed_group() -> None:
    """Private calendar feeds that calendar apps subscribe to.

    Each feed has its own secret token in its URL; only a hash of it is stored,
    so the URL is shown once, when the feed is created. Revoke a feed whose URL
    went where it should not; its URL then answers 404.

    \b
    Example:
      caltac-inbox feed create --mailbox coordinator --name "District office"
      caltac-inbox feed list
      caltac-inbox feed revoke 3
    """


@feed_group.command("create")
@click.option("--name", metavar="TEXT", help="What the feed is for (shown by `feed list`).")
@kind_option
@program_option
@mailbox_option
@click.option("--base-url", metavar="URL", envvar=BASE_URL_ENV, default=DEFAULT_BASE_URL, show_default=True,
              help=f"Where `caltac-inbox serve` is reached (env {BASE_URL_ENV}).")
@click.option("--json", "json_output", is_flag=True, help="Print one JSON object (id, token, path, url, page).")
def feed_create(name: str | None, kinds: tuple[str, ...], programs: tuple[str, ...], mailbox: str | None,
                base_url: str, json_output: bool) -> None:
    """Create a feed and print its subscription URL (only this once).

    \b
    Example:
      caltac-inbox feed create --base-url https://caltac.example.org
      caltac-inbox feed create --kind downtime --program CAASPP --json
    """
    with current_app().open_store() as store, store.session() as session:
        feed, token = create_feed(session, normalized_filter(kinds, programs, mailbox), name)
    base = base_url.rstrip("/")
    path = f"/calendar/{token}.ics"
    page = f"/?token={token}"
    if json_output:
        click.echo(json.dumps({"id": feed.id, "token": token, "path": path, "url": base + path, "page": base + page,
                               **{k: v for k, v in feed.to_json().items() if k not in ("id", "revoked_at")}}))
        return
    click.echo(f"Feed {feed.id} created. Keep these links private; they are shown only now:")
    click.echo(f"  calendar subscription: {base}{path}")
    click.echo(f"  web timeline:          {base}{page}")


@feed_group.command("list")
@output_options
def feed_list(output: str) -> None:
    """List feeds: number, name, filters, created, active or revoked (never a token).

    \b
    Example:
      caltac-inbox feed list
      caltac-inbox feed list --json
    """
    rows = [f.to_json() for f in read_timeline(current_app(), list_feeds)]
    emit(rows, output, FEED_COLUMNS, empty="No feeds yet; create one with `caltac-inbox feed create`.")


@feed_group.command("revoke")
@click.argument("feed", metavar="ID|URL")
def feed_revoke(feed: str) -> None:
    """Revoke a feed: its URL answers 404 from now on (as a URL that never existed).

    ID is the number `feed list` shows; the feed's URL or token works too.

    \b
    Example:
      caltac-inbox feed revoke 3
    """
    with current_app().open_store() as store, store.session() as session:
        revoked = revoke_feed(session, feed)
    click.echo(f"feed {revoked.id} revoked" + (f" ({revoked.name})" if revoked.name else ""))


FEED_COLUMNS = [
    ("id", lambda f: f["id"]),
    ("name", lambda f: f["name"]),
    ("kinds", lambda f: f["kinds"] or "all"),
    ("programs", lambda f: f["programs"] or "all"),
    ("mailbox", lambda f: f["mailbox"] or "all"),
    ("created", lambda f: short_when(f["created_at"])),
    ("status", lambda f: "revoked " + f["revoked_at"][:10] if f["revoked_at"] else "active"),
]


__all__ = ["feed_group", "serve_command"]
