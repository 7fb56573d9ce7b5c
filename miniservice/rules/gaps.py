"""Gap (断缴/断保) detection as pure functions.

A citizen's record is a set of contribution months, each paid, unpaid or back-paid (补缴); a month
with no record is unpaid. A month only counts as *missed* once its due date has passed, so a citizen
who has not yet paid the current month is never told they have a gap. Back-paid months close a gap:
the law counts them as continuous enrolment (seed 000: 补缴时间计入连续缴费时间; seed 004: 补缴后视作
连续参保), so they are reported separately as ``repaired`` runs and never break continuity.

The three-month line matters because the national transfer rules (医保办发〔2021〕43号, seed 004)
waive every waiting period for a gap of at most three months; the last day to pay before the fourth
missed month falls due is the most useful date a reminder can give.

居民医保 (``resident``) is paid once a year for the next year during a 集中缴费期, so its gaps are
counted in whole years, and an unpaid next year while the period is open is a *coming* gap whose
deadline is the period's end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from miniservice.rules.kinds import PayStatus, Scheme
from miniservice.rules.months import Month

__all__ = [
    "CollectionPeriod",
    "Gap",
    "GapPolicy",
    "GapReport",
    "MonthRecord",
    "ThreeMonthLine",
    "date_gap_reaches",
    "detect_gaps",
    "due_date",
    "last_due_month",
    "three_month_line",
]


@dataclass(frozen=True, slots=True)
class MonthRecord:
    """One contribution month as the records system reports it."""

    month: Month
    status: PayStatus = PayStatus.PAID


@dataclass(frozen=True, slots=True)
class CollectionPeriod:
    """居民医保 集中缴费期 as month-day bounds, e.g. 09-01 → 12-31, or 09-15 → 02-28 across New Year.

    The period for coverage year ``Y`` starts in ``Y - 1``; when its end month-day comes before its
    start month-day the period runs past New Year and ends in ``Y`` itself (江西: 2024-09-15 to
    2025-02-28 for 2025, seed 002).
    """

    start_month: int
    start_day: int
    end_month: int
    end_day: int

    @classmethod
    def parse(cls, start: str, end: str) -> CollectionPeriod:
        """Build from ``"MM-DD"`` strings as rule files write them."""
        (sm, sd), (em, ed) = (_month_day(start), _month_day(end))
        return cls(sm, sd, em, ed)

    def bounds(self, coverage_year: int) -> tuple[date, date]:
        """First and last day on which the premium for ``coverage_year`` is paid on time."""
        start = _clamped(coverage_year - 1, self.start_month, self.start_day)
        crosses = (self.end_month, self.end_day) < (self.start_month, self.start_day)
        end = _clamped(coverage_year if crosses else coverage_year - 1, self.end_month, self.end_day)
        return start, end

    def open_for(self, on: date) -> int | None:
        """The coverage year whose period contains ``on``, or None between periods."""
        for year in (on.year + 1, on.year):
            start, end = self.bounds(year)
            if start <= on <= end:
                return year
        return None


def _month_day(text: str) -> tuple[int, int]:
    month_text, _, day_text = text.strip().partition("-")
    month, day = int(month_text), int(day_text)
    _clamped(2000, month, day)  # raises for 02-30, 13-01 ...; 2000 is a leap year so 02-29 passes
    return month, day


def _clamped(year: int, month: int, day: int) -> date:
    """``date`` that turns 02-29 into 02-28 in common years, so a 02-29 period end stays usable."""
    if (month, day) == (2, 29):
        return Month(year, 2).last_day
    return date(year, month, day)


@dataclass(frozen=True, slots=True)
class GapPolicy:
    """The regional parameters gap detection needs; the rule files supply them per scheme."""

    due_day_next_month: int | None = None  # None: due on the month's last day; N: by the Nth of next month
    continuity_reset_after: int | None = 6  # a gap longer than this many months resets continuity
    line_months: int = 3  # the "three-month line" of 医保办发〔2021〕43号
    resident_period: CollectionPeriod | None = None  # required for the resident scheme


@dataclass(frozen=True, slots=True)
class Gap:
    """A run of missed months (or, with ``unit == "year"``, whole missed 居民医保 years)."""

    first: Month
    last: Month
    open: bool = False  # still unpaid up to the latest due month, with no payment after it
    unit: str = "month"  # "month" or "year"
    deadline: date | None = None  # for a coming gap: the last day to pay without a gap
    paid_back: bool = False  # a back-paid (补缴) run: reported, but covered and continuous

    @property
    def months(self) -> int:
        return self.first.months_until(self.last) + 1

    @property
    def years(self) -> int:
        return self.last.year - self.first.year + 1

    def __contains__(self, month: object) -> bool:
        return isinstance(month, Month) and self.first <= month <= self.last


@dataclass(frozen=True, slots=True)
class ThreeMonthLine:
    """When an open gap passes ``line_months`` (normally three) months."""

    last_day_within: date  # paying everything by this day keeps the gap within the line
    first_day_beyond: date  # from this day the gap counts as longer than the line
    months: int = 3

    def passed(self, on: date) -> bool:
        return on >= self.first_day_beyond

    def days_left(self, on: date) -> int:
        """Days from ``on`` to the last day within the line (negative once passed)."""
        return (self.last_day_within - on).days


@dataclass(frozen=True, slots=True)
class GapReport:
    """Everything a citizen (or a reminder) needs to know about their gaps on ``as_of``."""

    scheme: Scheme
    as_of: date
    last_due: Month | None  # latest month (resident: December of the latest year) already due
    current: Gap | None  # the most recent unpaid run; ``open`` tells whether it is still running
    past: tuple[Gap, ...] = ()  # earlier unpaid runs, oldest first
    repaired: tuple[Gap, ...] = ()  # back-paid runs, oldest first
    coming: Gap | None = None  # resident: next year unpaid while its 集中缴费期 is still open
    latest_paid: Month | None = None
    continuous_months: int = 0  # counted back from latest_paid, through gaps ≤ the reset threshold
    continuity_lost: bool = False  # the open gap already exceeds the reset threshold
    line: ThreeMonthLine | None = None  # only for an open monthly gap
    notes: tuple[str, ...] = field(default=())

    @property
    def gaps(self) -> tuple[Gap, ...]:
        """All unpaid runs, oldest first."""
        return (*self.past, self.current) if self.current else self.past

    @property
    def open_gap(self) -> Gap | None:
        return self.current if self.current and self.current.open else None

    @property
    def missed_months(self) -> int:
        return sum(gap.months for gap in self.gaps)


def due_date(month: Month, due_day_next_month: int | None = None) -> date:
    """Last day on which ``month`` counts as paid on time.

    By default a month is due on its own last day; a region that says "by the Nth of the following
    month" passes ``due_day_next_month=N`` (clamped to that month's length).
    """
    if not due_day_next_month:
        return month.last_day
    following = month + 1
    return date(following.year, following.month, min(due_day_next_month, following.last_day.day))


def last_due_month(as_of: date, due_day_next_month: int | None = None) -> Month:
    """The latest month whose due date is strictly before ``as_of`` (so it can be missed)."""
    month = Month.of(as_of)
    while due_date(month, due_day_next_month) >= as_of:
        month = month - 1
    return month


def last_due_year_of(period: CollectionPeriod, as_of: date) -> int:
    """The latest 居民医保 coverage year whose 集中缴费期 ended before ``as_of``: the last year that can
    be 断保 on that day (a year's period ends before the year itself does, so this may be next year)."""
    year = as_of.year + 1
    while period.bounds(year)[1] >= as_of:
        year -= 1
    return year


def date_gap_reaches(first: Month, months: int, due_day_next_month: int | None = None) -> date:
    """First day on which a gap starting at ``first`` is ``months`` months long."""
    return due_date(first + (months - 1), due_day_next_month) + timedelta(days=1)


def three_month_line(first: Month, due_day_next_month: int | None = None, months: int = 3) -> ThreeMonthLine:
    """The line for a gap starting at ``first``: the day the (months+1)th month falls due, and after."""
    last_within = due_date(first + months, due_day_next_month)
    return ThreeMonthLine(last_within, last_within + timedelta(days=1), months)


def detect_gaps(
    records: Iterable[MonthRecord],
    *,
    scheme: Scheme,
    enrolled_from: Month,
    as_of: date,
    policy: GapPolicy | None = None,
    has_required_years: bool = False,
) -> GapReport:
    """Find the gaps in ``records`` as of ``as_of``.

    Records before ``enrolled_from`` are ignored. When a month appears more than once, any covering
    status (paid or back-paid) wins, because a payment is never undone by a later "unpaid" line.
    A retiree with the required years owes nothing, so has no gaps by definition (社会保险法 §27).
    For ``resident`` any covered month of a year means that year's premium is paid.
    """
    policy = policy or GapPolicy()
    covered, back_paid = _covered_months(records, enrolled_from)
    latest_paid = max(covered) if covered else None
    if scheme is Scheme.RETIREE and has_required_years:
        return GapReport(scheme, as_of, None, None, latest_paid=latest_paid,
                         notes=("retiree with the required years: no contributions are due",))
    if scheme is Scheme.RESIDENT:
        return _resident_report(covered, back_paid, enrolled_from, as_of, policy)
    return _monthly_report(scheme, covered, back_paid, enrolled_from, as_of, policy, latest_paid)


def _covered_months(records: Iterable[MonthRecord], enrolled_from: Month) -> tuple[set[Month], set[Month]]:
    covered: set[Month] = set()
    back_paid: set[Month] = set()
    for record in records:
        if record.month < enrolled_from or record.status is PayStatus.UNPAID:
            continue
        covered.add(record.month)
        if record.status is PayStatus.BACK_PAID:
            back_paid.add(record.month)
    return covered, back_paid


def _spans(values: Iterable[int]) -> Iterator[tuple[int, int]]:
    """Consecutive spans of integers (month indexes or years), lowest first."""
    start = prev = None
    for value in sorted(set(values)):
        if prev is not None and value == prev + 1:
            prev = value
            continue
        if start is not None and prev is not None:
            yield start, prev
        start = prev = value
    if start is not None and prev is not None:
        yield start, prev


def _runs(months: Iterable[Month]) -> Iterator[tuple[Month, Month]]:
    """Consecutive runs of the given months, oldest first."""
    return _index_runs(m.index for m in months)


def _index_runs(indexes: Iterable[int]) -> Iterator[tuple[Month, Month]]:
    """Consecutive runs of months given by their indexes, oldest first."""
    for first, last in _spans(indexes):
        yield Month.from_index(first), Month.from_index(last)


def _year_gaps(years: Iterable[int], *, paid_back: bool = False) -> list[Gap]:
    """Whole-year gaps, January of the first year to December of the last."""
    return [Gap(Month(first, 1), Month(last, 12), unit="year", paid_back=paid_back)
            for first, last in _spans(years)]


def _monthly_report(
    scheme: Scheme,
    covered: set[Month],
    back_paid: set[Month],
    enrolled_from: Month,
    as_of: date,
    policy: GapPolicy,
    latest_paid: Month | None,
) -> GapReport:
    last_due = last_due_month(as_of, policy.due_day_next_month)
    # Month indexes, not Month objects: a person enrolled for twenty years has 240 months to walk, and
    # building a Month for each was a sixth of a 补缴测算 delivery's time (docs/performance.md).
    paid = {m.index for m in covered}
    missed = [i for i in range(enrolled_from.index, last_due.index + 1) if i not in paid]
    paid_after_due = latest_paid is not None and latest_paid > last_due
    gaps = [Gap(first, last, open=(last == last_due and not paid_after_due)) for first, last in _index_runs(missed)]
    current = gaps[-1] if gaps else None
    line = None
    if current is not None and current.open:
        line = three_month_line(current.first, policy.due_day_next_month, policy.line_months)
    reset = policy.continuity_reset_after
    return GapReport(
        scheme=scheme,
        as_of=as_of,
        last_due=last_due if last_due >= enrolled_from else None,
        current=current,
        past=tuple(gaps[:-1]),
        repaired=tuple(Gap(f, la, paid_back=True) for f, la in _runs(back_paid)),
        latest_paid=latest_paid,
        continuous_months=_continuous_months(paid, gaps, enrolled_from, latest_paid, reset),
        continuity_lost=bool(current and current.open and reset is not None and current.months > reset),
        line=line,
    )


def _continuous_months(
    paid: set[int], gaps: list[Gap], enrolled_from: Month, latest_paid: Month | None, reset: int | None
) -> int:
    """Covered months counted back from ``latest_paid``; a gap longer than ``reset`` stops the count.

    Shorter gaps are passed over (their months are not counted) because regions reset continuity
    only for long gaps (seed 001: 断缴超6个月 … 连续缴费年限清0). ``reset=None`` means any gap stops it.
    """
    if latest_paid is None:
        return 0
    start = enrolled_from
    for gap in reversed(gaps):
        if gap.last < latest_paid and (reset is None or gap.months > reset):
            start = gap.last + 1
            break
    return sum(1 for index in range(start.index, latest_paid.index + 1) if index in paid)


def _resident_report(
    covered: set[Month], back_paid: set[Month], enrolled_from: Month, as_of: date, policy: GapPolicy
) -> GapReport:
    period = policy.resident_period
    if period is None:
        raise ValueError("the resident scheme needs GapPolicy.resident_period (集中缴费期)")
    paid_years = {m.year for m in covered}
    last_due_year = last_due_year_of(period, as_of)
    missed = [y for y in range(enrolled_from.year, last_due_year + 1) if y not in paid_years]
    latest_paid_year = max(paid_years) if paid_years else None
    paid_after = latest_paid_year is not None and latest_paid_year > last_due_year
    gaps = _year_gaps(missed)
    if gaps and gaps[-1].last.year == last_due_year and not paid_after:
        gaps[-1] = replace(gaps[-1], open=True)
    open_year = period.open_for(as_of)
    coming = None
    if open_year is not None and open_year not in paid_years and open_year >= enrolled_from.year:
        coming = Gap(Month(open_year, 1), Month(open_year, 12), open=True, unit="year",
                     deadline=period.bounds(open_year)[1])
    year_months = {Month(y, 1).index + k for y in paid_years for k in range(12)}
    latest_paid = Month(latest_paid_year, 12) if latest_paid_year is not None else None
    reset = policy.continuity_reset_after
    current = gaps[-1] if gaps else None
    return GapReport(
        scheme=Scheme.RESIDENT,
        as_of=as_of,
        last_due=Month(last_due_year, 12) if last_due_year >= enrolled_from.year else None,
        current=current,
        past=tuple(gaps[:-1]),
        repaired=tuple(_year_gaps({m.year for m in back_paid}, paid_back=True)),
        coming=coming,
        latest_paid=latest_paid,
        continuous_months=_continuous_months(
            year_months, gaps, Month(enrolled_from.year, 1), latest_paid, reset
        ),
        continuity_lost=bool(current and current.open and reset is not None and current.months > reset),
    )
