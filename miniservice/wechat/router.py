"""Dispatch of WeChat messages and events to the capability that answers them.

Capabilities register handlers with the module-level :data:`router` in their own
``wechat_handlers`` module (imported by the app factory): a menu CLICK key, optionally with text
keywords so that people who type reach the same handler as people who tap. A handler that only
reads says so (``reads_only=True``): its delivery is then recorded after the reply is computed, in
one short write, which is most of what a menu push costs (docs/performance.md). A handler that
writes anything must not say so: its effects commit in the delivery's own transaction.
Handlers compose their replies with :func:`miniservice.messages.text` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from miniservice.config import Settings
from miniservice.messages import text


@dataclass
class Inbound:
    """What a handler gets: the parsed wechatpy message and the open delivery transaction."""

    message: Any
    openid: str
    session: Session
    settings: Settings

    def h5_url(self, path: str) -> str:
        """An absolute link to one of our H5 pages (they authenticate through WeChat OAuth)."""
        return self.settings.public_base_url + path


__all__ = ["Handler", "Inbound", "Route", "Router", "router", "text"]

Handler = Callable[[Inbound], str]


@dataclass(frozen=True)
class Route:
    """``reads_only``: the handler changes nothing, so its reply is computed before the delivery is
    recorded and the write transaction is one short insert (see :mod:`miniservice.wechat.deliveries`)."""

    name: str
    handler: Handler
    reads_only: bool = False


class Router:
    def __init__(self) -> None:
        self.clicks: dict[str, Route] = {}
        self.keywords: dict[str, str] = {}
        self.events: dict[str, Route] = {}
        self.fallback: Route | None = None

    def click(self, key: str, *keywords: str, reads_only: bool = False) -> Callable[[Handler], Handler]:
        """Register the handler for menu key ``key`` and for texts equal to any of ``keywords``."""

        def register(handler: Handler) -> Handler:
            if key in self.clicks:
                raise ValueError(f"menu key {key!r} already has a handler")
            self.clicks[key] = Route(f"click:{key}", handler, reads_only)
            for word in keywords:
                self.keywords[word] = key
            return handler

        return register

    def event(self, name: str, *, reads_only: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.events[name] = Route(f"event:{name}", handler, reads_only)
            return handler

        return register

    def default(self, handler: Handler) -> Handler:
        self.fallback = Route("help", handler, reads_only=True)
        return handler

    def route_for(self, message: Any) -> Route:
        if message.type == "event":
            event = getattr(message, "event", "")
            if event == "click" and message.key in self.clicks:
                return self.clicks[message.key]
            if event in self.events:
                return self.events[event]
            return Route(f"ignored:{event}", _no_reply, reads_only=True)
        if message.type == "text":
            word = (message.content or "").strip()
            if word in self.keywords:
                return self.clicks[self.keywords[word]]
        if message.type != "text":
            return Route(f"ignored:{message.type}", _no_reply, reads_only=True)
        assert self.fallback is not None, "the foundation handlers register the fallback"
        return self.fallback


def _no_reply(_: Inbound) -> str:
    """Unknown events and message types answer ``success`` so WeChat stops retrying."""
    return ""


router = Router()
