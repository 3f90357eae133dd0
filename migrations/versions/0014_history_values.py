"""entries.history keeps each step's values typed: {"when": ISO} for a day or a moment,
{"start": ISO, "end": ISO, "systems": [...]} for a downtime window, {"word": text} for a
status, a school year or a month (caltac_inbox.timeline.history), where it kept the
text the JSON output shows ("2016-09-06 to 2016-09-13T23:59:00-07:00 (TOMS)").

A refresh rewrites only the entries whose content changed (the history is not part of
the content hash), so the rows already stored are converted here: upgrade reads the
old text once, the only place that ever does; downgrade writes it back from the
values. Both keep every other key of a step as it is.

The functions below spell the same formats as timeline.history, on purpose without
importing it: a migration must keep meaning what it meant when the code moves on.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Callable, Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
ENTRIES = sa.table('entries', sa.column('id', sa.Integer()), sa.column('history', JSON_TYPE))
BATCH = 500

# what isoformat() gives for a date, or a datetime (with or without an offset)
_ISO = r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?|Z)?)?"
# 'START to END' with ' (SYSTEMS)' when the step stated them; a missing start or end is 'None'
_WINDOW = re.compile(rf"(None|{_ISO}) to (None|{_ISO})(?: \((.*)\))?", re.DOTALL)
_MOMENT = re.compile(_ISO)


def upgrade() -> None:
    _convert(_typed)


def downgrade() -> None:
    _convert(_text)


def _convert(value: Callable[[Any], Any]) -> None:
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.select(ENTRIES.c.id, ENTRIES.c.history).where(ENTRIES.c.id > last)
                            .order_by(ENTRIES.c.id).limit(BATCH)).all()
        if not rows:
            return
        for entry_id, history in rows:
            converted = [_step(step, value) for step in history or []]
            if converted != (history or []):
                conn.execute(sa.update(ENTRIES).where(ENTRIES.c.id == entry_id).values(history=converted))
        last = rows[-1][0]


def _step(step: Any, value: Callable[[Any], Any]) -> Any:
    if not isinstance(step, dict):
        return step
    out = dict(step)
    for key in ("from", "to"):
        if key in out:
            out[key] = value(out[key])
    return out


def _typed(text: Any) -> Any:
    """The old text of a value -> the value, tagged (a value already typed stays)."""
    if not isinstance(text, str):
        return text
    window = _WINDOW.fullmatch(text)
    if window is not None and all(_is_when(part) for part in window.group(1, 2) if part != "None"):
        start, end, systems = window.groups()
        return {"start": None if start == "None" else start, "end": None if end == "None" else end,
                "systems": systems.split(", ") if systems is not None else []}
    if _MOMENT.fullmatch(text) and _is_when(text):
        return {"when": text}
    return {"word": text}


def _is_when(text: str) -> bool:
    try:
        date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _text(value: Any) -> Any:
    """A tagged value -> the old text (anything else stays)."""
    if not isinstance(value, dict):
        return value
    if "when" in value:
        return value["when"]
    if "word" in value:
        return value["word"]
    systems = value.get("systems") or []
    return (f"{value.get('start') or 'None'} to {value.get('end') or 'None'}"
            + (f" ({', '.join(systems)})" if systems else ""))
