"""Redis is optional, and may be down: one way to connect to it, with short timeouts.

Everything kept in Redis (binding-attempt counts, the access token's lock, the reminder rate) has a
database or in-process fallback that its user switches to on :data:`REDIS_ERRORS`. Short timeouts
make a Redis that is down or unreachable cost a fraction of a second, not a request's whole budget.
"""

from __future__ import annotations

import redis

CONNECT_TIMEOUT = 0.5
COMMAND_TIMEOUT = 1.0
REDIS_ERRORS = (redis.RedisError, OSError)


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=COMMAND_TIMEOUT)
