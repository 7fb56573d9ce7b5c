"""Finding 1 and 2 of the attacker's review: a signed callback URL from an access log must not let
anyone speak as a citizen, and no openid may collect another's stored reply."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import time_machine
from sqlalchemy import func, select

from miniservice.config import ConfigError, load_settings
from miniservice.devtools.simulator import CallbackAccount, build_delivery, click_xml, decode_reply, text_xml
from miniservice.reminders.scheduler import housekeeping_job
from miniservice.wechat.models import CallbackNonce, Follower, InboundDelivery
from tests.conftest import TEST_AES_KEY, TEST_APP_ID, TEST_TOKEN

PLAIN = CallbackAccount(token=TEST_TOKEN, app_id=TEST_APP_ID)
SAFE = CallbackAccount(token=TEST_TOKEN, app_id=TEST_APP_ID, aes_key=TEST_AES_KEY)


def _count(db: Any, model: Any) -> int:
    with db.reading() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _reminders_enabled(db: Any, openid: str) -> bool:
    with db.reading() as session:
        return session.execute(select(Follower.reminders_enabled).where(Follower.openid == openid)).scalar_one()


def _post(live_server: Any, params: dict[str, str], body: str) -> requests.Response:
    return requests.post(live_server.url + "/wechat/callback", params=params, data=body.encode(), timeout=5)


class TestSafeModeAcceptsEncryptedBodiesOnly:
    @pytest.fixture
    def app_overrides(self) -> dict[str, Any]:
        return {"wechat_message_mode": ""}  # as deployed: an EncodingAESKey is set, no mode named

    def test_a_plain_body_under_a_logged_signature_is_refused_and_changes_nothing(
            self, live_server: Any, db: Any) -> None:
        logged = build_delivery(SAFE, click_xml(SAFE, "demo_citizen_8", "REMINDERS_ON"))
        assert _post(live_server, logged.params, logged.body).status_code == 200
        assert _reminders_enabled(db, "demo_citizen_8")

        forged = build_delivery(PLAIN, click_xml(PLAIN, "demo_citizen_8", "REMINDERS_OFF"))
        response = _post(live_server, forged.params, forged.body)
        assert response.status_code == 403
        assert _reminders_enabled(db, "demo_citizen_8")
        assert _count(db, InboundDelivery) == 1

    def test_an_encrypted_body_cannot_be_swapped_under_a_logged_url(self, live_server: Any, db: Any) -> None:
        """msg_signature covers the ciphertext: no nonce memory is needed for encrypted bodies."""
        logged = build_delivery(SAFE, click_xml(SAFE, "o_swap", "REMINDERS_ON"))
        assert _post(live_server, logged.params, logged.body).status_code == 200
        other = build_delivery(SAFE, click_xml(SAFE, "o_swap", "REMINDERS_OFF"))
        assert _post(live_server, logged.params, other.body).status_code == 403
        assert _post(live_server, logged.params, logged.body).status_code == 200  # a retry: no second effect
        assert _reminders_enabled(db, "o_swap")
        assert _count(db, InboundDelivery) == 1

    def test_encrypted_deliveries_are_still_answered(self, live_server: Any) -> None:
        delivery = build_delivery(SAFE, click_xml(SAFE, "o_safe", "HELP"))
        response = _post(live_server, delivery.params, delivery.body)
        reply = decode_reply(SAFE, response.status_code, response.text)
        assert reply.encrypted and "退订提醒" in reply.content


def test_a_logged_url_replayed_with_another_body_is_refused(live_server: Any, db: Any) -> None:
    """Compatible mode accepts plain bodies, so the URL's one-body rule is what stops the forgery."""
    original = build_delivery(PLAIN, click_xml(PLAIN, "o_victim", "REMINDERS_ON"))
    assert _post(live_server, original.params, original.body).status_code == 200

    forged = click_xml(PLAIN, "o_victim", "REMINDERS_OFF")
    assert _post(live_server, original.params, forged).status_code == 403
    assert _reminders_enabled(db, "o_victim")
    assert _count(db, InboundDelivery) == 1


def test_wechats_retry_with_the_same_url_and_body_gets_the_same_reply(live_server: Any, db: Any) -> None:
    delivery = build_delivery(PLAIN, click_xml(PLAIN, "o_retry", "REMINDERS_OFF"))
    first, retry = (_post(live_server, delivery.params, delivery.body) for _ in range(2))
    assert first.status_code == retry.status_code == 200
    assert first.text == retry.text
    assert _count(db, InboundDelivery) == 1


@pytest.mark.parametrize("skew", [-301, 301, -100_000])
def test_a_timestamp_outside_five_minutes_is_refused(live_server: Any, db: Any, skew: int) -> None:
    import time

    delivery = build_delivery(PLAIN, click_xml(PLAIN, "o_late", "HELP"), timestamp=str(int(time.time()) + skew))
    assert _post(live_server, delivery.params, delivery.body).status_code == 403
    assert _count(db, InboundDelivery) == 0


