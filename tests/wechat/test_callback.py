"""The callback over real HTTP: signatures, both modes, hostile input, and one effect per delivery."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from miniservice import state
from miniservice.audit.models import AuditEvent
from miniservice.devtools.simulator import build_delivery, click_xml, text_xml
from miniservice.wechat.deliveries import FAILURE_REPLY
from miniservice.wechat.models import Follower, InboundDelivery, TapCount


def _count(db: Any, model: Any) -> int:
    with db.reading() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_plain_click_on_help_gets_the_help_text_over_http(simulator: Any) -> None:
    reply = simulator.click("o_plain_user", "HELP")
    assert reply.status == 200 and not reply.encrypted
    assert "退订提醒" in reply.content


def test_encrypted_click_gets_an_encrypted_reply_over_http(aes_simulator: Any) -> None:
    reply = aes_simulator.click("o_aes_user", "CHANNELS")
    assert reply.status == 200 and reply.encrypted
    assert "12393" in reply.content


def test_subscribe_welcomes_with_the_menu_explained_and_records_the_follower(simulator: Any, db: Any) -> None:
    reply = simulator.subscribe("o_new_follower")
    assert "身份绑定" in reply.content and "补缴测算" in reply.content
    with db.reading() as session:
        follower = session.execute(select(Follower).where(Follower.openid == "o_new_follower")).scalar_one()
    assert follower.subscribed


def test_unsubscribe_marks_the_follower_and_answers_success(simulator: Any, db: Any) -> None:
    simulator.subscribe("o_leaver")
    reply = simulator.unsubscribe("o_leaver")
    assert reply.raw == "success"
    with db.reading() as session:
        follower = session.execute(select(Follower).where(Follower.openid == "o_leaver")).scalar_one()
    assert not follower.subscribed and follower.unsubscribed_at is not None


def test_typed_keyword_reaches_the_same_handler_as_the_menu(simulator: Any) -> None:
    assert simulator.text("o_typist", "帮助").content == simulator.click("o_typist", "HELP").content


def test_unknown_text_gets_a_short_help_and_unknown_events_get_success(simulator: Any) -> None:
    assert "关键词" in simulator.text("o_chatty", "你好呀").content
    location = simulator.send_xml(
        text_xml(simulator.account, "o_chatty", "x").replace("<MsgType><![CDATA[text]]>", "<MsgType><![CDATA[image]]>")
    )
    assert location.raw == "success"


def _flush_stamps(app: Any, db: Any) -> int:
    """What a worker writes once a second: the followers seen and the read-only taps counted."""
    return app.extensions["miniservice.seen"].flush(db)


def test_view_event_is_counted_without_reply_or_row(app: Any, simulator: Any, db: Any) -> None:
    reply = simulator.view("o_viewer", "http://127.0.0.1/h5/records")
    assert reply.raw == "success"
    assert _flush_stamps(app, db) == 1
    with db.reading() as session:
        assert session.execute(select(TapCount.taps, TapCount.failed)).all() == [(1, 0)]
    assert _count(db, InboundDelivery) == 0


def test_every_tap_stamps_when_the_follower_was_last_seen(app: Any, simulator: Any, db: Any) -> None:
    """``last_seen_at`` decides whether a customer-service message may still be sent (48 h); read-only
    taps stamp it in the worker's next batch (a second at most)."""

    def last_seen() -> Any:
        _flush_stamps(app, db)
        with db.reading() as session:
            return session.execute(select(Follower.last_seen_at).where(Follower.openid == "o_seen")).scalar_one()

    simulator.click("o_seen", "HELP")
    first = last_seen()
    simulator.click("o_seen", "CHANNELS")
    assert first is not None and last_seen() > first
    assert _count(db, Follower) == 1


def test_read_only_taps_are_written_once_a_second_not_once_a_tap(app: Any, simulator: Any, db: Any) -> None:
    app.extensions["miniservice.seen"].FLUSH_SECONDS = 3600
    for openid in ("o_batch_1", "o_batch_2", "o_batch_1"):
        simulator.click(openid, "HELP")
    assert _count(db, Follower) == 0
    assert _flush_stamps(app, db) == 2
    with db.reading() as session:
        assert session.execute(select(TapCount.taps)).scalars().all() == [3]
    assert _count(db, Follower) == 2


def test_duplicate_read_only_click_from_three_threads_gets_one_reply_and_writes_no_row(
        app: Any, simulator: Any, db: Any) -> None:
    xml = click_xml(simulator.account, "o_retried", "HELP")
    replies = simulator.duplicate(xml, times=3, threads=3)
    assert all(reply.status == 200 for reply in replies)
    assert len({reply.content for reply in replies}) == 1
    assert _count(db, InboundDelivery) == 0
    _flush_stamps(app, db)
    assert _count(db, Follower) == 1


def test_duplicate_taps_on_a_button_that_writes_have_one_effect_and_one_reply(simulator: Any, db: Any) -> None:
    xml = click_xml(simulator.account, "o_retried_off", "REMINDERS_OFF")
    replies = simulator.duplicate(xml, times=3, threads=3)
    assert all(reply.status == 200 for reply in replies)
    assert len({reply.content for reply in replies}) == 1
    with db.reading() as session:
        audits = session.execute(select(AuditEvent.action).where(AuditEvent.actor == "wechat:o_retried_off")).all()
    assert (_count(db, InboundDelivery), len(audits)) == (1, 1)


