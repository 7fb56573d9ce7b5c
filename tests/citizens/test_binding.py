"""Binding on /h5/bind: three factors must match, guesses are limited, one WeChat user ↔ one person."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from miniservice.audit.models import AuditEvent
from miniservice.citizens.binding import BindingRefused, BindRequest, bind, unbind
from miniservice.citizens.identity import mask_id_number
from miniservice.citizens.importing import ImportReport
from miniservice.citizens.models import Binding, BindingAttempt, BindingEvent
from miniservice.citizens.privacy import PRIVACY_VERSION
from miniservice.clock import now_utc
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from tests.citizens.conftest import (
    ALICE,
    BOB,
    bind_form,
    csrf_token,
    five_wrong_guesses_then_rows_lost,
    page_text,
    sign_in,
)
from tests.conftest import send_outbox

ALICE_BY_CARD = {"name": ALICE["name"], "id_number": ALICE["id_number"], "factor": "card",
                 "factor_value": ALICE["card"]}
WRONG_CARD = ALICE_BY_CARD | {"factor_value": "SZ9999999999"}


def count(db: Database, model: Any, **where: Any) -> int:
    with db.reading() as session:
        return session.execute(select(func.count()).select_from(model).filter_by(**where)).scalar_one()


def bound_openids(db: Database) -> list[str]:
    with db.reading() as session:
        return list(session.execute(select(Binding.openid).order_by(Binding.openid)).scalars())


def test_matching_name_id_and_card_binds_and_sends_a_confirmation(
    app: Flask, client: Any, db: Database, registry: ImportReport, fake_wechat: FakeWeChat
) -> None:
    sign_in(client, "o-alice")
    response = bind_form(client, **ALICE_BY_CARD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/h5/bind?done=bound")
    page = page_text(client.get(response.headers["Location"]))
    assert "绑定成功" in page and "林*雨" in page and mask_id_number(ALICE["id_number"]) in page
    assert ALICE["id_number"] not in page and "解除绑定" in page
    assert bound_openids(db) == ["o-alice"] and count(db, BindingEvent, action="bind") == 1
    assert fake_wechat.sent_messages("o-alice") == []  # the request did not wait on WeChat
    send_outbox(app)
    [message] = fake_wechat.sent_messages("o-alice")
    assert message.kind == "custom" and "身份绑定成功：林*雨" in message.body["text"]["content"]
    assert ALICE["id_number"] not in message.body["text"]["content"]


def test_the_phone_number_on_file_is_the_other_accepted_factor(client: Any, db: Database,
                                                                registry: ImportReport) -> None:
    sign_in(client, "o-bob")
    response = bind_form(client, name=f" {BOB['name']} ", id_number=BOB["id_number"].lower(), factor="phone",
                         factor_value="137 8765 4321")
    assert response.status_code == 302
    assert bound_openids(db) == ["o-bob"]


def test_binding_is_audited_with_masked_values_only(client: Any, db: Database, registry: ImportReport) -> None:
    sign_in(client, "o-alice")
    bind_form(client, **ALICE_BY_CARD)
    with db.reading() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "binding.bind")).scalar_one()
    assert event.details == {"id_number": mask_id_number(ALICE["id_number"]), "name": "林*雨", "factor": "card",
                             "privacy_version": PRIVACY_VERSION}


@pytest.mark.parametrize("wrong", [
    WRONG_CARD,
    ALICE_BY_CARD | {"name": "林小云"},
    ALICE_BY_CARD | {"factor": "phone", "factor_value": "13900000000"},
    ALICE_BY_CARD | {"id_number": BOB["id_number"]},
], ids=["card", "name", "phone", "someone-elses-id"])
def test_a_mismatch_is_refused_without_saying_which_factor_was_wrong(
    client: Any, db: Database, registry: ImportReport, wrong: dict[str, str]
) -> None:
    sign_in(client, "o-mallory")
    response = bind_form(client, **wrong)
    assert response.status_code == 400
    text = page_text(response)
    assert "与医保登记信息不一致" in text and "还可尝试 4 次" in text
    assert bound_openids(db) == [] and count(db, BindingAttempt, reason="mismatch") == 1


def test_an_id_number_not_in_the_registry_gets_the_same_answer_as_a_mismatch(
    client: Any, db: Database, registry: ImportReport
) -> None:
    sign_in(client, "o-mallory")
    response = bind_form(client, **ALICE_BY_CARD | {"id_number": "11010519491231002X"})
    assert response.status_code == 400 and "与医保登记信息不一致" in page_text(response)


def test_an_invalid_id_number_is_explained_and_not_counted_as_a_guess(
    client: Any, db: Database, registry: ImportReport
) -> None:
    sign_in(client, "o-alice")
    broken = ALICE["id_number"][:17] + ("1" if ALICE["id_number"][17] != "1" else "2")
    response = bind_form(client, **ALICE_BY_CARD | {"id_number": broken})
    assert response.status_code == 400 and "身份证号码校验位不正确" in page_text(response)
    assert count(db, BindingAttempt) == 0 and bound_openids(db) == []


def test_a_post_without_the_csrf_token_changes_nothing(client: Any, db: Database, registry: ImportReport) -> None:
    sign_in(client, "o-alice")
    response = client.post("/h5/bind", data=ALICE_BY_CARD)
    assert response.status_code == 400 and "页面已过期" in page_text(response)
    assert bound_openids(db) == []


def test_five_wrong_attempts_block_the_wechat_user_for_an_hour_even_with_the_right_answer(
    client: Any, db: Database, registry: ImportReport
) -> None:
    sign_in(client, "o-mallory")
    for left in (4, 3, 2, 1):
        assert f"还可尝试 {left} 次" in page_text(bind_form(client, **WRONG_CARD))
    assert "尝试次数已用完" in page_text(bind_form(client, **WRONG_CARD))
    response = bind_form(client, **ALICE_BY_CARD)
    assert response.status_code == 429
    assert "尝试次数过多" in page_text(response) and "2026-11-20 11:00 后再试" in page_text(response)
    assert bound_openids(db) == [] and count(db, BindingAttempt) == 5


def test_five_wrong_attempts_on_one_id_number_block_it_for_every_wechat_user(
    client: Any, db: Database, registry: ImportReport
) -> None:
    for n in range(5):
        sign_in(client, f"o-guesser-{n}")
        assert bind_form(client, **WRONG_CARD).status_code == 400
    sign_in(client, "o-alice")
    assert bind_form(client, **ALICE_BY_CARD).status_code == 429
    sign_in(client, "o-bob")  # another ID number from a fresh user is not affected
    assert bind_form(client, name=BOB["name"], id_number=BOB["id_number"], factor_value=BOB["card"]).status_code == 302


def test_the_block_lifts_when_the_oldest_failure_is_an_hour_old(ctx: Flask, db: Database,
                                                               registry: ImportReport) -> None:
    start = now_utc()
    wrong = BindRequest(ALICE["name"], ALICE["id_number"], "card", "SZ9999999999", PRIVACY_VERSION)
    right = BindRequest(ALICE["name"], ALICE["id_number"], "card", ALICE["card"], PRIVACY_VERSION)
    for minute in range(5):
        with pytest.raises(BindingRefused) as refused:
            bind(db, "o-alice", wrong, now=start + timedelta(minutes=minute))
        assert refused.value.code == "mismatch"
    with pytest.raises(BindingRefused) as blocked:
        bind(db, "o-alice", right, now=start + timedelta(minutes=59))
    assert blocked.value.code == "blocked" and blocked.value.context["retry_at"] == start + timedelta(hours=1)
    assert bind(db, "o-alice", right, now=start + timedelta(minutes=61)).id is not None


def test_two_wechat_users_binding_the_same_person_at_once_one_wins(
    app: Flask, db: Database, registry: ImportReport
) -> None:
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}
    request = BindRequest(ALICE["name"], ALICE["id_number"], "card", ALICE["card"], PRIVACY_VERSION)

    def attempt(openid: str) -> None:
        with app.app_context():
            barrier.wait(5)
            try:
                bind(db, openid, request)
                outcomes[openid] = "bound"
            except BindingRefused as exc:
                outcomes[openid] = exc.code

    threads = [threading.Thread(target=attempt, args=(openid,)) for openid in ("o-alice", "o-mallory")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes.values()) == ["bound", "taken"]
    assert len(bound_openids(db)) == 1 and count(db, BindingEvent) == 1


def test_a_person_bound_elsewhere_cannot_be_bound_again(client: Any, db: Database, registry: ImportReport) -> None:
    sign_in(client, "o-alice")
    bind_form(client, **ALICE_BY_CARD)
    sign_in(client, "o-mallory")
    response = bind_form(client, **ALICE_BY_CARD)
    assert response.status_code == 409 and "已被另一个微信号绑定" in page_text(response)
    assert bound_openids(db) == ["o-alice"]


def test_rebinding_needs_an_explicit_unbind(app: Flask, client: Any, db: Database, registry: ImportReport,
                                            fake_wechat: FakeWeChat) -> None:
    sign_in(client, "o-alice")
    bind_form(client, **ALICE_BY_CARD)
    bob = {"name": BOB["name"], "id_number": BOB["id_number"], "factor_value": BOB["card"]}
    response = bind_form(client, **bob)
    assert response.status_code == 409 and "您的微信已绑定 林*雨" in page_text(response)
    token = csrf_token(client.get("/h5/bind").get_data(as_text=True))
    response = client.post("/h5/bind/unbind", data={"csrf_token": token, "confirmed": "yes"})
    assert response.status_code == 302 and response.headers["Location"].endswith("done=unbound")
    assert bound_openids(db) == [] and "已解除绑定" in page_text(client.get("/h5/bind?done=unbound"))
    assert bind_form(client, **bob).status_code == 302
    with db.reading() as session:
        actions = session.execute(select(BindingEvent.action).order_by(BindingEvent.id)).scalars().all()
    assert actions == ["bind", "unbind", "bind"]
    send_outbox(app)
    texts = [m.body["text"]["content"] for m in fake_wechat.sent_messages("o-alice")]
    assert [t.split("：")[0] for t in texts] == ["身份绑定成功", "已解除身份绑定", "身份绑定成功"]


def test_unbind_without_the_csrf_token_keeps_the_binding(client: Any, db: Database, registry: ImportReport) -> None:
    sign_in(client, "o-alice")
    bind_form(client, **ALICE_BY_CARD)
    response = client.post("/h5/bind/unbind", data={})
    assert response.status_code == 400 and "页面已过期" in page_text(response)
    assert bound_openids(db) == ["o-alice"]


def test_unbinding_twice_is_a_no_op(ctx: Flask, db: Database, registry: ImportReport) -> None:
    bind(db, "o-alice", BindRequest(ALICE["name"], ALICE["id_number"], "card", ALICE["card"], PRIVACY_VERSION))
    assert unbind(db, "o-alice") is not None and unbind(db, "o-alice") is None
    assert count(db, BindingEvent, action="unbind") == 1


def test_a_wechat_error_on_the_confirmation_does_not_undo_the_binding_nor_log_identity(
    app: Flask, client: Any, db: Database, registry: ImportReport, fake_wechat: FakeWeChat,
    caplog: pytest.LogCaptureFixture
) -> None:
    fake_wechat.inject("message/custom/send", 45015)
    sign_in(client, "o-alice")
    with caplog.at_level(logging.INFO):
        response = bind_form(client, **ALICE_BY_CARD)
        send_outbox(app)
    assert response.status_code == 302 and bound_openids(db) == ["o-alice"]
    assert fake_wechat.sent_messages("o-alice") == []
    assert any("errcode 45015" in r.getMessage() for r in caplog.records)
    logged = caplog.text
    assert all(value not in logged for value in ALICE.values())


def test_failed_attempts_are_cleared_from_view_after_the_database_rows_go_without_redis(
    ctx: Flask, db: Database, registry: ImportReport
) -> None:
    """The control for the Redis test: with the rows gone and no Redis, nothing remembers the guesses."""
    right = five_wrong_guesses_then_rows_lost(db, "o-mallory")
    assert bind(db, "o-mallory", right).id is not None


def test_binding_needs_the_privacy_notice_agreed_and_keeps_its_version(
    client: Any, db: Database, registry: ImportReport, fake_wechat: FakeWeChat
) -> None:
    sign_in(client, "o-alice")
    html = client.get("/h5/bind").get_data(as_text=True)
    assert f'name="privacy_version" value="{PRIVACY_VERSION}" id="privacy-consent">' in html  # not ticked for them
    page = page_text(client.get("/h5/bind"))
    assert f"个人信息处理说明（{PRIVACY_VERSION} 版）" in page
    assert all(words in page for words in ("用途：", "保存什么：", "保存多久：", "如何撤回：", "解除绑定"))

    unticked = bind_form(client, **ALICE_BY_CARD, privacy_version="")
    assert unticked.status_code == 400 and "请阅读下方的个人信息处理说明" in page_text(unticked)
    stale = bind_form(client, **ALICE_BY_CARD, privacy_version="2020-01-01")
    assert stale.status_code == 400 and "个人信息处理说明已更新" in page_text(stale)
    assert bound_openids(db) == [] and fake_wechat.sent_messages() == []

    assert bind_form(client, **ALICE_BY_CARD).status_code == 302
    with db.reading() as session:
        assert session.execute(select(Binding.privacy_version)).scalar_one() == PRIVACY_VERSION
        assert session.execute(select(BindingEvent.privacy_version)).scalar_one() == PRIVACY_VERSION
