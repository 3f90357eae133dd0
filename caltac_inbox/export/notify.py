"""What a poll or ingest changed in the timeline, sent out: the lines it prints and the
notify command it runs (`caltac-inbox changes` shows them again later: cli/changes.py).

A change is a timeline.changes.TimelineChange (or its JSON). Under cron, these lines are
the whole output of a poll that changed something, and nothing is printed otherwise.
`--notify-command CMD` (or `notify_command` in the config file) runs CMD, split like a
shell would but without one, with the changes as a JSON array on stdin, only when there
are changes; the command takes any secret it needs from its environment.

Poll and ingest import it on every run; a poll that changed nothing imports no model or
timeline module through it.
"""
from __future__ import annotations

import json
import subprocess
from typing import Any, Sequence

from caltac_inbox.config import Config, notify_argv
from caltac_inbox.display import printable
from caltac_inbox.errors import UserError

NOTIFY_TIMEOUT_SECONDS = 120


class NotifyError(UserError):
    """The notify command could not be run or failed; the changes are stored all the same."""

    exit_code = 1


def change_lines(changes: Sequence[Any]) -> list[str]:
    """The printed line of each TimelineChange, one printable line each."""
    # Here, not at the top: a poll that finds nothing new never imports the timeline.
    from caltac_inbox.timeline.changes import change_line

    return [printable(change_line(c)) for c in changes]


def resolve_notify(option: str | None, config: Config) -> tuple[str, ...] | None:
    """--notify-command, else the config file's notify_command, else None."""
    if option is not None:
        return notify_argv(option, "--notify-command")
    return getattr(config, "notify_command", None)


def notify(argv: Sequence[str] | None, changes: Sequence[tuple[str | None, Any]]) -> None:
    """Run the notify command with `changes` ((mailbox, TimelineChange) pairs) as one JSON
    array on stdin, if there are any; each object carries its mailbox as `changes --json`
    does. Raises NotifyError (one line) when it cannot be run or exits non-zero."""
    if not argv or not changes:
        return
    payload = json.dumps([{**c.to_json(), "mailbox": mailbox} for mailbox, c in changes], ensure_ascii=False).encode()
    name = argv[0]
    try:
        done = subprocess.run(list(argv), input=payload, timeout=NOTIFY_TIMEOUT_SECONDS, check=False)
    except FileNotFoundError:
        raise NotifyError(f"notify command {name!r} not found; check --notify-command or notify_command "
                          "(the changes are stored: `caltac-inbox changes --since last-poll`)") from None
    except PermissionError:
        raise NotifyError(f"notify command {name!r} is not executable; check its permissions "
                          "(the changes are stored: `caltac-inbox changes --since last-poll`)") from None
    except subprocess.TimeoutExpired:
        raise NotifyError(f"notify command {name!r} did not finish within {NOTIFY_TIMEOUT_SECONDS} s; it was "
                          "stopped (the changes are stored: `caltac-inbox changes --since last-poll`)") from None
    except OSError as exc:
        raise NotifyError(f"cannot run notify command {name!r}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise NotifyError(f"notify command {name!r} failed with exit status {done.returncode} (the changes are "
                          "stored: `caltac-inbox changes --since last-poll`)")


__all__ = ["NotifyError", "change_lines", "notify", "resolve_notify"]
