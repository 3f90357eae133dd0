"""messages.identity (one archive row per message, whatever its route) and timeline_state
(the timeline knows when it is behind the facts)

messages.identity is the sha256 of the bytes with line ends and mbox artefacts
normalised (caltac_inbox.identity): an mbox export (LF) and the IMAP copy (CRLF) of
one notice were archived twice because the archive compared exact bytes. Existing rows
get their identity here, oldest first; a later copy of a message already archived keeps
its row (nothing stored is lost) with a null identity.

timeline_state holds two counters: facts_generation (bumped in every transaction that
changes facts) and timeline_generation (the facts_generation the timeline was last
rebuilt from). A database whose facts are not all in the timeline starts as behind,
so the first command rebuilds it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500


def upgrade() -> None:
    from caltac_inbox.identity import message_identity

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity', sa.String(length=64), nullable=True))
    conn = op.get_bind()
    messages = sa.table('messages', sa.column('id', sa.Integer), sa.column('raw', sa.LargeBinary),
                        sa.column('identity', sa.String))
    seen: set[str] = set()
    last = 0
    while True:
        rows = conn.execute(sa.select(messages.c.id, messages.c.raw).where(messages.c.id > last)
                            .order_by(messages.c.id).limit(BATCH)).all()
        if not rows:
            break
        last = rows[-1].id
        updates = []
        for row in rows:
            identity = message_identity(bytes(row.raw))
            if identity not in seen:
                seen.add(identity)
                updates.append({'pk': row.id, 'value': identity})
        if updates:
            conn.execute(messages.update().where(messages.c.id == sa.bindparam('pk'))
                         .values(identity=sa.bindparam('value')), updates)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_identity', ['identity'], unique=True)

    state = op.create_table(
        'timeline_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('facts_generation', sa.Integer(), nullable=False),
        sa.Column('timeline_generation', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_timeline_state')),
    )
    behind = conn.execute(sa.text(
        "SELECT 1 FROM facts f WHERE NOT EXISTS (SELECT 1 FROM entry_sources es WHERE es.fact_id = f.id) LIMIT 1"
    )).first() is not None
    op.bulk_insert(state, [{'id': 1, 'facts_generation': int(behind), 'timeline_generation': 0}])


def downgrade() -> None:
    op.drop_table('timeline_state')
    op.drop_index('ix_messages_identity', table_name='messages')
    # Not in batch mode: on SQLite that copies the table and drops the old one, and with
    # foreign keys on, dropping messages deletes every fact (ON DELETE CASCADE).
    # SQLite 3.35+ drops a column in place.
    op.drop_column('messages', 'identity')
