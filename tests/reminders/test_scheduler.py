"""APScheduler with its job store in the service's database: fixed jobs, restarts, a real run."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import func, select

from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.reminders.models import SchedulerJob
from miniservice.reminders.scheduler import (
    DAILY_JOB,
    HOUSEKEEPING_JOB,
    OUTBOX_JOB,
    PAYMENTS_JOB,
    SEND_JOB,
    build_scheduler,
    leadership,
    start_background_scheduler,
)
from miniservice.rules.months import Month
from tests.reminders.conftest import Clock, Registry, local


def _stored_jobs(db: Database) -> list[str]:
    with db.reading() as session:
        return sorted(session.execute(select(SchedulerJob.id)).scalars())


def test_restarts_and_a_second_scheduler_keep_one_copy_of_each_job(app: Flask, db: Database, clock: Clock) -> None:
    clock.at(local(date(2025, 12, 1), 8))
    first = build_scheduler(app, BackgroundScheduler)
    first.start(paused=True)
    second = build_scheduler(app, BackgroundScheduler)  # started by mistake, same database
    second.start(paused=True)
    first.shutdown(wait=False)
    restarted = build_scheduler(app, BackgroundScheduler)
    restarted.start(paused=True)
    try:
        assert _stored_jobs(db) == sorted([DAILY_JOB, SEND_JOB, HOUSEKEEPING_JOB, OUTBOX_JOB, PAYMENTS_JOB])
        daily = restarted.get_job(DAILY_JOB)
        assert daily.next_run_time == local(date(2025, 12, 1), 9, 30)  # settings.reminder_run_time, Shanghai
    finally:
        second.shutdown(wait=False)
        restarted.shutdown(wait=False)


def test_the_daily_job_run_by_the_background_scheduler_plans_and_sends(
    app: Flask, db: Database, registry: Registry, fake_wechat: FakeWeChat, clock: Clock
) -> None:
    citizen = registry.person("韩调度", scheme="flexible")
    registry.paid(citizen, Month(2020, 1), Month(2025, 10))
    clock.at(local(date(2025, 12, 1), 9, 30))
    scheduler = start_background_scheduler(app)
    try:
        scheduler.get_job(DAILY_JOB).modify(next_run_time=local(date(2025, 12, 1), 9, 30))
        scheduler.wakeup()
        deadline = time.monotonic() + 15
        while not fake_wechat.sent_messages(citizen.openid) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    assert len(fake_wechat.sent_messages(citizen.openid)) == 1
    with db.reading() as session:
        assert session.execute(select(func.count()).select_from(SchedulerJob)).scalar_one() == 5


def test_a_second_scheduler_on_postgresql_stands_by_until_the_leader_stops(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("leadership is a PostgreSQL advisory lock; SQLite is one machine and needs none")
    leader_db, standby_db = Database(database_url), Database(database_url)
    led, leader_may_stop, standby_led = threading.Event(), threading.Event(), threading.Event()

    def leader() -> None:
        with leadership(leader_db, poll_seconds=0.05):
            led.set()
            leader_may_stop.wait(10)

    def standby() -> None:
        with leadership(standby_db, poll_seconds=0.05):
            standby_led.set()

    first = threading.Thread(target=leader)
    first.start()
    assert led.wait(10)
    second = threading.Thread(target=standby)
    second.start()
    assert not standby_led.wait(0.5)  # the leader holds the lock: the standby waits
    leader_may_stop.set()
    first.join(10)
    assert standby_led.wait(10)  # the leader's connection closed: the standby leads
    second.join(10)
    leader_db.dispose()
    standby_db.dispose()
