"""`caltac-inbox checklist import FILE`: the CDE coordinator checklist into the timeline.

Thin: read the file, parse it (caltac_inbox.checklist), hand bytes and facts to
`Store.import_checklist` (store.writer), print what happened.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from caltac_inbox.checklist import checklist_text, checklist_title, parse_checklist
from caltac_inbox.errors import InputError


@click.group("checklist")
def checklist() -> None:
    """The CDE LEA CAASPP Coordinator Checklist, month by month.

    \b
    Example:
      caltac-inbox checklist import LEA-CAASPP-Coordinator-Checklist-2026-27.docx
      caltac-inbox upcoming --kind task --as-of 2026-11-01 --days 29
    """


@checklist.command("import")
@click.argument("file", metavar="FILE")
@click.option("--json", "json_output", is_flag=True, help="Print the counts as one JSON object.")
@click.pass_context
def import_checklist(ctx: click.Context, file: str, json_output: bool) -> None:
    """Import a coordinator checklist (.docx, .txt or .md) into the timeline.

    Every item under a month heading ("November 2026") becomes a `task` entry
    for that month with its subsection ("General Guidelines", "Training");
    items under "Ongoing or Continuous" and "During Testing" have no month.
    Dated requirements (coordinator designation, test window deadline, secure
    browser cutoff, score data file retention ...) become entries of their
    own kinds. Years come from the edition's school year; a date the checklist
    contradicts elsewhere is kept as written and flagged for review.

    The file is archived like a notice: importing the same file again changes
    nothing; another edition adds its own entries beside the old ones.

    \b
    Example:
      caltac-inbox checklist import checklist-2026-27.docx
      caltac-inbox upcoming --as-of 2026-11-15 --kind task
    """
    path = Path(file)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{file}: is a directory; give the checklist file (.docx, .txt or .md)") from None
    except OSError as exc:
        raise InputError(f"{file}: cannot read ({exc.strerror or exc})") from None
    text = checklist_text(raw, file)
    facts = parse_checklist(text, file)
    with ctx.obj.open_store() as store:  # ctx.obj: the root group's cli.App
        report = store.import_checklist(raw, str(path), facts, subject=checklist_title(text))
    tasks = sum(1 for f in facts if f.kind == "task")
    review = sum(1 for f in facts if f.needs_review)
    summary = {
        "source": file,
        "new": bool(report.new),
        "tasks": tasks,
        "requirements": len(facts) - tasks,
        "needs_review": review,
        "facts_stored": report.facts,
        "timeline_changes": report.timeline_changes,
    }
    if json_output:
        click.echo(json.dumps(summary))
    elif report.new:
        click.echo(
            f"{file}: imported {tasks} task(s) and {len(facts) - tasks} dated requirement(s)"
            f" ({review} flagged for review); {report.timeline_changes} timeline entries changed"
        )
    else:
        click.echo(f"{file}: already imported (same file); nothing changed")
