"""The 补缴 quote engine: ``quote(rules, facts, on_date) -> Quote``.

For 职工医保 (in-unit or 灵活就业) a gap's cost is base × rate per month (seed 000, 001), the base being
the citizen's own declared base when known (clamped to the region's band), else the region's
previous-year average wage at the time of paying; the late fee is 万分之五 per day from
each month's due date (seed 001), charged to whoever caused the gap — never to the citizen when the
unit caused it (seed 001: 单位补缴后,个人无需承担滞纳金). Waiting, continuity and the three-month
line come from the region's bands (:mod:`waiting`); 居民医保 and retirement have their own modules.
Every figure is read through a :class:`Citer`, so the quote cites exactly what it used.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from miniservice.rules.citing import Citer, QuoteError
from miniservice.rules.gaps import due_date
from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.money import ZERO
from miniservice.rules.months import LAST_DAY, BeyondYears, Month, month_range
from miniservice.rules.quote_model import (
    BackPayRoute,
    BaseUsed,
    CitizenFacts,
    Guidance,
    LineAdvice,
    MonthLine,
    Part,
    Payer,
    Quote,
    RetirementTopUp,
    Route,
    Totals,
)
from miniservice.rules.resident import quote_resident
from miniservice.rules.retirement import top_up
from miniservice.rules.schema import RegionRules
from miniservice.rules.waiting import benefits, choose_band, continuity, line_advice, reduced_ratio, unit_deadline

__all__ = ["QuoteError", "line_for", "quote"]


def quote(rules: RegionRules, facts: CitizenFacts, on_date: date) -> Quote:
    """Quote a back-payment for ``facts`` under ``rules`` (from ``RuleBook.resolve``) on ``on_date``.

    Raises :class:`BeyondYears` when a date the quote would state falls after ``LAST_DAY``.
    """
    given = _quote(rules, facts, on_date)
    if max(given.stated_dates) > LAST_DAY:
        raise BeyondYears(f"a date of the quote on {on_date} falls after {LAST_DAY}")
    return given


def _quote(rules: RegionRules, facts: CitizenFacts, on_date: date) -> Quote:
    citer = Citer(rules)
    header = {"region_code": rules.code, "region_name": rules.name, "region_chain": rules.chain,
              "version": rules.version, "effective_from": rules.effective_from, "on_date": on_date,
              "facts": facts}
    if facts.scheme is Scheme.RESIDENT:
        outcome = quote_resident(citer, facts, on_date)
        terms = outcome.terms
        owed = terms.premium + terms.repair_amount
        return Quote(**header, route=outcome.route, lines=(), benefits=outcome.benefits, continuity=None,
                     totals=Totals(premium=owed, citizen_owes=owed, cites=terms.cites),
                     guidance=_guidance(citer, facts, outcome.route.how), resident=terms,
                     citations=citer.used)
    retirement = top_up(citer, facts, on_date) if facts.scheme is Scheme.RETIREE else None
    if facts.gap_first is None or facts.gap_last is None:
        route = (BackPayRoute(False, Route.NOT_POSSIBLE, "没有需要补缴的月份", "no_gap") if retirement is None
                 else _retiree_route(retirement))
        return Quote(**header, route=route, lines=(), totals=Totals(), benefits=None, continuity=None,
                     guidance=_guidance(citer, facts, Route.WINDOW), retirement=retirement,
                     citations=citer.used)
    section = "employee" if facts.scheme is Scheme.EMPLOYEE else "flexible"
    route = _route(citer, section, facts, on_date)
    lines, totals, base = _lines(citer, section, facts, on_date, route) if route.possible else ((), Totals(), None)
    # Months past the window stay unpaid: nothing of the gap is reimbursed, continuity restarts.
    all_paid = route.possible and not route.unpayable
    # An open gap that cannot be back-paid is never closed: the lapse runs from its first month to
    # today. A closed gap ended when payment was renewed, the month after its last: its lapse is its
    # own length, and without back-payment benefits resumed from that renewal, not from today.
    renewed = None if facts.gap_open else (facts.gap_last + 1).first_day
    lapse = facts.gap_months if route.possible or renewed else max(
        facts.gap_months, facts.gap_first.months_until(Month.of(on_date)) + 1)
    choice = choose_band(citer, section, facts.cause, facts.gap_first, lapse, on_date, lapse_end=renewed)
    unit_late = facts.cause is Cause.UNIT and on_date > unit_deadline(citer, section, facts.gap_first)
    resumed = benefits(choice, on_date if route.possible or renewed is None else renewed,
                       back_paid=all_paid, retroactive=not unit_late)
    kept = continuity(choice, facts.continuous_months_before, facts.gap_months, back_paid=all_paid)
    # The line is the last day paying an open gap avoids every consequence; a closed gap has none.
    line = line_advice(citer, section, facts.cause, facts.gap_first, on_date) if facts.gap_open else None
    return Quote(
        **header,
        route=route,
        lines=lines,
        totals=totals,
        benefits=resumed,
        continuity=kept,
        reduced_ratio=reduced_ratio(citer, section, kept, on_date, resumed.resume_on),
        line=line,
        parts=_parts(citer, section, lines, line, on_date),
        retirement=retirement,
        base=base,
        guidance=_guidance(citer, facts, route.how),
        citations=citer.used,
    )


def line_for(rules: RegionRules, scheme: Scheme, cause: Cause, gap_first: Month, on_date: date) -> LineAdvice | None:
    """The region's line for an open gap starting at ``gap_first``, as a quote on ``on_date`` states it
    (reminders are timed by this, so they never arrive after the consequence they warn about)."""
    section = "employee" if scheme is Scheme.EMPLOYEE else "flexible"
    return line_advice(Citer(rules), section, cause, gap_first, on_date)


def _route(citer: Citer, section: str, facts: CitizenFacts, on_date: date) -> BackPayRoute:
    """Whether the gap can be back-paid here, and how; the window counts back from this month."""
    assert facts.gap_first is not None
    with citer.track() as keys:
        if facts.cause is Cause.UNIT:
            window = citer.value(f"{section}.backpay.unit_window_months")
            deadline = citer.value(f"{section}.backpay.unit_arrears_deadline_months")
            last_day = unit_deadline(citer, section, facts.gap_first)
        else:
            window = citer.value(f"{section}.backpay.self_window_months")
            online = citer.value(f"{section}.backpay.self_online")
    earliest = Month.of(on_date) - window
    if facts.cause is Cause.UNIT:
        if window == 0:
            return BackPayRoute(False, Route.NOT_POSSIBLE, "该险种没有单位，不能由单位补缴", "unit_none", tuple(keys))
        if facts.gap_first < earliest:
            return BackPayRoute(False, Route.NOT_POSSIBLE, f"单位最多可为职工补缴最近 {window} 个月（{earliest} 起），"
                                "该断缴已超出期限，无法补缴", "unit_window_passed", tuple(keys))
        if on_date > last_day:
            return BackPayRoute(True, Route.WINDOW, f"由单位到医保经办机构补缴，本人无需缴费；但欠费应在 "
                                f"{deadline} 个月内到账，已于 {last_day} 超过期限，按同样长度的个人断缴计算待遇",
                                "unit_deadline_passed", tuple(keys))
        return BackPayRoute(True, Route.WINDOW, f"由单位到医保经办机构补缴，本人无需缴费；欠费应在 {last_day} 前"
                            f"（{deadline} 个月内）足额到账", "unit_in_time", tuple(keys))
    if window and facts.gap_last < earliest:
        return BackPayRoute(False, Route.NOT_POSSIBLE, f"个人最多可补缴最近 {window} 个月（{earliest} 起），"
                            "该断缴已超出期限，无法补缴；重新缴费后按新的连续参保计算", "self_window_passed",
                            tuple(keys))
    # 上海/南京 (seed 001): 部分城市允许补缴近3个月费用 … 超期需重新参保 — the months inside the window
    # can be paid; the older ones cannot, and stay a break in enrolment.
    unpayable = tuple(month_range(facts.gap_first, earliest - 1)) if window and facts.gap_first < earliest else ()
    past = "" if not unpayable else str(unpayable[0]) if len(unpayable) == 1 else f"{unpayable[0]} 至 {unpayable[-1]}"
    older = f"个人只能补缴最近 {window} 个月（{earliest} 起），{past} 已超出期限、无法补缴；" if past else ""
    if online:
        return BackPayRoute(True, Route.ONLINE, f"{older}可通过线上渠道（公众号、手机应用）补缴，也可到医保经办机构"
                            "窗口办理", "self_online", tuple(keys), unpayable)
    return BackPayRoute(True, Route.WINDOW, f"{older}需到医保经办机构窗口办理补缴", "self_window", tuple(keys),
                        unpayable)


def _retiree_route(top: RetirementTopUp) -> BackPayRoute:
    """A retiree pays up to the required years at the 医保经办机构 window (guidance.materials_retiree),
    when the region allows a top-up at all and years are short."""
    if not top.short_months:
        return BackPayRoute(False, Route.NOT_POSSIBLE, "缴费年限已够，无需补足", "retiree_nothing_short")
    if not top.allowed:
        return BackPayRoute(False, Route.NOT_POSSIBLE, "本地不允许退休时一次性补足缴费年限，请咨询医保经办机构",
                            "retiree_not_allowed", top.cites)
    return BackPayRoute(True, Route.WINDOW, "退休时缴费年限不足，可到医保经办机构窗口办理补足缴费年限",
                        "retiree_top_up", top.cites)


def _lines(citer: Citer, section: str, facts: CitizenFacts, on_date: date,
           route: BackPayRoute) -> tuple[tuple[MonthLine, ...], Totals, BaseUsed]:
    """One line per payable gap month at the base the bureau would bill and today's rates; totals
    are exact sums, rounded only on output."""
    assert facts.gap_first is not None and facts.gap_last is not None
    used = _base(citer, section, facts, on_date)
    base = used.amount
    unit_months = frozenset(facts.unit_months)
    with citer.track() as keys:
        unit_rate = citer.value(f"{section}.unit_rate")
        personal_rate = citer.value(f"{section}.personal_rate")
        due_day = citer.value(f"{section}.due_day_next_month") or None
        charged = set(citer.value(f"{section}.late_fee.causes"))
        daily = {cause: citer.value(f"{section}.late_fee.daily_rate") if cause.value in charged else ZERO
                 for cause in (Cause.SELF, Cause.UNIT)}

    def payer_of(month: Month) -> tuple[Payer, Decimal]:
        """Who pays the month and the late fee's daily rate they are charged (the fund is charged none)."""
        if facts.unemployed:
            return Payer.FUND, ZERO
        if facts.cause is Cause.UNIT or month in unit_months:
            return Payer.UNIT, daily[Cause.UNIT]
        return Payer.CITIZEN, daily[Cause.SELF]

    lines = []
    for month in month_range(facts.gap_first + len(route.unpayable), facts.gap_last):
        due = due_date(month, due_day)
        days = max(0, (on_date - due).days)
        unit_amount, personal_amount = base * unit_rate, base * personal_rate
        payer, rate = payer_of(month)
        lines.append(MonthLine(month, due, base, unit_rate, personal_rate, unit_amount, personal_amount, days,
                               (unit_amount + personal_amount) * rate * days, payer))

    def owed_by(payer: Payer) -> Decimal:
        return sum((line.amount + line.late_fee for line in lines if line.payer is payer), ZERO)

    return tuple(lines), Totals(
        unit_share=sum((line.unit_amount for line in lines), ZERO),
        personal_share=sum((line.personal_amount for line in lines), ZERO),
        late_fee=sum((line.late_fee for line in lines), ZERO),
        citizen_owes=owed_by(Payer.CITIZEN),
        unit_owes=owed_by(Payer.UNIT),
        fund_owes=owed_by(Payer.FUND),
        cites=(*used.cites, *keys),
    ), used


