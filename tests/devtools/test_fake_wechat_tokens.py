"""access_token behaviour of the fake: issue, reject, rotate, expire — as WeChat does."""

from __future__ import annotations

import pytest
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from miniservice.devtools.clock import ManualClock
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.wechat.wiring import make_client

from .conftest import APPID, SECRET


def _errcode(excinfo: pytest.ExceptionInfo[WeChatClientException]) -> int:
    return int(excinfo.value.errcode)


def test_token_fetch_issues_token_with_expiry(fake: FakeWeChat, wx: WeChatClient) -> None:
    result = wx.fetch_access_token()

    assert result["expires_in"] == 7200
    assert len(result["access_token"]) > 100
    [call] = fake.calls("cgi-bin/token")
    assert call.method == "GET"
    assert call.query["appid"] == APPID
    assert call.query["grant_type"] == "client_credential"
    assert call.query["secret"] == "***"  # recorded calls never show the secret
    assert call.errcode == 0


@pytest.mark.parametrize(("appid", "secret", "errcode"), [
    ("wxSomebodyElse", SECRET, 40013),
    (APPID, "wrong-secret", 40125),
    ("", SECRET, 41002),
])
def test_token_fetch_checks_credentials(fake: FakeWeChat, appid: str, secret: str, errcode: int) -> None:
    answer = requests.get(fake.base_url + "cgi-bin/token", timeout=5, params={
        "grant_type": "client_credential", "appid": appid, "secret": secret}).json()

    assert answer["errcode"] == errcode
    assert "rid:" in answer["errmsg"]
    assert "access_token" not in answer


def test_plain_wechatclient_needs_only_api_base_for_calls_but_hardcodes_token_url(fake: FakeWeChat) -> None:
    """Pins wechatpy 1.8.18's behaviour that :mod:`miniservice.wechat.wiring` works around."""
    token = requests.get(fake.base_url + "cgi-bin/token", timeout=5, params={
        "grant_type": "client_credential", "appid": APPID, "secret": SECRET}).json()["access_token"]
    plain = WeChatClient(APPID, SECRET, access_token=token, timeout=5)
    plain.API_BASE_URL = fake.base_url + "cgi-bin/"
    plain.menu.create({"button": [{"type": "click", "name": "医保", "key": "K"}]})
    assert fake.calls("menu/create")[0].errcode == 0

    asked: list[str] = []

    def refuse(url: str, **kwargs: object) -> None:
        asked.append(url)
        raise requests.ConnectionError("no network in tests")

    plain._http.get = refuse  # type: ignore[method-assign]
    with pytest.raises(requests.ConnectionError):
        plain.fetch_access_token()
    assert asked == ["https://api.weixin.qq.com/cgi-bin/token"]


@pytest.mark.parametrize(("token", "errcode"), [(None, 41001), ("not-a-token", 40001)])
def test_missing_or_unknown_token_is_refused(fake: FakeWeChat, token: str | None, errcode: int) -> None:
    params = {"access_token": token} if token else {}
    answer = requests.get(fake.base_url + "cgi-bin/menu/get", params=params, timeout=5).json()

    assert answer["errcode"] == errcode


def test_second_fetch_invalidates_first_token(fake: FakeWeChat) -> None:
    """Two processes each fetching their own token: the first one's calls now fail with 40001."""
    worker_a = make_client(fake.base_url, APPID, SECRET, timeout=5, auto_retry=False)
    worker_b = make_client(fake.base_url, APPID, SECRET, timeout=5, auto_retry=False)
    worker_a.fetch_access_token()
    worker_b.fetch_access_token()

    worker_b.menu.delete()
    with pytest.raises(WeChatClientException) as excinfo:
        worker_a.menu.delete()
    assert _errcode(excinfo) == 40001


def test_old_token_survives_the_overlap_then_dies(clock: ManualClock) -> None:
    with FakeWeChat(APPID, SECRET, token_overlap=300, clock=clock) as fake:
        old = make_client(fake.base_url, APPID, SECRET, timeout=5, auto_retry=False)
        old.fetch_access_token()
        make_client(fake.base_url, APPID, SECRET, timeout=5).fetch_access_token()

        clock.advance(299)
        old.menu.delete()
        clock.advance(2)
        with pytest.raises(WeChatClientException) as excinfo:
            old.menu.delete()
        assert _errcode(excinfo) == 40001


def test_expired_token_answers_42001(fake: FakeWeChat, clock: ManualClock, wx: WeChatClient) -> None:
    wx.fetch_access_token()
    clock.advance(7200)

    with pytest.raises(WeChatClientException) as excinfo:
        wx.menu.delete()
    assert _errcode(excinfo) == 42001


def test_wechatpy_auto_retry_refetches_after_rotation(fake: FakeWeChat) -> None:
    """The storm mechanism: each 40001 makes wechatpy fetch again, which rotates everyone else's token."""
    victim = make_client(fake.base_url, APPID, SECRET, timeout=5)  # auto_retry=True, wechatpy's default
    victim.fetch_access_token()
    make_client(fake.base_url, APPID, SECRET, timeout=5).fetch_access_token()

    victim.menu.delete()

    assert [(c.path, c.errcode) for c in fake.calls()] == [
        ("cgi-bin/token", 0), ("cgi-bin/token", 0),
        ("cgi-bin/menu/delete", 40001), ("cgi-bin/token", 0), ("cgi-bin/menu/delete", 0)]


def test_stable_token_is_shared_and_not_rotated_by_token_fetches(fake: FakeWeChat, clock: ManualClock) -> None:
    url = fake.base_url + "cgi-bin/stable_token"
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    first = requests.post(url, json=body, timeout=5).json()
    clock.advance(100)
    second = requests.post(url, json=body, timeout=5).json()
    make_client(fake.base_url, APPID, SECRET, timeout=5).fetch_access_token()  # rotates only its own pool

    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] == 7100
    stable = make_client(fake.base_url, APPID, SECRET, timeout=5, auto_retry=False,
                         access_token=first["access_token"])
    stable.menu.delete()


def test_stable_token_force_refresh_rotates_and_is_throttled(fake: FakeWeChat, clock: ManualClock) -> None:
    url = fake.base_url + "cgi-bin/stable_token"
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    first = requests.post(url, json=body, timeout=5).json()["access_token"]
    forced = requests.post(url, json=body | {"force_refresh": True}, timeout=5).json()["access_token"]
    too_soon = requests.post(url, json=body | {"force_refresh": True}, timeout=5).json()

    assert forced != first
    assert too_soon["errcode"] == 45011
    menu_get = fake.base_url + "cgi-bin/menu/delete"
    assert requests.get(menu_get, params={"access_token": first}, timeout=5).json()["errcode"] == 40001
    assert requests.get(menu_get, params={"access_token": forced}, timeout=5).json()["errcode"] == 0


def test_wrong_http_method_is_refused_like_wechat(fake: FakeWeChat) -> None:
    assert requests.post(fake.base_url + "cgi-bin/token", timeout=5).json()["errcode"] == 43001
    token = make_client(fake.base_url, APPID, SECRET).fetch_access_token()["access_token"]
    answer = requests.get(fake.base_url + "cgi-bin/menu/create", params={"access_token": token}, timeout=5)
    assert answer.json()["errcode"] == 43002


def test_unimplemented_path_is_a_loud_404(fake: FakeWeChat) -> None:
    response = requests.get(fake.base_url + "cgi-bin/media/get", timeout=5)
    assert response.status_code == 404
    assert fake.calls("media/get")[0].errcode is None
