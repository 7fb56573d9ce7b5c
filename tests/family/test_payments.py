"""Paying for a linked relative from the personal account: one transaction, once per request key."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import func, select

from miniservice.audit.models import AuditEvent
from miniservice.citizens.models import AccountEntry, Contribution, ResidentPremium
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.family import payments
from miniservice.family.models import FamilyPayment
from miniservice.rules.months import Month
from tests.conftest import send_outbox
from tests.family.conftest import (
    Family,
    Registry,
    Someone,
    add_relative,
    consent_url,
    csrf,
    forms,
    race,
    signed_in,
)

PAY = "/h5/family/pay"


def _link(app: Flask, fake: FakeWeChat, holder: Any, relative: Someone, relationship: str,
          attested: bool = False) -> None:
    """Link ``relative`` as the holder would: attested, or accepted by the relative on the consent page."""
    if attested or relative.openid is None:
        assert add_relative(holder, relative, relationship, attested=True).status_code == 200
        return
    assert add_relative(holder, relative, relationship).status_code == 200
    url = consent_url(app, fake, relative.openid)
    client = signed_in(app, relative.openid)
    assert client.post(url, data={"csrf_token": csrf(client, url), "accept": "同意"}).status_code == 200


def _pay_forms(client: Any) -> list[dict[str, Any]]:
    """The page's pay forms, as submitted from the confirmation step (``confirmed``: the amount was read)."""
    return [form["fields"] | {"confirmed": "yes"}
            for form in forms(client.get("/h5/family").get_data(as_text=True), PAY)]


def _count(db: Database, model: type) -> int:
    with db.reading() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _state(db: Database, registry: Registry, holder: Someone) -> tuple[Any, ...]:
    """Everything a refused payment must leave as it was."""
    with db.reading() as session:
        family_rows = session.execute(
            select(func.count()).select_from(ResidentPremium).where(ResidentPremium.payer == "family")
        ).scalar_one() + session.execute(
            select(func.count()).select_from(Contribution).where(Contribution.payer == "family")
        ).scalar_one()
    return registry.balance(holder), _count(db, AccountEntry), _count(db, FamilyPayment), family_rows


@pytest.fixture
def holder(app: Flask) -> Any:
    return signed_in(app, "o-holder")


def test_holder_pays_next_years_premium_for_a_linked_spouse(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry, holder: Any
) -> None:
    _link(app, fake_wechat, holder, family.spouse, "spouse")
    page = holder.get("/h5/family").get_data(as_text=True)
    assert "2026 年度居民医保个人缴费" in page and "400.00 元" in page and "示例数据" in page
    [form] = _pay_forms(holder)
    assert (form["item"], form["amount"]) == ("premium:2026", "400.00")

    response = holder.post(PAY, data=form)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "缴费成功" in body and "4,600.00 元" in body
    assert registry.balance(family.holder) == Decimal("4600.00")
    with db.reading() as session:
        premium = session.execute(
            select(ResidentPremium).where(ResidentPremium.person_id == family.spouse.id, ResidentPremium.year == 2026)
        ).scalar_one()
        entry = session.execute(select(AccountEntry).where(AccountEntry.person_id == family.holder.id)).scalar_one()
        payment = session.execute(select(FamilyPayment)).scalar_one()
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "family.payment")).scalar_one()
    assert (premium.status, premium.payer, premium.payer_person_id, premium.amount) == (
        "paid", "family", family.holder.id, Decimal("400.00"))
    assert (entry.amount, entry.balance_after, entry.request_key) == (
        Decimal("-400.00"), Decimal("4600.00"), f"family:{form['request_key']}")
    assert "林*" in entry.reason and "2026" in entry.reason
    assert (payment.account_entry_id, payment.holder_id, payment.relative_id) == (
        entry.id, family.holder.id, family.spouse.id)
    assert event.details["amount"] == "400.00" and event.details["relative_name"] == "林*"
    send_outbox(app)
    assert "400.00 元" in fake_wechat.sent_messages("o-holder")[-1].body["text"]["content"]
    assert "钱*刚" in fake_wechat.sent_messages("o-spouse")[-1].body["text"]["content"]
    assert _pay_forms(holder) == []  # nothing left to pay


