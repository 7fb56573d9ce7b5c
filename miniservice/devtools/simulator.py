"""Simulate WeChat's servers delivering messages and events to our callback (``/wechat/callback``).

Why: the callback is where WeChat's protocol is strictest — signatures, the AES envelope of safe
mode, a 5-second deadline and up to three retries of the same delivery. This module builds what
WeChat would POST (XML with ``ToUserName`` = the account's 原始ID, ``FromUserName`` = the user's
openid, ``CreateTime``; ``MsgId`` on messages), signs it, encrypts it in safe mode with wechatpy's
``WeChatCrypto`` (query ``signature``, ``timestamp``, ``nonce``, ``openid``, plus ``encrypt_type=aes``
and ``msg_signature``), posts it with ``requests`` and decodes the passive reply (decrypting and
verifying it in safe mode) into a :class:`Reply`.

Typical use::

    account = CallbackAccount(token="tok", app_id="wx…", aes_key="…43 chars…")   # aes_key: safe mode
    sim = Simulator("http://127.0.0.1:5000/wechat/callback", account)
    sim.subscribe(openid); reply = sim.text(openid, "缴费记录"); reply.content
    replies = sim.duplicate(text_xml(account, openid, "hi"))   # WeChat's retries, concurrently
"""

from __future__ import annotations

import argparse
import itertools
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

_msg_ids = itertools.count(6_054_768_590_064_713_728 + secrets.randbelow(10**12))


@dataclass(frozen=True)
class CallbackAccount:
    """The official account's 服务器配置 as WeChat knows it: Token, EncodingAESKey, AppID, 原始ID.

    ``aes_key`` set → safe mode (安全模式); unset → plain mode (明文模式).
    """

    token: str
    app_id: str = ""
    aes_key: str | None = None
    original_id: str = "gh_000000000000"

    @property
    def safe_mode(self) -> bool:
        return bool(self.aes_key)

    def crypto(self) -> WeChatCrypto:
        if not self.aes_key:
            raise ValueError("plain-mode account has no AES key")
        return WeChatCrypto(self.token, self.aes_key, self.app_id)


@dataclass(frozen=True)
class Delivery:
    """One HTTP POST as WeChat would send it: query parameters and body (``plain_xml`` before AES)."""

    params: dict[str, str]
    body: str
    plain_xml: str


@dataclass(frozen=True)
class Reply:
    """Our callback's answer as WeChat would read it.

    ``xml`` is the reply XML after decryption (None for an empty body or ``success``, which tell
    WeChat "no reply, stop retrying"); ``encrypted`` says whether it came in an AES envelope.
    """

    status: int
    raw: str
    xml: str | None = None
    msg_type: str | None = None
    content: str | None = None
    encrypted: bool = False
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def acknowledged(self) -> bool:
        """True when WeChat would stop retrying: HTTP 200 with ``success``, nothing, or a reply."""
        return self.status == 200 and (self.raw.strip() in ("", "success") or self.xml is not None)


# -- building the XML ----------------------------------------------------------------------------

def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml(fields: dict[str, str | int]) -> str:
    """WeChat's flat XML: strings in CDATA, integers bare (as WeChat sends CreateTime and MsgId)."""
    parts = [f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}>{_cdata(v)}</{k}>"
             for k, v in fields.items()]
    return "<xml>" + "".join(parts) + "</xml>"


def _head(account: CallbackAccount, openid: str, msg_type: str, create_time: int | None) -> dict[str, Any]:
    return {"ToUserName": account.original_id, "FromUserName": openid,
            "CreateTime": int(time.time()) if create_time is None else create_time, "MsgType": msg_type}


def text_xml(account: CallbackAccount, openid: str, content: str, *, msg_id: int | None = None,
             create_time: int | None = None) -> str:
    """A text message from ``openid``; ``msg_id`` defaults to a fresh 64-bit id."""
    fields = _head(account, openid, "text", create_time)
    fields |= {"Content": content, "MsgId": next(_msg_ids) if msg_id is None else msg_id}
    return _xml(fields)


