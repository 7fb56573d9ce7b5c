"""Turning reminders off and on through WeChat (menu keys and words), over a real HTTP callback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import select

from miniservice.audit.models import AuditEvent
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.reminders.service import DayReport
from miniservice.rules.months import Month
from tests.reminders.conftest import Registry


def test_menu_off_then_text_on_switches_the_followers_choice_and_is_audited(
    simulator: Any, registry: Registry, db: Database
) -> None:
    citizen = registry.person("蒋开关")
    off = simulator.click(citizen.openid, "REMINDERS_OFF")
    assert "已为您关闭断缴提醒" in off.content
    assert registry.follower(citizen.openid).reminders_enabled is False

    on = simulator.text(citizen.openid, "开启提醒")
    assert "已为您开启断缴提醒" in on.content
    assert "请先绑定身份" not in on.content  # this citizen is bound
    assert registry.follower(citizen.openid).reminders_enabled is True
    with db.reading() as session:
        actions = session.execute(
            select(AuditEvent.action).where(AuditEvent.action.like("reminders.%")).order_by(AuditEvent.id)
        ).scalars().all()
    assert actions == ["reminders.off", "reminders.on"]


def test_an_unbound_visitor_who_turns_reminders_on_is_asked_to_bind(simulator: Any, registry: Registry) -> None:
    reply = simulator.click("o-visitor-unbound", "REMINDERS_ON")
    assert "请先绑定身份" in reply.content and "/h5/bind" in reply.content


def test_unsubscribing_by_text_before_the_stage_day_means_no_reminder(
    simulator: Any, registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport]
) -> None:
    citizen = registry.person("沈退订", scheme="flexible")
    registry.paid(citizen, Month(2020, 1), Month(2025, 10))
    simulator.text(citizen.openid, "退订提醒")
    assert live_day(date(2025, 12, 1)).plan.total == 0
    simulator.click(citizen.openid, "REMINDERS_ON")
    assert live_day(date(2025, 12, 2)).send.sent == 1  # the stage is still in effect: it catches up
    assert len(fake_wechat.sent_messages(citizen.openid)) == 1
