"""outbox and uncertain reminders

``outbox_message``: every message the service sends of its own accord, written in its cause's
transaction, unique by ``key``. ``reminder.uncertain_since`` and the status ``uncertain``: a reminder
whose send got no answer is retried only within WeChat's 10-minute ``client_msg_id`` window.

Revision ID: 78b328e63fb5
Revises: 7c1e5a0b9d2f
Create Date: 2026-12-01 15:02:44.697010
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import miniservice.columns
from alembic import op

_SKIPS = "'skipped_opted_out', 'skipped_unreachable', 'skipped_unbound', 'skipped_unlinked'"
_OLD = f"status IN ('planned', 'sending', 'sent', 'failed', 'cancelled_paid', 'expired', 'superseded', {_SKIPS})"
_NEW = ("status IN ('planned', 'sending', 'sent', 'failed', 'uncertain', 'cancelled_paid', 'expired', "
        f"'superseded', {_SKIPS})")

revision: str = '78b328e63fb5'
down_revision: str | None = '7c1e5a0b9d2f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('openid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', miniservice.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('lease_until', miniservice.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', miniservice.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', miniservice.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_errcode', sa.Integer(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'uncertain')", name='ck_outbox_status'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_sendable', ['status', 'next_attempt_at', 'id'], unique=False)

    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uncertain_since', miniservice.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint('ck_reminder_status', type_='check')
        batch_op.create_check_constraint('ck_reminder_status', _NEW)


def downgrade() -> None:
    op.execute("UPDATE reminder SET status = 'failed' WHERE status = 'uncertain'")
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_constraint('ck_reminder_status', type_='check')
        batch_op.create_check_constraint('ck_reminder_status', _OLD)
        batch_op.drop_column('uncertain_since')

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_sendable')

    op.drop_table('outbox_message')