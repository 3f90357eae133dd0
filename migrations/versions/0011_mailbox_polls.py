"""mailbox_polls: each mailbox's last successful poll and last attempt with its error, so
the CLI, the web page, /healthz and doctor can say how fresh the timeline is; digests: each
digest sent, so the next one lists what changed since

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-07
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'mailbox_polls',
        sa.Column('mailbox', sa.String(length=200), nullable=False),
        sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('succeeded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('mailbox', name=op.f('pk_mailbox_polls')),
    )
    op.create_table(
        'digests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('as_of', sa.String(length=10), nullable=False),
        sa.Column('recipients', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_digests')),
    )


def downgrade() -> None:
    op.drop_table('digests')
    op.drop_table('mailbox_polls')
