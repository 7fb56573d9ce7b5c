"""OAuth for H5 pages: simulated authorisation redirect, one-time code exchange."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from wechatpy.exceptions import WeChatOAuthException
from wechatpy.oauth import WeChatOAuth

from miniservice.devtools.clock import ManualClock
from miniservice.devtools.fake_wechat import OPENID_COOKIE, FakeWeChat
from miniservice.wechat.wiring import make_oauth

from .conftest import APPID, FOLLOWER, SECRET

REDIRECT = "https://h5.example.gov.cn/h5/records?tab=gaps"


def _authorize(oauth: WeChatOAuth, **kwargs: object) -> requests.Response:
    return requests.get(oauth.authorize_url, allow_redirects=False, timeout=5, **kwargs)  # type: ignore[arg-type]


def _code(response: requests.Response) -> dict[str, list[str]]:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://h5.example.gov.cn/h5/records"
    return parse_qs(location.query)


@pytest.fixture
def oauth(fake: FakeWeChat) -> WeChatOAuth:
    return make_oauth(fake.base_url, APPID, SECRET, REDIRECT, state="s-7f3a")


def test_authorize_url_points_at_fake(fake: FakeWeChat, oauth: WeChatOAuth) -> None:
    assert oauth.authorize_url.startswith(fake.base_url + "connect/oauth2/authorize?appid=" + APPID)
    assert oauth.authorize_url.endswith("&state=s-7f3a#wechat_redirect")


def test_authorize_redirects_and_code_exchanges_once(oauth: WeChatOAuth) -> None:
    query = _code(_authorize(oauth, params={"openid": FOLLOWER}))
    assert query["tab"] == ["gaps"]  # redirect_uri's own query is kept
    assert query["state"] == ["s-7f3a"]

    result = oauth.fetch_access_token(query["code"][0])
    assert result["openid"] == FOLLOWER
    assert result["scope"] == "snsapi_base"
    assert set(result) >= {"access_token", "expires_in", "refresh_token", "openid", "scope"}

    with pytest.raises(WeChatOAuthException) as excinfo:
        oauth.fetch_access_token(query["code"][0])
    assert excinfo.value.errcode == 40163  # WeChat: "code been used"


def test_openid_cookie_identifies_the_wechat_user(oauth: WeChatOAuth) -> None:
    query = _code(_authorize(oauth, cookies={OPENID_COOKIE: "oCookieUser"}))
    assert oauth.fetch_access_token(query["code"][0])["openid"] == "oCookieUser"


def test_code_expires_after_five_minutes(oauth: WeChatOAuth, clock: ManualClock) -> None:
    code = _code(_authorize(oauth, params={"openid": FOLLOWER}))["code"][0]
    clock.advance(301)
    with pytest.raises(WeChatOAuthException) as excinfo:
        oauth.fetch_access_token(code)
    assert excinfo.value.errcode == 40029


def test_unknown_code_and_wrong_secret(fake: FakeWeChat, oauth: WeChatOAuth) -> None:
    with pytest.raises(WeChatOAuthException) as unknown:
        oauth.fetch_access_token("nonsense")
    code = _code(_authorize(oauth, params={"openid": FOLLOWER}))["code"][0]
    with pytest.raises(WeChatOAuthException) as wrong_secret:
        make_oauth(fake.base_url, APPID, "not-the-secret", REDIRECT).fetch_access_token(code)
    assert (unknown.value.errcode, wrong_secret.value.errcode) == (40029, 40125)


def test_without_openid_the_page_asks_for_one(oauth: WeChatOAuth) -> None:
    response = _authorize(oauth)
    assert response.status_code == 400
    assert 'name="openid"' in response.text
    assert 'name="state" value="s-7f3a"' in response.text


@pytest.mark.parametrize(("appid", "scope"), [("wxOther", "snsapi_base"), (APPID, "snsapi_login")])
def test_bad_authorize_parameters_show_an_error_page(fake: FakeWeChat, appid: str, scope: str) -> None:
    oauth = make_oauth(fake.base_url, appid, SECRET, REDIRECT, scope=scope)
    response = _authorize(oauth, params={"openid": FOLLOWER})
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_redirect_domain_must_be_configured(clock: ManualClock) -> None:
    with FakeWeChat(APPID, SECRET, oauth_domains={"h5.example.gov.cn"}, clock=clock) as fake:
        ok = make_oauth(fake.base_url, APPID, SECRET, REDIRECT)
        evil = make_oauth(fake.base_url, APPID, SECRET, "https://evil.example.com/steal")
        assert _authorize(ok, params={"openid": FOLLOWER}).status_code == 302
        assert _authorize(evil, params={"openid": FOLLOWER}).status_code == 400
        assert fake.calls("oauth2/authorize")[-1].errcode == 10003
