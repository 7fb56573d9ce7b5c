"""Finding a person by ID number: the one query every look-up uses (binding, family, import, demo)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from miniservice.citizens.identity import IdentityVault
from miniservice.citizens.models import Person


def person_by_id_number(session: Session, vault: IdentityVault, id_number: str) -> Person | None:
    """The person whose ID number is ``id_number``, under any configured look-up key.

    Every key's hash is tried, so a person not yet moved by ``rotate-data-key`` is found as well.
    """
    return session.execute(
        select(Person).where(Person.id_number_hash.in_(vault.lookup_hashes(id_number)))
    ).scalar_one_or_none()
