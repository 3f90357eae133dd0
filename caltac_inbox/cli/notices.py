"""Notices in and out of the archive: `extract`, `ingest`, `messages`, `reparse`."""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Iterable, Sequence

import click

from caltac_inbox.budget import DEFAULT_BUDGET, MAX_MESSAGE_MB, ReadBudget
from caltac_inbox.cli.app import App, pass_app, read_timeline
from caltac_inbox.cli.columns import FACT_COLUMNS, FACT_COLUMNS_NARROW, MESSAGE_COLUMNS
from caltac_inbox.cli.options import (MAX_LIMIT, PROG, authserv_id_option, budget_options, emit, notify_option,
                                      output_options, print_error)
from caltac_inbox.cli.selection import mailbox_option
from caltac_inbox.display import json_line, printable
from caltac_inbox.errors import UserError
from caltac_inbox.export.notify import change_lines, notify, resolve_notify
from caltac_inbox.model import RawMessage
from caltac_inbox import pipeline
from caltac_inbox.sources.files import iter_paths
from caltac_inbox.store import read as queries
from caltac_inbox.terminal import IngestProgress


def _trusting(items: Iterable[Any], authserv_ids: Sequence[str] | None,
              forwarders: Sequence[str] = ()) -> Iterable[Any]:
    """Input items told which receiving server's Authentication-Results to trust, and whose
    forwards keep a notice verified."""
    if authserv_ids is None:
        return items
    ids = tuple(a.lower() for a in authserv_ids)
    return (replace(i, authserv_ids=ids, trusted_forwarders=tuple(forwarders)) if isinstance(i, RawMessage) else i
            for i in items)


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@authserv_id_option
@output_options
@budget_options
@click.option("--explain", is_flag=True,
              help="Instead of the facts: every dated sentence, the cues each date fired and the decision.")
@click.pass_context
def extract(ctx: click.Context, paths: tuple[str, ...], authserv_ids: tuple[str, ...], output: str,
            time_limit: float | None, memory_limit: int | None, explain: bool) -> None:
    """Print the facts in notices without storing anything.

    PATH is an .eml file, a directory of them (recursive), an mbox file, a
    Maildir, or - for one message on standard input. With --json: one object
    per message, in input order, with its facts (fields: docs/facts.md in the
    source repository). A message that cannot be read is named on stderr and
    the exit code is 1 once all input is processed.

    \b
    Example:
      caltac-inbox extract samples/ --json
      caltac-inbox extract notice.eml
      caltac-inbox extract --explain notice.eml
    """
    failed = 0
    rows: list[dict[str, Any]] = []
    budget = ReadBudget(time_limit or DEFAULT_BUDGET.seconds, memory_limit or DEFAULT_BUDGET.memory_mb)
    for extraction in pipeline.extract(_trusting(iter_paths(list(paths)), authserv_ids or None), budget=budget):
        if extraction.error:
            failed += 1
            print_error(extraction.error)
        if explain:
            from caltac_inbox.classify.explain import explain_lines

            click.echo("\n".join([extraction.source, *(explain_lines(extraction.notice) if extraction.notice else [])]))
        elif output == "json":
            click.echo(json_line(extraction.to_json()))
        else:
            rows.extend({"source": extraction.source, **fact.to_json()} for fact in extraction.facts)
    if output != "json" and not explain:
        emit(rows, output, FACT_COLUMNS, empty="No facts found.", narrow=FACT_COLUMNS_NARROW)
    if failed:
        ctx.exit(1)


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--mailbox", metavar="NAME", help="Tag the stored messages and facts with this mailbox name.")
@click.option("--json", "json_output", is_flag=True, help="Print the counts as one JSON object.")
@click.option("--max-size", "max_size_mb", type=click.IntRange(min=1), default=MAX_MESSAGE_MB, show_default=True,
              metavar="MB", help="Messages larger than this are archived but not parsed.")
