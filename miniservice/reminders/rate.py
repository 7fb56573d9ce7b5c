"""Token buckets that pace sending at ``reminder_rate_per_second``.

WeChat answers 45009/45011 when an account sends too fast; pacing ourselves is cheaper than
retrying. The default burst is one token, so sends are spread evenly (one every 1/rate seconds) and
no one-second window ever sees more than ``rate`` + 1 calls. With Redis configured the bucket lives
there (one Lua script, so concurrent takers never over-draw it) and every sender process shares the
rate; without Redis, or while Redis fails, each process paces itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

from miniservice.redis_store import REDIS_ERRORS, redis_client

log = logging.getLogger(__name__)
Clock = Callable[[], float]
EPSILON = 1e-9  # float slack, so that a refill of 0.1 s × 10/s counts as the whole token it is


class Limiter(Protocol):
    def acquire(self) -> None:
        """Block until one message may be sent."""


class TokenBucket:
    """In-process bucket: ``rate`` tokens a second, at most ``burst`` saved up; thread-safe."""

    def __init__(self, rate: float, burst: float = 1.0, clock: Clock = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("reminder_rate_per_second must be positive")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.sleep = sleep
        self.tokens = self.burst
        self.stamp = clock()
        self.lock = threading.Lock()

    def _take(self) -> float:
        """Take a token if one is there (0.0), else the seconds until one will be."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1 - EPSILON:
                self.tokens = max(0.0, self.tokens - 1)
                return 0.0
            return (1 - self.tokens) / self.rate

    def acquire(self) -> None:
        while (wait := self._take()) > 0:
            self.sleep(wait)


# KEYS[1] bucket hash; ARGV: rate (tokens a second), burst. Returns 0 when a token was taken,
# else the milliseconds to wait. Redis's own clock is used so that every process agrees.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or burst
local stamp = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local wait = 0
if tokens >= 1 - 1e-9 then
  tokens = math.max(0, tokens - 1)
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('EXPIRE', KEYS[1], 60)
return wait
"""


class RedisTokenBucket:
    """The same bucket kept in Redis, shared by every process that sends reminders."""

    def __init__(self, client: redis.Redis, key: str, rate: float, burst: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("reminder_rate_per_second must be positive")
        self.key = key
        self.rate = rate
        self.burst = burst
        self.sleep = sleep
        self.script = client.register_script(_TAKE)
        self.local = TokenBucket(rate, burst, sleep=sleep)

    def acquire(self) -> None:
        try:
            while (wait_ms := int(self.script(keys=[self.key], args=[self.rate, self.burst]))) > 0:
                self.sleep(wait_ms / 1000)
        except REDIS_ERRORS as exc:
            log.warning("reminder rate kept by this process only, Redis failed: %s", type(exc).__name__)
            self.local.acquire()


def limiter_for(redis_url: str | None, app_id: str, rate: float) -> Limiter:
    """The shared bucket when Redis is configured, else one for this process."""
    if redis_url:
        return RedisTokenBucket(redis_client(redis_url), f"miniservice:reminders:rate:{app_id}", rate)
    return TokenBucket(rate)
