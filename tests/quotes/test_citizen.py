"""The engine's facts built from the registry: the gap, who caused it, continuity, years; no N+1."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from miniservice.citizens.models import Person
from miniservice.db import Database
from miniservice.family.dues import relative_status
from miniservice.quotes.citizen import Family, Situation, Tie, situation
from miniservice.quotes.service import quote_for_person
from miniservice.rulebook.resolve import rules_in_force
from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.money import to_fen
from miniservice.rules.months import Month
from tests.conftest import statements_run
from tests.quotes.conftest import TODAY, Registry


def _situation(db: Database, person_id: int) -> Situation:
    with db.reading() as session:
        person = session.get(Person, person_id)
        assert person is not None
        return situation(session, person, rules_in_force(session, person.region_code, TODAY), TODAY)


def test_open_gap_becomes_the_facts_with_continuity_and_paid_months_before_it(db: Database,
                                                                               registry: Registry) -> None:
    person = registry.person(enrolled=date(2024, 1, 1), deemed_months=12)
    registry.months(person, "2024-01", "2026-08")

    found = _situation(db, person)

    facts = found.facts
    assert (facts.gap_first, facts.gap_last) == (Month(2026, 9), Month(2026, 10))
    assert facts.cause is Cause.SELF and facts.scheme is Scheme.FLEXIBLE
    assert facts.continuous_months_before == 32
    assert (facts.paid_months, facts.actually_paid_months) == (44, 32)
    assert found.gap is not None and found.gap.open


def test_continuity_before_an_earlier_closed_gap_stops_at_that_gap(db: Database, registry: Registry) -> None:
    person = registry.person(enrolled=date(2025, 1, 1))
    registry.months(person, "2025-01", "2025-12")
    registry.months(person, "2026-03", "2026-10")  # 2026-01..02 unpaid, paid since

    facts = _situation(db, person).facts

    assert (facts.gap_first, facts.gap_last) == (Month(2026, 1), Month(2026, 2))
    assert facts.continuous_months_before == 12


def test_unpaid_months_owed_by_the_unit_are_a_unit_gap_at_the_declared_wage(db: Database,
                                                                              registry: Registry) -> None:
    person = registry.person(region="330203", scheme="employee", employer="宁波某公司")
    registry.months(person, "2024-01", "2026-08", payer="unit", scheme="employee", base="9000")
    registry.months(person, "2026-09", "2026-10", status="unpaid", payer="unit", scheme="employee", base="9500")

    facts = _situation(db, person).facts

    assert facts.cause is Cause.UNIT
    assert (facts.declared_base, facts.base_source) == (Decimal("9500"), "registry_gap_rows")


def test_a_flexible_workers_gap_is_always_their_own(db: Database, registry: Registry) -> None:
    person = registry.person(employer="former employer")
    registry.months(person, "2024-01", "2026-08", payer="unit")

    assert _situation(db, person).facts.cause is Cause.SELF


def test_retiree_counts_deemed_months_and_has_no_monthly_gap(db: Database, registry: Registry) -> None:
    person = registry.person(region="360102", scheme="retiree", deemed_months=36)
    registry.months(person, "2011-06", "2023-05", scheme="employee", payer="unit")

    found = _situation(db, person)

    assert found.gap is None and found.facts.gap_first is None
    assert (found.facts.paid_months, found.facts.actually_paid_months) == (144 + 36, 144)


def test_resident_unpaid_years_up_to_now_are_the_gap(db: Database, registry: Registry) -> None:
    person = registry.person(region="140105", scheme="resident", enrolled=date(2022, 1, 1))
    registry.years(person, 2022, 2023, 2024)

    facts = _situation(db, person).facts

    assert (facts.gap_first, facts.gap_last) == (Month(2025, 1), Month(2026, 12))


def test_a_long_record_costs_the_same_number_of_queries_as_a_short_one(db: Database, registry: Registry) -> None:
    short, long = registry.person(), registry.person(enrolled=date(2010, 1, 1))
    registry.months(short, "2026-01", "2026-08")
    registry.months(long, "2010-01", "2026-08")
    _situation(db, short)  # the rules in force are remembered while unchanged: both counts below start warm
    with statements_run(db) as for_short:
        _situation(db, short)
    with statements_run(db) as for_long:
        _situation(db, long)
    assert len(for_long) == len(for_short)


def test_a_closed_gap_that_cannot_be_back_paid_left_the_benefits_renewed_payment_restored(
        db: Database, registry: Registry) -> None:
    """Audit finding: 深圳, paid since 2026-03 after missing January and February, was told benefits
    stop until 2027-02-01 and continuity is reset, as if the gap ran to today."""
    person = registry.person(region="440305", openid="o-closed-gap")
    registry.months(person, "2025-01", "2025-12")
    registry.months(person, "2026-01", "2026-02", status="unpaid")
    registry.months(person, "2026-03", "2026-10")

    found = quote_for_person(db, person, TODAY)

    assert not found.situation.facts.gap_open and found.quote.line is None
    assert found.quote.benefits is not None and found.quote.benefits.resume_on < TODAY
    assert found.quote.continuity is not None and found.quote.continuity.effect.value != "reset"


def test_family_links_are_part_of_the_facts_and_decide_who_may_pay(db: Database, registry: Registry) -> None:
    """Only a holder the relative's facts list as a payer (an active link, a personal account) is offered dues."""
    holder = registry.person(scheme="employee", employer="某公司")
    stranger = registry.person(scheme="employee", employer="某公司")
    relative = registry.person(openid="o-relative")
    registry.months(relative, "2025-01", "2026-08")  # 2026-09 and 2026-10 unpaid: an open gap
    registry.family_link(holder, relative)

    found = quote_for_person(db, relative, TODAY)

    assert found.situation.family == Family(payers=(Tie(holder, "parent"),))
    assert quote_for_person(db, holder, TODAY).situation.family == Family(relatives=(Tie(relative, "parent"),))
    with db.reading() as session:
        person = session.get(Person, relative)
        assert person is not None
        [due] = relative_status(session, person, TODAY, holder).dues
        assert due.amount == to_fen(found.quote.totals.citizen_owes)
        assert relative_status(session, person, TODAY, stranger).dues == ()