@authserv_id_option
@budget_options
@notify_option
@pass_app
@click.pass_context
def ingest(ctx: click.Context, app: App, paths: tuple[str, ...], mailbox: str | None, json_output: bool,
           max_size_mb: int, authserv_ids: tuple[str, ...], time_limit: float | None, memory_limit: int | None,
           notify_command: str | None) -> None:
    """Archive notices and store their facts in the database.

    Same inputs as extract. Every message is archived once (by its bytes, line
    endings and mbox quoting aside): ingesting the same files again, or the IMAP
    copy of an exported message, stores nothing new and says so. Messages that
    fail to parse, or take longer than --time-limit or more memory than
    --memory-limit to read, are kept with their error (see `messages --failed`,
    retry with `reparse`); the exit code is then 1. A sender counts as
    authenticated only by the Authentication-Results of the receiving server
    named by --authserv-id, else by `authserv_id` of the configured mailbox
    named by --mailbox, else by the top-level `authserv_id` of the
    configuration file; with none of these its facts are shown unverified.

    \b
    Example:
      caltac-inbox ingest --authserv-id mx.district.k12.ca.us samples/
      caltac-inbox --db sqlite:///out/demo.db ingest ~/mail/caltac.mbox
    """
    items: Iterable[Any] = iter_paths(list(paths))
    if mailbox:
        items = (replace(i, mailbox=mailbox) if isinstance(i, RawMessage) else i for i in items)
    items = _trusting(items, authserv_ids or app.config().authserv_ids_for(mailbox),
                      app.config().trusted_forwarders_for(mailbox))
    notify_argv = resolve_notify(notify_command, app.config())
    progress = IngestProgress(paths)  # measures the input before the database file is created beside it
    budget = app.budget(time_limit, memory_limit)
    with app.open_store() as store, progress:
        report = pipeline.ingest(store, progress.items(items), max_size=max_size_mb * 2**20,
                                 progress=progress.stored, budget=budget)
    for _source, message in report.errors:
        print_error(message)
    skipped = report.skipped_warning()
    if skipped:
        click.echo(f"{PROG}: warning: {printable(skipped)}", err=True)
    if json_output:
        click.echo(json.dumps(report.to_json()))
    else:
        for line in change_lines(report.changes):
            click.echo(line)
        click.echo(report.summary())
    try:
        notify(notify_argv, [(mailbox, c) for c in report.changes])
    except UserError as exc:
        print_error(str(exc))
        ctx.exit(exc.exit_code)
    if report.errors:
        ctx.exit(1)


@click.command()
@click.option("--failed", is_flag=True, help="Only messages that failed to parse.")
@click.option("--search", metavar="TEXT", help="Only messages whose subject or sender contains TEXT (any case).")
@click.option("--limit", type=click.IntRange(min=1, max=MAX_LIMIT), metavar="N", help="Only the N archived last.")
@mailbox_option
@output_options
@pass_app
def messages(app: App, failed: bool, search: str | None, limit: int | None, mailbox: str | None,
             output: str) -> None:
    """List archived messages with their parse status and error, oldest first.

    \b
    Example:
      caltac-inbox messages --failed
      caltac-inbox messages --search downtime --limit 20
      caltac-inbox messages --json
    """
    rows = read_timeline(app, lambda source: queries.list_messages(source, failed=failed, mailbox=mailbox,
                                                                   search=search, limit=limit))
    empty = ("No archived message matches --search." if search else "No failed messages." if failed
             else "No messages archived yet.")
    emit(rows, output, MESSAGE_COLUMNS, empty=empty)


@click.command()
@click.option("--failed/--all", "failed_only", default=True, show_default=True,
              help="Retry only messages that failed to parse, or re-read every archived message.")
@budget_options
@pass_app
@click.pass_context
def reparse(ctx: click.Context, app: App, failed_only: bool, time_limit: float | None,
            memory_limit: int | None) -> None:
    """Parse and classify archived messages again (after an upgrade or a fix).

    Works on the stored raw bytes, so nothing is fetched. Running it twice
    changes nothing the second time. Exit code 1 if a message still fails.

    \b
    Example:
      caltac-inbox reparse --failed
      caltac-inbox reparse --all
    """
    budget = app.budget(time_limit, memory_limit)
    with app.open_store() as store:
        report = pipeline.reparse(store, failed_only=failed_only, trust=app.config().authserv_ids_for,
                                  forwarders=app.config().trusted_forwarders_for, budget=budget)
    for _source, message in report.errors:
        print_error(message)
    click.echo(report.summary())
    if report.errors:
        ctx.exit(1)

