"""`caltac-inbox db rebuild-timeline`: replay every stored fact into the timeline.

An ingest, poll, reparse or correction recomputes only the part of the timeline it
changed (store.incremental); this is the full replay, for after an upgrade of the
reconciliation rules or to check that nothing drifted. Light to import (click only).
"""
from __future__ import annotations

from typing import Any

import click


def rebuild_timeline_command(pass_app: Any) -> click.Command:
    @click.command("rebuild-timeline")
    @pass_app
    def rebuild_timeline(app: Any) -> None:
        """Rebuild the whole timeline from the stored facts and corrections.

        Every ingest, poll and correction already updates the entries it touches;
        this replays everything, the way `reparse --all` ends. It prints how many
        entries changed (0 when the timeline was in line with the facts).

        \b
        Example:
          caltac-inbox db rebuild-timeline
        """
        from caltac_inbox.store.light import missing_database_error

        missing = missing_database_error(app.db_url())
        if missing is not None:
            raise missing
        with app.open_store() as store:
            rebuilt = store.rebuild(full=True)
        click.echo(f"timeline rebuilt: {rebuilt.count} entr{'y' if rebuilt.count == 1 else 'ies'} changed")

    return rebuild_timeline


__all__ = ["rebuild_timeline_command"]
