"""Dashboard figures, each one set-based SQL over every citizen at once (no per-person Python loop).

Open gaps are measured the way the records are stored: months are ``Month.index`` integers, so a
person's open gap starts the month after their last covered month (or at enrolment: the column
``person.gap_from`` the database keeps, as the reminder plan reads it) and runs to
the last month already due. Months fall due at their own end (national default; no shipped region
sets another collection day), so on any day of month M the last due month is M − 1.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal, select, tuple_
from sqlalchemy.sql import ColumnElement, Subquery
from sqlmodel import Session

from miniservice.citizens.models import Binding, Person, ResidentPremium
from miniservice.clock import now_utc
from miniservice.outbox.models import OutboxMessage
from miniservice.quotes.citizen import gap_cause_sql
from miniservice.quotes.errors import QuoteUnavailable
from miniservice.quotes.service import person_quote
from miniservice.reminders.models import Reminder, ReminderAttempt
from miniservice.rulebook.models import RuleVersion
from miniservice.rulebook.resolve import NoRulesInForce, rules_in_force
from miniservice.rules.gaps import CollectionPeriod
from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.loading import RuleFileError
from miniservice.rules.months import Month
from miniservice.rules.quote import line_for
from miniservice.rules.quote_model import LineAdvice
from miniservice.rules.schema import RegionRules
from miniservice.wechat.models import InboundDelivery, TapCount

COVERED = ("paid", "back_paid")
MONTHLY_SCHEMES = (Scheme.EMPLOYEE, Scheme.FLEXIBLE)
# Open gaps by stage: before the region's own line by months, then past it. The line is the quote's
# (the last day paying avoids every consequence under the region's rules), not a national three months.
STAGES = (  # (key, label, shortest gap in months, longest) for gaps before the line
    ("gap_1m", "断缴 1 个月（未过本地期限）", 1, 1),
    ("gap_2m", "断缴 2 个月（未过本地期限）", 2, 2),
    ("gap_3m", "断缴 3 个月及以上（未过本地期限）", 3, 10_000),
)
PAST_LINE = ("past_line", "已过本地期限（补缴后有等待期或不能补缴等影响，按各地规则）")
REMINDER_SERIES = ("planned", "sent", "failed", "opted_out")


def region_names(session: Session) -> dict[str, str]:
    """Region code → the name its rule versions give (the latest wins), for pages that show regions."""
    rows = session.execute(select(RuleVersion.region_code, RuleVersion.region_name).order_by(RuleVersion.id)).all()
    return dict(rows)


def bound_citizens(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Binding)).scalar_one()


def _open_gaps(today: date) -> Subquery:
    """One row per bound 职工医保 person with an open gap: (person_id, region_code, scheme, gap_start,
    cause, months); the cause as the person's quote takes it (a mixed gap is the citizen's), since a
    unit's arrears have a line of their own."""
    last_due = (Month.of(today) - 1).index
    start = Person.gap_from  # after the last covered month, not before enrolment: kept by the database
    people = (
        select(Person.id.label("person_id"), Person.region_code.label("region_code"), Person.scheme.label("scheme"),
               start.label("gap_start"), gap_cause_sql(start, last_due).label("cause"))
        .join(Binding, Binding.person_id == Person.id)
        .where(Person.scheme.in_(MONTHLY_SCHEMES))
        .subquery()
    )
    return (
        select(people.c.person_id, people.c.region_code, people.c.scheme, people.c.gap_start, people.c.cause,
               (literal(last_due) - people.c.gap_start + 1).label("months"))
        .where(people.c.gap_start <= last_due)
        .subquery()
    )


@dataclass(frozen=True, slots=True)
class StageCount:
    key: str
    label: str
    count: int


