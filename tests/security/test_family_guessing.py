"""Finding 12: the family "add relative" form is a guess at name + ID number + card, limited and
audited like binding (the same counter), and its refusal never says which part was right."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from miniservice.audit.models import AuditEvent
from miniservice.citizens.attempts import LIMIT
from miniservice.db import Database
from tests.family.conftest import (  # noqa: F401
    Family,
    Registry,
    add_relative,
    family,
    frozen_time,
    policies,
    registry,
    rules,
    signed_in,
)


def message(response: object) -> str:
    found = re.search(r'role="alert"[^>]*>\s*([^<]+)<', response.get_data(as_text=True))  # type: ignore[attr-defined]
    assert found, response.get_data(as_text=True)  # type: ignore[attr-defined]
    return found.group(1).strip()


def test_wrong_guesses_get_one_message_are_audited_and_then_stopped(
    app: Flask, db: Database, family: Family, registry: Registry,  # noqa: F811
) -> None:
    client = signed_in(app, "o-holder")
    mother = family.mother
    other = registry.person("赵某某", scheme="resident")
    guesses = [
        {"name": "钱桂花"},  # right ID and card, wrong name
        {"card_number": "C000000000"},  # right name and ID, wrong card
        {"card_number": other.card},  # someone else's real card
        {"id_number": other.id_number},  # a real ID with the mother's name and card
        {"name": other.name, "card_number": mother.card},
    ]
    answers = [add_relative(client, mother, "parent", attested=True, **guess) for guess in guesses]
    assert len(answers) == LIMIT
    assert {response.status_code for response in answers} == {400}
    assert len({message(response) for response in answers}) == 1  # no partial match is confirmed
    refused = add_relative(client, mother, "parent", attested=True)  # the right answer, too late
    assert refused.status_code == 429
    assert "次数过多" in message(refused)
    assert registry.links(family.holder) == []
    with db.reading() as session:
        reasons = [event.details.get("reason") for event in session.execute(
            select(AuditEvent).where(AuditEvent.action == "family.link_refused")).scalars()]
    assert reasons.count("mismatch") == LIMIT and reasons.count("too_many") == 1


def test_a_right_answer_does_not_count_as_a_guess(app: Flask, family: Family) -> None:  # noqa: F811
    client = signed_in(app, "o-holder")
    for _ in range(LIMIT - 1):
        add_relative(client, family.mother, "parent", attested=True, name="钱桂花")
    assert add_relative(client, family.mother, "parent", attested=True).status_code == 200
    assert add_relative(client, family.son, "child", attested=True).status_code == 200
