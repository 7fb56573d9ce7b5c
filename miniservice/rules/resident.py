"""居民医保 quotes: the 集中缴费期, the yearly premium and the 2025 waiting-period rules.

国办发〔2024〕38号 (public policy; seed 001 gives the same 3 → 6 months): enrolling outside the
集中参保期, or after 断保, waits a fixed 3 months, plus 1 month for each *additional* year of 断保;
缴费修复 (paying years back at the current personal premium) removes 1 month of the variable part per
year; after ≥ 4 years of 断保 the wait stays at least 6 months. Which 断保 years count at all is a
regional parameter (``count_gap_years_from``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from miniservice.rules.citing import Citer
from miniservice.rules.months import Month, add_months_to_date
from miniservice.rules.quote_model import BackPayRoute, Benefits, CitizenFacts, ResidentTerms, Route


@dataclass(frozen=True, slots=True)
class ResidentOutcome:
    route: BackPayRoute
    benefits: Benefits
    terms: ResidentTerms


@dataclass(frozen=True, slots=True)
class PeriodDates:
    """The 集中缴费期 of one coverage year; ``estimated``: no source states these dates for this region
    and year (given for another year, or by a rule file that marks them 示例数据)."""

    start: date
    end: date
    estimated: bool


def period_dates(citer: Citer, year: int) -> PeriodDates:
    """The 集中缴费期 for coverage ``year``, cited, and whether a source states it for that year.

    A notice gives one year's dates (全国多数地区 2024-09-10 至 12-25, for 2025; 江西 2025年度). Used for
    another year they are an estimate: both dates are then cited as illustrative, with a note naming
    the year they were given for and that the local notice of the year prevails. Dates the rule file
    itself marks illustrative (the national “全国多数地区” period) are estimated in every year. Rules without
    ``resident.period_years`` (rule versions stored before it) take the dates for every year, as before.
    """
    citer.value("resident.period_start")
    citer.value("resident.period_end")
    start, end = citer.rules.resident.period().bounds(year)
    stated = citer.rules.resident.period_years
    estimated = stated is not None and year not in stated.value
    if estimated:
        years = citer.value("resident.period_years")
        given = "、".join(str(y) for y in years)
        note = (f"来源公布的是{given}年度的集中缴费期，{year}年度按同样的日期估算（示例数据），"
                "以当地当年通知为准")
        citer.estimate("resident.period_start", note)
        citer.estimate("resident.period_end", note)
    shown = ("resident.period_start", "resident.period_end")
    return PeriodDates(start, end, any(citer.used[key].illustrative for key in shown))


def counted_gap_years(citer: Citer, facts: CitizenFacts) -> int:
    """断保 years that count: from the gap months when given, else the stated number of years.

    The first counted year is read (and cited) only when there are gap months to count: a premium
    without 断保 does not rest on it, so it cannot make that quote illustrative.
    """
    if facts.gap_first is not None and facts.gap_last is not None:
        count_from = citer.value("resident.count_gap_years_from")
        return sum(1 for year in range(facts.gap_first.year, facts.gap_last.year + 1) if year >= count_from)
    return facts.resident_gap_years or 0


def waiting_months(citer: Citer, gap_years: int, repair_years: int) -> tuple[int, int]:
    """(fixed, variable) waiting months after 缴费修复, honouring the long-gap minimum."""
    fixed = citer.value("resident.fixed_wait_months")
    free = citer.value("resident.free_gap_years")
    variable = max(0, gap_years - free) * citer.value("resident.extra_wait_per_gap_year")
    if repair_years:
        variable = max(0, variable - repair_years * citer.value("resident.repair_months_per_year"))
    if gap_years >= citer.value("resident.long_gap_years"):
        variable = max(variable, citer.value("resident.long_gap_min_wait_months") - fixed)
    return fixed, variable


def quote_resident(citer: Citer, facts: CitizenFacts, on_date: date) -> ResidentOutcome:
    rules = citer.rules
    with citer.track() as keys:
        citer.value("resident.period_start")
        citer.value("resident.period_end")
        period = rules.resident.period()
        open_year = period.open_for(on_date)
        in_period = open_year is not None
        gap_years = counted_gap_years(citer, facts)
        online = citer.value("resident.online")
        enrol_now = not in_period and citer.value("resident.off_period_enrolment")
        upcoming = next(y for y in (on_date.year, on_date.year + 1, on_date.year + 2)
                        if period.bounds(y)[0] > on_date)
        if enrol_now:
            # Enrolling now pays for the year the benefits fall in, after the wait. Without 断保, when
            # the next period opens before that wait would end, paying in it is better: on time, no
            # wait (after 断保 the next period waits as long, so enrolling now is no worse).
            off_wait = sum(waiting_months(citer, gap_years, min(facts.resident_repair_years, gap_years)))
            benefits_from = add_months_to_date(on_date, off_wait)
            enrol_now = bool(gap_years) or period.bounds(upcoming)[0] > benefits_from
        if in_period:
            year = open_year
        elif enrol_now:
            year = benefits_from.year
        else:  # wait for the next period, which is on time again
            year = upcoming
        dates = period_dates(citer, year)
        start, end = dates.start, dates.end
        _, premium = citer.by_year("resident.premium", year)
        repair_years = min(facts.resident_repair_years, gap_years)
        # Paid in the period but after the year it pays for began: covered from the next month
        # (南昌: 1月1日之后参保的,待遇享受时间从参保缴费次月开始), or from 1 January where a region says so.
        late_in_year = in_period and on_date >= date(year, 1, 1)
        stated = rules.resident.from_next_month_after_new_year is not None
        next_month = late_in_year and (citer.value("resident.from_next_month_after_new_year") if stated else True)
        fixed, variable = (0, 0)
        if enrol_now or gap_years:  # 38号: outside the period, or not continuously enrolled
            fixed, variable = waiting_months(citer, gap_years, repair_years)
    how = Route.ONLINE if online else Route.WINDOW
    if in_period:
        code, reason = "period_open", f"{year} 年度的集中缴费期（{start.isoformat()} 至 {end.isoformat()}）正在进行"
        covered_from = (Month.of(on_date) + 1).first_day if next_month else date(year, 1, 1)
    elif enrol_now:
        code, reason = "off_period", "现在不在集中缴费期内，可以参保缴费，但需经过等待期才能享受待遇"
        covered_from = on_date  # the wait runs from enrolment; benefits never before the year paid for
    else:
        how, code, reason = Route.NEXT_PERIOD, "next_period", f"请在下一个集中缴费期缴费，{start.isoformat()} 开始"
        covered_from = date(year, 1, 1)
    wait = fixed + variable
    resume_on = max(add_months_to_date(covered_from, wait) if wait else covered_from, date(year, 1, 1))
    cites = tuple(keys)
    return ResidentOutcome(
        route=BackPayRoute(True, how, reason, code, cites),
        benefits=Benefits(resume_on, wait, resume_on - timedelta(days=1) if wait else None, Decimal(0),
                          False, _wait_rule(fixed, variable, next_month), cites),
        terms=ResidentTerms(year, in_period, start, end, premium, gap_years, fixed, variable, repair_years,
                            premium * repair_years, cites, dates.estimated),
    )


def _wait_rule(fixed: int, variable: int, next_month: bool) -> str:
    """The waiting rule in words, as 国办发〔2024〕38号 names its two parts."""
    if next_month:
        return "在集中缴费期内、但在1月1日之后缴费：不设待遇等待期，从缴费次月起享受待遇"
    if not fixed + variable:
        return "按时参保缴费，不设待遇等待期"
    if not variable:
        return f"固定待遇等待期 {fixed} 个月"
    return f"固定待遇等待期 {fixed} 个月，另加变动待遇等待期 {variable} 个月，共 {fixed + variable} 个月"