def gaps_by_stage(session: Session, today: date) -> list[StageCount]:
    """Bound citizens with an open 职工医保 gap, by its length before their region's line and past it;
    and 居民医保 without the current year's premium.

    Whether a gap is past the line is decided once per region, scheme, cause and gap start with the
    quote's own line (:func:`~miniservice.rules.quote.line_for`); the database then counts every citizen.
    """
    gaps = _open_gaps(today)
    passed = [key for key, line in _lines_of(session, gaps, today).items() if line is not None and line.passed]
    past = _key(gaps).in_(passed) if passed else literal(False)
    stage = case((past, literal(PAST_LINE[0])),
                 *((and_(gaps.c.months >= low, gaps.c.months <= high), literal(key)) for key, _, low, high in STAGES))
    counts = dict(session.execute(select(stage, func.count()).select_from(gaps).group_by(stage)).all())
    rows = [StageCount(key, label, counts.get(key, 0)) for key, label, *_ in (*STAGES, PAST_LINE)]
    return [*rows, *resident_unpaid(session, today)]


def _key(gaps: Subquery) -> Any:
    """What a gap's line depends on: (region, scheme, cause, gap start)."""
    return tuple_(gaps.c.region_code, gaps.c.scheme, gaps.c.cause, gaps.c.gap_start)


def _lines_of(session: Session, gaps: Subquery, today: date) -> dict[tuple[str, str, str, int], LineAdvice | None]:
    """The line of every (region, scheme, cause, gap start) among the open gaps, as the quote of a gap
    of that cause states it on ``today``; regions without rules in force are left out (their gaps are
    never "past")."""
    lines: dict[tuple[str, str, str, int], LineAdvice | None] = {}
    rules_of: dict[str, RegionRules | None] = {}
    keys = select(gaps.c.region_code, gaps.c.scheme, gaps.c.cause, gaps.c.gap_start).distinct()
    for code, scheme, cause, start in session.execute(keys):
        if code not in rules_of:
            try:
                rules_of[code] = rules_in_force(session, code, today)
            except (NoRulesInForce, RuleFileError):
                rules_of[code] = None
        rules = rules_of[code]
        if rules is not None:
            lines[(code, scheme, cause, start)] = line_for(rules, Scheme(scheme), Cause(cause),
                                                           Month.from_index(start), today)
    return lines


def coverage_year(period: CollectionPeriod, today: date) -> int:
    """The 居民医保 year being collected: the one whose 集中缴费期 is open, or else opened last.

    In October (period 09-10 → 12-25) that is next year; from the period's end to its next start
    it stays the year just collected for, so the row keeps counting who missed it.
    """
    return max(year for year in (today.year - 1, today.year, today.year + 1) if period.bounds(year)[0] <= today)


def resident_unpaid(session: Session, today: date) -> list[StageCount]:
    """Bound 居民医保 citizens without the premium of their region's coverage year, one row per year."""
    regions = session.execute(
        select(Person.region_code).join(Binding, Binding.person_id == Person.id)
        .where(Person.scheme == Scheme.RESIDENT).distinct()
    ).scalars().all()
    years: dict[int, list[str]] = {}
    for code in regions:
        try:
            year = coverage_year(rules_in_force(session, code, today).resident.period(), today)
        except NoRulesInForce:
            year = today.year
        years.setdefault(year, []).append(code)
    if not years:
        years[today.year] = []
    rows = []
    for year, codes in sorted(years.items()):
        paid = select(ResidentPremium.person_id).where(ResidentPremium.year == year,
                                                       ResidentPremium.status.in_(COVERED))
        count = session.execute(
            select(func.count()).select_from(Person).join(Binding, Binding.person_id == Person.id)
            .where(Person.scheme == Scheme.RESIDENT, Person.region_code.in_(codes), Person.id.not_in(paid))
        ).scalar_one()
        rows.append(StageCount(f"resident_{year}", f"居民医保：{year} 年度未缴费", count))
    return rows


@dataclass(frozen=True, slots=True)
class PassingPerson:
    """Someone whose open gap passes their region's line this week (masked, as on every screen)."""

    person_id: int
    name_masked: str
    id_number_masked: str
    region_code: str
    scheme: str
    gap_start: Month
    months: int  # open months today
    line_day: date  # the first day beyond the region's line (the quote's ``first_day_beyond``)


@dataclass(frozen=True, slots=True)
class PassingLine:
    count: int
    people: list[PassingPerson]  # the first ``limit`` of them, soonest first


