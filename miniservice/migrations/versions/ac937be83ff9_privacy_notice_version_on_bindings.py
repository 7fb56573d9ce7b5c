"""privacy notice version on bindings

The bind form now asks for consent to a versioned privacy notice; the binding and its event keep the
version agreed to (NULL for bindings made before, or by the demo and imports, without the form).

Revision ID: ac937be83ff9
Revises: 9e4b1c2d3a5f
Create Date: 2026-12-01 15:15:36.178257
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'ac937be83ff9'
down_revision: str | None = '9e4b1c2d3a5f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('binding', schema=None) as batch_op:
        batch_op.add_column(sa.Column('privacy_version', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))

    with op.batch_alter_table('binding_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('privacy_version', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('binding_event', schema=None) as batch_op:
        batch_op.drop_column('privacy_version')

    with op.batch_alter_table('binding', schema=None) as batch_op:
        batch_op.drop_column('privacy_version')