def test_holder_pays_a_flexible_brothers_open_gap_month_by_month(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry, holder: Any
) -> None:
    _link(app, fake_wechat, holder, family.brother, "sibling")
    [form] = _pay_forms(holder)
    # 太原, at the brother's own registered base 5,000 (not the 7,500 average wage): 5,000 × (8% + 2%) × 3
    # months = 1,500; late fee 500 × 0.0005 × (76 + 45 + 15) days = 34.00.
    assert (form["item"], form["amount"]) == ("backpay:2025-07:2025-09", "1534.00")
    assert holder.post(PAY, data=form).status_code == 200
    assert registry.balance(family.holder) == Decimal("3466.00")
    with db.reading() as session:
        months = session.execute(
            select(Contribution).where(Contribution.person_id == family.brother.id,
                                       Contribution.month >= Month(2025, 7).index).order_by(Contribution.month)
        ).scalars().all()
    assert [(Month.from_index(m.month), m.status, m.payer, m.payer_person_id, m.base) for m in months] == [
        (Month(2025, month), "back_paid", "family", family.holder.id, Decimal("5000.00")) for month in (7, 8, 9)
    ]


def test_a_replayed_payment_returns_the_first_result_and_changes_nothing(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry, holder: Any
) -> None:
    _link(app, fake_wechat, holder, family.spouse, "spouse")
    [form] = _pay_forms(holder)
    first = holder.post(PAY, data=form).get_data(as_text=True)
    before = _state(db, registry, family.holder)
    send_outbox(app)
    messages = len(fake_wechat.sent_messages())
    replay = holder.post(PAY, data=form)
    assert replay.status_code == 200
    text = replay.get_data(as_text=True)
    assert "该笔缴费此前已处理，本次未重复扣款" in text and "此前已处理" not in first
    assert "4,600.00 元" in text
    assert _state(db, registry, family.holder) == before
    send_outbox(app)
    assert len(fake_wechat.sent_messages()) == messages


def test_insufficient_balance_is_refused_and_changes_nothing(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry
) -> None:
    poor = registry.person("孙薇", balance="100.00", openid="o-poor")
    client = signed_in(app, "o-poor")
    _link(app, fake_wechat, client, family.mother, "parent")
    before = _state(db, registry, poor)
    [form] = _pay_forms(client)
    response = client.post(PAY, data=form)
    assert response.status_code == 409 and "个人账户余额不足" in response.get_data(as_text=True)
    assert _state(db, registry, poor) == before


def test_paying_through_a_link_that_is_not_active_is_refused(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry, holder: Any
) -> None:
    _link(app, fake_wechat, holder, family.mother, "parent")
    [form] = _pay_forms(holder)
    [link] = registry.links(family.holder)
    holder.post(f"/h5/family/links/{link.id}/revoke", data={"csrf_token": form["csrf_token"], "confirmed": "yes"})
    before = _state(db, registry, family.holder)
    response = holder.post(PAY, data=form)
    assert response.status_code == 409 and "尚未生效或已解除" in response.get_data(as_text=True)
    assert _state(db, registry, family.holder) == before


def test_paying_through_someone_elses_link_is_refused(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry, holder: Any
) -> None:
    _link(app, fake_wechat, holder, family.mother, "parent")
    [form] = _pay_forms(holder)
    registry.person("路人", balance="1000.00", openid="o-stranger")
    stranger = signed_in(app, "o-stranger")
    before = _state(db, registry, family.holder)
    response = stranger.post(PAY, data={**form, "csrf_token": csrf(stranger, "/h5/family/add")})
    assert response.status_code == 403 and "只能为与您绑定的亲属缴费" in response.get_data(as_text=True)
    assert _state(db, registry, family.holder) == before


def test_a_changed_amount_or_an_item_already_paid_is_refused(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry, holder: Any
) -> None:
    _link(app, fake_wechat, holder, family.mother, "parent")
    [form] = _pay_forms(holder)
    before = _state(db, registry, family.holder)
    tampered = holder.post(PAY, data={**form, "amount": "1.00"})
    assert tampered.status_code == 409 and "应缴金额已更新为 400.00 元" in tampered.get_data(as_text=True)
    registry.paid_years(family.mother, 2026)  # she paid herself at the bank meanwhile
    paid = holder.post(PAY, data=form)
    assert paid.status_code == 409 and "已缴纳或当前无需缴纳" in paid.get_data(as_text=True)
    assert _state(db, registry, family.holder) == before


def test_a_pay_form_without_csrf_is_refused(app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat,
                                           registry: Registry, holder: Any) -> None:
    _link(app, fake_wechat, holder, family.mother, "parent")
    [form] = _pay_forms(holder)
    before = _state(db, registry, family.holder)
    response = holder.post(PAY, data={**form, "csrf_token": ""})
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    assert _state(db, registry, family.holder) == before


def _post(app: Flask, openid: str, data: dict[str, str]) -> Callable[[], tuple[int, str]]:
    """A POST of ``data`` from its own browser session (own cookie, own CSRF token), ready to fire."""
    client = signed_in(app, openid)
    data = {**data, "csrf_token": csrf(client)}

    def call() -> tuple[int, str]:
        response = client.post(PAY, data=data)
        return response.status_code, response.get_data(as_text=True)

    return call


