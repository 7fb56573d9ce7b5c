"""person.gap_from: each citizen's open-gap start, kept by the database on every write

The daily plan used to find each citizen's open-gap start by aggregating the recent contribution
months of every citizen (10,000,000 citizens: 20 minutes and 2.4 GiB of temporary files,
docs/performance.md). ``person.gap_from`` holds it instead — the month (``Month.index``) after the
last covered (``paid``/``back_paid``) month, or the enrolment month when that is later — indexed,
so the plan reads only the few citizens whose gap starts inside the stage window — from the index
alone, which carries every column the plan needs of them. ``ix_contribution_unpaid`` (partial: unpaid
months only, with their payer) answers who owes each month of those gaps without the months' table.

The database keeps it right itself, whoever writes (the app, an import, a clerk's SQL):

* a covered month written (inserted, or updated to covered) can only move it later:
  ``GREATEST(gap_from, month + 1)``, which two concurrent writers apply in either order alike;
* a covered month removed (deleted, made unpaid, moved to another month or person) and an enrolment
  change recompute it from the person's months (an index range on ``(person_id, month)``);
* a new person gets it from their enrolment (and any months already there).

Backfilled here in one statement. Triggers exist for PostgreSQL (PL/pgSQL) and SQLite (SQL
triggers); the tests build their schema with this migration, so they run with the triggers.

Revision ID: 8d41c6e2b7a3
Revises: 5b7e2f0c9d41
Create Date: 2026-12-01 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '8d41c6e2b7a3'
down_revision: str | None = '5b7e2f0c9d41'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERED = "('paid', 'back_paid')"

PG_ENROLLED = ("(CAST(EXTRACT(YEAR FROM {p}.enrolled_since) AS integer) * 12 "
               "+ CAST(EXTRACT(MONTH FROM {p}.enrolled_since) AS integer) - 1)")
SQLITE_ENROLLED = ("(CAST(strftime('%Y', {p}.enrolled_since) AS integer) * 12 "
                   "+ CAST(strftime('%m', {p}.enrolled_since) AS integer) - 1)")


def _recomputed(enrolled: str, person_id: str, greatest: str) -> str:
    """The gap start from scratch: after the last covered month, not before enrolment."""
    last = (f"(SELECT max(c.month) + 1 FROM contribution c WHERE c.person_id = {person_id} "
            f"AND c.status IN {COVERED})")
    return f"{greatest}({enrolled}, COALESCE({last}, {enrolled}))"


PG_FUNCTIONS = f"""
CREATE FUNCTION person_gap_from_recompute(p integer) RETURNS void LANGUAGE sql AS $$
    UPDATE person SET gap_from = {_recomputed(PG_ENROLLED.format(p="person"), "p", "GREATEST")}
    WHERE id = p
$$;

CREATE FUNCTION contribution_gap_from() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN {COVERED}
       AND (TG_OP = 'DELETE' OR NEW.status NOT IN {COVERED} OR NEW.month <> OLD.month
            OR NEW.person_id <> OLD.person_id) THEN
        PERFORM person_gap_from_recompute(OLD.person_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN {COVERED} THEN
        UPDATE person SET gap_from = NEW.month + 1 WHERE id = NEW.person_id AND gap_from < NEW.month + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION person_gap_from() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.gap_from := {_recomputed(PG_ENROLLED.format(p="NEW"), "NEW.id", "GREATEST")};
    RETURN NEW;
END
$$;

CREATE TRIGGER contribution_gap_from AFTER INSERT OR DELETE OR UPDATE OF person_id, month, status
    ON contribution FOR EACH ROW EXECUTE FUNCTION contribution_gap_from();

CREATE TRIGGER person_gap_from BEFORE INSERT OR UPDATE OF enrolled_since
    ON person FOR EACH ROW EXECUTE FUNCTION person_gap_from();
"""

PG_DROP = """
DROP TRIGGER IF EXISTS contribution_gap_from ON contribution;
DROP TRIGGER IF EXISTS person_gap_from ON person;
DROP FUNCTION IF EXISTS contribution_gap_from();
DROP FUNCTION IF EXISTS person_gap_from();
DROP FUNCTION IF EXISTS person_gap_from_recompute(integer);
"""


def _sqlite_recompute(person_id: str) -> str:
    return (f"UPDATE person SET gap_from = {_recomputed(SQLITE_ENROLLED.format(p='person'), person_id, 'max')} "
            f"WHERE id = {person_id};")


SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER contribution_gap_from_insert AFTER INSERT ON contribution
        WHEN NEW.status IN {COVERED}
        BEGIN UPDATE person SET gap_from = NEW.month + 1 WHERE id = NEW.person_id AND gap_from < NEW.month + 1; END""",
    f"""CREATE TRIGGER contribution_gap_from_removed AFTER UPDATE OF person_id, month, status ON contribution
        WHEN OLD.status IN {COVERED} AND (NEW.status NOT IN {COVERED} OR NEW.month <> OLD.month
                                         OR NEW.person_id <> OLD.person_id)
        BEGIN {_sqlite_recompute("OLD.person_id")} END""",
    f"""CREATE TRIGGER contribution_gap_from_covered AFTER UPDATE OF person_id, month, status ON contribution
        WHEN NEW.status IN {COVERED}
        BEGIN UPDATE person SET gap_from = NEW.month + 1 WHERE id = NEW.person_id AND gap_from < NEW.month + 1; END""",
    f"""CREATE TRIGGER contribution_gap_from_delete AFTER DELETE ON contribution
        WHEN OLD.status IN {COVERED}
        BEGIN {_sqlite_recompute("OLD.person_id")} END""",
    f"""CREATE TRIGGER person_gap_from_insert AFTER INSERT ON person
        BEGIN {_sqlite_recompute("NEW.id")} END""",
    f"""CREATE TRIGGER person_gap_from_enrolled AFTER UPDATE OF enrolled_since ON person
        BEGIN {_sqlite_recompute("NEW.id")} END""",
]
SQLITE_TRIGGER_NAMES = ["contribution_gap_from_insert", "contribution_gap_from_removed",
                        "contribution_gap_from_covered", "contribution_gap_from_delete", "person_gap_from_insert",
                        "person_gap_from_enrolled"]


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gap_from', sa.Integer(), nullable=True))
        batch_op.create_index('ix_person_gap_from', ['gap_from', 'region_code', 'scheme', 'unemployed', 'employer',
                                                     'id'], unique=False)
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.create_index('ix_contribution_unpaid', ['person_id', 'month', 'payer'], unique=False,
                              postgresql_where=sa.text("status = 'unpaid'"), sqlite_where=sa.text("status = 'unpaid'"))
    postgresql = op.get_bind().dialect.name == "postgresql"
    enrolled = (PG_ENROLLED if postgresql else SQLITE_ENROLLED).format(p="person")
    greatest = "GREATEST" if postgresql else "max"
    op.execute(f"UPDATE person SET gap_from = {_recomputed(enrolled, 'person.id', greatest)}")
    if postgresql:
        op.execute(PG_FUNCTIONS)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_DROP)
    else:
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.drop_index('ix_contribution_unpaid')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_gap_from')
        batch_op.drop_column('gap_from')
