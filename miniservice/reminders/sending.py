"""Sending planned reminders: claim atomically, re-check, send once, record every attempt.

Exactly one sender gets a row: claiming is one ``UPDATE … SET status='sending' WHERE status='planned'``
over a ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite serialises writers), so two
schedulers started by mistake, or two threads, split the work instead of doubling it. A claim is a
lease: a sender that dies leaves its rows ``sending`` until the lease runs out, then the next run
puts them back to ``planned`` — rows it never reached are sent then, and the single row that was in
flight is retried like a timeout.

A send that got no answer (timeout, dropped connection, a sender that died mid-call) may have been
shown. Its retry carries the same ``client_msg_id``, which WeChat drops as a repeat only within 10
minutes of the first call: ``uncertain_since`` (set before every call, cleared by any answer from
WeChat) keeps when that window opened, and a retry that could not start inside it (the back-off has
grown, quiet hours held the row back, the lease ran out late) is not made: the reminder becomes
``uncertain`` for staff to check instead of reaching the citizen twice.

Before each send the row is checked again in the database, because days may pass between planning
and sending: the recipient may have opted out, unfollowed or unbound, the relative's link may have
ended, the gap may have been paid (``cancelled_paid``) or its deadline passed (``expired``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, exists, or_, select, update
from sqlmodel import Session

from miniservice.citizens.models import Binding, Contribution, Person, ResidentPremium
from miniservice.clock import local_now, now_utc
from miniservice.config import Settings
from miniservice.db import Database, worker_id
from miniservice.family.models import FamilyLink
from miniservice.reminders import channel
from miniservice.reminders.content import compose, template_ids
from miniservice.reminders.models import KINDS, Reminder, ReminderAttempt
from miniservice.reminders.planning import COVERED
from miniservice.reminders.rate import Limiter
from miniservice.reminders.timing import MAX_ATTEMPTS, retry_delay, within_quiet_hours
from miniservice.rules.months import Month
from miniservice.wechat.models import Follower

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
# A claim's ids go back to the database as bind parameters (PostgreSQL takes at most 65,535) and each
# claimed row waits under a lease until its turn: a high configured rate must not claim a whole day.
MAX_BATCH = 500
# WeChat drops a template message repeating a client_msg_id within 10 minutes of the first; a retry
# must start a minute before that ends, so that it reaches WeChat inside the window.
REPEAT_WINDOW = timedelta(minutes=10)
SAFE_RETRY = REPEAT_WINDOW - timedelta(minutes=1)
Transport = Callable[[Any, str, channel.Message, str], channel.Answer]


@dataclass
class SendReport:
    """What one sending run did; ``skipped`` counts rows closed without a message, by status."""

    sent: int = 0
    retry: int = 0
    failed: int = 0
    unreachable: int = 0
    uncertain: int = 0  # no answer, and no retry could land inside WeChat's repeat window
    skipped: Counter[str] = field(default_factory=Counter)
    outside_quiet_hours: bool = False
    stopped: str | None = None  # "rate_limited", "quiet_hours_ended" or "not_configured"

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass(frozen=True)
class _Ready:
    reminder: Reminder
    subject: Person
    openid: str
    uncertain_before: datetime | None  # an earlier call's, still unanswered; None when all were answered


def _too_late_to_retry(uncertain_since: datetime | None, at: datetime) -> bool:
    """True when a call starting at ``at`` might fall outside the repeat window of an unanswered one."""
    return uncertain_since is not None and at >= uncertain_since + SAFE_RETRY


class Sender:
    """One sending run's worker; ``transport`` is :func:`channel.send` except in crash tests."""

    def __init__(self, db: Database, settings: Settings, client: Any, limiter: Limiter, *,
                 batch_size: int | None = None, lease: timedelta = LEASE,
                 transport: Transport = channel.send) -> None:
        self.db = db
        self.settings = settings
        self.client = client
        self.limiter = limiter
        self.batch_size = min(batch_size or max(1, int(settings.reminder_rate_per_second)), MAX_BATCH)
        self.lease = lease
        self.transport = transport
        self.worker = worker_id()

    def _in_quiet_hours(self) -> bool:
        local = local_now(self.settings.timezone)
        return within_quiet_hours(local, self.settings.reminder_quiet_start, self.settings.reminder_quiet_end)

    def run(self, today: date | None = None) -> SendReport:
        """Send every due reminder (due on or before ``today``, local) while quiet hours allow."""
        report = SendReport()
        if not self._in_quiet_hours():
            report.outside_quiet_hours = True
            return report
        today = today or local_now(self.settings.timezone).date()
        kinds = [kind for kind in KINDS if template_ids(self.settings).get(kind)]
        if not kinds:
            log.error("reminders not sent: no WeChat template id configured (WECHAT_TEMPLATE_IDS)")
            report.stopped = "not_configured"
            return report
        recover_stale_claims(self.db)
        if expired := expire_overdue(self.db, today):
            report.skipped["expired"] += expired
        while report.stopped is None and (ids := self._claim(kinds, today)):
            self._send_batch(ids, today, report)
        return report

    def _claim(self, kinds: Sequence[str], today: date) -> list[int]:
        now = now_utc()
        candidates = (
            select(Reminder.id)
            .where(Reminder.status == "planned", Reminder.due_on <= today, Reminder.kind.in_(kinds),
                   or_(Reminder.next_attempt_at.is_(None), Reminder.next_attempt_at <= now))
            .order_by(Reminder.due_on, Reminder.id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        with self.db.transaction() as session:
            claimed = session.execute(
                update(Reminder)
                .where(Reminder.id.in_(candidates), Reminder.status == "planned")
                .values(status="sending", claimed_by=self.worker, lease_until=now + self.lease)
                .returning(Reminder.id)
                .execution_options(synchronize_session=False)
            ).scalars()
            return sorted(claimed)

    def _send_batch(self, ids: list[int], today: date, report: SendReport) -> None:
        for position, reminder_id in enumerate(ids):
            if not self._in_quiet_hours():
                report.stopped = "quiet_hours_ended"
            if report.stopped:
                self._release(ids[position:])
                return
            ready = self._prepare(reminder_id, today, report)
            if ready is None:
                continue
            answer = self._deliver(ready, today)
            report.count(self._record(ready, answer))
            if answer.rate_limited:  # every next call would fail the same way: hand the rest back
                report.stopped = "rate_limited"
                self._release(ids[position + 1:], retry_at=now_utc() + retry_delay(1, answer.errcode))
                return

    def _prepare(self, reminder_id: int, today: date, report: SendReport) -> _Ready | None:
        """Renew the claim, re-check the row, and count the attempt before WeChat is called."""
        now = now_utc()
        with self.db.transaction() as session:
            renewed = session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id, Reminder.status == "sending", Reminder.claimed_by == self.worker)
                .values(lease_until=now + self.lease)
            ).rowcount
            if not renewed:
                log.warning("reminder %s: claim lost to another sender", reminder_id)
                return None
            reminder = session.get_one(Reminder, reminder_id)
            if _too_late_to_retry(reminder.uncertain_since, now):
                reminder.status, reminder.finished_at = "uncertain", now
                reminder.claimed_by = reminder.lease_until = None
                report.uncertain += 1
                log.warning("reminder %s: an earlier send got no answer; too late to repeat it safely", reminder_id)
                return None
            openid, verdict = check(session, reminder, today)
            if verdict is not None:
                reminder.status, reminder.finished_at = verdict, now
                reminder.claimed_by = reminder.lease_until = None
                report.skipped[verdict] += 1
                return None
            reminder.attempts += 1
            uncertain_before = reminder.uncertain_since
            reminder.uncertain_since = uncertain_before or now  # until WeChat answers this call
            assert openid is not None
            return _Ready(reminder, session.get_one(Person, reminder.person_id), openid, uncertain_before)

    def _deliver(self, ready: _Ready, today: date) -> channel.Answer:
        try:
            with self.db.reading() as session:
                message = compose(session, self.settings, ready.reminder, ready.subject, today)
        except Exception as exc:  # one bad row must not stop the run; the attempt log keeps why
            log.exception("reminder %s: message could not be built", ready.reminder.id)
            return channel.Answer("failed", None, f"message not built: {type(exc).__name__}")
        self.limiter.acquire()
        return self.transport(self.client, ready.openid, message, f"reminder-{ready.reminder.id}")

    def _record(self, ready: _Ready, answer: channel.Answer) -> str:
        """Store the answer; returns the run's outcome for it (``uncertain`` when no retry is safe)."""
        reminder, now = ready.reminder, now_utc()
        # Only a timeout or a dropped connection leaves this call unanswered (channel.classify); any answer
        # from WeChat, or a message never built, means this call shows nothing more than it said.
        unanswered = answer.outcome == "retry" and answer.errcode is None
        uncertain_since = reminder.uncertain_since if unanswered else ready.uncertain_before
        values: dict[str, Any] = {"claimed_by": None, "lease_until": None, "last_errcode": answer.errcode,
                                  "uncertain_since": uncertain_since}
        outcome = answer.outcome
        retry_at = now + retry_delay(reminder.attempts, answer.errcode)
        if outcome == "sent":
            values |= {"status": "sent", "finished_at": now, "msgid": answer.msgid, "uncertain_since": None}
        elif outcome == "retry" and _too_late_to_retry(uncertain_since, retry_at):
            outcome = "uncertain"
            values |= {"status": "uncertain", "finished_at": now}
        elif outcome == "retry" and reminder.attempts < MAX_ATTEMPTS:
            values |= {"status": "planned", "next_attempt_at": retry_at}
        else:
            values |= {"status": "uncertain" if uncertain_since else "failed", "finished_at": now}
            outcome = "uncertain" if uncertain_since else outcome
        with self.db.transaction() as session:
            updated = session.execute(
                update(Reminder)
                .where(Reminder.id == reminder.id, Reminder.claimed_by == self.worker)
                .values(**values)
            ).rowcount
            if not updated:
                log.warning("reminder %s: claim lost while sending; result recorded in the attempt log", reminder.id)
            session.add(ReminderAttempt(reminder_id=reminder.id, worker=self.worker, outcome=answer.outcome,
                                        errcode=answer.errcode, errmsg=answer.errmsg[:200]))
            if answer.outcome == "unreachable":
                session.execute(update(Follower).where(Follower.openid == ready.openid,
                                                       Follower.unreachable_since.is_(None))
                                .values(unreachable_since=now))
        return outcome

    def _release(self, ids: Sequence[int], retry_at: datetime | None = None) -> None:
        """Give claimed rows back untouched (no attempt was made), e.g. when quiet hours end."""
        if not ids:
            return
        with self.db.transaction() as session:
            session.execute(
                update(Reminder)
                .where(Reminder.id.in_(ids), Reminder.status == "sending", Reminder.claimed_by == self.worker)
                .values(status="planned", claimed_by=None, lease_until=None, next_attempt_at=retry_at)
            )


