"""A small TOML writer for rule files (``tomli-w`` is not a dependency).

It writes exactly what rule files use: tables, inline tables for figures (any mapping with a
``source`` key, so a figure stays on one line next to its source), arrays (bands one per line),
strings, integers, booleans, dates, and ``Decimal`` as a quoted string so amounts stay exact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def dumps(data: Mapping[str, Any]) -> str:
    """Serialise a mapping to TOML text; ``tomllib.loads(dumps(x))`` gives ``x`` back (Decimals as str)."""
    lines: list[str] = []
    _write_table(lines, data, [])
    return "\n".join(lines).lstrip("\n") + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping) and "source" not in value


def _write_table(lines: list[str], table: Mapping[str, Any], path: list[str]) -> None:
    simple = [(k, v) for k, v in table.items() if not _is_table(v)]
    nested = [(k, v) for k, v in table.items() if _is_table(v)]
    if path and (simple or not nested):
        lines.append("")
        lines.append(f"[{'.'.join(_key(p) for p in path)}]")
    for key, value in simple:
        lines.append(f"{_key(key)} = {_value(value, top=True)}")
    for key, value in nested:
        _write_table(lines, value, [*path, str(key)])


def _key(key: Any) -> str:
    text = str(key.value if isinstance(key, Enum) else key)
    return text if _BARE_KEY.match(text) else _string(text)


def _string(text: str) -> str:
    # JSON string escapes (\" \\ \n \uXXXX) are valid TOML basic-string escapes.
    return json.dumps(text, ensure_ascii=False)


def _value(value: Any, top: bool = False) -> str:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return _string(str(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, Sequence):
        items = [_value(v) for v in value]
        if top and any(isinstance(v, Mapping) for v in value):
            return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
        return "[" + ", ".join(items) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML: {value!r}")