def _parts(citer: Citer, section: str, lines: tuple[MonthLine, ...], line: LineAdvice | None,
           on_date: date) -> tuple[Part, ...]:
    """The gap split by payer, citizen first: their months, amount and deadline.

    The citizen's deadline is the quote's line; the unit's is the day its arrears must arrive,
    counted from the first month it owes (a mixed gap's unit months may start later than the gap).
    """
    parts = []
    for payer in Payer:
        own = [month_line for month_line in lines if month_line.payer is payer]
        if not own:
            continue
        deadline, kind, cites = None, None, ()
        if payer is Payer.UNIT:
            with citer.track() as keys:
                deadline = unit_deadline(citer, section, own[0].month)
            kind, cites = "unit_arrears", tuple(keys)
        elif payer is Payer.CITIZEN and line is not None:
            deadline, kind, cites = line.last_day_within, "line", line.cites
        parts.append(Part(payer, tuple(m.month for m in own), sum((m.amount for m in own), ZERO),
                          sum((m.late_fee for m in own), ZERO), deadline, kind,
                          deadline is not None and on_date > deadline, cites))
    return tuple(parts)


def _base(citer: Citer, section: str, facts: CitizenFacts, on_date: date) -> BaseUsed:
    """The monthly base, as the bureau would bill it.

    The unemployment fund pays on 60% of the previous-year average wage (seed 003). Otherwise the
    citizen's own base (the registry's declared or paid base, or a what-if's) is used, clamped to
    the region's floor/ceiling band; only when none is known does the previous-year average wage at
    the time of paying stand in (seed 000). The band's figures are cited only when they change the
    base, so a citizen's own base is not marked illustrative because the average behind the band is;
    and the registry's base (what the bureau billed) is never moved by a band that rests on an
    illustrative figure (a what-if's typed base still is: it is only a guess).
    """
    if facts.unemployed:
        with citer.track() as keys:
            _, average = citer.by_year("wage.average_monthly", on_date.year - 1)
            amount = average * citer.value("wage.unemployed_base_ratio")
        return BaseUsed(amount, "unemployment_fund", None, False, tuple(keys))
    if facts.declared_base is None:
        with citer.track() as keys:
            _, average = citer.by_year("wage.average_monthly", on_date.year - 1)
        return BaseUsed(average, "regional_average", None, False, tuple(keys))
    with citer.track() as keys:
        _, average = citer.by_year("wage.average_monthly", on_date.year - 1)
        floor = average * citer.value(f"{section}.base_floor_ratio")
        ceiling = average * citer.value(f"{section}.base_ceiling_ratio")
    amount = min(max(facts.declared_base, floor), ceiling)
    example_band = any(citer.used[key].illustrative for key in keys if key in citer.used)
    if facts.base_source != "declared_input" and example_band:
        # The registry's base is what the bureau billed; an illustrative band must not replace a fact.
        amount = facts.declared_base
    clamped = amount != facts.declared_base
    return BaseUsed(amount, facts.base_source, facts.declared_base, clamped, tuple(keys) if clamped else ())


def _guidance(citer: Citer, facts: CitizenFacts, how: Route) -> Guidance:
    with citer.track() as keys:
        if facts.scheme is Scheme.RESIDENT:
            materials = citer.value("guidance.materials_resident")
        elif facts.scheme is Scheme.RETIREE:
            materials = citer.value("guidance.materials_retiree")
        elif facts.cause is Cause.UNIT:
            materials = citer.value("guidance.materials_unit")
        else:
            materials = citer.value("guidance.materials_self")
        online = citer.value("guidance.online") if how is Route.ONLINE else ()
        hotline = citer.value("guidance.hotline")
        offline = citer.value("guidance.offline")
        hours = citer.value("guidance.hotline_hours")
    return Guidance(tuple(online), hotline, tuple(offline), tuple(materials), tuple(keys), hours)
