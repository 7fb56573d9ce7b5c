"""staff session generation, sign-in throttle, import jobs

Sign-out revokes sessions by raising ``staff_user.session_generation``; failed sign-ins move from
the account row to ``sign_in_throttle`` (per account name and per client address); records
uploads run as ``import_job`` rows in the background.

Revision ID: 9392ad70c0cc
Revises: dcc8e3644528
Create Date: 2026-12-01 15:14:52.268145
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import miniservice.columns
from alembic import op


revision: str = '9392ad70c0cc'
down_revision: str | None = 'dcc8e3644528'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=True),
    sa.Column('report', sa.Text(), nullable=True),
    sa.Column('created_at', miniservice.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', miniservice.columns.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'checking', 'writing', 'done', 'failed')", name='ck_import_job_status'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('sign_in_throttle',
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_ends_at', miniservice.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scope')
    )
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('locked_until')



def downgrade() -> None:
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', miniservice.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_column('session_generation')

    op.drop_table('sign_in_throttle')
    op.drop_table('import_job')
