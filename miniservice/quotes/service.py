"""Quotes for bound citizens and what-ifs, always with the rules in force on the quote's date.

Every surface (WeChat, H5, API, CLI) comes through here, so "which rule version" has one answer:
:func:`~miniservice.rulebook.resolve.rules_in_force` for the quote's region and day. Nothing here
writes: a quote is a reading, so it opens a reading session or uses the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import inspect, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session

from miniservice.citizens.models import Binding, Person
from miniservice.db import Database
from miniservice.quotes.citizen import Record, Situation, situation
from miniservice.quotes.errors import BadParameter, QuoteUnavailable, RulesNotLoaded, SchemaMissing
from miniservice.quotes.params import WhatIf, out_of_range
from miniservice.rulebook.models import RuleVersion
from miniservice.rulebook.queries import regions_in_force
from miniservice.rulebook.resolve import NoRulesInForce, rules_in_force
from miniservice.rules.citing import FactError, QuoteError
from miniservice.rules.gaps import due_date, last_due_month, last_due_year_of
from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.loading import NATIONAL
from miniservice.rules.months import Month
from miniservice.rules.quote import quote
from miniservice.rules.quote_model import CitizenFacts, Quote, ResidentTerms
from miniservice.rules.schema import RegionRules


class NoRulesOnDate(QuoteUnavailable):
    """Rules are loaded, but none was in force for the region on the day asked about."""


@dataclass(frozen=True)
class PersonQuote:
    """A bound citizen's quote: what paying on ``quote.on_date`` means for their actual record."""

    person: Person
    situation: Situation
    quote: Quote  # 居民医保: the first unpaid coverage year (quoted on its period's first day if that is ahead)
    late: Quote | None = None  # 居民医保 quoted in its 集中缴费期: the same year paid after the period

    @property
    def scheme(self) -> Scheme:
        return self.situation.scheme

    @property
    def due(self) -> bool:
        """Something to pay: a 职工医保 gap, an unpaid 居民医保 year, a retiree short of the years."""
        if self.scheme is Scheme.RESIDENT:
            terms, report = self.quote.resident, self.situation.report
            assert terms is not None and report is not None
            return terms.coverage_year not in self.situation.paid_years and terms.period_start <= report.as_of
        if self.scheme is Scheme.RETIREE:
            return bool(self.quote.retirement and self.quote.retirement.short_months)
        return self.situation.facts.gap_first is not None


def rules_on(session: Session, region_code: str, on_date: date) -> RegionRules:
    """The region's rules in force on ``on_date``; says plainly when nothing was ever loaded, or when
    the database was never initialised (a missing table, not a traceback)."""
    try:
        return rules_in_force(session, region_code, on_date)
    except (OperationalError, ProgrammingError) as exc:
        if not inspect(session.get_bind()).has_table(RuleVersion.__tablename__):
            raise SchemaMissing() from exc
        raise
    except NoRulesInForce as exc:
        loaded = session.execute(select(RuleVersion.id).where(RuleVersion.status == "published").limit(1)).first()
        if loaded is None:
            raise RulesNotLoaded() from exc
        raise NoRulesOnDate(str(exc)) from exc


def bound_person_id(session: Session, openid: str) -> int | None:
    return session.execute(select(Binding.person_id).where(Binding.openid == openid)).scalar_one_or_none()


def quote_for_person(db: Database, person_id: int, on_date: date) -> PersonQuote:
    """The quote for a person's actual record on ``on_date`` (see :func:`person_quote`)."""
    with db.reading() as session:
        return person_quote(session, person_id, on_date)


def person_quote(session: Session, person_id: int, on_date: date, records: list[Record] | None = None) -> PersonQuote:
    """Inside the caller's session (a WeChat delivery has one open already); ``records``: the person's
    records when the caller has read them already (the records page)."""
    person = session.get(Person, person_id)
    if person is None:
        raise LookupError(f"no person {person_id}")
    rules = rules_on(session, person.region_code, on_date)
    found = situation(session, person, rules, on_date, records)
    if found.scheme is Scheme.RESIDENT:
        return _resident_quote(session, person, found, rules, on_date)
    return PersonQuote(person, found, _engine(rules, found.facts, on_date))


