"""Retirement top-up: years short of the region's requirement, one-off vs year by year.

社会保险法 §27 (seed 000): at retirement age a member short of the required years may pay up to
them. Seed 000 weighs the two ways: one-off costs more now but is done; year by year spreads the cost
but the base usually rises every year, so the total is higher. The yearly rise is an *assumption*
from the rule file (always cited, normally illustrative), never a forecast.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from miniservice.rules.citing import Citer, FactError, QuoteError
from miniservice.rules.kinds import Sex
from miniservice.rules.quote_model import CitizenFacts, RetirementTopUp


def _age(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def top_up(citer: Citer, facts: CitizenFacts, on_date: date) -> RetirementTopUp:
    """Months short (the larger of the total and the actually-paid shortfall) and their cost.

    §27 applies 达到法定退休年龄时: with a birth date younger than the region's earliest retirement
    age for the sex, there is no top-up to quote, so the facts are refused (:class:`FactError`).
    """
    if facts.sex is None:
        raise QuoteError("a retirement top-up needs the citizen's sex (required years differ by sex)")
    age = _age(facts.birth_date, on_date)
    with citer.track() as keys:
        sex_key = "male" if facts.sex is Sex.MALE else "female"
        if age is not None and getattr(citer.rules.retiree, f"earliest_age_{sex_key}") is not None:
            earliest = citer.value(f"retiree.earliest_age_{sex_key}")
            if age < earliest:
                raise FactError("birth", f"按出生日期 {facts.birth_date}，到 {on_date.isoformat()} "
                                f"才 {age} 周岁，{'男' if facts.sex is Sex.MALE else '女'}性最早 {earliest} 周岁"
                                "才能退休，还不能办理退休补缴。请检查出生日期。")
        required = citer.value(f"retiree.required_years_{sex_key}") * 12
        required_actual = citer.value("retiree.required_actual_years") * 12
        allowed = citer.value("retiree.top_up_allowed")
        actual = facts.paid_months if facts.actually_paid_months is None else facts.actually_paid_months
        short = max(required - facts.paid_months, required_actual - actual, 0)
        base = rate = growth = Decimal(0)
        one_off = yearly = Decimal(0)
        if short:
            _, base = citer.by_year("wage.average_monthly", on_date.year - 1)
            rate = citer.value("retiree.top_up_rate")
            growth = citer.value("retiree.assumed_wage_growth")
            one_off = base * rate * short
            yearly = sum((base * (1 + growth) ** (i // 12) * rate for i in range(short)), Decimal(0))
    return RetirementTopUp(
        required_months=required,
        paid_months=facts.paid_months,
        actually_paid_months=actual,
        short_months=short,
        allowed=allowed,
        base=base,
        rate=rate,
        one_off=one_off,
        year_by_year_total=yearly,
        assumed_wage_growth=growth,
        age=age,
        cites=tuple(keys),
    )
