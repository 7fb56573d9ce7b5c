"""The reminder business steps as the scheduler and the CLI call them (inside an app context).

``run_day`` is the daily job: plan for the day, then send what is due. ``send_due`` is the
frequent job that sends retries and whatever quiet hours held back. Both are safe to run twice at
once: planning is keyed by the reminder's unique key, sending by an atomic claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import func, select

from miniservice import state
from miniservice.db import get_db
from miniservice.reminders.models import Reminder
from miniservice.reminders.planning import PlanReport, plan_reminders
from miniservice.reminders.rate import Limiter
from miniservice.reminders.sending import Sender, SendReport, Transport
from miniservice.wechat.client import get_client

LIMITER_KEY = "miniservice.reminder_limiter"


@dataclass
class DayReport:
    plan: PlanReport
    send: SendReport | None  # None on a dry run
    due: int  # reminders due by the day and still planned after the run


def shared_limiter() -> Limiter:
    """One bucket per app, so every sender thread of a process draws from the same rate."""
    return current_app.extensions[LIMITER_KEY]


def sender(transport: Transport | None = None) -> Sender:
    extra = {"transport": transport} if transport is not None else {}
    return Sender(get_db(), state.settings(), get_client(), shared_limiter(), **extra)


def send_due(today: date | None = None, transport: Transport | None = None) -> SendReport:
    """Send every reminder due by ``today`` (default: today, local) that quiet hours allow now."""
    return sender(transport).run(today)


def run_day(on: date, *, dry_run: bool = False) -> DayReport:
    """Plan the reminders of ``on`` (the bureau's local day) and send them; a dry run changes nothing."""
    db = get_db()
    plan = plan_reminders(db, on, dry_run=dry_run)
    report = None if dry_run else send_due(on)
    with db.reading() as session:
        due = session.execute(
            select(func.count()).where(Reminder.status == "planned", Reminder.due_on <= on)
        ).scalar_one()
    return DayReport(plan, report, due + (plan.total if dry_run else 0))
