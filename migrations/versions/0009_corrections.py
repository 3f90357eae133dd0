"""corrections (what the coordinator dismissed, corrected or added: never touched by a
reparse) and leads (dated sentences that produced no fact, rebuilt by every reparse)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'corrections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('target', sa.String(length=200), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('mailbox', sa.String(length=200), nullable=True),
        sa.Column('made_by', sa.String(length=200), nullable=False),
        sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('new_values', JSON_TYPE, nullable=False),
        sa.Column('old_values', JSON_TYPE, nullable=False),
        sa.Column('basis_sent', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('lead', sa.String(length=64), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('superseded_by', sa.Text(), nullable=True),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_corrections')),
    )
    op.create_index(op.f('ix_corrections_target'), 'corrections', ['target'], unique=False)
    op.create_table(
        'leads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_pk', sa.Integer(), nullable=False),
        sa.Column('identity', sa.String(length=64), nullable=False),
        sa.Column('mailbox', sa.String(length=200), nullable=True),
        sa.Column('when', sa.String(length=40), nullable=True),
        sa.Column('sentence', sa.Text(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['message_pk'], ['messages.id'], name=op.f('fk_leads_message_pk_messages'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_leads')),
        sa.UniqueConstraint('message_pk', 'identity', name=op.f('uq_leads_message_pk_identity')),
    )
    op.create_index(op.f('ix_leads_identity'), 'leads', ['identity'], unique=False)
    op.create_index(op.f('ix_leads_message_pk'), 'leads', ['message_pk'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_leads_message_pk'), table_name='leads')
    op.drop_index(op.f('ix_leads_identity'), table_name='leads')
    op.drop_table('leads')
    op.drop_index(op.f('ix_corrections_target'), table_name='corrections')
    op.drop_table('corrections')
