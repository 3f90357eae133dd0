"""The `editor` commands: who may act from the web page (web/editing.py)."""
from __future__ import annotations

import json

import click

from caltac_inbox.cli.app import current_app, read_timeline
from caltac_inbox.cli.options import emit, output_options
from caltac_inbox.cli.selection import mailbox_option
from caltac_inbox.store.editors import create_editor, list_editors, revoke_editor
from caltac_inbox.web.address import BASE_URL_ENV, DEFAULT_BASE_URL


@click.group("editor")
def editor_group() -> None:
    """People who may act from the web page: mark done, dismiss, correct, add, review.

    Each editor gets a private sign-in link; only a hash of it is stored, so the
    link is shown once, when the editor is added. Opening it in a browser signs
    them in to `caltac-inbox serve`; what they change there is recorded with
    their name, as `--by` records it on the command line. Revoke an editor
    whose link went where it should not: the link and their sessions stop
    working at once.

    \b
    Example:
      caltac-inbox editor add "Pat Lee" --base-url https://caltac.example.org
      caltac-inbox editor list
      caltac-inbox editor revoke 2
    """


@editor_group.command("add")
@click.argument("name")
@mailbox_option
@click.option("--base-url", metavar="URL", envvar=BASE_URL_ENV, default=DEFAULT_BASE_URL, show_default=True,
              help=f"Where `caltac-inbox serve` is reached (env {BASE_URL_ENV}).")
@click.option("--json", "json_output", is_flag=True, help="Print one JSON object (id, name, mailbox, url).")
def editor_add(name: str, mailbox: str | None, base_url: str, json_output: bool) -> None:
    """Add an editor and print their sign-in link (only this once).

    NAME is what their corrections record as `by`. With --mailbox they see and
    change only that mailbox's entries.

    \b
    Example:
      caltac-inbox editor add "Pat Lee" --base-url https://caltac.example.org
      caltac-inbox editor add "Site 4 coordinator" --mailbox site4 --json
    """
    with current_app().open_store() as store, store.session() as session:
        editor, token = create_editor(session, name, mailbox)
    url = f"{base_url.rstrip('/')}/sign-in?token={token}"
    if json_output:
        click.echo(json.dumps({**editor.to_json(), "url": url}))
        return
    click.echo(f"Editor {editor.id} ({editor.name}) added. Keep this sign-in link private; it is shown only now:")
    click.echo(f"  sign-in link: {url}")


@editor_group.command("list")
@output_options
def editor_list(output: str) -> None:
    """List editors: number, name, mailbox, added, active or revoked (never a link).

    \b
    Example:
      caltac-inbox editor list
      caltac-inbox editor list --json
    """
    rows = [e.to_json() for e in read_timeline(current_app(), list_editors)]
    emit(rows, output, EDITOR_COLUMNS, empty="No editors yet; add one with `caltac-inbox editor add NAME`.")


@editor_group.command("revoke")
@click.argument("editor", metavar="ID|LINK")
def editor_revoke(editor: str) -> None:
    """Revoke an editor: their link and their open sessions stop working.

    ID is the number `editor list` shows; the sign-in link works too. What they
    changed stays (undo it with `caltac-inbox undo`).

    \b
    Example:
      caltac-inbox editor revoke 2
    """
    with current_app().open_store() as store, store.session() as session:
        revoked = revoke_editor(session, editor)
    click.echo(f"editor {revoked.id} revoked ({revoked.name})")


EDITOR_COLUMNS = [
    ("id", lambda e: e["id"]),
    ("name", lambda e: e["name"]),
    ("mailbox", lambda e: e["mailbox"] or "all"),
    ("added", lambda e: (e["created_at"] or "")[:16].replace("T", " ")),
    ("status", lambda e: "revoked " + e["revoked_at"][:10] if e["revoked_at"] else "active"),
]


__all__ = ["editor_group"]
