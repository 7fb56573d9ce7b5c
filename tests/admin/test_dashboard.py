"""Dashboard figures from set-based SQL on both databases, and the page with its server-drawn charts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from miniservice.admin import dashboard
from miniservice.citizens.models import Person, ResidentPremium
from miniservice.clock import now_utc
from miniservice.db import Database
from miniservice.reminders.models import Reminder, ReminderAttempt
from miniservice.rules.months import Month, month_range
from miniservice.wechat.models import InboundDelivery
from tests.admin.conftest import bound_person

TODAY = date(2026, 3, 28)  # the week to 04-03 includes 04-01, when a gap that began in December passes the line


def _paid_to(db: Database, last: str, region: str = "440300") -> int:
    return bound_person(db, region, "flexible", month_range(Month(2024, 1), Month.parse(last)), date(2024, 1, 1))


@pytest.fixture
def citizens(db: Database) -> dict[str, int]:
    people = {
        "one_month": _paid_to(db, "2026-01"),
        "three_months": _paid_to(db, "2025-11"),
        "nine_months": _paid_to(db, "2025-05"),
        "paid_up": _paid_to(db, "2026-02"),
        "never_paid": bound_person(db, "440300", "employee", [], date(2026, 1, 15)),
        "resident": bound_person(db, "440300", "resident", [], date(2024, 1, 1)),
        "resident_paid": bound_person(db, "440300", "resident", [], date(2024, 1, 1)),
    }
    with db.transaction() as session:
        session.add(ResidentPremium(person_id=people["resident_paid"], year=2026, amount=Decimal("400"),
                                    status="paid", paid_on=date(2025, 10, 1)))
        session.add(Person(id_number_hash="unbound", id_number_cipher="-", id_number_masked="-", name_cipher="-",
                           name_masked="-", sex="F", birth_date=date(1990, 1, 1), region_code="440300",
                           scheme="flexible", enrolled_since=date(2020, 1, 1)))  # unbound: not counted
    return people


def test_bound_citizens_and_gaps_by_stage(db: Database, citizens: dict[str, int]) -> None:
    with db.reading() as session:
        assert dashboard.bound_citizens(session) == 7
        stages = {s.key: s.count for s in dashboard.gaps_by_stage(session, TODAY)}
    assert stages == {"gap_1m": 1, "gap_2m": 1, "gap_3m": 1, "past_line": 0, "reset": 1, "resident": 1}


def test_gaps_passing_the_three_month_line_this_week(db: Database, citizens: dict[str, int]) -> None:
    with db.reading() as session:
        assert dashboard.passing_line_this_week(session, TODAY) == 1
        assert dashboard.passing_line_this_week(session, date(2026, 3, 20)) == 0


def _reminder(person: int, stage: str, due_on: date, status: str) -> Reminder:
    return Reminder(person_id=person, recipient_id=person, gap_start=Month(2026, 1).index, stage=stage,
                    kind="gap_reminder", region_code="440300", due_on=due_on, deadline=due_on + timedelta(days=30),
                    status=status)


def test_reminders_per_day_and_recent_errors(db: Database, citizens: dict[str, int]) -> None:
    person = citizens["one_month"]
    with db.transaction() as session:
        rows = [_reminder(person, "gap_1m", TODAY, "sent"), _reminder(person, "gap_2m", TODAY, "failed"),
                _reminder(citizens["three_months"], "line", TODAY, "skipped_opted_out"),
                _reminder(citizens["nine_months"], "gap_1m", TODAY + timedelta(days=2), "planned"),
                _reminder(citizens["paid_up"], "gap_1m", TODAY, "cancelled_paid")]
        session.add_all(rows)
        session.flush()
        session.add(ReminderAttempt(reminder_id=rows[1].id, worker="w1", outcome="failed", errcode=43101,
                                    errmsg="user refuse to accept the msg"))
        session.add(InboundDelivery(dedupe_key="evt:x", openid="o-admin-failed-delivery", msg_type="event",
                                    event="CLICK", handler="records", failed=True))
    with db.reading() as session:
        series = dashboard.reminders_per_day(session, TODAY)
        errors = dashboard.recent_errors(session)
    today = series.days.index(TODAY)
    assert [series.values[name][today] for name in dashboard.REMINDER_SERIES] == [0, 1, 1, 1]
    assert series.values["planned"][today + 2] == 1
    assert {e.kind for e in errors} == {"回调处理失败", "提醒发送失败"}
    assert any("43101" in e.detail for e in errors)
    assert all("o-admin-failed-delivery" not in e.what for e in errors)  # openids are shortened


def test_callbacks_per_hour(db: Database) -> None:
    now = now_utc()
    with db.transaction() as session:
        for n, (hours_ago, failed) in enumerate([(0, False), (0, True), (2, False), (30, False)]):
            session.add(InboundDelivery(dedupe_key=f"msg:{n}", openid="o", msg_type="text",
                                        received_at=now - timedelta(hours=hours_ago), failed=failed))
    with db.reading() as session:
        series = dashboard.callbacks_per_hour(session, "Asia/Shanghai")
    assert len(series.hours) == 24
    assert (series.received[-1], series.failed[-1]) == (2, 1)
    assert series.received[-3] == 1
    assert sum(series.received) == 3  # the one 30 hours ago is outside the window
    assert series.hours[-1].utcoffset() == timedelta(hours=8)


def test_the_dashboard_page_draws_its_charts_on_the_server(viewer: Any, citizens: dict[str, int]) -> None:
    page = viewer.get("/admin/").get_data(as_text=True)
    assert page.count("<svg") == 2
    assert "已绑定参保人<b>7</b>" in page.replace("\n", "").replace(" ", "")
    assert "<script" not in page
