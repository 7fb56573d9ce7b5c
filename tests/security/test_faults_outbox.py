"""Finding 5: WeChat's API is never on a request's path. With the API answering in 4 s (just under the
client's 5-second timeout, so the worker still gets its answers), unbinding, a family payment and a
WeChat callback each answer without waiting for it; the outbox worker sends their messages
afterwards, each exactly once.

They answer in 0.05–0.35 s on the shared 2-core test machine; the bound is half of one slow call, so
that a loaded machine does not fail the test while any wait on WeChat still does."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from flask import Flask

from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.devtools.simulator import Simulator
from tests.conftest import send_outbox
from tests.family.conftest import (  # noqa: F401 - fixtures of the family package, used here
    Family,
    add_relative,
    consent_url,
    csrf,
    family,
    forms,
    frozen_time,
    policies,
    registry,
    rules,
    signed_in,
)

SLOW = 4.0
FAST = SLOW / 2


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def _sent(fake: FakeWeChat) -> Counter[tuple[str, str]]:
    return Counter((m.touser, m.body["text"]["content"]) for m in fake.sent_messages())


def test_requests_answer_fast_while_wechat_is_slow_and_messages_go_out_once(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, aes_simulator: Simulator,  # noqa: F811
) -> None:
    holder = signed_in(app, "o-holder")
    assert add_relative(holder, family.spouse, "spouse").status_code == 200
    spouse = signed_in(app, "o-spouse")
    url = consent_url(app, fake_wechat, "o-spouse")
    assert spouse.post(url, data={"csrf_token": csrf(spouse, url), "accept": "同意"}).status_code == 200
    send_outbox(app)
    before = _sent(fake_wechat)

    fake_wechat.delay("message/custom/send", SLOW, times=None)
    page = holder.get("/h5/family").get_data(as_text=True)
    [form] = [f["fields"] | {"confirmed": "yes"} for f in forms(page, "/h5/family/pay")]
    paid, pay_seconds = _timed(lambda: holder.post("/h5/family/pay", data=form))
    brother = signed_in(app, "o-brother")
    token = csrf(brother, "/h5/bind")
    confirmed = {"csrf_token": token, "confirmed": "yes"}
    unbound, unbind_seconds = _timed(lambda: brother.post("/h5/bind/unbind", data=confirmed))
    assert paid.status_code == 200 and unbound.status_code == 302

    worker = threading.Thread(target=send_outbox, args=(app,))  # sending now, one slow call at a time
    worker.start()
    reply, callback_seconds = _timed(lambda: aes_simulator.text("o-holder", "缴费记录"))
    worker.join(30)
    assert reply.status == 200 and reply.content
    assert max(pay_seconds, unbind_seconds, callback_seconds) < FAST, (pay_seconds, unbind_seconds, callback_seconds)

    send_outbox(app)  # whatever the first run left is due now or never
    new = _sent(fake_wechat) - before
    assert sorted(touser for touser, _ in new.elements()) == ["o-brother", "o-holder", "o-spouse"]
    assert set(new.values()) == {1}
    assert any("已解除身份绑定" in text for _, text in new)
