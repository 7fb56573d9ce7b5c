"""callback nonces: a signed callback URL is good for one body

Revision ID: 7c1e5a0b9d2f
Revises: 4a99207711ee
Create Date: 2026-12-01 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from miniservice.columns import UTCDateTime

revision: str = '7c1e5a0b9d2f'
down_revision: str | None = '4a99207711ee'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'callback_nonce',
        sa.Column('pair', sa.String(length=80), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('seen_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('pair'),
    )
    op.create_index('ix_callback_nonce_seen_at', 'callback_nonce', ['seen_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_callback_nonce_seen_at', table_name='callback_nonce')
    op.drop_table('callback_nonce')
