"""``/wechat/callback``: the URL WeChat's servers call.

The order of checks is the point: signature first (403 before any parsing), then size, then a
refusal of any DTD (entity expansion, external entities), then wechatpy's decryption and parsing.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app, request
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from miniservice.config import Settings
from miniservice.db import get_db
from miniservice.wechat import deliveries
from miniservice.wechat.router import router

bp = Blueprint("wechat", __name__, url_prefix="/wechat")

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _settings() -> Settings:
    return current_app.extensions["miniservice.settings"]


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
    _verify_url_signature(_settings())
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post("/callback")
def receive() -> Response:
    settings = _settings()
    _verify_url_signature(settings)
    request.max_content_length = settings.max_callback_bytes
    body = request.get_data(cache=False)
    _refuse_dtd(body)
    encrypted = request.args.get("encrypt_type") == "aes"
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
    message = _parse(body)
    reply_text = deliveries.handle(get_db(), router, settings, message)
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


def _parse(body: bytes) -> object:
    """wechatpy's parser raises many kinds of errors on junk; all of them are the sender's fault."""
    try:
        message = parse_message(body)
        if message is None or not getattr(message, "source", None):
            raise ValueError("no FromUserName")
        message.create_time  # noqa: B018 - touch the timestamp: a junk CreateTime fails here, not later
    except Exception as exc:  # expat, KeyError, ValueError, TypeError ... from untrusted input
        abort(400, f"malformed message: {type(exc).__name__}")
    return message
