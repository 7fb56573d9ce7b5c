"""indexes for the 居民医保 part of the daily plan: residents and covered years, read from indexes alone

The 居民医保 statement of the daily plan finds the residents of a group of regions, enrolled by the
coverage year, who have not paid it. It read every resident's person row from the table and looked each
one up in ``uq_resident_premium_person_year``, then in the table again for the row's status: at
1,000,000 citizens the larger of the plan's two statements (docs/performance.md). Two covering indexes
let it read neither table:

* ``ix_person_resident`` ``(scheme, region_code, enrolled_since, id)``: the residents of the regions,
  with the enrolment date the statement filters on;
* ``ix_resident_premium_covered`` ``(year, person_id)``, partial, only paid and back-paid years: the
  people who paid the year, in one range, without the rows' status or amounts.

Revision ID: c4d2a9e1f7b3
Revises: 8d41c6e2b7a3
Create Date: 2026-12-02 01:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c4d2a9e1f7b3'
down_revision: str | None = '8d41c6e2b7a3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERED = sa.text("status IN ('paid', 'back_paid')")


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index('ix_person_resident', ['scheme', 'region_code', 'enrolled_since', 'id'], unique=False)
    with op.batch_alter_table('resident_premium', schema=None) as batch_op:
        batch_op.create_index('ix_resident_premium_covered', ['year', 'person_id'], unique=False,
                              postgresql_where=COVERED, sqlite_where=COVERED)


def downgrade() -> None:
    with op.batch_alter_table('resident_premium', schema=None) as batch_op:
        batch_op.drop_index('ix_resident_premium_covered')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_resident')
