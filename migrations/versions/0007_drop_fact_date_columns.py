"""drop facts.start, end, due, at, key_at and their index: written, never read

Queries select timeline entries (entries.key_at, entries.end_at), never facts, by date;
a fact's dates are in facts.fields.

Not in batch mode: on SQLite that copies the table and drops the old one, and with
foreign keys on, dropping facts deletes every entry_sources row (ON DELETE CASCADE).
SQLite 3.35+ drops a column in place (once no index names it).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ('start', 'end', 'due', 'at', 'key_at')


def upgrade() -> None:
    op.drop_index('ix_facts_kind_key_at', table_name='facts')
    for name in COLUMNS:
        op.drop_column('facts', name)


def downgrade() -> None:
    # The columns come back empty: the code of 0005 writes them and never reads them.
    for name in COLUMNS:
        op.add_column('facts', sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_facts_kind_key_at', 'facts', ['kind', 'key_at'], unique=False)
