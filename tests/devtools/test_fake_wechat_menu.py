"""Menu endpoints and WeChat's menu limits (3 buttons, 5 sub-buttons, 16/60-byte names)."""

from __future__ import annotations

from typing import Any

import pytest
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from miniservice.devtools.fake_wechat import FakeWeChat

VALID_MENU: dict[str, Any] = {"button": [
    {"type": "click", "name": "缴费记录", "key": "RECORDS"},
    {"name": "医保服务", "sub_button": [
        {"type": "view", "name": "补缴测算", "url": "https://example.gov.cn/h5/quote"},
        {"type": "click", "name": "断缴提醒", "key": "REMIND"},
        {"type": "view", "name": "家庭共济", "url": "https://example.gov.cn/h5/family"},
        {"type": "click", "name": "办理渠道", "key": "CHANNELS"},
        {"type": "click", "name": "x" * 60, "key": "LONGEST_SUB_NAME"},
    ]},
    {"type": "view", "name": "一二三四五", "url": "https://example.gov.cn/"},  # 15 bytes: allowed
]}


def _button(name: str = "按钮", **kw: Any) -> dict[str, Any]:
    return {"type": "click", "name": name, "key": "K", **kw}


def test_valid_menu_round_trips(fake: FakeWeChat, wx: WeChatClient) -> None:
    assert wx.menu.create(VALID_MENU) == {"errcode": 0, "errmsg": "ok"}

    got = wx.menu.get()["menu"]["button"]
    assert [b["name"] for b in got] == ["缴费记录", "医保服务", "一二三四五"]
    assert got[0]["sub_button"] == []  # WeChat lists an empty sub_button on leaf buttons
    assert got[1]["sub_button"][0]["url"] == "https://example.gov.cn/h5/quote"
    assert fake.menu == VALID_MENU


@pytest.mark.parametrize(("menu", "errcode"), [
    ({"button": [_button() for _ in range(4)]}, 40016),
    ({"button": []}, 40016),
    ({"button": [{"name": "多", "sub_button": [_button() for _ in range(6)]}]}, 40023),
    ({"button": [_button("一二三四五六")]}, 40018),  # 18 bytes > 16
    ({"button": [{"name": "子", "sub_button": [_button("y" * 61)]}]}, 40025),
    ({"button": [_button(type="tap")]}, 40017),
    ({"button": [{"name": "子", "sub_button": [_button(type="tap")]}]}, 40024),
    ({"button": [_button(key="k" * 129)]}, 40019),
    ({"button": [{"type": "view", "name": "链接"}]}, 40020),
    ({"button": [{"type": "view", "name": "链接", "url": "javascript:alert(1)"}]}, 40055),
])
def test_over_limit_menu_is_refused_and_old_menu_kept(wx: WeChatClient, fake: FakeWeChat,
                                                       menu: dict[str, Any], errcode: int) -> None:
    wx.menu.create(VALID_MENU)

    with pytest.raises(WeChatClientException) as excinfo:
        wx.menu.create(menu)

    assert excinfo.value.errcode == errcode
    assert fake.menu == VALID_MENU


def test_delete_then_get_answers_46003(wx: WeChatClient, fake: FakeWeChat) -> None:
    wx.menu.create(VALID_MENU)
    wx.menu.delete()

    assert wx.menu.get() is None  # wechatpy turns 46003 "menu no exist" into None
    assert fake.calls("menu/get")[-1].errcode == 46003
    assert fake.menu is None
