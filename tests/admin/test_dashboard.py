"""Dashboard figures from set-based SQL on both databases, and the page with its server-drawn charts."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from flask import Flask

from miniservice.admin import dashboard
from miniservice.citizens.models import Person, ResidentPremium
from miniservice.clock import now_utc
from miniservice.db import Database
from miniservice.outbox.models import OutboxMessage
from miniservice.quotes.service import quote_for_person
from miniservice.reminders.models import Reminder, ReminderAttempt
from miniservice.rules.months import Month, month_range
from miniservice.wechat.models import InboundDelivery
from tests.admin.conftest import bound_person, signed_in

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
                           name_masked="-", region_code="440300",
                           scheme="flexible", enrolled_since=date(2020, 1, 1)))  # unbound: not counted
    return people


def test_bound_citizens_and_gaps_by_stage(db: Database, citizens: dict[str, int]) -> None:
    with db.reading() as session:
        assert dashboard.bound_citizens(session) == 7
        stages = {s.key: s.count for s in dashboard.gaps_by_stage(session, TODAY)}
    # Without rules in force no line is known, so no gap is counted as past one.
    assert stages == {"gap_1m": 1, "gap_2m": 1, "gap_3m": 2, "past_line": 0, "resident_2026": 1}


def test_gaps_past_their_regions_line_are_those_whose_own_quote_says_so(
    app: Flask, db: Database, citizens: dict[str, int], rules: None
) -> None:
    """宜昌 counts days (60): a two-month gap there is past its line, the same gap in 深圳 is not."""
    yichang = _paid_to(db, "2025-12", region="420502")  # January and February unpaid: 86 days on 03-28
    monthly = [citizens[k] for k in ("one_month", "three_months", "nine_months", "never_paid")] + [yichang]
    with app.app_context():
        quotes = {person: quote_for_person(db, person, TODAY).quote for person in monthly}
    passed = {person for person, quote in quotes.items() if quote.line is not None and quote.line.passed}
    with db.reading() as session:
        stages = {s.key: s.count for s in dashboard.gaps_by_stage(session, TODAY)}

    assert yichang in passed and citizens["one_month"] not in passed
    assert stages["past_line"] == len(passed)
    assert stages["gap_1m"] + stages["gap_2m"] + stages["gap_3m"] == len(monthly) - len(passed)


def test_gaps_passing_their_regions_line_this_week_are_those_whose_quote_says_so(
    app: Flask, db: Database, citizens: dict[str, int], rules: None
) -> None:
    """The same 3-month gap in three regions: each is counted when its own quote's line passes this week."""
    people = [_paid_to(db, "2025-11", region=region) for region in ("330203", "420502", "440300")]
    with app.app_context():  # the quote reads sex and birth date through the identity vault
        lines = {person: quote_for_person(db, person, TODAY).quote.line for person in people}
    expected = {person for person, line in lines.items()
                if line and TODAY <= line.first_day_beyond <= TODAY + timedelta(days=6)}
    with db.reading() as session:
        passing = dashboard.passing_line_this_week(session, TODAY)
    assert expected and {p.person_id for p in passing.people} - {citizens["three_months"]} == expected
    for person in passing.people:
        line = lines.get(person.person_id)
        assert line is None or person.line_day == line.first_day_beyond
    assert people[1] not in expected  # 宜昌 counts days: its line passed long before


def test_a_gap_the_unit_owes_is_past_the_line_only_when_its_own_quote_says_so(
    app: Flask, db: Database, rules: None
) -> None:
    """宁波, October 2025 to February unpaid: a citizen's own gap passed its line on 2026-01-31; the
    same months owed by the unit may still arrive until 2026-04-30, so that gap is not past the line."""
    paid = month_range(Month(2024, 1), Month(2025, 9))
    unit = bound_person(db, "330203", "employee", paid, date(2024, 1, 1), employer="宁波某公司")
    own = bound_person(db, "330203", "employee", paid, date(2024, 1, 1))
    with app.app_context(), db.reading() as session:  # the quote reads birth and sex through the vault
        lines = {person: quote_for_person(db, person, TODAY).quote.line for person in (unit, own)}
        stages = {s.key: s.count for s in dashboard.gaps_by_stage(session, TODAY)}
        summary = dashboard.person_summary(session, unit, TODAY)

    assert lines[own] is not None and lines[own].passed
    assert lines[unit] is not None and not lines[unit].passed and lines[unit].last_day_within == date(2026, 4, 30)
    assert (stages["past_line"], stages["gap_3m"]) == (1, 1)
    assert summary is not None and summary.line == lines[unit]


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


def test_the_resident_row_counts_the_year_whose_collection_period_is_open(
    db: Database, citizens: dict[str, int], rules: None
) -> None:
    with db.reading() as session:
        march = {s.key: s.count for s in dashboard.gaps_by_stage(session, TODAY)}
        october = {s.key: s.count for s in dashboard.gaps_by_stage(session, date(2026, 10, 15))}
        december = {s.key: s.count for s in dashboard.gaps_by_stage(session, date(2026, 12, 28))}
    assert march["resident_2026"] == 1  # the 2026 period (2025-09-10 → 12-25) was the last to open
    assert october["resident_2027"] == 2  # 2026-09-10 → 12-25 collects for 2027: nobody has paid it
    assert "resident_2026" not in october
    assert december["resident_2027"] == 2  # the period has closed: the row still counts who missed 2027


