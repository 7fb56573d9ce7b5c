"""Linking relatives: consent through WeChat, attestation, the region's rules, revocation, history."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from sqlalchemy import func, select

from miniservice.audit.models import AuditEvent
from miniservice.citizens.identity import id_check_char
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.family.models import FamilyConsent, FamilyLink
from tests.conftest import send_outbox
from tests.family.conftest import Family, Registry, add_relative, consent_url, csrf, forms, race, signed_in


def _count(db: Database, model: type) -> int:
    with db.reading() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _audit(db: Database, action: str) -> list[AuditEvent]:
    with db.reading() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_bound_relative_is_linked_only_after_accepting_on_the_consent_page(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry
) -> None:
    holder = signed_in(app, "o-holder")
    response = add_relative(holder, family.spouse, "spouse")
    assert response.status_code == 200
    assert "已发送确认请求" in response.get_data(as_text=True)
    [link] = registry.links(family.holder)
    assert (link.status, link.consent_mode, link.activated_at) == ("pending", "wechat", None)

    url = consent_url(app, fake_wechat, "o-spouse")
    assert "钱*刚" in fake_wechat.sent_messages("o-spouse")[-1].body["text"]["content"]
    spouse = signed_in(app, "o-spouse")
    page = spouse.get(url).get_data(as_text=True)
    assert "钱*刚" in page and "配偶" in page
    answer = spouse.post(url, data={"csrf_token": csrf(spouse, url), "accept": "同意"})
    assert answer.status_code == 200 and "已同意" in answer.get_data(as_text=True)

    [link] = registry.links(family.holder)
    assert link.status == "active" and link.activated_at is not None
    send_outbox(app)
    assert "已同意" in fake_wechat.sent_messages("o-holder")[-1].body["text"]["content"]
    assert [e.details["consent_mode"] for e in _audit(db, "family.link")] == ["wechat"]
    assert len(_audit(db, "family.consent.accept")) == 1


def test_audit_details_hold_only_masked_identity(db: Database, app: Flask, family: Family) -> None:
    add_relative(signed_in(app, "o-holder"), family.mother, "parent", attested=True)
    [event] = _audit(db, "family.link")
    text = json.dumps(event.details, ensure_ascii=False)
    assert family.mother.id_number not in text and family.mother.name not in text and family.mother.card not in text
    assert event.details["relative_name"] == "钱*兰"
    assert event.details["relative_id_number"].count("*") == 13


def test_minor_child_is_linked_at_once_on_the_holders_attestation(
    app: Flask, family: Family, fake_wechat: FakeWeChat, registry: Registry
) -> None:
    response = add_relative(signed_in(app, "o-holder"), family.son, "child", attested=True)
    assert "绑定成功" in response.get_data(as_text=True)
    [link] = registry.links(family.holder)
    assert (link.status, link.consent_mode) == ("active", "attested_minor")
    send_outbox(app)
    assert fake_wechat.sent_messages("o-son") == []  # a minor is not asked


def test_relative_without_wechat_is_linked_on_attestation_and_marked_so(
    app: Flask, family: Family, registry: Registry
) -> None:
    add_relative(signed_in(app, "o-holder"), family.mother, "parent", attested=True)
    [link] = registry.links(family.holder)
    assert (link.status, link.consent_mode) == ("active", "attested_offline")


def test_attestation_is_required_for_a_relative_without_wechat(app: Flask, db: Database, family: Family) -> None:
    response = add_relative(signed_in(app, "o-holder"), family.mother, "parent")
    assert response.status_code == 400
    assert "本人承诺已取得亲属同意" in response.get_data(as_text=True)
    assert _count(db, FamilyLink) == 0


def test_attestation_does_not_skip_consent_of_an_adult_who_uses_wechat(
    app: Flask, family: Family, registry: Registry
) -> None:
    add_relative(signed_in(app, "o-holder"), family.spouse, "spouse", attested=True)
    [link] = registry.links(family.holder)
    assert (link.status, link.consent_mode) == ("pending", "wechat")


def test_relationship_the_region_does_not_allow_is_refused(app: Flask, db: Database, registry: Registry) -> None:
    registry.person("周海", region="140202", balance="100.00", openid="o-datong")
    sister = registry.person("周燕", region="140202", scheme="resident")
    response = add_relative(signed_in(app, "o-datong"), sister, "sibling", attested=True)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "暂不支持为“兄弟姐妹”办理家庭共济" in page and "配偶、父母、子女" in page
    assert _count(db, FamilyLink) == 0


def test_the_wider_circle_is_allowed_where_the_region_allows_it(app: Flask, family: Family, registry: Registry) -> None:
    add_relative(signed_in(app, "o-holder"), family.brother, "sibling")
    assert [link.relationship for link in registry.links(family.holder)] == ["sibling"]


def test_a_region_limits_how_many_relatives_one_holder_may_link(
    app: Flask, db: Database, registry: Registry
) -> None:
    registry.person("周海", region="140202", balance="100.00", openid="o-datong")
    client = signed_in(app, "o-datong")
    for name in ("周父", "周母"):
        relative = registry.person(name, region="140202", scheme="resident")
        assert add_relative(client, relative, "parent", attested=True).status_code == 200
    third = registry.person("周妻", region="140202", scheme="resident")
    response = add_relative(client, third, "spouse", attested=True)
    assert response.status_code == 400 and "最多可绑定 2 位亲属" in response.get_data(as_text=True)
    assert _count(db, FamilyLink) == 2


def test_relative_not_in_the_registry_or_with_wrong_card_or_name_is_not_found(
    app: Flask, db: Database, family: Family
) -> None:
    client = signed_in(app, "o-holder")
    unknown = "11010519900101001" + id_check_char("11010519900101001")  # valid, but nobody in the registry
    for changes in ({"card_number": "C000000000"}, {"name": "林慧慧"}, {"id_number": unknown}):
        response = add_relative(client, family.mother, "parent", attested=True, **changes)
        assert response.status_code == 400
        assert "未找到与所填姓名、身份证号码和医保卡号相符的参保人员" in response.get_data(as_text=True)
    assert _count(db, FamilyLink) == 0


def test_invalid_id_number_gets_the_identity_message(app: Flask, family: Family) -> None:
    number = family.mother.id_number
    wrong_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    response = add_relative(signed_in(app, "o-holder"), family.mother, "parent", attested=True, id_number=wrong_check)
    assert response.status_code == 400 and "校验位不正确" in response.get_data(as_text=True)


def test_relative_insured_in_another_province_is_refused(app: Flask, db: Database, registry: Registry) -> None:
    registry.person("钱志刚", balance="100.00", openid="o-h")
    cousin = registry.person("赵敏", region="110105", scheme="resident")
    response = add_relative(signed_in(app, "o-h"), cousin, "spouse", attested=True)
    assert response.status_code == 400 and "需在本省参保" in response.get_data(as_text=True)
    assert _count(db, FamilyLink) == 0


def test_a_resident_member_cannot_link_relatives(app: Flask, db: Database, family: Family) -> None:
    client = signed_in(app, "o-spouse")
    assert client.get("/h5/family/add").status_code == 403
    response = client.post("/h5/family/add", data={"name": family.mother.name, "id_number": family.mother.id_number,
                                                     "card_number": family.mother.card, "relationship": "parent"})
    assert response.status_code == 403
    assert "仅限职工医保参保人" in response.get_data(as_text=True)
    assert _count(db, FamilyLink) == 0


def test_linking_oneself_is_refused(app: Flask, family: Family, registry: Registry) -> None:
    holder = registry.person("王五", balance="1.00", openid="o-self")
    response = add_relative(signed_in(app, "o-self"), holder, "spouse", attested=True)
    assert response.status_code == 400 and "不能绑定本人" in response.get_data(as_text=True)


def test_the_same_relative_cannot_be_linked_twice_to_one_holder(app: Flask, db: Database, family: Family) -> None:
    client = signed_in(app, "o-holder")
    assert add_relative(client, family.spouse, "spouse").status_code == 200
    again = add_relative(client, family.spouse, "spouse")
    assert again.status_code == 400 and "无需重复添加" in again.get_data(as_text=True)
    assert _count(db, FamilyLink) == 1 and _count(db, FamilyConsent) == 1


def test_consent_expires_after_seven_days_and_then_changes_nothing(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry
) -> None:
    add_relative(signed_in(app, "o-holder"), family.spouse, "spouse")
    url = consent_url(app, fake_wechat, "o-spouse")
    spouse = signed_in(app, "o-spouse")
    token = csrf(spouse, url)
    app.config["WTF_CSRF_TIME_LIMIT"] = None  # the page was left open for a week; only the consent expired
    with time_machine.travel(timedelta(days=7, minutes=1)):
        assert "该申请已失效" in spouse.get(url).get_data(as_text=True)
        response = spouse.post(url, data={"csrf_token": token, "accept": "同意"})
    assert response.status_code == 410 and "超过 7 天有效期" in response.get_data(as_text=True)
    [link] = registry.links(family.holder)
    assert link.status == "pending"
    with db.reading() as session:
        assert session.execute(select(FamilyConsent.answered_at)).scalar_one() is None


def test_expired_request_frees_the_relative_for_a_new_request(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry
) -> None:
    client = signed_in(app, "o-holder")
    add_relative(client, family.spouse, "spouse")
    with time_machine.travel(timedelta(days=8)):
        assert "已过期" in client.get("/h5/family").get_data(as_text=True)
        assert add_relative(client, family.spouse, "spouse").status_code == 200
    assert [link.status for link in registry.links(family.holder)] == ["expired", "pending"]
    assert len(_audit(db, "family.consent.expire")) == 1


def test_an_answered_consent_cannot_be_answered_again(
    app: Flask, family: Family, fake_wechat: FakeWeChat, registry: Registry
) -> None:
    add_relative(signed_in(app, "o-holder"), family.spouse, "spouse")
    url = consent_url(app, fake_wechat, "o-spouse")
    spouse = signed_in(app, "o-spouse")
    token = csrf(spouse, url)
    assert spouse.post(url, data={"csrf_token": token, "decline": "拒绝"}).status_code == 200
    again = spouse.post(url, data={"csrf_token": token, "accept": "同意"})
    assert again.status_code == 409 and "已答复过该请求" in again.get_data(as_text=True)
    [link] = registry.links(family.holder)
    assert (link.status, link.active_key) == ("declined", None)


def test_the_consent_page_opens_only_for_the_relatives_openid(
    app: Flask, family: Family, fake_wechat: FakeWeChat, registry: Registry
) -> None:
    add_relative(signed_in(app, "o-holder"), family.spouse, "spouse")
    url = consent_url(app, fake_wechat, "o-spouse")
    holder = signed_in(app, "o-holder")
    page = holder.get(url)
    assert page.status_code == 403 and "仅限被绑定的亲属本人" in page.get_data(as_text=True)
    token = csrf(holder)
    assert holder.post(url, data={"csrf_token": token, "accept": "同意"}).status_code == 403
    assert [link.status for link in registry.links(family.holder)] == ["pending"]


def test_an_unknown_consent_token_is_not_found(app: Flask, family: Family) -> None:
    response = signed_in(app, "o-spouse").get("/h5/family/consent/" + "x" * 43)
    assert response.status_code == 404


def test_either_side_may_revoke_and_the_history_is_kept(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry
) -> None:
    holder = signed_in(app, "o-holder")
    add_relative(holder, family.son, "child", attested=True)
    add_relative(holder, family.mother, "parent", attested=True)
    son_link, mother_link = registry.links(family.holder)

    son = signed_in(app, "o-son")  # the relative's side
    response = son.post(f"/h5/family/links/{son_link.id}/revoke", data={"csrf_token": csrf(son), "confirmed": "yes"})
    assert response.status_code == 302
    send_outbox(app)
    assert "已解除" in fake_wechat.sent_messages("o-holder")[-1].body["text"]["content"]
    response = holder.post(f"/h5/family/links/{mother_link.id}/revoke",
                           data={"csrf_token": csrf(holder), "confirmed": "yes"}, follow_redirects=True)
    assert "已解除家庭共济绑定" in response.get_data(as_text=True)

    son_link, mother_link = registry.links(family.holder)
    assert (son_link.status, son_link.ended_by_person_id) == ("revoked", family.son.id)
    assert (mother_link.status, mother_link.ended_by_person_id) == ("revoked", family.holder.id)
    assert son_link.active_key is None and son_link.ended_at is not None and son_link.activated_at is not None
    assert [e.details["by"] for e in _audit(db, "family.revoke")] == ["relative", "holder"]
    page = holder.get("/h5/family").get_data(as_text=True)
    assert "历史记录" in page and page.count("已解除") >= 2

    assert add_relative(holder, family.mother, "parent", attested=True).status_code == 200  # linking again
    assert [link.status for link in registry.links(family.holder)] == ["revoked", "revoked", "active"]


def test_revoking_someone_elses_link_is_refused(app: Flask, family: Family, registry: Registry) -> None:
    add_relative(signed_in(app, "o-holder"), family.mother, "parent", attested=True)
    [link] = registry.links(family.holder)
    registry.person("路人", balance="10.00", openid="o-stranger")
    stranger = signed_in(app, "o-stranger")
    token = csrf(stranger, "/h5/family/add")
    response = stranger.post(f"/h5/family/links/{link.id}/revoke", data={"csrf_token": token, "confirmed": "yes"})
    assert response.status_code == 403 and "只能解除与您本人有关" in response.get_data(as_text=True)
    assert [link.status for link in registry.links(family.holder)] == ["active"]


def test_revoking_twice_says_it_is_already_revoked(app: Flask, family: Family) -> None:
    holder = signed_in(app, "o-holder")
    add_relative(holder, family.mother, "parent", attested=True)
    path = "/h5/family/links/1/revoke"
    token = csrf(holder)
    holder.post(path, data={"csrf_token": token, "confirmed": "yes"})
    again = holder.post(path, data={"csrf_token": token, "confirmed": "yes"})
    assert again.status_code == 409 and "已经解除" in again.get_data(as_text=True)


def test_posts_without_a_csrf_token_change_nothing(app: Flask, db: Database, family: Family) -> None:
    client = signed_in(app, "o-holder")
    response = client.post("/h5/family/add", data={"name": family.mother.name, "id_number": family.mother.id_number,
                                                     "card_number": family.mother.card, "relationship": "parent",
                                                     "attested": "y"})
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    assert _count(db, FamilyLink) == 0


def test_holder_opts_in_to_reminders_for_one_relative(app: Flask, db: Database, family: Family,
                                                      registry: Registry) -> None:
    client = signed_in(app, "o-holder")
    add_relative(client, family.mother, "parent", attested=True)
    [link] = registry.links(family.holder)
    assert link.remind_gaps is False
    [form] = forms(client.get("/h5/family").get_data(as_text=True), f"/h5/family/links/{link.id}/reminders")
    assert form["fields"]["enabled"] == "on"
    assert client.post(form["action"], data=form["fields"]).status_code == 302
    assert registry.links(family.holder)[0].remind_gaps is True
    registry.person("路人", balance="10.00", openid="o-stranger")
    stranger = signed_in(app, "o-stranger")
    refused = stranger.post(form["action"], data={"csrf_token": csrf(stranger, "/h5/family/add"), "enabled": "off"})
    assert refused.status_code == 403
    assert registry.links(family.holder)[0].remind_gaps is True
    assert len(_audit(db, "family.reminders.on")) == 1


def test_a_message_wechat_refuses_does_not_undo_the_link(
    app: Flask, family: Family, fake_wechat: FakeWeChat, registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    fake_wechat.inject("message/custom/send", 45015)  # the spouse has not talked to the account for 48 hours
    response = add_relative(signed_in(app, "o-holder"), family.spouse, "spouse")
    assert response.status_code == 200
    with caplog.at_level(logging.WARNING):
        send_outbox(app)
    assert [link.status for link in registry.links(family.holder)] == ["pending"]
    assert "family-consent:" in caplog.text and "45015" in caplog.text and "o-spouse" not in caplog.text
    assert family.spouse.name not in caplog.text and family.spouse.id_number not in caplog.text


def test_two_concurrent_requests_link_a_relative_once(app: Flask, db: Database, family: Family) -> None:
    posts = []
    for _ in range(3):
        client = signed_in(app, "o-holder")
        data = {"csrf_token": csrf(client, "/h5/family/add"), "name": family.mother.name, "attested": "y",
                "id_number": family.mother.id_number, "card_number": family.mother.card, "relationship": "parent"}
        posts.append(lambda client=client, data=data: client.post("/h5/family/add", data=data).status_code)
    assert sorted(race(posts)) == [200, 400, 400]
    assert _count(db, FamilyLink) == 1 and len(_audit(db, "family.link")) == 1
