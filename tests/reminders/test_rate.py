"""Pacing: the in-process and the Redis-shared token buckets, and sending under WeChat's own limit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import redis

from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.reminders.rate import RedisTokenBucket, TokenBucket
from miniservice.reminders.service import DayReport
from miniservice.rules.months import Month
from tests.reminders.conftest import TEMPLATES, Registry


class ManualTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def test_the_bucket_spaces_sends_one_per_interval() -> None:
    time = ManualTime()
    bucket = TokenBucket(4, clock=time.clock, sleep=time.sleep)
    for _ in range(3):
        bucket.acquire()
    assert time.slept == [0.25, 0.25]  # the first token is there; then one every 1/4 s


def test_a_saved_up_burst_is_spent_before_waiting() -> None:
    time = ManualTime()
    bucket = TokenBucket(10, burst=3, clock=time.clock, sleep=time.sleep)
    for _ in range(4):
        bucket.acquire()
    assert time.slept == [0.1]


def test_the_redis_bucket_is_shared_by_every_process(redis_url: str) -> None:
    slept: list[float] = []
    client = redis.Redis.from_url(redis_url)
    first = RedisTokenBucket(client, "test:bucket", rate=1, burst=2, sleep=slept.append)
    second = RedisTokenBucket(redis.Redis.from_url(redis_url), "test:bucket", rate=1, burst=2,
                              sleep=lambda s: (slept.append(s), client.delete("test:bucket")))
    first.acquire()
    first.acquire()
    second.acquire()  # the bucket the first one emptied: waits (then the test refills it)
    assert len(slept) == 1 and 0.5 < slept[0] <= 1.0


class TestPacedSending:
    @pytest.fixture
    def app_overrides(self) -> dict[str, Any]:
        return {"template_ids": dict(TEMPLATES), "reminder_rate_per_second": 4.0}

    def test_paced_sending_stays_under_wechats_rate_limit(
        self, registry: Registry, fake_wechat: FakeWeChat, live_day: Callable[..., DayReport]
    ) -> None:
        citizens = [registry.person(f"杨{i}号", scheme="flexible") for i in range(7)]
        for citizen in citizens:
            registry.paid(citizen, Month(2020, 1), Month(2025, 10))
        fake_wechat.rate_limit("template/send", per_second=5, errcode=45011)
        report = live_day(date(2025, 12, 1))
        assert (report.send.sent, report.send.retry) == (7, 0)
        assert {c.errcode for c in fake_wechat.calls("template/send")} == {0}