def check(session: Session, reminder: Reminder, today: date) -> tuple[str | None, str | None]:
    """(recipient's openid, None) when the reminder may go out now, else (…, the status to close it with)."""
    openid = session.execute(
        select(Binding.openid).where(Binding.person_id == reminder.recipient_id)
    ).scalar_one_or_none()
    if openid is None:
        return None, "skipped_unbound"
    follower = session.execute(select(Follower).where(Follower.openid == openid)).scalar_one_or_none()
    if follower is not None and not follower.reminders_enabled:
        return openid, "skipped_opted_out"
    if follower is not None and (follower.unreachable_since is not None or not follower.subscribed):
        return openid, "skipped_unreachable"
    if reminder.recipient_id != reminder.person_id and not _linked(session, reminder):
        return openid, "skipped_unlinked"
    if session.execute(select(_paid(reminder))).scalar():
        return openid, "cancelled_paid"
    if today > reminder.deadline:
        return openid, "expired"
    return openid, None


def _linked(session: Session, reminder: Reminder) -> bool:
    return session.execute(select(exists().where(
        FamilyLink.holder_id == reminder.recipient_id, FamilyLink.relative_id == reminder.person_id,
        FamilyLink.status == "active", FamilyLink.remind_gaps.is_(True),
    ))).scalar_one()


