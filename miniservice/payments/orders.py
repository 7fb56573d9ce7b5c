"""Orders from quotes: what a citizen may pay now, frozen into an order with an expiry.

An order freezes the quote it was made from (months, amounts, late fee, rule version and the facts
used) and lasts until the day before the engine, given the same facts, would quote a different
figure: a late fee that grows daily makes that tomorrow; a 集中缴费期 ending or a new rule version
coming into force makes it that day. The quote comes from :func:`quote_of`, the one call into the
quote service, so that the facts behind it can change module without this package noticing.

One open order per person and item: ``open_key`` is unique, so a second tap (or two at once) finds
the first order; an expired open order is closed at the channel before a fresh one is made.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select
from sqlmodel import Session

from miniservice import state
from miniservice.audit import record
from miniservice.citizens.models import Binding, Person
from miniservice.clock import now_utc
from miniservice.db import Database, IntegrityError
from miniservice.family.models import FamilyLink
from miniservice.payments.channels import Channel, ChannelUnavailable, channel_named
from miniservice.payments.errors import PayError
from miniservice.payments.models import PayOrder
from miniservice.quotes.errors import QuoteUnavailable
from miniservice.quotes.service import PersonQuote, person_quote, rules_on
from miniservice.rules.citing import Citation, QuoteError, cite
from miniservice.rules.kinds import Scheme
from miniservice.rules.money import to_fen
from miniservice.rules.quote import quote as engine_quote
from miniservice.rules.quote_model import CitizenFacts, Payer, Quote, Route
from miniservice.rules.schema import GuidanceRules, PayChannel, RegionRules

HORIZON_DAYS = 30  # an order never outlives a month, even when nothing in the rules would change it
PREPAY_REUSE = timedelta(minutes=110)  # WeChat Pay's prepay_id lives two hours

UNBOUND = "请先在公众号中绑定身份后再缴费。"
NOT_PAYABLE = "该项目当前无需缴纳或不能线上缴纳，请刷新页面查看最新情况。"
NOT_YOURS = "只能为本人或与您绑定家庭共济的亲属缴费。"
CHANNEL_DOWN = "微信支付暂时无法连接，本次没有扣款，请稍后再试。"
CLOSING = "上一笔订单正在关闭，请稍后再试。"


@dataclass(frozen=True, slots=True)
class Payable:
    """Something a citizen may pay now, for themself or a linked relative."""

    person_id: int
    kind: str  # backpay / premium / relative_premium
    item: str
    amount: Decimal
    quote: Quote
    relative_name: str | None = None
    channel: str | None = None  # None: no online channel in this region; the page says where to go
    guidance: GuidanceRules | None = None
    channel_cite: Citation | None = None  # where the rule file says this city collects, or 示例数据

    @property
    def open_key(self) -> str:
        return f"{self.person_id}:{self.item}"


def quote_of(session: Session, person_id: int, on_date: date) -> PersonQuote:
    """The one call into the quote service: the quote an order freezes."""
    return person_quote(session, person_id, on_date)


def _item(found: PersonQuote, kind: str) -> tuple[str, Decimal] | None:
    """(item, amount) when ``found`` is payable online by the citizen now."""
    result = found.quote
    if not (result.route.possible and result.route.how is Route.ONLINE and found.due):
        return None
    if found.scheme is Scheme.FLEXIBLE and kind == "backpay" and result.lines:
        if any(line.payer is not Payer.CITIZEN for line in result.lines):
            return None
        return f"backpay:{result.facts.gap_first}:{result.facts.gap_last}", to_fen(result.totals.citizen_owes)
    if found.scheme is Scheme.RESIDENT and kind in ("premium", "relative_premium") and result.resident:
        return f"premium:{result.resident.coverage_year}", to_fen(result.resident.premium)
    return None


def own_payable(session: Session, found: PersonQuote, today: date) -> Decimal | None:
    """What the citizen may pay for their own quote on this service's 网上缴费 page (the amount its item
    there shows), or None where that page has nothing for them: the quote and 居民医保 pages offer the
    button exactly when the pay page would list the item."""
    item = _item(found, _own_kind(found.person))
    if item is None:
        return None
    return item[1] if _collecting(rules_on(session, found.person.region_code, today)) else None


def _own_kind(person: Person) -> str:
    """What a citizen pays for themself here: a 灵活就业 back-payment, else a 居民医保 premium."""
    return "backpay" if person.scheme is Scheme.FLEXIBLE else "premium"


def _collecting(rules: RegionRules) -> str | None:
    """The channel this service collects through in the region, or None where it collects nothing."""
    channel = rules.guidance.pay_channel.value
    return None if channel is PayChannel.NONE else channel.value


def payables(session: Session, payer: Person, today: date) -> list[Payable]:
    """The payer's own item (灵活就业 back-payment or 居民医保 premium) and each linked relative's premium."""
    assert payer.id is not None
    wanted = [(payer.id, _own_kind(payer), None)]
    links = session.execute(select(FamilyLink.relative_id).where(
        FamilyLink.holder_id == payer.id, FamilyLink.status == "active")).scalars().all()
    for relative_id in links:
        relative = session.get(Person, relative_id)
        if relative is not None and relative.scheme is Scheme.RESIDENT:
            wanted.append((relative_id, "relative_premium", relative.name_masked))
    found = []
    for person_id, kind, name in wanted:
        try:
            quoted = quote_of(session, person_id, today)
        except QuoteUnavailable:
            continue
        item = _item(quoted, kind)
        if item is None:
            continue
        rules = rules_on(session, quoted.person.region_code, today)
        found.append(Payable(person_id, kind, item[0], item[1], quoted.quote, name, _collecting(rules),
                             rules.guidance, cite(rules, "guidance.pay_channel", rules.guidance.pay_channel)))
    return found


def _signature(result: Quote) -> tuple[Any, ...]:
    resident = result.resident
    return (result.version, to_fen(result.totals.citizen_owes), result.route.how,
            resident.coverage_year if resident else None, to_fen(resident.premium) if resident else None)


def expires_on(session: Session, region: str, facts: CitizenFacts, frozen: Quote, today: date) -> date:
    """The last day on which the engine, given the same facts, still gives the same figures."""
    expected = _signature(frozen)
    for offset in range(1, HORIZON_DAYS + 1):
        day = today + timedelta(days=offset)
        try:
            again = engine_quote(rules_on(session, region, day), facts, day)
        except (QuoteUnavailable, QuoteError):  # no rules that day, or the engine refuses: the figures do not hold
            return day - timedelta(days=1)
        if _signature(again) != expected:
            return day - timedelta(days=1)
    return today + timedelta(days=HORIZON_DAYS)


def frozen_json(payable: Payable) -> str:
    facts = payable.quote.facts
    return json.dumps({
        "quote": payable.quote.to_json(),
        "facts": {"region": facts.region, "scheme": facts.scheme.value, "cause": facts.cause.value,
                  "gap_first": str(facts.gap_first) if facts.gap_first else None,
                  "gap_last": str(facts.gap_last) if facts.gap_last else None,
                  "continuous_months_before": facts.continuous_months_before,
                  "paid_months": facts.paid_months, "unemployed": facts.unemployed},
    }, ensure_ascii=False)


def bound_payer(session: Session, openid: str) -> Person:
    person_id = session.execute(select(Binding.person_id).where(Binding.openid == openid)).scalar_one_or_none()
    person = session.get(Person, person_id) if person_id else None
    if person is None:
        raise PayError(UNBOUND, 403)
    return person


def new_out_trade_no(today: date) -> str:
    """``MS`` + local date + 20 random hex digits: unique, unguessable, 30 characters (WeChat: ≤ 32)."""
    return f"MS{today:%Y%m%d}{secrets.token_hex(10).upper()}"


def open_order(db: Database, app: Flask, openid: str, person_id: int, item: str, today: date) -> PayOrder:
    """The open order for ``item`` of ``person_id``: the existing one, or a new one from a fresh quote."""
    with db.reading() as session:
        payer = bound_payer(session, openid)
        existing = session.execute(
            select(PayOrder).where(PayOrder.open_key == f"{person_id}:{item}")).scalar_one_or_none()
    if existing is not None:
        if existing.openid != openid:
            raise PayError(NOT_YOURS, 403)
        if existing.expires_on >= today:
            return existing
        close_order(db, app, existing, "expired")
    with db.reading() as session:
        payable = next((p for p in payables(session, payer, today)
                        if p.person_id == person_id and p.item == item), None)
        if payable is None:
            if person_id != payer.id and not _linked(session, payer.id, person_id):
                raise PayError(NOT_YOURS, 403)
            raise PayError(NOT_PAYABLE)
        if payable.channel is None:
            raise PayError("本服务号暂不能直接收取本地区的医保费，请按网上缴费页面的提示到其他渠道缴纳。")
        facts = payable.quote.facts
        expiry = expires_on(session, facts.region, facts, payable.quote, today)
    order = PayOrder(
        out_trade_no=new_out_trade_no(today), open_key=payable.open_key, openid=openid, payer_id=payer.id,
        person_id=person_id, kind=payable.kind, item=item, amount=payable.amount,
        region_code=payable.quote.region_code, rule_version=payable.quote.version, frozen=frozen_json(payable),
        quoted_on=today, expires_on=expiry, channel=payable.channel,
    )
    try:
        with db.transaction() as session:
            session.add(order)
    except IntegrityError:  # a second tap committed first: that order is the one
        with db.reading() as session:
            winner = session.execute(
                select(PayOrder).where(PayOrder.open_key == payable.open_key)).scalar_one_or_none()
        if winner is None:
            raise
        return winner
    return order


def _linked(session: Session, holder_id: int, relative_id: int) -> bool:
    return session.execute(select(FamilyLink.id).where(
        FamilyLink.holder_id == holder_id, FamilyLink.relative_id == relative_id,
        FamilyLink.status == "active")).first() is not None


def order_for(session: Session, openid: str, out_trade_no: str) -> PayOrder:
    order = session.execute(select(PayOrder).where(PayOrder.out_trade_no == out_trade_no)).scalar_one_or_none()
    if order is None or order.openid != openid:
        raise PayError("未找到该缴费订单。", 404)
    return order


def end_of(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(tz))


def describe(order: PayOrder) -> str:
    """The goods description WeChat shows on the citizen's bill (≤ 127 bytes)."""
    kind, _, rest = order.item.partition(":")
    if kind == "premium":
        return f"{rest}年度城乡居民医保费"
    first, _, last = rest.partition(":")
    return f"职工医保补缴{first}至{last}"


