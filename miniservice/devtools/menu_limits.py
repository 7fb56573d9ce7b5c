"""WeChat's validation of ``cgi-bin/menu/create`` bodies, as documented and as observed.

Pure function so the menu definition in ``miniservice.wechat`` can also be checked offline (e.g. in
a unit test) with exactly the rules the fake server enforces: at most 3 top-level buttons of at most
16 bytes (UTF-8) each, at most 5 sub-buttons of at most 60 bytes, keys ≤ 128 bytes, URLs ≤ 1024 bytes.
"""

from __future__ import annotations

from typing import Any

MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
MAX_NAME_BYTES = 16
MAX_SUB_NAME_BYTES = 60
MAX_KEY_BYTES = 128
MAX_URL_BYTES = 1024

KEY_TYPES = frozenset({"click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
                       "pic_weixin", "location_select"})
BUTTON_TYPES = KEY_TYPES | {"view", "miniprogram", "media_id", "view_limited", "article_id",
                            "article_view_limited"}

# (top-level code, sub-button code) for each kind of fault, as WeChat numbers them.
_CODES = {
    "type": (40017, 40024),
    "name": (40018, 40025),
    "key": (40019, 40026),
    "url": (40020, 40027),
    "domain": (40055, 40054),
}


def _nbytes(value: Any) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else -1


def _check_leaf(button: dict[str, Any], sub: bool) -> int | None:
    """Errcode for a button that has an action (no sub-menu), or None when it is valid."""
    level = 1 if sub else 0
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        return _CODES["type"][level]
    if kind in KEY_TYPES and not 1 <= _nbytes(button.get("key")) <= MAX_KEY_BYTES:
        return _CODES["key"][level]
    if kind in ("view", "miniprogram"):
        url = button.get("url")
        if not 1 <= _nbytes(url) <= MAX_URL_BYTES:
            return _CODES["url"][level]
        if not url.startswith(("http://", "https://")):
            return _CODES["domain"][level]
    if kind == "miniprogram" and not (button.get("appid") and button.get("pagepath")):
        return 47001
    if kind in ("media_id", "view_limited") and not button.get("media_id"):
        return 40007
    if kind in ("article_id", "article_view_limited") and not button.get("article_id"):
        return 47001
    return None


def menu_error(menu: Any) -> int | None:
    """The errcode WeChat would answer for this menu body, or None when WeChat would accept it."""
    if not isinstance(menu, dict):
        return 47001
    buttons = menu.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        return 40016
    for button in buttons:
        if not isinstance(button, dict):
            return 47001
        if not 1 <= _nbytes(button.get("name")) <= MAX_NAME_BYTES:
            return 40018
        subs = button.get("sub_button")
        if not subs:
            code = _check_leaf(button, sub=False)
            if code is not None:
                return code
            continue
        if not isinstance(subs, list) or len(subs) > MAX_SUB_BUTTONS:
            return 40023
        for sub in subs:
            if not isinstance(sub, dict):
                return 47001
            if not 1 <= _nbytes(sub.get("name")) <= MAX_SUB_NAME_BYTES:
                return 40025
            code = _check_leaf(sub, sub=True)
            if code is not None:
                return code
    return None