def _gap_computation(app: Flask, db: Database, people: list[int], today: date) -> set[int]:
    """Who passes the line this week according to each citizen's own quote, one person at a time."""
    passing = set()
    for person_id in people:
        with app.app_context():
            found = quote_for_person(db, person_id, today)
        line = found.quote.line
        if found.due and line and today <= line.first_day_beyond <= today + timedelta(days=6):
            passing.add(person_id)
    return passing


def test_who_passes_the_line_this_week_is_listed_and_agrees_with_the_gap_rules(
    app: Flask, staff: dict[str, str], db: Database, citizens: dict[str, int], rules: None
) -> None:
    more = [_paid_to(db, "2025-11", region) for region in ("110000", "510100", "440300")]  # three more at 3 months
    more.append(bound_person(db, "440300", "employee", [], date(2025, 12, 1)))  # enrolled in December, never paid
    monthly = [citizens[k] for k in ("one_month", "three_months", "nine_months", "paid_up", "never_paid")] + more
    for today in (TODAY, date(2026, 4, 1), date(2026, 3, 20), date(2026, 2, 24)):
        with db.reading() as session:
            passing = dashboard.passing_line_this_week(session, today)
        assert {p.person_id for p in passing.people} == _gap_computation(app, db, monthly, today), today
        assert passing.count == len(passing.people)
    with db.reading() as session:
        passing = dashboard.passing_line_this_week(session, TODAY)
        stages = {s.key: s.count for s in dashboard.gaps_by_stage(session, TODAY)}
    expected = len(_gap_computation(app, db, monthly, TODAY))  # 深圳 and 成都 set their own, later, lines
    assert 0 < passing.count == expected and stages["gap_3m"] + stages["past_line"] == 6  # 3, 3, 3, 3, 4 and 9
    with time_machine.travel("2026-03-28 10:00:00 +08:00"):
        viewer = signed_in(app, "viewer")
        page = viewer.get("/admin/").get_data(as_text=True)
        person = viewer.get(f"/admin/people/{passing.people[0].person_id}").get_data(as_text=True)
        assert viewer.get("/admin/people/999999").status_code == 404
    assert f"本周将超过本地期限<b>{expected}</b>" in page.replace("\n", "").replace(" ", "")
    listed = page[page.index('id="passing"'):page.index("</section>", page.index('id="passing"'))]
    links = re.findall(r'href="/admin/people/(\d+)"', listed)
    assert sorted(map(int, links)) == sorted(p.person_id for p in passing.people)
    assert listed.count("测*") == expected and listed.count("1101*************") == expected
    with app.app_context():
        line = quote_for_person(db, passing.people[0].person_id, TODAY).quote.line
    assert line is not None and not line.passed
    assert "已断缴 3 个月" in person and f"{line.first_day_beyond} 起超过本地期限" in person
    assert f"{line.last_day_within} 前补缴不影响待遇" in person and "三个月线" not in person


def test_the_person_page_states_the_line_of_the_persons_own_quote(
    app: Flask, staff: dict[str, str], db: Database, rules: None
) -> None:
    """宜昌 measures the gap in days: its line is not the national "due date of the fourth month"."""
    person_id = _paid_to(db, "2025-12", region="420502")
    with app.app_context():
        line = quote_for_person(db, person_id, TODAY).quote.line
    with time_machine.travel("2026-03-28 10:00:00 +08:00"):
        page = signed_in(app, "viewer").get(f"/admin/people/{person_id}").get_data(as_text=True)

    assert line is not None and line.passed and line.first_day_beyond != date(2026, 5, 1)
    assert f"已于 {line.first_day_beyond} 超过本地期限" in page and "2026-05-01" not in page


def test_messages_to_check_show_uncertain_sends_and_outbox_trouble(
    db: Database, viewer: Any, citizens: dict[str, int]
) -> None:
    with db.transaction() as session:
        session.add(Reminder(person_id=citizens["one_month"], recipient_id=citizens["one_month"],
                             gap_start=Month(2026, 2).index, stage="gap_1m", kind="gap_reminder",
                             region_code="440300", due_on=TODAY, deadline=TODAY, status="uncertain"))
        for n, status in enumerate(("uncertain", "failed", "failed", "pending", "sent")):
            session.add(OutboxMessage(key=f"receipt:{n}", openid=f"o-{n}", body="…", status=status))
    page = viewer.get("/admin/").get_data(as_text=True).replace("\n", "").replace(" ", "")
    checks = page.split('id="message-checks"')[1].split("</div></div>")[0]
    assert "结果不明的提醒<b>1</b>" in checks and "结果不明的通知<b>1</b>" in checks
    assert "发送失败的通知<b>2</b>" in checks and "等待发送的通知<b>1</b>" in checks
