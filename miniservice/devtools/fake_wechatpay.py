"""A fake WeChat Pay API v3 server: real HTTP, WeChat Pay's paths, JSON, signatures and encryption.

What it checks and produces, as WeChat Pay does (so the real ``wechatpayv3`` client is exercised):

* every request's ``Authorization: WECHATPAY2-SHA256-RSA2048 …`` is verified with the merchant's
  public key (method, path with query, timestamp, nonce, body); a bad one answers 401 SIGN_ERROR;
* every answer is signed with the *platform* private key (``Wechatpay-Signature``/``-Timestamp``/
  ``-Nonce``/``-Serial`` = the platform public key id), which the client verifies;
* notifies carry the transaction as an AEAD_AES_256_GCM ``resource`` under the APIv3 key, signed the
  same way, and are POSTed to the order's ``notify_url`` asynchronously after a payment.

Endpoints: ``v3/pay/transactions/jsapi``, ``v3/pay/transactions/out-trade-no/{no}`` (query),
``…/{no}/close``, ``v3/refund/domestic/refunds``, ``v3/bill/tradebill`` and ``v3/billdownload/file``.
The cashier page ``__fake__/pay/cashier`` stands in for WeChat's own (pay, fail or cancel), after
checking the page's ``paySign`` like the WeChat client does.

Refunds (``v3/refund/domestic/refunds``, by transaction id or order number) answer PROCESSING, once
per refund number, and then send the refund's notify (``REFUND.SUCCESS``, or ``refund_outcome`` =
``ABNORMAL`` / ``CLOSED``); :meth:`refund_notify` re-sends one on demand.

On demand, for tests and the demo: :meth:`notify` re-sends (repeated, late), with ``forged=True``
(signed by another key), ``amount=`` (a paid amount that differs), ``age=`` (an old timestamp);
:meth:`second_payment` books another payment (another transaction id) of an order already paid;
``hold_notifies`` keeps notifies back so they can be released later or in reverse order
(:meth:`release`); :meth:`stray_payment` books a payment for no order of ours; :meth:`delay`
makes a path slow enough to time the client out.
"""

from __future__ import annotations

import base64
import csv
import gzip
import html
import io
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlencode

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from werkzeug.wrappers import Request, Response

from miniservice.devtools.server import BackgroundServer
from miniservice.payments.keys import FAKE_PLATFORM_KEY, PayKeys, public_pem

CST = timezone(timedelta(hours=8))
HTML = "text/html; charset=utf-8"
_AUTH = re.compile(r'(\w+)="([^"]*)"')
BILL_HEADER = ["交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识",
               "交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额", "微信退款单号",
               "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包",
               "手续费", "费率", "订单金额", "申请退款金额", "费率备注"]


CASHIER_STYLE = (  # about what WeChat's own cashier looks like on a phone: one amount, large buttons
    "body{font-family:sans-serif;margin:0;padding:24px 16px;text-align:center;background:#ededed;color:#111}"
    "h1{font-size:20px;font-weight:500}p{font-size:17px}#cashier-amount{font-size:36px;font-weight:600}"
    "button{display:block;width:100%;min-height:48px;margin:12px 0;font-size:18px;border:0;border-radius:8px;"
    "background:#fff;color:#111}button[value=success]{background:#077d3c;color:#fff}"
    ".hint{font-size:15px;color:#555}")


@dataclass
class FakeOrder:
    out_trade_no: str
    appid: str
    description: str
    total: int  # 分
    openid: str
    notify_url: str
    prepay_id: str
    state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: str | None = None
    paid_total: int | None = None
    refunds: list[str] = field(default_factory=list)


@dataclass
class FakeRefund:
    out_refund_no: str
    refund_id: str
    payment: FakeOrder
    refund: int  # 分
    notify_url: str
    status: str = "PROCESSING"
    success_time: str | None = None


def _sign(key: rsa.RSAPrivateKey, text: str) -> str:
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


