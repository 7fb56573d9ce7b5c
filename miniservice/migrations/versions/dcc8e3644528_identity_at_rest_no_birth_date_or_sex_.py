"""identity at rest: no birth date or sex in clear, masks hide digits 5-17, room for key ids

The plain ``birth_date`` (digits 7-14 of the ID number) and the mask's last four digits rebuilt an
ID number to about nine candidates from the database alone. Birth date and sex are now read from the
decrypted ID number; the stored masks (person and the audit log's binding events) keep the first four
characters and the last one, computed from the old masks so the upgrade needs no key. Hash columns
widen for the ``<key id>:`` prefix of rotated keys.

The downgrade rebuilds the dropped columns and the person masks from the decrypted ID numbers, so it
needs the identity keys in the environment (as the app reads them) and rows still under the legacy
key (64-character hashes); the audit log keeps the shorter masks.

Revision ID: dcc8e3644528
Revises: 78b328e63fb5
Create Date: 2026-12-01 15:03:05.856945
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = 'dcc8e3644528'
down_revision: str | None = '78b328e63fb5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BINDING_ACTIONS = ('binding.bind', 'binding.unbind')
_audit = sa.table('audit_event', sa.column('id', sa.Integer), sa.column('action', sa.String),
                  sa.column('details', sa.JSON))
_person = sa.table('person', sa.column('id', sa.Integer), sa.column('id_number_cipher', sa.String),
                   sa.column('id_number_masked', sa.String), sa.column('sex', sa.String),
                   sa.column('birth_date', sa.Date))


def _remask_audit(mask: object) -> None:
    """Rewrite ``id_number`` in the binding events' details with ``mask`` (old mask → new mask)."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(_audit.c.id, _audit.c.details).where(_audit.c.action.in_(_BINDING_ACTIONS)))
    for event_id, details in rows.all():
        if isinstance(details, dict) and isinstance(details.get('id_number'), str):
            connection.execute(_audit.update().where(_audit.c.id == event_id)
                               .values(details={**details, 'id_number': mask(details['id_number'])}))


def _short_mask(old: str) -> str:
    return old[:4] + '*' * 13 + old[-1:] if len(old) == 18 else old


def upgrade() -> None:
    with op.batch_alter_table('binding_attempt', schema=None) as batch_op:
        batch_op.alter_column('id_number_hash', existing_type=sa.VARCHAR(length=64),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=96), existing_nullable=True)
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.alter_column('id_number_hash', existing_type=sa.VARCHAR(length=64),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=96), existing_nullable=False)
        batch_op.alter_column('card_number_hash', existing_type=sa.VARCHAR(length=64),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=96), existing_nullable=True)
        batch_op.drop_column('birth_date')
        batch_op.drop_column('sex')
    op.execute(sa.text("UPDATE person SET id_number_masked = substr(id_number_masked, 1, 4) || '*************' "
                       "|| substr(id_number_masked, 18, 1) WHERE length(id_number_masked) = 18"))
    _remask_audit(_short_mask)


def downgrade() -> None:
    from miniservice.citizens.identity import IdentityVault, parse_id_number
    from miniservice.config import load_settings

    settings = load_settings()
    vault = IdentityVault(settings.data_key or None, data_keys=settings.data_keys, lookup_keys=settings.lookup_keys)
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sex', sa.VARCHAR(length=1), nullable=True))
        batch_op.add_column(sa.Column('birth_date', sa.DATE(), nullable=True))
    connection = op.get_bind()
    for person_id, cipher in connection.execute(sa.select(_person.c.id, _person.c.id_number_cipher)).all():
        parsed = parse_id_number(vault.decrypt(cipher))
        old_mask = parsed.value[:4] + '*' * 10 + parsed.value[-4:]
        connection.execute(_person.update().where(_person.c.id == person_id).values(
            sex=parsed.sex, birth_date=parsed.birth_date, id_number_masked=old_mask))
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.alter_column('sex', existing_type=sa.VARCHAR(length=1), nullable=False)
        batch_op.alter_column('birth_date', existing_type=sa.DATE(), nullable=False)
        batch_op.alter_column('card_number_hash', existing_type=sqlmodel.sql.sqltypes.AutoString(length=96),
                              type_=sa.VARCHAR(length=64), existing_nullable=True)
        batch_op.alter_column('id_number_hash', existing_type=sqlmodel.sql.sqltypes.AutoString(length=96),
                              type_=sa.VARCHAR(length=64), existing_nullable=False)
    with op.batch_alter_table('binding_attempt', schema=None) as batch_op:
        batch_op.alter_column('id_number_hash', existing_type=sqlmodel.sql.sqltypes.AutoString(length=96),
                              type_=sa.VARCHAR(length=64), existing_nullable=True)