def start_payment(db: Database, app: Flask, openid: str, out_trade_no: str, today: date) -> dict[str, str]:
    """Signed JSAPI parameters for the order's page; a prepay younger than two hours is reused."""
    tz = state.settings(app).timezone
    with db.reading() as session:
        order = order_for(session, openid, out_trade_no)
    if order.status != "open":
        raise PayError("该订单已支付或已关闭，请返回查看结果。")
    if order.expires_on < today:
        raise PayError("报价已过期，请返回重新获取最新金额。")
    channel = channel_named(app, order.channel)
    if channel is None:
        raise PayError(CHANNEL_DOWN, 503)
    if order.prepay_id and order.prepaid_at and now_utc() - order.prepaid_at < PREPAY_REUSE:
        return channel.jsapi_params(order.prepay_id)
    try:
        prepay = channel.prepay(order.out_trade_no, describe(order), order.amount, openid,
                                end_of(order.expires_on, tz))
    except ChannelUnavailable as exc:
        app.logger.warning("prepay for %s failed: %s", order.out_trade_no, exc)
        raise PayError(CHANNEL_DOWN, 503) from None
    with db.transaction() as session:
        stored = session.get(PayOrder, order.id)
        assert stored is not None
        stored.prepay_id, stored.prepaid_at = prepay.prepay_id, now_utc()
    return prepay.jsapi


