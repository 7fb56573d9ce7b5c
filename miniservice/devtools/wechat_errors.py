"""WeChat API error codes and the messages WeChat sends with them.

The messages are WeChat's own English ``errmsg`` texts (WeChat appends `` rid: …`` to each, which the
fake reproduces), so logs and error handling see what production would see. Only the codes the
project can meet are listed; an injected code not listed gets a generic message.
"""

from __future__ import annotations

import secrets
from typing import Any

ERRMSG: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40029: "invalid code",
    40037: "invalid template_id",
    40054: "invalid sub button url domain",
    40055: "invalid button url domain",
    40125: "invalid appsecret",
    40163: "code been used",
    40164: "invalid ip, not in whitelist",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    41009: "missing openid",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    44004: "empty content",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit mustslower retry next minute",
    45015: "response out of time limit or subscription is canceled",
    46003: "menu no exist",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
}


def errmsg_for(errcode: int) -> str:
    """WeChat's message for ``errcode`` (generic text for codes not in :data:`ERRMSG`)."""
    return ERRMSG.get(errcode, f"error {errcode}")


def error_body(errcode: int, errmsg: str | None = None) -> dict[str, Any]:
    """The JSON object WeChat answers with: ``{"errcode": N, "errmsg": "… rid: …"}``."""
    text = errmsg if errmsg is not None else errmsg_for(errcode)
    if errcode != 0:
        text = f"{text} rid: {secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
    return {"errcode": errcode, "errmsg": text}


def ok_body(**extra: Any) -> dict[str, Any]:
    """A success answer: ``{"errcode": 0, "errmsg": "ok", **extra}``."""
    return {"errcode": 0, "errmsg": "ok", **extra}
