"""WeChat Pay API v3 (JSAPI) through ``wechatpayv3``: prepay, page signature, notify, query, close,
refund and the daily trade bill.

The SDK signs every request (RSA-SHA256 with the merchant key), verifies every answer and notify
against the platform public key, and decrypts the notify's AEAD_AES_256_GCM resource. Two things it
does not do, done here: it accepts a correctly signed notify of any age (a captured notify could be
replayed for ever), so a notify's timestamp must be within :data:`NOTIFY_MAX_AGE` of now; and its
gateway is a fixed attribute (``Core._gate_way``), which ``pay_api_base`` replaces for the fake server.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import secrets
import time
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import requests
from wechatpayv3 import WeChatPay, WeChatPayType

from miniservice.config import Settings
from miniservice.payments.channels import BadNotify, BillLine, ChannelUnavailable, Prepay, RefundState, Transaction
from miniservice.payments.keys import PayKeys
from miniservice.rules.money import FEN

NOTIFY_MAX_AGE = 300  # seconds; WeChat Pay retries a failed notify with fresh signatures
TIMEOUT = (3, 8)  # connect, read: a slow pay API must not hold a citizen's page or a worker


def fen(amount: Decimal) -> int:
    return int(amount / FEN)


def yuan(total: int) -> Decimal:
    return Decimal(total) * FEN


class WeChatPayChannel:
    name = "wechatpay"

    def __init__(self, settings: Settings, keys: PayKeys) -> None:
        self.appid = settings.wechat_app_id
        self.keys = keys
        self.notify_url = settings.public_base_url + "/pay/notify/wechatpay"
        self.client = WeChatPay(
            wechatpay_type=WeChatPayType.JSAPI, mchid=keys.mchid, private_key=keys.private_key,
            cert_serial_no=keys.cert_serial_no, appid=self.appid, apiv3_key=keys.apiv3_key,
            notify_url=self.notify_url, public_key=keys.platform_public_key,
            public_key_id=keys.platform_public_key_id, timeout=TIMEOUT,
        )
        if settings.pay_api_base:
            self.client._core._gate_way = settings.pay_api_base.rstrip("/")

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        try:
            return method(*args, **kwargs)
        except requests.RequestException as exc:
            raise ChannelUnavailable(f"WeChat Pay did not answer: {type(exc).__name__}") from exc
        except Exception as exc:  # the SDK raises a bare Exception when an answer's signature fails
            raise ChannelUnavailable(f"WeChat Pay answer refused: {exc}") from exc

    def _ok(self, answer: tuple[int, Any], *expected: int) -> Any:
        code, body = answer
        if code not in expected:
            raise ChannelUnavailable(f"WeChat Pay answered {code}: {str(body)[:200]}")
        return json.loads(body) if isinstance(body, str) and body else body

    def prepay(self, out_trade_no: str, description: str, amount: Decimal, openid: str,
               expires_at: datetime) -> Prepay:
        data = self._ok(self._call(
            self.client.pay, description=description, out_trade_no=out_trade_no,
            amount={"total": fen(amount), "currency": "CNY"}, payer={"openid": openid},
            time_expire=expires_at.isoformat(timespec="seconds"), pay_type=WeChatPayType.JSAPI,
        ), 200)
        prepay_id = data["prepay_id"]
        return Prepay(prepay_id, self.jsapi_params(prepay_id))

    def jsapi_params(self, prepay_id: str) -> dict[str, str]:
        """The parameters ``WeixinJSBridge.invoke('getBrandWCPayRequest', …)`` needs, signed."""
        timestamp, nonce, package = str(int(time.time())), secrets.token_hex(16), f"prepay_id={prepay_id}"
        signature = self.client.sign([self.appid, timestamp, nonce, package])
        return {"appId": self.appid, "timeStamp": timestamp, "nonceStr": nonce, "package": package,
                "signType": "RSA", "paySign": signature}

    def parse_notify(self, headers: dict[str, str], body: bytes) -> Transaction | RefundState:
        """A payment's notify (TRANSACTION.SUCCESS) or a refund's (REFUND.SUCCESS/ABNORMAL/CLOSED), verified."""
        try:
            sent_at = int(headers.get("Wechatpay-Timestamp", ""))
        except ValueError:
            raise BadNotify("no timestamp") from None
        if abs(time.time() - sent_at) > NOTIFY_MAX_AGE:
            raise BadNotify("notify too old or from the future")
        try:
            result = self.client.callback(headers, body)
        except Exception as exc:  # the SDK raises a bare Exception for an unknown algorithm
            raise BadNotify(str(exc)) from exc
        if not result or not isinstance(result.get("resource"), dict):
            raise BadNotify("signature or encryption does not verify")
        if str(result.get("event_type", "")).startswith("REFUND."):
            return self._refund_state(result["resource"])
        return self._transaction(result["resource"])

    @staticmethod
    def _refund_state(data: dict[str, Any]) -> RefundState:
        success = data.get("success_time")
        return RefundState(
            out_refund_no=str(data.get("out_refund_no", "")),
            status=str(data.get("refund_status") or data.get("status") or ""),
            refund_id=data.get("refund_id") or None, transaction_id=data.get("transaction_id") or None,
            success_time=datetime.fromisoformat(success) if success else None, mchid=data.get("mchid"),
        )

    def _transaction(self, data: dict[str, Any]) -> Transaction:
        amount = data.get("amount") or {}
        success = data.get("success_time")
        return Transaction(
            out_trade_no=str(data.get("out_trade_no", "")), trade_state=str(data.get("trade_state", "")),
            transaction_id=data.get("transaction_id") or None,
            amount=yuan(int(amount["total"])) if "total" in amount else None,
            payer_openid=(data.get("payer") or {}).get("openid"),
            success_time=datetime.fromisoformat(success) if success else None,
            appid=data.get("appid"), mchid=data.get("mchid"),
        )

    def query(self, out_trade_no: str) -> Transaction:
        return self._transaction(self._ok(self._call(self.client.query, out_trade_no=out_trade_no), 200))

    def close(self, out_trade_no: str) -> None:
        self._ok(self._call(self.client.close, out_trade_no=out_trade_no), 204, 200)

    def refund(self, transaction_id: str, out_refund_no: str, amount: Decimal, total: Decimal,
               reason: str) -> RefundState:
        """Refund by the payment's transaction id: a second payment of one order shares its out_trade_no."""
        data = self._ok(self._call(
            self.client.refund, out_refund_no=out_refund_no, amount={
                "refund": fen(amount), "total": fen(total), "currency": "CNY"},
            transaction_id=transaction_id, reason=reason,
        ), 200)
        return self._refund_state(data)

    def bill(self, day: date) -> list[BillLine]:
        """The day's trade bill: WeChat's CSV (every value behind a backquote), gzipped."""
        data = self._ok(self._call(self.client.trade_bill, bill_date=day.isoformat()), 200)
        code, content = self._call(self.client.download_bill, data["download_url"])
        if code != 200 or not isinstance(content, bytes):
            raise ChannelUnavailable(f"bill download answered {code}")
        return parse_bill(gzip.decompress(content).decode("utf-8-sig"))


def parse_bill(text: str) -> list[BillLine]:
    """Rows of a trade bill up to its summary (the line starting 总交易单数)."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    header = [name.strip() for name in rows[0]]
    lines = []
    for row in rows[1:]:
        if not row or row[0].startswith("总"):
            break
        cells = dict(zip(header, (cell.strip().lstrip("`") for cell in row), strict=False))
        lines.append(BillLine(out_trade_no=cells["商户订单号"], transaction_id=cells["微信订单号"],
                              trade_state=cells["交易状态"], amount=Decimal(cells["应结订单金额"]),
                              at=cells["交易时间"]))
    return lines
