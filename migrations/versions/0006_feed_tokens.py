"""feed_tokens: private calendar feeds (only the sha256 of each token); timeline_state gets
a generation counter that every timeline refresh that changed something bumps

`caltac-inbox serve` answers a calendar client's conditional request from the token's
row and timeline_state alone (ETag and Last-Modified), without rendering the calendar.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'feed_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=True),
        sa.Column('kinds', JSON_TYPE, nullable=False),
        sa.Column('programs', JSON_TYPE, nullable=False),
        sa.Column('mailbox', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_tokens')),
        sa.UniqueConstraint('token_sha256', name=op.f('uq_feed_tokens_token_sha256')),
    )
    with op.batch_alter_table('timeline_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('generation', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True))
    # The timeline as it stands is generation 0, last changed when its newest entry did.
    op.execute("UPDATE timeline_state SET changed_at = "
               "(SELECT COALESCE(MAX(updated_at), CURRENT_TIMESTAMP) FROM entries) WHERE id = 1")
    with op.batch_alter_table('timeline_state', schema=None) as batch_op:
        batch_op.alter_column('changed_at', nullable=False)
        batch_op.alter_column('generation', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('timeline_state', schema=None) as batch_op:
        batch_op.drop_column('changed_at')
        batch_op.drop_column('generation')
    op.drop_table('feed_tokens')