def event_xml(account: CallbackAccount, openid: str, event: str, *, event_key: str | None = None,
              create_time: int | None = None, extra: dict[str, str | int] | None = None) -> str:
    """An event push (events carry no MsgId; WeChat dedup for them is FromUserName + CreateTime)."""
    fields = _head(account, openid, "event", create_time) | {"Event": event}
    if event_key is not None:
        fields["EventKey"] = event_key
    return _xml(fields | (extra or {}))


def subscribe_xml(account: CallbackAccount, openid: str, *, create_time: int | None = None) -> str:
    return event_xml(account, openid, "subscribe", event_key="", create_time=create_time)


def unsubscribe_xml(account: CallbackAccount, openid: str, *, create_time: int | None = None) -> str:
    return event_xml(account, openid, "unsubscribe", event_key="", create_time=create_time)


def click_xml(account: CallbackAccount, openid: str, key: str, *, create_time: int | None = None) -> str:
    return event_xml(account, openid, "CLICK", event_key=key, create_time=create_time)


def view_xml(account: CallbackAccount, openid: str, url: str, *, create_time: int | None = None) -> str:
    return event_xml(account, openid, "VIEW", event_key=url, create_time=create_time)


# -- signing and the envelope --------------------------------------------------------------------

def sign(token: str, timestamp: str, nonce: str) -> str:
    """Plain-mode URL signature: sha1 of the sorted, concatenated [token, timestamp, nonce]."""
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return signer.signature


