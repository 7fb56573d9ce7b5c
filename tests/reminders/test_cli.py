"""``miniservice remind --date D [--dry-run]`` prints what it planned and what it sent."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from flask import Flask

from miniservice.cli import main
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.rules.months import Month
from tests.reminders.conftest import Clock, Registry, local


@pytest.fixture
def cli(app: Flask) -> CliRunner:
    """Runs ``miniservice`` commands in the test app, as Flask's CLI runner does."""
    return app.test_cli_runner()


def test_remind_plans_and_sends_for_the_given_day(
    cli: CliRunner, registry: Registry, fake_wechat: FakeWeChat, clock: Clock
) -> None:
    flexible = registry.person("曹命令", scheme="flexible")
    registry.paid(flexible, Month(2020, 1), Month(2025, 10))
    resident = registry.person("许居民", scheme="resident")
    registry.paid_years(resident, 2025)
    clock.at(local(date(2025, 12, 1), 10))

    dry = cli.invoke(main, ["remind", "--date", "2025-12-01", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would plan: 2 (gap_1m 1, period_30d 1)" in dry.output
    assert "曹*令: gap_reminder (gap_1m, 1 months missed), pay by" in dry.output
    assert "许*民: resident_period (period_30d), pay by" in dry.output
    assert "曹命令" not in dry.output and "许居民" not in dry.output
    assert registry.reminders() == [] and fake_wechat.sent_messages() == []

    real = cli.invoke(main, ["remind", "--date", "2025-12-01"])
    assert real.exit_code == 0, real.output
    assert "planned: 2 (gap_1m 1, period_30d 1)" in real.output
    assert "sent 2, retry later 0, failed 0, unreachable 0" in real.output
    assert "still due: 0" in real.output
    assert len(fake_wechat.sent_messages()) == 2


def test_remind_outside_sending_hours_plans_and_says_why_nothing_was_sent(
    cli: CliRunner, registry: Registry, clock: Clock
) -> None:
    flexible = registry.person("华夜间", scheme="flexible")
    registry.paid(flexible, Month(2020, 1), Month(2025, 10))
    clock.at(local(date(2025, 12, 1), 22))
    result = cli.invoke(main, ["remind", "--date", "2025-12-01"])
    assert result.exit_code == 0, result.output
    assert "not sent: outside sending hours 09:00–20:00" in result.output
    assert "still due: 1" in result.output


def test_remind_refuses_a_malformed_date(cli: CliRunner) -> None:
    result = cli.invoke(main, ["remind", "--date", "2025-13-01"])
    assert result.exit_code == 2
    assert "2025-13-01" in result.output
