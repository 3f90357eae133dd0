"""timeline_changes: every entry a timeline rebuild created, changed, cancelled or removed

A poll or ingest prints what it changed; `caltac-inbox changes` shows it again later
from this table. Only the fields that changed are kept (before/after).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'timeline_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.String(length=64), nullable=False),
        sa.Column('generation', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('mailbox', sa.String(length=200), nullable=True),
        sa.Column('uid', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('change', sa.String(length=16), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('program', JSON_TYPE, nullable=False),
        sa.Column('entry_when', sa.String(length=40), nullable=True),
        sa.Column('reason', sa.String(length=32), nullable=True),
        sa.Column('before', JSON_TYPE, nullable=False),
        sa.Column('after', JSON_TYPE, nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_timeline_changes')),
    )
    op.create_index('ix_timeline_changes_recorded_at', 'timeline_changes', ['recorded_at'], unique=False)
    op.create_index(op.f('ix_timeline_changes_run_id'), 'timeline_changes', ['run_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_timeline_changes_run_id'), table_name='timeline_changes')
    op.drop_index('ix_timeline_changes_recorded_at', table_name='timeline_changes')
    op.drop_table('timeline_changes')
