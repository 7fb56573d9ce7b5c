"""The shared access token: one refresher at a time, one retry on 40001/42001, never a storm."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest
from wechatpy.exceptions import WeChatClientException

from miniservice.wechat.client import build_client


def _clients(app: Any, count: int, redis_url: str | None = None) -> list[Any]:
    """``count`` clients as separate worker processes would build them (each its own HTTP session)."""
    settings = app.extensions["miniservice.settings"]
    if redis_url:
        settings = replace(settings, redis_url=redis_url)
    return [build_client(settings, app.extensions["miniservice.db"]) for _ in range(count)]


def _token_fetches(fake: Any) -> int:
    return len(fake.calls("cgi-bin/token"))


def test_workers_sharing_the_database_fetch_the_token_once(app: Any, fake_wechat: Any) -> None:
    clients = _clients(app, 4)
    for client in clients:
        client.menu.get()
    assert _token_fetches(fake_wechat) == 1


def test_concurrent_first_calls_from_eight_threads_fetch_one_token(app: Any, fake_wechat: Any) -> None:
    clients = _clients(app, 8)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def call(client: Any) -> None:
        barrier.wait()
        try:
            client.menu.get()
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert _token_fetches(fake_wechat) == 1


def test_an_invalidated_token_is_refreshed_once_and_the_call_retried(app: Any, fake_wechat: Any) -> None:
    fake_wechat.reset(state=True)  # no menu pushed by an earlier test of this worker: menu/get answers 46003
    client = _clients(app, 1)[0]
    client.menu.get()
    fake_wechat.inject("cgi-bin/menu/get", 40001, times=1)
    client.menu.get()
    attempts = fake_wechat.calls("cgi-bin/menu/get")[1:]
    assert [call.errcode for call in attempts] == [40001, 46003]  # rejected, then answered: "no menu yet"
    assert attempts[0].query["access_token"] != attempts[1].query["access_token"]
    assert _token_fetches(fake_wechat) == 2


def test_an_expired_token_42001_is_refreshed_too(app: Any, fake_wechat: Any) -> None:
    client = _clients(app, 1)[0]
    fake_wechat.inject("cgi-bin/menu/get", 42001, times=1)
    client.menu.get()
    assert _token_fetches(fake_wechat) == 2


def test_a_token_rejected_twice_surfaces_instead_of_looping(app: Any, fake_wechat: Any) -> None:
    client = _clients(app, 1)[0]
    fake_wechat.inject("cgi-bin/menu/get", 40001, times=5)
    with pytest.raises(WeChatClientException) as error:
        client.menu.get()
    assert error.value.errcode == 40001
    assert _token_fetches(fake_wechat) == 2


def test_a_worker_whose_token_was_replaced_by_another_does_not_fetch_again(app: Any, fake_wechat: Any) -> None:
    first, second = _clients(app, 2)
    first.menu.get()
    first.store.refresh(first._fetch, stale=first.store.current())  # another worker rotated it
    second.menu.get()
    assert _token_fetches(fake_wechat) == 2


def test_workers_sharing_redis_fetch_the_token_once(app: Any, fake_wechat: Any, redis_url: str) -> None:
    clients = _clients(app, 4, redis_url)
    for client in clients:
        client.menu.get()
    fake_wechat.inject("cgi-bin/menu/get", 40001, times=1)
    clients[0].menu.get()
    clients[1].menu.get()
    assert _token_fetches(fake_wechat) == 2
