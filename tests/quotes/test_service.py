"""Quotes for people and what-ifs: the rule version in force on the quote's date, and clear failures."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import Flask

from miniservice.db import Database
from miniservice.quotes.errors import BadParameter, RulesNotLoaded
from miniservice.quotes.params import WhatIf
from miniservice.quotes.service import quote_for_person, what_if
from miniservice.rulebook.service import import_toml, publish
from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.months import Month
from tests.quotes.conftest import POLICIES, TODAY, Registry


def test_a_quote_uses_the_version_in_force_on_its_own_date(app: Flask, db: Database, registry: Registry) -> None:
    text = (POLICIES / "440300.toml").read_text(encoding="utf-8")
    text = text.replace('version = "2025.5"', 'version = "2027.1"').replace(
        "effective_from = 2025-01-01", "effective_from = 2027-01-01").replace('value = "8000"', 'value = "8800"')
    with app.app_context():
        draft, _ = import_toml(db, text, "test", today=TODAY)
        publish(db, draft.id, date(2027, 1, 1), "test", today=TODAY)
    person = registry.person()
    registry.months(person, "2024-01", "2026-08", base="0")  # no base in the registry: the region's figure

    now = quote_for_person(db, person, TODAY).quote
    later = quote_for_person(db, person, date(2027, 1, 15)).quote

    assert (now.version, now.lines[0].base) == ("2025.5", 8000)
    assert (later.version, later.lines[0].base) == ("2027.1", 8800)
    assert later.citations["wage.average_monthly.2024"].version == "2027.1"


def test_without_any_rule_version_the_operator_is_told_to_load_the_policies(db: Database) -> None:
    with pytest.raises(RulesNotLoaded, match="miniservice policies load"):
        what_if(db, WhatIf("440300", Scheme.FLEXIBLE, Month(2026, 9), Month(2026, 10), Cause.SELF, TODAY))


def test_a_what_if_without_a_gap_is_the_engines_no_gap_result(db: Database, rules: None) -> None:
    result = what_if(db, WhatIf("440300", Scheme.FLEXIBLE, None, None, Cause.SELF, TODAY))

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


def test_a_bound_citizens_quote_bills_the_base_she_has_been_paying_on(db: Database, registry: Registry) -> None:
    person = registry.person(region="310115")  # 李*: the same base for two years, then one month unpaid
    registry.months(person, "2024-10", "2026-09", base="9000")

    result = quote_for_person(db, person, TODAY).quote

    assert result.base is not None and result.base.source == "registry_last_paid"
    assert [line.base for line in result.lines] == [9000]
    assert result.to_json()["base"]["declared"] == "9000.00"


def test_a_declared_base_below_the_floor_is_billed_at_the_floor_and_says_so(db: Database, rules: None) -> None:
    low = what_if(db, WhatIf("440300", Scheme.FLEXIBLE, Month(2026, 9), Month(2026, 10), Cause.SELF, TODAY,
                             base=Decimal("100")))

    assert low.base is not None and low.base.clamped and low.base.source == "declared_input"
    assert low.lines[0].base > 100 and "flexible.base_floor_ratio" in low.base.cites


def test_a_month_not_yet_due_is_not_a_gap(db: Database, rules: None) -> None:
    with pytest.raises(BadParameter) as raised:
        what_if(db, WhatIf("440300", Scheme.FLEXIBLE, Month(2026, 10), Month(2026, 11), Cause.SELF, TODAY))

    assert raised.value.field == "last" and "还不算断缴" in raised.value.message


def test_a_gap_that_cannot_be_back_paid_promises_no_back_paid_benefits(db: Database, rules: None) -> None:
    """宁波 reimburses a back-paid gap of ≤ 3 months; a 2-month gap past the back-pay window cannot be
    back-paid, so nothing of the sort may be promised (the issue's example: 深圳, 2025-01..04 on 2027-05-20).
    Those gaps are closed (the months after them are paid): benefits came back with the renewed payment,
    not today. An open gap past the window still lapses until the citizen pays again."""
    for region, first, last, on in (("330203", Month(2025, 1), Month(2025, 2), TODAY),
                                    ("440300", Month(2025, 1), Month(2025, 4), date(2027, 5, 20)),
                                    ("440300", Month(2025, 1), Month(2027, 4), date(2027, 5, 20))):
        result = what_if(db, WhatIf(region, Scheme.FLEXIBLE, first, last, Cause.SELF, on))

        # the open 28-month gap's last 6 months are inside the window: they can be paid, the rest cannot
        assert not result.route.possible or result.route.unpayable
        assert result.route.possible or result.totals.citizen_owes == 0
        assert result.benefits is not None and not result.benefits.gap_bills_reimbursable
        assert result.benefits.back_paid is False
        assert result.continuity is not None and result.continuity.effect.value != "kept"
        if result.facts.gap_open:
            assert result.benefits.waiting_months > 0 and result.benefits.resume_on > on
        else:  # renewed payment from the month after the gap: benefits resumed by that band, long ago
            assert result.line is None and result.benefits.resume_on < on


def test_a_closed_gap_is_judged_by_its_own_length_not_by_the_days_to_today(db: Database, rules: None) -> None:
    """Audit finding: 宜昌, one month missed in 2025-03 and paid since, quoted in September, was told the
    interruption exceeded 180 days (days counted to the quote's day) and continuity was reset."""
    result = what_if(db, WhatIf("420500", Scheme.FLEXIBLE, Month(2025, 3), Month(2025, 3), Cause.SELF,
                                date(2025, 9, 15)))

    assert not result.facts.gap_open and result.line is None
    assert result.benefits is not None and result.benefits.waiting_months == 0
    assert result.continuity is not None and result.continuity.effect.value == "kept"


def test_unit_arrears_paid_after_the_six_month_deadline_lose_retroactive_reimbursement(db: Database,
                                                                                       rules: None) -> None:
    gap = (Month(2026, 1), Month(2026, 5))  # the first month due 2026-01-31: arrears due by 2026-07-31
    within = what_if(db, WhatIf("330203", Scheme.EMPLOYEE, *gap, Cause.UNIT, date(2026, 7, 31)))
    after = what_if(db, WhatIf("330203", Scheme.EMPLOYEE, *gap, Cause.UNIT, TODAY))

    assert within.benefits is not None and within.benefits.gap_bills_reimbursable
    assert after.route.possible and after.route.code == "unit_deadline_passed"
    assert after.benefits is not None and not after.benefits.gap_bills_reimbursable
    assert after.totals.citizen_owes == 0 and after.totals.unit_owes > 0


def test_the_line_of_a_region_counting_days_is_the_last_day_before_its_first_wait(db: Database, rules: None) -> None:
    """宜昌 counts the lapse in days: more than 60 days brings a 3-month wait (seed 003)."""
    may = (Month(2026, 5), Month(2026, 5))
    result = what_if(db, WhatIf("420500", Scheme.FLEXIBLE, *may, Cause.SELF, date(2026, 6, 15)))

    assert result.line is not None and result.line.measure == "days"
    assert result.line.last_day_within == date(2026, 5, 1) + timedelta(days=60)
    paid_on_the_line = what_if(db, WhatIf("420500", Scheme.FLEXIBLE, *may, Cause.SELF, result.line.last_day_within))
    # The day after, June has fallen due too: the open gap is May and June.
    paid_after = what_if(db, WhatIf("420500", Scheme.FLEXIBLE, Month(2026, 5), Month(2026, 6), Cause.SELF,
                                    result.line.first_day_beyond))
    assert paid_on_the_line.benefits is not None and paid_on_the_line.benefits.waiting_months == 0
    assert paid_after.benefits is not None and paid_after.benefits.waiting_months > 0


def test_the_illustrative_flag_is_off_when_no_figure_shown_is_illustrative(db: Database, rules: None) -> None:
    result = what_if(db, WhatIf("440300", Scheme.FLEXIBLE, None, None, Cause.SELF, TODAY))

    assert result.illustrative is False and result.to_json()["illustrative_keys"] == []
