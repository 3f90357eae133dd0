"""initial schema: messages, facts, entries, entry_sources, imap_messages, imap_state

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Column types spelled out here (not imported from the models) so this revision
# keeps meaning the same thing when schema.py changes later.
JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
IMAP_NUMBER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('program', JSON_TYPE, nullable=False),
    sa.Column('key_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('fields', JSON_TYPE, nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('history', JSON_TYPE, nullable=False),
    sa.Column('unverified', sa.Boolean(), nullable=False),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entries')),
    sa.UniqueConstraint('uid', name=op.f('uq_entries_uid'))
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index('ix_entries_kind_key_at', ['kind', 'key_at'], unique=False)

    op.create_table('imap_state',
    sa.Column('mailbox', sa.String(length=200), nullable=False),
    sa.Column('folder', sa.String(length=500), nullable=False),
    sa.Column('uidvalidity', IMAP_NUMBER, nullable=False),
    sa.Column('last_uid', IMAP_NUMBER, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('mailbox', 'folder', name=op.f('pk_imap_state'))
    )
    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('mailbox', sa.String(length=200), nullable=True),
    sa.Column('message_id', sa.Text(), nullable=True),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('sender', sa.Text(), nullable=True),
    sa.Column('sent', sa.DateTime(timezone=True), nullable=True),
    sa.Column('forwarded_by', sa.Text(), nullable=True),
    sa.Column('authenticated', sa.Boolean(), nullable=True),
    sa.Column('parse_status', sa.String(length=16), nullable=False),
    sa.Column('parse_error', sa.Text(), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('sha256', name=op.f('uq_messages_sha256'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_mailbox'), ['mailbox'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_message_id'), ['message_id'], unique=False)

    op.create_table('facts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_pk', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('program', JSON_TYPE, nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due', sa.DateTime(timezone=True), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('key_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fields', JSON_TYPE, nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('identity', sa.String(length=64), nullable=False),
    sa.Column('mailbox', sa.String(length=200), nullable=True),
    sa.Column('unverified', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['message_pk'], ['messages.id'], name=op.f('fk_facts_message_pk_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facts')),
    sa.UniqueConstraint('message_pk', 'identity', name=op.f('uq_facts_message_pk_identity'))
    )
    with op.batch_alter_table('facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_facts_identity'), ['identity'], unique=False)
        batch_op.create_index('ix_facts_kind_key_at', ['kind', 'key_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_facts_message_pk'), ['message_pk'], unique=False)

    op.create_table('imap_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sa.String(length=200), nullable=False),
    sa.Column('folder', sa.String(length=500), nullable=False),
    sa.Column('uidvalidity', IMAP_NUMBER, nullable=False),
    sa.Column('uid', IMAP_NUMBER, nullable=False),
    sa.Column('message_pk', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_pk'], ['messages.id'], name=op.f('fk_imap_messages_message_pk_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imap_messages')),
    sa.UniqueConstraint('mailbox', 'folder', 'uidvalidity', 'uid', name=op.f('uq_imap_messages_mailbox_folder_uidvalidity_uid'))
    )
    with op.batch_alter_table('imap_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imap_messages_message_pk'), ['message_pk'], unique=False)

    op.create_table('entry_sources',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('fact_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_entry_sources_entry_id_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['fact_id'], ['facts.id'], name=op.f('fk_entry_sources_fact_id_facts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('entry_id', 'fact_id', name=op.f('pk_entry_sources'))
    )
    with op.batch_alter_table('entry_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_sources_fact_id'), ['fact_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('entry_sources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entry_sources_fact_id'))

    op.drop_table('entry_sources')
    with op.batch_alter_table('imap_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imap_messages_message_pk'))

    op.drop_table('imap_messages')
    with op.batch_alter_table('facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_facts_message_pk'))
        batch_op.drop_index('ix_facts_kind_key_at')
        batch_op.drop_index(batch_op.f('ix_facts_identity'))

    op.drop_table('facts')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_message_id'))
        batch_op.drop_index(batch_op.f('ix_messages_mailbox'))

    op.drop_table('messages')
    op.drop_table('imap_state')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index('ix_entries_kind_key_at')

    op.drop_table('entries')
