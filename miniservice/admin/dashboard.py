"""Dashboard figures, each one set-based SQL over every citizen at once (no per-person Python loop).

Open gaps are measured the way the records are stored: months are ``Month.index`` integers, so a
person's open gap starts the month after their last covered month (or at enrolment) and runs to
the last month already due. Months fall due at their own end (national default; no shipped region
sets another collection day), so on any day of month M the last due month is M − 1.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, cast, extract, func, literal, select
from sqlalchemy.sql import ColumnElement, Subquery
from sqlmodel import Session

from miniservice.citizens.models import Binding, Contribution, Person, ResidentPremium
from miniservice.clock import now_utc
from miniservice.reminders.models import Reminder, ReminderAttempt
from miniservice.rules.months import Month
from miniservice.wechat.models import InboundDelivery

COVERED = ("paid", "back_paid")
MONTHLY_SCHEMES = ("employee", "flexible")
STAGES = (  # (key, label, shortest gap in months, longest)
    ("gap_1m", "断缴 1 个月", 1, 1),
    ("gap_2m", "断缴 2 个月", 2, 2),
    ("gap_3m", "断缴 3 个月（三个月线前最后一个月）", 3, 3),
    ("past_line", "4–6 个月（已过三个月线）", 4, 6),
    ("reset", "超过 6 个月（连续缴费年限清零）", 7, 10_000),
)
REMINDER_SERIES = ("planned", "sent", "failed", "opted_out")


def bound_citizens(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Binding)).scalar_one()


def _open_gaps(today: date) -> Subquery:
    """One row per bound 职工医保 person with an open gap: (person_id, gap_start, gap_months)."""
    last_due = (Month.of(today) - 1).index
    last_covered = (
        select(Contribution.person_id, func.max(Contribution.month).label("last_covered"))
        .where(Contribution.status.in_(COVERED))
        .group_by(Contribution.person_id)
        .subquery()
    )
    enrolled = cast(extract("year", Person.enrolled_since) * 12 + extract("month", Person.enrolled_since) - 1, Integer)
    after_last = last_covered.c.last_covered + 1
    start = case((after_last.is_(None), enrolled), (after_last > enrolled, after_last), else_=enrolled)
    people = (
        select(Person.id.label("person_id"), start.label("gap_start"))
        .join(Binding, Binding.person_id == Person.id)
        .outerjoin(last_covered, last_covered.c.person_id == Person.id)
        .where(Person.scheme.in_(MONTHLY_SCHEMES))
        .subquery()
    )
    return (
        select(people.c.person_id, people.c.gap_start, (literal(last_due) - people.c.gap_start + 1).label("months"))
        .where(people.c.gap_start <= last_due)
        .subquery()
    )


@dataclass(frozen=True, slots=True)
class StageCount:
    key: str
    label: str
    count: int


def gaps_by_stage(session: Session, today: date) -> list[StageCount]:
    """Bound citizens with an open 职工医保 gap, by its length; and 居民医保 without this year's premium."""
    gaps = _open_gaps(today)
    stage = case(*((and_(gaps.c.months >= low, gaps.c.months <= high), literal(key))
                   for key, _, low, high in STAGES))
    counts = dict(session.execute(select(stage, func.count()).select_from(gaps).group_by(stage)).all())
    paid_this_year = select(ResidentPremium.person_id).where(
        ResidentPremium.year == today.year, ResidentPremium.status.in_(COVERED))
    resident = session.execute(
        select(func.count()).select_from(Person).join(Binding, Binding.person_id == Person.id)
        .where(Person.scheme == "resident", Person.id.not_in(paid_this_year))
    ).scalar_one()
    rows = [StageCount(key, label, counts.get(key, 0)) for key, label, _, _ in STAGES]
    return [*rows, StageCount("resident", f"居民医保：{today.year} 年度未缴费", resident)]


def passing_line_this_week(session: Session, today: date) -> int:
    """Open gaps whose fourth month falls due between today and six days on (they pass the line).

    A gap starting in month S passes the three-month line on the first day of month S + 4.
    """
    week = [today + timedelta(days=n) for n in range(7)]
    starts = [(Month.of(day) - 4).index for day in week if day.day == 1]
    if not starts:
        return 0
    gaps = _open_gaps(today)
    return session.execute(select(func.count()).select_from(gaps).where(gaps.c.gap_start.in_(starts))).scalar_one()


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
    """WeChat deliveries handled per hour over the last ``hours`` hours (failed ones apart)."""
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
