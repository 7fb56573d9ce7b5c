"""What the fake WeChat server remembers about each call, for assertions and the control endpoints."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    """One API request as the fake server saw it and what it answered.

    ``errcode`` is the errcode of the answer (0 for a success answer that carries none, such as a
    token or a menu; None when the path is not a WeChat endpoint). Secrets are masked.
    """

    method: str
    path: str
    query: dict[str, str]
    body: Any
    time: float
    errcode: int | None
    status: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SentMessage:
    """A message WeChat accepted for delivery (template, subscribe or customer-service)."""

    kind: str  # "template" | "subscribe" | "custom"
    touser: str
    template_id: str | None
    body: dict[str, Any]
    msgid: int | None
    time: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


SECRET_KEYS = frozenset({"secret", "appsecret"})


def mask_secrets(data: Any) -> Any:
    """Copy of ``data`` with secret values replaced, so recorded calls can be shown on a web page."""
    if isinstance(data, dict):
        return {k: ("***" if k in SECRET_KEYS else mask_secrets(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_secrets(v) for v in data]
    return data
