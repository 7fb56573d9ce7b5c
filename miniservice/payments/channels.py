"""The small interface every collecting channel implements, and which channel a region uses.

A city's premiums may be collected by WeChat Pay on the bureau's merchant account, by the tax
bureau, or by a bank: the rest of the package only speaks to :class:`Channel`, and the region's rule
file names the channel (``guidance.pay_channel``). A channel that cannot be reached raises
:class:`ChannelUnavailable`; its answer is never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from flask import Flask

from miniservice import state


class ChannelUnavailable(RuntimeError):
    """No answer (timeout, connection) or an error answer: the caller retries later, nothing is lost."""


class BadNotify(ValueError):
    """A notify whose signature, time or encryption does not verify: it is refused, never stored."""


@dataclass(frozen=True, slots=True)
class Prepay:
    prepay_id: str
    jsapi: dict[str, str]  # what the H5 page hands to WeixinJSBridge ``getBrandWCPayRequest``


@dataclass(frozen=True, slots=True)
class Transaction:
    """What the channel says about one order (a verified notify or a query's answer)."""

    out_trade_no: str
    trade_state: str  # SUCCESS, NOTPAY, CLOSED, REFUND, PAYERROR, USERPAYING…
    transaction_id: str | None = None
    amount: Decimal | None = None  # yuan, whole 分
    payer_openid: str | None = None
    success_time: datetime | None = None
    appid: str | None = None
    mchid: str | None = None

    @property
    def paid(self) -> bool:
        return self.trade_state == "SUCCESS" and self.transaction_id is not None


@dataclass(frozen=True, slots=True)
class RefundState:
    """What the channel says about one refund: its answer to the request, or a verified refund notify."""

    out_refund_no: str
    status: str  # PROCESSING, then SUCCESS / ABNORMAL / CLOSED
    refund_id: str | None = None
    transaction_id: str | None = None
    success_time: datetime | None = None
    mchid: str | None = None


@dataclass(frozen=True, slots=True)
class BillLine:
    """One row of the channel's daily bill."""

    out_trade_no: str
    transaction_id: str
    trade_state: str
    amount: Decimal
    at: str


class Channel(Protocol):
    name: str

    def prepay(self, out_trade_no: str, description: str, amount: Decimal, openid: str,
               expires_at: datetime) -> Prepay: ...

    def jsapi_params(self, prepay_id: str) -> dict[str, str]: ...

    def parse_notify(self, headers: dict[str, str], body: bytes) -> Transaction | RefundState: ...

    def query(self, out_trade_no: str) -> Transaction: ...

    def close(self, out_trade_no: str) -> None: ...

    def refund(self, transaction_id: str, out_refund_no: str, amount: Decimal, total: Decimal,
               reason: str) -> RefundState: ...

    def bill(self, day: date) -> list[BillLine]: ...


CHANNEL_LABELS = {"wechatpay": "微信支付"}


def channel_named(app: Flask, name: str) -> Channel | None:
    """The app's channel called ``name``, or None when it is not configured (no keys, unknown name)."""
    channels: dict[str, Channel | None] = app.extensions.setdefault("miniservice.pay_channels", {})
    if name not in channels:
        channels[name] = _build(app, name)
    return channels[name]


def _build(app: Flask, name: str) -> Channel | None:
    if name != "wechatpay":
        return None
    from miniservice.payments.keys import PayKeys, PayKeysMissing
    from miniservice.payments.wechatpay import WeChatPayChannel

    settings = state.settings(app)
    directory = settings.pay_keys_dir
    if directory is None and not settings.is_production:
        directory = settings.instance_dir / "wechatpay"
    if directory is None:
        return None
    try:
        keys = PayKeys.load(directory)
    except PayKeysMissing:
        app.logger.warning("WeChat Pay is not configured: online payment is off")
        return None
    return WeChatPayChannel(settings, keys)