def passing_line_this_week(session: Session, today: date, limit: int = 100) -> PassingLine:
    """Open gaps that pass their region's line between today and six days on.

    The line is the one the citizen's quote and reminders state (:func:`miniservice.rules.quote.line_for`:
    the last day paying avoids every consequence under the region's own rules), computed once per
    region, scheme and gap start present (:func:`_lines_of`); the database then selects the matching
    gaps. The count and the list come from the same query, so the page cannot show a number it does not list.
    """
    week_end = today + timedelta(days=6)
    gaps = _open_gaps(today)
    lines = {key: line.first_day_beyond for key, line in _lines_of(session, gaps, today).items()
             if line is not None and today <= line.first_day_beyond <= week_end}
    if not lines:
        return PassingLine(0, [])
    passing = (
        select(gaps.c.person_id, gaps.c.gap_start, gaps.c.months, gaps.c.region_code, gaps.c.scheme,
               gaps.c.cause, Person.name_masked, Person.id_number_masked)
        .join(Person, Person.id == gaps.c.person_id)
        .where(_key(gaps).in_(list(lines)))
    )
    count = session.execute(select(func.count()).select_from(passing.subquery())).scalar_one()
    rows = session.execute(passing.order_by(gaps.c.gap_start, gaps.c.person_id).limit(limit)).all()
    people = [PassingPerson(row.person_id, row.name_masked, row.id_number_masked, row.region_code, row.scheme,
                            Month.from_index(row.gap_start), row.months,
                            lines[(row.region_code, row.scheme, row.cause, row.gap_start)]) for row in rows]
    return PassingLine(count, people)


@dataclass(frozen=True, slots=True)
class DaySeries:
    days: list[date]
    values: dict[str, list[int]]  # series name → one count per day


def reminders_per_day(session: Session, today: date, back: int = 13, ahead: int = 7) -> DaySeries:
    """Reminders by the day they are due: planned (incl. being sent), sent, failed, opted out."""
    first, last = today - timedelta(days=back), today + timedelta(days=ahead)
    series = case(
        (Reminder.status.in_(("planned", "sending")), literal("planned")),
        (Reminder.status == "skipped_opted_out", literal("opted_out")),
        else_=Reminder.status,
    )
    rows = session.execute(
        select(Reminder.due_on, series, func.count())
        .where(Reminder.due_on.between(first, last),
               Reminder.status.in_(("planned", "sending", "sent", "failed", "skipped_opted_out")))
        .group_by(Reminder.due_on, series)
    ).all()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    counts: Counter[tuple[date, str]] = Counter({(day, name): n for day, name, n in rows})
    return DaySeries(days, {name: [counts[(day, name)] for day in days] for name in REMINDER_SERIES})


