"""The daily plan: one INSERT … SELECT per group of regions with the same timings, over every citizen.

Nothing here loops over people in Python. For each distinct region code the rules in force give a
tiny table of *stage rows* ("a gap of cause C that started in month M is at stage S today", see
:mod:`~miniservice.reminders.stages`); regions with identical tables share one statement. The
database then reads the citizens whose open gap starts inside the stage rows' window through the
index on ``person.gap_from`` (kept by database triggers on every write to ``contribution``, so no
citizen's months are aggregated: a few per cent of the city are read), derives each one's cause
exactly as the quote does (:func:`~miniservice.quotes.citizen.gap_cause_sql`: the unit's only when every month is, so a
mixed gap is the citizen's), and joins both to the stage rows: a unit's arrears are reminded on the
unit's line, the one the citizen's quote states.
``ON CONFLICT DO NOTHING`` on the reminder's unique key makes the plan idempotent, so a second run,
or a second scheduler, adds nothing.

Who is reminded (the *audience*): every bound citizen about their own gaps, and every 家庭共济
holder who opted in (``family_link.remind_gaps``) about each active linked relative's gaps. Both
come out of one UNION subquery, so the family case is the same statement, not a second planner.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    CTE,
    Date,
    Integer,
    String,
    Subquery,
    and_,
    exists,
    extract,
    func,
    literal,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session

from miniservice.citizens.models import Binding, Person, ResidentPremium
from miniservice.clock import now_utc
from miniservice.columns import UTCDateTime
from miniservice.db import Database, dialect_insert
from miniservice.family.models import FamilyLink
from miniservice.quotes.citizen import gap_cause_sql
from miniservice.reminders.models import Reminder
from miniservice.reminders.stages import RegionTiming, Stage
from miniservice.rulebook.resolve import NoRulesInForce, rules_in_force
from miniservice.rules.loading import RuleFileError
from miniservice.wechat.models import Follower

log = logging.getLogger(__name__)
# For this transaction only: at 1M citizens the default 4 MB spilled the plan's hash joins and
# aggregates to 316 MiB of temporary files; 64 MB keeps them in memory (docs/performance.md).
PLAN_WORK_MEM = "64MB"

COVERED = ("paid", "back_paid")
PLANNED_COLUMNS = ("person_id", "recipient_id", "gap_start", "stage", "kind", "region_code", "due_on",
                   "deadline", "gap_months", "status", "planned_at", "attempts")


@dataclass(frozen=True)
class DuePreview:
    """One reminder a dry run would leave due: names masked as on every screen."""

    recipient: str
    subject: str
    kind: str
    stage: str
    deadline: date
    gap_months: int


@dataclass
class PlanReport:
    """What one planning run inserted, per stage; regions whose rules could not be read are named."""

    on: date
    planned: Counter[str] = field(default_factory=Counter)
    superseded: int = 0
    regions_without_rules: list[str] = field(default_factory=list)
    # A dry run's preview: every reminder that would be due on the day, who gets it about whom (masked).
    would_send: list[DuePreview] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.planned.values())


def plan_reminders(db: Database, on: date, *, dry_run: bool = False) -> PlanReport:
    """Plan every reminder due on ``on`` (a local date); ``dry_run`` counts and rolls back."""
    if dry_run:
        with db.reading() as session:  # never committed: closing the session rolls the inserts back
            report = _plan(session, on)
            report.would_send = _due_preview(session, on)
            return report
    with db.transaction() as session:
        report = _plan(session, on)
    if report.total and not db.is_sqlite:
        # A day's plan can add 100k rows at once, before autovacuum's ANALYZE notices them; the
        # sender's claim, planned on the old statistics, chose a bitmap scan and an on-disk sort of
        # every planned row (86 ms per claim at 1M citizens) instead of reading its index in order
        # (0.7 ms): EXPLAIN ANALYZE in docs/performance.md.
        with db.transaction() as session:
            session.execute(text("ANALYZE reminder"))
    return report


def _plan(session: Session, on: date) -> PlanReport:
    report = PlanReport(on)
    now = now_utc()
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:
        session.execute(text(f"SET LOCAL work_mem = '{PLAN_WORK_MEM}'"))
    groups, report.regions_without_rules = _region_groups(session, on)
    for (monthly, resident, last_due), codes in groups.items():
        if monthly:
            select_ = _monthly_select(monthly, codes, now, last_due, materialize=postgresql)
            report.planned.update(_insert(session, select_))
        if resident is not None:
            report.planned.update(_insert(session, _resident_select(resident, codes, now, materialize=postgresql)))
    report.superseded = _supersede(session, now)
    return report


def _due_preview(session: Session, on: date) -> list[DuePreview]:
    """The reminders planned and due by ``on`` (this run's included, before its rollback)."""
    recipient = aliased(Person)
    rows = session.execute(
        select(recipient.name_masked, Person.name_masked, Reminder.kind, Reminder.stage, Reminder.deadline,
               Reminder.gap_months)
        .join(Person, Person.id == Reminder.person_id)
        .join(recipient, recipient.id == Reminder.recipient_id)
        .where(Reminder.status == "planned", Reminder.due_on <= on)
        .order_by(Reminder.due_on, Reminder.id)
    ).all()
    return [DuePreview(*row) for row in rows]


def _region_groups(session: Session, on: date) -> tuple[dict[tuple[Any, Any, int], list[str]], list[str]]:
    """Region codes grouped by the stage rows their rules give for ``on`` and by the last 职工医保
    month due on ``on`` (where a gap's months end, so where its cause is read)."""
    groups: dict[tuple[Any, Any, int], list[str]] = defaultdict(list)
    missing = []
    for code in session.execute(select(Person.region_code).distinct()).scalars():
        try:
            timing = RegionTiming.from_rules(rules_in_force(session, code, on))
        except (NoRulesInForce, RuleFileError) as exc:
            log.warning("no reminders for region %s on %s: %s", code, on, exc)
            missing.append(code)
            continue
        last_due = timing.employee.last_due(on).index
        groups[(timing.monthly_stages_on(on), timing.resident_stage_on(on), last_due)].append(code)
    return groups, missing


def _audience(subjects: Subquery | CTE, per_subject: bool) -> Subquery:
    """(subject_id, recipient_id) pairs for the ``subjects`` (rows with a ``person_id``) whose recipient
    can be messaged and has not opted out: the subject's own binding, and each 家庭共济 holder who
    opted in to the subject's gaps.

    Driven from the subjects, the few citizens with a stage today, through the indexes on
    ``binding.person_id``, ``family_link.relative_id`` and ``follower.openid``. With ``per_subject``
    (PostgreSQL) the recipients are a LATERAL subquery, looked up for each subject: as a plain join
    PostgreSQL chose to hash every binding and follower of the city instead (at 1,000,000 citizens most
    of the 居民医保 statement; at 10,000,000, 355 MiB of temporary files against 35; docs/performance.md).
    SQLite has no LATERAL and joins through the indexes by itself.
    """
    reachable = and_(func.coalesce(Follower.reminders_enabled, true()).is_(True),
                     func.coalesce(Follower.subscribed, true()).is_(True), Follower.unreachable_since.is_(None))

    def recipients_of(subject_id: Any) -> tuple[Any, Any]:
        own = (select(Binding.person_id.label("recipient_id"))
               .outerjoin(Follower, Follower.openid == Binding.openid)
               .where(Binding.person_id == subject_id, reachable))
        holders = (select(FamilyLink.holder_id.label("recipient_id"))
                   .join(Binding, Binding.person_id == FamilyLink.holder_id)
                   .outerjoin(Follower, Follower.openid == Binding.openid)
                   .where(FamilyLink.relative_id == subject_id, FamilyLink.status == "active",
                          FamilyLink.remind_gaps.is_(True), reachable))
        return own, holders

    if per_subject:
        subject = subjects.alias("subject")
        recipients = union_all(*recipients_of(subject.c.person_id)).lateral("recipients")
        return (select(subject.c.person_id.label("subject_id"), recipients.c.recipient_id)
                .select_from(subject).join(recipients, true()).subquery("audience"))
    own, holders = (branch.add_columns(subjects.c.person_id.label("subject_id"))
                    for branch in recipients_of(subjects.c.person_id))
    return union_all(own, holders).subquery("audience")


def _stage_literals(stage: Stage) -> dict[str, Any]:
    return {
        "scheme": literal(stage.scheme.value, String()),
        "cause": literal(stage.cause.value, String()),
        "gap_start": literal(stage.gap_start.index, Integer()),
        "stage": literal(stage.name, String()),
        "kind": literal(stage.kind, String()),
        "due_on": literal(stage.due_on, Date()),
        "deadline": literal(stage.deadline, Date()),
        "gap_months": literal(stage.gap_months, Integer()),
    }


def _constant_columns(now: Any) -> list[Any]:
    return [literal("planned", String()), literal(now, UTCDateTime()), literal(0, Integer())]


def _monthly_select(stages: tuple[Stage, ...], codes: list[str], now: Any, last_due: int, materialize: bool) -> Any:
    """Citizens whose open gap, of its own cause, starts in a month that has a stage in effect today.

    ``gaps`` holds each citizen's open-gap start (``person.gap_from``) and cause (its months run to
    ``last_due``), read through the index only where the start falls in the window the stage rows
    cover; on PostgreSQL it is a MATERIALIZED CTE, computed once rather than once per stage row.
    """
    rows = [select(*(value.label(name) for name, value in _stage_literals(s).items())) for s in stages]
    table = (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("stages")
    starts = [s.gap_start.index for s in stages]
    gap_start = Person.gap_from  # kept by the database on every write (migration 8d41c6e2b7a3)
    query = (
        select(Person.id.label("person_id"), Person.scheme, Person.region_code, gap_start.label("gap_start"),
               gap_cause_sql(gap_start, last_due).label("cause"))
        .where(gap_start.between(min(starts), max(starts)), Person.region_code.in_(codes),
               Person.unemployed.is_(False), Person.scheme.in_(sorted({s.scheme for s in stages})))
    )
    # MATERIALIZED steers PostgreSQL's planner (docs/performance.md); SQLite keeps the plain subquery.
    gaps = query.cte("gaps").prefix_with("MATERIALIZED") if materialize else query.subquery("gaps")
    audience = _audience(gaps, per_subject=materialize)
    return (
        select(audience.c.subject_id, audience.c.recipient_id, table.c.gap_start, table.c.stage, table.c.kind,
               gaps.c.region_code, table.c.due_on, table.c.deadline, table.c.gap_months, *_constant_columns(now))
        .select_from(gaps)
        .join(table, and_(table.c.scheme == gaps.c.scheme, table.c.gap_start == gaps.c.gap_start,
                          table.c.cause == gaps.c.cause))
        .join(audience, audience.c.subject_id == gaps.c.person_id)
    )


def _resident_select(stage: Stage, codes: list[str], now: Any, materialize: bool) -> Any:
    """居民医保 citizens enrolled by the coverage year who have not paid it while its period is open."""
    year = stage.gap_start.year
    paid = exists().where(ResidentPremium.person_id == Person.id, ResidentPremium.year == year,
                          ResidentPremium.status.in_(COVERED))
    query = (
        select(Person.id.label("person_id"), Person.region_code)
        .where(Person.region_code.in_(codes), Person.scheme == stage.scheme,
               extract("year", Person.enrolled_since) <= year, ~paid)
    )
    unpaid = query.cte("unpaid").prefix_with("MATERIALIZED") if materialize else query.subquery("unpaid")
    values = _stage_literals(stage)
    audience = _audience(unpaid, per_subject=materialize)
    return (
        select(audience.c.subject_id, audience.c.recipient_id, values["gap_start"], values["stage"],
               values["kind"], unpaid.c.region_code, values["due_on"], values["deadline"], values["gap_months"],
               *_constant_columns(now))
        .select_from(unpaid)
        .join(audience, audience.c.subject_id == unpaid.c.person_id)
    )


def _insert(session: Session, query: Any) -> Counter[str]:
    """INSERT … SELECT … ON CONFLICT DO NOTHING; counts the rows actually inserted, per stage."""
    statement = (
        dialect_insert(session)(Reminder)
        .from_select(list(PLANNED_COLUMNS), query)
        .on_conflict_do_nothing(index_elements=["person_id", "recipient_id", "gap_start", "stage"])
        .returning(Reminder.stage)
    )
    return Counter(session.execute(statement).scalars())


def _supersede(session: Session, now: Any) -> int:
    """An unsent reminder is dropped once a later stage of the same gap exists for the same recipient."""
    later = aliased(Reminder)
    newer_exists = exists().where(
        later.person_id == Reminder.person_id,
        later.recipient_id == Reminder.recipient_id,
        later.gap_start == Reminder.gap_start,
        later.due_on > Reminder.due_on,
    )
    result = session.execute(
        update(Reminder)
        .where(Reminder.status == "planned", newer_exists)
        .values(status="superseded", finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0