def build_delivery(account: CallbackAccount, xml: str, *, timestamp: str | None = None,
                   nonce: str | None = None) -> Delivery:
    """Sign (and in safe mode encrypt) ``xml`` into the POST WeChat would send."""
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or str(secrets.randbelow(10**10))
    openid = xmltodict.parse(xml)["xml"].get("FromUserName") or ""
    params = {"signature": sign(account.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
              "openid": openid}
    if not account.safe_mode:
        return Delivery(params=params, body=xml, plain_xml=xml)
    envelope = xmltodict.parse(account.crypto().encrypt_message(xml, nonce, timestamp))["xml"]
    body = _xml({"ToUserName": account.original_id, "Encrypt": envelope["Encrypt"]})
    params |= {"encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]}
    return Delivery(params=params, body=body, plain_xml=xml)


def decode_reply(account: CallbackAccount, status: int, text: str) -> Reply:
    """Read a passive reply as WeChat would: verify and decrypt an AES envelope, parse the XML."""
    stripped = text.strip()
    if not stripped.startswith("<"):
        return Reply(status=status, raw=text)
    try:
        doc = xmltodict.parse(stripped)["xml"] or {}
    except Exception:  # not XML after all (an HTML error page): keep it raw for the assertion message
        return Reply(status=status, raw=text)
    encrypted = "Encrypt" in doc
    xml = stripped
    if encrypted:
        xml = account.crypto().decrypt_message(stripped, doc.get("MsgSignature"), doc.get("TimeStamp"),
                                               doc.get("Nonce"))
        doc = xmltodict.parse(xml)["xml"] or {}
    return Reply(status=status, raw=text, xml=xml, msg_type=doc.get("MsgType"), content=doc.get("Content"),
                 encrypted=encrypted, fields=dict(doc))


def post_delivery(url: str, account: CallbackAccount, delivery: Delivery, *, timeout: float = 5.0,
                  session: requests.Session | None = None) -> Reply:
    """POST a delivery like WeChat (``text/xml``, 5-second deadline) and decode the answer."""
    poster = session or requests
    response = poster.post(url, params=delivery.params, data=delivery.body.encode("utf-8"),
                           headers={"Content-Type": "text/xml"}, timeout=timeout)
    return decode_reply(account, response.status_code, response.text)


def send(url: str, account: CallbackAccount, xml: str, *, timeout: float = 5.0,
         session: requests.Session | None = None) -> Reply:
    """Build, sign and post ``xml`` in one step."""
    return post_delivery(url, account, build_delivery(account, xml), timeout=timeout, session=session)


def simulate_duplicate(url: str, account: CallbackAccount, xml: str, *, times: int = 3, threads: int = 3,
                       same_envelope: bool = False, timeout: float = 5.0) -> list[Reply]:
    """Deliver the same message ``times`` times, ``threads`` at once, as WeChat's retries can arrive.

    With ``same_envelope=False`` (default) each retry is signed afresh (new timestamp and nonce, new
    AES ciphertext), so only the message itself (MsgId, or FromUserName + CreateTime for events)
    can identify it as a duplicate — which is what the callback must de-duplicate on.
    """
    first = build_delivery(account, xml)
    deliveries = [first if same_envelope or i == 0 else build_delivery(account, xml) for i in range(times)]
    starters = min(times, threads)
    barrier = threading.Barrier(starters)

    def deliver(index: int) -> Reply:
        if index < starters:
            barrier.wait(timeout=timeout)
        return post_delivery(url, account, deliveries[index], timeout=timeout)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(deliver, range(times)))


class Simulator:
    """A callback URL plus account settings, with one method per thing a user can do in WeChat."""

    def __init__(self, callback_url: str, account: CallbackAccount, *, timeout: float = 5.0) -> None:
        self.callback_url = callback_url
        self.account = account
        self.timeout = timeout

    def send_xml(self, xml: str) -> Reply:
        return send(self.callback_url, self.account, xml, timeout=self.timeout)

    def subscribe(self, openid: str) -> Reply:
        return self.send_xml(subscribe_xml(self.account, openid))

    def unsubscribe(self, openid: str) -> Reply:
        return self.send_xml(unsubscribe_xml(self.account, openid))

    def click(self, openid: str, key: str) -> Reply:
        return self.send_xml(click_xml(self.account, openid, key))

    def view(self, openid: str, url: str) -> Reply:
        return self.send_xml(view_xml(self.account, openid, url))

    def text(self, openid: str, content: str) -> Reply:
        return self.send_xml(text_xml(self.account, openid, content))

    def duplicate(self, xml: str, *, times: int = 3, threads: int = 3, same_envelope: bool = False) -> list[Reply]:
        return simulate_duplicate(self.callback_url, self.account, xml, times=times, threads=threads,
                                  same_envelope=same_envelope, timeout=self.timeout)


_BUILDERS: dict[str, Callable[[CallbackAccount, str, list[str]], str]] = {
    "subscribe": lambda a, o, rest: subscribe_xml(a, o),
    "unsubscribe": lambda a, o, rest: unsubscribe_xml(a, o),
    "click": lambda a, o, rest: click_xml(a, o, rest[0]),
    "view": lambda a, o, rest: view_xml(a, o, rest[0]),
    "text": lambda a, o, rest: text_xml(a, o, " ".join(rest)),
}


def main(argv: list[str] | None = None) -> int:
    """``python -m miniservice.devtools.simulator URL --token T [--aes-key K --app-id A] KIND OPENID [ARG]``."""
    parser = argparse.ArgumentParser(description="Post a WeChat-signed message or event to a callback URL.")
    parser.add_argument("url")
    parser.add_argument("kind", choices=sorted(_BUILDERS))
    parser.add_argument("openid")
    parser.add_argument("arg", nargs="*", help="KEY for click, URL for view, words for text")
    parser.add_argument("--token", required=True)
    parser.add_argument("--aes-key", default=None, help="EncodingAESKey: use safe mode")
    parser.add_argument("--app-id", default="")
    parser.add_argument("--original-id", default="gh_000000000000")
    parser.add_argument("--duplicate", type=int, default=1, help="deliver N times concurrently")
    args = parser.parse_args(argv)
    if args.kind in ("click", "view", "text") and not args.arg:
        parser.error(f"{args.kind} needs an argument")
    account = CallbackAccount(args.token, args.app_id, args.aes_key, args.original_id)
    xml = _BUILDERS[args.kind](account, args.openid, args.arg)
    replies = (simulate_duplicate(args.url, account, xml, times=args.duplicate, threads=args.duplicate)
               if args.duplicate > 1 else [send(args.url, account, xml)])
    for reply in replies:
        print(f"HTTP {reply.status} type={reply.msg_type} content={reply.content!r}")
        print(reply.xml if reply.xml is not None else (reply.raw or "<empty>"))
    return 0 if all(r.acknowledged for r in replies) else 1


if __name__ == "__main__":
    raise SystemExit(main())
