"""Moving every person's identity data to the current keys, in batches, while the service runs.

Each token and hash names its key (:class:`~miniservice.citizens.identity.IdentityVault`), so a row
tells by itself whether it still needs moving: an interrupted run loses nothing and a re-run carries
on where it stopped. Look-ups try every configured key's hash meanwhile, so nobody goes missing.
Each batch is one short transaction, and a row is rewritten only if it still holds the values it was
read with (compare-and-set): an import that changed it meanwhile wins, and the next run moves it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update

from miniservice.citizens.identity import IdentityVault
from miniservice.citizens.models import Person
from miniservice.db import Database

_CIPHERS = ("id_number_cipher", "name_cipher", "phone_cipher", "card_number_cipher")
_HASHES = {"id_number_hash": "id_number_cipher", "card_number_hash": "card_number_cipher"}


@dataclass
class RotationProgress:
    """Where a run stands; ``last_id`` is the last person looked at (ids ascend)."""

    checked: int = 0
    moved: int = 0
    changed_meanwhile: int = 0
    batches: int = 0
    last_id: int = 0


def rotate_identity_keys(db: Database, vault: IdentityVault, *, batch_size: int = 500,
                         after_batch: Callable[[RotationProgress], None] | None = None) -> RotationProgress:
    """Re-encrypt and re-hash every person not yet under the vault's current keys."""
    progress = RotationProgress()
    while True:
        with db.transaction() as session:
            people = session.execute(
                select(Person).where(Person.id > progress.last_id).order_by(Person.id).limit(batch_size)
            ).scalars().all()
            if not people:
                return progress
            for person in people:
                values = _moved(person, vault)
                if not values:
                    continue
                unchanged = [getattr(Person, column) == getattr(person, column) for column in values]
                written = session.execute(update(Person).where(Person.id == person.id, *unchanged).values(**values))
                if written.rowcount:
                    progress.moved += 1
                else:
                    progress.changed_meanwhile += 1
        progress.checked += len(people)
        progress.batches += 1
        progress.last_id = people[-1].id or 0
        if after_batch is not None:
            after_batch(progress)


def rows_to_move(db: Database, vault: IdentityVault, *, batch_size: int = 2000) -> tuple[int, int]:
    """(people still under an older key, all people): zero first means old keys can be retired."""
    stale, last_id = 0, 0
    with db.reading() as session:
        total = session.execute(select(func.count()).select_from(Person)).scalar_one()
        while True:
            people = session.execute(
                select(Person).where(Person.id > last_id).order_by(Person.id).limit(batch_size)
            ).scalars().all()
            if not people:
                return stale, total
            stale += sum(1 for person in people if _is_stale(person, vault))
            last_id = people[-1].id or 0
            session.expunge_all()


def _is_stale(person: Person, vault: IdentityVault) -> bool:
    tokens = [getattr(person, column) for column in _CIPHERS]
    digests = [getattr(person, column) for column in _HASHES]
    return (any(t is not None and not vault.is_current_token(t) for t in tokens)
            or any(d is not None and not vault.is_current_hash(d) for d in digests))


def _moved(person: Person, vault: IdentityVault) -> dict[str, Any]:
    """The columns to rewrite for ``person`` (none when it is under the current keys already)."""
    if not _is_stale(person, vault):
        return {}
    clear = {column: vault.decrypt(getattr(person, column)) for column in _CIPHERS if getattr(person, column)}
    values: dict[str, Any] = {column: vault.encrypt(text) for column, text in clear.items()
                              if not vault.is_current_token(getattr(person, column))}
    for column, source in _HASHES.items():
        digest = getattr(person, column)
        if digest is not None and not vault.is_current_hash(digest):
            values[column] = vault.lookup_hash(clear[source])
    return values
