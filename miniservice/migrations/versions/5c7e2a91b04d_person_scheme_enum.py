"""person.scheme is a typed column: one of the four schemes, enforced by the database

The column keeps its words (``employee``, ``flexible``, ``resident``, ``retiree``); the model reads them
back as ``Scheme`` and a CHECK refuses any other word, on SQLite (table rebuilt by batch mode) and
PostgreSQL alike. A row with another word would make the upgrade fail, naming the constraint.

Revision ID: 5c7e2a91b04d
Revises: af3c59fde015
Create Date: 2026-12-01 18:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '5c7e2a91b04d'
down_revision: str | None = 'af3c59fde015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMES = ('employee', 'flexible', 'resident', 'retiree')


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_check_constraint('ck_person_scheme', f"scheme IN {SCHEMES!r}")


def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_constraint('ck_person_scheme', type_='check')
