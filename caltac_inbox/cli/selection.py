"""The options that choose timeline entries (--kind, --program, --mailbox,
--include-dismissed), the days they are given as (--as-of, --from, --to: dates as a
person types them), and the words that say what was chosen."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Sequence

import click

from caltac_inbox.display import printable
from caltac_inbox.model import KINDS, PROGRAMS
from caltac_inbox.timeline.time import LOS_ANGELES
from caltac_inbox.user_dates import DateInputError, read_user_date


def kind_option(f: Callable) -> Callable:
    return click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS, case_sensitive=False),
                        help="Only this kind (repeatable).")(f)


def program_option(f: Callable) -> Callable:
    return click.option("--program", "programs", multiple=True,
                        type=click.Choice(PROGRAMS, case_sensitive=False),
                        help="Only entries for this program (repeatable); entries naming no program always show.")(f)


def mailbox_option(f: Callable) -> Callable:
    return click.option("--mailbox", metavar="NAME", help="Only entries from notices of this mailbox.")(f)


def include_dismissed_option(f: Callable) -> Callable:
    return click.option("--include-dismissed", is_flag=True,
                        help="Also list entries dismissed with `caltac-inbox dismiss`.")(f)


MAX_DAYS = 36_525  # a century ahead


@dataclass(frozen=True)
class GivenDate:
    """A day from the command line and how it was typed."""

    day: date
    text: str
    iso: bool  # typed as YYYY-MM-DD: nothing to tell back

    def told(self, label: str) -> str:
        """'as of Monday 2026-12-07 (next monday)'."""
        return f"{label} {self.day:%A} {self.day.isoformat()} ({' '.join(self.text.split())})"


class DateParam(click.ParamType):
    """A day as a person types it (caltac_inbox.user_dates): YYYY-MM-DD, today,
    tomorrow, a weekday, +7d/-2w, or words dateparser reads; "today" is the day in
    America/Los_Angeles. Anything else, or a day outside model.FIRST_DAY..LAST_DAY,
    is a usage error."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, GivenDate):
            return value
        try:
            read = read_user_date(str(value), datetime.now(LOS_ANGELES).date())
        except DateInputError as exc:
            self.fail(str(exc), param, ctx)
        return GivenDate(read.day, str(value), read.iso)


DATE = DateParam()
DATE_FORMS = "YYYY-MM-DD, today, tomorrow, a weekday (next monday), +7d, -2w or words ('in 3 days')"


def tell_dates(*given: tuple[str, GivenDate | None]) -> None:
    """Say on stderr which day a non-ISO date was read as (stdout stays the data)."""
    for label, value in given:
        if value is not None and not value.iso:
            click.echo(printable(value.told(label)), err=True)


def check_range(from_: GivenDate | None, to: GivenDate | None) -> None:
    if from_ is not None and to is not None and from_.day > to.day:
        raise click.UsageError(f"--from {from_.day} is after --to {to.day}; give the earlier day to --from",
                               ctx=click.get_current_context())


def day_of(value: GivenDate | None) -> date | None:
    return value.day if value else None


def selection_text(kinds: Sequence[str], programs: Sequence[str], mailbox: str | None,
                   include_cancelled: bool = False) -> str:
    """' (kind downtime or deadline, program ELPAC, mailbox x)': the filters an empty
    result was looked for with ('' without any)."""
    parts = []
    if kinds:
        parts.append("kind " + " or ".join(dict.fromkeys(k.lower() for k in kinds)))
    if programs:
        parts.append("program " + " or ".join(dict.fromkeys(p.upper() for p in programs)))
    if mailbox is not None:
        parts.append(f"mailbox {mailbox}")
    if include_cancelled:
        parts.append("cancelled included")
    return f" ({', '.join(parts)})" if parts else ""