def _resident_quote(session: Session, person: Person, found: Situation, rules: RegionRules,
                    on_date: date) -> PersonQuote:
    """The year to pay now; when it is paid already, the next unpaid year on its period's first day."""
    current = _engine(rules, found.facts, on_date)
    assert current.resident is not None
    year = current.resident.coverage_year
    if year in found.paid_years:
        year = next(y for y in range(year + 1, year + 100) if y not in found.paid_years)
        start, _ = rules.resident.period().bounds(year)
        day = start if start > on_date else max(on_date, date(year, 1, 1))  # its period, or late enrolment
        current = _engine(rules_on(session, person.region_code, day), found.facts, day)
        assert current.resident is not None
    if not current.resident.in_period:
        return PersonQuote(person, found, current)
    day = late_day(current.resident)
    late = _engine(rules_on(session, person.region_code, day), found.facts, day)
    return PersonQuote(person, found, current, late)


def late_day(terms: ResidentTerms) -> date:
    """The first day a 居民医保 year counts as paid late: after its 集中缴费期, within the year itself."""
    return max(terms.period_end + timedelta(days=1), date(terms.coverage_year, 1, 1))


def _engine(rules: RegionRules, facts: CitizenFacts, on_date: date) -> Quote:
    try:
        return quote(rules, facts, on_date)
    except (QuoteError, ValueError) as exc:
        raise QuoteUnavailable(f"{rules.code}@{rules.version}: {exc}") from exc


def what_if(db: Database, request: WhatIf) -> Quote:
    """A quote for a hypothetical case, no identity involved; bad input raises :class:`BadParameter`.

    Without a gap the engine's answer is itself the "no gap" result (``gap`` is null, nothing owed);
    for 居民医保 it is the premium of the year open for payment; for a retiree, the top-up to the
    required years. A month not yet due on the quote's day is not a gap, so it is refused.
    """
    with db.reading() as session:
        try:
            rules = rules_on(session, request.region, request.on_date)
        except NoRulesOnDate as exc:
            raise BadParameter("on", f"{request.on_date.isoformat()} 没有生效的政策规则版本") from exc
    gap_open = True
    if request.last is not None and request.scheme in (Scheme.EMPLOYEE, Scheme.FLEXIBLE):
        due_day = rules.contribution(request.scheme).due_day_next_month.value or None
        latest = last_due_month(request.on_date, due_day)
        gap_open = request.last == latest  # the months after an earlier last month are taken as paid
        if request.last > latest:
            raise BadParameter("last", f"{request.last} 的缴费截止日 {due_date(request.last, due_day)} 尚未过，"
                               f"还不算断缴；到 {request.on_date} 为止最近一个已到期的月份是 {latest}")
    if request.last is not None and request.scheme is Scheme.RESIDENT:
        _check_resident_gap(rules, request.last, request.on_date)
    facts = CitizenFacts(
        request.region, request.scheme, request.first, request.last, cause=request.cause,
        continuous_months_before=request.continuous_months, declared_base=request.base,
        base_source="regional_average" if request.base is None else "declared_input",
        sex=request.sex, birth_date=request.birth_date, paid_months=request.paid_months,
        actually_paid_months=request.actual_months, gap_open=gap_open)
    try:
        return quote(rules, facts, request.on_date)
    except FactError as exc:  # the facts contradict the rules: the input at fault is named
        raise BadParameter(exc.field, str(exc)) from exc
    except QuoteError as exc:
        raise BadParameter("on", f"按 {request.on_date.isoformat()} 的规则无法测算：{exc}") from exc
    except ValueError as exc:  # a date the quote needs (a resume day, the line) falls past LAST_DAY
        raise out_of_range(request.on_date) from exc


def _check_resident_gap(rules: RegionRules, last: Month, on_date: date) -> None:
    """A 居民医保 year is 断保 once its 集中缴费期 has ended — as on a bound citizen's own quote
    (``gaps.last_due_year_of``) —, not only once the calendar year has; a year still open is refused."""
    period = rules.resident.period()
    latest = last_due_year_of(period, on_date)
    if last.year > latest:
        end = period.bounds(last.year)[1]
        raise BadParameter("last", f"{last.year} 年度的集中缴费期到 {end.isoformat()} 才结束，还不算断保；"
                           f"到 {on_date.isoformat()} 为止，集中缴费期已结束的最近一个年度是 {latest} 年")


def resident_what_if(db: Database, region: str, on_date: date) -> Quote:
    """The 居民医保 premium of the year open for payment in ``region`` on ``on_date``."""
    return what_if(db, WhatIf(region, Scheme.RESIDENT, None, None, Cause.SELF, on_date))


def loaded_regions(session: Session, today: date) -> list[tuple[str, str]]:
    """(code, name) of every region with a version in force today, for the what-if form."""
    regions = [(code, name) for code, name in regions_in_force(session, today) if code != NATIONAL]
    if not regions:
        raise RulesNotLoaded()
    return regions