def test_duplicate_encrypted_text_with_fresh_envelopes_is_handled_once(aes_simulator: Any, db: Any) -> None:
    xml = text_xml(aes_simulator.account, "o_retried_aes", "退订提醒", msg_id=987654321)
    replies = aes_simulator.duplicate(xml, times=4, threads=4)
    assert {reply.content for reply in replies} == {replies[0].content}
    with db.reading() as session:
        keys = session.execute(select(InboundDelivery.dedupe_key)).scalars().all()
        audits = session.execute(select(AuditEvent.id).where(AuditEvent.actor == "wechat:o_retried_aes")).all()
    assert keys == ["msg:o_retried_aes:987654321"]
    assert len(audits) == 1


@pytest.mark.parametrize("error", [RuntimeError("template store unavailable"),
                                   IntegrityError("INSERT …", {}, Exception("a unique key of the handler's own"))])
def test_a_handler_that_fails_leaves_no_effect_and_its_retry_gets_the_same_polite_reply(
        simulator: Any, db: Any, monkeypatch: Any, error: Exception) -> None:
    """退订提醒 writes the follower and an audit row, then fails: both roll back, the delivery is kept
    as failed with the 12393 reply, and WeChat's retry gets that reply without running the handler."""
    simulator.click("o_unlucky", "HELP")

    def broken(*_: Any, **__: Any) -> str:
        raise error

    monkeypatch.setattr("miniservice.reminders.wechat_handlers.text", broken)
    xml = click_xml(simulator.account, "o_unlucky", "REMINDERS_OFF")
    first, retry = simulator.send_xml(xml), simulator.send_xml(xml)
    assert first.content == retry.content == FAILURE_REPLY
    with db.reading() as session:
        enabled = session.execute(select(Follower.reminders_enabled).where(Follower.openid == "o_unlucky")).scalar_one()
        audits = session.execute(select(AuditEvent.id).where(AuditEvent.actor == "wechat:o_unlucky")).all()
        failed = session.execute(select(InboundDelivery.handler, InboundDelivery.reply)
                                 .where(InboundDelivery.failed)).all()
    assert (enabled, audits) == (True, [])
    assert failed == [("click:REMINDERS_OFF", FAILURE_REPLY)]


def test_a_read_only_handler_that_fails_answers_the_polite_reply_and_is_counted_as_failed(
        app: Any, simulator: Any, db: Any, monkeypatch: Any) -> None:
    def broken(_: Any) -> str:
        raise RuntimeError("rules store unavailable")

    router = state.router(app)
    monkeypatch.setitem(router.clicks, "CHANNELS", replace(router.clicks["CHANNELS"], handler=broken))
    assert simulator.click("o_unlucky_reader", "CHANNELS").content == FAILURE_REPLY
    _flush_stamps(app, db)
    with db.reading() as session:
        assert session.execute(select(TapCount.taps, TapCount.failed)).all() == [(1, 1)]
    assert _count(db, InboundDelivery) == 0


def test_bad_signature_is_403_and_nothing_is_stored(live_server: Any, simulator: Any, db: Any) -> None:
    delivery = build_delivery(simulator.account, click_xml(simulator.account, "o_forger", "HELP"))
    params = dict(delivery.params, signature="0" * 40)
    response = requests.post(live_server.url + "/wechat/callback", params=params, data=delivery.body, timeout=5)
    assert response.status_code == 403
    assert _count(db, InboundDelivery) == 0


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o_evil</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o_evil</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>"""


def _post_signed(live_server: Any, simulator: Any, body: bytes | str) -> requests.Response:
    params = build_delivery(simulator.account, click_xml(simulator.account, "o", "HELP")).params
    return requests.post(live_server.url + "/wechat/callback", params=params, data=body, timeout=5)


def test_billion_laughs_is_refused_and_records_nothing(live_server: Any, simulator: Any, db: Any) -> None:
    response = _post_signed(live_server, simulator, BILLION_LAUGHS)
    assert response.status_code == 400
    assert _count(db, InboundDelivery) == 0


def test_external_entity_is_refused(live_server: Any, simulator: Any) -> None:
    response = _post_signed(live_server, simulator, EXTERNAL_ENTITY)
    assert response.status_code == 400
    assert "root:" not in response.text


def test_oversized_body_is_413(live_server: Any, simulator: Any) -> None:
    response = _post_signed(live_server, simulator, "<xml>" + "a" * 200_000 + "</xml>")
    assert response.status_code == 413


def test_malformed_xml_and_missing_fields_are_400_not_500(live_server: Any, simulator: Any) -> None:
    for body in ("<xml><unclosed>", "not xml at all", "<xml><MsgType>text</MsgType></xml>", ""):
        assert _post_signed(live_server, simulator, body).status_code == 400, body


def test_encrypted_body_that_does_not_decrypt_is_400(live_server: Any, aes_simulator: Any) -> None:
    delivery = build_delivery(aes_simulator.account, click_xml(aes_simulator.account, "o", "HELP"))
    body = delivery.body.replace(delivery.body[60:80], "A" * 20)
    response = requests.post(live_server.url + "/wechat/callback", params=delivery.params, data=body, timeout=5)
    assert response.status_code in (400, 403)
