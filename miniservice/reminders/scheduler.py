"""APScheduler wiring: the daily plan-and-send job, the frequent send job, the housekeeping job and
the outbox's worker.

Jobs live in APScheduler's ``SQLAlchemyJobStore`` on the service's own database (table
``apscheduler_jobs``, created by the migrations), under fixed ids with ``replace_existing``, so a
restart replaces the jobs instead of adding copies. A job refers to its function by name and finds
the app through this module: the process that starts the scheduler registers it.

Two schedulers running by mistake both fire the jobs; that is harmless by construction (planning is
keyed, claiming is atomic), and each reminder still goes out once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import text

from miniservice import state
from miniservice.clock import now_utc
from miniservice.db import Database
from miniservice.outbox.sending import drain
from miniservice.reminders import service
from miniservice.reminders.models import SchedulerJob
from miniservice.reminders.timing import parse_hhmm
from miniservice.wechat import deliveries

log = logging.getLogger(__name__)

DAILY_JOB = "reminders.daily"
PAYMENTS_JOB = "payments.daily"
SEND_JOB = "reminders.send"
SEND_EVERY_MINUTES = 5
HOUSEKEEPING_JOB = "wechat.housekeeping"
HOUSEKEEPING_EVERY_MINUTES = 10
LEADER_LOCK = 0x6D696E69_7363  # the PostgreSQL advisory lock of the leading scheduler ("mini" "sc")
OUTBOX_JOB = "outbox.send"
OUTBOX_EVERY_SECONDS = 5  # how long a confirmation or receipt may wait after its cause committed
_app: Flask | None = None

S = TypeVar("S", bound=BaseScheduler)


def _job_app() -> Flask:
    if _app is None:
        raise RuntimeError("no app registered for scheduler jobs: start them with build_scheduler()")
    return _app


def daily_job() -> None:
    """Plan today's reminders and send them (at ``settings.reminder_run_time``, local)."""
    with _job_app().app_context():
        report = service.run_day(state.clock().today())
        log.info("reminders planned %s, sent %s", dict(report.plan.planned), report.send)


def send_job() -> None:
    """Send retries and reminders held back by quiet hours."""
    with _job_app().app_context():
        report = service.send_due()
        if report.sent or report.failed or report.retry:
            log.info("reminders sent %s, retry %s, failed %s", report.sent, report.retry, report.failed)


def housekeeping_job() -> None:
    """Forget what only served WeChat's retries and replays: stored replies and callback nonces."""
    app = _job_app()
    with app.app_context():
        now = now_utc()
        replies = deliveries.forget_replies_before(state.get_db(app), now)
        nonces = app.extensions["miniservice.nonces"].forget_before(now)
        log.info("housekeeping: %s stored replies blanked, %s callback nonces forgotten", replies, nonces)


def outbox_job() -> None:
    """Send the messages business steps put in the outbox (:mod:`miniservice.outbox`)."""
    with _job_app().app_context():
        report = drain()
        if report.outcomes or report.abandoned:
            log.info("outbox: %s", report)


def payments_job() -> None:
    """Reconcile yesterday's payments with the pay server's bill and close expired orders."""
    from miniservice.payments.reconcile import reconcile_yesterday

    app = _job_app()
    reconcile_yesterday(app, state.clock(app).today())


def build_scheduler(app: Flask, scheduler_class: type[S]) -> S:
    """A scheduler of ``scheduler_class`` with its jobs in the database job store (not started)."""
    global _app
    _app = app
    settings = state.settings(app)
    zone = ZoneInfo(settings.timezone)
    run_at = parse_hhmm(settings.reminder_run_time)
    # The outbox job runs every few seconds: APScheduler's two INFO lines per run would bury the log.
    # Failures are still logged (ERROR); the jobs log what they did themselves.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    store = SQLAlchemyJobStore(engine=state.get_db(app).engine, tablename=SchedulerJob.__tablename__)
    scheduler = scheduler_class(
        jobstores={"default": store},
        timezone=zone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    scheduler.add_job(f"{__name__}:daily_job", CronTrigger(hour=run_at.hour, minute=run_at.minute, timezone=zone),
                      id=DAILY_JOB, name="plan and send reminders", replace_existing=True)
    scheduler.add_job(f"{__name__}:send_job", IntervalTrigger(minutes=SEND_EVERY_MINUTES, timezone=zone),
                      id=SEND_JOB, name="send due reminders", replace_existing=True)
    scheduler.add_job(f"{__name__}:housekeeping_job",
                      IntervalTrigger(minutes=HOUSEKEEPING_EVERY_MINUTES, timezone=zone), id=HOUSEKEEPING_JOB,
                      name="forget stored replies and nonces", replace_existing=True)
    scheduler.add_job(f"{__name__}:outbox_job", IntervalTrigger(seconds=OUTBOX_EVERY_SECONDS, timezone=zone),
                      id=OUTBOX_JOB, name="send the outbox", replace_existing=True)
    scheduler.add_job(f"{__name__}:payments_job", CronTrigger(hour=10, minute=0, timezone=zone),
                      id=PAYMENTS_JOB, name="reconcile payments", replace_existing=True)
    return scheduler


def start_background_scheduler(app: Flask) -> BackgroundScheduler:
    """Run the jobs in threads of this process (``miniservice demo``); call ``.shutdown()`` to stop.

    In demo mode the daily job also runs once at start, so the demo's citizens are reminded at once
    instead of at the next ``reminder_run_time``.
    """
    scheduler = build_scheduler(app, BackgroundScheduler)
    scheduler.start()
    if state.settings(app).env == "demo":
        scheduler.get_job(DAILY_JOB).modify(next_run_time=datetime.now(scheduler.timezone))
    return scheduler


@contextmanager
def leadership(db: Database, poll_seconds: float = 5.0) -> Iterator[None]:
    """Enter only in the one scheduler process that holds the lead (on PostgreSQL: a session advisory
    lock held on a connection of its own for as long as the process runs).

    A province runs a standby scheduler beside the leader: it polls, and takes over when the leader's
    connection closes, i.e. when the leader died. On SQLite there is one machine and one file: no lock.
    """
    if db.is_sqlite:
        yield
        return
    with db.engine.connect() as connection:
        standing_by = False
        while not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK}).scalar_one():
            connection.commit()
            if not standing_by:
                log.info("another scheduler process leads: standing by")
                standing_by = True
            time.sleep(poll_seconds)
        connection.commit()
        log.info("this scheduler process leads")
        try:
            yield
        finally:  # the connection goes back to the pool, not away: hand the lead over explicitly
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK})
            connection.commit()


def run_blocking_scheduler(app: Flask) -> None:
    """The production scheduler process (``miniservice scheduler``): runs until interrupted; a second one
    stands by until the first stops (:func:`leadership`)."""
    try:
        with leadership(state.get_db(app)):
            build_scheduler(app, BlockingScheduler).start()
    except (KeyboardInterrupt, SystemExit):
        log.info("scheduler stopped")
