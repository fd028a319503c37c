"""What replicas share in Redis: provider rate-limit buckets (and the response cache, :mod:`.cache`).

:class:`RedisRateLimiter` is the local ``TokenBucket``'s contract (``async acquire() -> seconds waited``) with
its state in Redis, so that every process configured with the same key draws from one provider quota. The
bucket has the same shape as the local one: capacity ``burst``, refilled at ``(per_minute - burst) / 60`` a
second, so no 60-second window ever holds more than ``per_minute`` calls, whichever replicas made them.

The bucket is updated by one Lua script (atomic in Redis) that reads Redis's own clock, so replicas on
machines whose clocks disagree still share one schedule. A caller that finds the bucket empty takes
nothing: it sleeps until a token should be there and asks again, so a caller abandoned by its deadline
costs no token. When Redis fails, calls fall back to a local bucket (and ``on_error`` is told), so that an
outage of Redis slows the gateway down rather than stopping it.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

_TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
  at = now
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.6f', at))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return string.format('%.6f', wait)
"""


class Limiter(Protocol):
    async def acquire(self) -> float: ...


class RedisRateLimiter:
    def __init__(
        self,
        redis: Redis,
        key: str,
        per_minute: int,
        burst: int | None = None,
        *,
        fallback: Limiter,
        on_error: Callable[[], None] = lambda: None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be positive")
        self.key = key
        self.capacity = max(1, min(per_minute, burst if burst is not None else per_minute // 20))
        self.rate = max(per_minute - self.capacity, 1) / 60.0
        # Idle buckets are full again after capacity / rate seconds: Redis forgets them a minute later.
        self._ttl_ms = math.ceil((self.capacity / self.rate + 60) * 1000)
        self._script = redis.register_script(_TOKEN_BUCKET)
        self._fallback = fallback
        self._on_error = on_error
        self._sleep = sleep

    async def acquire(self) -> float:
        waited = 0.0
        while True:
            try:
                wait = float(await self._script(keys=[self.key], args=[self.capacity, self.rate, self._ttl_ms]))
            except (RedisError, OSError):
                self._on_error()
                return waited + await self._fallback.acquire()
            if wait <= 0:
                return waited
            # Others wait for the same token: a little jitter keeps them from asking all at once.
            pause = wait * random.uniform(1.0, 1.2)
            await self._sleep(pause)
            waited += pause
