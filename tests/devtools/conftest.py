"""Fixtures for the devtools tests: a started fake WeChat server on a manual clock, and clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from miniservice.devtools.clock import ManualClock
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.wechat.wiring import BaseURLWeChatClient, make_client

APPID = "wx1234567890fake"
SECRET = "test-app-secret"
FOLLOWER = "oFollower0000000000000000001"
FORMER = "oFormerFollower0000000000002"
STRANGER = "oStranger0000000000000000003"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_700_000_000)


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeWeChat]:
    """Fake WeChat with no token overlap, so one extra token fetch invalidates the previous token."""
    with FakeWeChat(APPID, SECRET, token_overlap=0, clock=clock) as server:
        server.add_follower(FOLLOWER, nickname="张三")
        server.add_follower(FORMER, nickname="李四", subscribed=False)
        yield server


@pytest.fixture
def wx(fake: FakeWeChat) -> BaseURLWeChatClient:
    """A wechatpy client that surfaces every WeChat error (no silent token re-fetch)."""
    return make_client(fake.base_url, APPID, SECRET, timeout=5, auto_retry=False)
