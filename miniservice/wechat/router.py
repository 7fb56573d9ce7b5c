"""Dispatch of WeChat messages and events to the capability that answers them.

Each feature declares its answers on a :class:`Handlers` set in its ``wechat_handlers`` module (as a
blueprint declares routes): a menu CLICK key, optionally with text keywords so that people who type
reach the same handler as people who tap. The app factory builds one :class:`Router` per app and each
feature's ``init_app`` adds its set to it (:meth:`Router.include`); :meth:`Router.check_menu` then
refuses to start when a menu key has no handler or a handler can be reached by no key or word. A handler that only
reads says so (``reads_only=True``): its delivery is then recorded after the reply is computed, in
one short write, which is most of what a menu push costs (docs/performance.md). A handler that
writes anything must not say so: its effects commit in the delivery's own transaction.
Handlers compose their replies with :func:`miniservice.messages.text` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from miniservice.clock import local_today
from miniservice.config import Settings
from miniservice.messages import text


@dataclass
class Inbound:
    """What a handler gets: the parsed wechatpy message and the open delivery transaction."""

    message: Any
    openid: str
    session: Session
    settings: Settings

    @property
    def today(self) -> date:
        """The bureau's local date, which handlers pass to the services they call."""
        return local_today(self.settings.timezone)

    def h5_url(self, path: str) -> str:
        """An absolute link to one of our H5 pages (they authenticate through WeChat OAuth)."""
        return self.settings.public_base_url + path


__all__ = ["Handler", "Handlers", "Inbound", "Route", "Router", "RoutingError", "text"]

Handler = Callable[[Inbound], str]


@dataclass(frozen=True)
class Route:
    """``reads_only``: the handler changes nothing, so its reply is computed before the delivery is
    recorded and the write transaction is one short insert (see :mod:`miniservice.wechat.deliveries`)."""

    name: str
    handler: Handler
    reads_only: bool = False


class RoutingError(ValueError):
    """The handlers and the menu disagree; the message names every key and word concerned."""


@dataclass(frozen=True)
class _Click:
    key: str
    keywords: tuple[str, ...]
    route: Route


class Handlers:
    """A feature's WeChat answers, declared with decorators and added to an app's router later.

    Declaring registers nothing global: the same module can serve two apps, and a handler exists
    for an app only when its feature's ``init_app`` includes it.
    """

    def __init__(self) -> None:
        self.clicks: list[_Click] = []
        self.events: dict[str, Route] = {}
        self.fallback: Route | None = None

    def click(self, key: str, *keywords: str, reads_only: bool = False) -> Callable[[Handler], Handler]:
        """The handler for menu key ``key`` and for texts equal to any of ``keywords``."""

        def register(handler: Handler) -> Handler:
            self.clicks.append(_Click(key, keywords, Route(f"click:{key}", handler, reads_only)))
            return handler

        return register

    def event(self, name: str, *, reads_only: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.events[name] = Route(f"event:{name}", handler, reads_only)
            return handler

        return register

    def default(self, handler: Handler) -> Handler:
        """The answer to words no keyword matches."""
        self.fallback = Route("help", handler, reads_only=True)
        return handler


class Router:
    """One app's dispatch table, built by the app factory from every feature's :class:`Handlers`."""

    def __init__(self) -> None:
        self.clicks: dict[str, Route] = {}
        self.keywords: dict[str, str] = {}
        self.events: dict[str, Route] = {}
        self.fallback: Route | None = None

    def include(self, handlers: Handlers) -> None:
        """Add a feature's handlers; a menu key, keyword or event answered twice is refused."""
        for click in handlers.clicks:
            if click.key in self.clicks:
                raise RoutingError(f"menu key {click.key!r} already has a handler")
            self.clicks[click.key] = click.route
            for word in click.keywords:
                if word in self.keywords:
                    raise RoutingError(f"keyword {word!r} already leads to menu key {self.keywords[word]!r}")
                self.keywords[word] = click.key
        for name, route in handlers.events.items():
            if name in self.events:
                raise RoutingError(f"event {name!r} already has a handler")
            self.events[name] = route
        if handlers.fallback is not None:
            if self.fallback is not None:
                raise RoutingError("two features answer words no keyword matches")
            self.fallback = handlers.fallback

    def check_menu(self, menu_keys: set[str]) -> None:
        """Every CLICK key of the menu has a handler, every handler a key in the menu or a keyword,
        and unmatched words have an answer: a mismatch is a start-up error, never a silent ``success``."""
        problems = [f"menu key {key!r} has no handler" for key in sorted(menu_keys - self.clicks.keys())]
        typed = set(self.keywords.values())
        problems += [f"handler {route.handler.__module__}.{route.handler.__name__} (key {key!r}) is on no "
                     "menu button and has no keyword" for key, route in sorted(self.clicks.items())
                     if key not in menu_keys and key not in typed]
        if self.fallback is None:
            problems.append("no handler answers words no keyword matches")
        if problems:
            raise RoutingError("WeChat handlers and wechat/menu.json disagree: " + "; ".join(problems))

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
        assert self.fallback is not None, "check_menu refuses a router without a fallback"
        return self.fallback


def _no_reply(_: Inbound) -> str:
    """Unknown events and message types answer ``success`` so WeChat stops retrying."""
    return ""

