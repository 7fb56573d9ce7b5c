"""Quotes for people and what-ifs: the rule version in force on the quote's date, and clear failures."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask

from miniservice.db import Database
from miniservice.quotes.errors import RulesNotLoaded
from miniservice.quotes.service import quote_for_person, what_if
from miniservice.rulebook.service import import_toml, publish
from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.months import Month
from tests.quotes.conftest import POLICIES, TODAY, Registry


def test_a_quote_uses_the_version_in_force_on_its_own_date(app: Flask, db: Database, registry: Registry) -> None:
    text = (POLICIES / "440300.toml").read_text(encoding="utf-8")
    text = text.replace('version = "2025.2"', 'version = "2027.1"').replace(
        "effective_from = 2025-01-01", "effective_from = 2027-01-01").replace('value = "8000"', 'value = "8800"')
    with app.app_context():
        draft, _ = import_toml(db, text, "test", today=TODAY)
        publish(db, draft.id, date(2027, 1, 1), "test", today=TODAY)
    person = registry.person()
    registry.months(person, "2024-01", "2026-08")

    now = quote_for_person(db, person, TODAY).quote
    later = quote_for_person(db, person, date(2027, 1, 15)).quote

    assert (now.version, now.lines[0].base) == ("2025.2", 8000)
    assert (later.version, later.lines[0].base) == ("2027.1", 8800)
    assert later.citations["wage.average_monthly.2024"].version == "2027.1"


def test_without_any_rule_version_the_operator_is_told_to_load_the_policies(db: Database) -> None:
    with pytest.raises(RulesNotLoaded, match="miniservice policies load"):
        what_if(db, "440300", Scheme.FLEXIBLE, Month(2026, 9), Month(2026, 10), Cause.SELF, TODAY)


def test_a_what_if_without_a_gap_is_the_engines_no_gap_result(db: Database, rules: None) -> None:
    result = what_if(db, "440300", Scheme.FLEXIBLE, None, None, Cause.SELF, TODAY)

    data = result.to_json()
    assert data["gap"] is None and data["months"] == [] and data["totals"]["total"] == "0.00"


def test_a_bound_citizen_without_a_gap_is_told_when_the_next_month_falls_due(db: Database,
                                                                               registry: Registry) -> None:
    person = registry.person(enrolled=date(2024, 1, 1))
    registry.months(person, "2024-01", "2026-11")  # November paid ahead

    found = quote_for_person(db, person, TODAY)

    assert not found.due
    assert found.situation.next_due == date(2026, 12, 31)


def test_a_resident_who_has_paid_next_year_is_quoted_the_year_after_on_its_period(db: Database,
                                                                                   registry: Registry) -> None:
    person = registry.person(region="140105", scheme="resident", enrolled=date(2024, 1, 1))
    registry.years(person, 2024, 2025, 2026, 2027)

    found = quote_for_person(db, person, TODAY)

    assert not found.due
    assert found.quote.resident is not None and found.quote.resident.coverage_year == 2028
    assert found.quote.on_date == found.quote.resident.period_start > TODAY
    assert found.late is not None and found.late.benefits is not None and found.late.benefits.waiting_months > 0
