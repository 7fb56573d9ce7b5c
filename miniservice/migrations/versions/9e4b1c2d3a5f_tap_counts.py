"""tap counts: read-only taps per hour, written in batches instead of a delivery row each

Revision ID: 9e4b1c2d3a5f
Revises: 9392ad70c0cc
Create Date: 2026-12-01 15:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from miniservice.columns import UTCDateTime

revision: str = '9e4b1c2d3a5f'
down_revision: str | None = '9392ad70c0cc'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'tap_count',
        sa.Column('hour', UTCDateTime(timezone=True), nullable=False),
        sa.Column('taps', sa.Integer(), nullable=False),
        sa.Column('failed', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('hour'),
    )


def downgrade() -> None:
    op.drop_table('tap_count')