def test_a_timestamp_a_little_off_is_accepted(live_server: Any) -> None:
    import time

    delivery = build_delivery(PLAIN, click_xml(PLAIN, "o_drift", "HELP"), timestamp=str(int(time.time()) - 200))
    assert _post(live_server, delivery.params, delivery.body).status_code == 200


def test_another_openid_carrying_a_victims_msgid_gets_its_own_reply(live_server: Any, db: Any) -> None:
    victim = build_delivery(PLAIN, text_xml(PLAIN, "o_victim_text", "开启提醒", msg_id=424242))
    attacker = build_delivery(PLAIN, text_xml(PLAIN, "o_attacker", "退订提醒", msg_id=424242))
    victims = decode_reply(PLAIN, *_status_text(_post(live_server, victim.params, victim.body)))
    attackers = decode_reply(PLAIN, *_status_text(_post(live_server, attacker.params, attacker.body)))
    assert attackers.content != victims.content
    assert victims.content and attackers.content
    with db.reading() as session:
        keys = sorted(session.execute(select(InboundDelivery.dedupe_key)).scalars())
    assert keys == ["msg:o_attacker:424242", "msg:o_victim_text:424242"]


def _status_text(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.text


def test_a_stored_reply_serves_retries_for_a_minute_only_and_is_then_blanked(app: Any, client: Any, db: Any) -> None:
    xml = click_xml(PLAIN, "o_balance", "REMINDERS_ON")
    with time_machine.travel("2026-12-01 10:00:00+08:00", tick=False):
        first = client.post("/wechat/callback", query_string=build_delivery(PLAIN, xml).params, data=xml)
    with time_machine.travel("2026-12-01 10:00:30+08:00", tick=False):
        retry = client.post("/wechat/callback", query_string=build_delivery(PLAIN, xml).params, data=xml)
    with time_machine.travel("2026-12-01 10:02:00+08:00", tick=False):
        late = client.post("/wechat/callback", query_string=build_delivery(PLAIN, xml).params, data=xml)
        housekeeping_app_job(app)
    first_reply, retry_reply = (decode_reply(PLAIN, r.status_code, r.get_data(as_text=True)) for r in (first, retry))
    assert first_reply.content == retry_reply.content and first_reply.content
    assert late.get_data(as_text=True) == "success"
    with db.reading() as session:
        assert session.execute(select(InboundDelivery.reply)).scalars().all() == [""]


def housekeeping_app_job(app: Any) -> None:
    from miniservice.reminders import scheduler

    scheduler._app = app
    housekeeping_job()


def test_nonces_older_than_ten_minutes_are_forgotten_by_housekeeping(app: Any, client: Any, db: Any) -> None:
    xml = click_xml(PLAIN, "o_old", "HELP")
    with time_machine.travel("2026-12-01 10:00:00+08:00", tick=False):
        client.post("/wechat/callback", query_string=build_delivery(PLAIN, xml).params, data=xml)
    assert _count(db, CallbackNonce) == 1
    with time_machine.travel("2026-12-01 10:11:00+08:00", tick=False):
        housekeeping_app_job(app)
    assert _count(db, CallbackNonce) == 0


class TestNoncesInRedis:
    @pytest.fixture
    def app_overrides(self, redis_url: str) -> dict[str, Any]:
        return {"redis_url": redis_url}

    def test_the_one_body_rule_holds_with_redis_and_the_database_is_not_written(self, live_server: Any,
                                                                                 db: Any) -> None:
        original = build_delivery(PLAIN, click_xml(PLAIN, "o_redis", "HELP"))
        assert _post(live_server, original.params, original.body).status_code == 200
        assert _post(live_server, original.params, click_xml(PLAIN, "o_redis", "REMINDERS_OFF")).status_code == 403
        assert _count(db, CallbackNonce) == 0


class TestNoncesWhenRedisIsDown:
    @pytest.fixture
    def app_overrides(self) -> dict[str, Any]:
        return {"redis_url": "redis://127.0.0.1:1/0"}

    def test_the_database_remembers_them_instead(self, live_server: Any, db: Any) -> None:
        original = build_delivery(PLAIN, click_xml(PLAIN, "o_no_redis", "HELP"))
        assert _post(live_server, original.params, original.body).status_code == 200
        assert _post(live_server, original.params, click_xml(PLAIN, "o_no_redis", "REMINDERS_OFF")).status_code == 403
        assert _count(db, CallbackNonce) == 1


def test_message_mode_is_checked_at_start_up(tmp_path: Any) -> None:
    base = {"MINISERVICE_INSTANCE_DIR": str(tmp_path), "MINISERVICE_ENV": "test"}
    assert load_settings(base | {"WECHAT_AES_KEY": TEST_AES_KEY}).message_mode == "safe"
    assert load_settings(base | {"WECHAT_AES_KEY": ""}).message_mode in ("safe", "plain")
    with pytest.raises(ConfigError, match="WECHAT_MESSAGE_MODE"):
        load_settings(base | {"WECHAT_MESSAGE_MODE": "open"})
