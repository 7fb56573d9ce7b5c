"""Template, subscribe (订阅通知) and customer-service messages; user info; body validation."""

from __future__ import annotations

import pytest
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from miniservice.devtools.clock import ManualClock
from miniservice.devtools.fake_wechat import FakeWeChat

from .conftest import APPID, FOLLOWER, FORMER, SECRET, STRANGER

DATA = {"thing1": {"value": "职工医保"}, "time2": {"value": "2024-05-01"}}


def test_template_to_follower_is_sent(fake: FakeWeChat, wx: WeChatClient) -> None:
    result = wx.message.send_template(FOLLOWER, "TPL_GAP", DATA, url="https://example.gov.cn/h5")

    assert isinstance(result["msgid"], int)
    [sent] = fake.sent_messages()
    assert (sent.kind, sent.touser, sent.template_id, sent.msgid) == ("template", FOLLOWER, "TPL_GAP",
                                                                      result["msgid"])
    assert sent.body["data"] == DATA


def test_a_repeated_client_msg_id_is_shown_once_within_ten_minutes(
    fake: FakeWeChat, wx: WeChatClient, clock: ManualClock
) -> None:
    body = {"touser": FOLLOWER, "template_id": "TPL_GAP", "data": DATA, "client_msg_id": "reminder-7"}
    first = wx.post("message/template/send", data=body)
    clock.advance(9 * 60)
    repeat = wx.post("message/template/send", data=body)
    other = wx.post("message/template/send", data=body | {"client_msg_id": "reminder-8"})
    assert repeat["msgid"] == first["msgid"] != other["msgid"]
    assert len(fake.sent_messages()) == 2
    clock.advance(2 * 60)  # eleven minutes after the first: WeChat no longer recognises the repeat
    wx.post("message/template/send", data=body)
    assert len(fake.sent_messages()) == 3


@pytest.mark.parametrize(("openid", "errcode"), [(FORMER, 43004), (STRANGER, 40003)])
def test_template_to_non_follower_is_refused(fake: FakeWeChat, wx: WeChatClient, openid: str,
                                            errcode: int) -> None:
    with pytest.raises(WeChatClientException) as excinfo:
        wx.message.send_template(openid, "TPL_GAP", DATA)

    assert excinfo.value.errcode == errcode
    assert fake.sent_messages() == []


def test_template_needs_template_id_and_value_fields(wx: WeChatClient) -> None:
    with pytest.raises(WeChatClientException) as no_id:
        wx.message.send_template(FOLLOWER, "", DATA)
    with pytest.raises(WeChatClientException) as bad_data:
        wx.message.send_template(FOLLOWER, "TPL", {"thing1": "职工医保"})
    assert (no_id.value.errcode, bad_data.value.errcode) == (40037, 47003)


def test_subscribe_message_needs_accepted_subscription(fake: FakeWeChat, wx: WeChatClient) -> None:
    with pytest.raises(WeChatClientException) as excinfo:
        wx.message.send_subscribe_message(FOLLOWER, "SUB_GAP", DATA)
    assert excinfo.value.errcode == 43101

    fake.allow_subscribe_message(FOLLOWER, "SUB_GAP")
    wx.message.send_subscribe_message(FOLLOWER, "SUB_GAP", DATA)
    assert [m.kind for m in fake.sent_messages(FOLLOWER)] == ["subscribe"]


def test_subscription_check_can_be_switched_off(clock: ManualClock) -> None:
    from miniservice.wechat.wiring import make_client

    with FakeWeChat(APPID, SECRET, require_subscription=False, clock=clock) as fake:
        fake.add_follower(FOLLOWER)
        make_client(fake.base_url, APPID, SECRET).message.send_subscribe_message(FOLLOWER, "SUB", DATA)
        assert len(fake.sent_messages()) == 1


def test_custom_message_only_within_48_hours(fake: FakeWeChat, wx: WeChatClient,
                                             clock: ManualClock) -> None:
    wx.message.send_text(FOLLOWER, "您的补缴测算已完成")
    clock.advance(48 * 3600 + 1)
    wx.fetch_access_token()  # the first token expired meanwhile
    with pytest.raises(WeChatClientException) as excinfo:
        wx.message.send_text(FOLLOWER, "还在吗")
    assert excinfo.value.errcode == 45015

    fake.touch(FOLLOWER)
    wx.message.send_text(FOLLOWER, "又来了")
    assert [m.body["text"]["content"] for m in fake.sent_messages()] == ["您的补缴测算已完成", "又来了"]


def test_user_info_for_follower_and_former_follower(wx: WeChatClient) -> None:
    info = wx.user.get(FOLLOWER)
    gone = wx.user.get(FORMER)

    assert (info["subscribe"], info["openid"], info["language"]) == (1, FOLLOWER, "zh_CN")
    assert "nickname" not in info  # WeChat no longer returns it
    assert gone == {"subscribe": 0, "openid": FORMER, "tagid_list": []}
    with pytest.raises(WeChatClientException) as excinfo:
        wx.user.get(STRANGER)
    assert excinfo.value.errcode == 40003


@pytest.mark.parametrize(("data", "errcode"), [(b"", 44002), (b"{not json", 47001), (b"[1]", 47001)])
def test_bad_post_bodies(fake: FakeWeChat, wx: WeChatClient, data: bytes, errcode: int) -> None:
    token = wx.fetch_access_token()["access_token"]
    answer = requests.post(fake.base_url + "cgi-bin/message/template/send", params={"access_token": token},
                           data=data, timeout=5).json()
    assert answer["errcode"] == errcode