def _hour(column: Any, dialect: str) -> ColumnElement[str]:
    """The UTC hour of a timestamp as ``YYYY-MM-DD HH`` text, in each database's own words."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", column)


@dataclass(frozen=True, slots=True)
class HourSeries:
    hours: list[datetime]  # local
    received: list[int]
    failed: list[int]


def callbacks_per_hour(session: Session, tz: str, hours: int = 24) -> HourSeries:
    """WeChat deliveries handled per hour over the last ``hours`` hours (failed ones apart): the
    recorded deliveries of writing taps plus the counted read-only taps."""
    now = now_utc().replace(minute=0, second=0, microsecond=0)
    since = now - timedelta(hours=hours - 1)
    bucket = _hour(InboundDelivery.received_at, session.get_bind().dialect.name)
    rows = session.execute(
        select(bucket, InboundDelivery.failed, func.count())
        .where(InboundDelivery.received_at >= since)
        .group_by(bucket, InboundDelivery.failed)
    ).all()
    slots = [since + timedelta(hours=n) for n in range(hours)]
    counts: Counter[tuple[str, bool]] = Counter({(key, bool(failed)): n for key, failed, n in rows})
    for hour, taps, failed in session.execute(  # read-only taps leave counts, not delivery rows
            select(TapCount.hour, TapCount.taps, TapCount.failed).where(TapCount.hour >= since)):
        key = hour.strftime("%Y-%m-%d %H")
        counts[(key, False)] += taps - failed
        counts[(key, True)] += failed
    keys = [slot.strftime("%Y-%m-%d %H") for slot in slots]
    zone = ZoneInfo(tz)
    return HourSeries([slot.astimezone(zone) for slot in slots],
                      [counts[(k, False)] + counts[(k, True)] for k in keys], [counts[(k, True)] for k in keys])


@dataclass(frozen=True, slots=True)
class RecentError:
    at: datetime
    kind: str
    what: str
    detail: str


def _mask(openid: str) -> str:
    return openid[:6] + "…" if len(openid) > 6 else openid


def recent_errors(session: Session, limit: int = 20) -> list[RecentError]:
    """The latest failed deliveries and failed reminder attempts, newest first."""
    deliveries = session.execute(
        select(InboundDelivery.received_at, InboundDelivery.openid, InboundDelivery.msg_type,
               InboundDelivery.event, InboundDelivery.handler)
        .where(InboundDelivery.failed.is_(True)).order_by(InboundDelivery.received_at.desc()).limit(limit)
    ).all()
    attempts = session.execute(
        select(ReminderAttempt.at, Reminder.stage, Reminder.region_code, ReminderAttempt.outcome,
               ReminderAttempt.errcode, ReminderAttempt.errmsg)
        .join(Reminder, Reminder.id == ReminderAttempt.reminder_id)
        .where(ReminderAttempt.outcome.in_(("failed", "unreachable")))
        .order_by(ReminderAttempt.at.desc()).limit(limit)
    ).all()
    errors = [RecentError(at, "回调处理失败", f"{msg_type}/{event or '-'} · {_mask(openid)}", handler or "")
              for at, openid, msg_type, event, handler in deliveries]
    errors += [RecentError(at, "提醒发送失败", f"{stage} · {region}", f"{outcome} {errcode or ''} {errmsg}".strip())
               for at, stage, region, outcome, errcode, errmsg in attempts]
    return sorted(errors, key=lambda e: e.at or datetime.min.replace(tzinfo=UTC), reverse=True)[:limit]


@dataclass(frozen=True, slots=True)
class PersonSummary:
    person_id: int
    name_masked: str
    id_number_masked: str
    region_code: str
    scheme: str
    enrolled_since: date
    bound: bool
    gap_start: Month | None  # the open 职工医保 gap as the dashboard counts it, if any
    gap_months: int | None
    line: LineAdvice | None = None  # the line of the person's own quote today (None: no day matters, or no quote)


def person_summary(session: Session, person_id: int, today: date) -> PersonSummary | None:
    """One person with their open gap, measured by the dashboard's own query (so the two agree)."""
    gaps = _open_gaps(today)
    row = session.execute(
        select(Person.id, Person.name_masked, Person.id_number_masked, Person.region_code, Person.scheme,
               Person.enrolled_since, Binding.person_id.is_not(None).label("bound"), gaps.c.gap_start, gaps.c.months)
        .outerjoin(Binding, Binding.person_id == Person.id)
        .outerjoin(gaps, gaps.c.person_id == Person.id)
        .where(Person.id == person_id)
    ).first()
    if row is None:
        return None
    start = Month.from_index(row.gap_start) if row.gap_start is not None else None
    return PersonSummary(row.id, row.name_masked, row.id_number_masked, row.region_code, row.scheme,
                         row.enrolled_since, bool(row.bound), start, row.months,
                         _own_line(session, person_id, today) if start is not None else None)


def _own_line(session: Session, person_id: int, today: date) -> LineAdvice | None:
    """The line the person's own quote states today (their causes, their region's rules), as every
    citizen surface and reminder states it; None when no quote can be made or no day matters."""
    try:
        return person_quote(session, person_id, today).quote.line
    except QuoteUnavailable:
        return None


@dataclass(frozen=True, slots=True)
class MessageChecks:
    """Messages staff should look at: sends WeChat never answered (maybe shown, never repeated) and
    outbox messages still waiting or refused."""

    uncertain_reminders: int
    outbox: dict[str, int]


def messages_to_check(session: Session) -> MessageChecks:
    uncertain = session.execute(
        select(func.count()).select_from(Reminder).where(Reminder.status == "uncertain")).scalar_one()
    outbox = dict(session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.status.in_(("pending", "failed", "uncertain")))
        .group_by(OutboxMessage.status)).all())
    return MessageChecks(uncertain, {status: outbox.get(status, 0) for status in ("pending", "failed", "uncertain")})
