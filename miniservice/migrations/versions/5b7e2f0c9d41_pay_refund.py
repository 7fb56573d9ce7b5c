"""pay_refund: refunds of payments that could not be applied, and their final state

Revision ID: 5b7e2f0c9d41
Revises: 5c7e2a91b04d
Create Date: 2026-12-01 18:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import miniservice.columns
from alembic import op


revision: str = '5b7e2f0c9d41'
down_revision: str | None = '5c7e2a91b04d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('pay_refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('out_refund_no', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('transaction_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('out_trade_no', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('amount', miniservice.columns.Money(), nullable=False),
    sa.Column('why', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('refund_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('requested_at', miniservice.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', miniservice.columns.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('requested', 'PROCESSING', 'SUCCESS', 'ABNORMAL', 'CLOSED')",
                       name='ck_pay_refund_status'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('out_refund_no'),
    sa.UniqueConstraint('transaction_id')
    )
    with op.batch_alter_table('pay_refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pay_refund_out_trade_no'), ['out_trade_no'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pay_refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pay_refund_out_trade_no'))
    op.drop_table('pay_refund')
