"""Fault injection: injected errcodes, delays that provoke client timeouts, rate limits, HTTP control."""

from __future__ import annotations

import time

import pytest
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import APILimitedException, WeChatClientException

from miniservice.devtools.clock import ManualClock
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.wechat.wiring import make_client

from .conftest import APPID, FOLLOWER, SECRET

DATA = {"thing1": {"value": "断缴提醒"}}


def test_injected_system_busy_fails_once(fake: FakeWeChat, wx: WeChatClient) -> None:
    fake.inject("template/send", -1)

    with pytest.raises(WeChatClientException) as excinfo:
        wx.message.send_template(FOLLOWER, "TPL", DATA)
    assert excinfo.value.errcode == -1
    assert excinfo.value.errmsg.startswith("system error")

    wx.message.send_template(FOLLOWER, "TPL", DATA)  # times=1: the next call goes through
    assert [c.errcode for c in fake.calls("template/send")] == [-1, 0]
    assert len(fake.sent_messages()) == 1


def test_injected_quota_is_reported_as_api_limited(fake: FakeWeChat, wx: WeChatClient) -> None:
    fake.inject("template/send", 45009, times=None)

    for _ in range(3):
        with pytest.raises(APILimitedException):
            wx.message.send_template(FOLLOWER, "TPL", DATA)
    fake.reset(calls=False)
    wx.message.send_template(FOLLOWER, "TPL", DATA)


def test_injected_40001_triggers_wechatpy_refetch(fake: FakeWeChat) -> None:
    retrying = make_client(fake.base_url, APPID, SECRET, timeout=5)  # wechatpy default auto_retry=True
    retrying.fetch_access_token()
    fake.inject("template/send", 40001)

    retrying.message.send_template(FOLLOWER, "TPL", DATA)

    assert [(c.path, c.errcode) for c in fake.calls()][1:] == [
        ("cgi-bin/message/template/send", 40001), ("cgi-bin/token", 0),
        ("cgi-bin/message/template/send", 0)]


def test_injection_matches_whole_path_segments(fake: FakeWeChat, wx: WeChatClient) -> None:
    fake.inject("token", -1)  # cgi-bin/token, not cgi-bin/stable_token
    stable = requests.post(fake.base_url + "cgi-bin/stable_token", timeout=5, json={
        "grant_type": "client_credential", "appid": APPID, "secret": SECRET}).json()
    assert "access_token" in stable
    with pytest.raises(WeChatClientException):
        wx.fetch_access_token()


def test_delay_makes_a_short_timeout_client_time_out(fake: FakeWeChat) -> None:
    wx = make_client(fake.base_url, APPID, SECRET, timeout=0.5, auto_retry=False)
    wx.fetch_access_token()
    fake.delay("template/send", 3.0)

    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        wx.message.send_template(FOLLOWER, "TPL", DATA)
    assert 0.4 < time.monotonic() - started < 2.0

    wx.message.send_template(FOLLOWER, "TPL", DATA)  # the delay was used up


def test_a_delayed_call_still_in_flight_at_reset_is_not_recorded_after_it(fake: FakeWeChat) -> None:
    wx = make_client(fake.base_url, APPID, SECRET, timeout=0.3, auto_retry=False)
    wx.fetch_access_token()
    fake.delay("template/send", 1.0)
    with pytest.raises(requests.Timeout):
        wx.message.send_template(FOLLOWER, "TPL", DATA)
    fake.reset()  # the next test starts while the fake still holds the delayed call
    time.sleep(1.0)
    assert (fake.calls(), fake.sent_messages()) == ([], [])


def test_delay_on_token_endpoint_respects_client_timeout(fake: FakeWeChat) -> None:
    """wechatpy's own token fetch sends no timeout; wiring's client applies the client's timeout."""
    fake.delay("cgi-bin/token", 3.0)
    wx = make_client(fake.base_url, APPID, SECRET, timeout=0.5)

    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        wx.fetch_access_token()
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("errcode", [45009, 45011])
def test_rate_limit_per_second(fake: FakeWeChat, wx: WeChatClient, clock: ManualClock,
                               errcode: int) -> None:
    wx.fetch_access_token()
    fake.rate_limit("template/send", per_second=2, errcode=errcode)

    wx.message.send_template(FOLLOWER, "TPL", DATA)
    wx.message.send_template(FOLLOWER, "TPL", DATA)
    with pytest.raises(WeChatClientException) as excinfo:
        wx.message.send_template(FOLLOWER, "TPL", DATA)
    assert excinfo.value.errcode == errcode

    clock.advance(1.0)
    wx.message.send_template(FOLLOWER, "TPL", DATA)
    assert len(fake.sent_messages()) == 3


def test_control_endpoints_drive_a_running_server(fake: FakeWeChat, wx: WeChatClient) -> None:
    control = fake.base_url + "__fake__/"
    added = requests.post(control + "followers", json={"openid": "oFromCurl", "nickname": "王五"}, timeout=5)
    assert "oFromCurl" in [f["openid"] for f in added.json()]
    faults = requests.post(control + "faults", timeout=5,
                           data={"kind": "inject", "path_suffix": "template/send", "errcode": "45009"})
    assert faults.json()["inject"][0]["errcode"] == 45009

    with pytest.raises(APILimitedException):
        wx.message.send_template("oFromCurl", "TPL", DATA)
    wx.message.send_template("oFromCurl", "TPL", DATA)

    calls = requests.get(control + "calls", params={"path_suffix": "template/send"}, timeout=5).json()
    assert [c["errcode"] for c in calls] == [45009, 0]
    messages = requests.get(control + "messages", timeout=5).json()
    assert messages[0]["touser"] == "oFromCurl"

    requests.post(control + "faults", timeout=5, json={"kind": "inject", "path_suffix": "x", "errcode": -1,
                                                         "times": None})
    assert requests.post(control + "reset", json={}, timeout=5).json() == {"reset": True}
    assert requests.get(control + "calls", timeout=5).json() == []
    assert requests.get(control + "faults", timeout=5).json()["inject"] == []
    assert fake.calls() == []


def test_control_rejects_bad_fault(fake: FakeWeChat) -> None:
    response = requests.post(fake.base_url + "__fake__/faults", json={"kind": "inject"}, timeout=5)
    assert response.status_code == 400
