"""Fault rules for the fake WeChat server: injected errors, delays and rate limits.

Faults are what WeChat does on bad days (``-1`` system busy, ``45009`` quota, ``40001`` after
someone else rotated the token, slow answers); the code under test must survive them, so tests and
the demo switch them on per endpoint. Rules match by *path suffix*: ``"template/send"`` matches
``cgi-bin/message/template/send``; a suffix matches whole path segments only, so ``"token"`` matches
``cgi-bin/token`` but not ``cgi-bin/stable_token``.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any


def path_matches(path: str, suffix: str | None) -> bool:
    """True when ``suffix`` (None: everything) names ``path`` or its last segments."""
    if suffix is None:
        return True
    path, suffix = path.strip("/"), suffix.strip("/")
    return path == suffix or path.endswith("/" + suffix)


@dataclass
class Injection:
    """Answer ``errcode`` instead of the real result, ``remaining`` more times (None: until reset)."""

    path_suffix: str
    errcode: int
    errmsg: str | None = None
    remaining: int | None = 1


@dataclass
class Delay:
    """Wait ``seconds`` before answering, ``remaining`` more times (None: until reset)."""

    path_suffix: str
    seconds: float
    remaining: int | None = 1


@dataclass
class RateLimit:
    """Allow ``per_second`` calls in any one-second window; answer ``errcode`` beyond that."""

    path_suffix: str
    per_second: float
    errcode: int = 45009
    hits: deque[float] = field(default_factory=deque)


def _take(rules: list[Any], path: str) -> Any | None:
    """First matching rule, consuming one use of it (and dropping it when used up)."""
    for rule in rules:
        if path_matches(path, rule.path_suffix):
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    rules.remove(rule)
            return rule
    return None


class FaultBoard:
    """Thread-safe set of fault rules consulted by every API request of the fake server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._injections: list[Injection] = []
        self._delays: list[Delay] = []
        self._limits: list[RateLimit] = []

    def inject(self, rule: Injection) -> None:
        with self._lock:
            self._injections.append(rule)

    def delay(self, rule: Delay) -> None:
        with self._lock:
            self._delays.append(rule)

    def rate_limit(self, rule: RateLimit) -> None:
        with self._lock:
            self._limits = [r for r in self._limits if r.path_suffix != rule.path_suffix]
            self._limits.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._injections.clear()
            self._delays.clear()
            self._limits.clear()

    def take_delay(self, path: str) -> float:
        """Seconds to wait before answering ``path`` (0 when no delay rule applies)."""
        with self._lock:
            rule = _take(self._delays, path)
            return rule.seconds if rule else 0.0

    def take_injection(self, path: str) -> Injection | None:
        with self._lock:
            return _take(self._injections, path)

    def over_limit(self, path: str, now: float) -> int | None:
        """Errcode when this call exceeds a rate limit on ``path``; records the call otherwise."""
        with self._lock:
            for rule in self._limits:
                if not path_matches(path, rule.path_suffix):
                    continue
                while rule.hits and rule.hits[0] <= now - 1.0:
                    rule.hits.popleft()
                if len(rule.hits) >= rule.per_second:
                    return rule.errcode
                rule.hits.append(now)
            return None

    def describe(self) -> dict[str, list[dict[str, Any]]]:
        """JSON-able view of the active rules, for the ``/__fake__/faults`` control endpoint."""
        with self._lock:
            return {
                "inject": [vars(r).copy() for r in self._injections],
                "delay": [vars(r).copy() for r in self._delays],
                "rate_limit": [{"path_suffix": r.path_suffix, "per_second": r.per_second,
                                "errcode": r.errcode} for r in self._limits],
            }
