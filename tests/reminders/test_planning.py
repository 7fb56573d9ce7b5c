"""The daily plan over real databases, lived day by day with time-machine across months and New Year."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import text

from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.quotes.service import quote_for_person
from miniservice.reminders.service import DayReport
from miniservice.rules.months import Month
from tests.reminders.conftest import Registry, days, stages_sent


def test_each_scheme_gets_the_right_stage_on_the_right_day_from_november_to_march(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport]
) -> None:
    flexible = registry.person("赵灵活", scheme="flexible")
    registry.paid(flexible, Month(2020, 1), Month(2025, 10))  # gap from November 2025
    employee = registry.person("钱职工", scheme="employee")
    registry.paid(employee, Month(2020, 1), Month(2025, 9))  # gap from October: one month on 11-01
    resident = registry.person("孙居民", scheme="resident")
    registry.paid_years(resident, 2024, 2025)  # 2026 unpaid; national period 09-10 → 12-25
    jiangxi = registry.person("李南昌", scheme="resident", region="360102")
    registry.paid_years(jiangxi, 2024, 2025)  # 江西: 09-15 → 02-28, across New Year

    sent_on: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for day in days(date(2025, 11, 20), date(2026, 3, 2)):
        before = {c.openid: len(fake_wechat.sent_messages(c.openid)) for c in (flexible, employee, resident, jiangxi)}
        live_day(day)
        for citizen in (flexible, employee, resident, jiangxi):
            for message in fake_wechat.sent_messages(citizen.openid)[before[citizen.openid]:]:
                sent_on[citizen.openid].append((day, message.template_id))

    assert [d for d, _ in sent_on[flexible.openid]] == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 14)]
    # The first day lived catches up October's one-month stage; then two months, then 15 days before the line.
    assert [d for d, _ in sent_on[employee.openid]] == [date(2025, 11, 20), date(2025, 12, 1), date(2026, 1, 17)]
    assert sent_on[resident.openid] == [(date(2025, 11, 25), "TPL-RESIDENT"), (date(2025, 12, 18), "TPL-RESIDENT")]
    assert [d for d, _ in sent_on[jiangxi.openid]] == [date(2026, 1, 29), date(2026, 2, 21)]
    assert [r.stage for r in registry.reminders(person_id=flexible.id)] == ["gap_1m", "gap_2m", "line"]
    assert {r.status for r in registry.reminders()} == {"sent"}


def test_the_line_reminder_tells_the_months_the_deadline_and_the_quote_page(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport]
) -> None:
    flexible = registry.person("赵灵活", scheme="flexible")
    registry.paid(flexible, Month(2020, 1), Month(2025, 10))
    live_day(date(2026, 2, 14))
    [message] = fake_wechat.sent_messages(flexible.openid)
    fields = stages_sent(fake_wechat, flexible.openid)[0]
    assert message.template_id == "TPL-GAP"
    assert message.body["url"] == "http://127.0.0.1:5000/h5/quote"
    assert fields["thing1"] == "赵*活"  # masked: 赵灵活 never leaves the database in clear
    assert fields["thing2"] == "已断缴 3 个月"
    assert fields["time3"] == "2026-02-28"
    assert fields["amount4"].endswith("元(示例)")  # the national wage figures are illustrative
    assert all(len(value) <= 20 and "\n" not in value for value in fields.values())


def test_planning_twice_on_the_same_day_adds_nothing_and_sends_nothing_more(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport]
) -> None:
    flexible = registry.person("周重复", scheme="flexible")
    registry.paid(flexible, Month(2020, 1), Month(2025, 10))
    first = live_day(date(2025, 12, 3))
    second = live_day(date(2025, 12, 3), hour=15)
    assert dict(first.plan.planned) == {"gap_1m": 1}
    assert second.plan.total == 0
    assert len(fake_wechat.sent_messages(flexible.openid)) == 1


def test_a_dry_run_counts_what_would_be_planned_and_writes_nothing(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport]
) -> None:
    flexible = registry.person("吴试运行", scheme="flexible")
    registry.paid(flexible, Month(2020, 1), Month(2025, 10))
    report = live_day(date(2025, 12, 1), dry_run=True)
    assert dict(report.plan.planned) == {"gap_1m": 1}
    assert report.send is None
    assert registry.reminders() == []
    assert fake_wechat.sent_messages() == []


def test_a_holder_who_opted_in_is_reminded_of_a_linked_relatives_gap(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport]
) -> None:
    holder = registry.person("郑家长", scheme="employee")
    registry.paid(holder, Month(2020, 1), Month(2026, 1))
    other_holder = registry.person("王不提醒", scheme="employee")
    registry.paid(other_holder, Month(2020, 1), Month(2026, 1))
    relative = registry.person("郑老人", scheme="flexible", openid=None)
    registry.paid(relative, Month(2020, 1), Month(2025, 10))
    registry.link(holder, relative, remind=True)
    registry.link(other_holder, relative, remind=False)

    live_day(date(2025, 12, 1))

    [fields] = stages_sent(fake_wechat, holder.openid)
    assert fields["thing1"] == "亲属" + relative.name_masked
    assert fields["thing2"] == "已断缴 1 个月"
    assert fake_wechat.sent_messages(other_holder.openid) == []
    [row] = registry.reminders()
    assert (row.person_id, row.recipient_id, row.status) == (relative.id, holder.id, "sent")


def test_nobody_is_planned_who_paid_ahead_is_opted_out_or_is_not_bound(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport]
) -> None:
    ahead = registry.person("冯提前", scheme="flexible")
    registry.paid(ahead, Month(2020, 1), Month(2025, 12))
    back_paid = registry.person("陈补缴", scheme="flexible")
    registry.paid(back_paid, Month(2020, 1), Month(2025, 9))
    registry.paid(back_paid, Month(2025, 10), Month(2025, 11), status="back_paid")
    opted_out = registry.person("褚退订", scheme="flexible")
    registry.paid(opted_out, Month(2020, 1), Month(2025, 10))
    registry.set_follower(opted_out.openid, reminders_enabled=False)
    unbound = registry.person("卫未绑", scheme="flexible", openid=None)
    registry.paid(unbound, Month(2020, 1), Month(2025, 10))

    report = live_day(date(2025, 12, 1))

    assert report.plan.total == 0
    assert fake_wechat.sent_messages() == []


def test_a_plan_that_adds_reminders_refreshes_their_statistics_for_the_senders_claims(
    db: Database, registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport]
) -> None:
    if db.is_sqlite:
        pytest.skip("planner statistics are PostgreSQL's: SQLite keeps none to refresh")

    def analyses() -> int:
        with db.reading() as session:
            return session.execute(text(
                "SELECT analyze_count FROM pg_stat_user_tables"
                " WHERE relname = 'reminder' AND schemaname = current_schema()")).scalar_one()

    before = analyses()
    flexible = registry.person("郑统计", scheme="flexible")
    registry.paid(flexible, Month(2020, 1), Month(2025, 10))
    assert live_day(date(2025, 12, 1)).plan.total == 1
    deadline = time.monotonic() + 5  # statistics reach pg_stat views within about half a second
    while analyses() == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert analyses() == before + 1


NINGBO = "330203"  # 宁波: a unit's arrears may arrive within 6 months; a citizen's own gap has a 3-month line


def _quote_line(app: Flask, db: Database, person_id: int, day: date) -> date:
    with app.app_context():
        line = quote_for_person(db, person_id, day).quote.line
    assert line is not None
    return line.last_day_within


def test_a_gap_the_unit_owes_is_reminded_up_to_the_quotes_own_deadline_for_the_arrears(
    app: Flask, db: Database, registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport]
) -> None:
    """An employee of a 宁波 unit that stopped paying after August 2026: the quote says the arrears are
    due by 2027-03-31, so the stages run to that day, not to the 2026-12-31 of a gap the citizen owes."""
    employee = registry.person("孙单位", scheme="employee", region=NINGBO, employer="宁波某公司")
    registry.paid(employee, Month(2020, 1), Month(2026, 8), payer="unit", scheme="employee")
    registry.paid(employee, Month(2026, 9), Month(2026, 10), status="unpaid", payer="unit", scheme="employee")

    planned_on = {}
    for day in (date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 20), date(2027, 1, 5), date(2027, 3, 17),
                date(2027, 4, 1)):
        live_day(day)
        for row in registry.reminders(person_id=employee.id):
            planned_on.setdefault(row.stage, day)

    rows = registry.reminders(person_id=employee.id)
    assert [(r.stage, r.due_on) for r in rows] == [
        ("gap_1m", date(2026, 10, 1)), ("gap_2m", date(2026, 11, 1)), ("line", date(2027, 3, 17))]
    assert {r.deadline for r in rows} == {date(2027, 3, 31)}
    assert all(r.deadline == _quote_line(app, db, employee.id, planned_on[r.stage]) for r in rows)
    assert [fields["time3"] for fields in stages_sent(fake_wechat, employee.openid)] == ["2027-03-31"] * 3


def test_a_mixed_gap_is_the_citizens_and_keeps_the_citizens_own_line(
    app: Flask, db: Database, registry: Registry, live_day: Callable[..., DayReport]
) -> None:
    """September the unit's arrears, October the citizen's own: the gap is the citizen's (as the quote
    takes it), so the line stage comes 15 days before the citizen's line, 2026-12-31."""
    employee = registry.person("钱混合", scheme="employee", region=NINGBO, employer="宁波某公司")
    registry.paid(employee, Month(2020, 1), Month(2026, 8), payer="unit", scheme="employee")
    registry.paid(employee, Month(2026, 9), Month(2026, 9), status="unpaid", payer="unit", scheme="employee")
    registry.paid(employee, Month(2026, 10), Month(2026, 10), status="unpaid", payer="self", scheme="employee")

    live_day(date(2026, 12, 17))

    [row] = registry.reminders(person_id=employee.id)
    assert (row.stage, row.due_on, row.deadline) == ("line", date(2026, 12, 17), date(2026, 12, 31))
    assert row.deadline == _quote_line(app, db, employee.id, date(2026, 12, 17))


