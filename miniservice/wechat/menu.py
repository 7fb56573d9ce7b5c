"""The account's custom menu: a data file, checked against WeChat's limits before it is sent.

WeChat rejects an over-long name or a fourth button with a terse errcode after the fact; checking
here first turns that into a message that names the button and the limit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MENU_FILE = Path(__file__).with_name("menu.json")

MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
MAX_TOP_NAME_BYTES = 16
MAX_SUB_NAME_BYTES = 60
MAX_KEY_BYTES = 128
MAX_URL_BYTES = 1024
BUTTON_TYPES = frozenset({"click", "view", "miniprogram", "scancode_push", "location_select"})


class MenuError(ValueError):
    """The menu breaks one or more of WeChat's rules; ``problems`` lists each in words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def load_menu(base_url: str, path: Path = MENU_FILE) -> dict[str, Any]:
    """The menu with ``{base}`` in URLs replaced by the service's public address."""
    menu = json.loads(path.read_text(encoding="utf-8"))
    for top in menu.get("button", []):
        for button in [top, *top.get("sub_button", [])]:
            if "url" in button:
                button["url"] = button["url"].replace("{base}", base_url)
    return menu


def _check_leaf(button: dict[str, Any], where: str) -> list[str]:
    problems = []
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        problems.append(f"{where}: unknown type {kind!r}")
    if kind == "click" and not 0 < len(button.get("key", "").encode()) <= MAX_KEY_BYTES:
        problems.append(f"{where}: a click button needs a key of 1..{MAX_KEY_BYTES} bytes")
    if kind == "view":
        url = button.get("url", "")
        if not url.startswith(("http://", "https://")):
            problems.append(f"{where}: a view button needs an http(s) url")
        if len(url.encode()) > MAX_URL_BYTES:
            problems.append(f"{where}: url is {len(url.encode())} bytes, WeChat allows {MAX_URL_BYTES}")
    return problems


def validate_menu(menu: dict[str, Any]) -> list[str]:
    """Every rule the menu breaks, in words; empty when WeChat will accept it."""
    buttons = menu.get("button", [])
    problems = []
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        problems.append(f"the menu has {len(buttons)} top-level buttons, WeChat allows 1..{MAX_BUTTONS}")
    for i, top in enumerate(buttons, 1):
        name = top.get("name", "")
        where = f"button {i} ({name})"
        if not 0 < len(name.encode()) <= MAX_TOP_NAME_BYTES:
            problems.append(f"{where}: name is {len(name.encode())} bytes, WeChat allows {MAX_TOP_NAME_BYTES}")
        subs = top.get("sub_button")
        if subs is None:
            problems.extend(_check_leaf(top, where))
            continue
        if not 1 <= len(subs) <= MAX_SUB_BUTTONS:
            problems.append(f"{where}: has {len(subs)} sub-buttons, WeChat allows 1..{MAX_SUB_BUTTONS}")
        for j, sub in enumerate(subs, 1):
            sub_name = sub.get("name", "")
            sub_where = f"button {i}.{j} ({sub_name})"
            if not 0 < len(sub_name.encode()) <= MAX_SUB_NAME_BYTES:
                problems.append(
                    f"{sub_where}: name is {len(sub_name.encode())} bytes, WeChat allows {MAX_SUB_NAME_BYTES}"
                )
            problems.extend(_check_leaf(sub, sub_where))
    return problems


def checked_menu(base_url: str, path: Path = MENU_FILE) -> dict[str, Any]:
    """The menu ready to send, or :class:`MenuError` naming every problem."""
    menu = load_menu(base_url, path)
    problems = validate_menu(menu)
    if problems:
        raise MenuError(problems)
    return menu


def click_keys(menu: dict[str, Any]) -> list[str]:
    """The keys of the menu's CLICK buttons, in menu order: what the router must answer."""
    return [button["key"] for top in menu.get("button", []) for button in [top, *top.get("sub_button", [])]
            if button.get("type") == "click"]
