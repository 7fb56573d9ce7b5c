"""A bound citizen's own records, gaps and account, as the RECORDS reply and the H5 pages show them.

The view is data only; the words are in ``templates/messages/records_phrases.txt`` so the WeChat reply
and the page say the same thing. The gap, who caused it, the line and what paying means come from
the citizen's own quote (:func:`miniservice.quotes.service.person_quote`, built on
:mod:`miniservice.quotes.citizen`), so the records page never says something the quote denies; the
other rule figures it shows (the 集中缴费期, the required years) are read through a
:class:`~miniservice.rules.citing.Citer` so the page can cite file, version and date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlmodel import Session

from miniservice import state
from miniservice.citizens.ledger import balance_of
from miniservice.citizens.models import AccountEntry, Contribution, Person, ResidentPremium
from miniservice.quotes.citizen import records_from_rows
from miniservice.quotes.service import PersonQuote, person_quote
from miniservice.rulebook.resolve import rules_in_force
from miniservice.rules.citing import Citation, Citer
from miniservice.rules.gaps import Gap, GapReport
from miniservice.rules.kinds import Cause, PayStatus, Scheme
from miniservice.rules.months import Month, month_range
from miniservice.rules.resident import period_dates
from miniservice.rules.schema import RegionRules

ACCOUNT_SCHEMES = frozenset({Scheme.EMPLOYEE, Scheme.FLEXIBLE, Scheme.RETIREE})


@dataclass(frozen=True)
class MonthLine:
    """One month of the timeline; ``status`` adds ``missing`` (no row, due) and ``not_due``."""

    month: Month
    status: str
    row: Row[Any] | None = None  # the month's ``contribution`` row
    in_open_gap: bool = False


@dataclass(frozen=True)
class YearLine:
    """One 居民医保 year; ``status`` adds ``missing`` for a year with no row."""

    year: int
    status: str
    row: Row[Any] | None = None  # the year's ``resident_premium`` row


@dataclass(frozen=True)
class NextYear:
    """居民医保: the coming year's premium and its 集中缴费期.

    ``state``: ``paid``; else where today stands against the period: ``upcoming``, ``open``, ``closed``.
    """

    year: int
    status: str
    period_start: date
    period_end: date
    state: str
    period_estimated: bool = False  # the sources give the period's dates for another year only


@dataclass(frozen=True)
class RetireeStatus:
    """Years counted towards the required years (社会保险法 §27), in months."""

    retired_on: date | None
    paid_months: int
    deemed_months: int
    required_months: int
    required_actual_months: int

    @property
    def total_months(self) -> int:
        return self.paid_months + self.deemed_months

    @property
    def short_months(self) -> int:
        return max(self.required_months - self.total_months, self.required_actual_months - self.paid_months, 0)


@dataclass(frozen=True)
class RecordsView:
    person: Person
    scheme: Scheme
    region_name: str
    today: date
    report: GapReport
    months: tuple[MonthLine, ...]  # newest first
    years: tuple[YearLine, ...]  # 居民医保, newest first
    quote: PersonQuote  # the citizen's quote today: the figures the page states about the gap
    unit_deadline_months: int
    reset_months: int
    unit_caused: bool
    balance: Decimal | None
    entries: tuple[Row[Any], ...]  # the latest ``account_entry`` rows
    next_year: NextYear | None
    retiree: RetireeStatus | None
    citations: tuple[Citation, ...]

    @property
    def current_gap(self) -> Gap | None:
        """The open gap a citizen is told about; a retiree owes no months, only (maybe) years to top up."""
        return None if self.retiree else self.report.open_gap


# Built once (a 缴费记录 reply runs all three; building them per reply cost more than running them).
# Plain rows, not ORM entities: the view only shows them, and loading ORM entities (the person's
# included) was 12% of the 缴费记录 handler's time under gunicorn (docs/performance.md).
_PERSON_ID = bindparam("person_id")
_CONTRIBUTIONS = (select(*Contribution.__table__.c).where(Contribution.person_id == _PERSON_ID)
                  .order_by(Contribution.month))
_PREMIUMS = (select(*ResidentPremium.__table__.c).where(ResidentPremium.person_id == _PERSON_ID)
             .order_by(ResidentPremium.year))
_LATEST_ENTRIES = (select(*AccountEntry.__table__.c).where(AccountEntry.person_id == _PERSON_ID)
                   .order_by(AccountEntry.at.desc(), AccountEntry.id.desc()).limit(5))


def rules_for(session: Session, region_code: str, today: date) -> RegionRules:
    """The published rules in force on ``today``: the same source as quotes and reminders, so a page
    never shows figures from a file on disk that staff have not published (raises NoRulesInForce)."""
    return rules_in_force(session, region_code, today)


def records_view(session: Session, person: Person, today: date, months: int = 24) -> RecordsView:
    """Everything the records reply and page show for ``person`` on ``today`` (``months``: timeline length)."""
    assert person.id is not None
    rules = rules_for(session, person.region_code, today)
    citer = Citer(rules)
    scheme = person.scheme
    resident = scheme is Scheme.RESIDENT
    read = session.connection().execute
    contributions = [] if resident else list(read(_CONTRIBUTIONS, {"person_id": person.id}))
    premiums = list(read(_PREMIUMS, {"person_id": person.id}))
    own = person_quote(session, person.id, today, records_from_rows(person, contributions, premiums))
    section = "employee" if scheme is Scheme.EMPLOYEE else "flexible"  # as RegionRules.gap_policy reads them
    retiree = _retiree(citer, person, contributions) if scheme is Scheme.RETIREE else None
    report = own.situation.report
    timeline = () if scheme is Scheme.RESIDENT else _timeline(contributions, report, person, months)
    unit_caused = report.open_gap is not None and own.quote.facts.cause is Cause.UNIT
    has_account = scheme in ACCOUNT_SCHEMES
    return RecordsView(
        person=person, scheme=scheme, region_name=rules.name, today=today, report=report, months=timeline,
        years=_years(premiums, person, today) if premiums or scheme is Scheme.RESIDENT else (),
        quote=own,
        unit_deadline_months=citer.value("employee.backpay.unit_arrears_deadline_months") if unit_caused else 0,
        reset_months=citer.value(f"{section}.continuity_reset_after_months"),
        unit_caused=unit_caused,
        balance=balance_of(session, person.id) if has_account else None,
        entries=tuple(read(_LATEST_ENTRIES, {"person_id": person.id})) if has_account else (),
        next_year=_next_year(citer, premiums, today) if scheme is Scheme.RESIDENT else None,
        retiree=retiree,
        citations=tuple(citer.used[key] for key in sorted(citer.used)),
    )


def _timeline(rows: list[Row[Any]], report: GapReport, person: Person, count: int) -> tuple[MonthLine, ...]:
    by_month = {Month.from_index(row.month): row for row in rows}
    latest = Month.from_index(rows[-1].month) if rows else None  # rows come in month order
    last = report.last_due or Month.of(report.as_of) - 1
    if latest is not None and (person.scheme is Scheme.RETIREE or latest > last):
        last = latest  # a month paid ahead; for a retiree, the last working month
    first = max(Month.of(person.enrolled_since), last - (count - 1))
    gap = report.open_gap
    lines = []
    for month in month_range(first, last):
        row = by_month.get(month)
        status = row.status if row else ("missing" if report.last_due and month <= report.last_due else "not_due")
        lines.append(MonthLine(month, status, row, in_open_gap=gap is not None and month in gap))
    return tuple(reversed(lines))


def _years(premiums: list[Row[Any]], person: Person, today: date) -> tuple[YearLine, ...]:
    by_year = {p.year: p for p in premiums}
    first = min([person.enrolled_since.year, *by_year])
    last = max([today.year, *by_year])
    return tuple(YearLine(y, by_year[y].status if y in by_year else "missing", by_year.get(y))
                 for y in range(last, first - 1, -1))


def _next_year(citer: Citer, premiums: list[Row[Any]], today: date) -> NextYear:
    year = today.year + 1
    dates = period_dates(citer, year)
    start, end = dates.start, dates.end
    status = next((p.status for p in premiums if p.year == year), "missing")
    if status in (PayStatus.PAID.value, PayStatus.BACK_PAID.value):
        state = "paid"
    else:
        state = "upcoming" if today < start else "open" if today <= end else "closed"
    return NextYear(year, status, start, end, state, dates.estimated)


def _retiree(citer: Citer, person: Person, rows: list[Row[Any]]) -> RetireeStatus:
    sex = "male" if state.vault().id_number(person.id_number_cipher).sex == "M" else "female"
    paid = sum(1 for row in rows if row.status != PayStatus.UNPAID.value)
    return RetireeStatus(
        retired_on=person.retired_on,
        paid_months=paid,
        deemed_months=person.deemed_months,
        required_months=citer.value(f"retiree.required_years_{sex}") * 12,
        required_actual_months=citer.value("retiree.required_actual_years") * 12,
    )
