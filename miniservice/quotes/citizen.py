"""The one conversion from a citizen's registry rows to the engine's :class:`CitizenFacts`.

Every surface — WeChat replies, the H5 quote and records pages, ``/api/quote/me``, reminders,
家庭共济 dues, the admin preview and dashboard — reads a person's situation through this module
(directly, or through :func:`miniservice.quotes.service.person_quote`), so one citizen gets one
answer everywhere. It decides, once:

* the scheme and the gap (through :func:`~miniservice.rules.gaps.detect_gaps`, so a month not yet
  due is never a gap);
* who caused each unpaid month (:func:`causes`) and so the gap's cause; a mixed gap is the
  citizen's, with the unit's months listed (``CitizenFacts.unit_months``) so the quote bills each
  part to its payer with its own deadline;
* the base per month, and the base the bureau would bill: the registry's own declared base on the
  unpaid rows, else the base of the last paid month before the gap; only when the registry has none
  does the quote fall back to the region's figure (``CitizenFacts.base_source`` says which);
* continuous enrolment before the gap; retirement facts (paid, actually paid, deemed months);
* the person's active 家庭共济 links (:class:`Family`): who may pay for them from a personal
  account, and for whom they may pay, so family dues and pages ask this module, not the tables.

Whatever the length of a record it reads the person's months (or 居民医保 years) in one query. Its
statements are plain Core rows run on the session's connection: through the ORM session's own
``execute`` each cost about 0.13 ms more on a 补缴测算 tap (docs/performance.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, bindparam, case, exists, func, literal, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from miniservice import state
from miniservice.citizens.models import Contribution, Person, PersonalAccount, ResidentPremium
from miniservice.family.models import FamilyLink
from miniservice.rules.gaps import Gap, GapPolicy, GapReport, MonthRecord, detect_gaps, due_date
from miniservice.rules.kinds import Cause, PayStatus, Scheme, Sex
from miniservice.rules.months import Month, month_range
from miniservice.rules.quote_model import CitizenFacts
from miniservice.rules.schema import RegionRules


@dataclass(frozen=True, slots=True)
class Record:
    """One registry row as the facts need it (a 居民医保 year is the January of that year)."""

    month: Month
    status: PayStatus
    payer: str | None = None
    base: Decimal | None = None

    @property
    def covered(self) -> bool:
        return self.status is not PayStatus.UNPAID


@dataclass(frozen=True, slots=True)
class Tie:
    """One active 家庭共济 link seen from the person: the other person and the relationship."""

    person_id: int
    relationship: str  # a rules.schema.Relation value


@dataclass(frozen=True, slots=True)
class Family:
    """The person's active 家庭共济 links, both ways."""

    payers: tuple[Tie, ...] = ()  # holders with a personal account who may pay for this person
    relatives: tuple[Tie, ...] = ()  # relatives this person may pay for (as holder)

    def may_pay(self, holder_id: int) -> bool:
        """Whether ``holder_id`` may pay for this person from their personal account today."""
        return any(tie.person_id == holder_id for tie in self.payers)


@dataclass(frozen=True, slots=True)
class Situation:
    """What the registry says about a person on ``on_date``, ready for the engine."""

    scheme: Scheme
    facts: CitizenFacts
    report: GapReport  # a retiree's has no gaps: no monthly contributions fall due after retirement
    covered: frozenset[Month]  # paid or back-paid months (居民医保: January of each paid year)
    next_due: date | None = None  # 职工医保 without a gap: the day the next unpaid month falls due
    month_causes: tuple[tuple[Month, Cause], ...] = ()  # who owes each month of the gap
    bases: tuple[tuple[Month, Decimal], ...] = ()  # the registry's base per month, where it has one
    family: Family | None = None  # active 家庭共济 links (None: not read, as in a batch)

    @property
    def gap(self) -> Gap | None:
        """The gap the facts describe (the latest unpaid run; 居民医保: the open 断保 years)."""
        if self.scheme is Scheme.RETIREE:
            return None
        return self.report.open_gap if self.scheme is Scheme.RESIDENT else self.report.current

    @property
    def paid_years(self) -> frozenset[int]:
        return frozenset(month.year for month in self.covered)


# Built once: a 补缴测算 reply runs one of them, and building it cost about as much as running it.
_YEARS = select(ResidentPremium.year, ResidentPremium.status, ResidentPremium.payer).where(
    ResidentPremium.person_id == bindparam("person_id"))
_MONTHS = (select(Contribution.month, Contribution.status, Contribution.payer, Contribution.base)
           .where(Contribution.person_id == bindparam("person_id")).order_by(Contribution.month))


def records_of(session: Session, person: Person) -> list[Record]:
    """Every month (or 居民医保 year) the registry holds for ``person``, in one query."""
    if person.scheme is Scheme.RESIDENT:
        years = session.connection().execute(_YEARS, {"person_id": person.id})
        return [Record(Month(year, 1), PayStatus(status), payer) for year, status, payer in years]
    months = session.connection().execute(_MONTHS, {"person_id": person.id})
    return [Record(Month.from_index(index), PayStatus(status), payer, base) for index, status, payer, base in months]