def test_an_employee_without_a_unit_row_for_every_month_owes_the_gap_themself(
    app: Flask, db: Database, registry: Registry, live_day: Callable[..., DayReport]
) -> None:
    """No employer on record: a month is the unit's only where its row says so. On 12-17 the gap runs
    September to November: with no row for October and November it is the citizen's, timed by the
    citizen's line; with the unit named on all three it is the unit's."""
    employee = registry.person("李无单位", scheme="employee", region=NINGBO)
    registry.paid(employee, Month(2020, 1), Month(2026, 8), payer="unit", scheme="employee")
    registry.paid(employee, Month(2026, 9), Month(2026, 9), status="unpaid", payer="unit", scheme="employee")
    unit_only = registry.person("周全单位", scheme="employee", region=NINGBO)
    registry.paid(unit_only, Month(2020, 1), Month(2026, 8), payer="unit", scheme="employee")
    registry.paid(unit_only, Month(2026, 9), Month(2026, 11), status="unpaid", payer="unit", scheme="employee")

    live_day(date(2026, 12, 17))

    [own] = registry.reminders(person_id=employee.id)
    assert (own.stage, own.deadline) == ("line", _quote_line(app, db, employee.id, date(2026, 12, 17)))
    [unit] = registry.reminders(person_id=unit_only.id)
    assert (unit.stage, unit.deadline) == ("gap_2m", _quote_line(app, db, unit_only.id, date(2026, 12, 17)))
    assert unit.deadline == date(2027, 3, 31)
