"""Finding 7: a reminder whose send got no answer is retried only while WeChat would still drop the
repeat (10 minutes for one ``client_msg_id``); after that it is marked uncertain for staff, never sent
again. The fake WeChat drops repeats as WeChat does, so a duplicate shows up as a second message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.reminders import channel
from miniservice.reminders.sending import SendReport
from miniservice.reminders.service import DayReport
from miniservice.rules.months import Month
from tests.reminders.conftest import (  # noqa: F401 - fixtures of the reminders package, used here
    Citizen,
    Clock,
    Registry,
    app_overrides,
    clock,
    live_day,
    local,
    registry,
    send_now,
)

DEC_1 = date(2025, 12, 1)


def answer_lost(client: Any, openid: str, message: channel.Message, client_msg_id: str) -> channel.Answer:
    """WeChat takes the message, but its answer never arrives (the client's read timeout)."""
    channel.send(client, openid, message, client_msg_id)
    return channel.classify(None, "ReadTimeout")


def _one_gap(registry: Registry) -> Citizen:  # noqa: F811
    citizen = registry.person("司马未答", scheme="flexible")
    registry.paid(citizen, Month(2024, 1), Month(2025, 10))
    return citizen


def test_unanswered_sends_are_retried_only_inside_the_repeat_window(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport],  # noqa: F811
    clock: Clock, send_now: Callable[..., SendReport],  # noqa: F811
) -> None:
    citizen = _one_gap(registry)
    live_day(DEC_1, hour=8)  # planned before the sending hours open
    clock.at(local(DEC_1, 10))
    reports = [send_now(transport=answer_lost)]
    for wait in (1, 2, 4):  # the back-off: 1, 2, 4 minutes; the next would be 8, at 10:15
        clock.shift(timedelta(minutes=wait, seconds=5))
        reports.append(send_now(transport=answer_lost))
    assert [(r.retry, r.uncertain) for r in reports] == [(1, 0), (1, 0), (1, 0), (0, 1)]
    [row] = registry.reminders()
    assert (row.status, row.attempts) == ("uncertain", 4)

    clock.shift(timedelta(minutes=20))
    assert send_now().sent == 0
    calls = fake_wechat.calls("template/send")
    assert len(calls) == 4 and calls[-1].time - calls[0].time < 9 * 60
    assert len(fake_wechat.sent_messages(citizen.openid)) == 1  # WeChat dropped the three repeats


def test_an_unanswered_send_held_back_by_quiet_hours_is_not_repeated_the_next_morning(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport],  # noqa: F811
    clock: Clock, send_now: Callable[..., SendReport],  # noqa: F811
) -> None:
    citizen = _one_gap(registry)
    live_day(DEC_1, hour=8)
    clock.at(local(DEC_1, 19, 59))
    assert send_now(transport=answer_lost).retry == 1  # due again at 20:00, when sending hours have ended
    clock.at(local(DEC_1 + timedelta(days=1), 9, 30))
    morning = send_now()
    assert (morning.sent, morning.uncertain) == (0, 1)
    [row] = registry.reminders()
    assert row.status == "uncertain"
    assert len(fake_wechat.sent_messages(citizen.openid)) == 1


def test_an_answer_inside_the_window_settles_it(
    registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport],  # noqa: F811
    clock: Clock, send_now: Callable[..., SendReport],  # noqa: F811
) -> None:
    citizen = _one_gap(registry)
    live_day(DEC_1, hour=8)
    clock.at(local(DEC_1, 10))
    send_now(transport=answer_lost)
    clock.shift(timedelta(minutes=1, seconds=5))
    assert send_now().sent == 1
    [row] = registry.reminders()
    assert (row.status, row.uncertain_since) == ("sent", None)
    assert len(fake_wechat.sent_messages(citizen.openid)) == 1
