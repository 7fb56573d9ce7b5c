"""Rules in force are remembered per database, and a change to the rule book is never missed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import update

from miniservice.db import Database
from miniservice.rulebook import resolve, service
from miniservice.rulebook.models import RuleVersion
from miniservice.rulebook.resolve import rules_in_force
from tests.conftest import statements_run
from tests.rulebook.conftest import SHIPPED, shenzhen_wage, with_header

TODAY = date(2026, 3, 10)


def _wage(db: Database) -> Decimal:
    return rules_in_force(db, "440300", TODAY).wage.average_monthly[2024].value


def _publish_shenzhen_wage(db: Database, wage: str, version: str) -> RuleVersion:
    text = with_header(shenzhen_wage((SHIPPED / "440300.toml").read_text(), wage), version=version)
    draft, _ = service.import_toml(db, text, "staff:ed", today=TODAY)
    return service.publish(db, draft.id, TODAY, "staff:pub", today=TODAY)


def test_rules_asked_for_again_are_answered_without_reading_the_rule_book(
    db: Database, loaded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = resolve.time.monotonic()
    monkeypatch.setattr(resolve.time, "monotonic", lambda: now)  # within one stamp check, however slow the box
    assert _wage(db) == Decimal("8000")
    with statements_run(db) as statements:
        assert _wage(db) == Decimal("8000")
    assert statements == []


def test_a_publication_in_this_process_is_in_force_at_once(db: Database, loaded: Path) -> None:
    assert _wage(db) == Decimal("8000")
    _publish_shenzhen_wage(db, "9000", "2026.1")
    assert _wage(db) == Decimal("9000")


def test_a_rollback_by_another_process_is_seen_at_the_next_check(
    db: Database, loaded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = _publish_shenzhen_wage(db, "9000", "2026.1")
    assert _wage(db) == Decimal("9000")
    other = Database(db.url)  # its own engine and pool, as another worker process has
    try:
        with other.transaction() as session:
            session.execute(update(RuleVersion).where(RuleVersion.id == published.id).values(status="retired"))
    finally:
        other.dispose()
    later = resolve.time.monotonic() + resolve.STAMP_CHECK_SECONDS
    monkeypatch.setattr(resolve.time, "monotonic", lambda: later)
    assert _wage(db) == Decimal("8000")


def test_every_change_to_what_is_in_force_gives_the_rule_book_a_new_stamp(db: Database, loaded: Path) -> None:
    def stamp() -> tuple[int, int, int]:
        with db.reading() as session:
            return resolve._stamp(session)

    stamps = [stamp()]
    first = _publish_shenzhen_wage(db, "9000", "2026.1")
    stamps.append(stamp())
    service.rollback(db, "440300", "staff:pub", expected_version_id=first.id)
    stamps.append(stamp())
    _publish_shenzhen_wage(db, "9500", "2026.2")
    stamps.append(stamp())
    assert len(set(stamps)) == len(stamps)
