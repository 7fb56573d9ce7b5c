"""The binding and records pages behind WeChat OAuth: the happy path, a forged state, a spent code."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from miniservice.devtools.fake_wechat import FakeWeChat
from tests.citizens.conftest import page_text


def authorize(client: Any, page: str, openid: str) -> str:
    """Open ``page`` without a session and let the fake WeChat authorise ``openid``: our callback URL."""
    first = client.get(page)
    assert first.status_code == 302 and "connect/oauth2/authorize" in first.headers["Location"]
    assert "snsapi_base" in first.headers["Location"]
    answer = requests.get(first.headers["Location"], params={"openid": openid}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    target = urlsplit(answer.headers["Location"])
    return f"{target.path}?{target.query}"


def test_oauth_brings_the_visitor_back_to_the_page_they_asked_for(client: Any, fake_wechat: FakeWeChat) -> None:
    callback = authorize(client, "/h5/bind", "o-visitor")
    response = client.get(callback)
    assert response.status_code == 302 and response.headers["Location"] == "/h5/bind"
    assert "再选一项验证" in page_text(client.get("/h5/bind"))
    assert len(fake_wechat.calls("sns/oauth2/access_token")) == 1


def test_a_forged_state_is_refused_with_a_chinese_message(client: Any, fake_wechat: FakeWeChat) -> None:
    callback = authorize(client, "/h5/records", "o-visitor")
    forged = callback.replace("state=", "state=forged")
    response = client.get(forged)
    assert response.status_code == 400 and "页面已失效，请从公众号菜单重新进入" in page_text(response)
    assert fake_wechat.calls("sns/oauth2/access_token") == []  # the code is never even exchanged
    assert client.get("/h5/records").status_code == 302  # still not signed in


def test_a_spent_or_expired_code_is_refused_with_a_chinese_message(client: Any, fake_wechat: FakeWeChat) -> None:
    callback = authorize(client, "/h5/records", "o-visitor")
    assert client.get(callback).status_code == 302
    client.delete_cookie("session")  # a new visit replays the same code with a fresh state
    replay = authorize(client, "/h5/records", "o-visitor")
    code = urlsplit(callback).query.split("code=")[1].split("&")[0]
    fresh_code = urlsplit(replay).query.split("code=")[1].split("&")[0]
    response = client.get(replay.replace(fresh_code, code))
    assert response.status_code == 400 and "授权已过期，请从公众号菜单重新进入" in page_text(response)
    assert fake_wechat.calls("sns/oauth2/access_token")[-1].errcode == 40163
