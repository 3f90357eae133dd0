"""facts.scope/span_first/span_last and timeline_pending: an ingest, a reparse or a
correction recomputes only the timeline groups it changed (store.incremental)

A database that has facts gets one full rebuild at its next refresh ("*" pending),
which also fills in the scope of every fact stored before this revision.

Not in batch mode (see 0007): on SQLite that copies facts and drops the old table, and
with foreign keys on that deletes every entry_sources row.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('facts', sa.Column('scope', sa.String(length=300), nullable=True))
    op.add_column('facts', sa.Column('span_first', sa.String(length=10), nullable=True))
    op.add_column('facts', sa.Column('span_last', sa.String(length=10), nullable=True))
    op.create_index('ix_facts_scope_span_last', 'facts', ['scope', 'span_last'], unique=False)
    op.create_table(
        'timeline_pending',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=300), nullable=False),
        sa.Column('span_first', sa.String(length=10), nullable=False),
        sa.Column('span_last', sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_timeline_pending')),
        sa.UniqueConstraint('scope', 'span_first', 'span_last',
                            name=op.f('uq_timeline_pending_scope_span_first_span_last')),
    )
    op.execute("INSERT INTO timeline_pending (scope, span_first, span_last) "
               "SELECT '*', '', '' WHERE EXISTS (SELECT 1 FROM facts)")


def downgrade() -> None:
    op.drop_table('timeline_pending')
    op.drop_index('ix_facts_scope_span_last', table_name='facts')
    for name in ('span_last', 'span_first', 'scope'):
        op.drop_column('facts', name)
