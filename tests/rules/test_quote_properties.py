"""Properties of the quote engine over every shipped region (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.loading import load_rulebook
from miniservice.rules.money import to_fen
from miniservice.rules.months import Month
from miniservice.rules.quote import quote
from miniservice.rules.quote_model import CitizenFacts
from tests.rules.helpers import POLICIES

BOOK = load_rulebook(POLICIES)
RESOLVED = {code: BOOK.resolve(code) for code in BOOK.codes()}

regions = st.sampled_from(sorted(RESOLVED))
schemes = st.sampled_from([Scheme.EMPLOYEE, Scheme.FLEXIBLE])
# pay dates within 2025 keep the previous-year base fixed, so only the rules under test move
pay_dates = st.dates(min_value=date(2025, 1, 10), max_value=date(2025, 12, 31))
# Properties of figures, not of speed: no per-example deadline (a loaded CI machine took 260 ms for one).
settings.register_profile("rules", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("rules")


def facts(region: str, scheme: Scheme, first: Month, last: Month, cause: Cause = Cause.SELF) -> CitizenFacts:
    return CitizenFacts(region, scheme, first, last, cause=cause, continuous_months_before=12)


def gap_before(on: date, length: int, ends_back: int) -> tuple[Month, Month]:
    last = Month.of(on) - 1 - ends_back
    return last - (length - 1), last


@given(regions, schemes, pay_dates, st.integers(1, 12), st.integers(0, 2))
def test_one_more_month_of_gap_never_costs_less(region, scheme, on, length, ends_back):
    first, last = gap_before(on, length, ends_back)
    shorter = quote(RESOLVED[region], facts(region, scheme, first, last), on)
    longer = quote(RESOLVED[region], facts(region, scheme, first - 1, last), on)
    if longer.route.possible:
        assert longer.totals.citizen_owes >= shorter.totals.citizen_owes
        # a month past the back-pay window (上海/南京) adds nothing payable; any other adds a line
        assert longer.totals.contributions > shorter.totals.contributions or longer.route.unpayable
    assert longer.benefits.waiting_months >= shorter.benefits.waiting_months


@given(regions, schemes, pay_dates, st.integers(1, 3), st.integers(1, 40))
def test_late_fee_grows_with_the_days_since_the_due_date(region, scheme, on, length, extra_days):
    first, last = gap_before(on, length, 0)
    later = min(on + timedelta(days=extra_days), date(2025, 12, 31))
    early = quote(RESOLVED[region], facts(region, scheme, first, last), on)
    late = quote(RESOLVED[region], facts(region, scheme, first, last), later)
    # the same months payable on both days (a month may leave 上海/南京's window in between)
    if early.route.possible and late.route.possible and early.route.unpayable == late.route.unpayable:
        assert late.totals.late_fee >= early.totals.late_fee
        for a, b in zip(early.lines, late.lines, strict=True):
            assert b.late_days - a.late_days == (later - on).days
            assert b.late_fee >= a.late_fee


@given(regions, pay_dates, st.integers(1, 24), st.integers(0, 3), st.booleans())
def test_a_unit_caused_gap_never_charges_the_citizen(region, on, length, ends_back, unemployed):
    first, last = gap_before(on, length, ends_back)
    citizen = CitizenFacts(region, Scheme.EMPLOYEE, first, last, cause=Cause.UNIT, unemployed=unemployed)
    q = quote(RESOLVED[region], citizen, on)
    assert q.totals.citizen_owes == Decimal(0)
    assert q.to_json()["totals"]["citizen_owes"] == "0.00"
    assert all(line.payer.value != "citizen" for line in q.lines)


@given(regions, schemes, pay_dates, st.integers(1, 8))
def test_totals_are_the_exact_sum_of_the_lines(region, scheme, on, length):
    first, last = gap_before(on, length, 0)
    q = quote(RESOLVED[region], facts(region, scheme, first, last), on)
    assert q.totals.contributions == sum((line.amount for line in q.lines), Decimal(0))
    assert q.totals.total == q.totals.citizen_owes + q.totals.unit_owes + q.totals.fund_owes
    data = q.to_json()
    assert Decimal(data["totals"]["total"]) == to_fen(q.totals.total)  # half-up, once, at the end


@given(regions, schemes, pay_dates, st.integers(1, 8), st.sampled_from(list(Cause)))
def test_every_cited_key_exists_and_every_section_cites_something(region, scheme, on, length, cause):
    first, last = gap_before(on, length, 0)
    data = quote(RESOLVED[region], facts(region, scheme, first, last, cause), on).to_json()
    for section in ("route", "benefits", "continuity", "guidance"):
        assert data[section]["cites"], section
        assert set(data[section]["cites"]) <= set(data["citations"])
    assert data["illustrative"] == any(c["illustrative"] for c in data["citations"].values())
