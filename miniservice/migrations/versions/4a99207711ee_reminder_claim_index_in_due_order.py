"""reminder claim index in due order

The sender claims the oldest due reminders with ``ORDER BY due_on, id LIMIT n``; with ``id`` in the
index that is an ordered index scan that stops after n rows instead of a sort of the whole day's plan.

Revision ID: 4a99207711ee
Revises: d3f89132869c
Create Date: 2026-11-25 15:08:31.572774
"""

from collections.abc import Sequence

from alembic import op

revision: str = '4a99207711ee'
down_revision: str | None = 'd3f89132869c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_index('ix_reminder_sendable')
        batch_op.create_index('ix_reminder_sendable', ['status', 'due_on', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_index('ix_reminder_sendable')
        batch_op.create_index('ix_reminder_sendable', ['status', 'due_on'], unique=False)
