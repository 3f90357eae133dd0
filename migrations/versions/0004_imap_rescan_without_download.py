"""imap_messages keep the Message-ID and RFC822.SIZE the server declared; imap_state
counts UIDVALIDITY changes

A rescan after a UIDVALIDITY change records a UID whose Message-ID and size match one
already recorded in the mailbox without downloading its body again, and a UIDVALIDITY
that changes again before the folder was scanned to the end unchanged is reported (a
server that renumbers the folder on every read-only session, as Courier does).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('imap_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('size', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index('ix_imap_messages_mailbox_message_id', ['mailbox', 'message_id'], unique=False)
    with op.batch_alter_table('imap_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uidvalidity_changes', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('imap_state', schema=None) as batch_op:
        batch_op.drop_column('uidvalidity_changes')
    with op.batch_alter_table('imap_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_imap_messages_mailbox_message_id')
        batch_op.drop_column('size')
        batch_op.drop_column('message_id')