def test_concurrent_payments_never_overdraw_the_account(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry
) -> None:
    poor = registry.person("孙薇", balance="900.00", openid="o-poor")
    client = signed_in(app, "o-poor")
    _link(app, fake_wechat, client, family.mother, "parent")
    _link(app, fake_wechat, client, family.son, "child", attested=True)
    _link(app, fake_wechat, client, family.spouse, "spouse")
    pay_forms = _pay_forms(client)
    assert len(pay_forms) == 3  # 3 × 400 from 900: only two can be paid
    results = race([_post(app, "o-poor", form) for form in pay_forms])
    assert sorted(status for status, _ in results) == [200, 200, 409]
    assert sum("个人账户余额不足" in body for _, body in results) == 1
    assert registry.balance(poor) == Decimal("100.00")
    with db.reading() as session:
        entries = session.execute(select(AccountEntry).where(AccountEntry.person_id == poor.id)).scalars().all()
        premiums = session.execute(
            select(func.count()).select_from(ResidentPremium).where(ResidentPremium.payer == "family")
        ).scalar_one()
    assert sorted(e.balance_after for e in entries) == [Decimal("100.00"), Decimal("500.00")]
    assert premiums == 2


def test_concurrent_payments_of_one_item_with_different_keys_pay_it_once(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry, holder: Any
) -> None:
    _link(app, fake_wechat, holder, family.mother, "parent")
    pay_forms = [_pay_forms(holder)[0] for _ in range(4)]  # four tabs open, each with its own request key
    assert len({form["request_key"] for form in pay_forms}) == 4
    results = race([_post(app, "o-holder", form) for form in pay_forms])
    assert sorted(status for status, _ in results) == [200, 409, 409, 409]
    assert registry.balance(family.holder) == Decimal("4600.00")
    assert _count(db, FamilyPayment) == 1 and _count(db, AccountEntry) == 1


def test_concurrent_replays_of_one_request_debit_once(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry, holder: Any
) -> None:
    _link(app, fake_wechat, holder, family.mother, "parent")
    [form] = _pay_forms(holder)
    results = race([_post(app, "o-holder", form) for _ in range(4)])
    assert [status for status, _ in results] == [200] * 4
    assert sum("此前已处理" in body for _, body in results) == 3
    assert registry.balance(family.holder) == Decimal("4600.00")
    assert _count(db, FamilyPayment) == 1 and _count(db, AccountEntry) == 1


def test_outside_the_collection_period_the_current_year_is_paid_with_its_waiting_period(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry, holder: Any
) -> None:
    _link(app, fake_wechat, holder, family.mother, "parent")
    with time_machine.travel("2026-02-01 10:00:00 +08:00"):
        client = signed_in(app, "o-holder")
        page = client.get("/h5/family").get_data(as_text=True)
        assert "不在集中缴费期内" in page and "3 个月待遇等待期" in page and "2026-05-01" in page
        [form] = _pay_forms(client)
        assert (form["item"], form["amount"]) == ("premium:2026", "400.00")
        assert client.post(PAY, data=form).status_code == 200
    assert registry.balance(family.holder) == Decimal("4600.00")


def test_an_employees_gap_is_left_to_the_unit(
    app: Flask, family: Family, fake_wechat: FakeWeChat, registry: Registry, holder: Any
) -> None:
    wife = registry.person("吴静", scheme="employee")
    registry.months(wife, Month(2015, 1), Month(2025, 5))
    _link(app, fake_wechat, holder, wife, "spouse")
    page = holder.get("/h5/family").get_data(as_text=True)
    assert "由单位负责补缴" in page and _pay_forms(holder) == []


def test_a_replay_that_finds_the_item_paid_by_its_own_first_request_gets_the_first_result(
    app: Flask, db: Database, family: Family, fake_wechat: FakeWeChat, registry: Registry, holder: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _link(app, fake_wechat, holder, family.mother, "parent")
    [form] = _pay_forms(holder)
    first, replay = _post(app, "o-holder", form), _post(app, "o-holder", form)
    assert first()[0] == 200
    looked_up = payments._replay
    calls: list[str] = []

    def before_the_first_committed(db: Database, key: str, holder_id: int) -> Any:
        calls.append(key)  # the replay's first look happened just before the first request committed
        return None if len(calls) == 1 else looked_up(db, key, holder_id)

    monkeypatch.setattr(payments, "_replay", before_the_first_committed)
    status, body = replay()
    assert (status, "此前已处理" in body) == (200, True)
    assert registry.balance(family.holder) == Decimal("4600.00")
    assert _count(db, FamilyPayment) == 1 and _count(db, AccountEntry) == 1
