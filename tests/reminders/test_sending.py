"""Sending against the fake WeChat API: crashes, WeChat's errors, re-checks, quiet hours, concurrency."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.reminders import channel, sending
from miniservice.reminders.rate import TokenBucket
from miniservice.reminders.sending import Sender, SendReport
from miniservice.reminders.service import DayReport
from miniservice.rules.months import Month
from miniservice.wechat.client import get_client
from tests.reminders.conftest import Citizen, Clock, Registry, local

DEC_1 = date(2025, 12, 1)


class Killed(BaseException):
    """The process dies: nothing in the sender may catch or clean up after this."""


def killed_after(sends: int) -> Callable[..., channel.Answer]:
    """A transport that delivers ``sends`` messages, then dies before the next reaches WeChat."""
    done: list[str] = []

    def transport(client: Any, openid: str, message: channel.Message, client_msg_id: str) -> channel.Answer:
        if len(done) == sends:
            raise Killed
        done.append(openid)
        return channel.send(client, openid, message, client_msg_id)

    return transport


def with_gaps(registry: Registry, count: int) -> list[Citizen]:
    """``count`` 灵活就业 citizens whose gap started in November 2025 (one month on 12-01)."""
    citizens = [registry.person(f"欧阳{i:02d}号", scheme="flexible") for i in range(count)]
    for citizen in citizens:
        registry.paid(citizen, Month(2024, 1), Month(2025, 10))
    return citizens


def received(fake: FakeWeChat, citizens: list[Citizen]) -> Counter[str]:
    counts = Counter(m.touser for m in fake.sent_messages())
    return Counter({c.openid: counts[c.openid] for c in citizens})


def test_a_sender_killed_mid_batch_and_restarted_sends_every_reminder_exactly_once(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport], clock: Clock,
    send_now: Callable[..., SendReport],
) -> None:
    citizens = with_gaps(registry, 7)
    live_day(DEC_1, hour=8)  # planned before quiet hours open: nothing sent yet
    clock.at(local(DEC_1, 10))
    with pytest.raises(Killed):
        send_now(transport=killed_after(3))
    assert sum(received(fake_wechat, citizens).values()) == 3

    restarted_at_once = send_now()  # the dead sender's lease still holds: nobody else touches its rows
    assert restarted_at_once.sent == 0

    clock.shift(timedelta(minutes=6))  # past the 5-minute lease
    after_restart = send_now()
    assert after_restart.sent == 4
    assert received(fake_wechat, citizens) == Counter({c.openid: 1 for c in citizens})
    assert {r.status for r in registry.reminders()} == {"sent"}
    assert [a.outcome for a in registry.attempts()] == ["sent"] * 7
    assert sorted(r.attempts for r in registry.reminders()) == [1] * 6 + [2]  # the one in flight counted twice


def test_system_busy_is_retried_after_a_back_off(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport], clock: Clock,
    send_now: Callable[..., SendReport],
) -> None:
    [citizen] = with_gaps(registry, 1)
    fake_wechat.inject("template/send", -1, times=1)
    first = live_day(DEC_1)
    assert (first.send.sent, first.send.retry) == (0, 1)
    [row] = registry.reminders()
    assert row.status == "planned"
    assert timedelta(seconds=59) < row.next_attempt_at - local(DEC_1, 10) < timedelta(seconds=70)
    assert send_now().sent == 0  # not yet: the back-off holds it
    clock.shift(timedelta(minutes=2))
    assert send_now().sent == 1
    assert [(a.outcome, a.errcode) for a in registry.attempts()] == [("retry", -1), ("sent", 0)]
    assert len(fake_wechat.sent_messages(citizen.openid)) == 1


def test_quota_reached_stops_the_run_and_everyone_is_sent_an_hour_later(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport], clock: Clock,
    send_now: Callable[..., SendReport],
) -> None:
    citizens = with_gaps(registry, 3)
    fake_wechat.inject("template/send", 45009, times=1)
    first = live_day(DEC_1)
    assert first.send.stopped == "rate_limited"
    assert (first.send.sent, first.send.retry) == (0, 1)
    assert len(fake_wechat.calls("template/send")) == 1  # the other two were not even tried
    clock.shift(timedelta(minutes=30))
    assert send_now().sent == 0
    clock.shift(timedelta(minutes=31))
    assert send_now().sent == 3
    assert received(fake_wechat, citizens) == Counter({c.openid: 1 for c in citizens})


def test_not_a_follower_is_never_retried_and_marks_the_follower_unreachable(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport], clock: Clock,
    send_now: Callable[..., SendReport],
) -> None:
    [citizen] = with_gaps(registry, 1)
    fake_wechat.inject("template/send", 43004, times=1)
    report = live_day(DEC_1)
    assert (report.send.unreachable, report.send.retry) == (1, 0)
    [row] = registry.reminders()
    assert (row.status, row.last_errcode) == ("failed", 43004)
    assert registry.follower(citizen.openid).unreachable_since is not None
    clock.shift(timedelta(days=1))
    assert send_now().sent == 0
    assert live_day(date(2026, 1, 1)).plan.total == 0  # unreachable followers are not planned again
    assert fake_wechat.sent_messages() == []
    assert [(a.outcome, a.errcode) for a in registry.attempts()] == [("unreachable", 43004)]


def test_a_broken_connection_is_a_transient_failure() -> None:
    class Unreachable:
        def post(self, *_: Any, **__: Any) -> None:
            import requests

            raise requests.ConnectionError("connection refused")

    answer = channel.send(Unreachable(), "o-x", channel.Message("TPL", {}, "http://x/h5/quote"), "reminder-1")
    assert (answer.outcome, answer.errcode, answer.errmsg) == ("retry", None, "ConnectionError")


def test_opted_out_paid_unfollowed_and_unbound_citizens_get_nothing_at_send_time(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport], clock: Clock,
    send_now: Callable[..., SendReport],
) -> None:
    opted_out, paid, unfollowed, unbound, told = with_gaps(registry, 5)
    live_day(DEC_1, hour=7)  # planned for everyone, nothing sent before 09:00
    registry.set_follower(opted_out.openid, reminders_enabled=False)
    registry.paid(paid, Month(2025, 11), Month(2025, 11), status="back_paid")
    registry.set_follower(unfollowed.openid, subscribed=False)
    registry.unbind(unbound)

    clock.at(local(DEC_1, 9, 30))
    report = send_now()

    assert report.sent == 1
    assert dict(report.skipped) == {"skipped_opted_out": 1, "cancelled_paid": 1, "skipped_unreachable": 1,
                                    "skipped_unbound": 1}
    assert [m.touser for m in fake_wechat.sent_messages()] == [told.openid]
    statuses = {r.person_id: r.status for r in registry.reminders()}
    assert statuses[paid.id] == "cancelled_paid"
    assert registry.attempts()[0].outcome == "sent" and len(registry.attempts()) == 1


def test_reminders_wait_for_quiet_hours_and_expire_if_the_deadline_passes_first(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport], clock: Clock,
    send_now: Callable[..., SendReport],
) -> None:
    [citizen] = with_gaps(registry, 1)
    evening = live_day(DEC_1, hour=20, minute=30)
    assert evening.plan.total == 1 and evening.send.outside_quiet_hours
    clock.at(local(date(2025, 12, 2), 8, 59))
    assert send_now().outside_quiet_hours
    clock.at(local(date(2025, 12, 2), 9, 0))
    assert send_now().sent == 1

    live_day(date(2026, 2, 28), hour=21)  # the line stage, planned on its deadline's evening
    clock.at(local(date(2026, 3, 1), 9, 5))
    report = send_now()
    assert dict(report.skipped) == {"expired": 1}
    assert [r.status for r in registry.reminders()] == ["sent", "expired"]
    assert len(fake_wechat.sent_messages(citizen.openid)) == 1


def test_two_concurrent_senders_send_each_reminder_once(
    app: Flask, db: Database, registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport],
    clock: Clock,
) -> None:
    citizens = with_gaps(registry, 30)
    live_day(DEC_1, hour=8)
    clock.at(local(DEC_1, 10))
    settings = app.extensions["miniservice.settings"]
    reports: list[SendReport] = []
    start = threading.Barrier(2)

    def sender() -> None:
        with app.app_context():
            worker = Sender(db, settings, get_client(), TokenBucket(1000), batch_size=4)
            start.wait()
            reports.append(worker.run())

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sum(r.sent for r in reports) == 30
    assert received(fake_wechat, citizens) == Counter({c.openid: 1 for c in citizens})
    assert len(fake_wechat.calls("template/send")) == 30


def test_a_very_high_configured_rate_still_claims_small_batches(
    app: Flask, db: Database, registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport],
    clock: Clock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    citizens = with_gaps(registry, 7)
    live_day(DEC_1, hour=8)
    clock.at(local(DEC_1, 10))
    monkeypatch.setattr(sending, "MAX_BATCH", 3)
    settings = replace(app.extensions["miniservice.settings"], reminder_rate_per_second=100_000.0)
    claims: list[int] = []
    with app.app_context():
        worker = Sender(db, settings, get_client(), TokenBucket(100_000))
        claim = worker._claim

        def counted(*args: Any) -> list[int]:
            ids = claim(*args)
            claims.append(len(ids))
            return ids

        monkeypatch.setattr(worker, "_claim", counted)
        report = worker.run()
    assert report.sent == 7
    assert claims == [3, 3, 1, 0]
    assert received(fake_wechat, citizens) == Counter({c.openid: 1 for c in citizens})
