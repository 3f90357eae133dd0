"""indexes on entries.key_at and entries.end_at for date-range queries

`upcoming` and `timeline --from/--to` preselect entries by date in SQL; the existing
(kind, key_at) index cannot serve a query that names no kind.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from __future__ import annotations

from typing import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index('ix_entries_key_at', ['key_at'], unique=False)
        batch_op.create_index('ix_entries_end_at', ['end_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index('ix_entries_end_at')
        batch_op.drop_index('ix_entries_key_at')