def _paid(reminder: Reminder) -> Any:
    """EXISTS: a payment that closes the gap (any covered month from its start; or the premium)."""
    if reminder.kind == "resident_period":
        return exists().where(ResidentPremium.person_id == reminder.person_id,
                              ResidentPremium.year == Month.from_index(reminder.gap_start).year,
                              ResidentPremium.status.in_(COVERED))
    return exists().where(Contribution.person_id == reminder.person_id, Contribution.month >= reminder.gap_start,
                          Contribution.status.in_(COVERED))


def recover_stale_claims(db: Database) -> tuple[int, int]:
    """Rows left ``sending`` by a dead sender: back to ``planned``, or once out of attempts ``failed``
    (``uncertain`` when the call in flight, or an earlier one, never got an answer)."""
    now = now_utc()
    stale = (Reminder.status == "sending", Reminder.lease_until < now)
    with db.transaction() as session:
        failed = session.execute(
            update(Reminder).where(*stale, Reminder.attempts >= MAX_ATTEMPTS)
            .values(status=case((Reminder.uncertain_since.is_not(None), "uncertain"), else_="failed"),
                    finished_at=now, claimed_by=None, lease_until=None)
        ).rowcount
        released = session.execute(
            update(Reminder).where(*stale).values(status="planned", claimed_by=None, lease_until=None)
        ).rowcount
    if failed or released:
        log.warning("reminders left by a stopped sender: %s back to planned, %s out of attempts", released, failed)
    return released, failed


def expire_overdue(db: Database, today: date) -> int:
    """Close planned rows whose deadline has passed, set-wise (the per-row check would catch them too)."""
    with db.transaction() as session:
        return session.execute(
            update(Reminder).where(Reminder.status == "planned", Reminder.deadline < today)
            .values(status="expired", finished_at=now_utc())
        ).rowcount
