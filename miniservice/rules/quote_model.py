"""The facts a quote starts from and the quote it produces, with its one JSON shape.

Amounts inside these objects keep full ``Decimal`` precision; :meth:`Quote.to_json` rounds them
half-up to 分 when it writes them, so a total is the rounding of the exact sum, not the sum of
rounded lines. The JSON shape is documented in ``docs/quote-json.md``; the CLI, the H5 page's API
and the tests all read this one shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from miniservice.rules.citing import Citation
from miniservice.rules.kinds import Cause, Scheme, Sex
from miniservice.rules.money import ZERO, to_fen
from miniservice.rules.months import Month
from miniservice.rules.schema import ContinuityEffect

JSON_SCHEMA = "miniservice.quote/1"
# Where a quote's monthly base comes from, most specific first (docs/quote-json.md "base").
BASE_SOURCES = ("registry_gap_rows", "registry_last_paid", "declared_input", "regional_average")


@dataclass(frozen=True, slots=True)
class CitizenFacts:
    """What the engine needs to know about one citizen; nothing identifying."""

    region: str
    scheme: Scheme
    gap_first: Month | None = None  # first unpaid month (居民医保: January of the first 断保 year)
    gap_last: Month | None = None  # last unpaid month, both included
    cause: Cause = Cause.SELF
    sex: Sex | None = None
    birth_date: date | None = None
    paid_months: int = 0  # 累计缴费 months, deemed years (视同) included
    actually_paid_months: int | None = None  # 实际缴费 months; None: same as paid_months
    continuous_months_before: int = 0  # continuous enrolment up to the gap
    resident_gap_years: int | None = None  # 居民医保 断保 years when no gap months are given
    resident_repair_years: int = 0  # 缴费修复: years the citizen chooses to pay back
    unemployed: bool = False  # receiving 失业保险金: the unemployment fund pays, on 60% of the wage
    declared_base: Decimal | None = None  # the citizen's own monthly base (registry or what-if), if known
    base_source: str = "regional_average"  # where declared_base comes from (see BASE_SOURCES)
    # A mixed 职工医保 gap: the months of a citizen's (cause SELF) gap that the unit owes. A gap whose
    # every month is the unit's has cause UNIT and none listed here.
    unit_months: tuple[Month, ...] = ()
    # Whether the gap runs to the latest month due (open). A closed gap was followed by renewed
    # payment from the month after ``gap_last``: its lapse ended then, and no line is stated for it.
    gap_open: bool = True

    def __post_init__(self) -> None:
        if (self.gap_first is None) != (self.gap_last is None):
            raise ValueError("give both gap_first and gap_last, or neither")
        if self.gap_first and self.gap_last and self.gap_last < self.gap_first:
            raise ValueError("gap_last is before gap_first")
        for name in ("paid_months", "continuous_months_before", "resident_repair_years"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.declared_base is not None and self.declared_base <= 0:
            raise ValueError("declared_base must be positive")
        if self.base_source not in BASE_SOURCES:
            raise ValueError(f"unknown base_source {self.base_source!r}")
        if (self.declared_base is None) != (self.base_source == "regional_average"):
            raise ValueError("a declared_base needs its source; the regional average needs none")
        if self.unit_months:
            if self.scheme is not Scheme.EMPLOYEE or self.cause is not Cause.SELF:
                raise ValueError("unit_months belong to a self-caused 职工医保 (in-unit) gap")
            if not (self.gap_first and self.gap_last and all(self.gap_first <= m <= self.gap_last
                                                              for m in self.unit_months)):
                raise ValueError("unit_months must lie within the gap")
            if len(set(self.unit_months)) >= self.gap_months:
                raise ValueError("a gap the unit owes entirely has cause UNIT, not unit_months")

    @property
    def gap_months(self) -> int:
        return self.gap_first.months_until(self.gap_last) + 1 if self.gap_first and self.gap_last else 0


class Route(StrEnum):
    ONLINE = "online"
    WINDOW = "window"  # only at the 医保经办机构 window (or by the unit there)
    NEXT_PERIOD = "next_period"  # 居民医保: only in the next 集中缴费期
    NOT_POSSIBLE = "not_possible"


class Payer(StrEnum):
    CITIZEN = "citizen"
    UNIT = "unit"
    FUND = "unemployment_fund"


@dataclass(frozen=True, slots=True)
class BackPayRoute:
    """Whether and how the gap can be paid; ``reason`` is a Chinese sentence for people, ``code`` the
    machine-readable kind of that reason (docs/quote-json.md lists them), so clients never parse text."""

    possible: bool
    how: Route
    reason: str
    code: str
    cites: tuple[str, ...] = ()
    # The gap's first months that are past the back-pay window when the rest is inside it (上海/南京:
    # only the last 3 months may be paid): they cannot be paid and stay a break in enrolment.
    unpayable: tuple[Month, ...] = ()


@dataclass(frozen=True, slots=True)
class MonthLine:
    month: Month
    due_date: date
    base: Decimal
    unit_rate: Decimal
    personal_rate: Decimal
    unit_amount: Decimal
    personal_amount: Decimal
    late_days: int
    late_fee: Decimal
    payer: Payer

    @property
    def amount(self) -> Decimal:
        return self.unit_amount + self.personal_amount


@dataclass(frozen=True, slots=True)
class Part:
    """Who pays which months of a gap, how much, and by when: one per payer, citizen first.

    A mixed gap (some months the unit's, some the citizen's) has two; every other gap one. The
    citizen's deadline is the quote's line (the last day paying avoids every consequence); the
    unit's is the day its arrears must arrive (seed 004: 应在6个月内足额补缴到账).
    """

    payer: Payer
    months: tuple[Month, ...]
    contributions: Decimal
    late_fee: Decimal
    deadline: date | None  # None: no day changes the outcome (or the fund pays)
    deadline_kind: str | None  # "line" (the citizen's) or "unit_arrears"
    passed: bool
    cites: tuple[str, ...] = ()

    @property
    def amount(self) -> Decimal:
        return self.contributions + self.late_fee


@dataclass(frozen=True, slots=True)
class BaseUsed:
    """The monthly base the lines use, and why: the citizen's own base when known, else the region's.

    ``declared`` is the citizen's base before the floor/ceiling band; ``amount`` is what is billed.
    """

    amount: Decimal
    source: str  # one of BASE_SOURCES, or "unemployment_fund" (60% of the average, fund pays)
    declared: Decimal | None
    clamped: bool
    cites: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Totals:
    unit_share: Decimal = ZERO
    personal_share: Decimal = ZERO
    late_fee: Decimal = ZERO
    premium: Decimal = ZERO  # 居民医保 premium and 缴费修复 years
    citizen_owes: Decimal = ZERO
    unit_owes: Decimal = ZERO
    fund_owes: Decimal = ZERO
    cites: tuple[str, ...] = ()

    @property
    def contributions(self) -> Decimal:
        return self.unit_share + self.personal_share

    @property
    def total(self) -> Decimal:
        return self.citizen_owes + self.unit_owes + self.fund_owes


@dataclass(frozen=True, slots=True)
class Benefits:
    resume_on: date
    waiting_months: int
    waiting_ends: date | None
    ratio_during_wait: Decimal
    gap_bills_reimbursable: bool
    rule: str
    cites: tuple[str, ...] = ()
    back_paid: bool = True  # False: the gap cannot be back-paid; benefits resume on renewed payment only


@dataclass(frozen=True, slots=True)
class ReducedRatio:
    ratio: Decimal
    below_months: int
    normal_from: date
    cites: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Continuity:
    effect: ContinuityEffect
    months_before: int
    months_after: int
    cites: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LineAdvice:
    """The region's line: the last day on which paying avoids every consequence of the gap.

    Derived from the region's own rules (its waiting bands in months or days, the back-pay window,
    the unit's arrears deadline), not from the national three months; ``None`` on a quote when no
    day matters (every day gives the same outcome).
    """

    last_day_within: date
    first_day_beyond: date
    passed: bool
    avoided_waiting_months: int | None  # waiting months from the first day beyond (None: same wait)
    avoided_rule: str | None  # what applies from the first day beyond
    measure: str = "months"  # how the region measures the gap: "months" or "days"
    length_within: int = 0  # the gap's length (in ``measure``) on the last day within
    reason: str = "waiting"  # what changes beyond: "waiting", "window" (no back-pay), "unit_deadline"
    cites: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RetirementTopUp:
    required_months: int
    paid_months: int
    actually_paid_months: int
    short_months: int
    allowed: bool
    base: Decimal
    rate: Decimal
    one_off: Decimal
    year_by_year_total: Decimal
    assumed_wage_growth: Decimal
    age: int | None
    cites: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResidentTerms:
    coverage_year: int
    in_period: bool
    period_start: date
    period_end: date
    premium: Decimal
    gap_years_counted: int
    fixed_wait_months: int
    variable_wait_months: int
    repair_years: int
    repair_amount: Decimal
    cites: tuple[str, ...] = ()
    period_estimated: bool = False  # no source states the period's dates for this region and year (示例数据)


@dataclass(frozen=True, slots=True)
class Guidance:
    online: tuple[str, ...]
    hotline: str
    offline: tuple[str, ...]
    materials: tuple[str, ...]
    cites: tuple[str, ...] = ()
    hotline_hours: str = ""  # when the hotline (and, as the rule files give no other hours, the windows) answer


@dataclass(frozen=True, slots=True)
class Quote:
    region_code: str
    region_name: str
    region_chain: tuple[str, ...]
    version: str
    effective_from: date
    on_date: date
    facts: CitizenFacts
    route: BackPayRoute
    lines: tuple[MonthLine, ...]
    totals: Totals
    benefits: Benefits | None
    continuity: Continuity | None
    guidance: Guidance
    citations: dict[str, Citation]
    reduced_ratio: ReducedRatio | None = None
    line: LineAdvice | None = None
    base: BaseUsed | None = None
    retirement: RetirementTopUp | None = None
    resident: ResidentTerms | None = None
    notes: tuple[str, ...] = field(default=())
    parts: tuple[Part, ...] = ()  # who pays which months, by when (empty without month lines)

    @property
    def stated_dates(self) -> tuple[date, ...]:
        """Every date this quote states (the 居民医保 coverage year as its first day): a quote is given
        only when all of them are dates the rules can describe."""
        dates = [self.on_date, *(line.due_date for line in self.lines),
                 *(part.deadline for part in self.parts if part.deadline is not None)]
        if self.benefits is not None:
            dates += [self.benefits.resume_on, *filter(None, [self.benefits.waiting_ends])]
        if self.line is not None:
            dates += [self.line.last_day_within, self.line.first_day_beyond]
        if self.reduced_ratio is not None:
            dates.append(self.reduced_ratio.normal_from)
        if self.resident is not None:
            dates += [self.resident.period_start, self.resident.period_end, date(self.resident.coverage_year, 1, 1)]
        return tuple(dates)

    @property
    def shown_cites(self) -> tuple[str, ...]:
        """The keys behind the figures this quote shows: amounts owed, benefits, the line, top-up, premium.

        Guidance texts and parameters read only to rule a case out are not figures shown to anyone.
        """
        sections: list[tuple[str, ...]] = [self.route.cites]
        if self.lines or self.totals.premium:
            sections.append(self.totals.cites)
        if self.base is not None and self.lines:
            sections.append(self.base.cites)
        sections.extend(part.cites for part in self.parts)
        for part in (self.benefits, self.reduced_ratio, self.continuity, self.line, self.resident):
            if part is not None:
                sections.append(part.cites)
        if self.retirement is not None and self.retirement.short_months:
            sections.append(self.retirement.cites)
        return tuple(dict.fromkeys(key for keys in sections for key in keys))

    @property
    def illustrative_keys(self) -> tuple[str, ...]:
        return tuple(k for k in self.shown_cites if k in self.citations and self.citations[k].illustrative)

    @property
    def illustrative(self) -> bool:
        """True when a figure this quote shows rests on an illustrative (not official) figure."""
        return bool(self.illustrative_keys)

    def to_json(self) -> dict[str, Any]:
        """The one JSON-ready shape (see docs/quote-json.md)."""
        facts = self.facts
        return {
            "schema": JSON_SCHEMA,
            "region": {"code": self.region_code, "name": self.region_name, "chain": list(self.region_chain),
                       "version": self.version, "effective_from": self.effective_from.isoformat()},
            "on_date": self.on_date.isoformat(),
            "scheme": facts.scheme.value,
            "cause": facts.cause.value,
            "gap": None if facts.gap_first is None else {
                "first": str(facts.gap_first), "last": str(facts.gap_last), "months": facts.gap_months},
            "inputs": _inputs_json(facts),
            "route": {"possible": self.route.possible, "how": self.route.how.value, "reason": self.route.reason,
                      "code": self.route.code,
                      "payable_months": [str(line.month) for line in self.lines],
                      "unpayable_months": [str(month) for month in self.route.unpayable],
                      "cites": list(self.route.cites)},
            "base": _base_json(self.base) if self.lines else None,
            "months": [_line_json(line) for line in self.lines],
            "parts": [_part_json(part) for part in self.parts],
            "totals": _totals_json(self.totals),
            "benefits": _benefits_json(self.benefits),
            "reduced_ratio": None if self.reduced_ratio is None else {
                "ratio": str(self.reduced_ratio.ratio), "below_months": self.reduced_ratio.below_months,
                "normal_from": self.reduced_ratio.normal_from.isoformat(), "cites": list(self.reduced_ratio.cites)},
            "continuity": None if self.continuity is None else {
                "effect": self.continuity.effect.value, "months_before": self.continuity.months_before,
                "months_after": self.continuity.months_after, "cites": list(self.continuity.cites)},
            "three_month_line": _line_advice_json(self.line),
            "retirement": _retirement_json(self.retirement),
            "resident": _resident_json(self.resident),
            "guidance": {"online": list(self.guidance.online), "hotline": self.guidance.hotline,
                         "offline": list(self.guidance.offline), "materials": list(self.guidance.materials),
                         "hotline_hours": self.guidance.hotline_hours,
                         "cites": list(self.guidance.cites)},
            "citations": {key: c.to_json() for key, c in sorted(self.citations.items())},
            "illustrative": self.illustrative,
            "illustrative_keys": list(self.illustrative_keys),
            "notes": list(self.notes),
        }


def money(amount: Decimal) -> str:
    """Money in JSON: yuan with two decimals, rounded half-up, no thousands separator."""
    return f"{to_fen(amount):.2f}"


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _line_json(line: MonthLine) -> dict[str, Any]:
    return {"month": str(line.month), "due_date": line.due_date.isoformat(), "base": money(line.base),
            "unit_rate": str(line.unit_rate), "personal_rate": str(line.personal_rate),
            "unit_amount": money(line.unit_amount), "personal_amount": money(line.personal_amount),
            "amount": money(line.amount), "late_days": line.late_days, "late_fee": money(line.late_fee),
            "payer": line.payer.value}


def _part_json(part: Part) -> dict[str, Any]:
    return {"payer": part.payer.value, "months": [str(month) for month in part.months], "count": len(part.months),
            "contributions": money(part.contributions), "late_fee": money(part.late_fee),
            "amount": money(part.amount), "deadline": _iso(part.deadline), "deadline_kind": part.deadline_kind,
            "passed": part.passed, "cites": list(part.cites)}


def _totals_json(totals: Totals) -> dict[str, Any]:
    return {"contributions": money(totals.contributions), "unit_share": money(totals.unit_share),
            "personal_share": money(totals.personal_share), "late_fee": money(totals.late_fee),
            "premium": money(totals.premium), "citizen_owes": money(totals.citizen_owes),
            "unit_owes": money(totals.unit_owes), "fund_owes": money(totals.fund_owes),
            "total": money(totals.total), "cites": list(totals.cites)}


def _benefits_json(b: Benefits | None) -> dict[str, Any] | None:
    if b is None:
        return None
    return {"resume_on": b.resume_on.isoformat(), "waiting_months": b.waiting_months,
            "waiting_ends": _iso(b.waiting_ends), "ratio_during_wait": str(b.ratio_during_wait),
            "gap_bills_reimbursable": b.gap_bills_reimbursable, "back_paid": b.back_paid, "rule": b.rule,
            "cites": list(b.cites)}


def _line_advice_json(a: LineAdvice | None) -> dict[str, Any] | None:
    if a is None:
        return None
    avoids = None if a.avoided_waiting_months is None else {
        "waiting_months": a.avoided_waiting_months, "rule": a.avoided_rule}
    return {"last_day_within": a.last_day_within.isoformat(), "first_day_beyond": a.first_day_beyond.isoformat(),
            "passed": a.passed, "measure": a.measure, "length_within": a.length_within, "reason": a.reason,
            "avoids": avoids, "cites": list(a.cites)}


def _inputs_json(f: CitizenFacts) -> dict[str, Any]:
    return {"continuous_months_before": f.continuous_months_before,
            "declared_base": None if f.declared_base is None else money(f.declared_base),
            "unit_months": [str(month) for month in f.unit_months], "gap_open": f.gap_open,
            "base_source": f.base_source, "unemployed": f.unemployed,
            "sex": None if f.sex is None else f.sex.value, "birth_date": _iso(f.birth_date),
            "paid_months": f.paid_months,
            "actually_paid_months": f.paid_months if f.actually_paid_months is None else f.actually_paid_months}


def _base_json(b: BaseUsed | None) -> dict[str, Any] | None:
    if b is None:
        return None
    return {"amount": money(b.amount), "source": b.source,
            "declared": None if b.declared is None else money(b.declared), "clamped": b.clamped,
            "cites": list(b.cites)}


def _retirement_json(r: RetirementTopUp | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {"required_months": r.required_months, "paid_months": r.paid_months,
            "actually_paid_months": r.actually_paid_months, "short_months": r.short_months,
            "short_years": _years(r.short_months), "allowed": r.allowed, "base": money(r.base),
            "rate": str(r.rate), "one_off": money(r.one_off), "year_by_year_total": money(r.year_by_year_total),
            "assumed_wage_growth": str(r.assumed_wage_growth), "age": r.age, "cites": list(r.cites)}


def _years(months: int) -> str:
    """Months as years with at most two decimals, half-up: 60 → ``"5"``, 80 → ``"6.67"``."""
    return f"{(Decimal(months) / 12).quantize(Decimal('0.01'), ROUND_HALF_UP).normalize():f}"


def _resident_json(r: ResidentTerms | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {"coverage_year": r.coverage_year, "in_period": r.in_period,
            "period_start": r.period_start.isoformat(), "period_end": r.period_end.isoformat(),
            "premium": money(r.premium), "gap_years_counted": r.gap_years_counted,
            "fixed_wait_months": r.fixed_wait_months, "variable_wait_months": r.variable_wait_months,
            "repair_years": r.repair_years, "repair_amount": money(r.repair_amount),
            "period_estimated": r.period_estimated, "cites": list(r.cites)}