def close_order(db: Database, app: Flask, order: PayOrder, why: str) -> str:
    """Close an open order at the channel and here; a payment found meanwhile is applied instead.

    Query first: a citizen may have paid in the last second, and that payment must be settled, not
    lost behind a closed order. Returns the order's status afterwards.
    """
    from miniservice.payments.settlement import receive

    channel: Channel | None = channel_named(app, order.channel)
    if order.prepay_id and channel is not None:
        try:
            found = channel.query(order.out_trade_no)
            if found.paid:
                receive(db, app, order.channel, found, source="query")
                return "paid"
            channel.close(order.out_trade_no)
        except ChannelUnavailable as exc:
            app.logger.warning("closing %s failed: %s", order.out_trade_no, exc)
            raise PayError(CLOSING, 503) from None
    with db.transaction() as session:
        stored = session.get(PayOrder, order.id, with_for_update=True)
        assert stored is not None
        if stored.status == "open":
            stored.status, stored.open_key, stored.closed_at = "closed", None, now_utc()
            record(session, "system:payments", "payment.order_closed", f"pay_order:{order.id}", why=why)
        return stored.status


def close_expired(db: Database, app: Flask, today: date) -> int:
    """The daily sweep: open orders past their expiry are closed (or settled, if paid meanwhile)."""
    with db.reading() as session:
        stale = session.execute(select(PayOrder).where(
            PayOrder.status == "open", PayOrder.expires_on < today)).scalars().all()
    closed = 0
    for order in stale:
        try:
            closed += close_order(db, app, order, "expired") == "closed"
        except PayError:
            continue
    return closed
