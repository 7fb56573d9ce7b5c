"""A gap some of whose months the unit owes and some the citizen: each part billed to its payer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from miniservice.rules.gaps import due_date
from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.months import Month, add_months_to_date
from miniservice.rules.quote import quote
from miniservice.rules.quote_model import CitizenFacts, Payer
from tests.rules.helpers import gap_quote

ON = date(2026, 11, 25)
UNIT_MONTHS = (Month(2026, 7), Month(2026, 8))


def _mixed(book, region: str = "330200"):
    return gap_quote(book, region, "2026-07", "2026-10", ON, scheme=Scheme.EMPLOYEE, unit_months=UNIT_MONTHS,
                     declared_base=Decimal("8000"), base_source="registry_gap_rows")


def test_each_part_of_a_mixed_gap_is_billed_to_its_payer(book) -> None:
    result = _mixed(book)

    citizen, unit = result.parts
    assert (citizen.payer, citizen.months) == (Payer.CITIZEN, (Month(2026, 9), Month(2026, 10)))
    assert (unit.payer, unit.months) == (Payer.UNIT, UNIT_MONTHS)
    assert [line.payer for line in result.lines] == [Payer.UNIT, Payer.UNIT, Payer.CITIZEN, Payer.CITIZEN]
    assert result.totals.citizen_owes == citizen.amount and result.totals.unit_owes == unit.amount
    assert citizen.amount + unit.amount == result.totals.total
    assert citizen.amount == sum(line.amount + line.late_fee for line in result.lines[2:])


def test_the_citizens_part_has_the_quotes_line_and_the_units_its_arrears_deadline(book) -> None:
    result = _mixed(book)
    citizen, unit = result.parts

    assert result.line is not None and citizen.deadline == result.line.last_day_within
    assert citizen.deadline_kind == "line" and unit.deadline_kind == "unit_arrears"
    assert unit.deadline == add_months_to_date(due_date(Month(2026, 7), None), 6)  # seed 004: 6 months
    assert not unit.passed and "employee.backpay.unit_arrears_deadline_months" in unit.cites


def test_the_citizen_is_never_charged_for_the_units_months(book) -> None:
    """Before the split a mixed gap was wholly the citizen's: four months billed to them."""
    mixed = _mixed(book)
    own_two = gap_quote(book, "330200", "2026-09", "2026-10", ON, scheme=Scheme.EMPLOYEE,
                        declared_base=Decimal("8000"), base_source="registry_gap_rows")

    assert mixed.totals.citizen_owes == own_two.totals.citizen_owes
    json = mixed.to_json()
    assert [p["payer"] for p in json["parts"]] == ["citizen", "unit"]
    assert json["parts"][1]["months"] == ["2026-07", "2026-08"] and json["inputs"]["unit_months"] == [
        "2026-07", "2026-08"]


def test_a_gap_with_one_payer_has_one_part(book) -> None:
    own = gap_quote(book, "440300", "2026-09", "2026-10", ON)
    unit = gap_quote(book, "330200", "2026-09", "2026-10", ON, scheme=Scheme.EMPLOYEE, cause=Cause.UNIT)

    assert [p.payer for p in own.parts] == [Payer.CITIZEN] and own.parts[0].deadline == own.line.last_day_within
    assert [p.payer for p in unit.parts] == [Payer.UNIT] and unit.parts[0].amount == unit.totals.unit_owes


@pytest.mark.parametrize(("change", "words"), [
    ({"scheme": Scheme.FLEXIBLE}, "in-unit"),
    ({"cause": Cause.UNIT}, "in-unit"),
    ({"unit_months": (Month(2026, 6),)}, "within the gap"),
    ({"unit_months": (Month(2026, 9), Month(2026, 10))}, "cause UNIT"),
])
def test_unit_months_only_describe_part_of_an_in_unit_gap(book, change, words) -> None:
    facts = {"scheme": Scheme.EMPLOYEE, "unit_months": (Month(2026, 9),)} | change
    with pytest.raises(ValueError, match=words):
        quote(book.region_for("330200"), CitizenFacts("330200", gap_first=Month(2026, 9), gap_last=Month(2026, 10),
                                                       **facts), ON)


@pytest.mark.parametrize(("first", "deadline"), [
    (Month(2025, 9), date(2026, 3, 31)), (Month(2025, 8), date(2026, 2, 28)), (Month(2025, 12), date(2026, 6, 30)),
])
def test_a_units_arrears_deadline_from_a_month_end_is_a_month_end(book, first: Month, deadline: date) -> None:
    """Audit finding 14: 2025-09 fell due on 09-30, so its arrears were due by 03-30, a day short."""
    result = gap_quote(book, "330200", str(first), str(first), date(2026, 1, 20), scheme=Scheme.EMPLOYEE,
                       cause=Cause.UNIT)

    assert result.parts[0].deadline == deadline


def test_the_registrys_own_base_is_not_raised_to_an_illustrative_floor(book) -> None:
    """Audit finding 19: 上海's floor rests on an illustrative average wage; the bureau billed 600."""
    registry = gap_quote(book, "310000", "2026-10", "2026-10", ON, declared_base=Decimal("600"),
                         base_source="registry_last_paid")
    typed = gap_quote(book, "310000", "2026-10", "2026-10", ON, declared_base=Decimal("600"),
                      base_source="declared_input")

    assert registry.base.amount == Decimal("600") and not registry.base.clamped
    assert typed.base.amount > Decimal("600") and typed.base.clamped and typed.illustrative