def records_from_rows(person: Person, contributions: Sequence[Row[Any]], premiums: Sequence[Row[Any]]) -> list[Record]:
    """:func:`records_of` from rows the caller has loaded already (months in order): the records page
    shows the rows themselves, and reading them a second time for its quote was a query per view."""
    if person.scheme == Scheme.RESIDENT.value:
        return [Record(Month(row.year, 1), PayStatus(row.status), row.payer) for row in premiums]
    return [Record(Month.from_index(row.month), PayStatus(row.status), row.payer, row.base) for row in contributions]


def records_of_people(session: Session, people: Sequence[Person]) -> dict[int, list[Record]]:
    """Every listed person's months (居民医保: years) in two queries, for a batch (the admin preview)."""
    ids = [p.id for p in people]
    records: dict[int, list[Record]] = defaultdict(list)
    for person_id, month, status, payer, base in session.execute(
        select(Contribution.person_id, Contribution.month, Contribution.status, Contribution.payer, Contribution.base)
        .where(Contribution.person_id.in_(ids)).order_by(Contribution.person_id, Contribution.month)
    ):
        records[person_id].append(Record(Month.from_index(month), PayStatus(status), payer, base))
    for person_id, year, status, payer in session.execute(
        select(ResidentPremium.person_id, ResidentPremium.year, ResidentPremium.status, ResidentPremium.payer)
        .where(ResidentPremium.person_id.in_(ids))
    ):
        records[person_id].append(Record(Month(year, 1), PayStatus(status), payer))
    return records


def situation(session: Session, person: Person, rules: RegionRules, on_date: date,
              records: list[Record] | None = None) -> Situation:
    """Facts for ``person`` on ``on_date`` under ``rules`` (the version in force on that day), with
    their 家庭共济 links; ``records``: the person's records when the caller has read them
    (:func:`records_from_rows`)."""
    found = situation_from(person, records_of(session, person) if records is None else records, rules, on_date)
    return replace(found, family=family_of(session, person))


_LINKS = (select(FamilyLink.holder_id, FamilyLink.relative_id, FamilyLink.relationship,
                 PersonalAccount.person_id.is_not(None))
          .outerjoin(PersonalAccount, PersonalAccount.person_id == FamilyLink.holder_id)
          .where(FamilyLink.status == "active",
                 (FamilyLink.holder_id == bindparam("person_id")) | (FamilyLink.relative_id == bindparam("person_id"))))


def family_of(session: Session, person: Person) -> Family:
    """The person's active links in one query; a holder without a personal account pays for nobody."""
    payers, relatives = [], []
    links = session.connection().execute(_LINKS, {"person_id": person.id})
    for holder_id, relative_id, relationship, has_account in links:
        if relative_id == person.id and has_account:
            payers.append(Tie(holder_id, relationship))
        if holder_id == person.id:
            relatives.append(Tie(relative_id, relationship))
    return Family(tuple(payers), tuple(relatives))


def situation_from(person: Person, records: list[Record], rules: RegionRules, on_date: date) -> Situation:
    """The same from rows already read, so a batch (the admin preview) reads many people in one query."""
    scheme = person.scheme
    covered = frozenset(r.month for r in records if r.covered)
    holder = state.vault().id_number(person.id_number_cipher)
    sex = Sex.MALE if holder.sex == "M" else Sex.FEMALE
    actual = len(covered)
    common = {"region": person.region_code, "sex": sex, "birth_date": holder.birth_date}
    enrolled = Month.of(person.enrolled_since)
    bases = tuple((r.month, r.base) for r in records if r.base)
    if scheme is Scheme.RETIREE:
        facts = CitizenFacts(scheme=scheme, paid_months=actual + person.deemed_months,
                             actually_paid_months=actual, **common)
        report = detect_gaps([MonthRecord(r.month, r.status) for r in records], scheme=scheme,
                             enrolled_from=enrolled, as_of=on_date, has_required_years=True)
        return Situation(scheme, facts, report, covered, bases=bases)
    policy = rules.gap_policy(scheme)
    report = detect_gaps([MonthRecord(r.month, r.status) for r in records], scheme=scheme,
                         enrolled_from=enrolled, as_of=on_date, policy=policy)
    if scheme is Scheme.RESIDENT:
        gap = report.open_gap
        facts = CitizenFacts(scheme=scheme, gap_first=gap.first if gap else None,
                             gap_last=gap.last if gap else None, **common)
        return Situation(scheme, facts, report, covered)
    gap = report.current
    if gap is None:
        facts = CitizenFacts(scheme=scheme, paid_months=actual + person.deemed_months, actually_paid_months=actual,
                             continuous_months_before=report.continuous_months, unemployed=person.unemployed,
                             **common)
        return Situation(scheme, facts, report, covered, _next_due(report, covered, enrolled, policy), bases=bases)
    in_gap = [r for r in records if r.month in gap]
    month_causes = causes(person, scheme, gap, in_gap)
    cause = Cause.UNIT if all(c is Cause.UNIT for _, c in month_causes) else Cause.SELF
    # A mixed gap is the citizen's, with the unit's months billed to the unit (each part its own deadline).
    unit_months = tuple(m for m, c in month_causes if c is Cause.UNIT) if cause is Cause.SELF else ()
    declared, source = own_base(records, in_gap, gap.first)
    facts = CitizenFacts(
        scheme=scheme,
        gap_first=gap.first,
        gap_last=gap.last,
        cause=cause,
        paid_months=actual + person.deemed_months,
        actually_paid_months=actual,
        continuous_months_before=_continuous_before(records, gap.first, scheme, enrolled, policy),
        unemployed=person.unemployed,
        declared_base=declared,
        base_source=source,
        unit_months=unit_months,
        gap_open=gap.open,
        **common,
    )
    return Situation(scheme, facts, report, covered, month_causes=month_causes, bases=bases)


