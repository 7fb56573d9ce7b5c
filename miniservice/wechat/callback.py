"""``/wechat/callback``: the URL WeChat's servers call.

The order of checks is the point: signature and timestamp first (403 before any parsing), then size,
then a refusal of any DTD (entity expansion, external entities), then the message mode (in safe mode
only an encrypted body is accepted: WeChat's URL signature does not cover a plain body), wechatpy's
decryption, the nonce (a signed URL is good for one body, :mod:`miniservice.wechat.replay`), and last
a parse that checks every field the service reads, so that junk is a 400 and never a 500.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from miniservice import state
from miniservice.clock import now_utc
from miniservice.config import Settings
from miniservice.db import get_db
from miniservice.wechat import deliveries
from miniservice.wechat.replay import MAX_NONCE_LENGTH, NonceBook, body_digest, timestamp_is_fresh

bp = Blueprint("wechat", __name__, url_prefix="/wechat")

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# WeChat's openids are 28 characters of this alphabet, account ids ``gh_`` + 12; both fit here.
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DIGITS = re.compile(r"[0-9]{1,20}")
# The fields the service reads, and how long each may be; any of them that is not plain text is junk.
_TEXT_FIELDS = {"ToUserName": 64, "FromUserName": 64, "MsgType": 32, "Event": 64, "EventKey": 1024,
                "Content": 4096, "Url": 1024}


def _verify_url_signature(settings: Settings) -> None:
    try:
        check_signature(
            settings.wechat_token,
            request.args.get("signature", ""),
            request.args.get("timestamp", ""),
            request.args.get("nonce", ""),
        )
    except InvalidSignatureException:
        abort(403, "invalid signature")


def _refuse_dtd(xml: bytes) -> None:
    if _DTD.search(xml):
        abort(400, "XML with a DTD is not accepted")


@bp.get("/callback")
def verify() -> Response:
    """WeChat's URL check: echo ``echostr`` for a valid signature (plain text even in safe mode)."""
    _verify_url_signature(state.settings())
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post("/callback")
def receive() -> Response:
    settings = state.settings()
    _verify_url_signature(settings)
    now = now_utc()
    timestamp, nonce = request.args.get("timestamp", ""), request.args.get("nonce", "")
    if not timestamp_is_fresh(timestamp, now):
        abort(403, "timestamp outside the accepted window")
    if not nonce or len(nonce) > MAX_NONCE_LENGTH:
        abort(400, "missing or oversized nonce")
    request.max_content_length = settings.max_callback_bytes
    body = request.get_data(cache=False)
    _refuse_dtd(body)
    encrypted = request.args.get("encrypt_type") == "aes"
    if settings.message_mode == "safe" and not encrypted:
        abort(403, "safe mode accepts encrypted messages only")
    if settings.message_mode == "plain" and encrypted:
        abort(400, "safe mode is not configured")
    crypto = _crypto(settings) if encrypted else None
    if crypto is not None:
        try:
            body = crypto.decrypt_message(
                body,
                request.args.get("msg_signature", ""),
                request.args.get("timestamp", ""),
                request.args.get("nonce", ""),
            ).encode()
        except InvalidSignatureException:
            abort(403, "invalid msg_signature")
        except InvalidAppIdException:
            abort(400, "message is for another account")
        except Exception as exc:  # expat, base64, padding, struct ...: all from a corrupt envelope
            abort(400, f"cannot decrypt: {type(exc).__name__}")
        _refuse_dtd(body)
    if crypto is None:  # msg_signature binds an encrypted body to its URL; nothing binds a plain one
        nonces: NonceBook = current_app.extensions["miniservice.nonces"]
        if not nonces.admits(timestamp, nonce, body_digest(body), now):
            abort(403, "this signed URL was already used for another message")
    message = _parse(body)
    seen = current_app.extensions["miniservice.seen"]
    reply_text = deliveries.handle(get_db(), state.router(), settings, message, seen)
    if not reply_text:
        return Response("success", mimetype="text/plain")
    xml = create_reply(reply_text, message).render()
    if crypto is not None:
        xml = crypto.encrypt_message(xml, request.args.get("nonce", ""), request.args.get("timestamp"))
    return Response(xml, mimetype="application/xml")


def _crypto(settings: Settings) -> WeChatCrypto:
    if not settings.wechat_aes_key:
        abort(400, "safe mode is not configured")
    return WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id)


def _parse(body: bytes) -> Any:
    """wechatpy's parser raises many kinds of errors on junk, and converts fields only when they are
    read: every field is read and checked here, so that junk is the sender's 400, not our 500."""
    try:
        message = parse_message(body)
        if message is None:
            raise ValueError("empty body")
        _check_fields(message)
    except Exception as exc:  # expat, KeyError, ValueError, TypeError ... from untrusted input
        abort(400, f"malformed message: {type(exc).__name__}")
    return message


def _check_fields(message: Any) -> None:
    raw = message._data
    for name, limit in _TEXT_FIELDS.items():
        value = raw.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit or "\x00" in value):
            raise ValueError(f"{name} is not plain text within {limit} characters")
    for name in ("FromUserName", "ToUserName"):
        if not _ACCOUNT_ID.fullmatch(raw.get(name) or ""):
            raise ValueError(f"{name} is not an account id")
    for name in ("MsgId", "CreateTime"):
        value = raw.get(name)
        if (value is not None or name == "CreateTime") and not (
                isinstance(value, str) and _DIGITS.fullmatch(value)):
            raise ValueError(f"{name} is not a number")
    for field in type(message)._fields:  # every other declared field converts now, or fails here
        getattr(message, field)
    message.create_time  # noqa: B018 - a CreateTime past the platform's range fails here, not later