class FakeWeChatPay:
    def __init__(self, keys_dir: Path, *, host: str = "127.0.0.1", port: int = 0,
                 clock: Callable[[], float] = time.time) -> None:
        self.keys = PayKeys.load(keys_dir)
        self._platform = serialization.load_pem_private_key((keys_dir / FAKE_PLATFORM_KEY).read_bytes(), None)
        self._merchant_public = serialization.load_pem_public_key(public_pem(self.keys.private_key).encode())
        self._aes = AESGCM(self.keys.apiv3_key.encode())
        self._clock = clock
        self._server = BackgroundServer(self.wsgi_app, host=host, port=port)
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget every order and notify; a notify still on its way (posted in the background by the
        previous test or demo step) lands first, so it cannot appear among the next one's."""
        if hasattr(self, "_threads"):
            self.wait_for_notifies()
        with getattr(self, "_lock", threading.RLock()):
            self.orders: dict[str, FakeOrder] = {}
            self.extra_payments: dict[str, FakeOrder] = {}  # by transaction id: second payments of an order
            self.refunds: dict[str, FakeRefund] = {}
            self.refund_outcome = "SUCCESS"
            self.hold_notifies = False
            self.held: list[tuple[str, bytes, dict[str, str]]] = []
            self.delivered: list[tuple[str, int]] = []  # (out_trade_no, status the app answered)
            self._delays: dict[str, list[float]] = {}
            self._bills: dict[str, bytes] = {}
            self._threads: list[threading.Thread] = []

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self._server.base_url

    # -- what a test or the demo asks for ---------------------------------------------------------

    def delay(self, path_part: str, seconds: float, times: int = 1) -> None:
        with self._lock:
            self._delays.setdefault(path_part, []).extend([seconds] * times)

    def order(self, out_trade_no: str) -> FakeOrder:
        with self._lock:
            return self.orders[out_trade_no]

    def pay(self, prepay_id: str, outcome: str = "success", *, paid_total: int | None = None,
            openid: str | None = None) -> FakeOrder:
        """The citizen's action in the cashier: ``success`` (then the notify goes out), ``fail``, ``cancel``."""
        with self._lock:
            order = next(o for o in self.orders.values() if o.prepay_id == prepay_id)
            if order.state not in ("NOTPAY", "PAYERROR"):  # a failed try may be tried again
                return order
            if outcome == "cancel":  # the new try was abandoned: nothing is owed to it, as before any try
                order.state = "NOTPAY"
                return order
            if outcome == "fail":
                order.state = "PAYERROR"
                return order
            order.state, order.transaction_id = "SUCCESS", "42000" + secrets.token_hex(12)
            order.success_time = datetime.fromtimestamp(self._clock(), CST).isoformat(timespec="seconds")
            order.paid_total = order.total if paid_total is None else paid_total
            if openid is not None:
                order.openid = openid
        self.notify(order.out_trade_no, background=True)
        return order

    def stray_payment(self, out_trade_no: str, total: int, openid: str = "stranger") -> FakeOrder:
        """A payment the bill shows for an order the merchant never made (or made elsewhere)."""
        with self._lock:
            order = FakeOrder(out_trade_no, self.keys.mchid, "unknown", total, openid, "", "none")
            order.state, order.transaction_id, order.paid_total = "SUCCESS", "42000" + secrets.token_hex(12), total
            order.success_time = datetime.fromtimestamp(self._clock(), CST).isoformat(timespec="seconds")
            self.orders[out_trade_no] = order
            return order

    def second_payment(self, out_trade_no: str) -> FakeOrder:
        """Another payment (another transaction id) of an order already paid, as a buggy client or a
        merchant mistake could produce; its notify goes out like the first one's."""
        with self._lock:
            first = self.orders[out_trade_no]
            again = replace(first, transaction_id="42000" + secrets.token_hex(12), refunds=[],
                            success_time=datetime.fromtimestamp(self._clock(), CST).isoformat(timespec="seconds"))
            self.extra_payments[str(again.transaction_id)] = again
        return again

    def notify(self, out_trade_no: str, *, forged: bool = False, amount: int | None = None, age: float = 0,
               background: bool = False, url: str | None = None, transaction_id: str | None = None) -> int | None:
        """POST the order's success notify now (or hold it); returns the app's HTTP status.
        ``transaction_id`` names a second payment of the order (:meth:`second_payment`)."""
        with self._lock:
            order = self.extra_payments[transaction_id] if transaction_id else self.orders[out_trade_no]
            resource = self._transaction(order)
            if amount is not None:
                resource["amount"]["total"] = resource["amount"]["payer_total"] = amount
            target = url or order.notify_url
        body, headers = self._notify_body(resource, forged=forged, age=age)
        return self._deliver(out_trade_no, target, body, headers, background)

    def refund_notify(self, out_refund_no: str, status: str | None = None, *, background: bool = False) -> int | None:
        """Finish a refund (``status`` or :attr:`refund_outcome`) and POST its notify, as WeChat Pay does."""
        with self._lock:
            refund = self.refunds[out_refund_no]
            refund.status = status or self.refund_outcome
            if refund.status == "SUCCESS":
                refund.success_time = datetime.fromtimestamp(self._clock(), CST).isoformat(timespec="seconds")
            paid = refund.payment.paid_total if refund.payment.paid_total is not None else refund.payment.total
            resource: dict[str, Any] = {
                "mchid": self.keys.mchid, "out_trade_no": refund.payment.out_trade_no,
                "transaction_id": refund.payment.transaction_id, "out_refund_no": out_refund_no,
                "refund_id": refund.refund_id, "refund_status": refund.status, "user_received_account": "支付用户零钱",
                "amount": {"total": paid, "refund": refund.refund, "payer_total": paid, "payer_refund": refund.refund}}
            if refund.success_time:
                resource["success_time"] = refund.success_time
        summary = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}.get(refund.status, "")
        body, headers = self._notify_body(resource, forged=False, age=0, event=f"REFUND.{refund.status}",
                                          summary=summary, kind="refund")
        return self._deliver(out_refund_no, refund.notify_url, body, headers, background)

    def _deliver(self, out_trade_no: str, target: str, body: bytes, headers: dict[str, str],
                 background: bool) -> int | None:
        """Post now, in the background, or keep it back (``hold_notifies``); ``delivered`` records each."""
        if self.hold_notifies:
            with self._lock:
                self.held.append((out_trade_no, body, headers | {"X-Target": target}))
            return None
        if background:
            thread = threading.Thread(target=self._post, args=(out_trade_no, target, body, headers), daemon=True)
            with self._lock:
                self._threads.append(thread)
            thread.start()
            return None
        return self._post(out_trade_no, target, body, headers)

    def release(self, *, reverse: bool = False) -> list[int]:
        """Deliver held notifies (as they were signed, so they arrive late), optionally newest first."""
        with self._lock:
            held, self.held = self.held, []
        if reverse:
            held.reverse()
        statuses = []
        for no, body, headers in held:
            target = headers.pop("X-Target")
            statuses.append(self._post(no, target, body, headers))
        return statuses

    def wait_for_notifies(self, timeout: float = 10) -> None:
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _post(self, out_trade_no: str, url: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            status = requests.post(url, data=body, headers=headers, timeout=10).status_code
        except requests.RequestException:
            status = 0
        with self._lock:
            self.delivered.append((out_trade_no, status))
        return status

    def _transaction(self, order: FakeOrder) -> dict[str, Any]:
        data: dict[str, Any] = {
            "appid": order.appid, "mchid": self.keys.mchid, "out_trade_no": order.out_trade_no,
            "trade_type": "JSAPI", "trade_state": order.state, "trade_state_desc": order.state,
            "payer": {"openid": order.openid},
            "amount": {"total": order.total, "currency": "CNY"},
        }
        if order.transaction_id:
            paid = order.paid_total if order.paid_total is not None else order.total
            data |= {"transaction_id": order.transaction_id, "success_time": order.success_time,
                     "bank_type": "OTHERS", "amount": {"total": paid, "payer_total": paid, "currency": "CNY",
                                                       "payer_currency": "CNY"}}
        return data

    def _notify_body(self, resource: dict[str, Any], *, forged: bool, age: float, event: str = "TRANSACTION.SUCCESS",
                     summary: str = "支付成功", kind: str = "transaction") -> tuple[bytes, dict[str, str]]:
        nonce = secrets.token_hex(6)  # 12 characters, as WeChat Pay sends
        ciphertext = self._aes.encrypt(nonce.encode(), json.dumps(resource).encode(), kind.encode())
        body = json.dumps({
            "id": secrets.token_hex(16), "create_time": datetime.now(CST).isoformat(timespec="seconds"),
            "resource_type": "encrypt-resource", "event_type": event, "summary": summary,
            "resource": {"original_type": kind, "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": base64.b64encode(ciphertext).decode(), "associated_data": kind,
                         "nonce": nonce},
        }).encode()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if forged else self._platform
        return body, self._signed_headers(body.decode(), key, at=self._clock() - age)

    def _signed_headers(self, body: str, key: Any = None, at: float | None = None) -> dict[str, str]:
        timestamp, nonce = str(int(self._clock() if at is None else at)), secrets.token_hex(16)
        return {"Content-Type": "application/json", "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce,
                "Wechatpay-Serial": self.keys.platform_public_key_id,
                "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
                "Wechatpay-Signature": _sign(key or self._platform, f"{timestamp}\n{nonce}\n{body}\n")}

    # -- HTTP ---------------------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path.strip("/")
        if path.startswith("__fake__/pay/cashier"):
            return self._cashier(request)(environ, start_response)
        for part, waits in list(self._delays.items()):
            if part in path and waits:
                with self._lock:
                    seconds = waits.pop(0)
                time.sleep(seconds)
        body = request.get_data(as_text=True)
        signed_path = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
        if not self._authorized(request.headers.get("Authorization", ""), request.method, signed_path, body):
            return self._answer(401, {"code": "SIGN_ERROR", "message": "签名错误"})(environ, start_response)
        return self._route(request, path, body)(environ, start_response)

    def _authorized(self, header: str, method: str, path: str, body: str) -> bool:
        if not header.startswith("WECHATPAY2-SHA256-RSA2048 "):
            return False
        parts = dict(_AUTH.findall(header))
        if parts.get("mchid") != self.keys.mchid or parts.get("serial_no") != self.keys.cert_serial_no:
            return False
        if abs(self._clock() - int(parts.get("timestamp", "0"))) > 300:
            return False
        message = f"{method}\n{path}\n{parts.get('timestamp')}\n{parts.get('nonce_str')}\n{body}\n"
        try:
            self._merchant_public.verify(base64.b64decode(parts.get("signature", "")), message.encode(),
                                         padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    def _answer(self, status: int, data: dict[str, Any] | None = None, raw: bytes | None = None) -> Response:
        if raw is not None:
            return Response(raw, status=status, content_type="application/octet-stream")
        text = json.dumps(data, ensure_ascii=False) if data is not None else ""
        response = Response(text, status=status, content_type="application/json")
        for name, value in self._signed_headers(text).items():
            if name != "Content-Type":
                response.headers[name] = value
        return response

    def _route(self, request: Request, path: str, body: str) -> Response:
        with self._lock:
            if path == "v3/pay/transactions/jsapi" and request.method == "POST":
                return self._prepay(json.loads(body))
            found = re.fullmatch(r"v3/pay/transactions/out-trade-no/([^/]+)(/close)?", path)
            if found:
                order = self.orders.get(found.group(1))
                if order is None:
                    return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
                if found.group(2):
                    if order.state == "SUCCESS":
                        return self._answer(400, {"code": "ORDER_PAID", "message": "订单已支付"})
                    order.state = "CLOSED"
                    return self._answer(204)
                return self._answer(200, self._transaction(order))
            if path == "v3/refund/domestic/refunds" and request.method == "POST":
                return self._refund(json.loads(body))
            if path == "v3/bill/tradebill":
                token = secrets.token_hex(8)
                self._bills[token] = self._bill(request.args.get("bill_date", ""))
                return self._answer(200, {"hash_type": "SHA1", "hash_value": "",
                                          "download_url": f"{self.base_url}v3/billdownload/file?token={token}"})
            if path == "v3/billdownload/file":
                content = self._bills.pop(request.args.get("token", ""), None)
                if content is None:
                    return self._answer(404, {"code": "NO_STATEMENT_EXIST", "message": "账单不存在"})
                return self._answer(200, raw=content)
        return self._answer(404, {"code": "NOT_FOUND", "message": "无此接口"})

    def _prepay(self, data: dict[str, Any]) -> Response:
        if data.get("mchid") != self.keys.mchid or not data.get("notify_url", "").startswith("http"):
            return self._answer(400, {"code": "PARAM_ERROR", "message": "参数错误"})
        no, total = data["out_trade_no"], int(data["amount"]["total"])
        existing = self.orders.get(no)
        if existing is not None:
            if existing.state == "SUCCESS":
                return self._answer(400, {"code": "ORDER_PAID", "message": "订单已支付"})
            if existing.state == "CLOSED":
                return self._answer(400, {"code": "ORDER_CLOSED", "message": "订单已关闭"})
            if existing.total != total:
                return self._answer(400, {"code": "INVALID_REQUEST", "message": "订单号重复"})
            return self._answer(200, {"prepay_id": existing.prepay_id})
        order = FakeOrder(no, data["appid"], data["description"], total, data["payer"]["openid"],
                          data["notify_url"], "wx" + secrets.token_hex(15))
        self.orders[no] = order
        return self._answer(200, {"prepay_id": order.prepay_id})

    def _refund(self, data: dict[str, Any]) -> Response:
        """One refund per refund number (a repeated request gets the same answer), then its notify."""
        tid = data.get("transaction_id")
        payments = [*self.orders.values(), *self.extra_payments.values()]
        order = next((o for o in payments if (o.transaction_id == tid if tid else
                                              o.out_trade_no == data.get("out_trade_no"))), None)
        if order is None or order.state not in ("SUCCESS", "REFUND"):
            return self._answer(404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"})
        number = data["out_refund_no"]
        refund = self.refunds.get(number)
        if refund is None:
            refund = FakeRefund(number, "50000" + secrets.token_hex(10), order, int(data["amount"]["refund"]),
                                data.get("notify_url", order.notify_url))
            self.refunds[number] = refund
            order.refunds.append(number)
            order.state = "REFUND"
        answer = self._answer(200, {"refund_id": refund.refund_id, "out_refund_no": number,
                                    "transaction_id": order.transaction_id, "out_trade_no": order.out_trade_no,
                                    "status": refund.status, "amount": data["amount"]})
        if refund.status == "PROCESSING":  # accepted now, finished a moment later
            self.refund_notify(number, background=True)
        return answer

    def _bill(self, day: str) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(BILL_HEADER)
        total = 0
        count = 0
        for o in [*self.orders.values(), *self.extra_payments.values()]:
            if not (o.transaction_id and o.success_time and o.success_time.startswith(day)):
                continue
            paid = o.paid_total if o.paid_total is not None else o.total
            total += paid
            count += 1
            row = {"交易时间": o.success_time.replace("T", " ")[:19], "公众账号ID": o.appid, "商户号": self.keys.mchid,
                   "微信订单号": o.transaction_id, "商户订单号": o.out_trade_no, "用户标识": o.openid,
                   "交易类型": "JSAPI", "交易状态": "SUCCESS", "货币种类": "CNY", "应结订单金额": f"{paid / 100:.2f}",
                   "商品名称": o.description, "订单金额": f"{paid / 100:.2f}"}
            writer.writerow(["`" + row.get(name, "") for name in BILL_HEADER])
        writer.writerow(["总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额",
                         "申请退款总金额"])
        writer.writerow([f"`{count}", f"`{total / 100:.2f}", "`0.00", "`0.00", "`0.00", f"`{total / 100:.2f}", "`0.00"])
        return gzip.compress(out.getvalue().encode("utf-8"))

    # -- the cashier page (WeChat's own UI in real life) ------------------------------------------

    def _cashier(self, request: Request) -> Response:
        params = request.values
        with self._lock:
            prepay_id = params.get("package", "").removeprefix("prepay_id=")
            order = next((o for o in self.orders.values() if o.prepay_id == prepay_id), None)
        message = "\n".join([params.get("appId", ""), params.get("timeStamp", ""), params.get("nonceStr", ""),
                             params.get("package", "")]) + "\n"
        try:
            self._merchant_public.verify(base64.b64decode(params.get("paySign", "")), message.encode(),
                                         padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            order = None
        if order is None:
            return Response("<p>支付验证失败：签名错误或订单不存在。</p>", status=400, content_type=HTML)
        if request.method == "POST":
            self.pay(prepay_id, params.get("outcome", "cancel"))
            self.wait_for_notifies()
            return Response(status=303, headers={"Location": params.get("return", "/")})
        hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in params.items()
                         if k in ("appId", "timeStamp", "nonceStr", "package", "signType", "paySign", "return"))
        buttons = "".join(f'<button name="outcome" value="{value}">{label}</button>'
                          for value, label in (("success", "确认支付"), ("fail", "支付失败"), ("cancel", "取消")))
        page = (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>微信支付</title>'
                f'<style>{CASHIER_STYLE}</style><h1>微信支付（模拟）</h1>'
                f'<p>{html.escape(order.description)}</p><p id="cashier-amount">￥{order.total / 100:,.2f}</p>'
                f'<form method="post" action="?{html.escape(urlencode({"package": params.get("package", "")}))}">'
                f'{hidden}{buttons}</form><p class="hint">演示用的模拟收银台，不会真的扣款。</p></html>')
        return Response(page, content_type=HTML)