def causes(person: Person, scheme: Scheme, gap: Gap, in_gap: list[Record]) -> tuple[tuple[Month, Cause], ...]:
    """Who owes each month of a 职工医保 gap: the registry's payer on that month's row, else the unit
    when the person has one. The gap is the unit's only when every month is (the citizen is never
    told a month is the unit's when the registry says it is theirs).

    灵活就业 pay alone (社会保险法 §23), so their months are always their own.
    """
    by_month = {r.month: r.payer for r in in_gap}

    def owner(month: Month) -> Cause:
        if scheme is not Scheme.EMPLOYEE:
            return Cause.SELF
        payer = by_month.get(month)
        if payer:
            return Cause.UNIT if payer == "unit" else Cause.SELF
        return Cause.UNIT if person.employer else Cause.SELF

    return tuple((month, owner(month)) for month in month_range(gap.first, gap.last))


def gap_cause_sql(gap_start: ColumnElement[int], through: int) -> ColumnElement[str]:
    """:func:`causes` for every citizen at once, in SQL: ``'unit'`` when every month of the open gap
    ``gap_start``..``through`` (``Month.index`` values) is the unit's, else ``'self'`` (a mixed gap is
    the citizen's, as :func:`situation_from` decides), for the ``Person`` row in the statement's FROM.

    A month is the unit's when its row names the unit as payer, or names nobody and the person has
    an employer; so a person with an employer owes the gap unless one of its rows names another payer,
    and one without owes it unless every month has a row naming the unit (months are unique per
    person). ``gap_start`` is after the last covered month (``person.gap_from``), so every row in the
    gap is ``unpaid``: both look-ups read only the small partial index of unpaid months
    (``ix_contribution_unpaid``, which holds the payer), so the planner and the dashboard time and
    count each gap by the cause the citizen's quote uses without touching the months' table.
    """
    row = aliased(Contribution)
    in_gap = and_(row.person_id == Person.id, row.status == "unpaid", row.month >= gap_start, row.month <= through)
    named = and_(row.payer.is_not(None), row.payer != "")
    someone_else = exists().where(in_gap, named, row.payer != "unit")
    unit_months = select(func.count()).where(in_gap, row.payer == "unit").scalar_subquery()
    has_employer = and_(Person.employer.is_not(None), Person.employer != "")
    return case(
        (Person.scheme != Scheme.EMPLOYEE, literal(Cause.SELF.value)),
        (and_(has_employer, ~someone_else), literal(Cause.UNIT.value)),
        (and_(~has_employer, unit_months == literal(through) - gap_start + 1), literal(Cause.UNIT.value)),
        else_=literal(Cause.SELF.value),
    )


def own_base(records: list[Record], in_gap: list[Record], first: Month) -> tuple[Decimal | None, str]:
    """The citizen's own base, as the bureau would bill the gap, and where it comes from.

    The base declared on the unpaid rows themselves comes first (the bill already issued); else the
    base of the last paid month before the gap (what the citizen last declared and paid on). None
    when the registry holds no base: the quote then uses the region's figure and says so.
    """
    declared = [r.base for r in in_gap if r.base]
    if declared:
        return declared[-1], "registry_gap_rows"
    before = [r.base for r in records if r.covered and r.month < first and r.base]
    if before:
        return before[-1], "registry_last_paid"
    return None, "regional_average"


def _continuous_before(records: list[Record], first: Month, scheme: Scheme, enrolled: Month,
                       policy: GapPolicy) -> int:
    """Continuous enrolment up to the gap: gap detection as it stood when the gap's first month fell due."""
    before = [MonthRecord(r.month, r.status) for r in records if r.month < first]
    as_of = due_date(first - 1, policy.due_day_next_month) + timedelta(days=1)
    return detect_gaps(before, scheme=scheme, enrolled_from=enrolled, as_of=as_of, policy=policy).continuous_months


def _next_due(report: GapReport, covered: frozenset[Month], enrolled: Month, policy: GapPolicy) -> date:
    """The due date of the first month after the last one due that is not paid ahead."""
    month = report.last_due + 1 if report.last_due else enrolled
    while month in covered:
        month = month + 1
    return due_date(month, policy.due_day_next_month)
